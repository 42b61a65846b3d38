// Package rtclient is a client of AppSync's real-time WebSocket protocol
// (sub-protocol "graphql-ws", AppSync flavour), as spoken by AWS AppSync and
// `dsgen serve`. The sync engine's subscription processor uses it.
//
// Dial opens one connection: it sends the connection's authorization
// headers as the "header-<base64url>" sub-protocol (as amplify-js v6 does),
// sends connection_init and waits for connection_ack. Subscribe starts one
// subscription and waits for its start_ack; its events arrive on a channel
// in the order the server sent them.
//
// A Conn runs one reader goroutine. It never blocks on a subscriber: each
// subscription has a bounded buffer, and when one is full the connection is
// failed with ErrSlowConsumer rather than an event being dropped, so the
// caller reconnects and delta-syncs and nothing is lost. Any frame from the
// server counts as liveness; after connectionTimeoutMs without one the
// connection fails with ErrKeepAliveTimeout. When the connection ends for
// any reason, every subscription's Events channel closes after the events
// already received, and Done closes once the socket and the reader are
// gone. Reconnecting is the caller's job.
package rtclient

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// Options configures Dial. Zero values take the defaults.
type Options struct {
	// Header returns the authorization headers, e.g. {"x-api-key": ...}
	// or {"Authorization": <JWT>}. It is called once for the connection
	// and once per Subscribe, so refreshed tokens are picked up. When the
	// result has no "host", the host of the dial URL is added: right for
	// dsgen serve and custom domains; for an AppSync endpoint set it to
	// the host of the GraphQL (appsync-api) URL, as AppSync requires.
	// For a Subscribe, ctx carries the start message's data string
	// (appsync.StartData), which an IAM signature covers.
	Header func(ctx context.Context) (map[string]string, error)
	// AckTimeout bounds the WebSocket upgrade plus the wait for
	// connection_ack (default 15 s, as amplify-js).
	AckTimeout time.Duration
	// StartTimeout bounds the wait for start_ack (default 15 s).
	StartTimeout time.Duration
	// WriteTimeout bounds one frame write (default 10 s); a write that
	// times out fails the connection.
	WriteTimeout time.Duration
	// Buffer is the number of events each subscription holds for its
	// reader (default 1024). When one is full as another event arrives,
	// the connection fails with ErrSlowConsumer.
	Buffer int
	// ReadLimit is the largest frame accepted, in bytes (default 1 MiB;
	// AppSync's limit is 240 KiB). A larger one fails the connection.
	ReadLimit int64
	// HTTPClient performs the upgrade, e.g. to trust a test CA (default
	// http.DefaultClient).
	HTTPClient *http.Client
	// Logger receives the connection's diagnostics (default
	// slog.Default()).
	Logger *slog.Logger
}

// Defaults of Options, and the keep-alive timeout used when connection_ack
// names none (AppSync's own value).
const (
	DefaultAckTimeout        = 15 * time.Second
	DefaultStartTimeout      = 15 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultBuffer            = 1024
	DefaultReadLimit         = 1 << 20
	DefaultConnectionTimeout = 5 * time.Minute
)

