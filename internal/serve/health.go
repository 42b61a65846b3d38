package serve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store"
)

// healthTimeout bounds a health check's store ping, so a database that
// stopped answering makes /healthz and /readyz say so instead of hanging
// the load balancer's probe.
const healthTimeout = 5 * time.Second

// ping checks the store: its engine name and the failure, if any.
func (s *Server) ping(ctx context.Context) (string, error) {
	p, ok := s.cfg.Store.(store.Pinger)
	if !ok {
		return "", nil // a store without a check: reachable as far as we know
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	return p.Engine(), p.Ping(ctx)
}

// serveHealth answers GET /healthz: 200 with {"status":"ok","store":…}
// and the real-time counts when the store answers, 503 with
// {"status":"unavailable","store":…,"error":…} naming the failure when it
// does not.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	engine, err := s.ping(r.Context())
	if err != nil {
		s.log.Warn("health check: the store does not answer", "store", engine, "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "store": engine, "error": err.Error()})
		return
	}
	conns, subs := s.hub.Stats()
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "store": engine, "connections": conns, "subscriptions": subs})
}

// serveReady answers GET /readyz for load balancers: 200 {"status":"ready"}
// while the server takes requests; 503 while it shuts down (it is
// draining) or when the store does not answer. Before the server exists
// (the store opening, the schema's indexes building) Starting answers 503.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if s.shuttingDown.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "shutting down"})
		return
	}
	engine, err := s.ping(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "store": engine, "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "store": engine})
}

// Starting answers on a listener while `dsgen serve` starts (the store
// opening and its tables, the schema's indexes): /healthz and /readyz
// say 503 {"status":"starting"}, every other request 503 too. Stop hands
// the listener, with the connections not yet taken, to Server.Serve.
type Starting struct {
	ln     net.Listener
	conns  chan net.Conn
	failed chan struct{} // closed when Accept on ln fails; err says why
	err    error
	hs     *http.Server
	view   *handoff
	done   chan struct{}
}

// Start answers requests on ln as Starting says until Stop.
func Start(ln net.Listener) *Starting {
	st := &Starting{ln: ln, conns: make(chan net.Conn), failed: make(chan struct{}), done: make(chan struct{})}
	go st.accept()
	st.view = st.newView()
	st.hs = &http.Server{
		Handler:      http.HandlerFunc(serveStarting),
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		IdleTimeout:  10 * time.Second,
	}
	go func() {
		defer close(st.done)
		_ = st.hs.Serve(st.view) // returns once Stop closes the view
	}()
	return st
}

func serveStarting(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "starting"})
}

// accept takes connections from ln for the current view until ln fails
// (Serve's view closes it when the server stops).
func (st *Starting) accept() {
	for {
		c, err := st.ln.Accept()
		if err != nil {
			st.err = err
			close(st.failed)
			return
		}
		st.conns <- c
	}
}

// Stop stops answering (waiting, within ctx, for the requests under way)
// and returns the listener to serve on: it yields the connections
// accepted from now on and closes the underlying listener when closed.
func (st *Starting) Stop(ctx context.Context) (net.Listener, error) {
	st.view.Close()
	err := st.hs.Shutdown(ctx)
	<-st.done
	v := st.newView()
	v.closeLn = true
	return v, err
}

func (st *Starting) newView() *handoff {
	return &handoff{st: st, closed: make(chan struct{})}
}

// handoff is a listener over Starting's accept loop.
type handoff struct {
	st      *Starting
	closed  chan struct{}
	once    sync.Once
	closeLn bool // Close closes the underlying listener (Serve's view)
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case <-h.closed:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-h.st.conns:
		return c, nil
	case <-h.st.failed:
		return nil, h.st.err
	case <-h.closed:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error {
	var err error
	h.once.Do(func() {
		close(h.closed)
		if h.closeLn {
			err = h.st.ln.Close()
			if errors.Is(err, net.ErrClosed) {
				err = nil
			}
		}
	})
	return err
}

func (h *handoff) Addr() net.Addr { return h.st.ln.Addr() }
