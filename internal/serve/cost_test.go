package serve_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// typenames is the document: one field repeated n times.
func typenames(n int) string { return "{" + strings.Repeat("__typename ", n) + "}" }

// fragmentBomb spreads each fragment twice in the next: the operation
// expands to 2^levels fields from a document of a few hundred bytes.
func fragmentBomb(levels int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { getPost(id: \"p\") { ...F%d } }\n", levels)
	b.WriteString("fragment F0 on Post { id title }\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "fragment F%d on Post { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

// rootAliases asks for listPosts n times under different aliases.
func rootAliases(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " a%d: listPosts(limit: 1000) { nextToken }", i)
	}
	b.WriteString(" }")
	return b.String()
}

// TestPathologicalDocumentsAreRefused sends documents whose validation or
// execution cost grows faster than their size, each under the body limit,
// and wants each refused with an error that names the limit. Before the
// limits, the 50,000-field document kept the server busy for minutes.
func TestPathologicalDocumentsAreRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	manyFragments := func(n int) string {
		var b strings.Builder
		b.WriteString(`{ getPost(id: "p") { id } }`)
		for i := range n {
			fmt.Fprintf(&b, "\nfragment F%d on Post { id }", i)
		}
		return b.String()
	}
	nestedAliases := func(n int) string {
		var b strings.Builder
		b.WriteString(`{ getPost(id: "p") {`)
		for i := range n {
			fmt.Fprintf(&b, " t%d: title", i)
		}
		b.WriteString(" } }")
		return b.String()
	}
	cases := []struct {
		name, query, mentions string
	}{
		{"50,000 repeated fields", typenames(50_000), "more than 15000 tokens"},
		{"1,000 repeated root fields", typenames(1_000), "has 1000 root fields"},
		{"1,000 repeated fields", `{ getPost(id: "p") {` + strings.Repeat(" id", 1_000) + " } }", "selects 1001 fields"},
		{"fragment bomb", fragmentBomb(40), "fields with its fragments expanded"},
		{"200 fragments", manyFragments(200), "defines 200 fragments"},
		{"1,000 root aliases", rootAliases(1_000), "has 1000 root fields"},
		{"2,000 root aliases", rootAliases(2_000), "more than 15000 tokens"},
		{"21 root fields", rootAliases(21), "has 21 root fields; the maximum is 20"},
		{"150 aliases", nestedAliases(150), "150 aliased fields"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, err := json.Marshal(appsync.Request{Query: tc.query})
			if err != nil {
				t.Fatal(err)
			}
			if len(body) >= 1<<20 {
				t.Fatalf("the document is %d bytes, over the body limit", len(body))
			}
			checkRefused(t, e.post(t, body, nil), http.StatusBadRequest, appsync.ValidationError, tc.mentions)
		})
	}
	// A fragment cycle, found by the same pass, is refused as the
	// validation error it is: HTTP 200 with data null, as AppSync answers
	// validation errors.
	cycle, err := json.Marshal(appsync.Request{Query: `{ getPost(id: "p") { ...A } } fragment A on Post { ...B } fragment B on Post { id ...A }`})
	if err != nil {
		t.Fatal(err)
	}
	checkRefused(t, e.post(t, cycle, nil), http.StatusOK, appsync.ValidationError, "within itself")
	// At the limits, documents pass.
	mustOK(t, e.do(t, rootAliases(20), nil))
	mustOK(t, e.do(t, fragmentBomb(5), nil))
	mustOK(t, e.do(t, nestedAliases(100), nil))
}

// TestPathologicalSubscriptionIsRefused sends a fragment bomb and a long
// document as WebSocket start messages: they go through the same limits.
func TestPathologicalSubscriptionIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws := e.dialWS(t, nil)
	ws.init()
	bomb := strings.Replace(fragmentBomb(40), `query { getPost(id: "p")`, "subscription { onCreatePost", 1)
	for id, tc := range map[string]struct{ query, mentions string }{
		"bomb": {bomb, "fields with its fragments expanded"},
		"long": {"subscription { onCreatePost { " + strings.Repeat("id ", 16_000) + "} }", "more than 15000 tokens"},
	} {
		ws.send(startMsg(t, id, tc.query, nil, e.authHeaders()))
		errs := errorsOf(t, ws.expect(appsync.MsgError, id))
		if errs[0].ErrorType != appsync.ValidationError || !strings.Contains(errs[0].Message, tc.mentions) {
			t.Errorf("%s: got %s %q, want a ValidationError mentioning %q", id, errs[0].ErrorType, errs[0].Message, tc.mentions)
		}
	}
	// The connection still serves a normal subscription.
	ws.subscribe("ok", wireOnCreatePost, nil, e.authHeaders())
	e.createPost(t, map[string]any{"id": "p1", "title": "t"})
	if got := ws.data("ok", "onCreatePost"); got["id"] != "p1" {
		t.Errorf("event for %v, want p1", got["id"])
	}
}

