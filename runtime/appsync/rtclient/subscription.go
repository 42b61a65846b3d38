package rtclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// Event is one data frame of a subscription.
type Event struct {
	// Field is the subscription's root field, e.g. "onCreatePost".
	Field string
	// Data is that field's value, e.g. the created item; nil when the
	// frame carries null or no data.
	Data json.RawMessage
	// Errors are the frame's GraphQL errors: the server could not resolve
	// this event for the subscriber (AppSync's shape for a failed
	// subscription resolver). The subscription stays open.
	Errors []*appsync.Error
}

// Subscription is one started subscription on a Conn.
type Subscription struct {
	c      *Conn
	id     string
	events chan Event
	ack    chan struct{} // closed on start_ack
	done   chan struct{} // closed with events, when the subscription ends

	// Guarded by c.mu.
	acked    bool
	finished bool
	err      error
}

// Subscribe starts a subscription with a fresh UUID id and the
// authorization headers from Options.Header, and waits for start_ack
// (Options.StartTimeout, or ctx). An error frame in reply comes back as a
// *SubscribeError; a missing ack as ErrTimeout; a connection that ends
// meanwhile as its Err.
func (c *Conn) Subscribe(ctx context.Context, req appsync.Request) (*Subscription, error) {
	if strings.TrimSpace(req.Query) == "" {
		return nil, errors.New("rtclient: subscribe: the request has no query")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("rtclient: subscribe: %w", err)
	}
	data, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("rtclient: subscribe: encode request: %w", err)
	}
	// The data goes along for an IAM signature, which covers it.
	auth, err := c.authHeaders(appsync.ContextWithStartData(ctx, string(data)))
	if err != nil {
		return nil, fmt.Errorf("rtclient: subscribe: %w", err)
	}
	payload, err := json.Marshal(appsync.StartPayload{Data: string(data), Extensions: appsync.StartExtensions{Authorization: auth}})
	if err != nil {
		return nil, fmt.Errorf("rtclient: subscribe: %w", err)
	}
	s := &Subscription{
		c:      c,
		id:     scalar.NewID(),
		events: make(chan Event, c.opts.Buffer),
		ack:    make(chan struct{}),
		done:   make(chan struct{}),
	}
	frame, err := json.Marshal(appsync.Message{ID: s.id, Type: appsync.MsgStart, Payload: payload})
	if err != nil {
		return nil, fmt.Errorf("rtclient: subscribe: %w", err)
	}

	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, fmt.Errorf("rtclient: subscribe: %w", err)
	}
	c.subs[s.id] = s
	c.mu.Unlock()

	if err := c.writeFrame(frame); err != nil {
		// The connection has failed; its reader finishes s.
		return nil, fmt.Errorf("rtclient: subscribe: %w", err)
	}
	timer := time.NewTimer(c.opts.StartTimeout)
	defer timer.Stop()
	select {
	case <-s.ack:
		return s, nil
	case <-s.done:
		select {
		case <-s.ack:
			// Started, then ended at once: the caller sees the end on
			// Events and Err like any other.
			return s, nil
		default:
		}
		var se *SubscribeError
		switch {
		case s.err == nil:
			return nil, fmt.Errorf("rtclient: subscribe: %w: complete before start_ack", ErrProtocol)
		case errors.As(s.err, &se):
			return nil, se
		}
		return nil, fmt.Errorf("rtclient: subscribe: %w", s.err)
	case <-ctx.Done():
		c.abandon(s)
		return nil, fmt.Errorf("rtclient: subscribe: %w", ctx.Err())
	case <-timer.C:
		c.abandon(s)
		return nil, fmt.Errorf("rtclient: subscribe: %w: no start_ack within %v", ErrTimeout, c.opts.StartTimeout)
	}
}

// abandon forgets a subscription whose start was given up and tells the
// server, which may still register it, to stop it.
func (c *Conn) abandon(s *Subscription) {
	c.mu.Lock()
	s.finishLocked(errors.New("rtclient: subscription abandoned before start_ack"))
	live := c.err == nil
	c.mu.Unlock()
	if live {
		_ = c.writeFrame(stopFrame(s.id))
	}
}

// ID is the subscription's id on the connection.
func (s *Subscription) ID() string { return s.id }

// Events delivers the subscription's data frames in the order the server
// sent them. It is closed when the subscription ends (Stop, a server
// error, or the connection ending), after the events already received;
// Err then says why.
func (s *Subscription) Events() <-chan Event { return s.events }

// Err reports why the subscription ended: nil while it runs and after Stop,
// a *SubscribeError when the server ended it, otherwise the connection's
// Err.
func (s *Subscription) Err() error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.err
}

