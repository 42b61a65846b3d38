package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// after says what the writer does once an item's frame is written.
type after uint8

const (
	afterNothing after = iota
	afterAck           // connection_ack written: start keep-alives
	afterClose         // close the connection with the item's code and reason
)

// item is one entry of a connection's outbound queue: a ready frame, or an
// event the writer renders for the connection's matching subscriptions.
type item struct {
	frame  []byte
	ev     *Event
	seq    uint64
	after  after
	code   websocket.StatusCode
	reason string
}

// sub is one registered subscription of a connection.
type sub struct {
	id     string
	idJSON []byte
	topic  topic
	since  uint64 // hub seq at registration: only later events are sent
	s      Subscription
}

// conn is one WebSocket connection. The reader (serve's goroutine) parses
// client frames; the writer goroutine writes every outbound frame from
// queue, so frames leave in the order they were queued.
type conn struct {
	h       *Hub
	ws      *websocket.Conn
	id      uint64
	remote  string
	headers map[string]string
	opened  time.Time

	// ctx ends with the connection; cancelling it drops the socket at once.
	ctx    context.Context
	cancel context.CancelFunc
	// writeCtx also ends when the connection is found slow, so a write
	// stuck on a full socket is abandoned.
	writeCtx    context.Context
	writeCancel context.CancelFunc

	queue    chan item
	slow     chan struct{}
	slowOnce sync.Once
	gap      chan struct{} // closed by Hub.Interrupt
	gapOnce  sync.Once

	mu   sync.Mutex // guards subs (reader adds/removes, writer looks up) and shown
	subs map[string]*sub
	// shown is the principal once authenticated, for Hub.Connections.
	shown any

	// Reader-only state.
	inited    bool
	failed    bool
	principal any
}

func newConn(h *Hub, ws *websocket.Conn, remote string, headers map[string]string) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	wctx, wcancel := context.WithCancel(ctx)
	return &conn{
		h:           h,
		ws:          ws,
		id:          h.nextID.Add(1),
		remote:      remote,
		headers:     headers,
		opened:      time.Now(),
		ctx:         ctx,
		cancel:      cancel,
		writeCtx:    wctx,
		writeCancel: wcancel,
		queue:       make(chan item, h.opts.SendQueue),
		slow:        make(chan struct{}),
		gap:         make(chan struct{}),
		subs:        make(map[string]*sub),
	}
}

// serve runs the connection until it ends and then releases it.
func (c *conn) serve() {
	log := c.h.log.With("conn", c.id, "remote", c.remote)
	log.Info("realtime: connection opened")

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		// However the writer ends, the reader must too: cancelling ctx
		// drops the socket under a pending Read.
		defer c.cancel()
		c.writeLoop(log)
	}()

	err := c.readLoop(log)
	dropped := c.ctx.Err() != nil // by the writer or Shutdown, not the peer

	c.cancel() // stops the writer if it is still running
	<-writerDone
	c.ws.CloseNow()
	c.h.forget(c)

	level := slog.LevelInfo
	attrs := []any{"duration", time.Since(c.opened).Round(time.Millisecond)}
	select {
	case <-c.slow:
		level = slog.LevelWarn
		attrs = append(attrs, "reason", ReasonSlowConsumer, "queue", cap(c.queue))
	default:
	}
	if st := websocket.CloseStatus(err); st != -1 {
		attrs = append(attrs, "status", int(st))
	} else if !dropped && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		attrs = append(attrs, "err", err) // not just the peer vanishing
	}
	log.Log(context.Background(), level, "realtime: connection closed", attrs...)
}

// abort drops the connection without a close handshake.
func (c *conn) abort() { c.cancel() }

// offer queues it without blocking; a full queue marks the connection as a
// slow consumer, which the writer then closes.
func (c *conn) offer(it item) {
	select {
	case c.queue <- it:
	default:
		c.slowOnce.Do(func() {
			c.h.slow.Add(1)
			close(c.slow)
			c.writeCancel()
		})
	}
}

func (c *conn) addSub(s *sub) {
	c.mu.Lock()
	c.subs[s.id] = s
	c.mu.Unlock()
}

func (c *conn) removeSub(s *sub) {
	c.mu.Lock()
	delete(c.subs, s.id)
	c.mu.Unlock()
}

func (c *conn) allSubs() []*sub {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*sub, 0, len(c.subs))
	for _, s := range c.subs {
		out = append(out, s)
	}
	return out
}