// TestResponseSizeLimit wants a response over the limit refused with a
// clear error, and one under it answered.
func TestResponseSizeLimit(t *testing.T) {
	const limit = 64 << 10
	e := newEnv(t, envOptions{config: func(c *serve.Config) { c.Exec.MaxResponseBytes = limit }})
	title := strings.Repeat("x", 1000)
	for i := range 100 {
		e.createPost(t, map[string]any{"id": fmt.Sprintf("p%03d", i), "title": title})
	}
	const list = `query($limit: Int) { listPosts(limit: $limit) { items { id title } nextToken } }`
	r := e.do(t, list, map[string]any{"limit": 1000})
	checkRefused(t, r, http.StatusOK, appsync.LimitExceeded, fmt.Sprintf("larger than %d bytes", limit))
	if r.Data["listPosts"] != nil || len(r.Raw) > 4<<10 {
		t.Errorf("a refused response carries data: %d bytes", len(r.Raw))
	}
	items := mustOK(t, e.do(t, list, map[string]any{"limit": 20})).field("listPosts")["items"].([]any)
	if len(items) != 20 {
		t.Errorf("%d items, want 20", len(items))
	}
}

// TestResolverCallLimit wants a request needing more resolver calls than
// allowed (a relation per list item) refused with a clear error.
func TestResolverCallLimit(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *serve.Config) { c.Exec.MaxResolverCalls = 10 }})
	for i := range 20 {
		e.createPost(t, map[string]any{"id": fmt.Sprintf("p%02d", i), "title": "t"})
	}
	r := e.do(t, `{ listPosts(limit: 100) { items { id comments { items { id } } } } }`, nil)
	checkRefused(t, r, http.StatusOK, appsync.LimitExceeded, "more than 10 resolver calls")
	mustOK(t, e.do(t, `{ listPosts(limit: 5) { items { id comments { items { id } } } } }`, nil))
}

// served is a dsgen serve behind Serve, with http.Server's own timeouts,
// on a loopback port.
type served struct {
	*env
	addr string
	stop func() error // ends Serve and returns its error
}

// newServed runs Serve over a new store with cfg edited by edit.
func newServed(t *testing.T, edit func(*serve.Config)) *served {
	t.Helper()
	e := newEnv(t, envOptions{})
	cfg := serve.Config{
		Schema:      e.schema,
		Store:       e.store,
		Auth:        auth.Config{APIKeys: []auth.APIKey{{Key: testAPIKey}}},
		TokenSecret: []byte("conformance-suite-token-secret!!"),
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := serve.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln, frameWait) }()
	s := &served{env: e, addr: ln.Addr().String()}
	var stopped bool
	var serr error
	s.stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			serr = <-errc
		}
		return serr
	}
	t.Cleanup(func() { _ = s.stop() })
	// e's helpers (post, dialWS) now reach the Serve instance.
	e.ts.URL = "http://" + s.addr
	return s
}

// dial opens a raw TCP connection to s, with a hang guard.
func (s *served) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitClosed reads c until the server closes it and returns what it read.
// It fails when the hang guard ends the read instead.
func waitClosed(t *testing.T, c net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server did not close the connection; read %q", b)
	}
	return string(b)
}

const slowPost = "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Api-Key: " + testAPIKey + "\r\nContent-Length: 1000\r\n\r\n"

// TestSlowBodyIsCutOff sends headers promising a body and then nothing, or
// a byte at a time: the server answers 408 and closes the connection.
func TestSlowBodyIsCutOff(t *testing.T) {
	s := newServed(t, func(c *serve.Config) { c.ReadTimeout = 200 * time.Millisecond })
	t.Run("no body", func(t *testing.T) {
		c := s.dial(t)
		if _, err := io.WriteString(c, slowPost+`{"query":`); err != nil {
			t.Fatal(err)
		}
		if got := waitClosed(t, c); !strings.HasPrefix(got, "HTTP/1.1 408") || !strings.Contains(got, "did not arrive within 200ms") {
			t.Errorf("got %q, want a 408 naming the timeout", got)
		}
	})
	t.Run("trickle", func(t *testing.T) {
		c := s.dial(t)
		if _, err := io.WriteString(c, slowPost); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					if _, err := c.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
		got := waitClosed(t, c)
		close(done)
		if !strings.HasPrefix(got, "HTTP/1.1 408") {
			t.Errorf("got %q, want a 408", got)
		}
	})
}

