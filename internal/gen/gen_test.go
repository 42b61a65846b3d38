package gen

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/migrate"
	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/runtime/meta"
)

const v1 = `type Post @model { id: ID! title: String! rating: Int }
`

// v2 renames title, adds a field with a default and changes rating's type.
const v2 = `type Post @model { id: ID! headline: String! @renamedFrom(name: "title") views: Int! @default(value: "0") rating: Float }
`

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func run(t *testing.T, opts Options) (*Result, error) {
	t.Helper()
	if opts.Out == "" {
		opts.Out = filepath.Join(filepath.Dir(opts.Schema), "model")
	}
	opts.ImportPath = "example.com/app/model"
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(filepath.Dir(opts.Schema), "cache")
	}
	return Run(opts)
}

// migrateSchema does what dsgen migrate does: plans the schema against its
// lock, writes the migration and moves the lock.
func migrateSchema(t testing.TB, schemaPath string) *migrate.Migration {
	t.Helper()
	lockPath, migDir := Paths(Options{Schema: schemaPath})
	srcs, err := schema.ReadPath(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := schema.Load(srcs, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lock, err := migrate.LoadLock(lockPath)
	if err != nil || lock == nil {
		t.Fatalf("lock: %v, %v", lock, err)
	}
	r, err := migrate.ReadRenames(srcs)
	if err != nil {
		t.Fatal(err)
	}
	if lock, err = lock.ApplyRenames(r); err != nil {
		t.Fatal(err)
	}
	p, err := migrate.Diff(lock, s)
	if err != nil {
		t.Fatal(err)
	}
	mg, _, err := migrate.WriteMigration(migDir, lock, p)
	if err != nil {
		t.Fatal(err)
	}
	next, err := migrate.NewLock(s, lock)
	if err != nil {
		t.Fatal(err)
	}
	next.Migration = mg.Number
	if err := next.Write(lockPath); err != nil {
		t.Fatal(err)
	}
	return mg
}

func TestFirstRunWritesTheLock(t *testing.T) {
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "schema.graphql")
	write(t, schemaPath, v1)
	res, err := run(t, Options{Schema: schemaPath})
	if err != nil {
		t.Fatal(err)
	}
	lockPath := filepath.Join(dir, migrate.LockFile)
	if res.Lock != lockPath {
		t.Errorf("Result.Lock %q, want %q", res.Lock, lockPath)
	}
	lock, err := migrate.LoadLock(lockPath)
	if err != nil || lock == nil || lock.Model("Post") == nil {
		t.Fatalf("lock not written: %v, %v", lock, err)
	}
	gen := read(t, filepath.Join(dir, "model", "schema.go"))
	if strings.Contains(gen, "Number:") || strings.Contains(gen, "Migration") {
		t.Errorf("a first lock changed the output (ids are positions):\n%s", gen)
	}
	// Locked, the same schema generates the same code and keeps the lock.
	before := read(t, lockPath)
	res, err = run(t, Options{Schema: schemaPath})
	if err != nil {
		t.Fatal(err)
	}
	if res.Lock != "" || len(res.Written) != 0 || read(t, lockPath) != before {
		t.Errorf("second run: lock %q, wrote %v", res.Lock, res.Written)
	}
}

func TestLockPaths(t *testing.T) {
	dir := t.TempDir()
	sdir := filepath.Join(dir, "graphql")
	if err := os.Mkdir(sdir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(sdir, "a.graphql"), v1)
	if _, err := run(t, Options{Schema: sdir, Out: filepath.Join(dir, "model")}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(sdir, migrate.LockFile)); err != nil {
		t.Errorf("a schema directory holds its lock: %v", err)
	}
	custom := filepath.Join(dir, "locks", "app.lock.json")
	if err := os.Mkdir(filepath.Dir(custom), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := run(t, Options{Schema: sdir, Out: filepath.Join(dir, "model"), Lock: custom})
	if err != nil || res.Lock != custom {
		t.Errorf("Options.Lock: %v, %+v", err, res)
	}
	write(t, custom, `{"format": 1,`)
	if _, err := run(t, Options{Schema: sdir, Out: filepath.Join(dir, "model"), Lock: custom}); err == nil || !strings.Contains(err.Error(), custom) {
		t.Errorf("a broken lock: %v", err)
	}
}

func TestMigrationFlow(t *testing.T) {
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "schema.graphql")
	out := filepath.Join(dir, "model")
	write(t, schemaPath, v1)
	if _, err := run(t, Options{Schema: schemaPath}); err != nil {
		t.Fatal(err)
	}
	generated := read(t, filepath.Join(out, "schema.go"))
	lock := read(t, filepath.Join(dir, migrate.LockFile))

	write(t, schemaPath, v2)
	_, err := run(t, Options{Schema: schemaPath})
	var pending *migrate.PendingError
	if !errors.As(err, &pending) {
		t.Fatalf("changed schema: %v, want *migrate.PendingError", err)
	}
	var kinds []meta.StepKind
	for _, s := range pending.Steps {
		kinds = append(kinds, s.Kind)
	}
	if !slices.Equal(kinds, []meta.StepKind{meta.RenameField, meta.AddField, meta.ChangeFieldType}) {
		t.Errorf("pending steps %v", pending.Steps)
	}
	for _, want := range []string{"schema changed since", "renameField Post.headline (title -> headline)", "run dsgen migrate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if read(t, filepath.Join(out, "schema.go")) != generated || read(t, filepath.Join(dir, migrate.LockFile)) != lock {
		t.Error("a refused run changed the output or the lock")
	}

	mg := migrateSchema(t, schemaPath)
	if _, err := run(t, Options{Schema: schemaPath}); err != nil {
		t.Fatalf("after the migration (its @renamedFrom still in the schema): %v", err)
	}
	gen := read(t, filepath.Join(out, "schema.go"))
	for _, want := range []string{
		"Migration: 1,",
		"Migrations: []*meta.Migration{",
		"Kind:    meta.RenameField",
		"Convert: convert0001PostRating",
		"Effect:  meta.NeedsCode",
		"Number:", // views, new, takes a fresh id; rating keeps its own
	} {
		if !strings.Contains(gen, want) {
			t.Errorf("schema.go lacks %q:\n%s", want, gen)
		}
	}
	if mg.Number != 1 {
		t.Errorf("migration number %d", mg.Number)
	}

	// The @renamedFrom left behind, or removed, changes nothing.
	write(t, schemaPath, strings.Replace(v2, ` @renamedFrom(name: "title")`, "", 1))
	if res, err := run(t, Options{Schema: schemaPath}); err != nil || len(res.Written) != 0 {
		t.Errorf("without the directive: %v, wrote %v", err, res)
	}

	// A migration file gone missing is named.
	files, _ := filepath.Glob(filepath.Join(dir, "migrations", "0001_*.json"))
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, Options{Schema: schemaPath}); err == nil || !strings.Contains(err.Error(), "no migration 0001") {
		t.Errorf("missing migration file: %v", err)
	}
}

// The corpus's searchable initial -> updated pair, through generate.
func TestCorpusPair(t *testing.T) {
	corpus := "../../../shared/schemas/valid/api-migrations-searchable-"
	initial, err := os.ReadFile(corpus + "initial-searchable.graphql")
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("shared corpus not found")
	}
	if err != nil {
		t.Fatal(err)
	}
	updated, err := os.ReadFile(corpus + "updated-searchable.graphql")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "schema.graphql")
	write(t, schemaPath, string(initial))
	if _, err := run(t, Options{Schema: schemaPath}); err != nil {
		t.Fatal(err)
	}
	write(t, schemaPath, string(updated))
	var pending *migrate.PendingError
	if _, err := run(t, Options{Schema: schemaPath}); !errors.As(err, &pending) {
		t.Fatalf("updated schema: %v", err)
	}
	migrateSchema(t, schemaPath)
	if _, err := run(t, Options{Schema: schemaPath}); err != nil {
		t.Fatal(err)
	}
	if gen := read(t, filepath.Join(dir, "model", "schema.go")); !strings.Contains(gen, "Migration: 1,") || !strings.Contains(gen, "meta.AddField") {
		t.Errorf("schema.go after the migration:\n%s", gen)
	}
}
