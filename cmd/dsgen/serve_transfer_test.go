package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
)

func TestServeImportExport(t *testing.T) {
	bin := dsgenBinary(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(wd, "..", "..")
	sch := filepath.Join(root, "examples", "blog", "schema.graphql")
	fx := filepath.Join(root, "internal", "serve", "dynamo", "testdata", "blog")
	data := filepath.Join(t.TempDir(), "data")
	tmp := t.TempDir()
	inputs := []string{filepath.Join(fx, "Blog-abc123xyz-prod.json"), filepath.Join(fx, "post-export")}

	// A file named after its table, an export directory, and --table.
	args := append([]string{"serve", "import", "--schema", sch, "--data", data, "--table", "Comment=" + filepath.Join(fx, "Comment-abc123xyz-prod.json")}, inputs...)
	r := runIn(t, bin, tmp, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "Post: 4 items (1 tombstones), 4 written, 0 kept") ||
		!strings.Contains(r.stdout, "Comment: 2 items (1 tombstones)") || !strings.Contains(r.stdout, "import epoch") {
		t.Fatalf("import: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, bin, tmp, args...)
	if r.code != 1 || !strings.Contains(r.stderr, "not empty") || !strings.Contains(r.stderr, "--merge") {
		t.Errorf("second import without --merge: exit %d, stderr %s", r.code, r.stderr)
	}
	r = runIn(t, bin, tmp, append([]string{"serve", "import", "--merge", "--schema", sch, "--data", data}, inputs...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "Post: 4 items (1 tombstones), 0 written, 4 kept") {
		t.Errorf("import --merge of the same tables: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}

	bad := filepath.Join(tmp, "Post-x-y.json")
	if err := os.WriteFile(bad, []byte(`{"Item":{"id":{"S":"q"},"title":{"S":"t"},"rating":{"S":"4"},"_version":{"N":"1"},"_lastChangedAt":{"N":"1"}}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runIn(t, bin, tmp, "serve", "import", "--merge", "--schema", sch, "--data", data, bad)
	if r.code != 1 || !strings.Contains(r.stderr, bad+":1: attribute rating") {
		t.Errorf("bad input: exit %d, stderr %s", r.code, r.stderr)
	}

	out := filepath.Join(tmp, "out")
	r = runIn(t, bin, tmp, "serve", "export", "--schema", sch, "--data", data, "--out", out, "--suffix", "-abc123xyz-prod", "--model", "Post")
	if r.code != 0 || strings.TrimSpace(r.stdout) != filepath.Join(out, "Post-abc123xyz-prod.json") {
		t.Fatalf("export: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "Post-abc123xyz-prod.json"))
	if err != nil || strings.Count(string(b), `{"Item":`) != 4 {
		t.Errorf("exported Post file: %v\n%s", err, b)
	}

	// The settings of serve (its section of dsgen.yml, with keys that are
	// no import or export flag) name the schema and the store.
	cfgDir := t.TempDir()
	yml := "schema: " + sch + "\nserve:\n  data: " + data + "\n  api-key: [da2-x]\n  delta-ttl: 1h\n"
	if err := os.WriteFile(filepath.Join(cfgDir, "dsgen.yml"), []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(tmp, "out2")
	if r := runIn(t, bin, cfgDir, "serve", "export", "--out", out2, "--model", "Blog"); r.code != 0 || strings.TrimSpace(r.stdout) != filepath.Join(out2, "Blog.json") {
		t.Errorf("export configured by dsgen.yml: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "import", "--schema", sch, "--data", data}, "nothing to import"},
		{[]string{"serve", "export", "--schema", sch, "--data", data}, "--out is required"},
		{[]string{"serve", "import", "--data", data, bad}, "--schema is required"},
		{[]string{"serve", "import", "--schema", sch, "--data", data, "--table", "Post", bad}, "want MODEL=PATH"},
		{[]string{"serve", "import", "--schema", sch, "--in-memory", bad}, "need a store that persists"},
		{[]string{"serve", "import", "--schema", sch, "--data", data, "--cutover", "tomorrow", bad}, "RFC 3339"},
	} {
		if r := runIn(t, bin, tmp, c.args...); r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %s; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}

	// A store in use (here: opened by this process) is named as such.
	st, err := store.Open(context.Background(), store.Options{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r = runIn(t, bin, tmp, "serve", "export", "--schema", sch, "--data", data, "--out", out)
	if r.code != 1 || !strings.Contains(r.stderr, "stop the dsgen serve") {
		t.Errorf("export of a locked store: exit %d, stderr %s", r.code, r.stderr)
	}
}
