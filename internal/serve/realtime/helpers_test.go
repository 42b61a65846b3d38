package realtime_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/internal/serve/realtime"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// hangGuard bounds a wait for something that must happen, so a broken
// test fails instead of hanging. It is no timing assertion: minutes, so a
// loaded machine never trips it.
const hangGuard = 5 * time.Minute

// testBackend accepts the API key "good", rejects "custom" with its own
// AppSync error and anything else with a plain error. Subscriptions are
// named on<Op><Model>; a "title" variable filters on the item's title.
type testBackend struct {
	mu      sync.Mutex
	headers map[string]string // the last connection's headers
	auth    map[string]string // the last start's authorization headers
}

func (b *testBackend) Authenticate(_ context.Context, h map[string]string) (any, error) {
	b.mu.Lock()
	b.headers = h
	b.mu.Unlock()
	switch h["x-api-key"] {
	case "good":
		return "key:good", nil
	case "custom":
		return nil, &appsync.Error{ErrorType: appsync.UnauthorizedExc, ErrorCode: 401, Message: "API key expired"}
	default:
		return nil, errors.New("unknown api key")
	}
}

func (b *testBackend) lastHeaders() map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.headers
}

var subField = regexp.MustCompile(`on(Create|Update|Delete)(\w+)`)

func (b *testBackend) Subscribe(_ context.Context, principal any, req appsync.Request, auth map[string]string) (realtime.Subscription, error) {
	b.mu.Lock()
	b.auth = auth
	b.mu.Unlock()
	if principal != "key:good" {
		return nil, fmt.Errorf("unexpected principal %v", principal)
	}
	m := subField.FindStringSubmatch(req.Query)
	if m == nil {
		return nil, realtime.ErrorList{
			appsync.Errorf(appsync.ValidationError, "Validation error of type FieldUndefined: no subscription field"),
			appsync.Errorf(appsync.ValidationError, "second error"),
		}
	}
	switch m[2] {
	case "Secret":
		return nil, appsync.Errorf(appsync.Unauthorized, "Not Authorized to access %s on type Subscription", m[0])
	case "Broken":
		return nil, errors.New("database unavailable")
	}
	s := &testSub{field: m[0], model: m[2], op: strings.ToLower(m[1])}
	if t, ok := req.Variables["title"].(string); ok {
		s.title = &t
	}
	return s, nil
}

type testSub struct {
	field, model, op string
	title            *string
}

func (s *testSub) Topic() (string, string) { return s.model, s.op }

func (s *testSub) Render(_ context.Context, ev realtime.Event) (json.RawMessage, bool, error) {
	if s.title != nil && ev.Item["title"] != *s.title {
		return nil, false, nil
	}
	if ev.Item["boom"] == true {
		return nil, false, errors.New("resolver exploded")
	}
	b, err := json.Marshal(map[string]any{"data": map[string]any{s.field: ev.Item}})
	return b, err == nil, err
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

type fixture struct {
	hub     *realtime.Hub
	srv     *httptest.Server
	backend *testBackend
	url     string
}

func newFixture(t testing.TB, opts realtime.Options) *fixture {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	b := &testBackend{}
	hub := realtime.New(b, opts)
	mux := http.NewServeMux()
	mux.Handle("/graphql/realtime", hub)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		srv.Close()
	})
	return &fixture{hub: hub, srv: srv, backend: b, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/graphql/realtime"}
}

// client is a test-side connection with helpers for AppSync frames.
type client struct {
	t  testing.TB
	ws *websocket.Conn
}

func authProtocol(t testing.TB, h map[string]string) string {
	t.Helper()
	p, err := appsync.EncodeHeaderProtocol(h)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testCtx is the test's context: blocking steps end with the test (and go
// test -timeout catches a hang).
func testCtx(t testing.TB) context.Context { return t.Context() }

func newLocalServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return srv
}

func (f *fixture) dial(t testing.TB, key string) *client {
	t.Helper()
	ws, _, err := websocket.Dial(testCtx(t), f.url, &websocket.DialOptions{
		Subprotocols: []string{appsync.Subprotocol, authProtocol(t, map[string]string{"host": "127.0.0.1", "x-api-key": key})},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(-1)
	t.Cleanup(func() { ws.CloseNow() })
	return &client{t: t, ws: ws}
}

// ready dials with the good key and completes connection_init.
func (f *fixture) ready(t testing.TB) *client {
	t.Helper()
	c := f.dial(t, "good")
	c.init()
	return c
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	if err := c.ws.Write(testCtx(c.t), websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(b))
}

// read returns the next frame including keep-alives.
func (c *client) read() (appsync.Message, error) {
	_, b, err := c.ws.Read(testCtx(c.t))
	if err != nil {
		return appsync.Message{}, err
	}
	var m appsync.Message
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("server sent invalid JSON %q: %w", b, err)
	}
	return m, nil
}

// next returns the next frame that is not a keep-alive.
func (c *client) next() appsync.Message {
	c.t.Helper()
	for {
		m, err := c.read()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if m.Type != appsync.MsgKeepAlive {
			return m
		}
	}
}

func (c *client) expect(typ, id string) appsync.Message {
	c.t.Helper()
	m := c.next()
	if m.Type != typ || m.ID != id {
		c.t.Fatalf("got %s id=%q payload=%s, want %s id=%q", m.Type, m.ID, m.Payload, typ, id)
	}
	return m
}

// expectError reads an error frame for id and returns its errors.
func (c *client) expectError(id string) []*appsync.Error {
	c.t.Helper()
	m := c.expect(appsync.MsgError, id)
	var p appsync.ErrorPayload
	if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) == 0 {
		c.t.Fatalf("error payload %s: %v", m.Payload, err)
	}
	return p.Errors
}

// closeStatus reads until the connection ends and returns its close status.
func (c *client) closeStatus() (websocket.StatusCode, string) {
	c.t.Helper()
	for {
		_, _, err := c.ws.Read(testCtx(c.t))
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			return -1, err.Error()
		}
	}
}

func (c *client) init() {
	c.t.Helper()
	c.send(map[string]string{"type": "connection_init"})
	c.expect(appsync.MsgConnectionAck, "")
}

func startMsg(id, query string, vars map[string]any) map[string]any {
	data, _ := json.Marshal(appsync.Request{Query: query, Variables: vars})
	return map[string]any{
		"id":   id,
		"type": "start",
		"payload": map[string]any{
			"data":       string(data),
			"extensions": map[string]any{"authorization": map[string]string{"x-api-key": "good", "Authorization": "Bearer t"}},
		},
	}
}

// start registers a subscription and waits for its start_ack.
func (c *client) start(id, field string, vars map[string]any) {
	c.t.Helper()
	c.send(startMsg(id, "subscription S { "+field+" { id title } }", vars))
	c.expect(appsync.MsgStartAck, id)
}

// data reads the next frame, which must be data for id, and returns the
// item under field.
func (c *client) data(id, field string) map[string]any {
	c.t.Helper()
	m := c.expect(appsync.MsgData, id)
	var p struct {
		Data map[string]map[string]any `json:"data"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		c.t.Fatalf("data payload %s: %v", m.Payload, err)
	}
	it, ok := p.Data[field]
	if !ok {
		c.t.Fatalf("data payload %s has no %s", m.Payload, field)
	}
	return it
}

func stdB64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
