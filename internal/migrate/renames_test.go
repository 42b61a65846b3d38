package migrate

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenameCycles runs dsgen migrate on schemas whose @renamedFrom
// declarations swap two names, shift names along a chain and rotate three:
// each field keeps its id (so its stored values) under its new name, and
// the declarations left in the schema change nothing on the next run.
func TestRenameCycles(t *testing.T) {
	cases := []struct {
		name, v2 string
		want     map[string]string // new name -> name in v1
	}{
		{"swap", `type Post @model { id: ID! a: String @renamedFrom(name: "b") b: String @renamedFrom(name: "a") c: String }`,
			map[string]string{"a": "b", "b": "a", "c": "c"}},
		{"cycle of three", `type Post @model { id: ID! b: String @renamedFrom(name: "a") c: String @renamedFrom(name: "b") a: String @renamedFrom(name: "c") }`,
			map[string]string{"b": "a", "c": "b", "a": "c"}},
		{"chain", `type Post @model { id: ID! b: String @renamedFrom(name: "a") c: String @renamedFrom(name: "b") d: String @renamedFrom(name: "c") }`,
			map[string]string{"b": "a", "c": "b", "d": "c"}},
		{"swap beside a chain into a new name", `type Post @model { id: ID! a: String @renamedFrom(name: "b") b: String @renamedFrom(name: "a") z: String @renamedFrom(name: "c") }`,
			map[string]string{"a": "b", "b": "a", "z": "c"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "schema.graphql")
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(os.WriteFile(path, []byte(`type Post @model { id: ID! a: String b: String c: String }`), 0o644))
			must(Run(Options{Schema: path, Init: true}))
			l1, err := LoadLock(filepath.Join(dir, LockFile))
			must(err)
			must(os.WriteFile(path, []byte(c.v2), 0o644))
			var out bytes.Buffer
			must(Run(Options{Schema: path, Stdout: &out}))
			if strings.Contains(out.String(), "no change") {
				t.Fatalf("dsgen migrate planned nothing:\n%s", out.String())
			}
			l2, err := LoadLock(filepath.Join(dir, LockFile))
			must(err)
			for next, prev := range c.want {
				if got, want := l2.Model("Post").Field(next).ID, l1.Model("Post").Field(prev).ID; got != want {
					t.Errorf("field %s has id %d, want %d (the id of %s before):\n%s", next, got, want, prev, out.String())
				}
			}
			if strings.Contains(out.String(), "dropField") || strings.Contains(out.String(), "addField") {
				t.Errorf("renames planned as drops and adds:\n%s", out.String())
			}
			out.Reset()
			must(Run(Options{Schema: path, Stdout: &out}))
			if !strings.Contains(out.String(), "no change since the lock") {
				t.Errorf("the declarations left in the schema planned again:\n%s", out.String())
			}
			must(Run(Options{Schema: path, Check: true, Stdout: &out}))
		})
	}
}

// TestTypeNameSwapRefused: swapping or shifting model names is refused with
// an error naming the declaration, not planned as "no change" (the models
// would keep each other's data) nor as a drop and an add.
func TestTypeNameSwapRefused(t *testing.T) {
	const v1 = `type A @model { id: ID! x: String } type B @model { id: ID! y: Int }`
	for name, v2 := range map[string]string{
		"swap":  `type B @model @renamedFrom(name: "A") { id: ID! x: String } type A @model @renamedFrom(name: "B") { id: ID! y: Int }`,
		"shift": `type B @model @renamedFrom(name: "A") { id: ID! x: String } type C @model @renamedFrom(name: "B") { id: ID! y: Int }`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := plan(t, v1, v2)
			if err == nil || !strings.Contains(err.Error(), "schema.graphql:1:") || !strings.Contains(err.Error(), "cannot swap or shift type names") {
				t.Errorf("plan: %v, want the declaration refused", err)
			}
		})
	}
	// A rename into a name the lock does not have still works.
	p, err := plan(t, v1, `type C @model @renamedFrom(name: "A") { id: ID! x: String } type B @model { id: ID! y: Int }`)
	if err != nil || len(p.Steps) != 1 || p.Steps[0].Kind != "renameModel" {
		t.Errorf("plain rename: %v, %v", p, err)
	}
}
