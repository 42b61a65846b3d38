package launch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/dsgen/dsgen/internal/migrate"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/meta"
)

// The --migrate modes.
const (
	// MigrateAuto applies pending migrations at start (the default).
	MigrateAuto = "auto"
	// MigrateCheck refuses to start when migrations are pending.
	MigrateCheck = "check"
	// MigrateOff neither checks nor records the schema of the data.
	MigrateOff = "off"
)

// migrationBatch is how many records one migration transaction rewrites.
const migrationBatch = 256

// rekeyPrefix names the temporary model a re-key moves records through;
// no GraphQL name holds '-' or ':'.
const rekeyPrefix = "dsgen-rekey:"

// SchemaError is a store whose data the served schema cannot take: written
// by a newer schema, by one no migration leads from, part way through a
// migration to another schema, or needing a migration serve cannot run.
type SchemaError struct {
	// StoredVersion and StoredMigration are what the store records.
	StoredVersion   string
	StoredMigration int
	// Version and Migration are the served schema's.
	Version   string
	Migration int
	// Newer is true when the data was written by a newer schema.
	Newer bool
	// Msg says what is wrong and what to do.
	Msg string
}

// Error names both schemas and says what to do.
func (e *SchemaError) Error() string {
	return fmt.Sprintf("the data store was written by schema version %s (migration %d); the served schema is version %s (migration %d): %s",
		e.StoredVersion, e.StoredMigration, e.Version, e.Migration, e.Msg)
}

// migrationProgress is a migration under way, as the store's mark keeps it.
type migrationProgress struct {
	// ToVersion and ToMigration are the schema the run migrates to.
	ToVersion   string `json:"toVersion"`
	ToMigration int    `json:"toMigration"`
	// Number is the migration being applied; Pass the pass under way in
	// it; Cursor the position its last batch reached.
	Number int    `json:"number"`
	Pass   int    `json:"pass"`
	Cursor []byte `json:"cursor,omitempty"`
}