// Stop sends stop and waits for the server's complete, or for ctx. Events
// is closed when it returns. Stop is idempotent, and returns nil when the
// connection has already ended (the subscription is gone either way).
func (s *Subscription) Stop(ctx context.Context) error {
	c := s.c
	c.mu.Lock()
	if s.finished {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	// A failed write fails the connection, whose reader then finishes s.
	_ = c.writeFrame(stopFrame(s.id))
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		s.finishLocked(fmt.Errorf("rtclient: subscription %s stopped without complete: %w", s.id, ctx.Err()))
		c.mu.Unlock()
		return fmt.Errorf("rtclient: stop %s: no complete: %w", s.id, ctx.Err())
	}
}

// finishLocked ends s with err (nil: stopped); c.mu must be held.
func (s *Subscription) finishLocked(err error) {
	if s.finished {
		return
	}
	s.finished = true
	s.err = err
	delete(s.c.subs, s.id)
	close(s.events)
	close(s.done)
}

// started handles start_ack.
func (c *Conn) started(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.subs[id]
	if s == nil || s.acked {
		c.log.Debug("rtclient: start_ack for no pending subscription", "id", id)
		return
	}
	s.acked = true
	close(s.ack)
}

// deliver hands ev to its subscription without blocking; a full buffer
// fails the connection instead of dropping the event.
func (c *Conn) deliver(id string, ev Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.subs[id]
	if s == nil {
		// Late events after a stop, or for an id we never started.
		c.log.Debug("rtclient: data for no subscription ignored", "id", id)
		return nil
	}
	select {
	case s.events <- ev:
		return nil
	default:
		return fmt.Errorf("%w: subscription %s (%s) has %d undelivered events", ErrSlowConsumer, id, ev.Field, cap(s.events))
	}
}

// rejected handles an error frame with an id: a failed start, or the
// server ending an active subscription.
func (c *Conn) rejected(id string, errs []*appsync.Error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.subs[id]
	if s == nil {
		c.log.Debug("rtclient: error for no subscription", "id", id, "err", joinErrors(errs))
		return
	}
	s.finishLocked(&SubscribeError{ID: id, Errors: errs})
}

// completed handles complete, the answer to stop.
func (c *Conn) completed(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.subs[id]; s != nil {
		s.finishLocked(nil)
	}
}

func stopFrame(id string) []byte {
	b, _ := json.Marshal(appsync.Message{ID: id, Type: appsync.MsgStop}) // fixed shape: cannot fail
	return b
}

// dataEvent turns a data frame into an Event.
func dataEvent(m inFrame) (Event, error) {
	if m.Payload == nil {
		return Event{}, errors.New("no payload")
	}
	var ev Event
	ev.Errors = decodeErrorList(m.Payload.Errors)
	if len(m.Payload.Data) > 1 {
		return Event{}, fmt.Errorf("payload.data has %d root fields, a subscription has one", len(m.Payload.Data))
	}
	for k, v := range m.Payload.Data {
		ev.Field = k
		if string(v) != "null" {
			ev.Data = v
		}
	}
	if ev.Field == "" && len(ev.Errors) == 0 {
		return Event{}, errors.New("payload has neither data nor errors")
	}
	return ev, nil
}

// decodeErrors reads the errors of an error or connection_error payload
// (see errorsOrDefault).
func decodeErrors(payload json.RawMessage) []*appsync.Error {
	var p struct {
		Errors json.RawMessage `json:"errors"`
	}
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &p); err != nil {
			return []*appsync.Error{{ErrorType: appsync.InternalFailure, Message: fmt.Sprintf("unreadable error payload: %v", err)}}
		}
	}
	return errorsOrDefault(p.Errors)
}

// errorsOrDefault decodes errors, never returning an empty list: a frame
// that says it failed failed.
func errorsOrDefault(raw json.RawMessage) []*appsync.Error {
	errs := decodeErrorList(raw)
	if len(errs) == 0 {
		return []*appsync.Error{{ErrorType: appsync.InternalFailure, Message: "the server sent an error without detail"}}
	}
	return errs
}

// decodeErrorList accepts an array of errors or, as AppSync sends for
// throttling, a single error object.
func decodeErrorList(raw json.RawMessage) []*appsync.Error {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var list []*appsync.Error
	switch raw[0] {
	case '[':
		if err := json.Unmarshal(raw, &list); err != nil {
			return []*appsync.Error{{ErrorType: appsync.InternalFailure, Message: fmt.Sprintf("unreadable errors: %v", err)}}
		}
	case '{':
		var e appsync.Error
		if err := json.Unmarshal(raw, &e); err != nil {
			return []*appsync.Error{{ErrorType: appsync.InternalFailure, Message: fmt.Sprintf("unreadable error: %v", err)}}
		}
		list = []*appsync.Error{&e}
	default:
		return []*appsync.Error{{ErrorType: appsync.InternalFailure, Message: "errors is neither a list nor an object"}}
	}
	out := list[:0]
	for _, e := range list {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}
