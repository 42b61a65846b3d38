package serve_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// corsDo sends one request to a served address and returns the response
// with its body read.
func corsDo(t *testing.T, addr, method, origin string, header map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+"/graphql", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

var jsonKey = map[string]string{"Content-Type": "application/json", "X-Api-Key": testAPIKey}

// preflight sends a browser's preflight of a JSON POST with Amplify's
// headers.
func preflight(t *testing.T, addr, origin, reqHeaders string) *http.Response {
	t.Helper()
	resp, _ := corsDo(t, addr, http.MethodOptions, origin, map[string]string{
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": reqHeaders,
	}, "")
	return resp
}

func wantHeader(t *testing.T, what string, h http.Header, name, want string) {
	t.Helper()
	if got := strings.Join(h.Values(name), ", "); got != want {
		t.Errorf("%s: %s %q, want %q", what, name, got, want)
	}
}

// TestCORSAnyOrigin checks the default, AppSync's: any origin's preflight
// is allowed with the headers it asks for, and every /graphql answer to a
// browser (errors included) carries Access-Control-Allow-Origin: *.
func TestCORSAnyOrigin(t *testing.T) {
	s := serveOn(t, newClock(), true, nil)
	const origin = "http://localhost:3000"
	amplify := "content-type,x-amz-user-agent,x-api-key"
	resp := preflight(t, s.addr, origin, amplify)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("preflight: HTTP %d", resp.StatusCode)
	}
	wantHeader(t, "preflight", resp.Header, "Access-Control-Allow-Origin", "*")
	wantHeader(t, "preflight", resp.Header, "Access-Control-Allow-Headers", amplify)
	wantHeader(t, "preflight", resp.Header, "Access-Control-Max-Age", "86400")
	wantHeader(t, "preflight", resp.Header, "Access-Control-Allow-Credentials", "")
	if m := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") {
		t.Errorf("preflight: Access-Control-Allow-Methods %q", m)
	}
	// A list that is not plain header names gets AppSync's fixed list.
	resp = preflight(t, s.addr, origin, "x-api-key, bad(name)")
	wantHeader(t, "odd preflight", resp.Header, "Access-Control-Allow-Headers",
		"Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-Content-Sha256,X-Amz-User-Agent")

	big := `{"query":"` + strings.Repeat("x", 200<<10) + `"}`
	for _, c := range []struct {
		name, method string
		header       map[string]string
		body         string
		status       int
	}{
		{"create", http.MethodPost, jsonKey, createBody("p1"), http.StatusOK},
		{"no key", http.MethodPost, map[string]string{"Content-Type": "application/json"}, createBody("p2"), http.StatusUnauthorized},
		{"bad JSON", http.MethodPost, jsonKey, `{"query":`, http.StatusBadRequest},
		{"too large", http.MethodPost, jsonKey, big, http.StatusRequestEntityTooLarge},
		{"GET", http.MethodGet, nil, "", http.StatusMethodNotAllowed},
	} {
		resp, body := corsDo(t, s.addr, c.method, origin, c.header, c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s: HTTP %d, want %d: %s", c.name, resp.StatusCode, c.status, body)
		}
		wantHeader(t, c.name, resp.Header, "Access-Control-Allow-Origin", "*")
		wantHeader(t, c.name, resp.Header, "Access-Control-Expose-Headers", "Retry-After")
		wantHeader(t, c.name, resp.Header, "Access-Control-Allow-Credentials", "")
		wantHeader(t, c.name, resp.Header, "Vary", "")
	}
	// Without an Origin (not a browser: the fast path's clients) there is
	// nothing to allow.
	resp, _ = corsDo(t, s.addr, http.MethodPost, "", jsonKey, createBody("p3"))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("no Origin: HTTP %d", resp.StatusCode)
	}
	wantHeader(t, "no Origin", resp.Header, "Access-Control-Allow-Origin", "")
}

