package syncengine

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// drain sends every queued mutation, returning when the outbox is empty.
func (e *Engine) drain(ctx context.Context) error {
	for {
		m, err := e.store.NextMutation(ctx)
		if err != nil {
			return err
		}
		if m == nil {
			e.events.emit(OutboxStatus{IsEmpty: true})
			return nil
		}
		if err := e.send(ctx, m); err != nil {
			return err
		}
	}
}

// processMutations sends mutations as local writes queue them, one at a
// time and in order, until ctx ends or the backend becomes unreachable.
func (e *Engine) processMutations(ctx context.Context) error {
	for {
		if err := e.drain(ctx); err != nil {
			return err
		}
		select {
		case <-e.store.OutboxSignal():
			e.events.emit(OutboxStatus{IsEmpty: false})
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// send sends one mutation and records the outcome. Network failures, 5xx,
// throttling and refused credentials are retried with backoff; after a few
// attempts the session ends (offline) and the mutation waits in the outbox
// for the reconnect. A conflict goes to the conflict handler; any other
// refusal moves the mutation to the dead letters, never silently dropped.
func (e *Engine) send(ctx context.Context, m *datastore.Mutation) error {
	d := e.docs[m.Model]
	if d == nil {
		return e.fail(ctx, m, fmt.Errorf("no model %q in the schema", m.Model))
	}
	data := e.sendable(d.Model, m.Data)
	version := m.Version
	// maybeLanded is set once a send of m may have reached the backend
	// without its answer reaching us: a crash mid-send (Resent), or a
	// retryable failure in this or an earlier session.
	maybeLanded := m.Resent || m.Attempts > 0
	for attempt, conflicts := 0, 0; ; attempt++ {
		input := maps.Clone(data)
		if m.Op != datastore.MutationCreate {
			input["_version"] = version
		}
		versionInput(d.Model, m.Op, input, version)
		res, err := withAuth(e, m.Model, string(m.Op), func(c authChoice) (map[string]any, error) {
			return c.client.Mutate(ctx, d, string(m.Op), input, m.Condition)
		})
		if err == nil {
			return e.complete(ctx, m, res)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, ok := client.IsRetryable(err); ok || errors.Is(err, client.ErrUnauthorized) {
			maybeLanded = true
			if attempt >= 3 {
				// Leave it queued; the reconnect resends it.
				if rerr := e.store.RetryMutation(ctx, m); rerr != nil {
					return rerr
				}
				return fmt.Errorf("%w: %v", errOffline, err)
			}
			if err := sleep(ctx, e.backoff(attempt)); err != nil {
				return err
			}
			continue
		}
		if ae, ok := client.IsConflict(err); ok {
			server, _ := ae.Data.(map[string]any)
			if server == nil {
				return e.fail(ctx, m, err)
			}
			if del, _ := server["_deleted"].(bool); del && m.Op == datastore.MutationDelete {
				// Deleted there already: the delete is done.
				return e.complete(ctx, m, server)
			}
			conflicts++
			if conflicts > e.cfg.MaxConflictAttempts {
				return e.fail(ctx, m, fmt.Errorf("gave up after %d conflicts: %w", conflicts-1, err))
			}
			r := e.cfg.ConflictHandler(ctx, Conflict{Model: m.Model, Op: string(m.Op), Local: maps.Clone(data), Remote: server, Attempts: conflicts})
			if r.Discard {
				e.events.emit(ConflictSeen{Model: m.Model, Op: string(m.Op), Resolution: "discard"})
				return e.complete(ctx, m, server)
			}
			e.events.emit(ConflictSeen{Model: m.Model, Op: string(m.Op), Resolution: "retry"})
			if r.Data != nil {
				data = e.sendable(d.Model, r.Data)
				for _, k := range d.Model.PrimaryKey.Fields() {
					data[k] = m.Data[k]
				}
			}
			v, ok := scalar.Int64Of(server["_version"])
			if !ok {
				return e.fail(ctx, m, fmt.Errorf("conflict without the server's _version: %w", err))
			}
			version = v
			if del, _ := server["_deleted"].(bool); del {
				// An update of a record deleted there cannot be retried.
				return e.fail(ctx, m, err)
			}
			continue
		}
		if _, ok := client.IsConditionFailed(err); ok && m.Op == datastore.MutationCreate && maybeLanded {
			// An earlier send of this create may have landed with its
			// answer lost: if the backend has the record, the create is
			// done.
			key := map[string]any{}
			for _, k := range d.Model.PrimaryKey.Fields() {
				key[k] = m.Data[k]
			}
			got, gerr := e.get(ctx, d, key)
			if gerr == nil && got != nil {
				if holdsSent(d.Model, data, got) {
					return e.complete(ctx, m, got)
				}
				// Another client created this key first (or the record
				// changed since our create landed; that cannot be told
				// apart): refuse it, so the app hears of it, rather than
				// take someone else's record as ours.
				return e.failWith(ctx, m, fmt.Errorf("%w (the backend's record with this key holds other values than this create sent)", err), got)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if _, ok := client.IsRetryable(gerr); ok || errors.Is(gerr, client.ErrUnauthorized) {
				// Whether it landed cannot be told now: keep it queued,
				// the reconnect resends it and asks again.
				if rerr := e.store.RetryMutation(ctx, m); rerr != nil {
					return rerr
				}
				return fmt.Errorf("%w: %v", errOffline, gerr)
			}
		}
		return e.fail(ctx, m, err)
	}
}

func (e *Engine) complete(ctx context.Context, m *datastore.Mutation, res map[string]any) error {
	if err := e.store.CompleteMutation(ctx, m, res); err != nil {
		return err
	}
	e.events.emit(OutboxMutationProcessed{Model: m.Model, Op: string(m.Op), Element: res})
	return nil
}

// maxCopyAttempts bounds how many times a refused mutation is kept queued
// because the backend's copy of its record could not be fetched (see fail);
// past it, the mutation is dead-lettered without the copy.
const maxCopyAttempts = 8

// fail moves m to the dead letters and tells the error handler. The local
// record then takes the backend's copy (from a conflict's data, or fetched),
// so a refused change does not leave the stores apart; the change itself
// stays in the dead letter for the app to retry or drop.
//
// When the copy cannot be fetched because the backend became unreachable
// just after refusing m, m stays queued and the session ends (offline), as
// for a failed send: dead-lettering it then would leave the refused change
// as the local record with no later sync to correct it (its sync metadata
// is already the backend's version, so the same version is not applied
// again). The reconnect sends m again; the backend refuses it again, and
// the copy is fetched then. A refused mutation changes nothing on the
// backend, so sending it again is safe.
func (e *Engine) fail(ctx context.Context, m *datastore.Mutation, err error) error {
	return e.failWith(ctx, m, err, nil)
}

// failWith is fail with the backend's copy of the record when the caller
// has just fetched it (nil: fail fetches it).
func (e *Engine) failWith(ctx context.Context, m *datastore.Mutation, err error, server map[string]any) error {
	var opts []datastore.FailOption
	if server != nil {
		opts = append(opts, datastore.WithServerCopy(server))
	} else if ae, ok := client.IsConflict(err); ok {
		if server, ok := ae.Data.(map[string]any); ok {
			opts = append(opts, datastore.WithServerCopy(server))
		}
	} else if d := e.docs[m.Model]; d != nil {
		key := map[string]any{}
		for _, k := range d.Model.PrimaryKey.Fields() {
			key[k] = m.Data[k]
		}
		got, gerr := e.get(ctx, d, key)
		switch {
		case gerr == nil:
			opts = append(opts, datastore.WithServerCopy(got))
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			if _, retry := client.IsRetryable(gerr); retry && m.Attempts < maxCopyAttempts {
				if rerr := e.store.RetryMutation(ctx, m); rerr != nil {
					return rerr
				}
				return fmt.Errorf("%w: refused (%v), and its record could not be fetched: %v", errOffline, err, gerr)
			}
		}
	}
	if ferr := e.store.FailMutation(ctx, m, err.Error(), opts...); ferr != nil {
		return ferr
	}
	f := MutationFailed{Model: m.Model, Op: string(m.Op), Data: m.Data, Err: err}
	e.log.Warn("mutation refused by the backend; moved to dead letters", "model", m.Model, "op", m.Op, "error", err)
	e.events.emit(f)
	if e.cfg.ErrorHandler != nil {
		e.cfg.ErrorHandler(ctx, f)
	}
	return nil
}

// sendable drops what a mutation input may not carry: the read-only
// timestamps the backend sets, relation fields and sync metadata.
func (e *Engine) sendable(m *meta.Model, data map[string]any) map[string]any {
	out := make(map[string]any, len(data))
	for k, v := range data {
		f := m.Field(k)
		if f == nil || f.ReadOnly || !f.Stored() {
			continue
		}
		out[k] = v
	}
	return out
}

// versionInput shapes the input of a @versioned model (transformer v1): the
// version field is the server's (not in a create input, and replaced in an
// update), and an update or delete carries the version it expects. That is
// the _version the change is based on: the server counts both from 1 and
// up by one on every write, so they are equal on dsgen serve and on an
// AppSync table written only through the API, and the engine already keeps
// _version current across queued changes and conflict retries. A change
// based on an older copy then fails the server's condition (a dead letter
// with the server's copy), which is what @versioned asks for.
func versionInput(m *meta.Model, op datastore.MutationOp, input map[string]any, version int64) {
	v, ok := m.Versioned()
	if !ok {
		return
	}
	delete(input, v.Field)
	if op != datastore.MutationCreate {
		input[v.Input] = version
	}
}

// get reads the backend's copy of a record, with the model's read modes.
func (e *Engine) get(ctx context.Context, d *client.ModelDocs, key map[string]any) (map[string]any, error) {
	return withAuth(e, d.Model.Name, opGet, func(c authChoice) (map[string]any, error) {
		return c.client.Get(ctx, d, key)
	})
}