// migrateStore brings the store's data to the served schema (see
// README "Schema changes on the server"): it compares the schema the store
// records with sch and its lock, applies the pending migration files in
// order, each in resumable batches, or refuses with a *SchemaError.
func (o *Options) migrateStore(ctx context.Context, log *slog.Logger, st store.Store, sch *meta.Schema) error {
	mode := o.Migrate
	if mode == "" {
		mode = MigrateAuto
	}
	if mode != MigrateAuto && mode != MigrateCheck && mode != MigrateOff {
		return optionErr("--migrate %q: want auto, check or off", mode)
	}
	m, ok := st.(store.Migrator)
	if mode == MigrateOff || !ok || o.InMemory { // in memory: no data to keep
		return nil
	}
	lockPath, dir := migrate.Paths(o.Schema, o.Lock, o.Migrations)
	lock, err := migrate.LoadLock(lockPath)
	if err != nil {
		return err
	}
	target := store.SchemaMark{Version: sch.Version}
	if lock != nil {
		if lock.SchemaVersion != sch.Version {
			return fmt.Errorf("the schema (version %s) changed since its lock %s (version %s): run dsgen migrate, then start dsgen serve again", sch.Version, lockPath, lock.SchemaVersion)
		}
		target.Migration = lock.Migration
	}
	unlock, err := m.LockMigration(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	mark, found, err := m.SchemaMark(ctx)
	if err != nil {
		return err
	}
	if !found {
		// A fresh store, or one written before stores kept a mark: its data
		// is taken to be in the served schema.
		log.Info("recorded the schema of the data", "version", target.Version, "migration", target.Migration)
		return m.SetSchemaMark(ctx, target)
	}
	bad := func(newer bool, format string, args ...any) error {
		return &SchemaError{StoredVersion: mark.Version, StoredMigration: mark.Migration,
			Version: target.Version, Migration: target.Migration, Newer: newer, Msg: fmt.Sprintf(format, args...)}
	}
	var prog *migrationProgress
	if mark.Progress != nil {
		prog = new(migrationProgress)
		if err := json.Unmarshal(mark.Progress, prog); err != nil {
			return fmt.Errorf("the data store's migration state is unreadable: %w", err)
		}
		if prog.ToVersion != target.Version || prog.ToMigration != target.Migration {
			return bad(false, "the data is part way through a migration to version %s (migration %d): start dsgen serve with that schema to finish it",
				prog.ToVersion, prog.ToMigration)
		}
	} else if mark.Version == target.Version {
		if mark.Migration != target.Migration {
			return m.SetSchemaMark(ctx, target)
		}
		return nil
	}
	if prog == nil && mark.Migration > target.Migration {
		return bad(true, "the data was written by a newer schema: serve that schema (or a later one), or restore the data from before it was migrated")
	}
	if lock == nil {
		return bad(false, "there is no lock at %s, so no migration to apply: write the schema's lock and migrations with dsgen migrate, or start with --migrate=off to serve the data as it is", lockPath)
	}
	migs, err := migrate.LoadMigrations(dir, lock.Migration)
	if err != nil {
		return err
	}
	pending, err := pendingMigrations(mark, prog, migs)
	if err != nil {
		return bad(mark.Migration > target.Migration, "%v", err)
	}
	plans := make([][]pass, len(pending))
	for i, mg := range pending {
		if plans[i], err = planPasses(sch, mg, pending[i+1:]); err != nil {
			return bad(false, "%v", err)
		}
	}
	if mode == MigrateCheck {
		return bad(false, "%d migration(s) to apply (%s): start with --migrate=auto to apply them", len(pending), numbers(pending))
	}
	r := &migrationRun{m: m, log: log, target: target, migs: pending, plans: plans}
	if v := os.Getenv(pauseEnv); v != "" {
		if r.pauseAfter, err = strconv.Atoi(v); err != nil {
			return fmt.Errorf("%s=%q: want a number of batches", pauseEnv, v)
		}
	}
	return r.run(ctx, prog)
}

// pendingMigrations returns the migrations that lead from the stored
// schema to the served one, resuming prog when it is set.
func pendingMigrations(mark store.SchemaMark, prog *migrationProgress, migs []*meta.Migration) ([]*meta.Migration, error) {
	if prog != nil {
		if prog.Number < 1 || prog.Number > len(migs) {
			return nil, fmt.Errorf("the migration under way, %d, is not among the %d migration files", prog.Number, len(migs))
		}
		return migs[prog.Number-1:], nil
	}
	if mark.Migration > len(migs) {
		return nil, errors.New("the data was written by a newer schema: serve that schema (or a later one), or restore the data from before it was migrated")
	}
	// Usually the next migration; a store recorded before the schema's
	// first lock holds migration 0 and the version migration 1 starts from.
	for i := mark.Migration; i < len(migs); i++ {
		if migs[i].From == mark.Version {
			return migs[i:], nil
		}
	}
	if i := slices.IndexFunc(migs, func(mg *meta.Migration) bool { return mg.To == mark.Version }); i >= 0 && i+1 > mark.Migration {
		return migs[i+1:], nil
	}
	return nil, errors.New("no migration file leads from the stored version to the served one (was the data written by another branch of the schema?): serve the schema that wrote it, or start with --migrate=off to serve the data as it is")
}

func numbers(migs []*meta.Migration) string {
	var s []string
	for _, mg := range migs {
		s = append(s, fmt.Sprintf("%04d", mg.Number))
	}
	return strings.Join(s, ", ")
}

// pass is one pass of a migration over one model's base table or log.
type pass struct {
	model, to string // see store.Rewrite
	log       bool
	fn        store.RewriteFunc
	what      string // for the log
}

// modelWork is what one migration does to the items of one model.
type modelWork struct {
	from, to string
	renames  [][2]string
	drops    []string
	fills    []fill
	rekey    []string // the new key fields, when the key changes
	nested   []nested // changes to non-model values inside the items
}

type fill struct {
	field string
	value any
}

// rewrite renames, drops and fills the fields of one item. Renames
// happen at once, so a migration may swap two names.
func (w *modelWork) rewrite(_ []any, item map[string]any) ([]any, map[string]any, error) {
	moved := map[string]any{}
	for _, r := range w.renames {
		if v, ok := item[r[0]]; ok {
			moved[r[1]] = v
			delete(item, r[0])
		}
	}
	for k, v := range moved {
		item[k] = v
	}
	for _, d := range w.drops {
		delete(item, d)
	}
	for _, f := range w.fills {
		if v, ok := item[f.field]; !ok || v == nil {
			item[f.field] = f.value
		}
	}
	for _, n := range w.nested {
		at(item[n.path[0]], n.path[1:], n.work.apply)
	}
	return nil, item, nil
}

// newKey reads the record's new primary key from its item.
func (w *modelWork) newKey(_ []any, item map[string]any) ([]any, map[string]any, error) {
	key := make([]any, len(w.rekey))
	for i, f := range w.rekey {
		v, ok := item[f]
		if !ok || v == nil {
			return nil, nil, fmt.Errorf("the new primary key (%s) needs %s, which this record has no value for", strings.Join(w.rekey, ", "), f)
		}
		key[i] = v
	}
	return key, item, nil
}

// planPasses turns one migration into the store passes that apply it:
// dropped models first, then each changed model (renamed, fields renamed,
// dropped or filled with their @default) in one pass over its records and
// one over its change log, then re-keys through a temporary model. Steps
// that change no stored item (indexes, new models, enum values, relaxed
// types) need no pass. later are the migrations after mg, through which
// names are followed to the served schema sch for the types of defaults.
func planPasses(sch *meta.Schema, mg *meta.Migration, later []*meta.Migration) ([]pass, error) {
	works := map[string]*modelWork{}
	work := func(model string) *modelWork {
		if works[model] == nil {
			works[model] = &modelWork{from: model, to: model}
		}
		return works[model]
	}
	var passes []pass
	types := map[string]*typeWork{} // non-model types, named as in mg
	for _, st := range mg.Steps {
		where := fmt.Sprintf("migration %04d, step %s", mg.Number, st)
		if st.Effect == meta.NeedsCode {
			return nil, fmt.Errorf("%s: the conversion %s is Go code only the generated client runs, so dsgen serve cannot convert the stored values; change the schema in steps that need no conversion (add a new field, let clients fill it, then drop the old one)", where, st.Func)
		}
		if st.NonModel {
			tw := types[st.Model]
			if tw == nil {
				tw = &typeWork{}
			}
			switch {
			case st.Kind == meta.RenameField:
				tw.renames = append(tw.renames, [2]string{st.From, st.To})
			case st.Kind == meta.DropField:
				tw.drops = append(tw.drops, st.Field)
			case (st.Kind == meta.AddField || st.Kind == meta.ChangeFieldType) && st.Default != nil:
				tw.fills = append(tw.fills, fill{field: st.Field, value: *st.Default}) // typed by planNested
			default:
				continue // a type rename, or nothing stored changes
			}
			types[st.Model] = tw
			continue
		}
		switch st.Kind {
		case meta.DropModel:
			passes = append(passes,
				pass{model: st.Model, what: "drop model " + st.Model},
				pass{model: st.Model, log: true, what: "drop model " + st.Model})
		case meta.RenameModel:
			work(st.To).from = st.From
		case meta.RenameField:
			w := work(st.Model)
			w.renames = append(w.renames, [2]string{st.From, st.To})
		case meta.DropField:
			w := work(st.Model)
			w.drops = append(w.drops, st.Field)
		case meta.AddField, meta.ChangeFieldType:
			if st.Default == nil {
				continue
			}
			model, field, ok := forwardAs(later, st.Model, st.Field, false)
			if !ok {
				continue // dropped later
			}
			var f *meta.Field
			if m := sch.Model(model); m != nil {
				f = m.Field(field)
			}
			if f == nil || f.IsList {
				continue
			}
			v, err := meta.DefaultValue(f, *st.Default)
			if err != nil {
				return nil, fmt.Errorf("%s: @default %q: %w", where, *st.Default, err)
			}
			w := work(st.Model)
			w.fills = append(w.fills, fill{field: st.Field, value: v})
		case meta.ChangePrimaryKey:
			work(st.Model).rekey = strings.Split(st.To, ",")
		}
	}
	if err := planNested(sch, mg, later, types, work); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(works))
	for n := range works {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w := works[n]
		// Outer values first: a path reads names its outer types had renamed.
		slices.SortStableFunc(w.nested, func(a, b nested) int { return len(a.path) - len(b.path) })
		if w.from != w.to || len(w.renames)+len(w.drops)+len(w.fills)+len(w.nested) > 0 {
			what := "rewrite " + w.to
			if w.from != w.to {
				what = "rename " + w.from + " to " + w.to
			}
			passes = append(passes, pass{model: w.from, to: w.to, fn: w.rewrite, what: what},
				pass{model: w.from, to: w.to, log: true, fn: w.rewrite, what: what})
		}
		if w.rekey != nil {
			tmp := rekeyPrefix + w.to
			what := "re-key " + w.to
			passes = append(passes, pass{model: w.to, to: tmp, fn: w.newKey, what: what},
				pass{model: w.to, to: tmp, log: true, fn: w.newKey, what: what},
				pass{model: tmp, to: w.to, what: what},
				pass{model: tmp, to: w.to, log: true, what: what})
		}
	}
	return passes, nil
}

