package datastore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"maps"
	"reflect"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/datastore/internal/syncrec"
	"github.com/dsgen/dsgen/runtime/storage"
)

// The outbox holds the local writes the sync engine has not yet sent, in
// the order they were made. Each local write appends (or merges into) its
// entry in the same Badger transaction as the data (ARCHITECTURE.md rule 4), so a
// crash never leaves one without the other. Entries are merged per record
// by this state machine, where the existing entry is the record's newest
// entry that is not being sent:
//
//	existing  new write  result
//	create    update     one create with the record's current values
//	create    delete     nothing: the record never reached the backend
//	update    update     one update with the union of the changed fields
//	update    delete     one delete
//	(none, or the newest is being sent, or any other pair) → a new entry
//	                     queued behind
//
// An update carries only the fields it changed (plus the key), as the
// Amplify client sends it; _version is not stored: the sync engine takes it
// from the record's sync metadata when it sends the mutation.

// MutationOp is the kind of a queued mutation.
type MutationOp = syncrec.MutationOp

// The mutation kinds, named as the GraphQL mutations.
const (
	MutationCreate = syncrec.MutationCreate
	MutationUpdate = syncrec.MutationUpdate
	MutationDelete = syncrec.MutationDelete
)

// Mutation is one outbox entry: the model, the operation, the key, the
// JSON-shaped values to send (the whole record for a create, the key and
// the changed fields for an update, the key for a delete), the condition,
// and the send state (Version is what to send as _version).
type Mutation = syncrec.Mutation

// DeadLetter is a mutation the backend refused for good, with why.
type DeadLetter = syncrec.DeadLetter

func readMutation(txn storage.Txn, seq uint64) (*Mutation, error) {
	b, err := engine.Get(txn, storage.OutboxKey(seq))
	if err != nil || b == nil {
		return nil, err
	}
	m := &Mutation{}
	if err := syncrec.Unmarshal(b, m); err != nil {
		return nil, errorf("outbox entry %d: %w", seq, err)
	}
	m.Seq = seq
	return m, nil
}

func writeMutation(txn storage.Txn, m *Mutation) error {
	b, err := json.Marshal(m)
	if err != nil {
		return errorf("outbox entry of %s: %w", m.Model, err)
	}
	return txn.Set(storage.OutboxKey(m.Seq), b)
}

// recordMap decodes an encoded record of t into JSON-shaped values.
func (s *Store) recordMap(t *engine.Table, data []byte) (map[string]any, error) {
	m, err := codec.DecodeMap(s.schema, t.Model.Fields, data)
	if err != nil {
		return nil, errorf("%s: %w", t.Model.Name, err)
	}
	return m, nil
}

// enqueue records a local write of t's record under key in the outbox, in
// tx. data is the new encoded record (nil for a delete), old the previous
// one (nil for a create).
func (tx *Txn) enqueue(t *engine.Table, op MutationOp, key, data, old []byte, cond map[string]any) error {
	s := tx.store
	var cur, prev map[string]any
	var err error
	if data != nil {
		if cur, err = s.recordMap(t, data); err != nil {
			return err
		}
	}
	if old != nil {
		if prev, err = s.recordMap(t, old); err != nil {
			return err
		}
	}
	m := &Mutation{Model: t.Model.Name, Op: op, RecordKey: key, Enqueued: s.cfg.now().UnixMilli(), Condition: cond}
	switch op {
	case MutationCreate:
		m.Key, m.Data = t.KeyValues(cur), cur
	case MutationUpdate:
		m.Key = t.KeyValues(cur)
		m.Data = changedFields(t, prev, cur)
	case MutationDelete:
		m.Key = t.KeyValues(prev)
		m.Data = t.KeyMap(prev)
	}

	seq, ok, err := syncrec.PendingSeq(tx.btx, key)
	if err != nil {
		return err
	}
	if ok {
		e, err := readMutation(tx.btx, seq)
		if err != nil {
			return err
		}
		if e != nil && !e.InFlight {
			merged, drop := mergeMutation(e, m, cur)
			switch {
			case drop:
				if err := tx.btx.Delete(storage.OutboxKey(e.Seq)); err != nil {
					return err
				}
				return tx.btx.Delete(storage.PendingKey(key))
			case merged:
				e.Rev++
				tx.enqueued = true
				return writeMutation(tx.btx, e)
			}
		}
	}
	if m.Seq, err = syncrec.NextSeq(tx.btx); err != nil {
		return err
	}
	if err := writeMutation(tx.btx, m); err != nil {
		return err
	}
	tx.enqueued = true
	return syncrec.SetPending(tx.btx, key, m.Seq)
}