func (o Options) withDefaults() (Options, error) {
	if o.AckTimeout < 0 || o.StartTimeout < 0 || o.WriteTimeout < 0 || o.Buffer < 0 || o.ReadLimit < 0 {
		return o, fmt.Errorf("rtclient: options: negative timeout, buffer or read limit (AckTimeout %v, StartTimeout %v, WriteTimeout %v, Buffer %d, ReadLimit %d)",
			o.AckTimeout, o.StartTimeout, o.WriteTimeout, o.Buffer, o.ReadLimit)
	}
	o.AckTimeout = cmp.Or(o.AckTimeout, DefaultAckTimeout)
	o.StartTimeout = cmp.Or(o.StartTimeout, DefaultStartTimeout)
	o.WriteTimeout = cmp.Or(o.WriteTimeout, DefaultWriteTimeout)
	o.Buffer = cmp.Or(o.Buffer, DefaultBuffer)
	o.ReadLimit = cmp.Or(o.ReadLimit, DefaultReadLimit)
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// Conn is one real-time connection. Its methods are safe for concurrent
// use.
type Conn struct {
	ws      *websocket.Conn
	opts    Options
	log     *slog.Logger
	host    string
	timeout time.Duration

	// ctx ends when the connection fails; cancelling it aborts the read
	// and any write under way.
	ctx       context.Context
	cancel    context.CancelFunc
	watchdog  *time.Timer
	done      chan struct{}
	closeOnce sync.Once

	mu   sync.Mutex
	err  error // why the connection ended; the first cause wins
	subs map[string]*Subscription
}

// Dial connects to the real-time endpoint at rawURL (ws:// or wss://; see
// appsync.RealtimeURL) and completes the connection_init handshake. A
// connection_error comes back as a *ConnectionError (errors.Is(err,
// ErrUnauthorized) for refused credentials); no ack within
// Options.AckTimeout as ErrTimeout. The connection outlives ctx: end it
// with Close.
func Dial(ctx context.Context, rawURL string, opts Options) (*Conn, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("rtclient: dial: bad URL %q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return nil, fmt.Errorf("rtclient: dial: URL %q: scheme %q is not ws or wss", rawURL, u.Scheme)
	}
	c := &Conn{opts: opts, log: opts.Logger.With("url", u.Redacted()), host: u.Host, done: make(chan struct{}), subs: make(map[string]*Subscription)}

	hctx, cancel := context.WithTimeout(ctx, opts.AckTimeout)
	defer cancel()
	hdr, err := c.authHeaders(hctx)
	if err != nil {
		return nil, fmt.Errorf("rtclient: dial: %w", err)
	}
	proto, err := appsync.EncodeHeaderProtocol(hdr)
	if err != nil {
		return nil, fmt.Errorf("rtclient: dial: %w", err)
	}
	ws, resp, err := websocket.Dial(hctx, rawURL, &websocket.DialOptions{
		HTTPClient:   opts.HTTPClient,
		Subprotocols: []string{appsync.Subprotocol, proto},
	})
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
			return nil, fmt.Errorf("rtclient: dial %s: HTTP %d: %w: %w", u.Redacted(), resp.StatusCode, ErrUnauthorized, err)
		}
		return nil, dialErr(ctx, hctx, u, "upgrade", err)
	}
	if p := ws.Subprotocol(); p != appsync.Subprotocol {
		ws.CloseNow()
		return nil, fmt.Errorf("rtclient: dial %s: %w: server chose sub-protocol %q, want %q", u.Redacted(), ErrProtocol, p, appsync.Subprotocol)
	}
	ws.SetReadLimit(opts.ReadLimit)
	c.ws = ws

	timeout, err := c.handshake(hctx)
	if err != nil {
		ws.CloseNow()
		return nil, dialErr(ctx, hctx, u, "handshake", err)
	}
	c.timeout = timeout
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.watchdog = time.AfterFunc(timeout, func() {
		c.fail(fmt.Errorf("%w: no frame from the server for %v", ErrKeepAliveTimeout, timeout))
	})
	go c.run()
	return c, nil
}

// dialErr names the step that failed; a handshake cut short by AckTimeout
// (not by the caller's ctx) becomes ErrTimeout.
func dialErr(ctx, hctx context.Context, u *url.URL, step string, err error) error {
	var ce *ConnectionError
	if errors.As(err, &ce) {
		return err // says what it is; the server's errors say why
	}
	if hctx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("rtclient: dial %s: %w: no connection_ack before the ack timeout (%s): %w", u.Redacted(), ErrTimeout, step, err)
	}
	return fmt.Errorf("rtclient: dial %s: %s: %w", u.Redacted(), step, err)
}