// migrationRun applies planned migrations.
type migrationRun struct {
	m      store.Migrator
	log    *slog.Logger
	target store.SchemaMark
	migs   []*meta.Migration
	plans  [][]pass
	// batches counts the batches committed; pauseAfter (tests only, from
	// pauseEnv) holds the run after that many.
	batches, pauseAfter int
}

// pauseEnv names the test hook that pauses a migration after a number of
// committed batches, so a test can kill the process mid-migration.
const pauseEnv = "DSGEN_TEST_MIGRATE_PAUSE_AFTER"

// run applies every pass of every migration in order, from prog when a
// previous run stopped part way. The store's mark moves with each batch.
func (r *migrationRun) run(ctx context.Context, prog *migrationProgress) error {
	r.log.Info("migrating the data store", "from", r.migs[0].From, "to", r.target.Version, "migrations", numbers(r.migs), "resumed", prog != nil)
	for i, mg := range r.migs {
		p := migrationProgress{ToVersion: r.target.Version, ToMigration: r.target.Migration, Number: mg.Number}
		if prog != nil && prog.Number == mg.Number {
			p = *prog
		}
		for ; p.Pass < len(r.plans[i]); p.Pass, p.Cursor = p.Pass+1, nil {
			if err := r.runPass(ctx, mg, i, &p); err != nil {
				return err
			}
		}
		if len(r.plans[i]) == 0 {
			if err := r.m.SetSchemaMark(ctx, r.after(i, mg)); err != nil {
				return err
			}
		}
		r.log.Info("migrated", "migration", mg.Number, "to", mg.To)
	}
	return nil
}