// TestIdleConnectionsAreClosed wants a keep-alive connection closed once
// it has been idle for IdleTimeout, and a connection that never sends a
// request closed after ReadTimeout.
func TestIdleConnectionsAreClosed(t *testing.T) {
	s := newServed(t, func(c *serve.Config) {
		c.ReadTimeout = 200 * time.Millisecond
		c.IdleTimeout = 200 * time.Millisecond
	})
	t.Run("after a request", func(t *testing.T) {
		c := s.dial(t)
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("healthz: HTTP %d, close %v", resp.StatusCode, resp.Close)
		}
		waitClosed(t, c)
	})
	t.Run("silent", func(t *testing.T) {
		waitClosed(t, s.dial(t))
	})
}

// TestWebSocketOutlivesHTTPTimeouts wants a WebSocket to keep working after
// every HTTP timeout has passed several times over: the deadlines of the
// upgrade request must not stay on the hijacked connection.
func TestWebSocketOutlivesHTTPTimeouts(t *testing.T) {
	const d = 100 * time.Millisecond
	s := newServed(t, func(c *serve.Config) { c.ReadTimeout, c.WriteTimeout, c.IdleTimeout = d, d, d })
	ws := s.dialWS(t, nil)
	ws.init()
	ws.subscribe("1", wireOnCreatePost, nil, s.authHeaders())
	// Let the timeouts pass, proven by connections opened after the
	// WebSocket that the server closed for them, several times in a row.
	for range 5 {
		c := s.dial(t)
		if _, err := io.WriteString(c, slowPost); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, c)
		waitClosed(t, s.dial(t))
	}
	// The write goes to the store, not through POST /graphql, whose own
	// 100 ms deadlines a loaded machine can miss: only the WebSocket is
	// under test here.
	s.env.seedPosts(t, "p", 1)
	if got := ws.data("1", "onCreatePost"); got["id"] != "p00000" {
		t.Errorf("event for %v, want p00000", got["id"])
	}
	// And the connection still takes messages.
	ws.subscribe("2", wireOnDeletePost, nil, s.authHeaders())
}

// blockingWebhook is a conflict webhook that holds each call until the
// caller gives up, and reports both moments; or, once release is closed,
// answers REJECT.
type blockingWebhook struct {
	reached   chan struct{}
	cancelled chan struct{}
	release   chan struct{}
}

