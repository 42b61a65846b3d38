package serve

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// The fast path serves the one request shape a DataStore client sends over
// and over, an HTTP/1.1 keep-alive POST /graphql with a Content-Length, on
// plain TCP connections without net/http: net/http's per-request work (a
// background read goroutine per request, four deadline changes, the header
// map, the response's header map and writer) was about a quarter of the
// server's CPU time per mutation.
//
// Every connection starts on the fast path. The first request it does not
// fully understand (another method, path or protocol version, an Expect,
// Upgrade, Transfer-Encoding or Connection header other than keep-alive,
// a header it would have to judge the way net/http does, a head over
// fastMaxHead or a body over fastMaxBody, a read error before the request
// is complete) hands the connection, with the bytes read so far replayed,
// to the net/http server for the rest of its life. So WebSockets, TLS (a
// sniffed TLS listener's connections are not *net.TCPConn and go to net/http
// at once), health, metrics, the console and every error net/http answers
// stay as they were. The fast path keeps net/http's bounds: IdleTimeout
// between requests, ReadTimeout to a request's last byte and WriteTimeout
// to the end of its response, both from the connection's start for the
// first request and from its first byte for later ones, answering a late
// head or body as net/http does, a head cap (below net/http's) and the
// body cap. As
// net/http does, it cancels a request's context when its client leaves,
// but it watches the connection (net/http's background read) only once
// something waits on the context's Done (a webhook call, a wait for data):
// the usual mutation only polls Err, and the watch per request was a good
// part of net/http's cost.

const (
	// fastMaxHead is the longest request head the fast path reads; a
	// longer one goes to net/http (whose cap is 1 MiB).
	fastMaxHead = 8 << 10
	// fastMaxBody is the largest body the fast path buffers; a larger one
	// (a big sync page upload, or one over Config.MaxBodyBytes, which
	// net/http answers 413) goes to net/http.
	fastMaxBody = 64 << 10
	// fastReadSize is a connection's first read buffer.
	fastReadSize = 4 << 10
	// fastCopyBody is the largest answer body copied after its head into
	// the connection's write buffer (one write); a larger one is written
	// in place, so that the buffer a connection keeps stays small.
	fastCopyBody = 4 << 10
)

// fastServer accepts the connections of Serve's listener, serves them on
// the fast path and hands the others to net/http through handoff.
type fastServer struct {
	s       *Server
	ln      net.Listener
	handoff *handoffListener
	// ctx is the requests' parent context; stop cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts the accept loop and the connections' goroutines.
	wg sync.WaitGroup

	mu sync.Mutex
	// conns maps each connection served to whether it is idle (waiting
	// for a request).
	conns   map[*fastConn]bool
	closing bool
}

// newFastServer serves ln for s; parent is the requests' context.
func newFastServer(parent context.Context, s *Server, ln net.Listener) *fastServer {
	ctx, cancel := context.WithCancel(parent)
	f := &fastServer{
		s: s, ln: ln, ctx: ctx, cancel: cancel,
		handoff: &handoffListener{ln: ln, conns: make(chan accepted), done: make(chan struct{})},
		conns:   map[*fastConn]bool{},
	}
	f.wg.Add(1)
	go f.accept()
	return f
}

// accept runs until ln fails for good (closed, mostly). Accept errors go
// to net/http's Serve, which backs off from temporary ones and returns on
// the others.
func (f *fastServer) accept() {
	defer f.wg.Done()
	for {
		nc, err := f.ln.Accept()
		if err != nil {
			f.handoff.give(nil, err)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				continue
			}
			return
		}
		if !f.s.conns.admit(nc) {
			continue // over MaxConnections: answered and closed (connlimit.go)
		}
		tc, ok := nc.(*net.TCPConn)
		if !ok {
			f.handoff.give(f.s.conns.track(nc), nil)
			continue
		}
		c := &fastConn{f: f, nc: tc, creds: make(map[string]string, 2)}
		f.mu.Lock()
		if f.closing {
			f.mu.Unlock()
			_ = nc.Close()
			f.s.conns.release()
			continue
		}
		f.conns[c] = false
		f.wg.Add(1)
		f.mu.Unlock()
		go c.serve()
	}
}

