package migrate

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/meta"
)

const v1 = `type Post @model { id: ID! title: String! rating: Int status: Status blog: Blog @belongsTo }
type Blog @model { id: ID! name: String posts: [Post] @hasMany }
type Point { x: Float y: Float }
enum Status { DRAFT PUBLISHED }`

// v2 renames Post.title, drops Post.rating's Int for Float, adds a field
// in front of the others and removes an enum value.
const v2 = `type Post @model { id: ID! summary: String headline: String! @renamedFrom(name: "title") rating: Float status: Status blog: Blog @belongsTo }
type Blog @model { id: ID! name: String posts: [Post] @hasMany }
type Point { x: Float y: Float }
enum Status { PUBLISHED }`

// migrateTo locks v1, plans v2 and writes the migration into dir, as
// dsgen migrate does; it returns the next lock, the plan and the file.
func migrateTo(t *testing.T, dir string, prev *Lock, next string) (*Lock, *Migration, string) {
	t.Helper()
	s, srcs := load(t, next)
	r, err := ReadRenames(srcs)
	if err != nil {
		t.Fatal(err)
	}
	if prev, err = prev.ApplyRenames(r); err != nil {
		t.Fatal(err)
	}
	p, err := Diff(prev, s)
	if err != nil {
		t.Fatal(err)
	}
	mg, path, err := WriteMigration(dir, prev, p)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLock(s, prev)
	if err != nil {
		t.Fatal(err)
	}
	l.Migration = mg.Number
	return l, mg, path
}

