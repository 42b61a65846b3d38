package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/runtime/appsync"
)

func TestProxyRefuseAndBlackhole(t *testing.T) {
	s := StartServer(t, ServerOptions{Schema: blogSchema(t)})
	p := NewProxy(t, s.Addr)
	ctx := context.Background()
	vars := map[string]any{"id": "x"}

	p.SetMode(Refuse)
	_, err := PostGraphQL(ctx, freshClient(hangGuard), p.URL("/graphql"), s.APIKey, getBlog, vars)
	if err == nil {
		t.Fatal("a request through a refusing proxy succeeded")
	}
	if isTimeout(err) {
		t.Fatalf("refused connection timed out instead of failing at once: %v", err)
	}
	if st := p.Stats(); st.Refused < 1 {
		t.Fatalf("stats %+v: want a refused connection", st)
	}

	p.SetMode(Blackhole)
	_, err = PostGraphQL(ctx, freshClient(300*time.Millisecond), p.URL("/graphql"), s.APIKey, getBlog, vars)
	if err == nil {
		t.Fatal("a request through a blackholing proxy succeeded")
	}
	if !isTimeout(err) {
		t.Fatalf("blackholed request failed with %v, want a client timeout", err)
	}
	if st := p.Stats(); st.Blackholed < 1 || st.BytesUp != 0 {
		t.Fatalf("stats %+v: want a blackholed connection and nothing forwarded", st)
	}

	p.SetMode(Pass)
	if _, err := PostGraphQL(ctx, freshClient(hangGuard), p.URL("/graphql"), s.APIKey, getBlog, vars); err != nil {
		t.Fatalf("back in Pass mode: %v", err)
	}
}

// dialRealtime opens an AppSync real-time connection through url and waits
// for connection_ack.
func dialRealtime(ctx context.Context, t *testing.T, url, apiKey, host string) *websocket.Conn {
	t.Helper()
	auth, err := appsync.EncodeHeaderProtocol(map[string]string{"host": host, "x-api-key": apiKey})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{appsync.Subprotocol, auth}})
	if err != nil {
		t.Fatalf("websocket dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	init, _ := json.Marshal(appsync.Message{Type: appsync.MsgConnectionInit})
	if err := c.Write(ctx, websocket.MessageText, init); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for connection_ack: %v", err)
		}
		var m appsync.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("frame %q: %v", b, err)
		}
		switch m.Type {
		case appsync.MsgConnectionAck:
			return c
		case appsync.MsgKeepAlive:
		default:
			t.Fatalf("want connection_ack, got %s", b)
		}
	}
}

func TestProxyCutAllBreaksWebSocket(t *testing.T) {
	s := StartServer(t, ServerOptions{Schema: blogSchema(t)})
	p := NewProxy(t, s.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()

	c := dialRealtime(ctx, t, p.URL("/graphql/realtime"), s.APIKey, s.Addr)
	if n := p.CutAll(); n != 1 {
		t.Fatalf("CutAll cut %d connections, want 1", n)
	}
	for {
		// Keep-alives sent before the cut may still be buffered; the read
		// after them must fail, and not by running out of time.
		_, b, err := c.Read(ctx)
		if err == nil {
			var m appsync.Message
			if json.Unmarshal(b, &m) == nil && m.Type == appsync.MsgKeepAlive {
				continue
			}
			t.Fatalf("read %s after CutAll", b)
		}
		if isTimeout(err) {
			t.Fatalf("read after CutAll hung until the deadline: %v", err)
		}
		break
	}
	if st := p.Stats(); st.Cuts != 1 {
		t.Fatalf("stats %+v: want one cut", st)
	}
	// A new connection passes again.
	dialRealtime(ctx, t, p.URL("/graphql/realtime"), s.APIKey, s.Addr)
}

func TestProxyStall(t *testing.T) {
	p := NewProxy(t, startEcho(t))
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(c, "warm", hangGuard); err != nil || got != "warm" {
		t.Fatalf("before the stall: %q, %v", got, err)
	}

	// While stalled, nothing comes back; Resume releases what was held.
	p.Stall(time.Hour)
	if _, err := roundTrip(c, "held", 100*time.Millisecond); !isTimeout(err) {
		t.Fatalf("during a stall: %v, want a read timeout", err)
	}
	p.Resume()
	buf := make([]byte, 4)
	c.SetDeadline(time.Now().Add(hangGuard))
	if _, err := c.Read(buf); err != nil || string(buf) != "held" {
		t.Fatalf("after Resume: %q, %v", buf, err)
	}

	// A short stall delays a round trip by at least its length, then the
	// connection carries on.
	const d = 200 * time.Millisecond
	start := time.Now()
	p.Stall(d)
	if got, err := roundTrip(c, "late", hangGuard); err != nil || got != "late" {
		t.Fatalf("after a %v stall: %q, %v", d, got, err)
	}
	if el := time.Since(start); el < d {
		t.Fatalf("a %v stall delayed the round trip only %v", d, el)
	}
	if st := p.Stats(); st.Stalls != 2 || st.Cuts != 0 || p.Open() != 1 {
		t.Fatalf("stats %+v, open %d: want two stalls, no cut, the connection open", st, p.Open())
	}
}

func TestProxyChaos(t *testing.T) {
	p := NewProxy(t, startEcho(t))
	stop := p.Chaos(42, 10*time.Millisecond)

	// Clients keep echoing through the chaos, redialling when cut, until
	// the chaos has both cut and stalled a few times.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var corrupt []string
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				c, err := net.Dial("tcp", p.Addr())
				if err != nil {
					continue
				}
				for ; ctx.Err() == nil; n++ {
					msg := fmt.Sprintf("client %d message %d;", i, n)
					got, err := roundTrip(c, msg, 5*time.Second)
					if err != nil {
						break
					}
					if got != msg {
						mu.Lock()
						corrupt = append(corrupt, got)
						mu.Unlock()
					}
				}
				c.Close()
			}
		}()
	}
	deadline := time.After(hangGuard)
	for st := p.Stats(); st.Cuts < 3 || st.Stalls < 3; st = p.Stats() {
		select {
		case <-deadline:
			cancel()
			wg.Wait()
			t.Fatalf("chaos did not cut and stall 3 times each: %+v", st)
		case <-time.After(10 * time.Millisecond):
		}
	}
	stop()
	stop() // idempotent
	cancel()
	wg.Wait()
	if len(corrupt) > 0 {
		t.Fatalf("echoes came back altered through the proxy: %q", corrupt)
	}

	// Once stopped, nothing is cut any more.
	before := p.Stats().Cuts
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 20 {
		msg := fmt.Sprintf("after chaos %d", i)
		if got, err := roundTrip(c, msg, hangGuard); err != nil || got != msg {
			t.Fatalf("after stop: %q, %v", got, err)
		}
	}
	if after := p.Stats().Cuts; after != before {
		t.Fatalf("cuts went from %d to %d after stop", before, after)
	}
}

