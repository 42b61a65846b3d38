package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dialTimeout bounds the proxy's connect to its target, so a stalled target
// shows up as a failed connection rather than a hung one.
const dialTimeout = 5 * time.Second

// Mode says what the proxy does with connections it accepts from now on.
// Connections already open are not affected: use CutAll or Stall for them.
type Mode int32

const (
	// Pass forwards new connections to the target.
	Pass Mode = iota
	// Refuse resets new connections at once, as a host with nothing
	// listening does.
	Refuse
	// Blackhole accepts new connections and never forwards a byte, as a
	// network that silently drops packets does: clients hang until their
	// own timeouts fire.
	Blackhole
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case Pass:
		return "pass"
	case Refuse:
		return "refuse"
	case Blackhole:
		return "blackhole"
	}
	return fmt.Sprintf("Mode(%d)", int32(m))
}

// ProxyStats counts what a Proxy did.
type ProxyStats struct {
	// Accepted counts connections accepted, in any mode.
	Accepted int64
	// Refused and Blackholed count connections accepted in those modes.
	Refused, Blackholed int64
	// DialFailures counts connections reset because the target could not
	// be reached (a server down or restarting).
	DialFailures int64
	// BytesUp counts bytes forwarded from clients to the target, BytesDown
	// from the target to clients.
	BytesUp, BytesDown int64
	// Cuts counts connections reset by CutAll or Chaos.
	Cuts int64
	// Stalls counts calls of Stall, Chaos's included.
	Stalls int64
}

// Proxy is a TCP proxy on loopback between clients and a target address
// that carries any protocol (HTTP, WebSocket) byte for byte, and refuses,
// blackholes, stalls or cuts connections on command. Create it with
// NewProxy; it closes when the test ends.
type Proxy struct {
	target string
	ln     net.Listener
	ctx    context.Context // done on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine of the proxy
	mode   atomic.Int32

	accepted, refused, blackholed, dialFailures atomic.Int64
	bytesUp, bytesDown, cuts, stalls            atomic.Int64

	mu         sync.Mutex
	closed     bool
	links      map[*link]struct{}
	nextID     uint64
	stallUntil time.Time
	wake       chan struct{} // closed and replaced by Resume
}

// link is one client connection and, unless blackholed, its upstream one.
type link struct {
	id       uint64
	client   net.Conn
	upstream net.Conn // nil when blackholed
	once     sync.Once
	done     chan struct{} // closed by close
	eofs     atomic.Int32  // directions that ended orderly
}

// close closes both connections; with reset, the peers see a TCP RST
// (connection reset) instead of an orderly end of stream.
func (l *link) close(reset bool) {
	l.once.Do(func() {
		for _, c := range []net.Conn{l.client, l.upstream} {
			if c == nil {
				continue
			}
			if tc, ok := c.(*net.TCPConn); ok && reset {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
		}
		close(l.done)
	})
}

// NewProxy starts a proxy on 127.0.0.1 (a free port) to target, a host:port.
// It is closed, every goroutine ended, when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	if _, _, err := net.SplitHostPort(target); err != nil {
		t.Fatalf("testenv: NewProxy: target %q is not host:port: %v", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: NewProxy: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{target: target, ln: ln, ctx: ctx, cancel: cancel, links: make(map[*link]struct{}), wake: make(chan struct{})}
	p.wg.Add(1)
	go p.acceptLoop()
	t.Cleanup(p.Close)
	return p
}

// Addr returns the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL returns http://ADDR followed by path, e.g. URL("/graphql"). WebSocket
// clients accept it too (coder/websocket dials http URLs).
func (p *Proxy) URL(path string) string { return "http://" + p.Addr() + path }

// SetMode sets what happens to connections accepted from now on.
func (p *Proxy) SetMode(m Mode) { p.mode.Store(int32(m)) }

// Mode returns the current mode.
func (p *Proxy) Mode() Mode { return Mode(p.mode.Load()) }

// Stats returns the counters so far.
func (p *Proxy) Stats() ProxyStats {
	return ProxyStats{
		Accepted:     p.accepted.Load(),
		Refused:      p.refused.Load(),
		Blackholed:   p.blackholed.Load(),
		DialFailures: p.dialFailures.Load(),
		BytesUp:      p.bytesUp.Load(),
		BytesDown:    p.bytesDown.Load(),
		Cuts:         p.cuts.Load(),
		Stalls:       p.stalls.Load(),
	}
}

// Open returns the number of connections open through the proxy,
// blackholed ones included.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// CutAll resets every open connection, on both sides, and returns how many
// it cut. New connections are still handled by the current mode.
func (p *Proxy) CutAll() int {
	ls := p.snapshot()
	for _, l := range ls {
		l.close(true)
	}
	p.cuts.Add(int64(len(ls)))
	return len(ls)
}

// Stall holds every byte in flight on every connection, both ways, for d
// (from now, or longer if a stall already runs past that); forwarding then
// resumes with nothing lost. Connections stay open.
func (p *Proxy) Stall(d time.Duration) {
	p.stalls.Add(1)
	until := time.Now().Add(d)
	p.mu.Lock()
	if until.After(p.stallUntil) {
		p.stallUntil = until
	}
	p.mu.Unlock()
}

// Resume ends any stall now.
func (p *Proxy) Resume() {
	p.mu.Lock()
	p.stallUntil = time.Time{}
	close(p.wake) // wakes every pump waiting out the stall
	p.wake = make(chan struct{})
	p.mu.Unlock()
}

// Close stops accepting, resets every connection, stops Chaos and returns
// once every goroutine of the proxy has ended. It is idempotent.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	_ = p.ln.Close()
	for _, l := range p.snapshot() {
		l.close(true)
	}
	p.wg.Wait()
}