// handshake sends connection_init and waits for connection_ack, returning
// the keep-alive timeout it announces.
func (c *Conn) handshake(ctx context.Context) (time.Duration, error) {
	init, err := json.Marshal(appsync.Message{Type: appsync.MsgConnectionInit})
	if err != nil {
		return 0, err
	}
	if err := c.ws.Write(ctx, websocket.MessageText, init); err != nil {
		return 0, fmt.Errorf("send connection_init: %w", err)
	}
	for {
		typ, b, err := c.ws.Read(ctx)
		if err != nil {
			return 0, fmt.Errorf("wait for connection_ack: %w", closeErr(err))
		}
		if typ != websocket.MessageText {
			return 0, fmt.Errorf("%w: binary frame before connection_ack", ErrProtocol)
		}
		var m appsync.Message
		if err := json.Unmarshal(b, &m); err != nil {
			return 0, fmt.Errorf("%w: frame before connection_ack is not a JSON message: %v", ErrProtocol, err)
		}
		switch m.Type {
		case appsync.MsgConnectionAck:
			var p appsync.ConnectionAckPayload
			if len(m.Payload) > 0 {
				if err := json.Unmarshal(m.Payload, &p); err != nil {
					return 0, fmt.Errorf("%w: connection_ack payload: %v", ErrProtocol, err)
				}
			}
			if p.ConnectionTimeoutMs <= 0 {
				return DefaultConnectionTimeout, nil
			}
			return time.Duration(p.ConnectionTimeoutMs) * time.Millisecond, nil
		case appsync.MsgConnectionError, appsync.MsgError:
			return 0, &ConnectionError{Errors: decodeErrors(m.Payload)}
		default:
			// ka and anything else before the ack carry no decision.
			c.log.Debug("rtclient: frame before connection_ack ignored", "type", m.Type)
		}
	}
}

// authHeaders calls Options.Header and adds host when it is missing.
func (c *Conn) authHeaders(ctx context.Context) (map[string]string, error) {
	h := map[string]string{}
	if c.opts.Header != nil {
		got, err := c.opts.Header(ctx)
		if err != nil {
			return nil, fmt.Errorf("auth headers: %w", err)
		}
		for k, v := range got {
			h[k] = v
		}
	}
	for k := range h {
		if strings.EqualFold(k, "host") {
			return h, nil
		}
	}
	h["host"] = c.host
	return h, nil
}

// ConnectionTimeout is the keep-alive timeout the server announced in
// connection_ack (DefaultConnectionTimeout when it named none).
func (c *Conn) ConnectionTimeout() time.Duration { return c.timeout }

// Done is closed once the connection has ended and its reader goroutine has
// returned; every subscription's Events channel is closed by then.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err reports why the connection ended: ErrClosed after Close, a
// *CloseError when the server closed it, ErrKeepAliveTimeout,
// ErrSlowConsumer, a *ConnectionError, ErrProtocol, or a read or write
// error. It is nil while the connection is up.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close stops every subscription, closes the connection with status 1000
// and returns once its goroutine has ended. It is idempotent; after the
// connection has already failed it only waits.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		if !c.setErr(ErrClosed) {
			return // already failed: the reader is winding down
		}
		// Stop frames let the server release the subscriptions before the
		// close arrives, as amplify-js does; they are best effort.
		for _, id := range c.liveIDs() {
			if c.writeFrame(stopFrame(id)) != nil {
				break
			}
		}
		_ = c.ws.Close(websocket.StatusNormalClosure, "")
		c.cancel()
	})
	<-c.done
	return nil
}

func (c *Conn) liveIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, 0, len(c.subs))
	for id := range c.subs {
		ids = append(ids, id)
	}
	return ids
}

// setErr records why the connection ends; it reports whether err was the
// first cause.
func (c *Conn) setErr(err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return false
	}
	c.err = err
	return true
}

// fail ends the connection with err (unless it already has a cause). It
// drops the socket at once: the cause is either a dead peer (keep-alive)
// or a broken write, and there is nobody to shake hands with.
func (c *Conn) fail(err error) {
	c.setErr(err)
	c.cancel()
	_ = c.ws.CloseNow()
}

