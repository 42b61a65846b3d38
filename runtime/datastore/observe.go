package datastore

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/predicate"
)

// Op is the kind of a change.
type Op uint8

// The change operations.
const (
	OpCreate Op = iota + 1
	OpUpdate
	OpDelete
)

// String names the operation as Amplify does (INSERT, UPDATE, DELETE).
func (o Op) String() string {
	switch o {
	case OpCreate:
		return "INSERT"
	case OpUpdate:
		return "UPDATE"
	case OpDelete:
		return "DELETE"
	}
	return "UNKNOWN"
}

// Change is one committed change to a record.
type Change[T any] struct {
	Op Op
	// Element is the record after the change; for OpDelete, the record as
	// it was. Each observer gets its own copy.
	Element *T
	// FromSync is true when the change came from the sync engine rather
	// than a local write.
	FromSync bool
	// Err is set on the last value of a channel the store had to end:
	// ErrSlowConsumer. Element is nil then.
	Err error
}

// Snapshot is the state of an observed query.
type Snapshot[T any] struct {
	Items []*T
	// IsSynced is true once the model has synced with the backend; always
	// true in local-only mode.
	IsSynced bool
}

// event is a committed change as the engine sees it.
type event struct {
	table    *engine.Table
	op       Op
	key      []byte
	data     []byte
	fromSync bool
}

// hub fans committed changes out to observers. Publishing never blocks:
// each observer has its own unbounded queue, drained by its own goroutine.
type hub struct {
	mu   sync.Mutex
	subs map[*engine.Table]map[*queue]struct{}
	// all holds the store-wide observers (Store.Observe): they get every
	// commit's events whole, so changes to different models keep their
	// commit order.
	all map[*queue]struct{}
	// decoders holds, by model name, how Store.Observe reads a record
	// into its generated type (a decoder; see register).
	decoders sync.Map
}

func newHub() *hub {
	return &hub{subs: map[*engine.Table]map[*queue]struct{}{}, all: map[*queue]struct{}{}}
}

// queue is one observer's backlog of events.
type queue struct {
	mu      sync.Mutex
	events  []event
	closed  bool
	overrun bool
	limit   int
	wake    chan struct{} // capacity 1: "there is something to read"
	// local drops changes from the sync engine before they are queued
	// (Store.Observe with LocalChanges).
	local bool
	// gate, when set, drops the changes of commits made while it returns
	// false (Store.Observe with ObserveIf).
	gate func() bool
}