// shutdown stops accepting, closes idle connections and waits for the
// others to finish their request; when ctx ends first, it closes them all
// and cancels their requests. It returns once every goroutine the fast
// path started has ended.
func (f *fastServer) shutdown(ctx context.Context) error {
	f.mu.Lock()
	f.closing = true
	for c, idle := range f.conns {
		if idle {
			_ = c.nc.Close()
		}
	}
	f.mu.Unlock()
	_ = f.handoff.Close()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		f.cancel()
		return nil
	case <-ctx.Done():
	}
	f.stop()
	<-done
	return ctx.Err()
}

// stop closes every connection at once and cancels their requests.
func (f *fastServer) stop() {
	f.mu.Lock()
	f.closing = true
	for c := range f.conns {
		_ = c.nc.Close()
	}
	f.mu.Unlock()
	f.cancel()
	_ = f.handoff.Close()
}

// setIdle marks c idle or not; false means the server is closing and c
// must end.
func (f *fastServer) setIdle(c *fastConn, idle bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conns[c] = idle
	return !f.closing
}

func (f *fastServer) isClosing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closing
}

func (f *fastServer) forget(c *fastConn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

// handoffListener is the listener net/http serves: it yields the
// connections the fast path hands over and the real listener's errors.
type handoffListener struct {
	ln    net.Listener
	conns chan accepted
	done  chan struct{}
	once  sync.Once
	err   error
}

type accepted struct {
	c   net.Conn
	err error
}

// Accept returns the next connection handed over.
func (h *handoffListener) Accept() (net.Conn, error) {
	select {
	case a := <-h.conns:
		return a.c, a.err
	case <-h.done:
		return nil, net.ErrClosed
	}
}

// Close closes the real listener too.
func (h *handoffListener) Close() error {
	h.once.Do(func() {
		close(h.done)
		h.err = h.ln.Close()
	})
	return h.err
}

// Addr is the real listener's.
func (h *handoffListener) Addr() net.Addr { return h.ln.Addr() }

// give hands c (or an Accept error) to net/http; once the listener is
// closed it closes c instead.
func (h *handoffListener) give(c net.Conn, err error) {
	select {
	case h.conns <- accepted{c, err}:
	case <-h.done:
		if c != nil {
			_ = c.Close()
		}
	}
}

// replayConn is a connection whose first bytes were read already: Read
// returns them first.
type replayConn struct {
	*net.TCPConn
	buf []byte
	// limit (Unix nanoseconds, 0 for none) is the handed-over request's
	// read deadline, which net/http's may not pass (SetReadDeadline).
	limit atomic.Int64
}

// SetReadDeadline keeps net/http within the deadline of the request handed
// over mid-way: net/http starts a ReadTimeout of its own when it takes the
// connection, which would let a client double it (dribble a head the fast
// path reads until just before its deadline, then make it one for
// net/http). The limit holds until net/http lifts the read deadline (the
// request's body is read); net/http calls this from two goroutines.
func (r *replayConn) SetReadDeadline(t time.Time) error {
	if l := r.limit.Load(); l != 0 {
		if t.IsZero() {
			r.limit.Store(0)
		} else if lt := time.Unix(0, l); t.After(lt) {
			t = lt
		}
	}
	return r.TCPConn.SetReadDeadline(t)
}

func (r *replayConn) Read(b []byte) (int, error) {
	if len(r.buf) > 0 {
		n := copy(b, r.buf)
		r.buf = r.buf[n:]
		return n, nil
	}
	return r.TCPConn.Read(b)
}

// fastConn is one connection on the fast path.
type fastConn struct {
	f      *fastServer
	nc     *net.TCPConn
	remote string
	// rbuf holds the bytes read and not yet consumed.
	rbuf []byte
	// wbuf holds a response's head, and its body when that is small.
	wbuf []byte
	// iov is a big response's head and body for one writev.
	iov [2][]byte
	// creds is the credential headers of the request (reused).
	creds map[string]string
	// date is the Date header's value for the second dateSec.
	date    []byte
	dateSec int64
	// handedOff is set once net/http has the connection.
	handedOff bool
}

// serve serves requests until the connection ends or is handed off.
func (c *fastConn) serve() {
	f := c.f
	defer func() {
		f.forget(c)
		if !c.handedOff {
			_ = c.nc.Close()
			f.s.conns.release()
		}
		f.wg.Done()
	}()
	cfg := &f.s.cfg
	c.remote = c.nc.RemoteAddr().String()
	c.rbuf = make([]byte, 0, fastReadSize)
	// The first request's ReadTimeout and WriteTimeout run from the
	// connection's start, as net/http's do; a later one's from its first
	// byte (the connection waits for it as long as IdleTimeout).
	start := time.Now()
	readDeadline := false // set to start+ReadTimeout
	for first := true; ; first = false {
		if len(c.rbuf) == 0 {
			if !f.setIdle(c, true) {
				return
			}
			if first {
				_ = c.nc.SetReadDeadline(start.Add(cfg.ReadTimeout))
				readDeadline = true
			} else {
				_ = c.nc.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
			}
			err := c.fill(fastReadSize)
			if !f.setIdle(c, false) || err != nil {
				// net/http too closes a connection whose request
				// comes once Shutdown has begun.
				return
			}
		} else if f.isClosing() {
			return
		}
		if !first {
			start, readDeadline = time.Now(), false
		}
		var h fastHead
		end, ok := c.readRequest(start, readDeadline, &h)
		if !ok {
			return
		}
		if !c.answer(start, &h, end) {
			return
		}
	}
}

// readRequest reads the rest of a request whose first bytes are in rbuf:
// its head into h and its body, which ends at end in rbuf. It is false
// when the connection ended or went to net/http instead. readDeadline
// says whether the read deadline is start+ReadTimeout already.
func (c *fastConn) readRequest(start time.Time, readDeadline bool, h *fastHead) (end int, ok bool) {
	cfg := &c.f.s.cfg
	for {
		st := parseHead(c.rbuf, h)
		if st == headDone {
			break
		}
		if st == headOther || len(c.rbuf) >= fastMaxHead {
			c.handOff(start)
			return 0, false
		}
		if !readDeadline {
			_ = c.nc.SetReadDeadline(start.Add(cfg.ReadTimeout))
			readDeadline = true
		}
		// Waiting for the rest of a head, the connection is idle as
		// net/http's is until a head is read: Shutdown closes it
		// rather than wait for a client that may dribble it out.
		if !c.f.setIdle(c, true) {
			return 0, false
		}
		err := c.fill(fastMaxHead)
		if !c.f.setIdle(c, false) {
			return 0, false
		}
		if err != nil {
			if !isTimeout(err) {
				// net/http reads the same bytes and answers as it
				// would have (400 for a head cut short).
				c.handOff(start)
			}
			// net/http closes a connection whose head does not
			// arrive in time without a word.
			return 0, false
		}
	}
	if h.contentLength > fastMaxBody || h.contentLength > cfg.MaxBodyBytes {
		c.handOff(start)
		return 0, false
	}
	end = h.headLen + int(h.contentLength)
	for len(c.rbuf) < end {
		if !readDeadline {
			_ = c.nc.SetReadDeadline(start.Add(cfg.ReadTimeout))
			readDeadline = true
		}
		if err := c.fill(end); err != nil {
			if isTimeout(err) {
				c.bodyTimedOut(start)
			} else {
				c.handOff(start) // net/http answers a body cut short
			}
			return 0, false
		}
	}
	return end, true
}

// answer answers the request read (head h, ending at end in rbuf) and
// drops it from rbuf; false means the connection ends.
func (c *fastConn) answer(start time.Time, h *fastHead, end int) bool {
	f, cfg := c.f, &c.f.s.cfg
	clear(c.creds)
	if h.auth != nil {
		c.creds["authorization"] = string(h.auth)
	}
	if h.apiKey != nil {
		c.creds["x-api-key"] = string(h.apiKey)
	}
	w := &clientWatch{Context: f.ctx, c: c}
	a := f.s.answerGraphQL(w, start, c.rbuf[h.headLen:end], c.creds, nil, c.remote)
	// A client that left still gets its answer written, as under
	// net/http, but the connection ends with it.
	gone := w.finish()
	// A response written once Shutdown has begun closes the connection,
	// as net/http's does.
	closing := f.isClosing()
	c.wbuf = c.appendHead(c.wbuf[:0], &a, closing)
	_ = c.nc.SetWriteDeadline(start.Add(cfg.WriteTimeout))
	var err error
	if len(a.body) <= fastCopyBody {
		c.wbuf = append(c.wbuf, a.body...)
		_, err = c.nc.Write(c.wbuf)
	} else {
		// A big body is written from where it is (writev), not copied
		// into wbuf: a buffer that grew to an answer's size would stay
		// with the connection while it idles, up to IdleTimeout, and a
		// client's many idle connections would pin that many.
		c.iov = [2][]byte{c.wbuf, a.body}
		bufs := net.Buffers(c.iov[:])
		_, err = bufs.WriteTo(c.nc)
		c.iov = [2][]byte{}
	}
	f.s.releaseAnswer(&a)
	if err != nil || closing || gone {
		return false
	}
	n := copy(c.rbuf, c.rbuf[end:])
	c.rbuf = c.rbuf[:n]
	if n == 0 && cap(c.rbuf) > fastReadSize {
		c.rbuf = make([]byte, 0, fastReadSize)
	}
	return true
}

// handOff gives the connection, its unread bytes replayed, to net/http,
// in the middle of a request that started at start: net/http must read it
// by start+ReadTimeout.
func (c *fastConn) handOff(start time.Time) {
	c.handedOff = true
	c.f.forget(c)
	rc := &replayConn{TCPConn: c.nc, buf: c.rbuf}
	rc.limit.Store(start.Add(c.f.s.cfg.ReadTimeout).UnixNano())
	c.f.handoff.give(c.f.s.conns.track(rc), nil)
}

// bodyTimedOut answers a request whose body did not arrive within
// ReadTimeout as serveGraphQL does under net/http (408, the connection
// closed after), and then closes the connection as net/http does when a
// request's body is left unread: its write side first, and after a pause,
// so that body bytes still coming do not make the client's TCP reset the
// connection before it reads the answer.
func (c *fastConn) bodyTimedOut(start time.Time) {
	s := c.f.s
	e := appsync.Errorf(appsync.MalformedHTTPRequest, "the request body did not arrive within %v", s.cfg.ReadTimeout)
	a := errorAnswer(http.StatusRequestTimeout, &appsync.Response{Errors: []*appsync.Error{e}})
	s.metrics.request(opUnknown, []*appsync.Error{e}, time.Since(start))
	c.wbuf = append(c.appendHead(c.wbuf[:0], &a, true), a.body...)
	_ = c.nc.SetWriteDeadline(start.Add(s.cfg.WriteTimeout))
	if _, err := c.nc.Write(c.wbuf); err != nil {
		return
	}
	_ = c.nc.CloseWrite()
	_ = c.nc.SetReadDeadline(time.Now().Add(rstAvoidanceDelay))
	// Read (and drop) what still comes, until the client closes or the
	// pause ends: net/http sleeps that long.
	var drop [512]byte
	for {
		if _, err := c.nc.Read(drop[:]); err != nil {
			return
		}
	}
}

// rstAvoidanceDelay is how long a connection closed with request bytes
// unread waits after closing its write side (net/http's value).
const rstAvoidanceDelay = 500 * time.Millisecond

// isTimeout reports whether err is a deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// fill reads once into rbuf, growing it to hold up to want bytes.
func (c *fastConn) fill(want int) error {
	if cap(c.rbuf)-len(c.rbuf) < 512 || cap(c.rbuf) < want {
		nb := make([]byte, len(c.rbuf), max(want, 2*cap(c.rbuf)))
		copy(nb, c.rbuf)
		c.rbuf = nb
	}
	n, err := c.nc.Read(c.rbuf[len(c.rbuf):cap(c.rbuf)])
	c.rbuf = c.rbuf[:len(c.rbuf)+n]
	if n > 0 {
		return nil
	}
	return err
}

// appendHead appends the status line and headers net/http writes for a's
// answer (writeBody's headers, in its order: the handler's sorted, then
// Date, then Connection).
func (c *fastConn) appendHead(b []byte, a *gqlAnswer, closing bool) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(a.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(a.status)...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(a.body)), 10)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, jsonContentType...)
	b = append(b, "\r\n"...)
	if a.retryAfter {
		b = append(b, "Retry-After: 1\r\n"...)
	}
	now := time.Now()
	if sec := now.Unix(); sec != c.dateSec || c.date == nil {
		c.date = now.UTC().AppendFormat(c.date[:0], http.TimeFormat)
		c.dateSec = sec
	}
	b = append(b, "Date: "...)
	b = append(b, c.date...)
	if closing {
		b = append(b, "\r\nConnection: close"...)
	}
	return append(b, "\r\n\r\n"...)
}

