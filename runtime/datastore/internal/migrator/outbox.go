package migrator

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/datastore/internal/syncrec"
	"github.com/dsgen/dsgen/runtime/storage"
)

// migrateMutations is phase 4: the outbox, then the dead letters.
func (s *migration) migrateMutations(plan *migrationPlan, st *State) error {
	db := s.db
	for _, phase := range []string{"outbox", "dead"} {
		if st.Phase != phase {
			continue
		}
		prefix := storage.OutboxPrefix()
		if phase == "dead" {
			prefix = storage.DeadLetterPrefix()
		}
		err := s.batches(prefix, phase, st, func(txn storage.Txn, k, v []byte) error {
			return s.migrateEntry(txn, plan, st, phase == "dead", k, v)
		}, func(done int) {
			s.report(Progress{Phase: "outbox", Records: done})
		})
		if err != nil {
			return err
		}
		if phase == "outbox" {
			st.Phase = "dead"
		} else {
			st.Phase = "final"
		}
		st.Cursor = nil
		if err := db.Update(func(txn storage.Txn) error { return saveState(txn, st) }); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return nil
}

// migrateEntry rewrites one outbox entry or dead letter for the final
// schema: its model and field names, its values, its record key. An entry
// whose model was dropped is deleted; one whose record's new key cannot be
// found, or whose condition tests a field the migration drops or converts
// or an enum value it removes, is moved to the dead letters.
func (s *migration) migrateEntry(txn storage.Txn, plan *migrationPlan, st *State, dead bool, key, value []byte) error {
	var dl syncrec.DeadLetter
	if err := syncrec.Unmarshal(value, &dl); err != nil {
		return &Error{Record: fmt.Sprintf("mutation %x", key), Err: err}
	}
	m := &dl.Mutation
	m.Seq = binary.BigEndian.Uint64(key[2:])
	if dead && m.Seq > st.LastSeq {
		return nil // dead-lettered by this migration: already migrated
	}
	ref := fmt.Sprintf("%s mutation %d", m.Op, m.Seq)
	model, _, ok := plan.forward(-1, m.Model, "")
	if !ok || s.eng.Tables[model] == nil {
		st.Dropped++
		if !dead {
			if err := dropPendingMark(txn, m); err != nil {
				return err
			}
		}
		return txn.Delete(key)
	}
	st.Mutations++
	t := s.eng.Tables[model]
	w := plan.models[model]
	if w == nil {
		w = &modelWork{}
	}
	lost, err := plan.convertEntry(t, w, m, ref)
	if err != nil {
		return err
	}
	var unsendable string
	if w.rekey || w.resync {
		var err error
		if unsendable, err = s.rekeyEntry(txn, t, m, dead); err != nil {
			return err
		}
	}
	if unsendable == "" && len(lost) > 0 && m.Op != syncrec.MutationCreate {
		// Sent without those clauses, the write could apply where its
		// condition was meant to stop it.
		unsendable = fmt.Sprintf("migration: the mutation's condition tests %s: the backend cannot check the condition any more, so the change is not sent", strings.Join(lost, "; "))
	}
	if unsendable != "" && !dead {
		return s.deadLetterEntry(txn, st, m, key, unsendable)
	}
	var b []byte
	if dead {
		if unsendable != "" {
			dl.Reason = unsendable
		}
		b, err = json.Marshal(dl)
	} else {
		b, err = json.Marshal(m)
	}
	if err != nil {
		return &Error{Model: model, Record: ref, Err: err}
	}
	return txn.Set(key, b)
}

// dropPendingMark deletes the pending mark of m's record when it points at
// m.
func dropPendingMark(txn storage.Txn, m *syncrec.Mutation) error {
	if seq, ok, err := syncrec.PendingSeq(txn, m.RecordKey); err != nil || !ok || seq != m.Seq {
		return err
	}
	return txn.Delete(storage.PendingKey(m.RecordKey))
}

// convertEntry renames m (of the store's model, now t's) to the final
// schema and converts its values: conversions of fields whose type
// changed, defaults of added fields (a create carries the whole record),
// renames, drops and defaults of the fields of non-model values nested in
// it, removed enum values. lostConditions names the condition clauses it
// left out (see renameCondition). An *Error names the mutation as ref.
func (p *migrationPlan) convertEntry(t *engine.Table, w *modelWork, m *syncrec.Mutation, ref string) (lostConditions []string, err error) {
	defer func() {
		var me *Error
		if errors.As(err, &me) {
			me.Record = ref
		}
	}()
	from, model := m.Model, t.Model.Name
	m.Model = model
	m.Data = p.renameFields(from, model, m.Data)
	m.Condition, lostConditions = p.renameCondition(from, model, m.Condition)
	if p.nonModel {
		if err := p.fixNested(model, t.Model.Fields, m.Data, true, w); err != nil {
			return nil, err
		}
	}
	for _, c := range w.convs {
		v, present := m.Data[c.field.Name]
		if !present {
			continue
		}
		nv, err := c.apply(jsonValue(c.old, v), model)
		if err != nil {
			return nil, err
		}
		m.Data[c.field.Name] = nv
	}
	w.fill(m.Data, m.Op != syncrec.MutationCreate)
	return lostConditions, p.fixEnums(model, t.Model.Fields, m.Data)
}

// rekeyEntry points m, a mutation of a re-keyed record, at the record's
// new key, or returns why it cannot be sent when the key cannot be found.
func (s *migration) rekeyEntry(txn storage.Txn, t *engine.Table, m *syncrec.Mutation, dead bool) (unsendable string, err error) {
	newKey, err := engine.Get(txn, storage.RekeyKey(m.RecordKey))
	if err != nil {
		return "", err
	}
	if newKey == nil {
		// The record is gone locally (a delete): its new key can be
		// built only from what the mutation carries.
		k, err := t.KeyFromValues(t.KeyValues(m.Data))
		if err != nil {
			return fmt.Sprintf("migration: %s's primary key changed to (%s) and the mutation does not carry the new key", t.Model.Name, strings.Join(t.Model.PrimaryKey.Fields(), ", ")), nil
		}
		newKey = k
	}
	if !dead {
		if err := dropPendingMark(txn, m); err != nil {
			return "", err
		}
		if err := syncrec.SetPending(txn, newKey, m.Seq); err != nil {
			return "", err
		}
	}
	m.RecordKey = newKey
	if data, err := engine.Get(txn, newKey); err != nil {
		return "", err
	} else if data != nil {
		rec, err := codec.DecodeMap(s.schema, t.Model.Fields, data)
		if err != nil {
			return "", err
		}
		for k, v := range t.KeyMap(rec) {
			m.Data[k] = v
		}
	}
	m.Key = t.KeyValues(m.Data)
	return "", nil
}

// deadLetterEntry moves the outbox entry m (under key) to the dead letters
// with the reason it cannot be sent.
func (s *migration) deadLetterEntry(txn storage.Txn, st *State, m *syncrec.Mutation, key []byte, reason string) error {
	if err := dropPendingMark(txn, m); err != nil {
		return err
	}
	if err := txn.Delete(key); err != nil {
		return err
	}
	seq, err := syncrec.NextSeq(txn)
	if err != nil {
		return err
	}
	m.InFlight = false
	b, err := json.Marshal(syncrec.DeadLetter{Mutation: *m, Reason: reason, Failed: s.now().UnixMilli()})
	if err != nil {
		return err
	}
	st.DeadLettered++
	return txn.Set(storage.DeadLetterKey(seq), b)
}
