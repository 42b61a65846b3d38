package datastore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/storage"
)

// Migrations run when a store is started by generated code whose schema has
// migrations the store has not had (meta.Schema.Migration is ahead of the
// number the store records). They run before anything else touches the
// store, so before sync, in these phases, each crash-safe:
//
//  1. Catalog: model renames move the model's catalog entries (table id,
//     index ids, sync state) to the new name, which moves no data, since
//     records are keyed by table id and fields by their lock id. Dropped
//     models and models whose primary key changes get placeholder entries
//     that keep their old table ids reserved. One transaction.
//  2. Dropped tables are deleted.
//  3. Records, model by model, in batches of at most migrateBatch records,
//     each batch one transaction that also stores the position reached, so
//     a crash resumes after the last batch: values converted (developer
//     functions, @default backfills, removed enum values), dropped fields
//     removed, indexes rebuilt; a changed primary key copies the records
//     into a new table under their new keys (re-key), or, when the key
//     cannot be derived, keeps only the records with unsent changes and
//     clears the model's sync state so the next sync is a full one (re-sync).
//  4. The outbox and the dead letters, by sequence number, in batches: the
//     same renames, drops and conversions applied to each mutation, which
//     stays in place and keeps its order.
//  5. The store records the new migration number and schema.

// migrateBatch bounds the records (or outbox entries) one migration
// transaction holds, which bounds memory and Badger's transaction size.
const migrateBatch = 512

// migrateBatchBytes bounds the encoded bytes one migration transaction
// writes (Badger refuses transactions past a fraction of its memtable).
const migrateBatchBytes = 4 << 20

// Setting keys of migrations.
const (
	settingMigration = "migration"
	settingMigrating = "migrating"
)

// Catalog placeholder names: never model names, since they start with 0.
const (
	placeholderDrop  = "\x00drop:"
	placeholderRekey = "\x00rekey:"
)

// ErrStoreNewer is returned (wrapped) by Start when the store was migrated
// by generated code with more migrations than the code opening it: an older
// build of the app opening a newer store. Records written under the newer
// schema cannot be read safely, so the store is refused, untouched.
var ErrStoreNewer = errors.New("store was migrated by newer generated code")

// MigrationError reports a migration that could not move a record or a
// mutation. Everything committed before it stays; the next start resumes
// at the record that failed.
type MigrationError struct {
	// Migration is the number of the migration the step belongs to (0 when
	// the problem is not in one step).
	Migration int
	Model     string
	Field     string
	// Record describes the record or outbox entry, when there is one.
	Record string
	Err    error
}