// mergeMutation merges the new write n into the pending entry e, reporting
// whether it merged and whether e is to be dropped (a create then delete).
func mergeMutation(e, n *Mutation, cur map[string]any) (merged, drop bool) {
	switch {
	case e.Op == MutationCreate && n.Op == MutationUpdate:
		// The backend has no copy yet to check an update's condition on.
		e.Data = cur
		return true, false
	case e.Op == MutationCreate && n.Op == MutationDelete:
		return false, true
	case e.Op == MutationUpdate && n.Op == MutationUpdate:
		maps.Copy(e.Data, n.Data)
		e.Condition = andConditions(e.Condition, n.Condition)
		return true, false
	case e.Op == MutationUpdate && n.Op == MutationDelete:
		e.Op, e.Data, e.Condition = MutationDelete, n.Data, n.Condition
		return true, false
	}
	return false, false
}

// andConditions joins two GraphQL conditions (either may be nil).
func andConditions(a, b map[string]any) map[string]any {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	return map[string]any{"and": []any{a, b}}
}

// changedFields returns the key fields and the fields whose value differs
// between prev and cur (a field that became null is sent as null).
func changedFields(t *engine.Table, prev, cur map[string]any) map[string]any {
	out := t.KeyMap(cur)
	for _, f := range t.Model.Fields {
		if !f.Stored() {
			continue
		}
		a, b := prev[f.Name], cur[f.Name]
		if !reflect.DeepEqual(a, b) {
			out[f.Name] = b
		}
	}
	return out
}

// NextMutation returns the oldest outbox entry and marks it in flight, or
// nil when the outbox is empty. The sync engine sends it, then calls
// CompleteMutation, RetryMutation or FailMutation with it.
func (y SyncStore) NextMutation(ctx context.Context) (*Mutation, error) {
	s := y.s
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	var out *Mutation
	head := s.outboxHead.Load()
	err := s.update(ctx, func(tx *Txn) error {
		out = nil
		it := tx.btx.Iterate(storage.IterOptions{Prefix: storage.OutboxPrefix()})
		defer it.Close()
		it.Seek(storage.OutboxKey(head))
		if !it.Valid() {
			return nil
		}
		seq := binary.BigEndian.Uint64(it.Key()[len(storage.OutboxPrefix()):])
		m, err := readMutation(tx.btx, seq)
		if err != nil || m == nil {
			return err
		}
		if m.InFlight {
			m.Resent = true
		} else {
			m.InFlight = true
			if err := writeMutation(tx.btx, m); err != nil {
				return err
			}
		}
		if t := s.eng.Tables[m.Model]; t != nil {
			sm, err := readSyncMeta(tx.btx, t, m.RecordKey)
			if err != nil {
				return err
			}
			if sm != nil {
				m.Version = sm.Version
			}
		}
		out = m
		return nil
	})
	if err == nil && out != nil {
		// out was the oldest entry in a committed snapshot, and later
		// entries get higher numbers: raise the head to it.
		for {
			h := s.outboxHead.Load()
			if h >= out.Seq || s.outboxHead.CompareAndSwap(h, out.Seq) {
				break
			}
		}
	}
	return out, err
}

// RetryMutation puts a sent entry back (not in flight) after a failure the
// engine will retry, counting the attempt.
func (y SyncStore) RetryMutation(ctx context.Context, m *Mutation) error {
	s := y.s
	if err := s.live(ctx); err != nil {
		return err
	}
	return s.update(ctx, func(tx *Txn) error {
		e, err := readMutation(tx.btx, m.Seq)
		if err != nil || e == nil {
			return err
		}
		e.InFlight = false
		e.Attempts++
		return writeMutation(tx.btx, e)
	})
}

// FailMutation moves a sent entry to the dead letters with the reason the
// backend gave. Nothing is dropped silently: the app reads DeadLetters and
// retries or drops each.
func (y SyncStore) FailMutation(ctx context.Context, m *Mutation, reason string, opts ...FailOption) error {
	s := y.s
	if err := s.live(ctx); err != nil {
		return err
	}
	var o failOptions
	for _, opt := range opts {
		opt(&o)
	}
	t := s.eng.Tables[m.Model]
	return s.update(ctx, func(tx *Txn) error {
		e, err := readMutation(tx.btx, m.Seq)
		if err != nil || e == nil {
			return err
		}
		if err := tx.dropEntry(e); err != nil {
			return err
		}
		e.InFlight = false
		b, err := json.Marshal(DeadLetter{Mutation: *e, Reason: reason, Failed: s.cfg.now().UnixMilli()})
		if err != nil {
			return err
		}
		if err := tx.btx.Set(storage.DeadLetterKey(e.Seq), b); err != nil {
			return err
		}
		if !o.known || t == nil {
			return nil
		}
		// The local change stays in the dead letter; the record itself
		// takes the backend's copy, so the stores converge.
		if _, pending, err := syncrec.PendingSeq(tx.btx, e.RecordKey); err != nil || pending {
			return err
		}
		if o.server != nil {
			prev, err := readSyncMeta(tx.btx, t, e.RecordKey)
			if err != nil {
				return err
			}
			if _, err := tx.applyRemote(t, maps.Clone(o.server), true, 0); err != nil {
				return err
			}
			if prev != nil {
				return tx.releaseHeld(t, e.RecordKey, prev.Held, prev.HeldVersion)
			}
			return nil
		}
		old, err := engine.Get(tx.btx, e.RecordKey)
		if err != nil || old == nil {
			return err
		}
		rw, err := t.Project(old)
		if err != nil {
			return err
		}
		if err := tx.deleteAll([]doomed{{t: t, key: e.RecordKey, data: old, row: rw}}, true); err != nil {
			return err
		}
		return tx.btx.Delete(syncMetaKey(t, e.RecordKey))
	})
}