// push appends events without blocking. Past the limit the queue is
// marked overrun and stops taking events.
func (q *queue) push(evs []event) {
	if q.gate != nil && !q.gate() {
		return
	}
	if q.local {
		evs = localEvents(evs)
		if len(evs) == 0 {
			return
		}
	}
	q.mu.Lock()
	if q.closed || q.overrun {
		q.mu.Unlock()
		return
	}
	if len(q.events)+len(evs) > q.limit {
		q.overrun = true
		q.events = nil
	} else {
		q.events = append(q.events, evs...)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// localEvents returns the events of evs not from sync (evs itself when
// that is all of them).
func localEvents(evs []event) []event {
	n := 0
	for _, ev := range evs {
		if !ev.fromSync {
			n++
		}
	}
	if n == len(evs) {
		return evs
	}
	out := make([]event, 0, n)
	for _, ev := range evs {
		if !ev.fromSync {
			out = append(out, ev)
		}
	}
	return out
}

// take returns the queued events.
func (q *queue) take() (evs []event, overrun, closed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	evs, q.events = q.events, nil
	return evs, q.overrun, q.closed
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (h *hub) subscribe(t *engine.Table, limit int) *queue {
	q := &queue{limit: limit, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[t] == nil {
		h.subs[t] = map[*queue]struct{}{}
	}
	h.subs[t][q] = struct{}{}
	return q
}

func (h *hub) unsubscribe(t *engine.Table, q *queue) {
	h.mu.Lock()
	delete(h.subs[t], q)
	h.mu.Unlock()
	q.close()
}

// publish hands committed events to the observers of their tables.
func (h *hub) publish(evs []event) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for q := range h.all {
		q.push(evs)
	}
	if len(h.subs) == 0 {
		return
	}
	start := 0
	for i := 1; i <= len(evs); i++ {
		if i < len(evs) && evs[i].table == evs[start].table {
			continue
		}
		for q := range h.subs[evs[start].table] {
			q.push(evs[start:i])
		}
		start = i
	}
}

// closeAll ends every observer.
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for t, qs := range h.subs {
		for q := range qs {
			q.close()
		}
		delete(h.subs, t)
	}
	for q := range h.all {
		q.close()
		delete(h.all, q)
	}
}

// observe registers an observer goroutine run(q) that ends with ctx, the
// store or its queue.
func (r *Repo[T]) observe(ctx context.Context, backlog int, run func(q *queue)) error {
	if err := r.begin(ctx); err != nil {
		return err
	}
	s := r.store
	s.mu.Lock() // orders wg.Add before Close's wg.Wait
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	q := s.hub.subscribe(r.table, backlog)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.hub.unsubscribe(r.table, q)
		stop := context.AfterFunc(ctx, q.close)
		defer stop()
		run(q)
	}()
	return nil
}

// Observe delivers every committed change to records matching all of ps,
// in commit order, until ctx ends or the store closes or is cleared; then
// the channel is closed. Changes from a Batch arrive together, after it
// commits. A delete's element is the record as it was, and matches ps when
// that record did.
//
// Writers never wait for observers. A reader that falls behind keeps
// receiving every change, late, while the store buffers them; once more than
// ObserveBacklog changes (100,000 by default) wait, the store drops the
// buffer and ends the channel with a final Change whose Err is
// ErrSlowConsumer. The channel is also closed when Observe cannot start
// (closed store).
func (r *Repo[T]) Observe(ctx context.Context, ps ...predicate.Predicate[T]) <-chan Change[T] {
	out := make(chan Change[T])
	pred := predicate.And(ps...)
	err := r.observe(ctx, r.store.cfg.backlog, func(q *queue) {
		defer close(out)
		deliver(ctx, r.store.done, q, out, func(ev event) (Change[T], bool) {
			v, err := r.decode(ev.data)
			if err != nil || !pred.Match(v) {
				return Change[T]{}, false // records that fail to decode were refused on write
			}
			return Change[T]{Op: ev.op, Element: v, FromSync: ev.fromSync}, true
		}, Change[T]{Err: ErrSlowConsumer})
	})
	if err != nil {
		close(out)
	}
	return out
}

// deliver is an observer's loop: it hands each queued event that conv
// accepts to out, in commit order, until ctx ends, the store closes (done)
// or the queue is closed; an overrun queue ends with slow.
func deliver[C any](ctx context.Context, done <-chan struct{}, q *queue, out chan<- C, conv func(event) (C, bool), slow C) {
	send := func(c C) bool {
		select {
		case out <- c:
			return true
		case <-ctx.Done():
		case <-done:
		}
		return false
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		evs, overrun, closed := q.take()
		for _, ev := range evs {
			if c, ok := conv(ev); ok && !send(c) {
				return
			}
		}
		if overrun {
			send(slow)
			return
		}
		if closed {
			return
		}
	}
}

// ObserveQuery delivers a snapshot of q's results, then a new snapshot
// whenever changes may have altered them, until ctx ends or the store closes
// or is cleared; then the channel is closed. Changes are batched (see
// SnapshotBatch); sort order, Limit and Page apply to every snapshot.
//
// Writers never wait: changes are folded into the observer's state as they
// arrive, and a reader that is slow simply receives the latest snapshot when
// it next reads, skipping the intermediate ones.
func (r *Repo[T]) ObserveQuery(ctx context.Context, q *Query[T]) <-chan Snapshot[T] {
	out := make(chan Snapshot[T])
	cq := *q
	cq.repo = r
	cq.limit, cq.page = 0, 0 // applied to each snapshot instead
	pred := cq.Predicate()
	err := r.observe(ctx, int(^uint(0)>>1), func(qu *queue) {
		defer close(out)
		items := map[string]*T{}
		// Subscribed first, then queried: changes committed in between are
		// applied twice, which is harmless; none are missed.
		all, err := cq.All(ctx)
		if err != nil {
			return
		}
		for _, v := range all {
			k, err := r.recordKey(r.model.Key(v))
			if err == nil {
				items[string(k)] = v
			}
		}
		model := r.model.Meta.Name
		synced, syncChange := r.store.syncState(model)
		ready := q.snapshot(items, synced)
		var timer <-chan time.Time
		pending := 0
		// fold applies the queued changes to items; it reports whether the
		// queue closed.
		fold := func() (closed bool) {
			evs, _, closed := qu.take()
			for _, ev := range evs {
				v, err := r.decode(ev.data)
				if err != nil {
					continue
				}
				if ev.op == OpDelete || !pred.Match(v) {
					delete(items, string(ev.key))
				} else {
					items[string(ev.key)] = v
				}
				pending++
			}
			return closed
		}
		for {
			var send chan<- Snapshot[T]
			var snap Snapshot[T]
			if ready != nil {
				send, snap = out, *ready
			}
			select {
			case <-ctx.Done():
				return
			case <-r.store.done:
				return
			case send <- snap:
				ready = nil
			case <-qu.wake:
				if fold() {
					return
				}
				if pending >= r.store.cfg.snapshotCount {
					ready, pending, timer = q.snapshot(items, synced), 0, nil
				} else if pending > 0 && timer == nil {
					timer = time.After(r.store.cfg.snapshotWindow)
				}
			case <-timer:
				ready, pending, timer = q.snapshot(items, synced), 0, nil
			case <-syncChange:
				if now, next := r.store.syncState(model); now != synced {
					// The sync's writes were queued before it was marked
					// synced: fold them in first, or the synced snapshot
					// could miss them.
					if fold() {
						return
					}
					synced, syncChange = now, next
					ready, pending, timer = q.snapshot(items, synced), 0, nil
				} else {
					syncChange = next
				}
			}
		}
	})
	if err != nil {
		close(out)
	}
	return out
}

// snapshot sorts and pages the items of an observed query.
func (q *Query[T]) snapshot(items map[string]*T, synced bool) *Snapshot[T] {
	type kv struct {
		k string
		v *T
	}
	list := make([]kv, 0, len(items))
	for k, v := range items {
		list = append(list, kv{k, v})
	}
	slices.SortFunc(list, func(a, b kv) int {
		if c := predicate.Compare(a.v, b.v, q.orders...); c != 0 {
			return c
		}
		return bytes.Compare([]byte(a.k), []byte(b.k))
	})
	lo, hi := 0, len(list)
	if q.limit > 0 {
		lo = min(q.page*q.limit, hi)
		hi = min(lo+q.limit, hi)
	}
	out := make([]*T, 0, hi-lo)
	for _, e := range list[lo:hi] {
		out = append(out, e.v)
	}
	return &Snapshot[T]{Items: out, IsSynced: synced}
}