// readLoop handles client frames until the socket fails or closes.
func (c *conn) readLoop(log *slog.Logger) error {
	for {
		typ, b, err := c.ws.Read(c.ctx)
		if err != nil {
			return err
		}
		if c.failed {
			continue // connection_error sent; the writer is closing
		}
		if typ != websocket.MessageText {
			c.sendError("", appsync.Errorf(appsync.BadRequestException, "binary frames are not supported: send JSON text frames"))
			continue
		}
		c.handle(log, b)
	}
}

func (c *conn) handle(log *slog.Logger, b []byte) {
	var m appsync.Message
	if err := json.Unmarshal(b, &m); err != nil {
		c.sendError("", appsync.Errorf(appsync.BadRequestException, "malformed message: %v", err))
		return
	}
	switch m.Type {
	case appsync.MsgConnectionInit:
		c.connectionInit(log)
	case appsync.MsgStart:
		c.start(log, m)
	case appsync.MsgStop:
		c.stop(m)
	case "":
		c.sendError(m.ID, appsync.Errorf(appsync.BadRequestException, "message has no type"))
	default:
		c.sendError(m.ID, appsync.Errorf(appsync.UnsupportedOperation, "%s not supported through the realtime channel", m.Type))
	}
}

func (c *conn) connectionInit(log *slog.Logger) {
	if c.inited {
		c.sendError("", appsync.Errorf(appsync.BadRequestException, "connection already initialised"))
		return
	}
	p, err := c.h.backend.Authenticate(c.ctx, c.headers)
	if err != nil {
		e, ok := appsync.AsError(err)
		if !ok {
			log.Warn("realtime: authentication failed", "err", err)
			e = &appsync.Error{ErrorType: appsync.UnauthorizedExc, ErrorCode: 401, Message: "connection is not authorized"}
		}
		c.failed = true
		c.offer(item{frame: errorFrame(appsync.MsgConnectionError, "", e), after: afterClose, code: CloseUnauthorized, reason: ReasonUnauthorized})
		return
	}
	c.inited = true
	c.principal = p
	c.mu.Lock()
	c.shown = p
	c.mu.Unlock()
	c.offer(item{frame: c.h.ackJSON, after: afterAck})
}

func (c *conn) start(log *slog.Logger, m appsync.Message) {
	if m.ID == "" {
		c.sendError("", appsync.Errorf(appsync.BadRequestException, "start message has no id"))
		return
	}
	if !c.inited {
		c.sendError(m.ID, appsync.Errorf(appsync.BadRequestException, "start before connection_init: send connection_init first"))
		return
	}
	c.mu.Lock()
	_, dup := c.subs[m.ID]
	n := len(c.subs)
	c.mu.Unlock()
	if dup {
		c.sendError(m.ID, appsync.Errorf(appsync.BadRequestException, "subscription id %q is already in use on this connection", m.ID))
		return
	}
	if n >= c.h.opts.MaxSubscriptions {
		c.sendError(m.ID, appsync.Errorf(appsync.MaxSubscriptions, "Max number of %d subscriptions reached", c.h.opts.MaxSubscriptions))
		return
	}
	req, auth, data, err := decodeStart(m.Payload)
	if err != nil {
		c.sendError(m.ID, appsync.Errorf(appsync.BadRequestException, "%v", err))
		return
	}
	// The data string goes along for an IAM signature, which covers it.
	s, err := c.h.backend.Subscribe(appsync.ContextWithStartData(c.ctx, data), c.principal, req, auth)
	if err != nil {
		c.sendErrors(m.ID, subscribeErrors(log, err))
		return
	}
	model, op := s.Topic()
	c.h.register(c, &sub{id: m.ID, idJSON: mustJSON(m.ID), topic: topic{model, op}, s: s})
}

func subscribeErrors(log *slog.Logger, err error) []*appsync.Error {
	var list ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		return list
	}
	if e, ok := appsync.AsError(err); ok {
		return []*appsync.Error{e}
	}
	log.Warn("realtime: subscribe failed", "err", err)
	return []*appsync.Error{appsync.Errorf(appsync.InternalFailure, "subscription could not be registered")}
}

func (c *conn) stop(m appsync.Message) {
	if m.ID == "" {
		c.sendError("", appsync.Errorf(appsync.BadRequestException, "stop message has no id"))
		return
	}
	c.mu.Lock()
	s := c.subs[m.ID]
	c.mu.Unlock()
	if s == nil {
		c.sendError(m.ID, appsync.Errorf(appsync.BadRequestException, "no subscription with id %q on this connection", m.ID))
		return
	}
	c.h.unregister(c, s)
}

