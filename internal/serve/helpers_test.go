package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/meta"
)

// testAPIKey is the API key every test server accepts, the one the wire
// transcripts were recorded with.
const testAPIKey = "da2-test"

// frameWait bounds how long a test waits for a frame or a response before
// it fails; it is a deadlock guard, not a timing assertion.
const frameWait = 5 * time.Minute

// testClock is a clock the test moves; the store and the server share it.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// envOptions shape a test server.
type envOptions struct {
	// engine is the store's engine: "badger" (the default, on disk) or
	// "postgres" (a schema of its own on the test server, see pgtest).
	engine string
	// schema defaults to the blog example.
	schema *meta.Schema
	// clock, when set, drives both the store and the server.
	clock *testClock
	// store tunes the store (Dir and Now are set by newEnv).
	store store.Options
	// config edits the server configuration before New.
	config func(*serve.Config)
}

// env is a running dsgen serve over Badger on disk or PostgreSQL, on a
// loopback port.
type env struct {
	store  store.Store
	srv    *serve.Server
	ts     *httptest.Server
	clock  *testClock
	schema *meta.Schema
	// headers are sent with every request unless a call overrides them.
	headers map[string]string
}

// engines are the store engines the conformance suite runs on.
var engines = []string{"badger", "postgres"}

// forEngines runs test once per engine, as a subtest named after it.
func forEngines(t *testing.T, test func(t *testing.T, eng string)) {
	for _, eng := range engines {
		t.Run(eng, func(t *testing.T) { test(t, eng) })
	}
}

// newEnv starts a server with its own store in t.TempDir().
func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.schema == nil {
		o.schema = testenv.BlogSchema(t)
	}
	sopts := o.store
	if o.clock != nil {
		sopts.Now = o.clock.Now
	}
	var st store.Store
	switch o.engine {
	case "", "badger":
		st = testenv.OpenStore(t, sopts)
	case "postgres":
		pg, err := store.OpenPostgres(context.Background(), pgtest.Schema(t), sopts)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		t.Cleanup(func() {
			if err := pg.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
		st = pg
	default:
		t.Fatalf("unknown engine %q", o.engine)
	}
	e := &env{store: st, clock: o.clock, schema: o.schema, headers: map[string]string{"x-api-key": testAPIKey}}
	e.srv, e.ts = e.startServer(t, o)
	return e
}

// startServer starts one more server instance over e's store.
func (e *env) startServer(t testing.TB, o envOptions) (*serve.Server, *httptest.Server) {
	t.Helper()
	cfg := serve.Config{
		Schema:      e.schema,
		Store:       e.store,
		Auth:        auth.Config{APIKeys: []auth.APIKey{{Key: testAPIKey}}},
		TokenSecret: []byte("conformance-suite-token-secret!!"),
	}
	if o.clock != nil {
		cfg.Now = o.clock.Now
	}
	if o.store.DeltaTTL != 0 {
		cfg.DeltaTTL = o.store.DeltaTTL
	}
	if o.config != nil {
		o.config(&cfg)
	}
	return testenv.Serve(t, cfg, false)
}

// gqlResult is a decoded GraphQL response.
type gqlResult struct {
	Status int
	Raw    []byte
	Data   map[string]any
	Errors []*appsync.Error
}

// field returns the object under data.<name>, nil when null.
func (r gqlResult) field(name string) map[string]any {
	m, _ := r.Data[name].(map[string]any)
	return m
}

// errType returns the errorType of the single error, failing otherwise.
func (r gqlResult) errType(t testing.TB) string {
	t.Helper()
	if len(r.Errors) != 1 {
		t.Fatalf("want exactly one error, got %d: %s", len(r.Errors), r.Raw)
	}
	return r.Errors[0].ErrorType
}

// post sends raw bytes to /graphql with the given headers (nil: e's).
func (e *env) post(t testing.TB, body []byte, headers map[string]string) gqlResult {
	t.Helper()
	status, raw, err := e.postRaw(body, headers)
	if err != nil {
		t.Fatal(err)
	}
	return decodeResult(t, status, raw)
}

// postRaw sends raw bytes to /graphql; it is safe in any goroutine.
func (e *env) postRaw(body []byte, headers map[string]string) (int, []byte, error) {
	if headers == nil {
		headers = e.headers
	}
	return postRawTo(e.ts.Client(), e.ts.URL+"/graphql", body, headers, nil)
}

// postTo sends raw bytes to the GraphQL endpoint url (net/http's or the
// fast path's) with headers and decodes the answer.
func postTo(t testing.TB, url string, body []byte, headers map[string]string) gqlResult {
	t.Helper()
	status, raw, err := postRawTo(http.DefaultClient, url, body, headers, nil)
	if err != nil {
		t.Fatal(err)
	}
	return decodeResult(t, status, raw)
}

// postRawTo POSTs body to url with the headers the Amplify client sends
// besides auth, then headers, then what sign adds (nil: nothing); it is
// safe in any goroutine.
func postRawTo(c *http.Client, url string, body []byte, headers map[string]string, sign func(*http.Request) error) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), frameWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	// What the Amplify client sends besides auth (02-create-post.json).
	req.Header.Set("content-type", "application/json; charset=UTF-8")
	req.Header.Set("x-amz-user-agent", "aws-amplify/6.22.1 datastore/2 framework/100")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if sign != nil {
		if err := sign(req); err != nil {
			return 0, nil, err
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("read response: %w", err)
	}
	return resp.StatusCode, raw, nil
}

