package serve_test

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/internal/testenv/poll"
)

// serveRaw runs srv under Serve on loopback with the given grace and
// returns its address, a stop that cancels Serve, and Serve's result.
func serveRaw(t *testing.T, srv *serve.Server, grace time.Duration) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, grace) }()
	t.Cleanup(cancel)
	return ln.Addr().String(), cancel, done
}

func newFastTestServer(t *testing.T, edit func(*serve.Config)) *serve.Server {
	t.Helper()
	clock := newClock()
	st := testenv.OpenStore(t, store.Options{Now: clock.Now})
	cfg := serve.Config{
		Schema: testenv.BlogSchema(t), Store: st, Now: clock.Now,
		Auth: auth.Config{APIKeys: []auth.APIKey{{Key: testAPIKey}}},
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := serve.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func dialSend(t *testing.T, addr, s string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(frameWait))
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFastPathClientThatNeverReads pipelines big answers' requests on a
// connection it never reads: the server's write blocks once the socket
// buffers fill, and WriteTimeout must end it, the connection closed and its
// goroutine gone, while another client is served all along.
func TestFastPathClientThatNeverReads(t *testing.T) {
	srv := newFastTestServer(t, func(c *serve.Config) { c.WriteTimeout = time.Second })
	addr, _, _ := serveRaw(t, srv, time.Minute)
	title := strings.Repeat("t", 8<<10)
	setup := dialSend(t, addr, "")
	for i := range 6 {
		roundTrip(t, setup, httpReq(gqlHead, "", createBodyTitled("nr"+string(rune('a'+i)), title)))
	}
	list := httpReq(gqlHead, "", `{"query":"{ listPosts { items { id title } } }"}`)
	before := runtime.NumGoroutine()
	// 400 answers of ~50 KiB: far more than loopback's socket buffers.
	hog := dialSend(t, addr, strings.Repeat(list, 400))
	poll.Until(t, "the stuck connection's goroutine to end", func() bool {
		roundTrip(t, setup, list) // others are served meanwhile
		return runtime.NumGoroutine() <= before
	})
	_ = hog.SetReadDeadline(time.Now().Add(frameWait))
	if _, err := io.Copy(io.Discard, hog); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Errorf("the stuck connection was not closed: %v", err)
	}
}

func createBodyTitled(id, title string) string {
	return `{"query":` + quote(wireCreatePost) + `,"variables":{"input":{"id":"` + id + `","title":"` + title + `","rating":4,"status":"DRAFT"}}}`
}

// TestFastPathShutdownMidRequest stops Serve while connections are in
// every state: idle, mid-head, mid-body, handed to net/http mid-head,
// handed over and idle, half-closed after a request, and one whose
// answers nobody reads. Serve returns, every connection ends and every
// goroutine the server started is gone.
func TestFastPathShutdownMidRequest(t *testing.T) {
	var base int
	srv := newFastTestServer(t, func(c *serve.Config) {
		// The store's goroutines run until the test ends: count from here.
		base = runtime.NumGoroutine()
		c.ReadTimeout, c.WriteTimeout = 2*time.Second, 2*time.Second
	})
	addr, stop, done := serveRaw(t, srv, 500*time.Millisecond)
	q := `{"query":"{ listPosts { items { id } } }"}`
	full := httpReq(gqlHead, "", q)
	idle := dialSend(t, addr, "")
	roundTrip(t, idle, full)
	conns := []net.Conn{
		idle,
		dialSend(t, addr, gqlHead[:30]),
		dialSend(t, addr, full[:len(full)-5]),
		dialSend(t, addr, "GET /healthz HTTP/1.1\r\nHo"),
		dialSend(t, addr, full+"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"),
		dialSend(t, addr, strings.Repeat(full, 2000)),
	}
	half := dialSend(t, addr, full)
	_ = half.(*net.TCPConn).CloseWrite()
	conns = append(conns, half)
	// Every connection has reached the server: the handed-over ones are
	// answered, and a fresh request is too.
	roundTrip(t, dialSend(t, addr, ""), full)
	stop()
	if err := <-done; err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Serve: %v", err)
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(frameWait))
		if _, err := io.Copy(io.Discard, c); err != nil && !strings.Contains(err.Error(), "reset") {
			t.Errorf("connection %d still open after Serve returned: %v", i, err)
		}
	}
	poll.Until(t, "the server's goroutines to end", func() bool { return runtime.NumGoroutine() <= base+2 })
}

