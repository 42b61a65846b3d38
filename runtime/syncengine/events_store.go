package syncengine

import (
	"context"
	"errors"

	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/datastore"
)

// StorageSubscribed reports that the engine observes the local store: from
// now on every local write is reported as OutboxMutationEnqueued. Start
// emits it once per start, before it returns.
type StorageSubscribed struct{}

// OutboxMutationEnqueued reports a local write that committed and queued
// its mutation in the outbox (Amplify's outboxMutationEnqueued). Element
// is the record as written (the generated type, *model.Post …, for stores
// opened by generated code; for a delete, the record as it was). Writes
// made while the engine is stopped are not reported, nor those committed
// while no Events channel is open (they are not even decoded), nor, until
// the next Start, those after a Clear of the store (which ends its
// observers).
type OutboxMutationEnqueued struct {
	Model   string
	Op      datastore.Op
	Element any
}

// NonApplicableDataReceived reports a sync page or subscription event that
// came with GraphQL errors beside its data, such as records the caller may
// not fully read (Amplify's nonApplicableDataReceived). The records the
// errors concern are not applied: the rest of a sync page is.
type NonApplicableDataReceived struct {
	Model  string
	Errors []*appsync.Error
}

func (StorageSubscribed) isEvent()         {}
func (OutboxMutationEnqueued) isEvent()    {}
func (NonApplicableDataReceived) isEvent() {}

// watchStore reports local writes from changes (the store's Observe) as
// OutboxMutationEnqueued until the channel ends. It runs for one Start.
func (e *Engine) watchStore(ctx context.Context, changes <-chan datastore.StoreChange) {
	for c := range changes {
		if c.Err != nil {
			if errors.Is(c.Err, datastore.ErrSlowConsumer) && ctx.Err() == nil {
				e.log.Warn("stopped reporting OutboxMutationEnqueued: the engine fell behind the store", "error", c.Err)
			}
			continue
		}
		if !c.FromSync {
			e.events.emit(OutboxMutationEnqueued{Model: c.Model, Op: c.Op, Element: c.Element})
		}
	}
}
