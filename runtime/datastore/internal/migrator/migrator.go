// Package migrator runs the pending schema migrations (internal/migrate
// plans, compiled into generated code as meta.Migration steps) on a local
// store, for package datastore.
//
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
//     functions, @default backfills, removed enum values; a converted field
//     of a non-model type in every value of the type, at any depth, read
//     with its stored type through migrationPlan.read), dropped fields
//     removed, indexes rebuilt; a changed primary key copies the records
//     into a new table under their new keys (re-key), or, when the key
//     cannot be derived, keeps only the records with unsent changes and
//     clears the model's sync state so the next sync is a full one (re-sync).
//  4. The outbox and the dead letters, by sequence number, in batches: the
//     same renames, drops and conversions applied to each mutation (down
//     to the fields of the non-model values it holds), which stays in
//     place and keeps its order.
//  5. The store records the new migration number and schema.
//
// Every error message starts with "migrate"; package datastore adds its
// own prefix once.
package migrator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/storage"
)

// migrateBatch bounds the records (or outbox entries) one migration
// transaction holds, which bounds memory and Badger's transaction size.
const migrateBatch = 512

// migrateBatchBytes bounds the encoded bytes one migration transaction
// writes (Badger refuses transactions past a fraction of its memtable).
const migrateBatchBytes = 4 << 20

// The settings a migration keeps: the store's migration number, and the
// State of a migration under way.
var (
	NumberKey = storage.SettingKey("migration")
	StateKey  = storage.SettingKey("migrating")
)

// Catalog placeholder names: never model names, since they start with 0.
const (
	placeholderDrop  = "\x00drop:"
	placeholderRekey = "\x00rekey:"
)

// Config is what a migration runs on and whom it tells.
type Config struct {
	DB     *storage.DB
	Engine *engine.Engine
	// Schema is the generated code's schema, with its migrations.
	Schema *meta.Schema
	// Now stamps the mutations the migration dead-letters.
	Now func() time.Time
	// Report, when set, is called after each committed batch and once when
	// the migration is done.
	Report func(Progress)
	// Loaded, when set, is called once Engine's catalog is loaded: the
	// engine's table ids are final from then on.
	Loaded func()
}

// migration is one run of Run.
type migration struct {
	db     *storage.DB
	eng    *engine.Engine
	schema *meta.Schema
	now    func() time.Time
	report func(Progress)
}

// Progress reports a migration under way (see Config.Report).
type Progress struct {
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

// State is the stored position of a migration under way.
type State struct {
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

// Run brings the store from migration st.From to the schema's, resuming
// st when a previous run stopped part way. It runs before the store's
// catalog is loaded, and loads it.
func Run(c Config, st *State) error {
	from, to := st.From, st.To
	if from < 0 || to != c.Schema.Migration {
		return fmt.Errorf("migrate: the store is part way through migrating to %d, but this code's schema is at migration %d: open it with the build that started the migration", to, c.Schema.Migration)
	}
	var migs []*meta.Migration
	for _, mg := range c.Schema.Migrations {
		if mg.Number > from && mg.Number <= to {
			migs = append(migs, mg)
		}
	}
	if len(migs) != to-from || (len(migs) > 0 && migs[0].Number != from+1) {
		return fmt.Errorf("migrate: the generated code lacks migrations %d to %d (has %d): run dsgen generate", from+1, to, len(migs))
	}
	resumed := st.Phase != ""
	s := &migration{db: c.DB, eng: c.Engine, schema: c.Schema, now: c.Now, report: func(p Progress) {
		if c.Report != nil {
			p.From, p.To, p.Resumed = from, to, resumed
			c.Report(p)
		}
	}}
	if c.Loaded == nil {
		c.Loaded = func() {}
	}
	return s.run(migs, st, c.Loaded)
}

// run is Run's phases, in order.
func (s *migration) run(migs []*meta.Migration, st *State, loaded func()) error {
	db := s.db
	plan, err := planMigrations(s.schema, migs)
	if err != nil {
		return err
	}
	if st.Phase == "" {
		if err := db.Update(func(txn storage.Txn) error { return s.migrateCatalog(txn, plan, st) }); err != nil {
			return fmt.Errorf("migrate: catalog: %w", err)
		}
		s.report(Progress{Phase: "catalog"})
	}
	if err := s.dropPlaceholders(placeholderDrop, nil); err != nil {
		return err
	}
	if err := db.Update(func(txn storage.Txn) error { return s.eng.LoadCatalog(txn) }); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	loaded()
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
		if err := s.migrateModel(plan, plan.models[name], st); err != nil {
			return err
		}
	}
	if st.Phase == "records" {
		st.Phase, st.Cursor = "outbox", nil
	}
	if err := s.migrateMutations(plan, st); err != nil {
		return err
	}
	if err := db.DropPrefix(storage.RekeyPrefix()); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	err = db.Update(func(txn storage.Txn) error {
		if err := txn.Set(NumberKey, []byte(strconv.Itoa(st.To))); err != nil {
			return err
		}
		return txn.Delete(StateKey)
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	s.report(Progress{Phase: "done", Mutations: st.Mutations, MutationsDropped: st.Dropped,
		MutationsDeadLettered: st.DeadLettered, Resynced: st.Resynced})
	return nil
}

func saveState(txn storage.Txn, st *State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return txn.Set(StateKey, b)
}

// batches calls each for every entry under prefix after st.Cursor, in
// batches of at most migrateBatch entries, each batch one transaction that
// also saves st with the cursor past it, so a crash resumes after the last
// batch; progress gets the entries done so far after each. A batch too big
// for one transaction (small memtables, MemoryPreset) is halved. each may
// count in st: what a failed or retried attempt counted is undone. what
// names the entries in errors.
func (s *migration) batches(prefix []byte, what string, st *State, each func(txn storage.Txn, k, v []byte) error, progress func(done int)) error {
	done, limit := 0, migrateBatch
	for {
		batch, err := readBatch(s.db, prefix, st.Cursor, limit)
		if err != nil {
			return fmt.Errorf("migrate: %s: %w", what, err)
		}
		if len(batch) == 0 {
			return nil
		}
		saved := *st
		err = s.db.Update(func(txn storage.Txn) error {
			*st = saved // a retried attempt counts afresh
			for _, e := range batch {
				if err := each(txn, e.k, e.v); err != nil {
					return err
				}
			}
			st.Cursor = batch[len(batch)-1].k
			return saveState(txn, st)
		})
		if err != nil {
			*st = saved
			if errors.Is(err, storage.ErrTxnTooBig) && len(batch) > 1 {
				limit = len(batch) / 2
				continue
			}
			return err
		}
		done += len(batch)
		progress(done)
	}
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
