package templates

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dsgen/dsgen/internal/schema"
)

// TestSchemaTextMatchesJennifer: schema.go written as text is byte for byte
// what the jennifer renderer and go/format make of the same metadata, which
// is what it falls back to for shapes it does not lay out.
func TestSchemaTextMatchesJennifer(t *testing.T) {
	inputs := map[string]string{
		"maps": `type Post @model(queries: {get: "fetchPost", list: "allPosts", sync: null}, mutations: {create: "makePost"}, subscriptions: {onCreate: ["a", "b"]}) { id: ID! }`,
	}
	paths, _ := filepath.Glob("../golden/*/schema.graphql")
	more, _ := filepath.Glob("../../shared/schemas/valid/*.graphql")
	for _, p := range append(paths, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inputs[p] = string(b)
	}
	texts := 0
	for name, sdl := range inputs {
		s, err := schema.Load([]schema.Source{{Name: name, Input: sdl}}, schema.Options{Directives: []string{"simple"}})
		if err != nil {
			if name == "maps" {
				t.Fatal(err)
			}
			continue
		}
		g := &gen{s: s, cfg: Config{Package: "model", ImportPath: "example.com/app/model"}}
		got := g.schemaText()
		if got == nil {
			t.Logf("%s: rendered by jennifer", name)
			continue
		}
		texts++
		want, err := render(g.schemaFile())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: schema.go as text differs from the rendered one:\n%s\n---\n%s", name, got, want)
		}
	}
	if texts < 20 {
		t.Errorf("only %d schemas written as text", texts)
	}
}
