package serve_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/internal/testenv/poll"
)

// fastServed is a server run by Serve on a loopback port, with or without the
// fast path.
type fastServed struct {
	srv  *serve.Server
	addr string
}

// serveOn starts a server of its own store (sharing clock) under Serve;
// edit, when set, edits its configuration. The server stops when the test
// ends, and the test fails if Serve does not return cleanly.
func serveOn(t *testing.T, clock *testClock, fast bool, edit func(*serve.Config)) *fastServed {
	t.Helper()
	st := testenv.OpenStore(t, store.Options{Now: clock.Now})
	cfg := serve.Config{
		Schema:       testenv.BlogSchema(t),
		Store:        st,
		Auth:         auth.Config{APIKeys: []auth.APIKey{{Key: testAPIKey}}},
		TokenSecret:  []byte("conformance-suite-token-secret!!"),
		Now:          clock.Now,
		MaxBodyBytes: 100 << 10,
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := serve.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !fast {
		serve.DisableFastPath(srv)
	}
	return &fastServed{srv: srv, addr: testenv.ServeListener(t, srv)}
}

// exchange sends the parts of a request stream on one new connection (a
// write each) and reads n responses; it returns them as the raw bytes
// read, the Date values blanked, and whether the server then closed the
// connection (checked only when wantEOF: waiting for it otherwise could
// only end at a time limit).
func exchange(t *testing.T, addr string, parts []string, n int, closeWrite, wantEOF bool) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(frameWait))
	for _, p := range parts {
		if _, err := io.WriteString(c, p); err != nil {
			t.Fatal(err)
		}
	}
	if closeWrite {
		_ = c.(*net.TCPConn).CloseWrite()
	}
	var raw bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &raw))
	var out strings.Builder
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading a response: %v (read so far %q)", err, raw.String())
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// The tee holds what the responses took, and maybe a little more
	// bufio read ahead: a closed connection's remaining bytes are read
	// to its end.
	if wantEOF {
		if _, err := io.Copy(io.Discard, br); err != nil {
			t.Fatalf("want the connection closed: %v", err)
		}
		out.WriteString("[closed]")
	}
	return dateValue.ReplaceAllString(raw.String(), "Date: -\r\n") + out.String()
}

var dateValue = regexp.MustCompile(`Date: [^\r]*\r\n`)

// httpReq renders a request: head lines (without the final blank line)
// and body; a Content-Length of the body is added unless cl is "none", and
// cl replaces its value when not empty.
func httpReq(head, cl, body string) string {
	if cl == "" {
		cl = strconv.Itoa(len(body))
	}
	if cl != "none" {
		head += "\r\nContent-Length: " + cl
	}
	return head + "\r\n\r\n" + body
}

const gqlHead = "POST /graphql HTTP/1.1\r\nHost: example.test\r\nContent-Type: application/json\r\nX-Api-Key: " + testAPIKey

func createBody(id string) string {
	return `{"query":` + strconv.Quote(wireCreatePost) + `,"variables":{"input":{"id":"` + id + `","title":"Hello wire","rating":4,"status":"DRAFT"}}}`
}