// TestFastPathHandoffKeepsReadTimeout dribbles a head the fast path reads
// until part of ReadTimeout has passed, then makes it one for net/http
// (Transfer-Encoding) and sends no more: the connection must still end
// within ReadTimeout of its start, not get a second ReadTimeout from
// net/http.
//
// The handoff comes half-way through ReadTimeout, and ReadTimeout is long,
// so that a loaded machine has seconds of slack both ways: to send the
// handoff before the deadline, and to close the connection after it and
// before a second ReadTimeout would have ended it (with 2 s, handed over
// at 1.6 s, the close had to come within 1.6 s of the deadline, and on a
// loaded machine it once did not).
func TestFastPathHandoffKeepsReadTimeout(t *testing.T) {
	const readTimeout = 10 * time.Second
	srv := newFastTestServer(t, func(c *serve.Config) { c.ReadTimeout = readTimeout })
	addr, _, _ := serveRaw(t, srv, time.Minute)
	start := time.Now()
	c := dialSend(t, addr, "POST /graphql HTTP/1.1\r\n")
	// The attack waits out half of the deadline, a line at a time (one
	// every 100 ms, so that the head stays shorter than the fast path's
	// cap, which would hand it over earlier).
	var sent time.Time
	poll.Until(t, "half of ReadTimeout to pass", func() bool {
		if time.Since(sent) >= 100*time.Millisecond {
			_, _ = io.WriteString(c, "X-Slow: 1\r\n")
			sent = time.Now()
		}
		return time.Since(start) > readTimeout/2
	})
	handedOff := time.Now()
	if _, err := io.WriteString(c, "Transfer-Encoding: chunked\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(frameWait))
	_, _ = io.Copy(io.Discard, c)
	// net/http's own deadline, had it started one, would come no earlier
	// than ReadTimeout after the handoff.
	if ended := time.Now(); !ended.Before(handedOff.Add(readTimeout)) {
		t.Errorf("the connection lasted %v after its start (ReadTimeout %v), %v after the handoff", ended.Sub(start), readTimeout, ended.Sub(handedOff))
	}
}

// scriptedListener's Accept fails with a temporary error first, then
// accepts one real connection, then fails for good once release closes.
type scriptedListener struct {
	net.Listener
	calls   int
	release chan struct{}
}

type tempErr struct{}

func (tempErr) Error() string   { return "temporary accept failure" }
func (tempErr) Timeout() bool   { return false }
func (tempErr) Temporary() bool { return true }

var errAcceptBroken = errors.New("accept broken for good")

func (l *scriptedListener) Accept() (net.Conn, error) {
	l.calls++
	switch l.calls {
	case 1:
		return nil, tempErr{}
	case 2:
		return l.Listener.Accept()
	default:
		<-l.release
		return nil, errAcceptBroken
	}
}

// TestFastPathAcceptErrors runs Serve on a listener whose Accept fails:
// a temporary failure is passed over (the next connection is served), a
// lasting one ends Serve with that error, the connection served closed.
func TestFastPathAcceptErrors(t *testing.T) {
	srv := newFastTestServer(t, nil)
	real, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	ln := &scriptedListener{Listener: real, release: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln, time.Minute) }()
	c := dialSend(t, real.Addr().String(), "")
	roundTrip(t, c, httpReq(gqlHead, "", `{"query":"{ listPosts { items { id } } }"}`))
	close(ln.release)
	select {
	case err := <-done:
		if !errors.Is(err, errAcceptBroken) {
			t.Fatalf("Serve returned %v, want %v", err, errAcceptBroken)
		}
	case <-time.After(frameWait):
		t.Fatal("Serve did not return after Accept failed for good")
	}
	if _, err := io.Copy(io.Discard, c); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Errorf("the connection served is still open: %v", err)
	}
}

// TestFastPathShutdownClosesPartialHeads stops Serve while clients hold
// connections with a request head only partly sent, on a fresh connection
// and after a request: like net/http's idle connections they are closed
// at once, not waited for until ReadTimeout or the grace period ends.
func TestFastPathShutdownClosesPartialHeads(t *testing.T) {
	srv := newFastTestServer(t, func(c *serve.Config) { c.ReadTimeout = 10 * time.Minute })
	addr, stop, done := serveRaw(t, srv, 10*time.Minute)
	full := httpReq(gqlHead, "", `{"query":"{ listPosts { items { id } } }"}`)
	fresh := dialSend(t, addr, gqlHead[:40])
	later := dialSend(t, addr, "")
	roundTrip(t, later, full)
	if _, err := io.WriteString(later, gqlHead[:40]); err != nil {
		t.Fatal(err)
	}
	// A request after them is answered: they have reached the server.
	roundTrip(t, dialSend(t, addr, ""), full)
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(frameWait):
		t.Fatal("Serve waits for connections holding a partial head")
	}
	for name, c := range map[string]net.Conn{"fresh": fresh, "later": later} {
		if _, err := io.Copy(io.Discard, c); err != nil && !strings.Contains(err.Error(), "reset") {
			t.Errorf("%s connection: %v", name, err)
		}
	}
}
