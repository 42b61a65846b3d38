package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// goIn runs the go command in dir with env added, failing the test on a
// non-zero exit.
func goIn(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = dir, cleanEnv(append([]string{"GOFLAGS=-mod=mod"}, env...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestFirstTenMinutes follows the README's "First ten minutes" in a new
// module outside the checkout, with the go.mod lines the README gives for
// a local checkout: dsgen init through go tool, go generate, go build; a
// schema change refused by generate, dsgen migrate with no flags writing
// the placeholder the README shows, and generate again. init refuses to
// overwrite what it wrote.
func TestFirstTenMinutes(t *testing.T) {
	root, err := filepath.Abs("../..")
	must(t, err)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	must(t, err)
	dir := filepath.Join(t.TempDir(), "todo")
	must(t, os.Mkdir(dir, 0o755))
	// The module lookups stay in the local module cache (the module is not
	// published, and tests need no network).
	offline := []string{"GOPROXY=off"}
	goIn(t, dir, offline, "mod", "init", "example.com/todo")
	edit := "go mod edit -require=github.com/dsgen/dsgen@v0.0.0 -replace=github.com/dsgen/dsgen=/path/to/dsgen -tool=github.com/dsgen/dsgen/cmd/dsgen"
	if !bytes.Contains(readme, []byte(edit)) {
		t.Fatalf("README lacks the go.mod command %q", edit)
	}
	goIn(t, dir, offline, strings.Fields(strings.ReplaceAll(edit, "/path/to/dsgen", root))[1:]...)
	// go mod tidy, as for a user, uses the module proxy and the checksum
	// database: it checks the sums of dsgen's dependencies (which a fresh
	// module cache does not keep) and the modules their tests use.
	goIn(t, dir, nil, "mod", "tidy")

	out := goIn(t, dir, offline, "tool", "dsgen", "init")
	for _, f := range []string{"dsgen.yml", "schema.graphql", "generate.go"} {
		if !strings.Contains(out, "wrote "+f) {
			t.Errorf("init output lacks %s:\n%s", f, out)
		}
	}
	gen, err := os.ReadFile(filepath.Join(dir, "generate.go"))
	must(t, err)
	if !strings.Contains(string(gen), "package todo\n") || !strings.Contains(string(gen), "\n//go:generate go tool dsgen generate\n") {
		t.Errorf("generate.go:\n%s", gen)
	}
	if !bytes.Contains(readme, []byte("//go:generate go tool dsgen generate")) {
		t.Error("README does not show the //go:generate line init writes")
	}
	goIn(t, dir, offline, "generate", "./...")
	goIn(t, dir, offline, "build", "./...")
	if v := goIn(t, dir, offline, "run", "github.com/dsgen/dsgen/cmd/dsgen", "version"); !strings.HasPrefix(v, "dsgen ") {
		t.Errorf("go run of the command: %q", v)
	}
	for _, f := range []string{"model/todo.go", "dsgen.lock.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("after go generate: %v", err)
		}
	}

	// init again: refused, nothing changed.
	bin := dsgenBinary(t)
	before, _ := os.ReadFile(filepath.Join(dir, "schema.graphql"))
	if r := runIn(t, bin, dir, "init"); r.code != 1 || !strings.Contains(r.stderr, "already exist") {
		t.Errorf("init over existing files: exit %d %q", r.code, r.stderr)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "schema.graphql")); !bytes.Equal(now, before) {
		t.Error("init overwrote schema.graphql")
	}
	if r := runIn(t, bin, t.TempDir(), "init"); r.code != 1 || !strings.Contains(r.stderr, "go mod init") {
		t.Errorf("init outside a module: exit %d %q", r.code, r.stderr)
	}

	// The README's schema change: generate refuses, migrate (no flags)
	// writes the migration and the placeholder shown in the README.
	schemaPath := filepath.Join(dir, "schema.graphql")
	s := strings.Replace(string(before), "  priority: Priority\n", "  priority: Int\n", 1)
	must(t, os.WriteFile(schemaPath, []byte(s), 0o644))
	if r := runIn(t, bin, dir, "generate"); r.code != 1 || !strings.Contains(r.stderr, "run dsgen migrate") {
		t.Errorf("generate after the change: exit %d %q", r.code, r.stderr)
	}
	if r := runIn(t, bin, dir, "migrate"); r.code != 0 {
		t.Fatalf("migrate with no flags: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "migrations", "0001_change-field-type-todo-priority.json")); err != nil {
		t.Errorf("migration file: %v", err)
	}
	placeholder, err := os.ReadFile(filepath.Join(dir, "model", "migration_0001.go"))
	must(t, err)
	block := regexp.MustCompile("(?s)```go\n\\s*(// convert0001TodoPriority.*?)\\s*```").FindSubmatch(readme)
	if block == nil {
		t.Fatal("README has no placeholder example starting // convert0001TodoPriority")
	}
	if !strings.Contains(string(placeholder), unindent(string(block[1]))) {
		t.Errorf("README's placeholder example:\n%s\nis not what dsgen migrate wrote:\n%s", block[1], placeholder)
	}
	conv := strings.Replace(string(placeholder), "\tTODO_dsgen_write_this_conversion_then_delete_this_line\n\treturn v, nil",
		"\tswitch v {\n\tcase \"LOW\":\n\t\treturn int64(1), nil\n\tcase nil:\n\t\treturn nil, nil\n\t}\n\treturn int64(2), nil", 1)
	must(t, os.WriteFile(filepath.Join(dir, "model", "migration_0001.go"), []byte(conv), 0o644))
	goIn(t, dir, offline, "generate", "./...")
	goIn(t, dir, offline, "build", "./...")
}

// unindent removes the two-space indent of a code block inside a list item.
func unindent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "  ")
	}
	return strings.Join(lines, "\n")
}
