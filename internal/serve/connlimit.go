package serve

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The connection cap. net/http bounds how long a connection may idle or
// take over a request, not how many are open, and each one holds a file
// descriptor from the process's RLIMIT_NOFILE, which the store shares:
// Badger keeps every table and value-log file open, pgx its pool. Running
// out fails the store's next file (a memtable flush, a compaction, a new
// value-log file) instead of a client, and a connection that cannot be
// accepted waits in the kernel's backlog until its client gives up. So
// Serve counts the connections it serves (the fast path's, net/http's,
// WebSockets until they close) and answers one over Config.MaxConnections
// on a goroutine of its own as soon as its request is in: 503 with
// Retry-After, then closes it.
// Clients retry a 503 (Amplify and dsgen's engine keep the mutation), and
// a page reads it when its origin may call (CORS). GET /healthz and
// /metrics are answered as under the cap: a server at its cap is alive
// (a liveness probe must not restart it for being busy) and its metrics
// are wanted most then. GET /readyz gets the 503: a load balancer should
// send new clients elsewhere.

// maxRefusing bounds the refusals under way; past it a connection over
// the cap is closed without an answer, so that a flood costs at most this
// many goroutines and descriptors beyond the cap.
const maxRefusing = 64

// refuseTimeout bounds writing a refusal (a TLS client's handshake
// included).
const refuseTimeout = 2 * time.Second

// connLimit counts a Server's connections and refuses those over max.
type connLimit struct {
	// max is the cap; 0 means none.
	max int64
	// cors is Server.corsOrigin: the refusal's Access-Control-Allow-Origin
	// for a request's Origin and Host ("" for none), so a page may read it
	// as it reads any answer; varies says the answer depends on the Origin
	// (CORSOrigins set).
	cors   func(origin, host string) string
	varies bool
	// probes answers the requests served over the cap (see the top); set
	// once before Serve.
	probes  http.Handler
	open    atomic.Int64
	refused atomic.Uint64

	mu sync.Mutex
	// refusing holds the connections being answered, for drain.
	refusing map[net.Conn]struct{}
	wg       sync.WaitGroup
}

func newConnLimit(max int, cors func(origin, host string) string, varies bool) *connLimit {
	return &connLimit{max: int64(max), cors: cors, varies: varies, refusing: map[net.Conn]struct{}{}}
}

// admit counts nc in, or refuses it when the cap is reached: then nc is
// answered and closed by admit and it returns false. A connection admitted
// must be released once closed (track does it on Close).
func (l *connLimit) admit(nc net.Conn) bool {
	n := l.open.Add(1)
	if l.max == 0 || n <= l.max {
		return true
	}
	l.open.Add(-1)
	l.refused.Add(1)
	l.mu.Lock()
	if len(l.refusing) >= maxRefusing {
		l.mu.Unlock()
		_ = nc.Close()
		return false
	}
	l.refusing[nc] = struct{}{}
	l.wg.Add(1)
	l.mu.Unlock()
	go l.refuse(nc)
	return false
}

// release counts a closed connection out.
func (l *connLimit) release() { l.open.Add(-1) }

// refuse answers the request on nc with the 503, then closes it as
// net/http closes a connection with request bytes unread: its write side
// first, then after reading (and dropping) what still comes for a moment,
// so that the client's TCP does not reset the connection before it reads
// the answer. A client that sends no request head within refuseTimeout
// gets no answer, as under net/http.
func (l *connLimit) refuse(nc net.Conn) {
	defer func() {
		_ = nc.Close()
		l.mu.Lock()
		delete(l.refusing, nc)
		l.mu.Unlock()
		l.wg.Done()
	}()
	_ = nc.SetDeadline(time.Now().Add(refuseTimeout))
	// The answer waits for the request: one arriving before the client
	// sent it may be taken for a stray (Go's Transport then fails the
	// request instead of returning the 503).
	head, ok := readHead(nc)
	if !ok {
		return
	}
	// A head cut at refuseHead does not parse: it gets the 503 without
	// CORS headers.
	req, _ := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	answer := l.refusal(time.Now(), req)
	if req != nil && l.probes != nil && (req.Method == http.MethodGet || req.Method == http.MethodHead) &&
		(req.URL.Path == "/healthz" || req.URL.Path == "/metrics") {
		// The health check pings the store within healthTimeout.
		_ = nc.SetDeadline(time.Now().Add(healthTimeout + refuseTimeout))
		answer = serveClosing(l.probes, req)
	}
	if _, err := nc.Write(answer); err != nil {
		return
	}
	if cw, ok := nc.(closeWriter); ok {
		_ = cw.CloseWrite()
	}
	_ = nc.SetReadDeadline(time.Now().Add(rstAvoidanceDelay))
	_, _ = io.Copy(io.Discard, nc)
}

// readHead reads from nc until the end of a request head, or up to
// refuseHead bytes (the rest is drained after the answer), and returns
// what it read; false when nc fails first.
func readHead(nc net.Conn) ([]byte, bool) {
	buf := make([]byte, refuseHead)
	n := 0
	for n < len(buf) {
		m, err := nc.Read(buf[n:])
		if i := bytes.Index(buf[max(0, n-3):n+m], []byte("\r\n\r\n")); i >= 0 {
			return buf[:max(0, n-3)+i+4], true
		}
		n += m
		if err != nil {
			return nil, false
		}
	}
	return buf, true
}

