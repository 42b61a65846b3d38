package launch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/migrate"
	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
	"github.com/dsgen/dsgen/runtime/meta"
)

// migrateEngines runs test on a Badger store and on a PostgreSQL one.
func migrateEngines(t *testing.T, test func(t *testing.T, st store.Store)) {
	t.Run("badger", func(t *testing.T) {
		st, err := store.Open(context.Background(), store.Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		test(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := store.OpenPostgres(context.Background(), pgtest.Schema(t), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		test(t, st)
	})
}

// project is a schema directory that moves through versions with
// dsgen migrate's own code.
type project struct {
	t    *testing.T
	path string
}

func newSchemaProject(t *testing.T, src string) *project {
	p := &project{t: t, path: filepath.Join(t.TempDir(), "schema.graphql")}
	p.write(src)
	return p
}

func (p *project) write(src string) {
	if err := os.WriteFile(p.path, []byte(src), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// migrate runs dsgen migrate (--init when init).
func (p *project) migrate(init bool) {
	out := filepath.Join(filepath.Dir(p.path), "model") // where conversion placeholders go
	if err := migrate.Run(migrate.Options{Schema: p.path, Init: init, Out: out}); err != nil {
		p.t.Fatalf("dsgen migrate: %v", err)
	}
}

func (p *project) schema() *meta.Schema {
	s, err := schema.LoadPath(p.path, schema.Options{})
	if err != nil {
		p.t.Fatal(err)
	}
	return s
}

// migrateTo runs migrateStore for the project's current schema.
func (p *project) migrateTo(st store.Store, mode string) error {
	o := Options{Schema: p.path, Migrate: mode}
	return o.migrateStore(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), st, p.schema())
}

func create(t *testing.T, st store.Store, model string, key []any, item map[string]any) {
	t.Helper()
	_, err := st.Mutate(context.Background(), model, key, func(*store.Record) (map[string]any, store.Op, error) {
		return item, store.OpCreate, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mark(t *testing.T, st store.Store) store.SchemaMark {
	t.Helper()
	m, ok, err := st.(store.Migrator).SchemaMark(context.Background())
	if err != nil || !ok {
		t.Fatalf("mark: %v %t", err, ok)
	}
	return m
}

// TestMigrateStoreRekey: a primary key that gains a sort key re-keys every
// record (and its log) under the new key, versions kept.
func TestMigrateStoreRekey(t *testing.T) {
	migrateEngines(t, func(t *testing.T, st store.Store) {
		p := newSchemaProject(t, `type Item @model { id: ID! cat: String! n: Int }`)
		p.migrate(true)
		if err := p.migrateTo(st, ""); err != nil {
			t.Fatal(err)
		}
		if m := mark(t, st); m.Version != p.schema().Version || m.Migration != 0 {
			t.Fatalf("fresh store's mark %+v", m)
		}
		create(t, st, "Item", []any{"a"}, map[string]any{"id": "a", "cat": "x", "n": 1})
		create(t, st, "Item", []any{"b"}, map[string]any{"id": "b", "cat": "y", "n": 2})
		p.write(`type Item @model { id: ID! @primaryKey(sortKeyFields: ["cat"]) cat: String! n: Int }`)
		p.migrate(false)
		if err := p.migrateTo(st, ""); err != nil {
			t.Fatal(err)
		}
		r, err := st.Get(context.Background(), "Item", []any{"b", "y"})
		if err != nil || r.Version != 1 || r.Item["n"] != float64(2) || !reflect.DeepEqual(r.Key, []any{"b", "y"}) {
			t.Fatalf("re-keyed record %+v, %v", r, err)
		}
		if _, err := st.Get(context.Background(), "Item", []any{"b"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old key still answers: %v", err)
		}
		page, err := st.Changes(context.Background(), "Item", 0, 1<<62, nil, 10)
		if err != nil || len(page.Records) != 2 || len(page.Records[0].Key) != 2 {
			t.Errorf("re-keyed log %+v, %v", page.Records, err)
		}
		if m := mark(t, st); m.Version != p.schema().Version || m.Migration != 1 || m.Progress != nil {
			t.Errorf("mark after the migration %+v", m)
		}
	})
}

// TestMigrateStoreRefusals: a conversion only the client's Go code can
// do, a store with no migration path, and --migrate=check are refused
// with both versions named, and the data is left untouched.
func TestMigrateStoreRefusals(t *testing.T) {
	migrateEngines(t, func(t *testing.T, st store.Store) {
		p := newSchemaProject(t, `type Item @model { id: ID! n: Int }`)
		p.migrate(true)
		if err := p.migrateTo(st, ""); err != nil {
			t.Fatal(err)
		}
		create(t, st, "Item", []any{"a"}, map[string]any{"id": "a", "n": 1})
		before := mark(t, st)

		p.write(`type Item @model { id: ID! n: String }`)
		p.migrate(false)
		var se *SchemaError
		err := p.migrateTo(st, "")
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "convert0001ItemN") || se.StoredVersion != before.Version || se.Version != p.schema().Version {
			t.Errorf("a needsCode step: %v", err)
		}
		if m := mark(t, st); !reflect.DeepEqual(m, before) {
			t.Errorf("refused migration moved the mark: %+v", m)
		}

		q := newSchemaProject(t, `type Item @model { id: ID! n: Int extra: String }`) // no lock
		err = q.migrateTo(st, "")
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "no lock") || se.Newer {
			t.Errorf("no migration path: %v", err)
		}
		if err := q.migrateTo(st, MigrateOff); err != nil {
			t.Errorf("--migrate=off: %v", err)
		}

		r := newSchemaProject(t, `type Item @model { id: ID! n: Int }`)
		r.migrate(true)
		r.write(`type Item @model { id: ID! n: Int tag: String }`)
		r.migrate(false)
		if err := r.migrateTo(st, MigrateCheck); !errors.As(err, &se) || !strings.Contains(err.Error(), "0001") {
			t.Errorf("--migrate=check with one pending: %v", err)
		}
		if err := r.migrateTo(st, ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Get(context.Background(), "Item", []any{"a"}); got.Item["n"] != float64(1) {
			t.Errorf("record after the migration: %+v", got)
		}
	})
}

// TestRewriteSwap: renames within one migration apply at once, so two
// fields may swap names; defaults fill only what is missing or null.
func TestRewriteSwap(t *testing.T) {
	w := &modelWork{renames: [][2]string{{"a", "b"}, {"b", "a"}}, drops: []string{"gone"},
		fills: []fill{{"c", int64(7)}, {"d", "x"}}}
	_, got, err := w.rewrite(nil, map[string]any{"a": 1, "b": 2, "gone": 3, "d": "kept", "c": nil})
	want := map[string]any{"a": 2, "b": 1, "c": int64(7), "d": "kept"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("rewrite = %v, %v; want %v", got, err, want)
	}
}

// TestMigrateStoreConcurrentStarts: two instances starting together on one
// PostgreSQL schema: one migrates while the other waits on the advisory
// lock, then finds the data migrated.
func TestMigrateStoreConcurrentStarts(t *testing.T) {
	url := pgtest.Schema(t)
	var sts [2]store.Store
	for i := range sts {
		st, err := store.OpenPostgres(context.Background(), url, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		sts[i] = st
	}
	p := newSchemaProject(t, `type Item @model { id: ID! n: Int }`)
	p.migrate(true)
	if err := p.migrateTo(sts[0], ""); err != nil {
		t.Fatal(err)
	}
	for i := range 600 {
		create(t, sts[i%2], "Item", []any{fmt.Sprint(i)}, map[string]any{"id": fmt.Sprint(i), "n": i})
	}
	p.write(`type Item @model { id: ID! count: Int @renamedFrom(name: "n") }`)
	p.migrate(false)
	sch := p.schema()
	var logs [2]bytes.Buffer
	errs := make(chan error, 2)
	for i := range sts {
		go func() {
			o := Options{Schema: p.path}
			errs <- o.migrateStore(context.Background(), slog.New(slog.NewJSONHandler(&logs[i], nil)), sts[i], sch)
		}()
	}
	for range sts {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	migrated := 0
	for i := range logs {
		if strings.Contains(logs[i].String(), "migrating the data store") {
			migrated++
		}
	}
	if migrated != 1 {
		t.Errorf("%d instances migrated, want 1:\n%s\n%s", migrated, logs[0].String(), logs[1].String())
	}
	for i := range 600 {
		r, err := sts[1].Get(context.Background(), "Item", []any{fmt.Sprint(i)})
		if err != nil || r.Item["count"] != float64(i) || r.Item["n"] != nil {
			t.Fatalf("record %d: %+v %v", i, r.Item, err)
		}
	}
}

// TestMigrateStoreChainResume: two pending migrations (a field rename,
// then a drop and an added default) applied in order; a run stopped part
// way (the test hook, then cancelled) resumes at the next start.
func TestMigrateStoreChainResume(t *testing.T) {
	migrateEngines(t, func(t *testing.T, st store.Store) {
		p := newSchemaProject(t, `type Item @model { id: ID! n: Int old: String }`)
		p.migrate(true)
		if err := p.migrateTo(st, ""); err != nil {
			t.Fatal(err)
		}
		for i := range 600 {
			create(t, st, "Item", []any{fmt.Sprint(i)}, map[string]any{"id": fmt.Sprint(i), "n": i, "old": "x"})
		}
		p.write(`type Item @model { id: ID! count: Int @renamedFrom(name: "n") old: String }`)
		p.migrate(false)
		p.write(`type Item @model { id: ID! count: Int tag: String! @default(value: "new") }`)
		p.migrate(false)

		t.Setenv(pauseEnv, "2")
		ctx, cancel := context.WithCancel(context.Background())
		var logs bytes.Buffer
		done := make(chan error, 1)
		go func() {
			o := Options{Schema: p.path}
			done <- o.migrateStore(ctx, slog.New(slog.NewJSONHandler(&syncWriter{w: &logs, paused: cancel}, nil)), st, p.schema())
		}()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("paused run: %v", err)
		}
		if m := mark(t, st); m.Progress == nil || m.Migration != 0 {
			t.Fatalf("mark of a run stopped in migration 1: %+v", m)
		}
		t.Setenv(pauseEnv, "")
		if err := p.migrateTo(st, ""); err != nil {
			t.Fatal(err)
		}
		for i := range 600 {
			r, err := st.Get(context.Background(), "Item", []any{fmt.Sprint(i)})
			want := map[string]any{"id": fmt.Sprint(i), "count": float64(i), "tag": "new"}
			if err != nil || !reflect.DeepEqual(r.Item, want) {
				t.Fatalf("record %d: %v %v, want %v", i, r.Item, err, want)
			}
		}
		if m := mark(t, st); m.Migration != 2 || m.Progress != nil || m.Version != p.schema().Version {
			t.Errorf("final mark %+v", m)
		}
	})
}

// syncWriter collects log lines and cancels the run at the pause line.
type syncWriter struct {
	w      *bytes.Buffer
	paused context.CancelFunc
}

func (s *syncWriter) Write(b []byte) (int, error) {
	if strings.Contains(string(b), "migration paused") {
		s.paused()
	}
	return s.w.Write(b)
}

// TestMigrateStoreNested: renames, drops and defaults of a non-model
// type's fields reach its values wherever items hold them (nested, in
// lists, under a field renamed in the same migration), with a later
// migration renaming a field on the path.
func TestMigrateStoreNested(t *testing.T) {
	migrateEngines(t, func(t *testing.T, st store.Store) {
		p := newSchemaProject(t, `
type Address { street: String city: String zip: String }
type Wrapper { addr: Address note: String }
type Person @model { id: ID! home: Address work: [Address] }
type Company @model { id: ID! hq: Wrapper }`)
		p.migrate(true)
		if err := p.migrateTo(st, ""); err != nil {
			t.Fatal(err)
		}
		create(t, st, "Person", []any{"p"}, map[string]any{"id": "p",
			"home": map[string]any{"street": "s1", "city": "c", "zip": "z"},
			"work": []any{map[string]any{"street": "w1", "zip": "z"}, map[string]any{"street": "w2"}}})
		create(t, st, "Company", []any{"c"}, map[string]any{"id": "c",
			"hq": map[string]any{"addr": map[string]any{"street": "s3", "zip": "z"}, "note": "n"}})
		p.write(`
type Address { road: String @renamedFrom(name: "street") city: String country: String @default(value: "NL") }
type Wrapper { address: Address @renamedFrom(name: "addr") note: String }
type Person @model { id: ID! home: Address work: [Address] }
type Company @model { id: ID! hq: Wrapper }`)
		p.migrate(false)
		p.write(`
type Address { road: String city: String country: String @default(value: "NL") }
type Wrapper { address: Address note: String }
type Person @model { id: ID! house: Address @renamedFrom(name: "home") work: [Address] }
type Company @model { id: ID! hq: Wrapper }`)
		p.migrate(false)
		if err := p.migrateTo(st, ""); err != nil {
			t.Fatal(err)
		}
		person, _ := st.Get(context.Background(), "Person", []any{"p"})
		want := map[string]any{"id": "p", "house": map[string]any{"road": "s1", "city": "c", "country": "NL"},
			"work": []any{map[string]any{"road": "w1", "country": "NL"}, map[string]any{"road": "w2", "country": "NL"}}}
		if !reflect.DeepEqual(person.Item, want) {
			t.Errorf("person %v\nwant %v", person.Item, want)
		}
		company, _ := st.Get(context.Background(), "Company", []any{"c"})
		want = map[string]any{"id": "c", "hq": map[string]any{"address": map[string]any{"road": "s3", "country": "NL"}, "note": "n"}}
		if !reflect.DeepEqual(company.Item, want) {
			t.Errorf("company %v\nwant %v", company.Item, want)
		}
	})
}

// TestMigrateStoreSwapAndCycle: dsgen migrate plans @renamedFrom
// declarations that swap two names (a and b) and, in the next migration,
// a swap of a with a field the previous one added with a default (a and d)
// and a cycle of three (b from e, c from b, e from c); one start applies
// both migrations and every value ends under its new name, the default
// typed as the field that was added with it.
func TestMigrateStoreSwapAndCycle(t *testing.T) {
	migrateEngines(t, func(t *testing.T, st store.Store) {
		p := newSchemaProject(t, `type Item @model { id: ID! a: String b: String c: String e: String }`)
		p.migrate(true)
		if err := p.migrateTo(st, ""); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			create(t, st, "Item", []any{fmt.Sprint(i)}, map[string]any{"id": fmt.Sprint(i),
				"a": fmt.Sprint("a", i), "b": fmt.Sprint("b", i), "c": fmt.Sprint("c", i), "e": fmt.Sprint("e", i)})
		}
		p.write(`type Item @model { id: ID! a: String @renamedFrom(name: "b") b: String @renamedFrom(name: "a") c: String d: Int @default(value: "5") e: String }`)
		p.migrate(false)
		p.write(`type Item @model { id: ID! a: Int @renamedFrom(name: "d") b: String @renamedFrom(name: "e")
			c: String @renamedFrom(name: "b") d: String @renamedFrom(name: "a") e: String @renamedFrom(name: "c") }`)
		p.migrate(false)
		if err := p.migrateTo(st, ""); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			r, err := st.Get(context.Background(), "Item", []any{fmt.Sprint(i)})
			want := map[string]any{"id": fmt.Sprint(i), "a": float64(5), "b": fmt.Sprint("e", i),
				"c": fmt.Sprint("a", i), "d": fmt.Sprint("b", i), "e": fmt.Sprint("c", i)}
			if err != nil || !reflect.DeepEqual(r.Item, want) {
				t.Fatalf("record %d after the swaps: %v %v, want %v", i, r.Item, err, want)
			}
		}
		if m := mark(t, st); m.Migration != 2 || m.Version != p.schema().Version {
			t.Errorf("final mark %+v", m)
		}
	})
}

// TestMigrateStoreRenamedType: renaming a non-model type is one step that
// moves nothing (items do not hold type names), beside a rename of one of
// its fields in the same migration, nested two deep and in a list.
func TestMigrateStoreRenamedType(t *testing.T) {
	migrateEngines(t, func(t *testing.T, st store.Store) {
		p := newSchemaProject(t, `
type Geo { lat: Float lng: Float }
type Address { street: String geo: Geo }
type Site @model { id: ID! at: Geo addr: Address past: [Address] }`)
		p.migrate(true)
		if err := p.migrateTo(st, ""); err != nil {
			t.Fatal(err)
		}
		create(t, st, "Site", []any{"s"}, map[string]any{"id": "s", "at": map[string]any{"lat": 1.0, "lng": 2.0},
			"addr": map[string]any{"street": "a", "geo": map[string]any{"lat": 3.0, "lng": 4.0}},
			"past": []any{map[string]any{"street": "b", "geo": map[string]any{"lat": 5.0}}}})
		p.write(`
type Point @renamedFrom(name: "Geo") { latitude: Float @renamedFrom(name: "lat") lng: Float }
type Address { street: String geo: Point }
type Site @model { id: ID! at: Point addr: Address past: [Address] }`)
		p.migrate(false)
		if err := p.migrateTo(st, ""); err != nil {
			t.Fatal(err)
		}
		site, _ := st.Get(context.Background(), "Site", []any{"s"})
		want := map[string]any{"id": "s", "at": map[string]any{"latitude": 1.0, "lng": 2.0},
			"addr": map[string]any{"street": "a", "geo": map[string]any{"latitude": 3.0, "lng": 4.0}},
			"past": []any{map[string]any{"street": "b", "geo": map[string]any{"latitude": 5.0}}}}
		if !reflect.DeepEqual(site.Item, want) {
			t.Errorf("site %v\nwant %v", site.Item, want)
		}
	})
}
