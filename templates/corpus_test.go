package templates_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/gen"
)

// TestCorpusCompiles generates a package for every valid shared schema and
// the 10- and 100-model synthetic schemas, then builds and vets them all as
// one module, as a user would.
func TestCorpusCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every corpus package")
	}
	shared, err := filepath.Abs("../../shared/schemas")
	if err != nil {
		t.Fatal(err)
	}
	schemas, _ := filepath.Glob(filepath.Join(shared, "valid", "*.graphql"))
	if len(schemas) == 0 {
		t.Skipf("no shared corpus at %s", shared)
	}
	schemas = append(schemas, filepath.Join(shared, "synthetic", "synth10.graphql"), filepath.Join(shared, "synthetic", "synth100.graphql"))
	v1, _ := filepath.Glob(filepath.Join(shared, "v1", "*.graphql")) // transformer v1 schemas
	schemas = append(schemas, v1...)

	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	writeModule(t, mod, root)

	unsafe := regexp.MustCompile(`[^a-z0-9]+`)
	for _, s := range schemas {
		name := strings.TrimSuffix(filepath.Base(s), ".graphql")
		dir := "m_" + unsafe.ReplaceAllString(strings.ToLower(name), "_")
		opts := gen.Options{Schema: s, Out: filepath.Join(mod, dir), Package: "model", ImportPath: "corpus/" + dir,
			Lock: filepath.Join(t.TempDir(), "dsgen.lock.json")} // never into the shared corpus
		if name == "api-custom-transformers-simple-custom-model" {
			opts.Directives = []string{"simple"}
		}
		if _, err := gen.Run(opts); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if t.Failed() {
		return
	}
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = mod
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the generated corpus: %v\n%s", err, out)
	}
}

// writeModule makes dir a module that uses this checkout of dsgen.
func writeModule(t *testing.T, dir, root string) {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(string(gomod), "module github.com/dsgen/dsgen", "module corpus", 1)
	body += "\nrequire github.com/dsgen/dsgen v0.0.0\n\nreplace github.com/dsgen/dsgen => " + root + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
}
