package syncengine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/dsgen/dsgen/runtime/appsync"
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
	conn, err := rtclient.Dial(sctx, e.cfg.RealtimeURL, rtclient.Options{
		Header:     func(ctx context.Context) (map[string]string, error) { return e.client.RealtimeHeaders(ctx) },
		HTTPClient: e.cfg.HTTPClient,
		Logger:     e.log,
	})
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
	for _, level := range e.levels {
		for _, m := range level {
			d := e.docs[m.Name]
			for _, q := range []string{d.OnCreate, d.OnUpdate, d.OnDelete} {
				if q == "" {
					continue
				}
				sub, err := conn.Subscribe(sctx, appsync.Request{Query: q})
				if err != nil {
					return false, fmt.Errorf("subscribe %s: %w", m.Name, err)
				}
				fwd.Add(1)
				go func(model string) {
					defer fwd.Done()
					for {
						var ev rtclient.Event
						var ok bool
						select {
						case ev, ok = <-sub.Events():
							if !ok {
								return
							}
						case <-sctx.Done():
							return
						}
						if len(ev.Errors) > 0 {
							e.log.Warn("subscription event with errors", "model", model, "error", ev.Errors[0].Message)
							continue
						}
						item, err := remarshal(ev.Data)
						if err != nil || item == nil {
							continue
						}
						select {
						case events <- incoming{model, item}:
						case <-sctx.Done():
							return
						}
					}
				}(m.Name)
			}
		}
	}
	e.events.emit(SubscriptionsEstablished{})

	// Buffer events while syncing.
	var bufMu sync.Mutex
	var buffer []incoming
	buffering := make(chan struct{})
	bufDone := make(chan struct{})
	go func() {
		defer close(bufDone)
		for {
			select {
			case ev := <-events:
				bufMu.Lock()
				buffer = append(buffer, ev)
				bufMu.Unlock()
			case <-buffering:
				return
			case <-sctx.Done():
				return
			}
		}
	}()

	if err := e.syncAll(sctx); err != nil {
		return false, err
	}
	e.setOnline(true)
	if err := e.drain(sctx); err != nil {
		return false, err
	}
	close(buffering)
	<-bufDone
	bufMu.Lock()
	pending := buffer
	buffer = nil
	bufMu.Unlock()
	for _, ev := range pending {
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