// refuseHead is how much of a refused request's head is read before the
// answer.
const refuseHead = 4 << 10

// refusal is the answer to a connection over the cap, whole; req is its
// request, nil when its head did not parse.
func (l *connLimit) refusal(now time.Time, req *http.Request) []byte {
	body := fmt.Sprintf(`{"errors":[{"errorType":%q,"message":"the server is serving its maximum of %d connections (--max-connections): retry later"}]}`, errUnavailable, l.max)
	b := make([]byte, 0, 512)
	b = append(b, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: "+jsonContentType+"\r\nRetry-After: 1\r\nConnection: close\r\nDate: "...)
	b = now.UTC().AppendFormat(b, http.TimeFormat)
	if req != nil && l.cors != nil {
		if l.varies {
			b = append(b, "\r\nVary: Origin"...)
		}
		// corsOrigin answers only origins it allows, which are free of
		// control characters (an Origin is a scheme, host and port).
		if allow := l.cors(req.Header.Get("Origin"), req.Host); allow != "" && validHeaderValue(allow) {
			b = append(b, "\r\nAccess-Control-Allow-Origin: "...)
			b = append(b, allow...)
			b = append(b, "\r\nAccess-Control-Expose-Headers: Retry-After"...)
		}
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

// drain closes the connections being refused and waits for their
// goroutines; Serve calls it once its accept loops have ended.
func (l *connLimit) drain() {
	l.mu.Lock()
	for nc := range l.refusing {
		_ = nc.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// track returns nc counted out when closed, for net/http (and the
// WebSocket it may become). A *tls.Conn is returned as it is, for net/http
// must see its type: connState counts it out.
func (l *connLimit) track(nc net.Conn) net.Conn {
	if _, ok := nc.(*tls.Conn); ok {
		return nc
	}
	t := &trackedConn{Conn: nc, l: l}
	if _, ok := nc.(tcpLike); ok {
		// net/http uses these when the connection has them: keep them.
		return &trackedTCP{t}
	}
	return t
}

// connState is the http.Server's ConnState hook: it counts out the
// *tls.Conn connections track left as they are. One hijacked (a WebSocket
// over a TLS listener given to Serve; launch's TLS is not one) is counted
// out at the upgrade.
func (l *connLimit) connState(nc net.Conn, st http.ConnState) {
	if _, ok := nc.(*tls.Conn); ok && (st == http.StateClosed || st == http.StateHijacked) {
		l.release()
	}
}

type closeWriter interface{ CloseWrite() error }

// tcpLike is what net/http looks for in a TCP connection.
type tcpLike interface {
	closeWriter
	io.ReaderFrom
}

// trackedConn is a connection counted out on its first Close.
type trackedConn struct {
	net.Conn
	l      *connLimit
	closed atomic.Bool
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	if c.closed.CompareAndSwap(false, true) {
		c.l.release()
	}
	return err
}

// trackedTCP is a trackedConn over a connection that is tcpLike.
type trackedTCP struct{ *trackedConn }

func (c *trackedTCP) CloseWrite() error { return c.Conn.(closeWriter).CloseWrite() }

func (c *trackedTCP) ReadFrom(r io.Reader) (int64, error) { return c.Conn.(io.ReaderFrom).ReadFrom(r) }

// limitListener admits the connections of a listener served by net/http
// alone (Serve without the fast path).
type limitListener struct {
	net.Listener
	l *connLimit
}

func (ln *limitListener) Accept() (net.Conn, error) {
	for {
		nc, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ln.l.admit(nc) {
			return ln.l.track(nc), nil
		}
	}
}

// defaultMaxConnections is the cap when Config.MaxConnections is 0, from
// the open-file limit nofile (0: unknown, no cap): the limit less a reserve
// for the store and the rest of the process, a quarter of it but at least
// 1,024 descriptors, or half the limit when it is below 2,048.
func defaultMaxConnections(nofile uint64) int {
	if nofile == 0 {
		return 0
	}
	reserve := max(nofile/4, min(1024, nofile/2))
	return int(min(nofile-reserve, math.MaxInt32))
}

// validHeaderValue reports whether v may be written as a header value
// as it is: no control characters (CR, LF) that would end the line.
func validHeaderValue(v string) bool {
	for i := range len(v) {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// serveClosing runs h for req and returns its answer as an HTTP/1.1
// response closing the connection, with a Content-Length.
func serveClosing(h http.Handler, req *http.Request) []byte {
	w := &closingResponse{header: http.Header{}}
	h.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.header.Set("Connection", "close")
	w.header.Set("Content-Length", strconv.Itoa(w.body.Len()))
	if w.header.Get("Date") == "" {
		w.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", w.status, http.StatusText(w.status))
	_ = w.header.Write(&b)
	b.WriteString("\r\n")
	if req.Method != http.MethodHead {
		b.Write(w.body.Bytes())
	}
	return b.Bytes()
}

// closingResponse is the http.ResponseWriter of serveClosing: it keeps
// the answer in memory (a health check's or the metrics' few kilobytes).
type closingResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *closingResponse) Header() http.Header { return w.header }

func (w *closingResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *closingResponse) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}