// tryDo runs a request in any goroutine and returns the object under
// data.<field>, or an error when the request failed or carried errors.
func (e *env) tryDo(query string, vars map[string]any, field string) (map[string]any, error) {
	body, err := json.Marshal(appsync.Request{Query: query, Variables: vars})
	if err != nil {
		return nil, err
	}
	status, raw, err := e.postRaw(body, nil)
	if err != nil {
		return nil, err
	}
	var r struct {
		Data   map[string]map[string]any `json:"data"`
		Errors []*appsync.Error          `json:"errors"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil || status != http.StatusOK || len(r.Errors) > 0 || r.Data[field] == nil {
		return nil, fmt.Errorf("%s: HTTP %d: %s", field, status, raw)
	}
	return r.Data[field], nil
}

// decodeResult decodes a GraphQL response body, numbers as json.Number.
func decodeResult(t testing.TB, status int, raw []byte) gqlResult {
	t.Helper()
	r := gqlResult{Status: status, Raw: raw}
	var body struct {
		Data   map[string]any   `json:"data"`
		Errors []*appsync.Error `json:"errors"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("response (HTTP %d) is not a GraphQL JSON response: %v: %q", status, err, raw)
	}
	r.Data, r.Errors = body.Data, body.Errors
	return r
}

// do runs a GraphQL request as e's default caller.
func (e *env) do(t testing.TB, query string, vars map[string]any) gqlResult {
	t.Helper()
	return e.doAs(t, nil, query, vars)
}

// doAs runs a GraphQL request with the given headers (nil: e's).
func (e *env) doAs(t testing.TB, headers map[string]string, query string, vars map[string]any) gqlResult {
	t.Helper()
	body, err := json.Marshal(appsync.Request{Query: query, Variables: vars})
	if err != nil {
		t.Fatal(err)
	}
	return e.post(t, body, headers)
}

// mustOK fails unless r is HTTP 200 with no errors.
func mustOK(t testing.TB, r gqlResult) gqlResult {
	t.Helper()
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("want success, got HTTP %d: %s", r.Status, r.Raw)
	}
	return r
}

// createPost creates a post with the client's document and returns it.
func (e *env) createPost(t testing.TB, input map[string]any) map[string]any {
	t.Helper()
	return mustOK(t, e.do(t, wireCreatePost, map[string]any{"input": input})).field("createPost")
}

// updatePost updates a post as the client does (condition null).
func (e *env) updatePost(t testing.TB, input map[string]any) gqlResult {
	t.Helper()
	return e.do(t, wireUpdatePost, map[string]any{"input": input, "condition": nil})
}

// deletePost deletes a post as the client does (condition null).
func (e *env) deletePost(t testing.TB, id string, version int64) gqlResult {
	t.Helper()
	return e.do(t, wireDeletePost, map[string]any{"input": map[string]any{"id": id, "_version": version}, "condition": nil})
}

