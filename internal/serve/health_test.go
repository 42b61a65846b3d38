package serve_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
	"github.com/dsgen/dsgen/internal/testenv"
)

// probe GETs url on a fresh connection and decodes the JSON answer.
func probe(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: frameWait}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: %d, body not JSON: %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode, body
}

// TestHealthAndReady: /healthz reports the store's engine and whether it
// answers; /readyz is 200 while the server takes requests, 503 once it
// shuts down and when the store is gone.
func TestHealthAndReady(t *testing.T) { forEngines(t, testHealthAndReady) }

func testHealthAndReady(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng})
	if code, body := probe(t, e.ts.URL+"/healthz"); code != 200 || body["status"] != "ok" || body["store"] != eng {
		t.Errorf("/healthz: %d %v", code, body)
	}
	if code, body := probe(t, e.ts.URL+"/readyz"); code != 200 || body["status"] != "ready" {
		t.Errorf("/readyz: %d %v", code, body)
	}

	// A second instance over the same store shutting down is not ready;
	// the first still is.
	srv2, ts2 := e.startServer(t, envOptions{engine: eng})
	if err := srv2.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, body := probe(t, ts2.URL+"/readyz"); code != 503 || body["status"] != "shutting down" {
		t.Errorf("/readyz while shutting down: %d %v", code, body)
	}
	if code, _ := probe(t, e.ts.URL+"/readyz"); code != 200 {
		t.Errorf("/readyz of the other instance: %d", code)
	}

	// The store closed under the server: both say so, naming it.
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		code, body := probe(t, e.ts.URL+path)
		if msg, _ := body["error"].(string); code != 503 || body["status"] != "unavailable" || !strings.Contains(msg, "closed") || body["store"] != eng {
			t.Errorf("%s with the store closed: %d %v", path, code, body)
		}
	}
}

// TestHealthPostgresUnreachable cuts the network between the server and
// PostgreSQL (a TCP proxy that resets every connection and refuses new
// ones): /healthz and /readyz turn 503 naming the failure, and 200 again
// once the database is reachable, without a restart.
func TestHealthPostgresUnreachable(t *testing.T) {
	u, err := url.Parse(pgtest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	st, err := store.OpenPostgres(context.Background(), u.String(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, ts := testenv.Serve(t, serve.Config{
		Schema: testenv.BlogSchema(t), Store: st,
		Auth: auth.Config{APIKeys: []auth.APIKey{{Key: testAPIKey}}},
	}, false)
	if code, body := probe(t, ts.URL+"/healthz"); code != 200 || body["store"] != "postgres" {
		t.Fatalf("/healthz: %d %v", code, body)
	}

	proxy.SetMode(testenv.Refuse)
	proxy.CutAll()
	for _, path := range []string{"/healthz", "/readyz"} {
		code, body := probe(t, ts.URL+path)
		if msg, _ := body["error"].(string); code != 503 || body["status"] != "unavailable" || !strings.Contains(msg, "store: ping") {
			t.Errorf("%s with the database unreachable: %d %v", path, code, body)
		}
	}

	proxy.SetMode(testenv.Pass)
	deadline := time.Now().Add(frameWait)
	for {
		code, body := probe(t, ts.URL+"/healthz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz after the database came back: %d %v", code, body)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition; frameWait is the hang guard
	}
	if code, _ := probe(t, ts.URL+"/readyz"); code != 200 {
		t.Errorf("/readyz after the database came back: %d", code)
	}
}

// TestStartingThenServing: while `dsgen serve` starts, its listener
// answers 503 {"status":"starting"}; after Stop the same listener serves
// the API.
func TestStartingThenServing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	starting := serve.Start(ln)
	for _, path := range []string{"/readyz", "/healthz", "/graphql"} {
		if code, body := probe(t, base+path); code != 503 || body["status"] != "starting" {
			t.Errorf("%s while starting: %d %v", path, code, body)
		}
	}
	e := newEnv(t, envOptions{})
	ln2, err := starting.Stop(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln2, time.Minute) }()
	if code, body := probe(t, base+"/readyz"); code != 200 || body["status"] != "ready" {
		t.Errorf("/readyz once serving: %d %v", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("the listener is still open after Serve returned")
	}
}