// snapshot returns the open links in the order they were accepted.
func (p *Proxy) snapshot() []*link {
	p.mu.Lock()
	ls := make([]*link, 0, len(p.links))
	for l := range p.links {
		ls = append(ls, l)
	}
	p.mu.Unlock()
	slices.SortFunc(ls, func(a, b *link) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	return ls
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			// Accept errors other than Close are transient (EMFILE and the
			// like); back off briefly rather than spin.
			select {
			case <-p.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		p.accepted.Add(1)
		p.wg.Add(1)
		go p.handle(c)
	}
}

// register adds l to the open links; it reports false, having closed l,
// when the proxy is closed.
func (p *Proxy) register(l *link) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		l.close(true)
		return false
	}
	p.nextID++
	l.id = p.nextID
	p.links[l] = struct{}{}
	return true
}

func (p *Proxy) unregister(l *link) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

func (p *Proxy) handle(c net.Conn) {
	defer p.wg.Done()
	switch p.Mode() {
	case Refuse:
		p.refused.Add(1)
		(&link{client: c, done: make(chan struct{})}).close(true)
		return
	case Blackhole:
		p.blackholed.Add(1)
		l := &link{client: c, done: make(chan struct{})}
		if !p.register(l) {
			return
		}
		// Read and drop, only to notice when the client gives up.
		_, _ = io.Copy(io.Discard, c)
		l.close(false)
		p.unregister(l)
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, dialTimeout)
	up, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.target)
	cancel()
	if err != nil {
		p.dialFailures.Add(1)
		(&link{client: c, done: make(chan struct{})}).close(true)
		return
	}
	l := &link{client: c, upstream: up, done: make(chan struct{})}
	if !p.register(l) {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.pump(l, up, c, &p.bytesUp)
	}()
	p.pump(l, c, up, &p.bytesDown)
	<-l.done
	p.unregister(l)
}

// pump copies src to dst until src ends, holding data while the proxy is
// stalled. An orderly end of src is passed on as a half-close of dst; any
// other failure resets the whole link so the other direction ends too. When
// both directions have ended orderly, the link is closed.
func (p *Proxy) pump(l *link, dst, src net.Conn, counter *atomic.Int64) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitStall(l) {
				return
			}
			// Counted before the write: whatever the bytes cause (the
			// peer's answer) then cannot be seen before they are counted.
			counter.Add(int64(n))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				l.close(true)
				return
			}
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, io.EOF) {
			l.close(true)
			return
		}
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		// The half-closed peer may still send: the link ends when the other
		// direction ends too.
		if l.halfClosed() {
			l.close(false)
		}
		return
	}
}

// halfClosed records that one direction ended orderly and reports whether
// it was the second.
func (l *link) halfClosed() bool {
	return l.eofs.Add(1) == 2
}

// waitStall blocks while the proxy is stalled; it reports false if the link
// or the proxy was closed meanwhile.
func (p *Proxy) waitStall(l *link) bool {
	for {
		p.mu.Lock()
		d, wake := time.Until(p.stallUntil), p.wake
		p.mu.Unlock()
		if d <= 0 {
			return true
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-wake:
			t.Stop()
		case <-l.done:
			t.Stop()
			return false
		case <-p.ctx.Done():
			t.Stop()
			return false
		}
	}
}

// Chaos cuts and stalls connections at random moments until the returned
// stop function is called or the proxy closes. Steps come on average every
// `every` (uniformly between every/2 and 3*every/2); each either resets one
// open connection (40%), resets them all (20%) or stalls everything for
// every/4 to every (40%). The sequence of steps, delays and durations is a
// function of seed alone; which connection a step hits depends on what is
// open at that moment. stop waits until the chaos goroutine has ended; it
// may be called more than once.
func (p *Proxy) Chaos(seed int64, every time.Duration) (stop func()) {
	if every <= 0 {
		panic("testenv: Proxy.Chaos: every must be positive")
	}
	ctx, cancel := context.WithCancel(p.ctx)
	done := make(chan struct{})
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		cancel()
		return func() {}
	}
	p.wg.Add(1)
	p.mu.Unlock()
	next := chaosPlan(seed, every)
	go func() {
		defer p.wg.Done()
		defer close(done)
		for {
			st := next()
			t := time.NewTimer(st.after)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			p.apply(st)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func (p *Proxy) apply(st chaosStep) {
	switch st.kind {
	case chaosCutOne:
		ls := p.snapshot()
		if len(ls) == 0 {
			return
		}
		ls[st.pick%len(ls)].close(true)
		p.cuts.Add(1)
	case chaosCutAll:
		p.CutAll()
	case chaosStall:
		p.Stall(st.stall)
	}
}

type chaosKind int

const (
	chaosCutOne chaosKind = iota
	chaosCutAll
	chaosStall
)

// chaosStep is one action of Chaos: wait after, then act.
type chaosStep struct {
	after time.Duration
	kind  chaosKind
	pick  int           // which open connection chaosCutOne resets, modulo their number
	stall time.Duration // how long chaosStall stalls
}

// chaosPlan returns the generator of Chaos's steps for seed.
func chaosPlan(seed int64, every time.Duration) func() chaosStep {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed5eed5eed5eed))
	return func() chaosStep {
		st := chaosStep{after: every/2 + time.Duration(r.Int64N(int64(every)+1))}
		switch x := r.IntN(10); {
		case x < 4:
			st.kind, st.pick = chaosCutOne, r.IntN(1<<20)
		case x < 6:
			st.kind = chaosCutAll
		default:
			st.kind = chaosStall
			st.stall = every/4 + time.Duration(r.Int64N(int64(every-every/4)+1))
		}
		return st
	}
}