// TestCORSRestricted checks CORSOrigins: a listed origin is echoed (with
// Vary: Origin), an unlisted one gets no CORS headers, is not executed and
// cannot open the WebSocket.
func TestCORSRestricted(t *testing.T) {
	s := serveOn(t, newClock(), true, func(c *serve.Config) {
		c.CORSOrigins = []string{"http://app.example.com", "*.example.org", "localhost:3000"}
	})
	for _, origin := range []string{"http://app.example.com", "https://x.example.org", "http://localhost:3000"} {
		resp := preflight(t, s.addr, origin, "content-type,x-api-key")
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("preflight from %s: HTTP %d", origin, resp.StatusCode)
		}
		wantHeader(t, "preflight from "+origin, resp.Header, "Access-Control-Allow-Origin", origin)
		if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
			t.Errorf("preflight from %s: Vary %q", origin, resp.Header.Values("Vary"))
		}
		resp, body := corsDo(t, s.addr, http.MethodPost, origin, map[string]string{"Content-Type": "application/json"}, createBody("x"))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST without key from %s: HTTP %d: %s", origin, resp.StatusCode, body)
		}
		wantHeader(t, "POST from "+origin, resp.Header, "Access-Control-Allow-Origin", origin)
		wantHeader(t, "POST from "+origin, resp.Header, "Vary", "Origin")
	}
	for _, origin := range []string{"https://app.example.com", "http://example.org", "http://evil.test", "null"} {
		resp := preflight(t, s.addr, origin, "content-type,x-api-key")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("preflight from %s: HTTP %d", origin, resp.StatusCode)
		}
		wantHeader(t, "preflight from "+origin, resp.Header, "Access-Control-Allow-Origin", "")
		resp, body := corsDo(t, s.addr, http.MethodPost, origin, jsonKey, createBody("evil"))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST from %s: HTTP %d: %s", origin, resp.StatusCode, body)
		}
		wantHeader(t, "POST from "+origin, resp.Header, "Access-Control-Allow-Origin", "")
	}
	// The refused creates did not happen.
	resp, body := corsDo(t, s.addr, http.MethodPost, "", jsonKey, `{"query":"{ getPost(id: \"evil\") { id } }"}`)
	if resp.StatusCode != http.StatusOK || body != `{"data":{"getPost":null}}` {
		t.Errorf("getPost evil: HTTP %d %s", resp.StatusCode, body)
	}
	// Without an Origin (not a browser) the list does not apply.
	if resp, body := corsDo(t, s.addr, http.MethodPost, "", jsonKey, createBody("p1")); resp.StatusCode != http.StatusOK {
		t.Errorf("no Origin: HTTP %d %s", resp.StatusCode, body)
	}

	// The WebSocket upgrade follows the same list.
	hp, err := appsync.EncodeHeaderProtocol(map[string]string{"host": s.addr, "x-api-key": testAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]int{"http://localhost:3000": http.StatusSwitchingProtocols, "http://evil.test": http.StatusForbidden} {
		ctx, cancel := context.WithTimeout(context.Background(), frameWait)
		c, resp, err := websocket.Dial(ctx, "ws://"+s.addr+"/graphql/realtime", &websocket.DialOptions{
			Subprotocols: []string{appsync.Subprotocol, hp},
			HTTPHeader:   http.Header{"Origin": {origin}},
		})
		cancel()
		if resp == nil || resp.StatusCode != want {
			t.Errorf("WebSocket from %s: %v (%v), want HTTP %d", origin, resp, err, want)
		}
		if c != nil {
			c.CloseNow()
		}
	}
}

// TestCORSBadPattern checks a malformed origin pattern is refused at New.
func TestCORSBadPattern(t *testing.T) {
	_, err := serve.New(serve.Config{
		Schema:      testenv.BlogSchema(t),
		Store:       testenv.OpenStore(t, store.Options{}),
		Auth:        auth.Config{APIKeys: []auth.APIKey{{Key: testAPIKey}}},
		CORSOrigins: []string{"[localhost"},
	})
	if err == nil || !strings.Contains(err.Error(), "[localhost") {
		t.Errorf("New with origin pattern [localhost: %v", err)
	}
}

// TestCORSPrivateNetwork checks Chrome's Private Network Access preflight
// (a public page calling a server on a private network or loopback): an
// allowed origin that asks gets Access-Control-Allow-Private-Network:
// true, also when the preflight lists no headers (PNA preflights requests
// that need none otherwise); a preflight that does not ask gets no such
// header, and a refused origin gets none either.
func TestCORSPrivateNetwork(t *testing.T) {
	pna := func(t *testing.T, addr, origin string, header map[string]string) *http.Response {
		t.Helper()
		h := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Private-Network": "true"}
		for k, v := range header {
			h[k] = v
		}
		resp, _ := corsDo(t, addr, http.MethodOptions, origin, h, "")
		return resp
	}
	anyOrigin := serveOn(t, newClock(), true, nil)
	restricted := serveOn(t, newClock(), true, func(c *serve.Config) {
		c.CORSOrigins = []string{"https://app.example.com"}
	})
	for _, c := range []struct {
		name, addr, origin string
		header             map[string]string
		status             int
		allowOrigin, pna   string
	}{
		{"any origin", anyOrigin.addr, "https://app.example.com", map[string]string{"Access-Control-Request-Headers": "content-type,x-api-key"}, http.StatusNoContent, "*", "true"},
		{"no request headers", anyOrigin.addr, "https://app.example.com", nil, http.StatusNoContent, "*", "true"},
		{"listed origin", restricted.addr, "https://app.example.com", nil, http.StatusNoContent, "https://app.example.com", "true"},
		{"unlisted origin", restricted.addr, "https://evil.example.com", nil, http.StatusForbidden, "", ""},
		{"not asked", anyOrigin.addr, "https://app.example.com", map[string]string{"Access-Control-Request-Private-Network": "false"}, http.StatusNoContent, "*", ""},
	} {
		resp := pna(t, c.addr, c.origin, c.header)
		if resp.StatusCode != c.status {
			t.Errorf("%s: HTTP %d, want %d", c.name, resp.StatusCode, c.status)
		}
		wantHeader(t, c.name, resp.Header, "Access-Control-Allow-Origin", c.allowOrigin)
		wantHeader(t, c.name, resp.Header, "Access-Control-Allow-Private-Network", c.pna)
		if c.status == http.StatusNoContent {
			if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Access-Control-Request-Private-Network") {
				t.Errorf("%s: Vary %q", c.name, resp.Header.Values("Vary"))
			}
			if resp.Header.Get("Access-Control-Allow-Headers") == "" {
				t.Errorf("%s: no Access-Control-Allow-Headers", c.name)
			}
		}
	}
	// The header answers preflights only: the request itself gets none.
	resp, body := corsDo(t, anyOrigin.addr, http.MethodPost, "https://app.example.com",
		map[string]string{"Content-Type": "application/json", "X-Api-Key": testAPIKey, "Access-Control-Request-Private-Network": "true"}, createBody("pna"))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST: HTTP %d %s", resp.StatusCode, body)
	}
	wantHeader(t, "POST", resp.Header, "Access-Control-Allow-Private-Network", "")
}