// syncPage runs one syncPosts page with the client's document.
func (e *env) syncPage(t testing.TB, headers map[string]string, limit int, nextToken any, lastSync int64, filter any) (items []map[string]any, next string, startedAt int64) {
	t.Helper()
	vars := map[string]any{"limit": limit, "nextToken": nextToken, "lastSync": lastSync, "filter": filter}
	if limit == 0 {
		delete(vars, "limit")
	}
	conn := mustOK(t, e.doAs(t, headers, wireSyncPosts, vars)).field("syncPosts")
	if conn == nil {
		t.Fatal("syncPosts returned null")
	}
	for _, it := range conn["items"].([]any) {
		items = append(items, it.(map[string]any))
	}
	next, _ = conn["nextToken"].(string)
	startedAt = num(t, conn["startedAt"])
	return items, next, startedAt
}

// syncResult is a whole sync run.
type syncResult struct {
	items     []map[string]any
	pages     int
	startedAt int64
}

// byID indexes the items of a sync run, failing on a duplicate id.
func (r syncResult) byID(t testing.TB) map[string]map[string]any {
	t.Helper()
	out := make(map[string]map[string]any, len(r.items))
	for _, it := range r.items {
		id := it["id"].(string)
		if _, dup := out[id]; dup {
			t.Fatalf("sync returned %s twice", id)
		}
		out[id] = it
	}
	return out
}

// syncAll pages syncPosts to the end as DataStore does (limit 1000 unless
// given) and checks that every page reports the first page's startedAt.
func (e *env) syncAll(t testing.TB, headers map[string]string, limit int, lastSync int64, filter any) syncResult {
	t.Helper()
	if limit == 0 {
		limit = 1000
	}
	var res syncResult
	var token any
	for {
		items, next, startedAt := e.syncPage(t, headers, limit, token, lastSync, filter)
		if res.pages == 0 {
			res.startedAt = startedAt
		} else if startedAt != res.startedAt {
			t.Fatalf("page %d has startedAt %d, the first page had %d", res.pages+1, startedAt, res.startedAt)
		}
		res.pages++
		res.items = append(res.items, items...)
		if next == "" {
			return res
		}
		token = next
	}
}

// num reads a JSON number as int64; null is 0.
func num(t testing.TB, v any) int64 {
	t.Helper()
	switch n := v.(type) {
	case nil:
		return 0
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			t.Fatalf("%v is not an integer", n)
		}
		return i
	case float64:
		return int64(n)
	}
	t.Fatalf("%v (%T) is not a number", v, v)
	return 0
}

// wsClient is a WebSocket client speaking AppSync's real-time protocol.
type wsClient struct {
	t  testing.TB
	c  *websocket.Conn
	mu sync.Mutex // serialises writes
}

// wsURL is the realtime URL a client derives from the GraphQL endpoint.
func (e *env) wsURL() string { return appsync.RealtimeURL(e.ts.URL + "/graphql") }

// dialWS connects with the "header-" sub-protocol as amplify-js v6 does.
func (e *env) dialWS(t testing.TB, authHeaders map[string]string) *wsClient {
	t.Helper()
	if authHeaders == nil {
		authHeaders = e.authHeaders()
	}
	hp, err := appsync.EncodeHeaderProtocol(authHeaders)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := e.dialRaw(t, e.wsURL(), []string{appsync.Subprotocol, hp})
	if err != nil {
		t.Fatalf("dial %s: %v", e.wsURL(), err)
	}
	return c
}

// dialRaw dials url offering protocols.
func (e *env) dialRaw(t testing.TB, url string, protocols []string) (*wsClient, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), frameWait)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: protocols})
	if err != nil {
		return nil, resp, err
	}
	c.SetReadLimit(8 << 20)
	w := &wsClient{t: t, c: c}
	t.Cleanup(func() { c.CloseNow() })
	return w, resp, nil
}

// authHeaders are the connection authorization headers of the API key.
func (e *env) authHeaders() map[string]string {
	host := strings.TrimPrefix(e.ts.URL, "http://")
	return map[string]string{"host": host, "x-amz-date": "20260301T120000Z", "x-api-key": testAPIKey}
}

