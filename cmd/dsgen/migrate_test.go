package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrateCLI(t *testing.T) {
	bin := dsgenBinary(t)
	write := func(t *testing.T, dir, src string) {
		t.Helper()
		must(t, os.WriteFile(filepath.Join(dir, "schema.graphql"), []byte(src), 0o644))
	}
	migrationFiles := func(t *testing.T, dir string) []string {
		t.Helper()
		m, _ := filepath.Glob(filepath.Join(dir, "migrations", "*.json"))
		return m
	}

	t.Run("init, check, plan", func(t *testing.T) {
		dir := newProject(t, twoModels)
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--check"); r.code != 1 || !strings.Contains(r.stderr, "--init") {
			t.Fatalf("check without a lock: exit %d, %s", r.code, r.stderr)
		}
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--init"); r.code != 0 {
			t.Fatalf("init: exit %d: %s", r.code, r.stderr)
		}
		lock, err := os.ReadFile(filepath.Join(dir, "dsgen.lock.json"))
		must(t, err)
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--init"); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
			t.Errorf("second init: exit %d, %s", r.code, r.stderr)
		}
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--check"); r.code != 0 {
			t.Errorf("check unchanged: exit %d: %s%s", r.code, r.stdout, r.stderr)
		}

		write(t, dir, strings.Replace(twoModels, "title: String!", `headline: String! @renamedFrom(name: "title") views: Int`, 1))
		r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--check")
		if r.code != 1 || !strings.Contains(r.stdout, "renameField Post.headline (title -> headline)") || !strings.Contains(r.stdout, "addField Post.views") {
			t.Fatalf("check changed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if after, _ := os.ReadFile(filepath.Join(dir, "dsgen.lock.json")); string(after) != string(lock) || len(migrationFiles(t, dir)) != 0 {
			t.Error("--check wrote files")
		}

		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql"); r.code != 0 {
			t.Fatalf("migrate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		files := migrationFiles(t, dir)
		if len(files) != 1 || filepath.Base(files[0]) != "0001_rename-field-post-headline-and-1-more.json" {
			t.Fatalf("migration files %v", files)
		}
		var mg struct {
			Number   int
			From, To string
			Steps    []struct{ Kind, Model, Field, From, To string }
		}
		b, err := os.ReadFile(files[0])
		must(t, err)
		must(t, json.Unmarshal(b, &mg))
		if mg.Number != 1 || mg.From == mg.To || len(mg.Steps) != 2 || mg.Steps[0].Kind != "renameField" || mg.Steps[0].From != "title" || mg.Steps[1].Kind != "addField" {
			t.Errorf("migration %s", b)
		}
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--check"); r.code != 0 {
			t.Errorf("check after migrate: exit %d: %s%s", r.code, r.stdout, r.stderr)
		}
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql"); r.code != 0 || !strings.Contains(r.stdout, "no change") || len(migrationFiles(t, dir)) != 1 {
			t.Errorf("migrate unchanged: exit %d: %s", r.code, r.stdout)
		}
	})

	t.Run("developer code needed", func(t *testing.T) {
		dir := newProject(t, twoModels)
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--init"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		lock, _ := os.ReadFile(filepath.Join(dir, "dsgen.lock.json"))
		write(t, dir, strings.Replace(twoModels, "title: String!", "title: Int!", 1))
		// Without --out there is nowhere to put the placeholder: nothing is written.
		r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql")
		if r.code != 1 || !strings.Contains(r.stderr, "pass --out DIR") {
			t.Fatalf("no --out: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if after, _ := os.ReadFile(filepath.Join(dir, "dsgen.lock.json")); string(after) != string(lock) || len(migrationFiles(t, dir)) != 0 {
			t.Fatal("a refused migrate wrote files")
		}
		// A file of the developer's in the way is never overwritten.
		must(t, os.MkdirAll(filepath.Join(dir, "model"), 0o755))
		mine := filepath.Join(dir, "model", "migration_0001.go")
		must(t, os.WriteFile(mine, []byte("package model\n"), 0o644))
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--out", "model"); r.code != 1 || !strings.Contains(r.stderr, "never overwritten") || len(migrationFiles(t, dir)) != 0 {
			t.Fatalf("placeholder file in the way: exit %d\n%s", r.code, r.stderr)
		}
		must(t, os.Remove(mine))

		r = runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--out", "model")
		if r.code != 0 || !strings.Contains(r.stderr, "convert0001PostTitle: convert Post.title from String! to Int!") {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		files := migrationFiles(t, dir)
		if len(files) != 1 {
			t.Fatalf("migration files %v", files)
		}
		b, _ := os.ReadFile(files[0])
		if strings.Contains(string(b), `"todo": [`) || !strings.Contains(string(b), `"func": "convert0001PostTitle"`) {
			t.Errorf("migration file:\n%s", b)
		}
		ph, err := os.ReadFile(mine)
		must(t, err)
		prose := strings.Join(strings.Fields(strings.ReplaceAll(string(ph), "// ", "")), " ")
		if !strings.Contains(string(ph), "package model\n") || !strings.Contains(prose, "v is the stored value (string) or nil; return the new value (int64), not nil: the field is required.") {
			t.Errorf("placeholder:\n%s", ph)
		}
		r = runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--check", "--out", "model")
		if r.code != 1 || !strings.Contains(r.stdout, filepath.Join("model", "migration_0001.go")+":") || !strings.Contains(r.stdout, "TODO_dsgen_") {
			t.Errorf("check with a placeholder left: exit %d: %s%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("required field without default", func(t *testing.T) {
		dir := newProject(t, twoModels)
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--init"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		write(t, dir, strings.Replace(twoModels, "title: String!", "title: String! slug: String!", 1))
		r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql")
		if r.code != 1 || !strings.Contains(r.stderr, "Post.slug") || !strings.Contains(r.stderr, "@default") || len(migrationFiles(t, dir)) != 0 {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})

	// Issue 17: with dsgen.yml set up for go generate, dsgen migrate needs
	// no flags, from any directory below the file.
	t.Run("no flags: settings from dsgen.yml", func(t *testing.T) {
		dir := t.TempDir()
		must(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n"), 0o644))
		writeFile(t, filepath.Join(dir, "api", "schema.graphql"), twoModels)
		writeFile(t, filepath.Join(dir, "dsgen.yml"), "schema: api/schema.graphql\nout: internal/store\npackage: models\n")
		sub := filepath.Join(dir, "cmd", "app")
		must(t, os.MkdirAll(sub, 0o755))
		if r := runIn(t, bin, sub, "migrate", "--init"); r.code != 0 || !strings.Contains(r.stdout, filepath.Join(dir, "api", "dsgen.lock.json")) {
			t.Fatalf("init: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		writeFile(t, filepath.Join(dir, "api", "schema.graphql"), strings.Replace(twoModels, "title: String!", "title: Int!", 1))
		r := runIn(t, bin, sub, "migrate")
		ph := filepath.Join(dir, "internal", "store", "migration_0001.go")
		if r.code != 0 || !strings.Contains(r.stderr, ph) {
			t.Fatalf("migrate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if b, err := os.ReadFile(ph); err != nil || !strings.HasPrefix(string(b), "package models\n") && !strings.Contains(string(b), "\npackage models\n") {
			t.Errorf("placeholder not in package models (%v):\n%s", err, b)
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "api", "migrations", "0001_*.json")); len(m) != 1 {
			t.Errorf("migration files next to the schema: %v", m)
		}
		if r := runIn(t, bin, sub, "migrate", "--check"); r.code != 1 || !strings.Contains(r.stdout, ph+":") {
			t.Errorf("check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		// The environment beats the file: no placeholder is left in the
		// out it names. --check and --init come only from the command line.
		envRun := func(env string, args ...string) (int, string) {
			cmd := exec.Command(bin, append([]string{"migrate"}, args...)...)
			cmd.Dir, cmd.Env = sub, cleanEnv(env)
			out, _ := cmd.CombinedOutput()
			return cmd.ProcessState.ExitCode(), string(out)
		}
		if code, out := envRun("DSGEN_MIGRATE_OUT="+filepath.Join(dir, "elsewhere"), "--check"); code != 0 || !strings.Contains(out, "the schema matches the lock") {
			t.Errorf("check with DSGEN_MIGRATE_OUT: exit %d\n%s", code, out)
		}
		if code, out := envRun("DSGEN_MIGRATE_CHECK=true"); code != 0 || !strings.Contains(out, "no change since the lock") {
			t.Errorf("DSGEN_MIGRATE_CHECK=true: exit %d, want a plain migrate run\n%s", code, out)
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		dir := newProject(t, twoModels)
		for _, args := range [][]string{
			{"migrate"},
			{"migrate", "--schema", "schema.graphql", "--check", "--init"},
			{"migrate", "--bogus"},
			{"migrate", "--schema", "schema.graphql", "extra"},
		} {
			if r := runIn(t, bin, dir, args...); r.code != 2 {
				t.Errorf("%v: exit %d, want 2: %s", args, r.code, r.stderr)
			}
		}
	})
}

// TestMigrationFlow takes an app from schema v1 to v2 as a developer does,
// through the real dsgen binary and the Go toolchain: generate locks v1;
// v2 renames a field, adds one with a default and changes a type; generate
// refuses it until dsgen migrate has written the migration and a
// placeholder conversion, which keeps the package from building until the
// developer writes it.
func TestMigrationFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the generated package")
	}
	bin := dsgenBinary(t)
	const v1 = `type Blog @model { id: ID! name: String! posts: [Post] @hasMany }
type Post @model { id: ID! title: String! rating: Int blog: Blog @belongsTo }
`
	v2 := strings.Replace(v1, "title: String! rating: Int",
		`headline: String! @renamedFrom(name: "title") views: Int! @default(value: "0") rating: Float`, 1)
	dir := t.TempDir()
	writeAppModule(t, dir)
	must(t, os.WriteFile(filepath.Join(dir, "dsgen.yml"), []byte("schema: schema.graphql\nout: model\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "schema.graphql"), []byte(v1), 0o644))
	file := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		must(t, err)
		return string(b)
	}

	r := runIn(t, bin, dir, "generate")
	if r.code != 0 || !strings.Contains(r.stdout, "first lock") {
		t.Fatalf("generate v1: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	lock := file("dsgen.lock.json")

	must(t, os.WriteFile(filepath.Join(dir, "schema.graphql"), []byte(v2), 0o644))
	r = runIn(t, bin, dir, "generate")
	if r.code != 1 || !strings.Contains(r.stderr, "schema changed since") || !strings.Contains(r.stderr, "changeFieldType Post.rating (Int -> Float)") ||
		!strings.Contains(r.stderr, "run dsgen migrate") {
		t.Fatalf("generate v2 before migrating: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if file("dsgen.lock.json") != lock {
		t.Fatal("a refused generate moved the lock")
	}

	r = runIn(t, bin, dir, "migrate")
	if r.code != 0 || !strings.Contains(r.stderr, "model/migration_0001.go") {
		t.Fatalf("migrate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mig, _ := filepath.Glob(filepath.Join(dir, "migrations", "0001_*.json"))
	if len(mig) != 1 {
		t.Fatalf("migration files %v", mig)
	}
	r = runIn(t, bin, dir, "migrate", "--check")
	if r.code != 1 || !strings.Contains(r.stdout, filepath.Join("model", "migration_0001.go")+":") {
		t.Errorf("check with the placeholder left: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = runIn(t, bin, dir, "generate")
	if r.code != 0 {
		t.Fatalf("generate v2 after migrating: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	schemaGo := file("model/schema.go")
	for _, want := range []string{"Number: ", "Migration: 1,", "Convert: convert0001PostRating"} {
		if !strings.Contains(schemaGo, want) {
			t.Errorf("model/schema.go lacks %q", want)
		}
	}

	build := func() (string, error) {
		cmd := exec.Command("go", "build", "./...")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOPROXY=off") // offline: the module cache has what the checkout builds with
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := build(); err == nil || !strings.Contains(out, "migration_0001.go") || !strings.Contains(out, "TODO_dsgen_write_this_conversion_then_delete_this_line") {
		t.Fatalf("the package built with the placeholder in place (%v):\n%s", err, out)
	}

	ph := file("model/migration_0001.go")
	body := strings.Replace(ph, "\tTODO_dsgen_write_this_conversion_then_delete_this_line\n",
		"\tif n, ok := v.(int64); ok {\n\t\treturn float64(n), nil\n\t}\n", 1)
	must(t, os.WriteFile(filepath.Join(dir, "model", "migration_0001.go"), []byte(body), 0o644))
	if out, err := build(); err != nil {
		t.Fatalf("go build with the conversion written: %v\n%s", err, out)
	}
	if r := runIn(t, bin, dir, "migrate", "--check"); r.code != 0 {
		t.Errorf("check once written: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The developer's file survives generate, and generate is stable.
	if r := runIn(t, bin, dir, "generate"); r.code != 0 || !strings.Contains(r.stdout, " 0 file(s) written") || file("model/migration_0001.go") != body {
		t.Errorf("generate again: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
}

// writeAppModule makes dir a module that uses this checkout of dsgen.
func writeAppModule(t *testing.T, dir string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	must(t, err)
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	must(t, err)
	body := strings.Replace(string(gomod), "module github.com/dsgen/dsgen", "module example.com/app", 1) +
		"\nrequire github.com/dsgen/dsgen v0.0.0\n\nreplace github.com/dsgen/dsgen => " + root + "\n"
	must(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(body), 0o644))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644))
}
