package rtclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/rtclient"
)

// apiKey is the key the test server accepts.
const apiKey = "da2-test"

// wait bounds how long a test waits for something that must happen; it is
// a deadlock guard, not a timing assertion.
const wait = 5 * time.Minute

// postFields is the selection set the Amplify JS client uses for Post
// (wire/01-startup.json).
const postFields = `
    id
    title
    rating
    status
    createdAt
    updatedAt
    blogPostsId
    _version
    _lastChangedAt
    _deleted
    blog {
      id
      _deleted
    }`

// jsSubscription is the JS client's subscription document for field.
func jsSubscription(field string) appsync.Request {
	return appsync.Request{
		Query:     "subscription operation {\n  " + field + " {" + postFields + "\n  }\n}\n",
		Variables: map[string]any{},
	}
}

// env is dsgen serve over Badger on disk, on a loopback port.
type env struct {
	srv *serve.Server
	ts  *httptest.Server
	// wsURL is the real-time endpoint.
	wsURL string
}

// newEnv starts dsgen serve with the blog schema; with tls it listens with
// a test certificate.
func newEnv(t testing.TB, tls bool) *env {
	t.Helper()
	st := testenv.OpenStore(t, store.Options{})
	cfg := serve.Config{Schema: testenv.BlogSchema(t), Store: st, Auth: auth.Config{APIKeys: []auth.APIKey{{Key: apiKey}}}}
	srv, ts := testenv.Serve(t, cfg, tls)
	return &env{srv: srv, ts: ts, wsURL: appsync.RealtimeURL(ts.URL + "/graphql")}
}

// keyHeader returns an Options.Header that sends key.
func keyHeader(key string) func(context.Context) (map[string]string, error) {
	return func(context.Context) (map[string]string, error) {
		return map[string]string{"x-api-key": key}, nil
	}
}

// dial connects to e with the test key and closes the connection when the
// test ends.
func (e *env) dial(t testing.TB, opts rtclient.Options) *rtclient.Conn {
	t.Helper()
	if opts.Header == nil {
		opts.Header = keyHeader(apiKey)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = e.ts.Client()
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := rtclient.Dial(ctx, e.wsURL, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// subscribe starts a JS-client subscription to field.
func subscribe(t testing.TB, c *rtclient.Conn, field string) *rtclient.Subscription {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := c.Subscribe(ctx, jsSubscription(field))
	if err != nil {
		t.Fatalf("subscribe %s: %v", field, err)
	}
	return s
}

// mutate runs a Post mutation over HTTP with a plain POST and returns the
// mutated item.
func (e *env) mutate(t testing.TB, field string, input map[string]any) map[string]any {
	t.Helper()
	typ := strings.ToUpper(field[:1]) + field[1:]
	typ = strings.TrimSuffix(typ, "Post") + "PostInput"
	body, err := json.Marshal(appsync.Request{
		Query:     fmt.Sprintf("mutation operation($input: %s!) { %s(input: $input) {%s\n} }", typ, field, postFields),
		Variables: map[string]any{"input": input},
	})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json; charset=UTF-8")
	req.Header.Set("x-api-key", apiKey)
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s: %v", field, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Data   map[string]map[string]any `json:"data"`
		Errors []*appsync.Error          `json:"errors"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s: HTTP %d: %v: %s", field, resp.StatusCode, err, raw)
	}
	if len(r.Errors) > 0 || r.Data[field] == nil {
		t.Fatalf("%s: %s", field, raw)
	}
	return r.Data[field]
}

// next receives one event or fails the test.
func next(t testing.TB, s *rtclient.Subscription) rtclient.Event {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		if !ok {
			t.Fatalf("subscription %s ended: %v", s.ID(), s.Err())
		}
		return ev
	case <-time.After(wait):
		t.Fatalf("no event on subscription %s", s.ID())
	}
	panic("unreachable")
}

// item decodes an event's item.
func item(t testing.TB, ev rtclient.Event) map[string]any {
	t.Helper()
	if len(ev.Errors) > 0 {
		t.Fatalf("event %s carries errors: %v", ev.Field, ev.Errors)
	}
	var m map[string]any
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		t.Fatalf("event %s: %v: %s", ev.Field, err, ev.Data)
	}
	return m
}

// waitDone waits for the connection to end or fails the test.
func waitDone(t testing.TB, c *rtclient.Conn) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(wait):
		t.Fatal("connection did not end")
	}
}

// drained reads what is left on s.Events() until it closes and returns
// the count.
func drained(t testing.TB, s *rtclient.Subscription) int {
	t.Helper()
	n := 0
	for {
		select {
		case _, ok := <-s.Events():
			if !ok {
				return n
			}
			n++
		case <-time.After(wait):
			t.Fatalf("Events of %s did not close", s.ID())
		}
	}
}

// fakeServer is a scripted real-time server: the environment for tests of
// behaviour dsgen serve does not exhibit (silence, garbage, floods). script
// runs after the upgrade with the accepted socket.
func fakeServer(t testing.TB, script func(ctx context.Context, ws *websocket.Conn)) string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{appsync.Subprotocol}})
		if err != nil {
			return
		}
		defer ws.CloseNow()
		script(r.Context(), ws)
	}))
	t.Cleanup(ts.Close)
	return "ws" + strings.TrimPrefix(ts.URL, "http")
}

// expect reads one frame from the client and checks its type.
func expect(ctx context.Context, ws *websocket.Conn, typ string) (appsync.Message, error) {
	_, b, err := ws.Read(ctx)
	if err != nil {
		return appsync.Message{}, err
	}
	var m appsync.Message
	if err := json.Unmarshal(b, &m); err != nil {
		return m, err
	}
	if m.Type != typ {
		return m, fmt.Errorf("got %s, want %s", m.Type, typ)
	}
	return m, nil
}

// send writes one text frame.
func send(ctx context.Context, ws *websocket.Conn, frame string) error {
	return ws.Write(ctx, websocket.MessageText, []byte(frame))
}

// ack answers connection_init with connectionTimeoutMs=ms.
func ack(ctx context.Context, ws *websocket.Conn, ms int) error {
	if _, err := expect(ctx, ws, appsync.MsgConnectionInit); err != nil {
		return err
	}
	return send(ctx, ws, fmt.Sprintf(`{"type":"connection_ack","payload":{"connectionTimeoutMs":%d}}`, ms))
}

// drain reads the client's frames until the socket ends, so close
// handshakes complete.
func drain(ctx context.Context, ws *websocket.Conn) {
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			return
		}
	}
}