// send writes one message.
func (w *wsClient) send(m appsync.Message) {
	w.t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		w.t.Fatal(err)
	}
	w.sendRaw(b)
}

func (w *wsClient) sendRaw(b []byte) {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), frameWait)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("ws write: %v", err)
	}
}

// read returns the next frame, keep-alives included.
func (w *wsClient) read() (appsync.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), frameWait)
	defer cancel()
	_, b, err := w.c.Read(ctx)
	if err != nil {
		return appsync.Message{}, err
	}
	var m appsync.Message
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("frame %q is not a message: %w", b, err)
	}
	return m, nil
}

// next returns the next frame that is not a keep-alive.
func (w *wsClient) next() appsync.Message {
	w.t.Helper()
	for {
		m, err := w.read()
		if err != nil {
			w.t.Fatalf("ws read: %v", err)
		}
		if m.Type != appsync.MsgKeepAlive {
			return m
		}
	}
}

// expect reads the next non-ka frame and checks its type and id.
func (w *wsClient) expect(typ, id string) appsync.Message {
	w.t.Helper()
	m := w.next()
	if m.Type != typ || m.ID != id {
		w.t.Fatalf("want %s for %q, got %s for %q: %s", typ, id, m.Type, m.ID, m.Payload)
	}
	return m
}

// init sends connection_init and waits for connection_ack.
func (w *wsClient) init() appsync.ConnectionAckPayload {
	w.t.Helper()
	w.send(appsync.Message{Type: appsync.MsgConnectionInit})
	m := w.expect(appsync.MsgConnectionAck, "")
	var ack appsync.ConnectionAckPayload
	if err := json.Unmarshal(m.Payload, &ack); err != nil {
		w.t.Fatalf("connection_ack payload %s: %v", m.Payload, err)
	}
	return ack
}

// startMsg builds a start message the way amplify-js does: the request as
// a JSON string, the authorization repeated in the extensions.
func startMsg(t testing.TB, id, query string, vars map[string]any, authz map[string]string) appsync.Message {
	t.Helper()
	if vars == nil {
		vars = map[string]any{}
	}
	data, err := json.Marshal(appsync.Request{Query: query, Variables: vars})
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(appsync.StartPayload{Data: string(data), Extensions: appsync.StartExtensions{Authorization: authz}})
	if err != nil {
		t.Fatal(err)
	}
	return appsync.Message{ID: id, Type: appsync.MsgStart, Payload: p}
}

// subscribe starts a subscription and waits for its start_ack.
func (w *wsClient) subscribe(id, query string, vars map[string]any, authz map[string]string) {
	w.t.Helper()
	w.send(startMsg(w.t, id, query, vars, authz))
	w.expect(appsync.MsgStartAck, id)
}

// data reads the next frame, which must be data for id, and returns the
// object under payload.data.<field>.
func (w *wsClient) data(id, field string) map[string]any {
	w.t.Helper()
	m := w.expect(appsync.MsgData, id)
	r := decodeResult(w.t, 200, m.Payload)
	if len(r.Errors) > 0 {
		w.t.Fatalf("data frame carries errors: %s", m.Payload)
	}
	obj := r.field(field)
	if obj == nil {
		w.t.Fatalf("data frame has no %s: %s", field, m.Payload)
	}
	return obj
}

// errorsOf decodes an error or connection_error payload.
func errorsOf(t testing.TB, m appsync.Message) []*appsync.Error {
	t.Helper()
	var p appsync.ErrorPayload
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		t.Fatalf("%s payload %s: %v", m.Type, m.Payload, err)
	}
	if len(p.Errors) == 0 {
		t.Fatalf("%s without errors: %s", m.Type, m.Payload)
	}
	return p.Errors
}

// jwtFor mints an HS256 token for user, valid for an hour of clock c (the
// real clock when nil).
func jwtFor(t testing.TB, secret []byte, user string, now time.Time) string {
	t.Helper()
	tok, err := auth.SignHS256(secret, map[string]any{
		"sub":      user + "-sub",
		"username": user,
		"iat":      now.Unix(),
		"exp":      now.Add(time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