// writeFrame sends one text frame; a failed write fails the connection
// (a half-written frame leaves nothing to resume).
func (c *Conn) writeFrame(b []byte) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.WriteTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		if cerr := c.Err(); cerr != nil {
			return cerr
		}
		err = fmt.Errorf("rtclient: write: %w", err)
		c.fail(err)
		return err
	}
	return nil
}

// run is the reader goroutine: it handles frames until the connection ends,
// then finishes every subscription and releases the socket.
func (c *Conn) run() {
	defer close(c.done)
	err := c.readLoop()
	c.watchdog.Stop()
	c.setErr(err)

	c.mu.Lock()
	cause := c.err
	for _, s := range c.subs {
		s.finishLocked(cause)
	}
	c.mu.Unlock()

	// Tell the server why when the end is ours; otherwise the socket is
	// already closed or dead and the handshake would only wait.
	switch {
	case errors.Is(err, ErrSlowConsumer):
		_ = c.ws.Close(websocket.StatusPolicyViolation, "slow consumer")
	case errors.Is(err, ErrProtocol):
		_ = c.ws.Close(websocket.StatusProtocolError, "protocol violation")
	default:
		_ = c.ws.CloseNow()
	}
	c.cancel()
	c.log.Debug("rtclient: connection ended", "err", cause)
}

func (c *Conn) readLoop() error {
	var buf bytes.Buffer // reused: decoding copies what it keeps
	for {
		// No per-read context: fail and Close end a read by closing the
		// socket, which saves a timer per frame.
		typ, r, err := c.ws.Reader(context.Background())
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			if cause := c.Err(); cause != nil {
				return cause
			}
			return closeErr(err)
		}
		c.watchdog.Reset(c.timeout) // any frame is liveness, as in amplify-js
		if typ != websocket.MessageText {
			return fmt.Errorf("%w: binary frame", ErrProtocol)
		}
		if err := c.handle(buf.Bytes()); err != nil {
			return err
		}
	}
}

// closeErr turns a close frame into a *CloseError and wraps the rest.
func closeErr(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: int(ce.Code), Reason: ce.Reason}
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("rtclient: connection lost: %w", err)
	}
	return fmt.Errorf("rtclient: read: %w", err)
}

// inFrame is a server frame decoded in one pass: the payload fields of
// every frame type the client acts on after the handshake.
type inFrame struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Payload *struct {
		// Data holds a data frame's root field; a subscription has one.
		Data   map[string]json.RawMessage `json:"data"`
		Errors json.RawMessage            `json:"errors"`
	} `json:"payload"`
}

// handle dispatches one server frame; an error ends the connection.
func (c *Conn) handle(b []byte) error {
	var m inFrame
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%w: frame is not an AppSync message: %v", ErrProtocol, err)
	}
	var errs json.RawMessage
	if m.Payload != nil {
		errs = m.Payload.Errors
	}
	switch m.Type {
	case appsync.MsgKeepAlive, appsync.MsgConnectionAck:
	case appsync.MsgStartAck:
		c.started(m.ID)
	case appsync.MsgData:
		ev, err := dataEvent(m)
		if err != nil {
			return fmt.Errorf("%w: data frame for subscription %q: %v", ErrProtocol, m.ID, err)
		}
		return c.deliver(m.ID, ev)
	case appsync.MsgError:
		list := errorsOrDefault(errs)
		if m.ID == "" {
			// AppSync sends throttling errors without an id; they end
			// nothing.
			c.log.Warn("rtclient: server error", "err", joinErrors(list))
			return nil
		}
		c.rejected(m.ID, list)
	case appsync.MsgComplete:
		c.completed(m.ID)
	case appsync.MsgConnectionError:
		return &ConnectionError{Errors: errorsOrDefault(errs)}
	default:
		c.log.Debug("rtclient: unknown frame type ignored", "type", m.Type, "id", m.ID)
	}
	return nil
}
