package templates_test

import (
	"bytes"
	"go/format"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/templates"
)

// TestGeneratedIsGofmtClean generates the package of every golden schema
// and of the shared corpus (when it is there) and checks that each file is
// exactly what gofmt makes of it: most files are written as text, without
// a go/format pass, so this is what keeps them formatted.
func TestGeneratedIsGofmtClean(t *testing.T) {
	paths, _ := filepath.Glob("../golden/*/schema.graphql")
	shared, _ := filepath.Abs("../../shared/schemas")
	for _, pattern := range []string{"valid/*.graphql", "v1/*.graphql", "synthetic/synth10.graphql", "synthetic/synth100.graphql"} {
		more, _ := filepath.Glob(filepath.Join(shared, pattern))
		paths = append(paths, more...)
	}
	if testing.Short() {
		paths, _ = filepath.Glob("../golden/*/schema.graphql")
	}
	// Shapes of the metadata literal in schema.go the corpus lacks.
	inline := map[string]string{
		"maps": `type Post @model(queries: {get: "fetchPost", list: "allPosts", sync: null}, mutations: {create: "makePost"}) { id: ID! }`,
	}
	checked := 0
	for _, p := range append(paths, "maps") {
		b, err := os.ReadFile(p)
		if text, ok := inline[p]; ok {
			b, err = []byte(text), nil
		}
		if err != nil {
			t.Fatal(err)
		}
		s, err := schema.Load([]schema.Source{{Name: p, Input: string(b)}}, schema.Options{Directives: []string{"simple"}})
		if _, ok := inline[p]; ok && err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if err != nil {
			continue // the invalid cases
		}
		files, err := templates.Generate(s, templates.Config{Package: "model", ImportPath: "example.com/app/model"})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		for _, f := range files {
			want, err := format.Source(f.Content)
			switch {
			case err != nil:
				t.Errorf("%s: %s does not parse: %v", p, f.Path, err)
			case !bytes.Equal(f.Content, want):
				t.Errorf("%s: %s is not gofmt-clean; gofmt makes of it:\n%s", p, f.Path, firstDiff(f.Content, want))
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("only %d files checked", checked)
	}
}

// firstDiff shows the first differing line of two texts, with its number.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return "line " + strconv.Itoa(i+1) + ":\n  have " + g[i] + "\n  gofmt " + w[i]
		}
	}
	return "length differs"
}