// Error returns a message naming the migration, model, field and record.
func (e *MigrationError) Error() string {
	var b strings.Builder
	b.WriteString("datastore: migrate")
	if e.Migration > 0 {
		fmt.Fprintf(&b, " %04d", e.Migration)
	}
	if e.Model != "" {
		b.WriteString(": " + e.Model)
		if e.Field != "" {
			b.WriteString("." + e.Field)
		}
	}
	if e.Record != "" {
		b.WriteString(": " + e.Record)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *MigrationError) Unwrap() error { return e.Err }

// MigrationProgress reports a migration under way (see OnMigrate).
type MigrationProgress struct {
	// From and To are the migration numbers the store goes from and to.
	From, To int
	// Phase is "catalog", "records", "outbox" or "done".
	Phase string
	// Model is the model whose records are being migrated.
	Model string
	// Records counts the records (or, in the outbox phase, mutations) of
	// the phase done since this start.
	Records int
	// Resumed is set when this start continues a migration a previous run
	// did not finish.
	Resumed bool
	// At "done": mutations rewritten, dropped with their model, and moved
	// to the dead letters because the migration left them unsendable; and
	// the models cleared for a full re-sync.
	Mutations, MutationsDropped, MutationsDeadLettered int
	Resynced                                           []string
}

// OnMigrate calls fn as a migration makes progress: after each committed
// batch and once when it is done. fn runs on the goroutine starting the
// store and should return quickly.
func OnMigrate(fn func(MigrationProgress)) Option {
	return func(c *config) { c.onMigrate = fn }
}

// migrationState is the stored position of a migration under way.
type migrationState struct {
	From, To int
	// Phase is "records", "outbox", "dead" or "final".
	Phase string
	// Model is the model being migrated; Prepared is set once its old
	// index entries are deleted.
	Model    string `json:",omitempty"`
	Prepared bool   `json:",omitempty"`
	// Cursor is the last key (record key or sequence) done.
	Cursor []byte `json:",omitempty"`
	// Done lists the models finished.
	Done []string `json:",omitempty"`
	// LastSeq is the last outbox sequence number before the migration.
	LastSeq uint64 `json:",omitempty"`
	// Counters for the final report.
	Mutations, Dropped, DeadLettered int `json:",omitempty"`
	Resynced                         []string
}

// migrationPlan is the composition of the pending migrations.
type migrationPlan struct {
	schema *meta.Schema
	migs   []*meta.Migration
	models map[string]*modelWork // by final name
	// enums are the removeEnumValue steps, in order.
	enums []convStep
}

// modelWork is what the pending migrations do to one model (final name).
type modelWork struct {
	// rewrite: record values change; rekey/resync: the primary key changes;
	// reindex: the indexes to rebuild (all, when nil and rebuildAll).
	rewrite, rekey, resync, rebuildAll bool
	reindex                            []string
	convs                              []*conversion
	// fills are the @default values of added fields, for records and
	// mutations that have none.
	fills []fillDefault
	// rest are the model's stored fields other than the converted ones,
	// numbered explicitly: what records are decoded with.
	rest []*meta.Field
}

// fillDefault is the value an added field gets where it has none.
type fillDefault struct {
	field string
	value any
}

// conversion carries a field's values through type changes.
type conversion struct {
	field *meta.Field // final field
	old   *meta.Field // as stored before the first change
	steps []convStep
}

type convStep struct {
	mig int
	st  *meta.MigrationStep
}

func (p *migrationPlan) work(model string) *modelWork {
	w := p.models[model]
	if w == nil {
		w = &modelWork{}
		p.models[model] = w
	}
	return w
}

// forward follows a model (or non-model type) and field named as in
// migration k (an index into p.migs; -1 for the store's names) through the
// later migrations to their names in the final schema. ok is false when a
// later migration drops them.
func (p *migrationPlan) forward(k int, model, field string) (string, string, bool) {
	for _, mg := range p.migs[k+1:] {
		for _, st := range mg.Steps {
			switch st.Kind {
			case meta.RenameModel:
				if st.From == model {
					model = st.To
				}
			case meta.RenameField:
				if st.Model == model && st.From == field {
					field = st.To
				}
			case meta.DropModel:
				if st.Model == model {
					return "", "", false
				}
			case meta.DropField:
				if field != "" && st.Model == model && st.Field == field {
					return "", "", false
				}
			}
		}
	}
	return model, field, true
}

// usersOf returns the final models whose records hold values of the
// non-model type or enum typ, directly or nested.
func usersOf(s *meta.Schema, typ string) []string {
	var out []string
	for _, m := range s.Models {
		if holds(s, m.Fields, typ, map[string]bool{}) {
			out = append(out, m.Name)
		}
	}
	return out
}

func holds(s *meta.Schema, fields []*meta.Field, typ string, seen map[string]bool) bool {
	for _, f := range fields {
		if !f.Stored() {
			continue
		}
		if f.Type == typ {
			return true
		}
		if f.Kind == meta.KindNonModel && !seen[f.Type] {
			seen[f.Type] = true
			if nm := s.NonModel(f.Type); nm != nil && holds(s, nm.Fields, typ, seen) {
				return true
			}
		}
	}
	return false
}

// planMigrations composes migs (the store's pending migrations, oldest
// first) against the final schema s.
func planMigrations(s *meta.Schema, migs []*meta.Migration) (*migrationPlan, error) {
	p := &migrationPlan{schema: s, migs: migs, models: map[string]*modelWork{}}
	convs := map[string]*conversion{} // by final "Model.field"
	for k, mg := range migs {
		for _, st := range mg.Steps {
			bad := func(format string, args ...any) error {
				return &MigrationError{Migration: mg.Number, Model: st.Model, Field: st.Field, Err: fmt.Errorf(format, args...)}
			}
			if st.Kind == meta.RemoveEnumValue {
				if st.Convert == nil {
					return nil, bad("no conversion function for the removed value %s (%s): run dsgen generate", st.Value, st.Func)
				}
				for _, m := range usersOf(s, st.Model) {
					p.work(m).rewrite = true
				}
				p.enums = append(p.enums, convStep{mig: mg.Number, st: st})
				continue
			}
			model, field, ok := p.forward(k, st.Model, st.Field)
			if !ok {
				continue // a later migration drops what this step touches
			}
			if st.NonModel {
				switch st.Kind {
				case meta.DropField, meta.ChangeFieldType, meta.AddField:
					if st.Kind == meta.ChangeFieldType && st.Effect == meta.NeedsCode {
						return nil, bad("converting a field of a non-model type is not supported yet; keep the old field and add a new one")
					}
					for _, m := range usersOf(s, model) {
						p.work(m).rewrite = true
					}
				}
				continue
			}
			fm := s.Model(model)
			if fm == nil {
				continue
			}
			switch st.Kind {
			case meta.DropField:
				p.work(model).rewrite = true
			case meta.AddField:
				f := fm.Field(field)
				if st.Default == nil || f == nil || f.IsList {
					continue
				}
				dv, err := defaultValue(f, *st.Default)
				if err != nil {
					return nil, bad("@default %q: %w", *st.Default, err)
				}
				w := p.work(model)
				w.rewrite = true
				w.fills = append(w.fills, fillDefault{field: field, value: dv})
			case meta.ChangeFieldType:
				f := fm.Field(field)
				if f == nil {
					continue
				}
				if st.Effect == meta.NeedsCode && st.Convert == nil {
					return nil, bad("no conversion function (%s): write it in the model package and run dsgen generate", st.Func)
				}
				if st.Effect != meta.NeedsCode && st.Default == nil {
					continue // stored bytes read the same as the new type
				}
				key := model + "." + field
				c := convs[key]
				if c == nil {
					if st.Old == nil {
						return nil, bad("the step has no record of the old field type (written by an older dsgen: run dsgen migrate again)")
					}
					c = &conversion{field: f, old: st.Old}
					convs[key] = c
					w := p.work(model)
					w.convs = append(w.convs, c)
				}
				c.steps = append(c.steps, convStep{mig: mg.Number, st: st})
				p.work(model).rewrite = true
			case meta.ChangePrimaryKey:
				w := p.work(model)
				if st.Effect == meta.Resync {
					w.resync = true
				} else {
					w.rekey = true
				}
			case meta.AddIndex, meta.ChangeIndex:
				w := p.work(model)
				w.reindex = append(w.reindex, st.Index)
			}
		}
	}
	for name, w := range p.models {
		if w.rewrite || w.rekey || w.resync {
			w.rebuildAll = true
		}
		fields := s.Model(name).Fields
		for i, f := range fields {
			if !f.Stored() || slices.ContainsFunc(w.convs, func(c *conversion) bool { return c.field == f }) {
				continue
			}
			cp := *f
			cp.Number = codec.Number(fields, i)
			w.rest = append(w.rest, &cp)
		}
	}
	return p, nil
}

// migrate brings the store from migration from to the schema's, resuming
// st when a previous run stopped part way. It runs inside start, before the
// catalog is loaded.
func (s *Store) migrate(st *migrationState) error {
	db := s.db
	from, to := st.From, st.To
	if from < 0 || to != s.schema.Migration {
		return fmt.Errorf("datastore: migrate: the store is part way through migrating to %d, but this code's schema is at migration %d: open it with the build that started the migration", to, s.schema.Migration)
	}
	var migs []*meta.Migration
	for _, mg := range s.schema.Migrations {
		if mg.Number > from && mg.Number <= to {
			migs = append(migs, mg)
		}
	}
	if len(migs) != to-from || (len(migs) > 0 && migs[0].Number != from+1) {
		return fmt.Errorf("datastore: migrate: the generated code lacks migrations %d to %d (has %d): run dsgen generate", from+1, to, len(migs))
	}
	plan, err := planMigrations(s.schema, migs)
	if err != nil {
		return err
	}
	resumed := st.Phase != ""
	report := func(p MigrationProgress) {
		if s.cfg.onMigrate != nil {
			p.From, p.To, p.Resumed = from, to, resumed
			s.cfg.onMigrate(p)
		}
	}
	if !resumed {
		if err := db.Update(func(txn storage.Txn) error { return s.migrateCatalog(txn, plan, st) }); err != nil {
			return fmt.Errorf("datastore: migrate: catalog: %w", err)
		}
		report(MigrationProgress{Phase: "catalog"})
	}
	if err := s.dropPlaceholders(placeholderDrop, nil); err != nil {
		return err
	}
	if err := db.Update(func(txn storage.Txn) error { return s.eng.LoadCatalog(txn) }); err != nil {
		return fmt.Errorf("datastore: migrate: %w", err)
	}
	s.catalog = true
	if err := s.dropIndexPlaceholders(); err != nil {
		return err
	}

	names := make([]string, 0, len(plan.models))
	for n := range plan.models {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if slices.Contains(st.Done, name) {
			continue
		}
		if st.Model != name {
			st.Model, st.Prepared, st.Cursor = name, false, nil
		}
		if err := s.migrateModel(plan, plan.models[name], st, report); err != nil {
			return err
		}
	}
	if st.Phase == "records" {
		st.Phase, st.Cursor = "outbox", nil
	}
	if err := s.migrateMutations(plan, st, report); err != nil {
		return err
	}
	if err := db.DropPrefix(storage.RekeyPrefix()); err != nil {
		return fmt.Errorf("datastore: migrate: %w", err)
	}
	err = db.Update(func(txn storage.Txn) error {
		if err := txn.Set(storage.SettingKey(settingMigration), []byte(strconv.Itoa(to))); err != nil {
			return err
		}
		return txn.Delete(storage.SettingKey(settingMigrating))
	})
	if err != nil {
		return fmt.Errorf("datastore: migrate: %w", err)
	}
	report(MigrationProgress{Phase: "done", Mutations: st.Mutations, MutationsDropped: st.Dropped,
		MutationsDeadLettered: st.DeadLettered, Resynced: st.Resynced})
	return nil
}

func saveState(txn storage.Txn, st *migrationState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return txn.Set(storage.SettingKey(settingMigrating), b)
}

// migrateCatalog is phase 1: renames and drops in the catalog, in step
// order, and placeholders for the tables to drop and to re-key.
func (s *Store) migrateCatalog(txn storage.Txn, plan *migrationPlan, st *migrationState) error {
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
	seq, err := engine.Get(txn, outboxSeqKey)
	if err != nil {
		return err
	}
	if len(seq) == 8 {
		st.LastSeq = binary.BigEndian.Uint64(seq)
	}
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
	var m ModelMetadata
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
func (s *Store) dropIndexPlaceholders() error {
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
			return fmt.Errorf("datastore: migrate: %w", err)
		}
		for name, id := range ids {
			if err := db.DropPrefix(storage.IndexPrefix(t.ID, id)); err != nil {
				return fmt.Errorf("datastore: migrate: dropping index %s of %s: %w", name, t.Model.Name, err)
			}
			err := db.Update(func(txn storage.Txn) error { return txn.Delete(storage.IndexIDKey(t.Model.Name, placeholderDrop+name)) })
			if err != nil {
				return fmt.Errorf("datastore: migrate: %w", err)
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
func (s *Store) dropPlaceholders(kind string, model *string) error {
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
		return fmt.Errorf("datastore: migrate: %w", err)
	}
	for name, id := range ids {
		if err := db.DropPrefix(storage.TablePrefixes(id)...); err != nil {
			return fmt.Errorf("datastore: migrate: dropping the old table of %s: %w", name, err)
		}
		err := db.Update(func(txn storage.Txn) error { return txn.Delete(storage.TableIDKey(kind + name)) })
		if err != nil {
			return fmt.Errorf("datastore: migrate: %w", err)
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

// migrateModel is phase 3 for one model: its records in batches.
func (s *Store) migrateModel(plan *migrationPlan, w *modelWork, st *migrationState, report func(MigrationProgress)) error {
	db := s.db
	t := s.eng.Tables[st.Model]
	if t == nil {
		return nil
	}
	var oldID uint32
	var copying bool
	if err := db.View(func(txn storage.Txn) (err error) {
		oldID, copying, err = placeholderID(txn, placeholderRekey+t.Model.Name)
		return err
	}); err != nil {
		return fmt.Errorf("datastore: migrate: %w", err)
	}
	// The indexes to rebuild lose their entries first (in place only: a
	// copy writes a new table).
	var rebuild []*engine.Index
	for _, ix := range t.Indexes {
		if w.rebuildAll || slices.Contains(w.reindex, ix.Name) {
			rebuild = append(rebuild, ix)
		}
	}
	if !st.Prepared {
		if !copying {
			for _, ix := range rebuild {
				if err := db.DropPrefix(ix.Prefix); err != nil {
					return fmt.Errorf("datastore: migrate: %s: %w", t.Model.Name, err)
				}
			}
		}
		st.Prepared = true
		if err := db.Update(func(txn storage.Txn) error { return saveState(txn, st) }); err != nil {
			return fmt.Errorf("datastore: migrate: %w", err)
		}
	}
	src := t.Prefix
	if copying {
		src = storage.RecordPrefix(oldID)
	}
	done, limit := 0, migrateBatch
	for {
		batch, err := readBatch(db, src, st.Cursor, limit)
		if err != nil {
			return fmt.Errorf("datastore: migrate: %s: %w", t.Model.Name, err)
		}
		if len(batch) == 0 {
			break
		}
		err = db.Update(func(txn storage.Txn) error {
			for _, r := range batch {
				if err := s.migrateRecord(txn, plan, w, t, rebuild, copying, oldID, r.k, r.v); err != nil {
					return err
				}
			}
			next := *st
			next.Cursor = batch[len(batch)-1].k
			return saveState(txn, &next)
		})
		if errors.Is(err, storage.ErrTxnTooBig) && len(batch) > 1 {
			// Small memtables (MemoryPreset) cap transactions: halve.
			limit = len(batch) / 2
			continue
		}
		if err != nil {
			return err
		}
		st.Cursor = batch[len(batch)-1].k
		done += len(batch)
		report(MigrationProgress{Phase: "records", Model: t.Model.Name, Records: done})
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
			b, _ := json.Marshal(ModelMetadata{Model: t.Model.Name})
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

// kv is a key and its value.
type kv struct{ k, v []byte }

// readBatch reads, under prefix and after the key cursor (from the start
// when nil), up to limit entries or migrateBatchBytes of values.
func readBatch(db *storage.DB, prefix, cursor []byte, limit int) ([]kv, error) {
	var batch []kv
	err := db.View(func(txn storage.Txn) error {
		it := txn.Iterate(storage.IterOptions{Prefix: prefix, Prefetch: 64})
		defer it.Close()
		it.Seek(prefix)
		if cursor != nil {
			it.Seek(cursor)
			if it.Valid() && bytes.Equal(it.Key(), cursor) {
				it.Next()
			}
		}
		size := 0
		for ; it.Valid() && len(batch) < limit && size < migrateBatchBytes; it.Next() {
			v, err := it.ValueCopy(nil)
			if err != nil {
				return err
			}
			batch = append(batch, kv{it.KeyCopy(nil), v})
			size += 2*len(v) + 64
		}
		return nil
	})
	return batch, err
}

// migrateRecord moves one record: converted when values change, its index
// entries rebuilt, copied under its new key when the key changes.
func (s *Store) migrateRecord(txn storage.Txn, plan *migrationPlan, w *modelWork, t *engine.Table, rebuild []*engine.Index, copying bool, oldID uint32, key, data []byte) error {
	ref := func() string { return describeKey(key) }
	var err error
	if w.rewrite {
		if data, err = plan.convertRecord(t, data); err != nil {
			var me *MigrationError
			if errors.As(err, &me) {
				me.Record = ref()
				return me
			}
			return &MigrationError{Model: t.Model.Name, Record: ref(), Err: err}
		}
	}
	r, err := t.Project(data)
	if err != nil {
		return &MigrationError{Model: t.Model.Name, Record: ref(), Err: err}
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
	// Copy into the new table under the new key. A re-synced model keeps
	// only the records with unsent changes; the next full sync brings the
	// rest.
	pend, pending, err := pendingSeq(txn, key)
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
		if err := txn.Set(storage.PendingKey(newKey), binary.BigEndian.AppendUint64(nil, pend)); err != nil {
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

// convertRecord applies the plan's value changes to an encoded record of t.
func (p *migrationPlan) convertRecord(t *engine.Table, data []byte) ([]byte, error) {
	s := p.schema
	w := p.models[t.Model.Name]
	// Values whose type changed are read with their old type, the rest
	// with the new schema (which skips dropped fields).
	rec, err := codec.DecodeMap(s, w.rest, data)
	if err != nil {
		return nil, err
	}
	for _, c := range w.convs {
		old, err := codec.DecodeMap(s, []*meta.Field{c.old}, data)
		if err != nil {
			return nil, &MigrationError{Model: t.Model.Name, Field: c.field.Name, Err: fmt.Errorf("reading the stored %s value: %w", c.old.Type, err)}
		}
		v, err := c.apply(old[c.old.Name], t.Model.Name)
		if err != nil {
			return nil, err
		}
		if v != nil {
			rec[c.field.Name] = v
		}
	}
	w.fill(rec, false)
	if err := p.fixEnums(t.Model.Name, t.Model.Fields, rec); err != nil {
		return nil, err
	}
	out, err := codec.EncodeMap(s, t.Model.Fields, rec, nil)
	if err != nil {
		return nil, &MigrationError{Model: t.Model.Name, Err: fmt.Errorf("the converted record does not fit the schema: %w", err)}
	}
	return out, nil
}

// apply runs a value through the conversion's steps.
func (c *conversion) apply(v any, model string) (any, error) {
	for _, cs := range c.steps {
		switch {
		case cs.st.Effect == meta.NeedsCode:
			nv, err := cs.st.Convert(v)
			if err != nil {
				return nil, &MigrationError{Migration: cs.mig, Model: model, Field: c.field.Name,
					Err: fmt.Errorf("%s: %w", cs.st.Func, err)}
			}
			v = nv
		case v == nil && cs.st.Default != nil:
			dv, err := defaultValue(c.field, *cs.st.Default)
			if err != nil {
				return nil, &MigrationError{Migration: cs.mig, Model: model, Field: c.field.Name, Err: fmt.Errorf("@default %q: %w", *cs.st.Default, err)}
			}
			v = dv
		}
	}
	return v, nil
}

// fill sets the @default of the fields added with one where rec has none
// (onlyPresent: only where rec holds the field as null, for updates).
func (w *modelWork) fill(rec map[string]any, onlyPresent bool) {
	for _, f := range w.fills {
		if v, present := rec[f.field]; v == nil && (present || !onlyPresent) {
			rec[f.field] = f.value
		}
	}
}

// fixEnums replaces removed enum values in rec (values of fields, nested in
// non-model values and lists) by their conversion functions' answers.
func (p *migrationPlan) fixEnums(model string, fields []*meta.Field, rec map[string]any) error {
	for _, cs := range p.enums {
		if err := replaceEnum(p.schema, fields, rec, cs.st); err != nil {
			return &MigrationError{Migration: cs.mig, Model: model, Err: fmt.Errorf("%s value %s: %s: %w", cs.st.Model, cs.st.Value, cs.st.Func, err)}
		}
	}
	return nil
}

func replaceEnum(s *meta.Schema, fields []*meta.Field, rec map[string]any, st *meta.MigrationStep) error {
	for _, f := range fields {
		v, ok := rec[f.Name]
		if !ok || v == nil || !f.Stored() {
			continue
		}
		switch f.Kind {
		case meta.KindEnum:
			if f.Type != st.Model {
				continue
			}
			if !f.IsList {
				if v == st.Value {
					nv, err := st.Convert(v)
					if err != nil {
						return err
					}
					rec[f.Name] = nv
				}
				continue
			}
			list, _ := v.([]any)
			out := list[:0]
			for _, e := range list {
				if e == st.Value {
					nv, err := st.Convert(e)
					if err != nil {
						return err
					}
					if nv == nil {
						continue // a list element has no null: leave it out
					}
					e = nv
				}
				out = append(out, e)
			}
			rec[f.Name] = out
		case meta.KindNonModel:
			nm := s.NonModel(f.Type)
			if nm == nil {
				continue
			}
			values := []any{v}
			if f.IsList {
				values, _ = v.([]any)
			}
			for _, e := range values {
				if m, ok := e.(map[string]any); ok {
					if err := replaceEnum(s, nm.Fields, m, st); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// migrateMutations is phase 4: the outbox, then the dead letters.
func (s *Store) migrateMutations(plan *migrationPlan, st *migrationState, report func(MigrationProgress)) error {
	db := s.db
	for _, phase := range []string{"outbox", "dead"} {
		if st.Phase != phase {
			continue
		}
		prefix := storage.OutboxPrefix()
		if phase == "dead" {
			prefix = storage.DeadLetterPrefix()
		}
		done, limit := 0, migrateBatch
		for {
			batch, err := readBatch(db, prefix, st.Cursor, limit)
			if err != nil {
				return fmt.Errorf("datastore: migrate: %s: %w", phase, err)
			}
			if len(batch) == 0 {
				break
			}
			saved := *st
			err = db.Update(func(txn storage.Txn) error {
				*st = saved // a retried attempt counts afresh
				for _, e := range batch {
					if err := s.migrateEntry(txn, plan, st, phase == "dead", e.k, e.v); err != nil {
						return err
					}
				}
				st.Cursor = batch[len(batch)-1].k
				return saveState(txn, st)
			})
			if err != nil {
				*st = saved // the counters of a failed batch do not count
				if errors.Is(err, storage.ErrTxnTooBig) && len(batch) > 1 {
					limit = len(batch) / 2
					continue
				}
				return err
			}
			done += len(batch)
			report(MigrationProgress{Phase: "outbox", Records: done})
		}
		if phase == "outbox" {
			st.Phase = "dead"
		} else {
			st.Phase = "final"
		}
		st.Cursor = nil
		if err := db.Update(func(txn storage.Txn) error { return saveState(txn, st) }); err != nil {
			return fmt.Errorf("datastore: migrate: %w", err)
		}
	}
	return nil
}

// migrateEntry rewrites one outbox entry or dead letter for the final
// schema: its model and field names, its values, its record key. An entry
// whose model was dropped is deleted; one whose record's new key cannot be
// found is moved to the dead letters.
func (s *Store) migrateEntry(txn storage.Txn, plan *migrationPlan, st *migrationState, dead bool, key, value []byte) error {
	var dl DeadLetter
	if err := unmarshalNumbers(value, &dl); err != nil {
		return &MigrationError{Record: fmt.Sprintf("mutation %x", key), Err: err}
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
	if err := plan.convertEntry(t, w, m, ref); err != nil {
		return err
	}
	var unsendable string
	if w.rekey || w.resync {
		var err error
		if unsendable, err = s.rekeyEntry(txn, t, m, dead); err != nil {
			return err
		}
	}
	if unsendable != "" && !dead {
		return s.deadLetterEntry(txn, st, m, key, unsendable)
	}
	var b []byte
	var err error
	if dead {
		if unsendable != "" {
			dl.Reason = unsendable
		}
		b, err = json.Marshal(dl)
	} else {
		b, err = json.Marshal(m)
	}
	if err != nil {
		return &MigrationError{Model: model, Record: ref, Err: err}
	}
	return txn.Set(key, b)
}

// dropPendingMark deletes the pending mark of m's record when it points at
// m.
func dropPendingMark(txn storage.Txn, m *Mutation) error {
	if seq, ok, err := pendingSeq(txn, m.RecordKey); err != nil || !ok || seq != m.Seq {
		return err
	}
	return txn.Delete(storage.PendingKey(m.RecordKey))
}

// convertEntry renames m (of the store's model, now t's) to the final
// schema and converts its values: conversions of fields whose type
// changed, defaults of added fields (a create carries the whole record),
// removed enum values.
func (p *migrationPlan) convertEntry(t *engine.Table, w *modelWork, m *Mutation, ref string) error {
	from, model := m.Model, t.Model.Name
	m.Model = model
	m.Data = p.renameFields(from, model, m.Data)
	m.Condition = p.renameCondition(from, model, m.Condition)
	for _, c := range w.convs {
		v, present := m.Data[c.field.Name]
		if !present {
			continue
		}
		nv, err := c.apply(jsonValue(c.old, v), model)
		if err != nil {
			var me *MigrationError
			if errors.As(err, &me) {
				me.Record = ref
			}
			return err
		}
		m.Data[c.field.Name] = nv
	}
	w.fill(m.Data, m.Op != MutationCreate)
	return p.fixEnums(model, t.Model.Fields, m.Data)
}

// rekeyEntry points m, a mutation of a re-keyed record, at the record's
// new key, or returns why it cannot be sent when the key cannot be found.
func (s *Store) rekeyEntry(txn storage.Txn, t *engine.Table, m *Mutation, dead bool) (unsendable string, err error) {
	newKey, err := engine.Get(txn, storage.RekeyKey(m.RecordKey))
	if err != nil {
		return "", err
	}
	if newKey == nil {
		// The record is gone locally (a delete): its new key can be
		// built only from what the mutation carries.
		k, err := keyFromValues(t, keyValues(t, m.Data))
		if err != nil {
			return fmt.Sprintf("migration: %s's primary key changed to (%s) and the mutation does not carry the new key", t.Model.Name, strings.Join(t.Model.PrimaryKey.Fields(), ", ")), nil
		}
		newKey = k
	}
	if !dead {
		if err := dropPendingMark(txn, m); err != nil {
			return "", err
		}
		if err := txn.Set(storage.PendingKey(newKey), binary.BigEndian.AppendUint64(nil, m.Seq)); err != nil {
			return "", err
		}
	}
	m.RecordKey = newKey
	if data, err := engine.Get(txn, newKey); err != nil {
		return "", err
	} else if data != nil {
		rec, err := s.recordMap(t, data)
		if err != nil {
			return "", err
		}
		for k, v := range keyMap(t, rec) {
			m.Data[k] = v
		}
	}
	m.Key = keyValues(t, m.Data)
	return "", nil
}

// deadLetterEntry moves the outbox entry m (under key) to the dead letters
// with the reason it cannot be sent.
func (s *Store) deadLetterEntry(txn storage.Txn, st *migrationState, m *Mutation, key []byte, reason string) error {
	if err := dropPendingMark(txn, m); err != nil {
		return err
	}
	if err := txn.Delete(key); err != nil {
		return err
	}
	seq, err := nextSeq(txn)
	if err != nil {
		return err
	}
	m.InFlight = false
	b, err := json.Marshal(DeadLetter{Mutation: *m, Reason: reason, Failed: s.cfg.now().UnixMilli()})
	if err != nil {
		return err
	}
	st.DeadLettered++
	return txn.Set(storage.DeadLetterKey(seq), b)
}

// jsonValue turns a value of a mutation's data (JSON-decoded, numbers as
// json.Number) into the shape the codec and converters use for field f.
func jsonValue(f *meta.Field, v any) any {
	if list, ok := v.([]any); ok && f.IsList {
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = wireValue(f, e)
		}
		return out
	}
	return wireValue(f, v)
}

// renameFields renames and drops the fields of a mutation's data from the
// store's model from to the final model.
func (p *migrationPlan) renameFields(from, model string, data map[string]any) map[string]any {
	m := p.schema.Model(model)
	out := make(map[string]any, len(data))
	for k, v := range data {
		_, f, ok := p.forward(-1, from, k)
		if !ok {
			continue
		}
		if fd := m.Field(f); fd != nil && fd.Stored() {
			out[f] = v
		}
	}
	return out
}

// renameCondition renames the fields of a GraphQL condition input and
// drops the clauses on fields dropped or converted (their operands have the
// old type).
func (p *migrationPlan) renameCondition(from, model string, cond map[string]any) map[string]any {
	if cond == nil {
		return nil
	}
	m := p.schema.Model(model)
	w := p.models[model]
	var walk func(c map[string]any) map[string]any
	walk = func(c map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range c {
			switch k {
			case "and", "or":
				list, _ := v.([]any)
				var kept []any
				for _, e := range list {
					if em, ok := e.(map[string]any); ok {
						if r := walk(em); len(r) > 0 {
							kept = append(kept, r)
						}
					}
				}
				if len(kept) > 0 {
					out[k] = kept
				}
			case "not":
				if em, ok := v.(map[string]any); ok {
					if r := walk(em); len(r) > 0 {
						out[k] = r
					}
				}
			default:
				_, f, ok := p.forward(-1, from, k)
				if !ok || m.Field(f) == nil {
					continue
				}
				if w != nil && slices.ContainsFunc(w.convs, func(c *conversion) bool { return c.field.Name == f }) {
					continue
				}
				out[f] = v
			}
		}
		return out
	}
	out := walk(cond)
	if len(out) == 0 {
		return nil
	}
	return out
}