// FailOption tunes FailMutation.
type FailOption func(*failOptions)

type failOptions struct {
	known  bool
	server map[string]any
}

// WithServerCopy makes FailMutation replace the local record with the
// backend's copy (item, as the backend returned it; nil when the backend
// has no such record, which removes the local one), unless another
// mutation of the record is pending. The refused change stays readable in
// the dead letter.
func WithServerCopy(item map[string]any) FailOption {
	return func(o *failOptions) { o.known, o.server = true, item }
}

// dropEntry deletes an outbox entry and, when it is its record's newest,
// the record's pending mark.
func (tx *Txn) dropEntry(e *Mutation) error {
	if err := tx.btx.Delete(storage.OutboxKey(e.Seq)); err != nil {
		return err
	}
	seq, ok, err := syncrec.PendingSeq(tx.btx, e.RecordKey)
	if err != nil {
		return err
	}
	if ok && seq == e.Seq {
		return tx.btx.Delete(storage.PendingKey(e.RecordKey))
	}
	return nil
}

// Outbox lists the outbox entries in order.
func (s *Store) Outbox(ctx context.Context) ([]Mutation, error) {
	var out []Mutation
	err := s.scanSystem(ctx, storage.OutboxPrefix(), func(seq uint64, b []byte) error {
		var m Mutation
		if err := syncrec.Unmarshal(b, &m); err != nil {
			return errorf("outbox entry %d: %w", seq, err)
		}
		m.Seq = seq
		out = append(out, m)
		return nil
	})
	return out, err
}

// DeadLetters lists the mutations the backend refused, oldest first.
func (s *Store) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	var out []DeadLetter
	err := s.scanSystem(ctx, storage.DeadLetterPrefix(), func(seq uint64, b []byte) error {
		var d DeadLetter
		if err := syncrec.Unmarshal(b, &d); err != nil {
			return errorf("dead letter %d: %w", seq, err)
		}
		d.Seq = seq
		out = append(out, d)
		return nil
	})
	return out, err
}

// RetryDeadLetter moves a dead letter back to the end of the outbox.
func (s *Store) RetryDeadLetter(ctx context.Context, seq uint64) error {
	if err := s.live(ctx); err != nil {
		return err
	}
	return s.update(ctx, func(tx *Txn) error {
		b, err := engine.Get(tx.btx, storage.DeadLetterKey(seq))
		if err != nil {
			return err
		}
		if b == nil {
			return errorf("dead letter %d: %w", seq, ErrNotFound)
		}
		var d DeadLetter
		if err := syncrec.Unmarshal(b, &d); err != nil {
			return err
		}
		m := d.Mutation
		m.Attempts, m.InFlight = 0, false
		if m.Seq, err = syncrec.NextSeq(tx.btx); err != nil {
			return err
		}
		if err := writeMutation(tx.btx, &m); err != nil {
			return err
		}
		if err := tx.btx.Delete(storage.DeadLetterKey(seq)); err != nil {
			return err
		}
		return syncrec.SetPending(tx.btx, m.RecordKey, m.Seq)
	})
}

// DropDeadLetter deletes a dead letter for good.
func (s *Store) DropDeadLetter(ctx context.Context, seq uint64) error {
	if err := s.live(ctx); err != nil {
		return err
	}
	return s.update(ctx, func(tx *Txn) error {
		b, err := engine.Get(tx.btx, storage.DeadLetterKey(seq))
		if err != nil {
			return err
		}
		if b == nil {
			return errorf("dead letter %d: %w", seq, ErrNotFound)
		}
		return tx.btx.Delete(storage.DeadLetterKey(seq))
	})
}

// scanSystem calls fn for each key under an 8-byte-sequence prefix.
func (s *Store) scanSystem(ctx context.Context, prefix []byte, fn func(seq uint64, b []byte) error) error {
	if err := s.live(ctx); err != nil {
		return err
	}
	return s.view(nil, func(txn storage.Txn) error {
		it := txn.Iterate(storage.IterOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			b, err := it.ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := fn(binary.BigEndian.Uint64(it.Key()[len(prefix):]), b); err != nil {
				return err
			}
		}
		return nil
	})
}

// hasPending reports whether the outbox holds any entry.
func hasPending(txn storage.Txn) bool { return hasPrefix(txn, storage.OutboxPrefix()) }
