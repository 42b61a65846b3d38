package serve_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// rawConn is a client connection that sends requests written by hand and
// reads their responses.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A hang guard only.
	if err := c.SetDeadline(time.Now().Add(2 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

// do sends one request and returns its response, body read.
func (r *rawConn) do(req string) (*http.Response, string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, req); err != nil {
		r.t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		r.t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

// closedByServer reports whether the server closed the connection: the
// next read ends without data.
func (r *rawConn) closedByServer() bool {
	n, err := r.br.Read(make([]byte, 1))
	return n == 0 && err != nil
}

func postCreate(id string) string { return postBody(createBody(id)) }

func postBody(body string) string {
	return fmt.Sprintf("POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Api-Key: %s\r\nContent-Length: %d\r\n\r\n%s", testAPIKey, len(body), body)
}

const (
	getHealth = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	getReady  = "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
)

// withOrigin adds an Origin header to a raw request, as a page's fetch
// sends it.
func withOrigin(req, origin string) string {
	return strings.Replace(req, "\r\n", "\r\nOrigin: "+origin+"\r\n", 1)
}

// dialRealtime opens an acknowledged real-time connection.
func dialRealtime(t *testing.T, addr string) *websocket.Conn {
	t.Helper()
	hp, err := appsync.EncodeHeaderProtocol(map[string]string{"host": addr, "x-api-key": testAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), frameWait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/graphql/realtime", &websocket.DialOptions{Subprotocols: []string{appsync.Subprotocol, hp}})
	if err != nil {
		t.Fatalf("WebSocket: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init"}`)); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for connection_ack: %v", err)
		}
		var m appsync.Message
		if json.Unmarshal(b, &m) == nil && m.Type == appsync.MsgConnectionAck {
			return c
		}
	}
}

// metricValue is the value of the unlabelled metric name in srv's registry.
func metricValue(t *testing.T, srv *serve.Server, name string) float64 {
	t.Helper()
	fams, err := srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		if m.Gauge != nil {
			return m.Gauge.GetValue()
		}
		return m.Counter.GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestMaxConnections holds MaxConnections connections of every kind (one
// on the fast path, one net/http serves, a WebSocket) and wants the next
// answered 503 with Retry-After and closed at once, a readiness check too,
// while a liveness check and the metrics are answered as under the cap;
// once one closes, new connections are served again, and the count goes
// back to zero when all have closed.
func TestMaxConnections(t *testing.T) {
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			s := serveOn(t, newClock(), fast, func(c *serve.Config) { c.MaxConnections = 3; c.Metrics = serve.MetricsOpen })
			if got := s.srv.MaxConnections(); got != 3 {
				t.Fatalf("MaxConnections() = %d", got)
			}
			post := dialRaw(t, s.addr)
			if resp, body := post.do(postCreate("p1")); resp.StatusCode != http.StatusOK {
				t.Fatalf("create: HTTP %d %s", resp.StatusCode, body)
			}
			health := dialRaw(t, s.addr) // handed to net/http by the fast path
			if resp, body := health.do(getHealth); resp.StatusCode != http.StatusOK {
				t.Fatalf("healthz: HTTP %d %s", resp.StatusCode, body)
			}
			ws := dialRealtime(t, s.addr)
			if got := metricValue(t, s.srv, "dsgen_connections"); got != 3 {
				t.Errorf("dsgen_connections %v, want 3", got)
			}

			for _, req := range []string{withOrigin(postCreate("refused"), "http://localhost:3000"), getReady} {
				c := dialRaw(t, s.addr)
				resp, body := c.do(req)
				if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" ||
					!strings.Contains(body, `"errorType":"ServiceUnavailable"`) || !strings.Contains(body, "maximum of 3 connections") {
					t.Errorf("over the cap: HTTP %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
				}
				// Any origin may call (no CORSOrigins): a page may read it.
				if got, want := resp.Header.Get("Access-Control-Allow-Origin"), map[bool]string{true: "*"}[strings.Contains(req, "Origin:")]; got != want {
					t.Errorf("over the cap: Access-Control-Allow-Origin %q, want %q", got, want)
				}
				if !c.closedByServer() {
					t.Error("over the cap: the connection stayed open")
				}
			}
			// A server at its cap is alive, and its metrics say why it refuses.
			for _, probe := range []struct{ path, want string }{
				{"/healthz", `"status":"ok"`},
				// Counted as refused: the two above, /healthz and itself.
				{"/metrics", "dsgen_connections_refused_total 4"},
			} {
				path, want := probe.path, probe.want
				c := dialRaw(t, s.addr)
				resp, body := c.do("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
					t.Errorf("GET %s over the cap: HTTP %d %.300s; want 200 with %s", path, resp.StatusCode, body, want)
				}
				if !c.closedByServer() {
					t.Errorf("GET %s over the cap: the connection stayed open", path)
				}
			}
			if got := metricValue(t, s.srv, "dsgen_connections_refused_total"); got != 4 {
				t.Errorf("dsgen_connections_refused_total %v, want 4", got)
			}
			// The answer waits for the request (one sent before it can
			// fail a Go client's request as a stray response): a client
			// that sends none gets none.
			silent := dialRaw(t, s.addr)
			if err := silent.c.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if b, err := io.ReadAll(silent.br); len(b) != 0 || err != nil {
				t.Errorf("a connection over the cap that sent no request got %q (%v)", b, err)
			}
			// Go's Transport (dsgen's engine, Kubernetes' probes) gets the
			// 503 as a response.
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			for i := range 20 {
				resp, err := client.Post("http://"+s.addr+"/graphql", "application/json", strings.NewReader(createBody("refused")))
				if err != nil {
					t.Fatalf("Go client, request %d over the cap: %v", i, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable {
					t.Fatalf("Go client, request %d over the cap: HTTP %d", i, resp.StatusCode)
				}
			}
			// The refused creates did not happen.
			if resp, body := post.do(postBody(`{"query":"{ getPost(id: \"refused\") { id } }"}`)); resp.StatusCode != http.StatusOK || body != `{"data":{"getPost":null}}` {
				t.Errorf("getPost refused: HTTP %d %s", resp.StatusCode, body)
			}

			// Each kind, once closed, frees its place.
			for name, closeIt := range map[string]func(){
				"WebSocket": func() { ws.Close(websocket.StatusNormalClosure, "") },
				"net/http":  func() { health.c.Close() },
				"fast path": func() { post.c.Close() },
			} {
				closeIt()
				poll.Until(t, "a connection served after the "+name+" one closed", func() bool {
					c := dialRaw(t, s.addr)
					defer c.c.Close()
					resp, _ := c.do(getReady)
					return resp.StatusCode == http.StatusOK
				})
			}
			poll.Until(t, "dsgen_connections back to 0", func() bool {
				return metricValue(t, s.srv, "dsgen_connections") == 0
			})
		})
	}
}

// TestMaxConnectionsDefault checks the cap's default comes from the
// open-file limit, and that a negative MaxConnections lifts it.
func TestMaxConnectionsDefault(t *testing.T) {
	s := serveOn(t, newClock(), true, nil)
	if got := s.srv.MaxConnections(); got <= 0 {
		t.Errorf("default MaxConnections() = %d, want a cap from RLIMIT_NOFILE", got)
	}
	if got := metricValue(t, s.srv, "dsgen_connections_max"); got != float64(s.srv.MaxConnections()) {
		t.Errorf("dsgen_connections_max %v, want %d", got, s.srv.MaxConnections())
	}
	s = serveOn(t, newClock(), true, func(c *serve.Config) { c.MaxConnections = -1 })
	if got := s.srv.MaxConnections(); got != 0 {
		t.Errorf("MaxConnections -1: MaxConnections() = %d, want 0 (none)", got)
	}
}

// TestMaxConnectionsTLS serves as dsgen serve does with TLS (TLS and plain
// sniffed on one port): a TLS connection counts, and one over the cap is
// answered over TLS, a plain one in plain.
func TestMaxConnectionsTLS(t *testing.T) {
	cert, certPath, _, _ := devCert(t, t.TempDir())
	srv, err := serve.New(serve.Config{
		Schema:         testenv.BlogSchema(t),
		Store:          testenv.OpenStore(t, store.Options{}),
		Auth:           auth.Config{APIKeys: []auth.APIKey{{Key: testAPIKey}}},
		MaxConnections: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testenv.ServeOn(t, srv, serve.SniffTLS(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	pem, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	dialTLS := func() *rawConn {
		r := dialRaw(t, ln.Addr().String())
		tc := tls.Client(r.c, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		r.c, r.br = tc, bufio.NewReader(tc)
		return r
	}
	first := dialTLS()
	if resp, body := first.do(getHealth); resp.StatusCode != http.StatusOK {
		t.Fatalf("first: HTTP %d %s", resp.StatusCode, body)
	}
	for name, c := range map[string]*rawConn{"TLS": dialTLS(), "plain": dialRaw(t, ln.Addr().String())} {
		resp, body := c.do(getReady)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "maximum of 1 connections") {
			t.Errorf("%s over the cap: HTTP %d %s", name, resp.StatusCode, body)
		}
		if !c.closedByServer() {
			t.Errorf("%s over the cap: the connection stayed open", name)
		}
	}
	first.c.Close()
	poll.Until(t, "dsgen_connections back to 0", func() bool {
		return metricValue(t, srv, "dsgen_connections") == 0
	})
}

// TestMaxConnectionsCORS: with CORSOrigins set, the 503 over the cap
// names an allowed page's origin, so its fetch reads the 503 (and
// retries) instead of failing as a CORS error; another origin gets no
// Access-Control-Allow-Origin, as for any answer.
func TestMaxConnectionsCORS(t *testing.T) {
	s := serveOn(t, newClock(), true, func(c *serve.Config) {
		c.MaxConnections = 1
		c.CORSOrigins = []string{"localhost:3000"}
	})
	held := dialRaw(t, s.addr)
	if resp, body := held.do(postCreate("p1")); resp.StatusCode != http.StatusOK {
		t.Fatalf("create: HTTP %d %s", resp.StatusCode, body)
	}
	for origin, want := range map[string]string{
		"http://localhost:3000": "http://localhost:3000",
		"http://evil.example":   "",
	} {
		c := dialRaw(t, s.addr)
		resp, body := c.do(withOrigin(postCreate("refused"), origin))
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("Origin %s over the cap: HTTP %d %s", origin, resp.StatusCode, body)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("Origin %s over the cap: Access-Control-Allow-Origin %q, want %q", origin, got, want)
		}
		if got := resp.Header.Get("Vary"); got != "Origin" {
			t.Errorf("Origin %s over the cap: Vary %q, want Origin", origin, got)
		}
		if want != "" && resp.Header.Get("Access-Control-Expose-Headers") != "Retry-After" {
			t.Errorf("Origin %s over the cap: Retry-After not exposed: %v", origin, resp.Header)
		}
	}
}
