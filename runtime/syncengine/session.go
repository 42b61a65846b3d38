package syncengine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/filter"
	"github.com/dsgen/dsgen/runtime/appsync/rtclient"
)

func unmarshalNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// incoming is one subscription event.
type incoming struct {
	model string
	item  map[string]any
}

// session runs one connection: subscriptions, sync queries, outbox drain,
// buffered events, then steady state until the connection ends. It reports
// whether it got as far as ready.
func (e *Engine) session(ctx context.Context, ready func()) (bool, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, err := e.dial(sctx)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()

	// Every event goes through one channel, in arrival order; until the
	// sync is done they are buffered.
	events := make(chan incoming, 1024)
	var fwd sync.WaitGroup
	defer fwd.Wait()
	defer cancel()
	if err := e.subscribe(sctx, conn, events, &fwd); err != nil {
		return false, err
	}
	e.events.emit(SubscriptionsEstablished{})

	buffered := buffer(sctx, events)
	if err := e.syncAll(sctx); err != nil {
		return false, err
	}
	e.setOnline(true)
	if err := e.drain(sctx); err != nil {
		return false, err
	}
	for _, ev := range buffered() {
		e.apply(sctx, ev)
	}
	e.events.emit(Ready{})
	ready()

	// Steady state: mutations go out as they are queued, events come in,
	// until the connection ends.
	mutErr := make(chan error, 1)
	go func() { mutErr <- e.processMutations(sctx) }()
	for {
		select {
		case ev := <-events:
			e.apply(sctx, ev)
		case <-conn.Done():
			cancel()
			<-mutErr
			return true, conn.Err()
		case err := <-mutErr:
			cancel()
			return true, err
		case <-ctx.Done():
			cancel()
			<-mutErr
			return true, ctx.Err()
		}
	}
}

// subscribe starts every model's subscriptions on conn, all at once (one
// round trip for the lot instead of one each), each with a goroutine
// (counted in fwd, stopped by ctx) that forwards its events to events. It
// returns once every one is acknowledged, or with the first error.
func (e *Engine) subscribe(ctx context.Context, conn *rtclient.Conn, events chan<- incoming, fwd *sync.WaitGroup) error {
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for _, level := range e.levels {
		for _, m := range level {
			d := e.docs[m.Name]
			ef, err := e.eventFilter(m.Name)
			if err != nil {
				return err
			}
			fields, docs, vars := []string{d.OnCreateField, d.OnUpdateField, d.OnDeleteField}, []string{d.OnCreate, d.OnUpdate, d.OnDelete}, map[string]any(nil)
			if e.v1 && d.OwnerField != "" && e.cfg.Owner != "" {
				// v1 owner auth: the subscriptions take the owner.
				docs, vars = []string{d.OnCreateOwner, d.OnUpdateOwner, d.OnDeleteOwner}, map[string]any{d.OwnerField: e.cfg.Owner}
			}
			for i, q := range docs {
				if q == "" {
					continue
				}
				wg.Go(func() {
					listen := func(q string, vars map[string]any) (*rtclient.Subscription, error) {
						return withAuth(e, m.Name, opListen, func(c authChoice) (*rtclient.Subscription, error) {
							return conn.Subscribe(context.WithValue(ctx, subAuthKey{}, c), appsync.Request{Query: q, Variables: vars})
						})
					}
					var sub *rtclient.Subscription
					var err error
					if ef.sent != nil {
						sub, err = listen(d.Subscription(fields[i], true, ""), map[string]any{"filter": ef.sent})
						var se *rtclient.SubscribeError
						if errors.As(err, &se) && !refused(err) {
							e.log.Info("the backend refused the subscription's filter; the engine filters the events itself", "model", m.Name, "subscription", fields[i], "error", err)
							sub, err = listen(q, vars)
						}
					} else {
						sub, err = listen(q, vars)
					}
					if e.auth.skippable(err) {
						e.log.Warn("no configured auth mode may subscribe to the model; its changes arrive at the next sync", "model", m.Name, "error", err)
						return
					}
					if err != nil {
						errOnce.Do(func() { firstErr = fmt.Errorf("subscribe %s: %w", m.Name, err) })
						return
					}
					fwd.Go(func() { e.forward(ctx, m.Name, sub, events, ef.match) })
				})
			}
		}
	}
	// Every fwd.Go happens before this returns (and so before fwd.Wait).
	wg.Wait()
	return firstErr
}

// forward passes sub's events, as items, to events until sub or ctx ends;
// with match, only the items it matches (selective sync).
func (e *Engine) forward(ctx context.Context, model string, sub *rtclient.Subscription, events chan<- incoming, match *filter.Filter) {
	for {
		var ev rtclient.Event
		var ok bool
		select {
		case ev, ok = <-sub.Events():
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		}
		if len(ev.Errors) > 0 {
			// A partial record (fields the caller may not read come back
			// null with an error) would erase those fields locally.
			e.log.Warn("subscription event with errors", "model", model, "error", ev.Errors[0].Message)
			e.events.emit(NonApplicableDataReceived{Model: model, Errors: ev.Errors})
			continue
		}
		item, err := remarshal(ev.Data)
		if err != nil || item == nil || !match.Match(item) {
			continue
		}
		select {
		case events <- incoming{model, item}:
		case <-ctx.Done():
			return
		}
	}
}

// buffer collects events in a goroutine until the returned function is
// called (or ctx ends); the function stops the goroutine and returns what
// it collected, in arrival order.
func buffer(ctx context.Context, events <-chan incoming) (stop func() []incoming) {
	var buf []incoming
	stopping := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case ev := <-events:
				buf = append(buf, ev)
			case <-stopping:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() []incoming {
		close(stopping)
		<-done // buf is the goroutine's until it is done
		return buf
	}
}

// apply writes one subscription event to the store (version-gated, held
// back while a local mutation for the record is pending).
func (e *Engine) apply(ctx context.Context, ev incoming) {
	res, err := e.store.ApplyRemote(ctx, ev.model, []map[string]any{ev.item})
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			e.log.Warn("applying a subscription event failed", "model", ev.model, "error", err)
		}
		return
	}
	for _, r := range res.Rejected {
		e.log.Warn("the backend sent a record that does not fit the schema", "model", ev.model, "error", r)
	}
}