func firstLock(t *testing.T, src string) *Lock {
	t.Helper()
	s, _ := load(t, src)
	l, err := NewLock(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func field(t *testing.T, fields []*meta.Field, name string) (*meta.Field, int) {
	t.Helper()
	for i, f := range fields {
		if f.Name == name {
			return f, i
		}
	}
	t.Fatalf("no field %s", name)
	return nil, 0
}

func TestApplyGivesLockIDs(t *testing.T) {
	l1 := firstLock(t, v1)
	s1, _ := load(t, v1)
	if err := l1.Apply(s1); err != nil {
		t.Fatal(err)
	}
	for _, m := range s1.Models {
		for _, f := range m.Fields {
			if f.Number != 0 {
				t.Errorf("first lock: %s.%s Number %d, want 0 (its position)", m.Name, f.Name, f.Number)
			}
		}
	}

	l2, _, _ := migrateTo(t, t.TempDir(), l1, v2)
	s2, _ := load(t, v2)
	if err := l2.Apply(s2); err != nil {
		t.Fatal(err)
	}
	if s2.Migration != 1 {
		t.Errorf("Migration %d, want 1", s2.Migration)
	}
	post := s2.Model("Post")
	old := l1.Model("Post")
	headline, _ := field(t, post.Fields, "headline")
	if got, want := codec.FieldNumber(post.Fields, "headline"), old.Field("title").ID; got != want || headline.Number != want {
		t.Errorf("renamed headline: codec number %d, Number %d; want title's id %d", got, headline.Number, want)
	}
	summary, i := field(t, post.Fields, "summary")
	if summary.Number <= old.NextFieldID-1 || summary.Number == i+1 {
		t.Errorf("new summary: Number %d, want a fresh id (>= %d)", summary.Number, old.NextFieldID)
	}
	if blog, _ := field(t, post.Fields, "blog"); blog.Number != 0 {
		t.Errorf("relation field blog got Number %d", blog.Number)
	}
	// Every stored field reads under its lock id, whatever its position.
	for _, f := range post.Fields {
		if f.Stored() {
			if got, want := codec.FieldNumber(post.Fields, f.Name), l2.Model("Post").Field(f.Name).ID; got != want {
				t.Errorf("Post.%s: codec number %d, lock id %d", f.Name, got, want)
			}
		}
	}
}

func TestApplyRejectsAMismatch(t *testing.T) {
	l := firstLock(t, v1)
	cases := map[string]struct {
		src  string
		want []string
	}{
		"field not locked": {strings.Replace(v1, "rating: Int", "rating: Int views: Int", 1), []string{"field Post.views is not in the lock"}},
		"field gone":       {strings.Replace(v1, "rating: Int", "", 1), []string{"the lock has field Post.rating"}},
		"model not locked": {v1 + ` type Tag @model { id: ID! }`, []string{"model Tag is not in the lock"}},
		"model gone and type renamed": {strings.Replace(strings.Replace(v1, "type Blog @model { id: ID! name: String posts: [Post] @hasMany }", "", 1), "blog: Blog @belongsTo", "", 1) + ` type Place { x: Float }`,
			[]string{"the lock has model Blog", "non-model type Place is not in the lock"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s, _ := load(t, c.src)
			s.Models[0].Fields[1].Number = 42 // must survive a refused Apply
			err := l.Apply(s)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(c.want, "run dsgen migrate") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if s.Models[0].Fields[1].Number != 42 || s.Migration != 0 {
				t.Error("a refused Apply changed the schema")
			}
		})
	}
}

func TestDiffSetsOldOnTypeChanges(t *testing.T) {
	l := firstLock(t, v1)
	s, _ := load(t, strings.Replace(strings.Replace(v1, "rating: Int", "rating: [Float]", 1), "status: Status", "status: String!", 1))
	p, err := Diff(l, s)
	if err != nil {
		t.Fatal(err)
	}
	olds := map[string]*meta.Field{}
	for _, st := range p.Steps {
		if st.Kind != meta.ChangeFieldType {
			continue
		}
		if st.Old == nil {
			t.Fatalf("step %v has no Old", st)
		}
		olds[st.Field] = st.Old
	}
	want := map[string]meta.Field{
		"rating": {Name: "rating", Number: l.Model("Post").Field("rating").ID, Type: "Int", Kind: meta.KindScalar},
		"status": {Name: "status", Number: l.Model("Post").Field("status").ID, Type: "Status", Kind: meta.KindEnum},
	}
	for name, w := range want {
		if o := olds[name]; o == nil || !reflect.DeepEqual(*o, w) {
			t.Errorf("Old of %s: %+v, want %+v", name, o, w)
		}
	}
}

func TestWriteMigrationNamesConversions(t *testing.T) {
	dir := t.TempDir()
	_, mg, path := migrateTo(t, dir, firstLock(t, v1), v2)
	funcs := map[string]string{}
	for _, st := range mg.Steps {
		if (st.Effect == meta.NeedsCode) != (st.Func != "") {
			t.Errorf("step %v: a func exactly when it needs code", st)
		}
		if st.Func != "" {
			funcs[st.Func] = st.Field + st.Value
		}
	}
	if funcs["convert0001PostRating"] != "rating" || funcs["convert0001StatusDRAFT"] != "DRAFT" || len(funcs) != 2 {
		t.Errorf("funcs %v", funcs)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"func": "convert0001PostRating"`, `"old": {`, `"kind": "scalar"`, `"todo": "convert Post.rating`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("migration file lacks %s:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), `"todo": [`) {
		t.Errorf("migration file still has a top-level todo list:\n%s", b)
	}

	// Names stay unique when two fields capitalise alike.
	src := `type Post @model { id: ID! aB: Int } type PostA @model { id: ID! b: Int }`
	l := firstLock(t, src)
	_, mg, _ = migrateTo(t, t.TempDir(), l, strings.ReplaceAll(src, "Int", "Float"))
	if mg.Steps[0].Func != "convert0001PostAB" || mg.Steps[1].Func != "convert0001PostAB2" {
		t.Errorf("colliding names: %s, %s", mg.Steps[0].Func, mg.Steps[1].Func)
	}
}

func TestLoadMigrations(t *testing.T) {
	dir := t.TempDir()
	l1 := firstLock(t, v1)
	l2, _, _ := migrateTo(t, dir, l1, v2)
	v3 := strings.Replace(v2, "summary: String", "summary: String views: Int", 1)
	_, _, _ = migrateTo(t, dir, l2, v3)

	got, err := LoadMigrations(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Number != 1 || got[1].Number != 2 || got[0].To != got[1].From {
		t.Fatalf("migrations %+v", got)
	}
	var rating *meta.MigrationStep
	for _, st := range got[0].Steps {
		if st.Kind == meta.ChangeFieldType && st.Field == "rating" {
			rating = st
		}
	}
	if rating == nil || rating.Func != "convert0001PostRating" || rating.Old == nil || rating.Old.Type != "Int" ||
		rating.Old.Number != l1.Model("Post").Field("rating").ID || rating.Effect != meta.NeedsCode {
		t.Errorf("rating step did not round-trip: %+v", rating)
	}
	if got, err := LoadMigrations(filepath.Join(dir, "none"), 0); err != nil || len(got) != 0 {
		t.Errorf("no migrations yet: %v, %v", got, err)
	}

	// Bad input: each case edits a copy of the two good files.
	first, _ := filepath.Glob(filepath.Join(dir, "0001_*.json"))
	second, _ := filepath.Glob(filepath.Join(dir, "0002_*.json"))
	good1, _ := os.ReadFile(first[0])
	good2, _ := os.ReadFile(second[0])
	cases := []struct {
		name  string
		files map[string]string
		upTo  int
		want  string // in the error, besides the file
		file  string // the file the error must name
	}{
		{"gap", map[string]string{"0002_b.json": string(good2)}, 2, "no migration 0001", ""},
		{"missing last", map[string]string{"0001_a.json": string(good1)}, 2, "no migration 0002", ""},
		{"duplicate", map[string]string{"0001_a.json": string(good1), "0001_b.json": string(good1), "0002_c.json": string(good2)}, 2, "share number 1", "0001_b.json"},
		{"unknown to the lock", map[string]string{"0001_a.json": string(good1), "0002_c.json": string(good2)}, 1, "lock's last migration 1", "0002_c.json"},
		{"bad json", map[string]string{"0001_a.json": `{"format": 1,`}, 1, "unexpected end of JSON", "0001_a.json"},
		{"unknown key", map[string]string{"0001_a.json": strings.Replace(string(good1), `"steps"`, `"stpes"`, 1)}, 1, "stpes", "0001_a.json"},
		{"format", map[string]string{"0001_a.json": strings.Replace(string(good1), `"format": 1`, `"format": 7`, 1)}, 1, "format 7", "0001_a.json"},
		{"number", map[string]string{"0001_a.json": string(good2)}, 1, "number 2 in a file named 0001", "0001_a.json"},
		{"broken chain", map[string]string{"0001_a.json": string(good1), "0002_c.json": strings.Replace(string(good2), `"from": "`, `"from": "x`, 1)}, 2, "migration 1 ends at", "0002_c.json"},
		{"bad old kind", map[string]string{"0001_a.json": strings.Replace(string(good1), `"kind": "scalar"`, `"kind": "model"`, 1)}, 1, `kind "model"`, "0001_a.json"},
		{"needs code, no func", map[string]string{"0001_a.json": strings.Replace(string(good1), `"func": "convert0001PostRating",`, ``, 1)}, 1, "names no func", "0001_a.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			for name, body := range c.files {
				if err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadMigrations(d, c.upTo)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), filepath.Join(d, c.file)) {
				t.Errorf("error %v, want one naming %s and saying %q", err, filepath.Join(d, c.file), c.want)
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	_, mg, _ := migrateTo(t, dir, firstLock(t, v1), v2)
	s, _ := load(t, v2)
	path, err := WritePlaceholders(out, mg, s, "model", "migrations/0001_x.json")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "migration_0001.go" {
		t.Errorf("path %s", path)
	}
	b, _ := os.ReadFile(path)
	src := string(b)
	for _, want := range []string{
		"package model\n",
		"// convert0001PostRating converts Post.rating from Int to Float for migration\n// 0001 (migrations/0001_x.json). v is the stored value (int64) or nil;\n// return the new value (float64) or nil. An error stops the migration.\nfunc convert0001PostRating(v any) (any, error) {\n\tTODO_dsgen_write_this_conversion_then_delete_this_line\n\treturn v, nil\n}\n",
		`convert0001StatusDRAFT maps stored Status values DRAFT, removed from the enum, for migration 0001 (migrations/0001_x.json). v is "DRAFT" (string); return one of the remaining values (string: PUBLISHED), or nil where the field holding it is optional.`,
		"func convert0001StatusDRAFT(v any) (any, error) {",
	} {
		if !strings.Contains(src, want) && !strings.Contains(strings.Join(strings.Fields(strings.ReplaceAll(src, "// ", "")), " "), want) {
			t.Errorf("placeholders lack %q:\n%s", want, src)
		}
	}
	if strings.HasPrefix(src, "// Code generated") {
		t.Error("placeholders carry the generated-code header: generate would delete them")
	}

	todos, err := PendingTodos(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(todos) != 2 || todos[0].File != path || todos[0].Line == 0 || !strings.HasPrefix(todos[0].String(), path+":") {
		t.Errorf("todos %v", todos)
	}

	if _, err := WritePlaceholders(out, mg, s, "model", "x"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second write: %v, want fs.ErrExist", err)
	}
	if again, _ := os.ReadFile(path); string(again) != src {
		t.Error("an existing placeholder file was overwritten")
	}

	done := strings.ReplaceAll(src, "\tTODO_dsgen_write_this_conversion_then_delete_this_line\n", "")
	if err := os.WriteFile(path, []byte(done), 0o644); err != nil {
		t.Fatal(err)
	}
	if todos, err := PendingTodos(out); err != nil || len(todos) != 0 {
		t.Errorf("after writing the bodies: %v, %v", todos, err)
	}

	// A migration without code to write has no file.
	_, plain, _ := migrateTo(t, t.TempDir(), firstLock(t, v1), strings.Replace(v1, "rating: Int", "rating: Int views: Int", 1))
	if p, err := WritePlaceholders(t.TempDir(), plain, s, "model", "x"); p != "" || err != nil {
		t.Errorf("no conversions: %q, %v", p, err)
	}
}
