package datastore

import (
	"context"
	"fmt"

	"github.com/dsgen/dsgen/runtime/codec"
)

// StoreChange is one committed change to a record of any model, as
// Store.Observe delivers it (Amplify's DataStore.observe() with no model).
type StoreChange struct {
	// Model is the GraphQL name of the record's model.
	Model string
	Op    Op
	// Element is the record after the change; for OpDelete, the record as
	// it was. It is the generated type (*model.Post …) when the model's
	// repository was bound to the store (generated Open does it for every
	// model), else the record as a JSON-shaped map[string]any. Each
	// observer gets its own copy.
	Element any
	// FromSync is true when the change came from the sync engine rather
	// than a local write.
	FromSync bool
	// Err is set on the last value of a channel the store had to end:
	// ErrSlowConsumer. Element is nil then.
	Err error
}

// ObserveOption tunes Store.Observe.
type ObserveOption func(*observeOptions)

type observeOptions struct {
	local bool
	gate  func() bool
}

// LocalChanges makes Store.Observe deliver only the app's own writes, not
// the records the sync engine applies: those are neither queued nor
// decoded, so a base sync of many records costs such an observer nothing.
func LocalChanges() ObserveOption { return func(o *observeOptions) { o.local = true } }

// ObserveIf makes Store.Observe skip the changes committed while cond
// returns false: they are neither queued nor decoded, so an observer that
// only matters while someone listens to it costs a writer nothing
// meanwhile (the sync engine's OutboxMutationEnqueued). cond is called on
// every commit with the store's commit lock held: it must be fast (an
// atomic load) and must not call into the store.
func ObserveIf(cond func() bool) ObserveOption {
	return func(o *observeOptions) { o.gate = cond }
}

// decoder reads a stored record of one model into its generated type.
type decoder func(data []byte) (any, error)

// register lets Store.Observe decode records of m into *T. Bind calls it
// for repositories bound to the store.
func register[T any](s *Store, m *Model[T]) {
	name := m.Meta.Name
	if _, ok := s.hub.decoders.Load(name); ok {
		return
	}
	s.hub.decoders.Store(name, decoder(func(data []byte) (any, error) {
		v := new(T)
		var d codec.Decoder
		d.Reset(data)
		if err := m.Decode(&d, v); err != nil {
			return nil, fmt.Errorf("datastore: reading %s: %w", name, err)
		}
		return v, nil
	}))
}

// element decodes a committed event for Store.Observe.
func (s *Store) element(ev event) (any, error) {
	if d, ok := s.hub.decoders.Load(ev.table.Model.Name); ok {
		return d.(decoder)(ev.data)
	}
	return codec.DecodeMap(s.schema, ev.table.Model.Fields, ev.data)
}

// Observe delivers every committed change to every model's records, in
// commit order across models, until ctx ends or the store closes or is
// cleared; then the channel is closed. Changes from a Batch arrive
// together, after it commits.
//
// It has Repo.Observe's slow-consumer rule: writers never wait; once more
// than ObserveBacklog changes wait for a reader, the store drops them and
// ends the channel with a final StoreChange whose Err is ErrSlowConsumer.
// The channel is also closed when Observe cannot start (closed store).
func (s *Store) Observe(ctx context.Context, opts ...ObserveOption) <-chan StoreChange {
	var o observeOptions
	for _, opt := range opts {
		opt(&o)
	}
	out := make(chan StoreChange)
	if err := s.observeAll(ctx, o, func(q *queue) {
		defer close(out)
		deliver(ctx, s.done, q, out, func(ev event) (StoreChange, bool) {
			v, err := s.element(ev)
			if err != nil {
				return StoreChange{}, false // records that fail to decode were refused on write
			}
			return StoreChange{Model: ev.table.Model.Name, Op: ev.op, Element: v, FromSync: ev.fromSync}, true
		}, StoreChange{Err: ErrSlowConsumer})
	}); err != nil {
		close(out)
	}
	return out
}

// observeAll registers a store-wide observer goroutine run(q) that ends
// with ctx, the store or its queue.
func (s *Store) observeAll(ctx context.Context, o observeOptions, run func(q *queue)) error {
	if err := s.live(ctx); err != nil {
		return err
	}
	s.mu.Lock() // orders wg.Add before Close's wg.Wait
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	q := &queue{limit: s.cfg.backlog, wake: make(chan struct{}, 1), local: o.local, gate: o.gate}
	s.hub.mu.Lock()
	s.hub.all[q] = struct{}{}
	s.hub.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.hub.mu.Lock()
			delete(s.hub.all, q)
			s.hub.mu.Unlock()
			q.close()
		}()
		stop := context.AfterFunc(ctx, q.close)
		defer stop()
		run(q)
	}()
	return nil
}
