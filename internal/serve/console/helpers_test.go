package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/appsync/rtclient"
)

// testSchema has an owner-only model (Note) and a public one (Post).
const testSchema = `
type Note @model @auth(rules: [{allow: owner}]) {
  id: ID!
  title: String!
}
type Post @model @auth(rules: [{allow: public}, {allow: private}]) {
  id: ID!
  title: String!
  rating: Int
  tags: [String]
}
`

const (
	apiKey = "da2-console-test"
	secret = "console-test-secret-0123456789abcdef"
)

// startServer runs dsgen serve in this process with an API key and the
// HS256 secret, dev identities on when devAuth.
func startServer(t *testing.T, devAuth bool, conflict map[string]serve.Strategy) *httptest.Server {
	t.Helper()
	st := testenv.OpenStore(t, store.Options{})
	_, ts := testenv.Serve(t, serve.Config{
		Schema:   testenv.LoadSchema(t, testSchema),
		Store:    st,
		Conflict: conflict,
		Auth: auth.Config{
			APIKeys: []auth.APIKey{{Key: apiKey}},
			JWT:     &auth.JWTConfig{HS256Secret: []byte(secret)},
		},
		DevAuth: devAuth,
	}, false)
	return ts
}

// devToken signs a token as the console's dev identities are signed.
func devToken(t *testing.T, user string, groups ...string) string {
	t.Helper()
	tok, err := auth.DevToken(&auth.JWTConfig{HS256Secret: []byte(secret)}, user, groups, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// goClient is the sync engine's GraphQL client with the given auth.
func goClient(t *testing.T, ts *httptest.Server, a client.Auth) *client.Client {
	t.Helper()
	c, err := client.New(ts.URL+"/graphql", a)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mutate runs one mutation through c and returns the field's value.
func mutate(t *testing.T, c *client.Client, field, query string, vars map[string]any) map[string]any {
	t.Helper()
	raw, err := c.Do(context.Background(), appsync.Request{Query: query, Variables: vars}, field)
	if err != nil {
		t.Fatalf("%s: %v", field, err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func tokenAuth(tok string) client.Auth {
	return client.Token(func(context.Context) (string, error) { return tok, nil })
}

// call sends a request and decodes the JSON answer.
func call(t *testing.T, method, url string, headers map[string]string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return resp.StatusCode, map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out
}

var keyHeader = map[string]string{"x-api-key": apiKey}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": tok} }

func appsyncReq(q string) appsync.Request { return appsync.Request{Query: q} }

// rtConn is a real-time client of the test server.
type rtConn struct{ c *rtclient.Conn }

func dialRealtime(t *testing.T, ts *httptest.Server, headers map[string]string) *rtConn {
	t.Helper()
	c, err := rtclient.Dial(t.Context(), "ws"+strings.TrimPrefix(ts.URL, "http")+"/graphql/realtime", rtclient.Options{
		Header: func(context.Context) (map[string]string, error) { return headers, nil },
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rtConn{c}
}

// subscribe registers a subscription and returns once it is acknowledged.
func (r *rtConn) subscribe(t *testing.T, id, query string) {
	t.Helper()
	if _, err := r.c.Subscribe(t.Context(), appsync.Request{Query: query}); err != nil {
		t.Fatalf("subscribe %s: %v", id, err)
	}
}
