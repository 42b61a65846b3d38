package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/testenv/errtest"
)

// TestErrorMessagesCarryEachPrefixOnce runs the command's failures in
// process (a missing schema file, a bad schema, a changed schema without
// its migration, a lock that is missing, an unusable store, a bad flag, an
// unknown command) and checks that no line of what it prints names a
// package prefix twice ("dsgen: serve: serve: ..." or "store: ... store:").
func TestErrorMessagesCarryEachPrefixOnce(t *testing.T) {
	dir := newProject(t, twoModels)
	must(t, os.WriteFile(filepath.Join(dir, "bad.graphql"), []byte("type Post @model { id: ID! title: Strin }"), 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "notadir"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "notadir", "MANIFEST"), []byte("not a manifest"), 0o644))
	t.Chdir(dir)
	prefixes := []string{"dsgen: ", "gen: ", "migrate: ", "serve: ", "launch: ", "config: ", "schema: ", "store: ", "storage: ", "auth: ", "datastore: "}
	for _, args := range [][]string{
		{"generate", "--schema", "missing.graphql", "--out", "model"},
		{"generate", "--schema", "bad.graphql", "--out", "model"},
		{"generate"},
		{"migrate", "--schema", "schema.graphql", "--check"},
		{"migrate", "--schema", "missing.graphql", "--out", "model"},
		{"serve", "--schema", "missing.graphql"},
		{"serve", "--schema", "schema.graphql", "--store", "mysql://x/db"},
		{"serve", "--schema", "schema.graphql", "--data", "notadir", "--addr", "127.0.0.1:0"},
		{"serve", "--schema", "schema.graphql", "--conflict", "Nope=automerge"},
		{"serve", "--no-such-flag"},
		{"nope"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code == 0 {
			t.Errorf("dsgen %s: exit 0, want a failure\n%s", strings.Join(args, " "), stderr.String())
			continue
		}
		for _, line := range strings.Split(stderr.String(), "\n") {
			if p := errtest.Repeated(line, prefixes...); p != "" {
				t.Errorf("dsgen %s: %q names %q more than once", strings.Join(args, " "), line, p)
			}
		}
	}
}
