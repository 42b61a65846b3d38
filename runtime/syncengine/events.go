package syncengine

import (
	"context"
	"sync"
	"sync/atomic"
)

// Event is one of the typed events the engine reports, mirroring Amplify
// DataStore's Hub events: NetworkStatus, SubscriptionsEstablished,
// SyncQueriesStarted, ModelSynced, SyncQueriesReady, Ready,
// OutboxMutationProcessed, OutboxStatus, MutationFailed and ConflictSeen,
// and (events_store.go) StorageSubscribed, OutboxMutationEnqueued and
// NonApplicableDataReceived.
type Event interface{ isEvent() }

// NetworkStatus reports that the engine went online (its WebSocket is up
// and the backend answers) or offline.
type NetworkStatus struct{ Active bool }

// SubscriptionsEstablished reports that every model's subscriptions are
// registered (events from now on are kept).
type SubscriptionsEstablished struct{}

// SyncQueriesStarted reports the models about to sync.
type SyncQueriesStarted struct{ Models []string }

// ModelSynced reports one model's completed sync.
type ModelSynced struct {
	Model       string
	IsFullSync  bool
	IsDeltaSync bool
	// Items is how many records the backend sent, Applied how many
	// changed the local store, Removed how many local records a full sync
	// removed because the backend no longer has them.
	Items, Applied, Removed int
}

// SyncQueriesReady reports that every model has synced.
type SyncQueriesReady struct{}

// Ready reports that the start sequence completed: synced, outbox drained,
// buffered subscription events applied.
type Ready struct{}

// OutboxMutationProcessed reports a mutation the backend accepted, with the
// record as the backend returned it.
type OutboxMutationProcessed struct {
	Model   string
	Op      string
	Element map[string]any
}

// OutboxStatus reports whether the outbox is empty.
type OutboxStatus struct{ IsEmpty bool }

// MutationFailed reports a mutation the backend refused for good; it is in
// the store's dead letters.
type MutationFailed struct {
	Model string
	Op    string
	Data  map[string]any
	Err   error
}

// ConflictSeen reports a version conflict and how the handler resolved it.
type ConflictSeen struct {
	Model      string
	Op         string
	Resolution string // "retry" or "discard"
}

func (NetworkStatus) isEvent()            {}
func (SubscriptionsEstablished) isEvent() {}
func (SyncQueriesStarted) isEvent()       {}
func (ModelSynced) isEvent()              {}
func (SyncQueriesReady) isEvent()         {}
func (Ready) isEvent()                    {}
func (OutboxMutationProcessed) isEvent()  {}
func (OutboxStatus) isEvent()             {}
func (MutationFailed) isEvent()           {}
func (ConflictSeen) isEvent()             {}

// broadcaster fans events out to listeners. Emitting never blocks: each
// listener has its own queue, drained by its own goroutine.
type broadcaster struct {
	mu        sync.Mutex
	listeners map[*listener]struct{}
	wg        sync.WaitGroup
	closed    bool
	// count is len(listeners), readable without mu (listening).
	count atomic.Int32
}

type listener struct {
	mu    sync.Mutex
	queue []Event
	wake  chan struct{}
	stop  chan struct{}
}

func (b *broadcaster) emit(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for l := range b.listeners {
		l.mu.Lock()
		l.queue = append(l.queue, ev)
		l.mu.Unlock()
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// listening reports whether an Events channel is open: events emitted now
// reach someone.
func (b *broadcaster) listening() bool { return b.count.Load() > 0 }

// listen returns a channel of every event emitted from now on, closed when
// ctx ends or the broadcaster closes.
func (b *broadcaster) listen(ctx context.Context) <-chan Event {
	out := make(chan Event)
	l := &listener{wake: make(chan struct{}, 1), stop: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(out)
		return out
	}
	if b.listeners == nil {
		b.listeners = map[*listener]struct{}{}
	}
	b.listeners[l] = struct{}{}
	b.count.Add(1)
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		defer close(out)
		defer func() {
			b.mu.Lock()
			delete(b.listeners, l)
			b.count.Add(-1)
			b.mu.Unlock()
		}()
		for {
			l.mu.Lock()
			batch := l.queue
			l.queue = nil
			l.mu.Unlock()
			for _, ev := range batch {
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				case <-l.stop:
					return
				}
			}
			select {
			case <-l.wake:
			case <-ctx.Done():
				return
			case <-l.stop:
				return
			}
		}
	}()
	return out
}

// close ends every listener and waits for their goroutines.
func (b *broadcaster) close() {
	b.mu.Lock()
	b.closed = true
	for l := range b.listeners {
		close(l.stop)
	}
	b.mu.Unlock()
	b.wg.Wait()
}
