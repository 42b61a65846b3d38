package migrator

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/datastore/internal/syncrec"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/storage"
)

// migrateCatalog is phase 1: renames and drops in the catalog, in step
// order, and placeholders for the tables to drop and to re-key.
func (s *migration) migrateCatalog(txn storage.Txn, plan *migrationPlan, st *State) error {
	for _, mg := range plan.migs {
		for _, step := range mg.Steps {
			if step.NonModel {
				continue
			}
			var err error
			switch step.Kind {
			case meta.RenameModel:
				err = renameCatalogModel(txn, step.From, step.To)
			case meta.DropModel:
				err = dropCatalogModel(txn, step.Model)
			case meta.DropIndex, meta.ChangeIndex:
				// The old entries are deleted once the table ids are
				// known; a changed index gets a new id meanwhile, so no
				// entry of the old shape is read as one of the new.
				err = moveCatalogEntry(txn, storage.IndexIDKey(step.Model, step.Index), storage.IndexIDKey(step.Model, placeholderDrop+step.Index))
			}
			if err != nil {
				return err
			}
		}
	}
	if err := reserveRekeyedTables(txn, plan); err != nil {
		return err
	}
	// Mutations dead-lettered by this migration get sequence numbers
	// above this one: the dead-letter phase leaves them as they are.
	seq, err := syncrec.LastSeq(txn)
	if err != nil {
		return err
	}
	st.LastSeq = seq
	st.Phase = "records"
	return saveState(txn, st)
}

// moveCatalogEntry moves the value under from, if any, to to.
func moveCatalogEntry(txn storage.Txn, from, to []byte) error {
	v, err := engine.Get(txn, from)
	if err != nil || v == nil {
		return err
	}
	if err := txn.Delete(from); err != nil {
		return err
	}
	return txn.Set(to, v)
}

// catalogIndexIDs returns the index ids of model in the catalog, by index
// name.
func catalogIndexIDs(txn storage.Txn, model string) (map[string][]byte, error) {
	out := map[string][]byte{}
	prefix := storage.IndexIDPrefix(model)
	it := txn.Iterate(storage.IterOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		out[string(it.Key()[len(prefix):])] = v
	}
	return out, nil
}

// renameCatalogModel moves a model's table id, index ids and sync state
// from its old name to its new one.
func renameCatalogModel(txn storage.Txn, from, to string) error {
	if err := moveCatalogEntry(txn, storage.TableIDKey(from), storage.TableIDKey(to)); err != nil {
		return err
	}
	ixs, err := catalogIndexIDs(txn, from)
	if err != nil {
		return err
	}
	for name, v := range ixs {
		if err := txn.Delete(storage.IndexIDKey(from, name)); err != nil {
			return err
		}
		if err := txn.Set(storage.IndexIDKey(to, name), v); err != nil {
			return err
		}
	}
	md, err := engine.Get(txn, storage.ModelMetaKey(from))
	if err != nil || md == nil {
		return err
	}
	var m syncrec.ModelMetadata
	if err := json.Unmarshal(md, &m); err != nil {
		return fmt.Errorf("sync state of %s: %w", from, err)
	}
	m.Model = to
	b, _ := json.Marshal(m)
	if err := txn.Delete(storage.ModelMetaKey(from)); err != nil {
		return err
	}
	return txn.Set(storage.ModelMetaKey(to), b)
}

// dropCatalogModel puts a dropped model's table id under a placeholder
// (its table is deleted in phase 2) and deletes its index ids and sync
// state.
func dropCatalogModel(txn storage.Txn, model string) error {
	if err := moveCatalogEntry(txn, storage.TableIDKey(model), storage.TableIDKey(placeholderDrop+model)); err != nil {
		return err
	}
	ixs, err := catalogIndexIDs(txn, model)
	if err != nil {
		return err
	}
	for name := range ixs {
		if err := txn.Delete(storage.IndexIDKey(model, name)); err != nil {
			return err
		}
	}
	return txn.Delete(storage.ModelMetaKey(model))
}