// TestFastPathMatchesNetHTTP sends the same requests, byte for byte, to a
// server with the fast path and to one with net/http alone, each over its
// own store on the same clock, and compares every response byte but the
// Date value: the shapes the fast path serves and those it hands to
// net/http, on fresh connections and after fast-path requests.
func TestFastPathMatchesNetHTTP(t *testing.T) {
	clock := newClock()
	fast := serveOn(t, clock, true, nil)
	slow := serveOn(t, clock, false, nil)
	getPost := `{"query":"query Q($id: ID!) { getPost(id: $id) { id title _version } }","variables":{"id":"p1"}}`
	big := strings.Repeat("x", 120<<10)
	cases := []struct {
		name       string
		parts      []string
		n          int
		closeWrite bool
		eof        bool
	}{
		{name: "create", parts: []string{httpReq(gqlHead, "", createBody("p1"))}, n: 1},
		{name: "create again (conflict)", parts: []string{httpReq(gqlHead, "", createBody("p1"))}, n: 1},
		{name: "query", parts: []string{httpReq(gqlHead, "", getPost)}, n: 1},
		{name: "pipelined", parts: []string{httpReq(gqlHead, "", createBody("p2")) + httpReq(gqlHead, "", getPost) + httpReq(gqlHead, "", createBody("p3"))}, n: 3},
		{name: "in pieces", parts: func() []string {
			r := httpReq(gqlHead, "", createBody("p4"))
			return []string{r[:5], r[5:40], r[40 : len(r)-30], r[len(r)-30:]}
		}(), n: 1},
		{name: "lower-case names, keep-alive, other headers", parts: []string{httpReq("POST /graphql HTTP/1.1\r\nhost: example.test\r\nconnection: Keep-Alive\r\nx-amz-user-agent: aws-amplify/6.22.1 datastore/2\r\nx-api-key:   "+testAPIKey+" \t", "", createBody("p5"))}, n: 1},
		{name: "credentials change on one connection", parts: []string{httpReq(gqlHead, "", getPost) +
			httpReq("POST /graphql HTTP/1.1\r\nHost: h\r\nX-Api-Key: da2-nope", "", getPost) +
			httpReq("POST /graphql HTTP/1.1\r\nHost: h", "", getPost) +
			httpReq("POST /graphql HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer abc\r\nX-Api-Key: "+testAPIKey, "", getPost) +
			httpReq(gqlHead, "", getPost)}, n: 5},
		{name: "no credentials", parts: []string{httpReq("POST /graphql HTTP/1.1\r\nHost: h", "", getPost)}, n: 1},
		{name: "wrong key", parts: []string{httpReq("POST /graphql HTTP/1.1\r\nHost: h\r\nX-Api-Key: da2-nope", "", getPost)}, n: 1},
		{name: "bearer without JWT config", parts: []string{httpReq("POST /graphql HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer abc", "", getPost)}, n: 1},
		{name: "bad JSON", parts: []string{httpReq(gqlHead, "", `{"query":`)}, n: 1},
		{name: "empty body", parts: []string{httpReq(gqlHead, "", "")}, n: 1},
		{name: "invalid document", parts: []string{httpReq(gqlHead, "", `{"query":"{ nope }"}`)}, n: 1},
		{name: "subscription", parts: []string{httpReq(gqlHead, "", `{"query":"subscription { onCreatePost { id } }"}`)}, n: 1},
		{name: "GET", parts: []string{"GET /graphql HTTP/1.1\r\nHost: h\r\n\r\n"}, n: 1},
		{name: "query string", parts: []string{httpReq("POST /graphql?x=1 HTTP/1.1\r\nHost: h\r\nX-Api-Key: "+testAPIKey, "", getPost)}, n: 1},
		{name: "HTTP/1.0", parts: []string{httpReq("POST /graphql HTTP/1.0\r\nHost: h\r\nX-Api-Key: "+testAPIKey, "", getPost)}, n: 1, eof: true},
		{name: "Connection: close", parts: []string{httpReq(gqlHead+"\r\nConnection: close", "", getPost)}, n: 1, eof: true},
		{name: "Expect", parts: []string{httpReq(gqlHead+"\r\nExpect: 100-continue", "", getPost)}, n: 2},
		{name: "chunked", parts: []string{gqlHead + "\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(getPost), getPost)}, n: 1},
		{name: "two lengths", parts: []string{httpReq(gqlHead+"\r\nContent-Length: 3", "", getPost)}, n: 1, eof: true},
		{name: "bad length", parts: []string{httpReq(gqlHead, "+12", getPost)}, n: 1, eof: true},
		{name: "no host", parts: []string{httpReq("POST /graphql HTTP/1.1\r\nX-Api-Key: "+testAPIKey, "", getPost)}, n: 1, eof: true},
		{name: "two hosts", parts: []string{httpReq(gqlHead+"\r\nHost: b", "", getPost)}, n: 1, eof: true},
		{name: "bad header name", parts: []string{httpReq(gqlHead+"\r\nBad Name: x", "", getPost)}, n: 1, eof: true},
		{name: "control byte in value", parts: []string{httpReq(gqlHead+"\r\nX-Thing: a\x01b", "", getPost)}, n: 1, eof: true},
		{name: "bare LF", parts: []string{strings.ReplaceAll(httpReq(gqlHead, "", getPost), "\r\n", "\n")}, n: 1},
		{name: "folded header", parts: []string{httpReq(gqlHead+"\r\nX-Thing: a\r\n b", "", getPost)}, n: 1},
		{name: "long head", parts: []string{httpReq(gqlHead+"\r\nX-Pad: "+strings.Repeat("p", 10<<10), "", getPost)}, n: 1},
		{name: "body over the cap", parts: []string{httpReq(gqlHead, "", `{"query":"`+big+`"}`)}, n: 1, eof: true},
		{name: "body past the fast buffer", parts: []string{httpReq(gqlHead, "", `{"query":"{ listPosts { items { id } } }","x":"`+big[:80<<10]+`"}`)}, n: 1},
		{name: "fast then health", parts: []string{httpReq(gqlHead, "", getPost) + "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n" + httpReq(gqlHead, "", getPost)}, n: 3},
		{name: "fast then GET", parts: []string{httpReq(gqlHead, "", getPost) + "GET /graphql HTTP/1.1\r\nHost: h\r\n\r\n"}, n: 2},
		{name: "browser (Origin)", parts: []string{httpReq(gqlHead+"\r\nOrigin: http://localhost:3000", "", getPost) + httpReq(gqlHead, "", getPost) + httpReq(gqlHead+"\r\norigin: null", "", getPost)}, n: 3},
		{name: "preflight", parts: []string{"OPTIONS /graphql HTTP/1.1\r\nHost: h\r\nOrigin: http://localhost:3000\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type,x-api-key\r\n\r\n" + httpReq(gqlHead, "", getPost)}, n: 2},
		{name: "unknown path", parts: []string{httpReq("POST /graphqlx HTTP/1.1\r\nHost: h", "", getPost)}, n: 1},
		{name: "body cut short", parts: []string{httpReq(gqlHead, "", getPost)[:len(httpReq(gqlHead, "", getPost))-5]}, n: 1, closeWrite: true, eof: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := exchange(t, fast.addr, c.parts, c.n, c.closeWrite, c.eof)
			want := exchange(t, slow.addr, c.parts, c.n, c.closeWrite, c.eof)
			if got != want {
				t.Errorf("fast path answered\n%q\nnet/http answered\n%q", got, want)
			}
		})
	}
}

// TestFastPathTimeouts checks the fast path's deadlines against
// net/http's: a body that stops coming is answered 408 (by net/http, the
// connection handed over), an idle connection is closed.
func TestFastPathTimeouts(t *testing.T) {
	clock := newClock()
	short := func(c *serve.Config) {
		c.ReadTimeout = 300 * time.Millisecond
		c.IdleTimeout = 300 * time.Millisecond
	}
	fast := serveOn(t, clock, true, short)
	slow := serveOn(t, clock, false, short)
	r := httpReq(gqlHead, "", createBody("t1"))
	for _, c := range []struct {
		name  string
		parts []string
		n     int
	}{
		{"stalled body", []string{r[:len(r)-10]}, 1},
		{"stalled head", []string{gqlHead}, 0},
		{"idle", nil, 0},
		{"idle after a request", []string{httpReq(gqlHead, "", `{"query":"{ listPosts { items { id } } }"}`)}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := exchange(t, fast.addr, c.parts, c.n, false, true)
			want := exchange(t, slow.addr, c.parts, c.n, false, true)
			if got != want {
				t.Errorf("fast path answered\n%q\nnet/http answered\n%q", got, want)
			}
		})
	}
}

