package client_test

import (
	"context"
	"encoding/json"
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
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/meta"
)

const testKey = "k"

// waitLimit bounds every wait on the server so a broken test fails instead
// of hanging; it is a deadlock guard, not a timing assertion. It is minutes
// because it also bounds whole tests (TestSyncPaging's 2,500 creates under
// -race on a loaded 2-core machine took more than 20 s).
const waitLimit = 5 * time.Minute

var jwtSecret = []byte("client-test-hs256-secret-32bytes")

// startServer runs dsgen serve over Badger in t.TempDir() on a loopback
// port, accepting API key testKey and HS256 JWTs signed with jwtSecret.
func startServer(t testing.TB, s *meta.Schema, edit func(*serve.Config)) *httptest.Server {
	t.Helper()
	cfg := serve.Config{
		Schema: s,
		Store:  testenv.OpenStore(t, store.Options{}),
		Auth: auth.Config{
			APIKeys: []auth.APIKey{{Key: testKey}},
			JWT:     &auth.JWTConfig{HS256Secret: jwtSecret},
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	_, ts := testenv.Serve(t, cfg, false)
	return ts
}

func newClient(t testing.TB, ts *httptest.Server, a client.Auth, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(ts.URL+"/graphql", a, opts...)
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c
}

// jwt returns a token for user expiring at exp.
func jwt(t testing.TB, user string, exp time.Time) string {
	t.Helper()
	tok, err := auth.SignHS256(jwtSecret, map[string]any{
		"sub": user + "-sub", "cognito:username": user, "exp": exp.Unix(), "iat": time.Now().Add(-time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func docsFor(t testing.TB, s *meta.Schema, model string) *client.ModelDocs {
	t.Helper()
	m := s.Model(model)
	if m == nil {
		t.Fatalf("no model %s", model)
	}
	d, err := client.Documents(s, m)
	if err != nil {
		t.Fatalf("Documents(%s): %v", model, err)
	}
	return d
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// subscribe opens a real-time connection with the client's own headers,
// starts doc with vars and returns the server's answer to the start: the
// message type (start_ack or error) and its payload.
func subscribe(t testing.TB, c *client.Client, doc string, vars map[string]any) (string, json.RawMessage) {
	t.Helper()
	ctx := ctxT(t)
	hdrs, err := c.RealtimeHeaders(ctx)
	if err != nil {
		t.Fatalf("RealtimeHeaders: %v", err)
	}
	hp, err := appsync.EncodeHeaderProtocol(hdrs)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.Dial(ctx, c.RealtimeURL(), &websocket.DialOptions{Subprotocols: []string{appsync.Subprotocol, hp}})
	if err != nil {
		t.Fatalf("dial %s: %v", c.RealtimeURL(), err)
	}
	defer ws.CloseNow()
	write := func(m appsync.Message) {
		b, _ := json.Marshal(m)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	read := func() appsync.Message {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var m appsync.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("frame %s: %v", b, err)
		}
		return m
	}
	write(appsync.Message{Type: appsync.MsgConnectionInit})
	for m := read(); m.Type != appsync.MsgConnectionAck; m = read() {
		if m.Type != appsync.MsgKeepAlive {
			t.Fatalf("connection_init answered %s %s", m.Type, m.Payload)
		}
	}
	data, _ := json.Marshal(appsync.Request{Query: doc, Variables: vars})
	payload, _ := json.Marshal(appsync.StartPayload{Data: string(data), Extensions: appsync.StartExtensions{Authorization: hdrs}})
	write(appsync.Message{ID: "s1", Type: appsync.MsgStart, Payload: payload})
	for {
		m := read()
		if m.ID == "s1" && (m.Type == appsync.MsgStartAck || m.Type == appsync.MsgError) {
			return m.Type, m.Payload
		}
	}
}

// collapse normalises whitespace for messages.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }
