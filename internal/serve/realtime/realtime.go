// Package realtime serves AppSync's real-time WebSocket protocol (the
// "graphql-ws" flavour the Amplify clients speak) at /graphql/realtime.
//
// A Hub accepts connections, answers the protocol (connection_init,
// connection_ack, ka, start, start_ack, data, error, stop, complete) and fans
// committed mutations out to the subscriptions registered on each
// connection. It knows nothing about GraphQL, storage or auth rules: a
// Backend authenticates connections and turns start messages into
// Subscriptions, and a Subscription renders the data frames.
//
// Each connection has one reader (the ServeHTTP goroutine) and one writer
// goroutine. Every outbound frame goes through one bounded queue per
// connection, so frames leave in the order they were produced; Publish only
// ever does a non-blocking send into those queues, and a connection whose
// queue overflows is closed as a slow consumer.
package realtime

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// Event is one committed mutation, published in commit order.
type Event struct {
	Model string
	Op    string         // "create", "update" or "delete"
	Item  map[string]any // the full post-write item including _version, _lastChangedAt, _deleted
	// Seq identifies the commit (strictly increasing); every receiver of
	// one event sees the same Seq, so a Backend may cache renders by it.
	Seq uint64
}

// Backend authenticates connections and validates subscriptions.
type Backend interface {
	// Authenticate checks the connection's auth headers: the JSON object
	// from the "header-<base64url>" sub-protocol or the header= query
	// parameter (see appsync.DecodeAuthHeaders), merged over the HTTP
	// request's own headers. All keys are lower-cased. It returns an opaque
	// principal, or an error: an *appsync.Error is sent as is in
	// connection_error; others as UnauthorizedException 401.
	Authenticate(ctx context.Context, headers map[string]string) (principal any, err error)
	// Subscribe validates one start message: req is the decoded
	// payload.data, auth the payload.extensions.authorization headers with
	// lower-cased keys (may be empty: then the connection's principal
	// applies); ctx carries the message's data string (appsync.StartData),
	// which an IAM signature covers. It returns the subscription or an
	// error, rendered in the
	// error frame: an ErrorList or *appsync.Error as is, anything else as
	// an InternalFailure whose detail is logged, not sent.
	Subscribe(ctx context.Context, principal any, req appsync.Request, auth map[string]string) (Subscription, error)
}

// Subscription is one registered subscription.
type Subscription interface {
	// Topic is the model and op whose events may match; the hub only
	// offers those.
	Topic() (model, op string)
	// Render returns the data frame payload for ev (typically
	// {"data":{"onCreatePost":{...}}}), or ok=false when ev does not match
	// the subscription's filter or the subscriber may not see it. It runs
	// on the connection's writer goroutine, concurrently with other
	// connections' Render calls for the same event, so it must not modify
	// ev.Item. The payload must be valid JSON; it is sent without
	// re-encoding. An error is sent to the subscriber as a data frame
	// carrying errors (AppSync's shape for a failed subscription resolver)
	// and logged.
	Render(ctx context.Context, ev Event) (payload json.RawMessage, ok bool, err error)
}

// ErrorList lets a Backend reject a start with several errors at once.
type ErrorList []*appsync.Error

// Error implements error.
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Close codes the hub uses beyond the RFC 6455 ones.
const (
	// CloseUnauthorized follows connection_error when Authenticate fails.
	CloseUnauthorized websocket.StatusCode = 4401
	// CloseInitTimeout: no connection_init within Options.InitTimeout.
	CloseInitTimeout websocket.StatusCode = 4408
)

// Close reasons, for clients and tests that branch on them.
const (
	ReasonSlowConsumer = "slow consumer"
	ReasonShutdown     = "server shutting down"
	ReasonUnauthorized = "unauthorized"
	ReasonInitTimeout  = "connection_init timeout"
)

// Options configures a Hub. Zero values take the defaults.
type Options struct {
	ConnectionTimeout time.Duration // sent in connection_ack; default 5 min
	KeepAlive         time.Duration // ka interval; default 1 min; must be below ConnectionTimeout
	InitTimeout       time.Duration // connection_init must arrive within; default 15 s
	MaxSubscriptions  int           // per connection; default 100
	MaxMessageBytes   int64         // inbound frame limit; default 240 KiB; larger frames close the connection with 1009
	SendQueue         int           // events and protocol frames queued per connection; default 1024; overflow closes the connection (slow consumer)
	// WriteTimeout bounds one frame write; a peer that stops reading is
	// dropped after it. Default 10 s.
	WriteTimeout time.Duration
	// OriginPatterns restricts the Origin header of browser connections
	// (see OriginAllowed; a refused one gets HTTP 403). Empty accepts any
	// origin, as AppSync does: auth travels in headers the page sets
	// itself, never in cookies, so a cross-site page gains nothing.
	OriginPatterns []string
	Logger         *slog.Logger // default slog.Default()
}

// Defaults of Options.
const (
	DefaultConnectionTimeout = 5 * time.Minute
	DefaultKeepAlive         = time.Minute
	DefaultInitTimeout       = 15 * time.Second
	DefaultMaxSubscriptions  = 100
	DefaultMaxMessageBytes   = 240 << 10
	DefaultSendQueue         = 1024
	DefaultWriteTimeout      = 10 * time.Second
)

func (o Options) withDefaults() Options {
	o.ConnectionTimeout = cmp.Or(o.ConnectionTimeout, DefaultConnectionTimeout)
	o.KeepAlive = cmp.Or(o.KeepAlive, DefaultKeepAlive)
	o.InitTimeout = cmp.Or(o.InitTimeout, DefaultInitTimeout)
	o.MaxSubscriptions = cmp.Or(o.MaxSubscriptions, DefaultMaxSubscriptions)
	o.MaxMessageBytes = cmp.Or(o.MaxMessageBytes, DefaultMaxMessageBytes)
	o.SendQueue = cmp.Or(o.SendQueue, DefaultSendQueue)
	o.WriteTimeout = cmp.Or(o.WriteTimeout, DefaultWriteTimeout)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Validate reports options that cannot work, after defaults are applied.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if o.ConnectionTimeout < 0 || o.KeepAlive < 0 || o.InitTimeout < 0 || o.WriteTimeout < 0 {
		errs = append(errs, errors.New("realtime: durations must not be negative"))
	}
	if o.KeepAlive >= o.ConnectionTimeout {
		errs = append(errs, fmt.Errorf("realtime: keep-alive interval %v must be below the connection timeout %v", o.KeepAlive, o.ConnectionTimeout))
	}
	if o.MaxSubscriptions < 0 {
		errs = append(errs, fmt.Errorf("realtime: max subscriptions %d is negative", o.MaxSubscriptions))
	}
	if o.MaxMessageBytes < 0 {
		errs = append(errs, fmt.Errorf("realtime: max message bytes %d is negative", o.MaxMessageBytes))
	}
	if o.SendQueue < 0 {
		errs = append(errs, fmt.Errorf("realtime: send queue %d is negative", o.SendQueue))
	}
	if err := validOriginPatterns(o.OriginPatterns); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

type topic struct{ model, op string }

// Hub accepts connections and fans events out.
type Hub struct {
	backend Backend
	opts    Options
	log     *slog.Logger
	ackJSON []byte

	// seq numbers Publish calls; a subscription sees events whose seq is
	// above the value at its registration.
	seq    atomic.Uint64
	nextID atomic.Uint64

	// published, sent and slow feed Counters.
	published, sent, slow atomic.Uint64

	// mu guards the index and the counts. Publish holds it for reading
	// while it enqueues; registration holds it for writing so that
	// start_ack is queued before any event the subscription will see.
	mu     sync.RWMutex
	index  map[topic]map[*conn]int
	conns  map[*conn]struct{}
	nsubs  int
	closed bool

	wg       sync.WaitGroup // every connection's goroutines
	shutdown chan struct{}  // closed by Shutdown: writers close with GoingAway
}

// New returns a Hub answering through b. It panics if b is nil or
// opts.Validate fails: call Validate first to report configuration errors.
func New(b Backend, opts Options) *Hub {
	if b == nil {
		panic("realtime: nil Backend")
	}
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	ack, err := json.Marshal(appsync.Message{Type: appsync.MsgConnectionAck, Payload: mustJSON(appsync.ConnectionAckPayload{ConnectionTimeoutMs: opts.ConnectionTimeout.Milliseconds()})})
	if err != nil {
		panic(err) // fixed shapes; cannot fail
	}
	return &Hub{
		backend:  b,
		opts:     opts,
		log:      opts.Logger,
		ackJSON:  ack,
		index:    make(map[topic]map[*conn]int),
		conns:    make(map[*conn]struct{}),
		shutdown: make(chan struct{}),
	}
}

// ServeHTTP upgrades the request to a WebSocket speaking AppSync's
// real-time protocol and serves it until either side closes. A client that
// does not offer the graphql-ws sub-protocol, or whose auth headers cannot
// be decoded, gets HTTP 400; a page of an origin Options.OriginPatterns
// refuses, 403; after Shutdown, 503.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	protos := offeredProtocols(r)
	if !slices.Contains(protos, appsync.Subprotocol) {
		http.Error(w, fmt.Sprintf("realtime: the client must offer the %q WebSocket sub-protocol", appsync.Subprotocol), http.StatusBadRequest)
		return
	}
	headers, err := connHeaders(r, protos)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	if !OriginAllowed(h.opts.OriginPatterns, r.Header.Get("Origin"), r.Host) {
		h.log.Info("realtime: origin refused", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"))
		http.Error(w, "realtime: this origin may not connect", http.StatusForbidden)
		return
	}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "realtime: server shutting down", http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{appsync.Subprotocol},
		// The origin was checked above (OriginAllowed), by the rules
		// /graphql's CORS shares.
		InsecureSkipVerify: true,
	})
	if err != nil {
		// Accept has written the HTTP error.
		h.log.Warn("realtime: websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	ws.SetReadLimit(h.opts.MaxMessageBytes)

	c := newConn(h, ws, r.RemoteAddr, headers)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		ws.Close(websocket.StatusGoingAway, ReasonShutdown)
		return
	}
	h.conns[c] = struct{}{}
	h.mu.Unlock()

	c.serve()
}

// Listening reports whether any connection subscribes to op on model, so
// that a publisher can skip building an event nobody receives.
func (h *Hub) Listening(model, op string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.index[topic{model, op}]) > 0
}

// Publish offers ev to every matching subscription, in call order per
// connection; it never blocks on a connection. Rendering happens later on
// each connection's writer goroutine, so ev.Item must not be modified after
// the call.
func (h *Hub) Publish(ev Event) {
	t := topic{ev.Model, ev.Op}
	h.mu.RLock()
	defer h.mu.RUnlock()
	conns := h.index[t]
	if len(conns) == 0 {
		return
	}
	it := item{ev: &ev, seq: h.seq.Add(1)}
	h.published.Add(1)
	for c := range conns {
		c.offer(it)
	}
}

// Shutdown closes every connection with StatusGoingAway and waits for their
// goroutines, or until ctx ends: then it drops the remaining connections
// without a close handshake and returns ctx's error at once (their
// goroutines end shortly after, once a Backend call under way returns). New connections are
// refused from the first call on.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.shutdown)
	}
	h.mu.Unlock()

	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		h.mu.RLock()
		for c := range h.conns {
			c.abort()
		}
		h.mu.RUnlock()
		return fmt.Errorf("realtime: shutdown: %w", ctx.Err())
	}
}

// Stats reports open connections and registered subscriptions, for tests
// and health checks.
func (h *Hub) Stats() (conns, subs int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns), h.nsubs
}

// Counters are running totals since the hub started, for metrics.
type Counters struct {
	// Published counts events offered to at least one connection.
	Published uint64
	// Sent counts data messages handed to clients' sockets: one per
	// matching subscription per event.
	Sent uint64
	// SlowConsumers counts connections closed because their send queue
	// overflowed.
	SlowConsumers uint64
}

// Counters returns the hub's running totals.
func (h *Hub) Counters() Counters {
	return Counters{Published: h.published.Load(), Sent: h.sent.Load(), SlowConsumers: h.slow.Load()}
}

// register adds s to the index and queues its start_ack under the write
// lock, so every event the subscription sees is queued after the ack.
func (h *Hub) register(c *conn, s *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.since = h.seq.Load()
	m := h.index[s.topic]
	if m == nil {
		m = make(map[*conn]int)
		h.index[s.topic] = m
	}
	m[c]++
	h.nsubs++
	c.addSub(s)
	c.offer(item{frame: idFrame(appsync.MsgStartAck, s.id)})
}

// unregister removes s from the index and queues its complete frame.
func (h *Hub) unregister(c *conn, s *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(c, s)
	c.offer(item{frame: idFrame(appsync.MsgComplete, s.id)})
}

func (h *Hub) dropLocked(c *conn, s *sub) {
	if m := h.index[s.topic]; m != nil {
		if m[c]--; m[c] <= 0 {
			delete(m, c)
		}
		if len(m) == 0 {
			delete(h.index, s.topic)
		}
	}
	h.nsubs--
	c.removeSub(s)
}

// forget removes c and all its subscriptions.
func (h *Hub) forget(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range c.allSubs() {
		h.dropLocked(c, s)
	}
	delete(h.conns, c)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