// TestFastPathServesWebSocketAndShutsDown connects a real-time client and
// GraphQL clients to a server with the fast path, then stops it: Serve
// returns, every connection is closed and the goroutines it started end.
func TestFastPathServesWebSocketAndShutsDown(t *testing.T) {
	clock := newClock()
	st := testenv.OpenStore(t, store.Options{Now: clock.Now})
	before := runtime.NumGoroutine()
	srv, err := serve.New(serve.Config{
		Schema: testenv.BlogSchema(t), Store: st, Now: clock.Now,
		// At most this long for the connection left mid-head (Shutdown closes it at once).
		ReadTimeout: time.Second,
		Auth:        auth.Config{APIKeys: []auth.APIKey{{Key: testAPIKey}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, time.Minute) }()
	addr := ln.Addr().String()

	e := &env{ts: &httptest.Server{URL: "http://" + addr}}
	ws := e.dialWS(t, nil)
	ws.init()
	ws.subscribe("s1", "subscription { onCreatePost { id title } }", nil, nil)

	// An idle keep-alive connection and one in the middle of a request.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	_ = idle.SetDeadline(time.Now().Add(frameWait))
	if _, err := io.WriteString(idle, httpReq(gqlHead, "", createBody("s1"))); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("create: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if d := ws.data("s1", "onCreatePost"); d["id"] != "s1" {
		t.Errorf("subscription got %v", d)
	}
	half, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	_ = half.SetDeadline(time.Now().Add(frameWait))
	if _, err := io.WriteString(half, gqlHead); err != nil {
		t.Fatal(err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	for name, c := range map[string]io.Reader{"idle": br, "half": half} {
		if n, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
			t.Errorf("%s connection: read %d bytes, then %v", name, n, err)
		}
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("the listener is still open after Serve returned")
	}
	ws.c.CloseNow()
	poll.Until(t, "the server's goroutines to end", func() bool { return runtime.NumGoroutine() <= before+2 })
}

// FuzzFastPathHead gives the fast path's head parser random bytes: it
// never panics, and whenever it takes a head as one it serves, net/http
// reads the same bytes as the same request (POST /graphql over HTTP/1.1,
// the same Content-Length and credentials, nothing it would act on
// itself), so the fast path never answers what net/http would answer
// differently.
func FuzzFastPathHead(f *testing.F) {
	for _, seed := range []string{
		httpReq(gqlHead, "", "{}"),
		httpReq("POST /graphql HTTP/1.1\r\nhost: h\r\nauthorization: Bearer x.y.z\r\nconnection: keep-alive", "12", ""),
		httpReq("POST /graphql HTTP/1.1\r\nHost: [::1]:80\r\nX-Api-Key: \tk \r\nX-Amz-Date: 20260301T120000Z", "007", ""),
		httpReq(gqlHead+"\r\nTransfer-Encoding: chunked", "none", ""),
		httpReq(gqlHead+"\r\nX-Thing: a\r\n b", "", ""),
		"POST /graphql HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		"POST /graphql HTTP/1.1\nHost: h\nContent-Length: 1\n\n",
		"GET / HTTP/1.1\r\n\r\n",
		"POST /graphql HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"POST /graphql HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n",
		"POST /graphql HTTP/1.1\r\nHost: h\r\nX-Api-Key: a\r\nx-api-key: b\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		done, other, n, cl, authz, key := serve.ParseHeadForTest(b)
		if done == other && done {
			t.Fatal("both done and other")
		}
		if d, o, m := serve.ParseHeadByteByByteForTest(b); d != done || o != other || m != n {
			t.Fatalf("read in pieces: done %v other %v length %d; at once: %v %v %d", d, o, m, done, other, n)
		}
		if !done {
			return
		}
		head := b[:n]
		if !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
			t.Fatalf("a head not ending in a blank line: %q", head)
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			t.Fatalf("net/http refuses a head the fast path serves: %v\n%q", err, head)
		}
		if req.Method != http.MethodPost || req.RequestURI != "/graphql" || req.Proto != "HTTP/1.1" {
			t.Errorf("request line %s %s %s", req.Method, req.RequestURI, req.Proto)
		}
		if req.ContentLength != cl || len(req.TransferEncoding) > 0 || req.Close {
			t.Errorf("length %d (fast path %d), transfer encoding %v, close %v", req.ContentLength, cl, req.TransferEncoding, req.Close)
		}
		// ReadRequest takes Host out of the header (and refuses two).
		if req.Header.Get("Expect") != "" || req.Header.Get("Upgrade") != "" || len(req.Header["Origin"]) > 0 {
			t.Errorf("headers net/http would act on: %v", req.Header)
		}
		for name, got := range map[string][]byte{"Authorization": authz, "X-Api-Key": key} {
			vs := req.Header[name]
			if (got == nil) != (len(vs) == 0) || len(vs) > 1 || (got != nil && vs[0] != string(got)) {
				t.Errorf("%s: fast path %q, net/http %q", name, got, vs)
			}
		}
		for name, vs := range req.Header {
			for _, v := range vs {
				if strings.ContainsAny(v, "\r\n\x00") || strings.ContainsAny(name, " :\r\n") {
					t.Errorf("header %q: %q", name, v)
				}
			}
		}
	})
}

// BenchmarkServeCreatePost measures createPost through Serve on loopback,
// with the fast path and with net/http alone: 8 raw keep-alive clients in
// this process, each sending its next request once the previous is
// answered, over Badger without fsync (so that the HTTP side's share
// shows). cpu-µs/op is the process's CPU time (server and clients) per
// mutation.
func BenchmarkServeCreatePost(b *testing.B) {
	for _, fast := range []bool{true, false} {
		b.Run(map[bool]string{true: "fast", false: "net-http"}[fast], func(b *testing.B) {
			benchmarkServeCreatePost(b, fast)
		})
	}
}

func benchmarkServeCreatePost(b *testing.B, fast bool) {
	const clients = 8
	st := testenv.OpenStore(b, store.Options{UnsafeNoFsync: true})
	srv, err := serve.New(serve.Config{
		Schema: testenv.BlogSchema(b), Store: st,
		Auth: auth.Config{APIKeys: []auth.APIKey{{Key: testAPIKey}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	if !fast {
		serve.DisableFastPath(srv)
	}
	addr := testenv.ServeListener(b, srv)
	var next atomic.Int64
	errs := make([]error, clients)
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	for i := range clients {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			var req []byte
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				body := createBody(fmt.Sprint("bench-", n))
				req = fmt.Appendf(req[:0], "%s\r\nContent-Length: %d\r\n\r\n%s", gqlHead, len(body), body)
				if _, err := c.Write(req); err != nil {
					errs[i] = err
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					errs[i] = err
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					errs[i] = fmt.Errorf("HTTP %d, %v", resp.StatusCode, err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}
