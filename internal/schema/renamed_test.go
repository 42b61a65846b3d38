package schema

import "testing"

// @renamedFrom is dsgen's rename declaration for migrations: it loads without
// a declaration, is not an Amplify model attribute and leaves the stored
// shape (Version) alone.
func TestRenamedFromAccepted(t *testing.T) {
	with := `type Post @model @renamedFrom(name: "Article") { id: ID! headline: String @renamedFrom(name: "title") }`
	without := `type Post @model { id: ID! headline: String }`
	a, err := Load([]Source{{Name: "a.graphql", Input: with}}, Options{})
	if err != nil {
		t.Fatalf("schema with @renamedFrom: %v", err)
	}
	b, err := Load([]Source{{Name: "b.graphql", Input: without}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range a.Model("Post").Directives {
		if d.Name == "renamedFrom" {
			t.Errorf("Post.Directives lists @renamedFrom; introspection would show it as an Amplify attribute")
		}
	}
	if a.Version != b.Version {
		t.Errorf("@renamedFrom changed the schema version: %s vs %s", a.Version, b.Version)
	}
	if err := load(`type Post @model { id: ID! title: String @renamedFrom }`); err == nil {
		t.Error("@renamedFrom without name loaded")
	}
}