func (h *blockingWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// net/http notices the caller leaving only once the body is read.
	_, _ = io.Copy(io.Discard, r.Body)
	h.reached <- struct{}{}
	select {
	case <-r.Context().Done():
		h.cancelled <- struct{}{}
	case <-h.release:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"action":"REJECT"}`)
	}
}

// startBlockingWebhook serves a blockingWebhook on loopback.
func startBlockingWebhook(t *testing.T) (*blockingWebhook, string) {
	t.Helper()
	h := &blockingWebhook{reached: make(chan struct{}, 1), cancelled: make(chan struct{}, 1), release: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return h, "http://" + ln.Addr().String()
}

// wait waits for a signal, failing after the hang guard.
func wait(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(frameWait):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// staleUpdate is an update whose _version conflicts, so the custom strategy
// calls the webhook.
func staleUpdate(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(appsync.Request{Query: wireUpdatePost, Variables: map[string]any{
		"input": map[string]any{"id": "p1", "title": "mine", "_version": 1}, "condition": nil}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAbandonedRequestStopsItsWork has a request wait on a slow webhook and
// its client leave: the webhook call is cancelled, and a graceful stop
// right after has nothing left to wait for.
func TestAbandonedRequestStopsItsWork(t *testing.T) {
	hook, url := startBlockingWebhook(t)
	s := newServed(t, func(c *serve.Config) {
		c.DefaultConflict, c.ConflictWebhook = serve.Custom, url
	})
	s.createPost(t, map[string]any{"id": "p1", "title": "t"})
	mustOK(t, s.updatePost(t, map[string]any{"id": "p1", "title": "t2", "_version": 1}))

	c := s.dial(t)
	body := staleUpdate(t)
	fmt.Fprintf(c, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Api-Key: %s\r\nContent-Length: %d\r\n\r\n%s", testAPIKey, len(body), body)
	wait(t, hook.reached, "the webhook call")
	c.Close()
	wait(t, hook.cancelled, "the webhook call to be cancelled after the client left")
	if err := s.stop(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
}

// TestLongRequestOutlivesReadTimeout has a request whose body came in time
// run past ReadTimeout: it is answered, the read deadline was for the body.
func TestLongRequestOutlivesReadTimeout(t *testing.T) {
	hook, url := startBlockingWebhook(t)
	s := newServed(t, func(c *serve.Config) {
		c.DefaultConflict, c.ConflictWebhook = serve.Custom, url
		c.ReadTimeout = 100 * time.Millisecond
	})
	s.createPost(t, map[string]any{"id": "p1", "title": "t"})
	mustOK(t, s.updatePost(t, map[string]any{"id": "p1", "title": "t2", "_version": 1}))

	type result struct {
		status int
		raw    []byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		status, raw, err := s.postRaw(staleUpdate(t), nil)
		done <- result{status, raw, err}
	}()
	wait(t, hook.reached, "the webhook call")
	// ReadTimeout has passed once a connection opened now is closed for it.
	waitClosed(t, s.dial(t))
	select {
	case <-hook.cancelled:
		t.Fatal("the request was cancelled when ReadTimeout passed")
	default:
	}
	close(hook.release)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	res := decodeResult(t, r.status, r.raw)
	if res.errType(t) != appsync.ConflictUnhandled {
		t.Errorf("got %s, want the webhook's REJECT as ConflictUnhandled", r.raw)
	}
}

// TestWriteTimeoutStopsWork has a request outlast WriteTimeout while its
// client waits on a webhook that answers only when cancelled: the webhook
// call is cancelled at the write deadline and the client gets no response.
// The test assumes no speed: when the deadline passes before the request
// even reaches the webhook (a loaded machine), the client must still get
// no response, and the test tries again with twice the deadline until the
// webhook is reached before it.
func TestWriteTimeoutStopsWork(t *testing.T) {
	for d := 300 * time.Millisecond; !writeTimeoutCancelsWebhook(t, d); d *= 2 {
		if d > frameWait {
			t.Fatalf("the request never reached the webhook within its write deadline (last %v)", d)
		}
		t.Logf("the write deadline (%v) passed before the request reached the webhook; again with %v", d, 2*d)
	}
}

// writeTimeoutCancelsWebhook sends a request that waits on a blocking
// webhook to a server whose WriteTimeout is d. It reports whether the
// request reached the webhook before its deadline; either way the request
// must end without a response.
func writeTimeoutCancelsWebhook(t *testing.T, d time.Duration) bool {
	t.Helper()
	hook, url := startBlockingWebhook(t)
	s := newServed(t, func(c *serve.Config) {
		c.DefaultConflict, c.ConflictWebhook = serve.Custom, url
		c.WriteTimeout = d
	})
	// The set-up goes through newEnv's own server, whose WriteTimeout is
	// the default, so no deadline can fail it.
	served := s.ts.URL
	s.ts.URL = "http://" + s.ts.Listener.Addr().String()
	s.createPost(t, map[string]any{"id": "p1", "title": "t"})
	mustOK(t, s.updatePost(t, map[string]any{"id": "p1", "title": "t2", "_version": 1}))
	s.ts.URL = served

	errc := make(chan error, 1)
	go func() { _, _, err := s.postRaw(staleUpdate(t), nil); errc <- err }()
	noResponse := func(err error) {
		t.Helper()
		if err == nil {
			t.Error("the request got a response after its write deadline")
		}
	}
	select {
	case <-hook.reached:
	case err := <-errc:
		noResponse(err)
		return false
	case <-time.After(frameWait):
		t.Fatal("neither the webhook call nor the end of the request came")
	}
	wait(t, hook.cancelled, "the webhook call to be cancelled at the write deadline")
	select {
	case err := <-errc:
		noResponse(err)
	case <-time.After(frameWait):
		t.Fatal("the client is still waiting")
	}
	return true
}

// processCPU is the CPU time the test process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPathologicalDocuments reports the CPU one request costs (server
// and client, both in this process: cpu-ms/op) for documents built to be
// expensive: those over the limits, refused, and the worst shapes just
// under them, which are validated and executed. Each accepted document is
// made unique per request (a trailing comment) so the document cache does
// not answer it.
func BenchmarkPathologicalDocuments(b *testing.B) {
	e := newEnv(b, envOptions{})
	chain := func(n int) string {
		var q strings.Builder
		q.WriteString(`{ getPost(id: "p") { ...F0 } }`)
		for i := range n {
			fmt.Fprintf(&q, "\nfragment F%d on Post { id ...F%d }", i, i+1)
		}
		fmt.Fprintf(&q, "\nfragment F%d on Post { id }", n)
		return q.String()
	}
	manyFragments := func(n int) string {
		var q strings.Builder
		q.WriteString(`{ getPost(id: "p") {`)
		for i := range n {
			fmt.Fprintf(&q, " ...F%d", i)
		}
		q.WriteString(" } }")
		for i := range n {
			fmt.Fprintf(&q, "\nfragment F%d on Post { id title }", i)
		}
		return q.String()
	}
	objectFragments := func(objects, fragments int) string {
		var q strings.Builder
		q.WriteString(`{ getPost(id: "p") {`)
		for i := range objects {
			fmt.Fprintf(&q, " blog { ...F%d }", i%fragments)
		}
		q.WriteString(" } }")
		for i := range fragments {
			fmt.Fprintf(&q, "\nfragment F%d on Blog { id name }", i)
		}
		return q.String()
	}
	inline := func(n int) string {
		return `{ getPost(id: "p") {` + strings.Repeat(" ... on Post { id }", n) + " } }"
	}
	cases := []struct {
		name, query string
		refused     bool
	}{
		{"typename-50000-refused", typenames(50_000), true},
		{"typename-1000-refused", typenames(1_000), true},
		{"fragment-bomb-refused", fragmentBomb(40), true},
		{"root-aliases-2000-refused", rootAliases(2_000), true},
		{"repeated-field-599", `{ getPost(id: "p") {` + strings.Repeat(" __typename", 598) + " } }", false},
		{"repeated-object-599", `{ getPost(id: "p") {` + strings.Repeat(" blog { id }", 299) + " } }", false},
		{"inline-fragments-598", inline(598), false},
		{"fragment-chain-32", chain(32), false},
		{"fragments-100", manyFragments(100), false},
		{"objects-120-fragments-100", objectFragments(120, 100), false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var cpu time.Duration
			i := 0
			for b.Loop() {
				q := tc.query
				if !tc.refused {
					q += fmt.Sprintf("\n# %d", i)
				}
				i++
				body, err := json.Marshal(appsync.Request{Query: q})
				if err != nil {
					b.Fatal(err)
				}
				before := processCPU(b)
				status, raw, err := e.postRaw(body, nil)
				cpu += processCPU(b) - before
				if err != nil {
					b.Fatal(err)
				}
				if refused := status == http.StatusBadRequest; refused != tc.refused {
					b.Fatalf("HTTP %d: %.300s", status, raw)
				}
			}
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// TestFilterExpressionSizeLimit: a query filter longer, as the DynamoDB
// expression AppSync writes for it, than DynamoDB's 4 KB is refused as
// AppSync refuses it, on a list and a sync query: each page would
// otherwise test every one of its conditions against every record read.
// A filter of a few dozen conditions is served.
func TestFilterExpressionSizeLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createPost(t, map[string]any{"id": "p1", "title": "t5", "rating": 5})
	ors := func(n int) map[string]any {
		var l []any
		for i := range n {
			l = append(l, map[string]any{"title": map[string]any{"eq": fmt.Sprint("t", i)}})
		}
		return map[string]any{"or": l}
	}
	for _, q := range []struct{ name, doc string }{
		{"listPosts", `query($f: ModelPostFilterInput) { listPosts(filter: $f) { items { id } } }`},
		{"syncPosts", `query($f: ModelPostFilterInput) { syncPosts(filter: $f) { items { id } } }`},
	} {
		r := e.do(t, q.doc, map[string]any{"f": ors(400)})
		checkRefused(t, r, http.StatusOK, appsync.DynamoDBException, "Expression size has exceeded the maximum allowed size")
		items := mustOK(t, e.do(t, q.doc, map[string]any{"f": ors(40)})).field(q.name)["items"].([]any)
		if len(items) != 1 {
			t.Errorf("%s with 40 conditions: %d items, want p1", q.name, len(items))
		}
	}
}
