package migrator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/datastore/internal/syncrec"
	"github.com/dsgen/dsgen/runtime/storage"
)

// migrateModel is phase 3 for one model: its records in batches.
func (s *migration) migrateModel(plan *migrationPlan, w *modelWork, st *State) error {
	db := s.db
	t := s.eng.Tables[st.Model]
	if t == nil {
		return nil
	}
	oldID, copying, rebuild, err := s.prepareModel(w, t, st)
	if err != nil {
		return err
	}
	src := t.Prefix
	if copying {
		src = storage.RecordPrefix(oldID)
	}
	err = s.batches(src, t.Model.Name, st, func(txn storage.Txn, k, v []byte) error {
		return s.migrateRecord(txn, plan, w, t, rebuild, copying, oldID, k, v)
	}, func(done int) {
		s.report(Progress{Phase: "records", Model: t.Model.Name, Records: done})
	})
	if err != nil {
		return err
	}
	if copying {
		if err := s.dropPlaceholders(placeholderRekey, &t.Model.Name); err != nil {
			return err
		}
	}
	saved := *st
	return db.Update(func(txn storage.Txn) error {
		*st = saved // a retried attempt appends afresh
		if w.resync {
			b, _ := json.Marshal(syncrec.ModelMetadata{Model: t.Model.Name})
			if err := txn.Set(storage.ModelMetaKey(t.Model.Name), b); err != nil {
				return err
			}
			st.Resynced = append(st.Resynced, t.Model.Name)
		}
		st.Done = append(st.Done, t.Model.Name)
		st.Model, st.Prepared, st.Cursor = "", false, nil
		return saveState(txn, st)
	})
}

// prepareModel finds where t's records are (oldID, when copying them to
// a re-keyed table) and which of its indexes to rebuild, and, once per
// model, deletes the entries of those indexes (in place only: a copy
// writes a new table).
func (s *migration) prepareModel(w *modelWork, t *engine.Table, st *State) (oldID uint32, copying bool, rebuild []*engine.Index, err error) {
	db := s.db
	if err := db.View(func(txn storage.Txn) (err error) {
		oldID, copying, err = placeholderID(txn, placeholderRekey+t.Model.Name)
		return err
	}); err != nil {
		return 0, false, nil, fmt.Errorf("migrate: %w", err)
	}
	for _, ix := range t.Indexes {
		if w.rebuildAll || slices.Contains(w.reindex, ix.Name) {
			rebuild = append(rebuild, ix)
		}
	}
	if st.Prepared {
		return oldID, copying, rebuild, nil
	}
	if !copying {
		for _, ix := range rebuild {
			if err := db.DropPrefix(ix.Prefix); err != nil {
				return 0, false, nil, fmt.Errorf("migrate: %s: %w", t.Model.Name, err)
			}
		}
	}
	st.Prepared = true
	if err := db.Update(func(txn storage.Txn) error { return saveState(txn, st) }); err != nil {
		return 0, false, nil, fmt.Errorf("migrate: %w", err)
	}
	return oldID, copying, rebuild, nil
}

// migrateRecord moves one record: converted when values change, its index
// entries rebuilt, copied under its new key when the key changes.
func (s *migration) migrateRecord(txn storage.Txn, plan *migrationPlan, w *modelWork, t *engine.Table, rebuild []*engine.Index, copying bool, oldID uint32, key, data []byte) error {
	ref := func() string { return describeKey(key) }
	var err error
	if w.rewrite {
		if data, err = plan.convertRecord(t, data); err != nil {
			var me *Error
			if errors.As(err, &me) {
				me.Record = ref()
				return me
			}
			return &Error{Model: t.Model.Name, Record: ref(), Err: err}
		}
	}
	r, err := t.Project(data)
	if err != nil {
		return &Error{Model: t.Model.Name, Record: ref(), Err: err}
	}
	if !copying {
		if w.rewrite {
			if err := txn.Set(key, data); err != nil {
				return err
			}
		}
		for _, ix := range rebuild {
			if err := txn.Set(t.IndexKey(ix, r), nil); err != nil {
				return err
			}
		}
		return nil
	}
	return copyRecord(txn, w, t, oldID, key, data, r)
}

// copyRecord copies the record under key (in table oldID; its values
// data, projected as r) into t, re-keyed, under its new key, with its sync
// metadata and pending mark; the old key then points at the new one for
// the outbox phase. A re-synced model keeps only the records with unsent
// changes; the next full sync brings the rest.
func copyRecord(txn storage.Txn, w *modelWork, t *engine.Table, oldID uint32, key, data []byte, r engine.Row) error {
	pend, pending, err := syncrec.PendingSeq(txn, key)
	if err != nil {
		return err
	}
	if w.resync && !pending {
		return nil
	}
	newKey := bytes.Clone(t.Prefix)
	for _, sl := range t.PK {
		if storage.IsNull(r[sl]) {
			return nil // no new key: its mutations are dead-lettered later
		}
		newKey = append(newKey, r[sl]...)
	}
	if err := t.WriteRecord(txn, newKey, data, r, nil); err != nil {
		return err
	}
	oldPK := key[len(storage.RecordPrefix(oldID)):]
	sm, err := engine.Get(txn, append(storage.SyncMetaPrefix(oldID), oldPK...))
	if err != nil {
		return err
	}
	if sm != nil {
		if err := txn.Set(append(storage.SyncMetaPrefix(t.ID), newKey[len(t.Prefix):]...), sm); err != nil {
			return err
		}
	}
	if pending {
		if err := txn.Delete(storage.PendingKey(key)); err != nil {
			return err
		}
		if err := syncrec.SetPending(txn, newKey, pend); err != nil {
			return err
		}
		if err := txn.Set(storage.RekeyKey(key), newKey); err != nil {
			return err
		}
	}
	return nil
}

// describeKey renders a record key's primary key for error messages.
func describeKey(key []byte) string {
	if len(key) < 5 {
		return fmt.Sprintf("key %x", key)
	}
	var parts []string
	rest := key[5:]
	for len(rest) > 0 {
		c, r, ok := storage.SplitComponent(rest)
		if !ok {
			return fmt.Sprintf("key %x", key)
		}
		parts = append(parts, storage.DescribeComponent(c))
		rest = r
	}
	return "record " + strings.Join(parts, ",")
}