// fastHead is what parseHead reads of a request head, and where it is:
// parseHead resumes from it, so a head arriving in many pieces is read
// once, not once per piece.
type fastHead struct {
	headLen       int
	contentLength int64
	// auth and apiKey are the Authorization and X-Api-Key values, nil
	// when absent.
	auth, apiKey []byte
	// pos is where the next line starts (0: the request line is not read
	// yet); hosts and haveLength count what the lines before it held.
	pos        int
	hosts      int
	haveLength bool
}

type headState int

const (
	headMore  headState = iota // incomplete so far
	headDone                   // a fast-path request
	headOther                  // for net/http
)

// sigV4Prefix opens an AWS_IAM request's Authorization header.
const sigV4Prefix = appsync.SigV4Algorithm + " "

// fastRequestLine is the only request line the fast path serves.
const fastRequestLine = "POST /graphql HTTP/1.1\r\n"

// parseHead reads the request head at the start of b, resuming where the
// last call on h with a shorter b (the same bytes, and more) stopped; h
// starts zero. It returns headDone only for a head net/http would read as
// the same request (with the same Content-Length and credential values)
// and would pass to the handler without doing anything on its own:
// anything else is headOther as soon as that is known, and headMore means
// the head is not complete yet but could still be one the fast path serves.
func parseHead(b []byte, h *fastHead) headState {
	if h.pos == 0 {
		if len(b) < len(fastRequestLine) {
			if string(b) != fastRequestLine[:len(b)] {
				return headOther
			}
			return headMore
		}
		if string(b[:len(fastRequestLine)]) != fastRequestLine {
			return headOther
		}
		h.pos = len(fastRequestLine)
	}
	for {
		nl := bytes.IndexByte(b[h.pos:], '\n')
		if nl < 0 {
			return headMore
		}
		line := b[h.pos : h.pos+nl]
		h.pos += nl + 1
		if len(line) == 0 || line[len(line)-1] != '\r' {
			return headOther // a bare LF
		}
		line = line[:len(line)-1]
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validFieldName(line[:colon]) {
			return headOther // also a folded line (leading space)
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if !validFieldValue(value) {
			return headOther
		}
		switch {
		case asciiEqualFold(name, "content-length"):
			n, ok := parseLength(value)
			if h.haveLength || !ok {
				return headOther
			}
			h.contentLength, h.haveLength = n, true
		case asciiEqualFold(name, "host"):
			if h.hosts++; h.hosts > 1 || !validHost(value) {
				return headOther
			}
		case asciiEqualFold(name, "authorization"):
			if h.auth != nil || (len(value) >= len(sigV4Prefix) && string(value[:len(sigV4Prefix)]) == sigV4Prefix) {
				// A SigV4 signature (AWS_IAM) covers headers the
				// fast path does not keep: net/http serves it.
				return headOther
			}
			h.auth = value
		case asciiEqualFold(name, "x-api-key"):
			if h.apiKey != nil {
				return headOther
			}
			h.apiKey = value
		case asciiEqualFold(name, "connection"):
			if !asciiEqualFold(value, "keep-alive") {
				return headOther
			}
		case asciiEqualFold(name, "transfer-encoding"), asciiEqualFold(name, "expect"),
			asciiEqualFold(name, "upgrade"), asciiEqualFold(name, "trailer"),
			// A browser's request: net/http's handler answers it with
			// CORS headers (cors.go).
			asciiEqualFold(name, "origin"):
			return headOther
		}
	}
	if h.hosts != 1 || !h.haveLength {
		return headOther
	}
	h.headLen = h.pos
	return headDone
}

// parseLength parses a Content-Length value as net/http does (decimal
// digits, at most 63 bits), refusing values past 18 digits.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// validFieldName reports whether name is an RFC 7230 token.
func validFieldName(name []byte) bool {
	for _, c := range name {
		if !isAlnum(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return len(name) > 0
}

// validHost reports whether a Host value holds only bytes net/http's
// check (httpguts.ValidHostHeader) allows, a subset of them.
func validHost(v []byte) bool {
	for _, c := range v {
		if !isAlnum(c) && !strings.ContainsRune("-._~!$&'()*+,;=:[]%", rune(c)) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// validFieldValue is httpguts.ValidHeaderFieldValue for bytes: no control
// bytes but tab.
func validFieldValue(v []byte) bool {
	for _, c := range v {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// trimOWS trims spaces and tabs at both ends, as net/textproto does.
func trimOWS(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}

// asciiEqualFold compares b with lower, an ASCII lower-case string,
// ignoring ASCII case.
func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// clientWatch is a fast-path request's parent context: f.ctx (the
// server's), also canceled when the client leaves, which it learns by
// reading the connection while the request executes, as net/http does.
// The read starts only when something asks for Done.
type clientWatch struct {
	context.Context
	c    *fastConn
	once sync.Once
	// done is closed when the client left or the server's context ended.
	done     chan struct{}
	gone     atomic.Bool
	closed   sync.Once
	stop     func() bool   // stops the AfterFunc on the server's context
	readDone chan struct{} // closed when the read has ended
	got      [1]byte
	n        int
}

// Done starts the watch.
func (w *clientWatch) Done() <-chan struct{} {
	w.once.Do(func() {
		w.done, w.readDone = make(chan struct{}), make(chan struct{})
		w.stop = context.AfterFunc(w.Context, w.cancel)
		// The read deadline was the request's; the watch lasts until
		// finish interrupts it.
		_ = w.c.nc.SetReadDeadline(time.Time{})
		go w.read()
	})
	if w.done == nil {
		// Asked once the request was answered (finish): the connection
		// is the next request's now, and no read may start on it.
		return w.Context.Done()
	}
	return w.done
}

func (w *clientWatch) cancel() { w.closed.Do(func() { close(w.done) }) }

// read reads the connection: a byte is the start of the next request (kept
// for it); an error other than finish's deadline is the client leaving.
func (w *clientWatch) read() {
	defer close(w.readDone)
	n, err := w.c.nc.Read(w.got[:])
	w.n = n
	if n == 0 && err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		w.gone.Store(true)
		w.cancel()
	}
}

// Err is the server context's error, else context.Canceled once the
// client left.
func (w *clientWatch) Err() error {
	if err := w.Context.Err(); err != nil {
		return err
	}
	if w.gone.Load() {
		return context.Canceled
	}
	return nil
}

// finish ends the watch once the request is answered: it stops the read,
// keeps a byte it read for the next request and reports whether the
// client left.
func (w *clientWatch) finish() (gone bool) {
	started := true
	// Once this ran, a late Done (a goroutine the request left behind)
	// starts no read that would race the next request's.
	w.once.Do(func() { started = false })
	if !started {
		return false
	}
	_ = w.c.nc.SetReadDeadline(time.Unix(1, 0)) // in the past: the read ends now
	<-w.readDone
	w.stop()
	if w.n > 0 {
		w.c.rbuf = append(w.c.rbuf, w.got[:w.n]...)
	}
	return w.gone.Load()
}