// runPass runs one pass batch by batch.
func (r *migrationRun) runPass(ctx context.Context, mg *meta.Migration, i int, p *migrationProgress) error {
	ps := r.plans[i][p.Pass]
	last := p.Pass == len(r.plans[i])-1
	for {
		rw := store.Rewrite{Model: ps.model, To: ps.to, Log: ps.log, Cursor: p.Cursor, Limit: migrationBatch, Fn: ps.fn,
			Mark: func(next []byte, done bool) store.SchemaMark {
				if done && last {
					return r.after(i, mg)
				}
				q := *p
				if done {
					q.Pass, q.Cursor = q.Pass+1, nil
				} else {
					q.Cursor = next
				}
				return r.mark(i, q)
			}}
		next, done, err := r.m.RewriteBatch(ctx, rw)
		if err != nil {
			return fmt.Errorf("migration %04d (%s): %w", mg.Number, ps.what, err)
		}
		if done {
			part := "records"
			if ps.log {
				part = "change log"
			}
			r.log.Info("migration pass done", "migration", mg.Number, "pass", ps.what, "part", part)
			return nil
		}
		p.Cursor = next
		r.batches++
		if r.pauseAfter > 0 && r.batches == r.pauseAfter {
			// The test hook: hold the migration part way, committed, for a
			// test to kill the process.
			r.log.Warn("migration paused by "+pauseEnv, "migration", mg.Number, "pass", p.Pass)
			<-ctx.Done()
			return ctx.Err()
		}
	}
}

// mark is the store's mark while migration i is under way at q.
func (r *migrationRun) mark(i int, q migrationProgress) store.SchemaMark {
	b, _ := json.Marshal(q) // plain data: cannot fail
	return store.SchemaMark{Version: r.migs[i].From, Migration: r.migs[i].Number - 1, Progress: b}
}

// after is the store's mark once migration i is applied: the next one's
// start, or the served schema after the last.
func (r *migrationRun) after(i int, mg *meta.Migration) store.SchemaMark {
	if i == len(r.migs)-1 {
		return r.target
	}
	return r.mark(i+1, migrationProgress{ToVersion: r.target.Version, ToMigration: r.target.Migration, Number: r.migs[i+1].Number})
}