func TestChaosPlanIsDeterministic(t *testing.T) {
	const every = 100 * time.Millisecond
	a, b, c := chaosPlan(7, every), chaosPlan(7, every), chaosPlan(8, every)
	same, kinds := true, map[chaosKind]int{}
	for range 200 {
		x, y, z := a(), b(), c()
		if x != y {
			t.Fatalf("same seed, different steps: %+v and %+v", x, y)
		}
		if x != z {
			same = false
		}
		if x.after < every/2 || x.after > 3*every/2 {
			t.Fatalf("step delay %v outside [%v, %v]", x.after, every/2, 3*every/2)
		}
		if x.kind == chaosStall && (x.stall < every/4 || x.stall > every) {
			t.Fatalf("stall %v outside [%v, %v]", x.stall, every/4, every)
		}
		kinds[x.kind]++
	}
	if same {
		t.Fatal("seeds 7 and 8 gave the same 200 steps")
	}
	if len(kinds) != 3 {
		t.Fatalf("200 steps used kinds %v, want all three", kinds)
	}
}

func TestProxyCloseEndsGoroutines(t *testing.T) {
	echo := startEcho(t)
	base := runtime.NumGoroutine()

	p := NewProxy(t, echo)
	var conns []net.Conn
	dial := func() net.Conn {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		return c
	}
	// A passing connection with data held by a stall, a blackholed one, a
	// refused one, and chaos running.
	c := dial()
	if _, err := roundTrip(c, "x", hangGuard); err != nil {
		t.Fatal(err)
	}
	p.Stall(time.Hour)
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	p.SetMode(Blackhole)
	dial()
	p.SetMode(Refuse)
	// The reset may reach the client while it is still connecting.
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		conns = append(conns, c)
	}
	stop := p.Chaos(1, time.Hour)

	p.Close()
	p.Close() // idempotent
	stop()    // harmless after Close
	for _, c := range conns {
		c.Close()
	}
	if p.Open() != 0 {
		t.Fatalf("%d connections open after Close", p.Open())
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Fatal("a closed proxy accepted a connection")
	}

	// Goroutines wind down asynchronously after Close returns (the echo
	// server's, the runtime's); wait for the count to come back.
	deadline := time.Now().Add(hangGuard)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewProxyBadTarget(t *testing.T) {
	msg := expectFatal(t, func(tb testing.TB) { NewProxy(tb, "no-port") })
	contains(t, msg, `"no-port" is not host:port`)
}

// BenchmarkProxyThroughput measures bytes forwarded through the proxy and
// back by an echo server, against which a sync benchmark run through the
// proxy can be judged.
func BenchmarkProxyThroughput(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	p := NewProxy(b, ln.Addr().String())
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 64<<10)
	buf := make([]byte, len(msg))
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
}