// reserveRekeyedTables gives re-keyed models a new table id; the old one
// stays reserved under a placeholder until its records are copied.
func reserveRekeyedTables(txn storage.Txn, plan *migrationPlan) error {
	next, err := nextTableID(txn)
	if err != nil {
		return err
	}
	for name, w := range plan.models {
		if !w.rekey && !w.resync {
			continue
		}
		old, err := engine.Get(txn, storage.TableIDKey(name))
		if err != nil {
			return err
		}
		if old == nil {
			continue // no records yet
		}
		if err := txn.Set(storage.TableIDKey(placeholderRekey+name), old); err != nil {
			return err
		}
		if err := txn.Set(storage.TableIDKey(name), binary.BigEndian.AppendUint32(nil, next)); err != nil {
			return err
		}
		next++
	}
	return nil
}

// dropIndexPlaceholders deletes the entries of dropped and changed indexes
// and their placeholders, once the catalog is loaded.
func (s *migration) dropIndexPlaceholders() error {
	db := s.db
	for _, t := range s.eng.Tables {
		prefix := storage.IndexIDKey(t.Model.Name, placeholderDrop)
		ids := map[string]uint16{}
		err := db.View(func(txn storage.Txn) error {
			it := txn.Iterate(storage.IterOptions{Prefix: prefix})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				v, err := it.ValueCopy(nil)
				if err != nil || len(v) != 2 {
					return fmt.Errorf("catalog entry %q is damaged", it.Key())
				}
				ids[string(it.Key()[len(prefix):])] = binary.BigEndian.Uint16(v)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for name, id := range ids {
			if err := db.DropPrefix(storage.IndexPrefix(t.ID, id)); err != nil {
				return fmt.Errorf("migrate: dropping index %s of %s: %w", name, t.Model.Name, err)
			}
			err := db.Update(func(txn storage.Txn) error { return txn.Delete(storage.IndexIDKey(t.Model.Name, placeholderDrop+name)) })
			if err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
		}
	}
	return nil
}

// nextTableID returns a table id no catalog entry (placeholders included)
// uses.
func nextTableID(txn storage.Txn) (uint32, error) {
	var next uint32 = 1
	it := txn.Iterate(storage.IterOptions{Prefix: storage.TableIDPrefix()})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.ValueCopy(nil)
		if err != nil || len(v) != 4 {
			return 0, fmt.Errorf("catalog entry %q is damaged", it.Key())
		}
		next = max(next, binary.BigEndian.Uint32(v)+1)
	}
	return next, nil
}

// dropPlaceholders deletes the tables under the catalog placeholders named
// with prefix kind (only the one for model, when model is not nil), then
// the placeholders.
func (s *migration) dropPlaceholders(kind string, model *string) error {
	db := s.db
	ids := map[string]uint32{}
	err := db.View(func(txn storage.Txn) error {
		prefix := storage.TableIDKey(kind)
		it := txn.Iterate(storage.IterOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			name := string(it.Key()[len(prefix):])
			if model != nil && name != *model {
				continue
			}
			v, err := it.ValueCopy(nil)
			if err != nil || len(v) != 4 {
				return fmt.Errorf("catalog entry %q is damaged", it.Key())
			}
			ids[name] = binary.BigEndian.Uint32(v)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for name, id := range ids {
		if err := db.DropPrefix(storage.TablePrefixes(id)...); err != nil {
			return fmt.Errorf("migrate: dropping the old table of %s: %w", name, err)
		}
		err := db.Update(func(txn storage.Txn) error { return txn.Delete(storage.TableIDKey(kind + name)) })
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return nil
}

// placeholderID returns the table id under a placeholder, if any.
func placeholderID(txn storage.Txn, name string) (uint32, bool, error) {
	v, err := engine.Get(txn, storage.TableIDKey(name))
	if err != nil || v == nil {
		return 0, false, err
	}
	if len(v) != 4 {
		return 0, false, fmt.Errorf("catalog entry %q is damaged", name)
	}
	return binary.BigEndian.Uint32(v), true, nil
}
