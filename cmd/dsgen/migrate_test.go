package main

import (
	"encoding/json"
	"os"
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
		write(t, dir, strings.Replace(twoModels, "title: String!", "title: Int!", 1))
		r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql")
		if r.code != 1 || !strings.Contains(r.stderr, "convert Post.title from String! to Int!") {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		files := migrationFiles(t, dir)
		if len(files) != 1 {
			t.Fatalf("migration files %v", files)
		}
		b, _ := os.ReadFile(files[0])
		if !strings.Contains(string(b), `"todo": [`) {
			t.Errorf("no todo in %s", b)
		}
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--check"); r.code != 1 || !strings.Contains(r.stdout, "todo: convert Post.title") {
			t.Errorf("check with a todo: exit %d: %s%s", r.code, r.stdout, r.stderr)
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