func (c *conn) sendError(id string, e *appsync.Error) { c.sendErrors(id, []*appsync.Error{e}) }

func (c *conn) sendErrors(id string, errs []*appsync.Error) {
	c.offer(item{frame: errorFrame(appsync.MsgError, id, errs...)})
}

// writeLoop writes queued frames and keep-alives until the connection ends,
// closing it with a status when the hub or the protocol asks to.
func (c *conn) writeLoop(log *slog.Logger) {
	initTimer := time.NewTimer(c.h.opts.InitTimeout)
	defer initTimer.Stop()
	var ka *time.Ticker
	var kaC <-chan time.Time
	defer func() {
		if ka != nil {
			ka.Stop()
		}
	}()
	var (
		matched []*sub
		buf     []byte
	)
	for {
		// A slow consumer is closed before anything else queued is sent.
		select {
		case <-c.slow:
			c.closeWith(websocket.StatusPolicyViolation, ReasonSlowConsumer)
			return
		case <-c.gap:
			c.closeWith(CloseFeedInterrupted, ReasonFeedInterrupted)
			return
		default:
		}
		select {
		case <-c.slow:
			c.closeWith(websocket.StatusPolicyViolation, ReasonSlowConsumer)
			return
		case <-c.gap:
			c.closeWith(CloseFeedInterrupted, ReasonFeedInterrupted)
			return
		case <-c.ctx.Done():
			return
		case <-c.h.shutdown:
			c.closeWith(websocket.StatusGoingAway, ReasonShutdown)
			return
		case <-initTimer.C:
			c.closeWith(CloseInitTimeout, ReasonInitTimeout)
			return
		case <-kaC:
			if !c.write(kaFrame) {
				return
			}
		case it := <-c.queue:
			if it.ev != nil {
				matched = c.matching(matched[:0], it)
				for _, s := range matched {
					var ok bool
					buf, ok = c.render(log, buf[:0], s, it.ev)
					if !ok {
						continue
					}
					// Counted before the write, so a client that read
					// the frame finds it counted.
					c.h.sent.Add(1)
					if !c.write(buf) {
						return
					}
				}
				clear(matched)
				continue
			}
			if !c.write(it.frame) {
				return
			}
			switch it.after {
			case afterAck:
				initTimer.Stop()
				if !c.write(kaFrame) {
					return
				}
				ka = time.NewTicker(c.h.opts.KeepAlive)
				kaC = ka.C
			case afterClose:
				c.closeWith(it.code, it.reason)
				return
			}
		}
	}
}

// matching appends the connection's live subscriptions that registered
// before the event was published and listen to its topic.
func (c *conn) matching(dst []*sub, it item) []*sub {
	t := topic{it.ev.Model, it.ev.Op}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.subs {
		if s.topic == t && s.since < it.seq {
			dst = append(dst, s)
		}
	}
	return dst
}

// render appends s's data frame for ev to buf; ok=false means nothing to
// send.
func (c *conn) render(log *slog.Logger, buf []byte, s *sub, ev *Event) ([]byte, bool) {
	payload, ok, err := s.s.Render(c.ctx, *ev)
	if err != nil {
		log.Error("realtime: render failed", "sub", s.id, "model", ev.Model, "op", ev.Op, "err", err)
		e, isAppSync := appsync.AsError(err)
		if !isAppSync {
			e = appsync.Errorf(appsync.InternalFailure, "subscription event could not be rendered")
		}
		return dataFrame(buf, s.idJSON, renderErrorPayload(e)), true
	}
	if !ok {
		return buf, false
	}
	if len(payload) == 0 {
		log.Error("realtime: Render returned ok with an empty payload", "sub", s.id, "model", ev.Model, "op", ev.Op)
		return dataFrame(buf, s.idJSON, renderErrorPayload(appsync.Errorf(appsync.InternalFailure, "subscription event could not be rendered"))), true
	}
	return dataFrame(buf, s.idJSON, payload), true
}

// write sends one text frame; false means the connection is gone.
func (c *conn) write(frame []byte) bool {
	ctx, cancel := context.WithTimeout(c.writeCtx, c.h.opts.WriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, frame) == nil
}

func (c *conn) closeWith(code websocket.StatusCode, reason string) {
	// An error means the peer did not complete the close handshake; the
	// socket is closed all the same, and the reader reports the end.
	_ = c.ws.Close(code, reason)
}
