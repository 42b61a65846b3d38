package migrate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/meta"
)

func load(t *testing.T, src string) (*meta.Schema, []schema.Source) {
	t.Helper()
	srcs := []schema.Source{{Name: "schema.graphql", Input: src}}
	s, err := schema.Load(srcs, schema.Options{Directives: []string{"simple"}})
	if err != nil {
		t.Fatalf("load schema: %v\n%s", err, src)
	}
	return s, srcs
}

// plan locks v1 and diffs v2 against it, honouring v2's @renamedFrom.
func plan(t *testing.T, v1, v2 string) (*Plan, error) {
	t.Helper()
	s1, _ := load(t, v1)
	lock, err := NewLock(s1, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2, srcs := load(t, v2)
	r, err := ReadRenames(srcs)
	if err != nil {
		t.Fatal(err)
	}
	if lock, err = lock.ApplyRenames(r); err != nil {
		return nil, err
	}
	return Diff(lock, s2)
}

func kinds(p *Plan) []StepKind {
	var out []StepKind
	for _, s := range p.Steps {
		out = append(out, s.Kind)
	}
	return out
}

func TestDiffStepKinds(t *testing.T) {
	const base = `type Post @model { id: ID! title: String! rating: Int status: Status }
enum Status { DRAFT PUBLISHED }`
	cases := []struct {
		name, v1, v2 string
		want         []StepKind
		effect       Effect // of the last step
	}{
		{"unchanged", base, base, nil, ""},
		{"add model", base, base + ` type Tag @model { id: ID! label: String }`, []StepKind{meta.AddModel}, meta.Preserving},
		{"drop model", base + ` type Tag @model { id: ID! }`, base, []StepKind{meta.DropModel}, meta.Drops},
		{"rename model", base + ` type Tag @model { id: ID! }`, base + ` type Label @model @renamedFrom(name: "Tag") { id: ID! }`, []StepKind{meta.RenameModel}, meta.Preserving},
		{"add optional field", base, strings.Replace(base, "rating: Int", "rating: Int views: Int", 1), []StepKind{meta.AddField}, meta.Preserving},
		{"add required field with default", base, strings.Replace(base, "rating: Int", `rating: Int views: Int! @default(value: "0")`, 1), []StepKind{meta.AddField}, meta.Preserving},
		{"drop field", base, strings.Replace(base, "rating: Int", "", 1), []StepKind{meta.DropField}, meta.Drops},
		{"rename field", base, strings.Replace(base, "title: String!", `headline: String! @renamedFrom(name: "title")`, 1), []StepKind{meta.RenameField}, meta.Preserving},
		{"add index", base, strings.Replace(base, "status: Status", `status: Status @index(name: "byStatus")`, 1), []StepKind{meta.AddIndex}, meta.Preserving},
		{"drop index", strings.Replace(base, "status: Status", `status: Status @index(name: "byStatus")`, 1), base, []StepKind{meta.DropIndex}, meta.Drops},
		{"change index", strings.Replace(base, "status: Status", `status: Status @index(name: "byStatus")`, 1),
			strings.Replace(base, "status: Status", `status: Status @index(name: "byStatus", sortKeyFields: ["title"])`, 1), []StepKind{meta.ChangeIndex}, meta.Preserving},
		{"add sort key: re-key", base, strings.Replace(base, "id: ID!", `id: ID! @primaryKey(sortKeyFields: ["title"])`, 1), []StepKind{meta.ChangePrimaryKey}, meta.Preserving},
		{"key on a new field: re-sync", base, strings.Replace(base, "id: ID!", `id: ID! @primaryKey(sortKeyFields: ["slug"]) slug: String! @default(value: "x")`, 1), []StepKind{meta.AddField, meta.ChangePrimaryKey}, meta.Resync},
		{"drop sort key: re-sync", strings.Replace(base, "id: ID!", `id: ID! @primaryKey(sortKeyFields: ["title"])`, 1), base, []StepKind{meta.ChangePrimaryKey}, meta.Resync},
		{"change type", base, strings.Replace(base, "rating: Int", "rating: Float", 1), []StepKind{meta.ChangeFieldType}, meta.NeedsCode},
		{"enum to String", base, strings.Replace(base, "status: Status", "status: String", 1), []StepKind{meta.ChangeFieldType}, meta.Preserving},
		{"make required", base, strings.Replace(base, "rating: Int", "rating: Int!", 1), []StepKind{meta.ChangeFieldType}, meta.NeedsCode},
		{"make required with default", base, strings.Replace(base, "rating: Int", `rating: Int! @default(value: "3")`, 1), []StepKind{meta.ChangeFieldType}, meta.Preserving},
		{"make optional", base, strings.Replace(base, "title: String!", "title: String", 1), []StepKind{meta.ChangeFieldType}, meta.Preserving},
		{"enum value added", base, strings.Replace(base, "PUBLISHED", "PUBLISHED ARCHIVED", 1), []StepKind{meta.AddEnumValue}, meta.Preserving},
		{"enum value removed", base, strings.Replace(base, "DRAFT ", "", 1), []StepKind{meta.RemoveEnumValue}, meta.NeedsCode},
		{"combined, renames first and indexes last", base,
			`type Article @model @renamedFrom(name: "Post") { id: ID! headline: String! @renamedFrom(name: "title") status: Status @index(name: "byStatus") views: Int }
enum Status { DRAFT PUBLISHED }`, []StepKind{meta.RenameModel, meta.RenameField, meta.DropField, meta.AddField, meta.AddIndex}, meta.Preserving},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := plan(t, c.v1, c.v2)
			if err != nil {
				t.Fatal(err)
			}
			if got := kinds(p); !slices.Equal(got, c.want) {
				t.Fatalf("steps %v, want %v\n%v", got, c.want, p.Steps)
			}
			if n := len(p.Steps); n > 0 && p.Steps[n-1].Effect != c.effect {
				t.Errorf("effect %s, want %s: %v", p.Steps[n-1].Effect, c.effect, p.Steps[n-1])
			}
			if p.Unchanged() != (len(c.want) == 0) || (p.From == p.To) != (len(c.want) == 0) {
				t.Errorf("Unchanged %v, versions %s -> %s, with steps %v", p.Unchanged(), p.From, p.To, c.want)
			}
			for _, s := range p.Steps {
				if (s.Effect == meta.NeedsCode) != (s.Todo != "") {
					t.Errorf("step %v: a todo exactly when it needs code", s)
				}
			}
		})
	}
}

func TestDiffRenameKeepsIDs(t *testing.T) {
	s1, _ := load(t, `type Post @model { id: ID! title: String rating: Int }`)
	l1, err := NewLock(s1, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2, srcs := load(t, `type Article @model @renamedFrom(name: "Post") { id: ID! body: String headline: String @renamedFrom(name: "title") }`)
	r, err := ReadRenames(srcs)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := l1.ApplyRenames(r)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := NewLock(s2, lr)
	if err != nil {
		t.Fatal(err)
	}
	m := l2.Model("Article")
	if m == nil || m.ID != l1.Model("Post").ID {
		t.Fatalf("renamed model lost its id: %+v", m)
	}
	if got, want := m.Field("headline").ID, l1.Model("Post").Field("title").ID; got != want {
		t.Errorf("headline id %d, want title's %d", got, want)
	}
	// rating (id 3) was dropped and body is new: body must not reuse 3.
	if got := m.Field("body").ID; got <= 3 {
		t.Errorf("new field body got id %d, reusing a dropped id", got)
	}
	// The directive left in the schema is a no-op next time.
	again, err := l2.ApplyRenames(r)
	if err != nil {
		t.Fatalf("leftover @renamedFrom: %v", err)
	}
	p, err := Diff(again, s2)
	if err != nil || !p.Unchanged() {
		t.Errorf("relocked schema diffs to %v, %v", p, err)
	}
}

func TestLockEntryRename(t *testing.T) {
	s1, _ := load(t, `type Post @model { id: ID! title: String }`)
	l, _ := NewLock(s1, nil)
	l.Model("Post").Field("title").RenamedTo = "headline"
	s2, _ := load(t, `type Post @model { id: ID! headline: String }`)
	p, err := Diff(l, s2)
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(p); !slices.Equal(got, []StepKind{meta.RenameField}) || p.Steps[0].From != "title" {
		t.Errorf("steps %v", p.Steps)
	}
	l.Model("Post").Field("title").RenamedTo = "heading"
	if _, err := Diff(l, s2); err == nil || !strings.Contains(err.Error(), "Post.heading") {
		t.Errorf("rename to a missing field: %v", err)
	}
}

func TestRenameTypo(t *testing.T) {
	_, err := plan(t, `type Post @model { id: ID! title: String }`, `type Post @model { id: ID! headline: String @renamedFrom(name: "titel") }`)
	if err == nil || !strings.Contains(err.Error(), "schema.graphql:1:") || !strings.Contains(err.Error(), "no field Post.titel") {
		t.Errorf("typo in @renamedFrom: %v", err)
	}
}

func TestRequiredFieldWithoutDefault(t *testing.T) {
	_, err := plan(t, `type Post @model { id: ID! }`, `type Post @model { id: ID! title: String! rating: Int! body: String }`)
	var re *RequiredFieldError
	if !errors.As(err, &re) {
		t.Fatalf("want *RequiredFieldError, got %v", err)
	}
	if !slices.Equal(re.Fields, []string{"Post.title", "Post.rating"}) || !strings.Contains(err.Error(), "@default") {
		t.Errorf("error %q, fields %v", err, re.Fields)
	}
}

func corpus(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../../shared/schemas/valid", name+".graphql"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("shared corpus not found")
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The corpus's iterative-push and migration schemas, paired with the other
// side of the change they were written for.
func TestCorpusPairs(t *testing.T) {
	cases := []struct {
		name, v1, v2 string
		want         []StepKind
	}{
		{"searchable initial -> updated", corpus(t, "api-migrations-searchable-initial-searchable"),
			corpus(t, "api-migrations-searchable-updated-searchable"), []StepKind{meta.AddField}},
		{"add sort to primary key", `type Blog @model { id: ID! name: String! }`,
			corpus(t, "api-iterative-push-add-sort-to-primary-key-final-schema"), []StepKind{meta.ChangePrimaryKey}},
		{"two key add", corpus(t, "api-iterative-push-two-key-add-initial-schema"),
			strings.Replace(corpus(t, "api-iterative-push-two-key-add-initial-schema"), "name: String", `name: String @index(name: "byName") @index(name: "byNameOwner", sortKeyFields: ["owner"])`, 1),
			[]StepKind{meta.AddIndex, meta.AddIndex}},
		{"multiple key delete", `type Todo3 @model { id: ID! }
type Something @model { id: ID! }
type Todo @model { id: ID! name: String! @index(name: "byName") description: String @index(name: "byDescription", sortKeyFields: ["name"]) addfield2: String }`,
			corpus(t, "api-iterative-push-multiple-key-delete-final-schema"), []StepKind{meta.DropIndex, meta.DropIndex}},
		{"key blog: content dropped, title added", corpus(t, "api-initial-key-blog"),
			strings.Replace(corpus(t, "api-initial-key-blog"), "content: String", "title: String", 1), []StepKind{meta.DropField, meta.AddField}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := plan(t, c.v1, c.v2)
			if err != nil {
				t.Fatal(err)
			}
			if got := kinds(p); !slices.Equal(got, c.want) {
				t.Errorf("steps %v, want %v", p.Steps, c.want)
			}
			if c.want[0] == meta.ChangePrimaryKey && p.Steps[0].Effect != meta.Preserving {
				t.Errorf("adding a required sort key re-keys: %v", p.Steps[0])
			}
		})
	}
}

func TestFirstLockIDsAreCodecFieldNumbers(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/schemas/valid/*.graphql")
	if len(files) == 0 {
		t.Skip("shared corpus not found")
	}
	files = append(files, "../../examples/blog/schema.graphql")
	for _, f := range files {
		s, err := schema.LoadPath(f, schema.Options{Directives: []string{"simple"}})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		l, err := NewLock(s, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, m := range s.Models {
			ml := l.Model(m.Name)
			if ml.ID != i+1 {
				t.Errorf("%s: model %s id %d, want %d", f, m.Name, ml.ID, i+1)
			}
			stored := 0
			for _, fd := range m.Fields {
				if !fd.Stored() {
					continue
				}
				stored++
				if got, want := ml.Field(fd.Name).ID, codec.FieldNumber(m.Fields, fd.Name); got != want {
					t.Errorf("%s: %s.%s id %d, codec field number %d", f, m.Name, fd.Name, got, want)
				}
			}
			if len(ml.Fields) != stored || ml.NextFieldID != len(m.Fields)+1 {
				t.Errorf("%s: %s locks %d fields (next %d), want %d (next %d)", f, m.Name, len(ml.Fields), ml.NextFieldID, stored, len(m.Fields)+1)
			}
		}
		for _, n := range s.NonModels {
			for _, tl := range l.NonModels {
				if tl.Name != n.Name {
					continue
				}
				for _, fl := range tl.Fields {
					if want := codec.FieldNumber(n.Fields, fl.Name); fl.ID != want {
						t.Errorf("%s: %s.%s id %d, codec field number %d", f, n.Name, fl.Name, fl.ID, want)
					}
				}
			}
		}
		p, err := Diff(l, s)
		if err != nil || !p.Unchanged() {
			t.Errorf("%s: a schema diffed with its own lock: %v, %v", f, p, err)
		}
	}
}

func TestLockRoundTrip(t *testing.T) {
	s, _ := load(t, corpus(t, "api-migrations-searchable-initial-searchable")+` type Point { x: Float y: Float } type Place @model { id: ID! at: Point kind: Kind } enum Kind { A B }`)
	l, err := NewLock(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), LockFile)
	if got, err := LoadLock(path); got != nil || err != nil {
		t.Fatalf("absent lock: %v, %v", got, err)
	}
	if err := l.Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l, back) {
		t.Errorf("round trip changed the lock:\n%+v\n%+v", l, back)
	}
	first, _ := os.ReadFile(path)
	again, _ := NewLock(s, nil)
	b, _ := again.Marshal()
	if !bytes.Equal(first, b) {
		t.Error("locking the same schema twice gave different bytes")
	}
	if !bytes.Contains(first, []byte("\n  \"format\": 1,\n")) {
		t.Errorf("lock is not indented JSON with a format version:\n%s", first)
	}
}

func TestLoadLockRejects(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"format":      `{"format": 9, "nextModelId": 1, "models": []}`,
		"unknown key": `{"format": 1, "nextModelId": 1, "modles": []}`,
		"shared id":   `{"format": 1, "nextModelId": 3, "models": [{"id": 1, "name": "A", "nextFieldId": 2, "fields": []}, {"id": 1, "name": "B", "nextFieldId": 2, "fields": []}]}`,
		"reused id":   `{"format": 1, "nextModelId": 2, "models": [{"id": 1, "name": "A", "nextFieldId": 2, "fields": [{"id": 2, "name": "x", "type": "String", "kind": "scalar"}]}]}`,
		"not json":    `{"format": 1,`,
	} {
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadLock(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestNonModelConversionPlanned: a change of a non-model type's field that
// needs a developer's conversion (a new type, or made required without a
// @default) is planned as a model field's is, through `dsgen migrate`: a
// needsCode step naming the type and field, with the old field to read
// stored values by, a conversion function named after them and a
// placeholder saying every value of the type goes through it, wherever
// records hold one. A new required field of a non-model type without a
// @default is still refused, as a model's is. A renamed non-model type is
// no change of the fields that hold it.
func TestNonModelConversionPlanned(t *testing.T) {
	const v1 = `type Site @model { id: ID! address: Address previous: [Address!] }
type Address { line1: String geo: Geo city: String }
type Geo { lat: Float lng: Float }`
	const v2 = `type Site @model { id: ID! address: Address previous: [Address!] }
type Address { line1: String! geo: Geo city: String }
type Geo { lat: String lng: Float }`
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "schema.graphql")
	write := func(src string) {
		t.Helper()
		if err := os.WriteFile(schemaPath, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(v1)
	if err := Run(Options{Schema: schemaPath, Init: true}); err != nil {
		t.Fatal(err)
	}
	lock, err := LoadLock(filepath.Join(dir, LockFile))
	if err != nil {
		t.Fatal(err)
	}
	write(v2)
	var stdout, stderr bytes.Buffer
	out := filepath.Join(dir, "model")
	if err := Run(Options{Schema: schemaPath, Out: out, Stdout: &stdout, Stderr: &stderr}); err != nil {
		t.Fatalf("dsgen migrate: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		"changeFieldType Address.line1 (String -> String!) [needsCode] TODO: Address.line1 is now required",
		"changeFieldType Geo.lat (Float -> String) [needsCode] TODO: convert Geo.lat from Float to String",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, want := range []string{"convert0001AddressLine1: Address.line1 is now required", "convert0001GeoLat: convert Geo.lat from Float to String", "migration_0001.go"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("todo list lacks %q:\n%s", want, stderr.String())
		}
	}

	files, _ := filepath.Glob(filepath.Join(dir, MigrationsDir, "0001_*.json"))
	if len(files) != 1 {
		t.Fatalf("migration files %v", files)
	}
	mgs, err := LoadMigrations(filepath.Join(dir, MigrationsDir), 1)
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]*meta.MigrationStep{}
	for _, st := range mgs[0].Steps {
		steps[st.Model+"."+st.Field] = st
	}
	lat := steps["Geo.lat"]
	if lat == nil || !lat.NonModel || lat.Effect != meta.NeedsCode || lat.Func != "convert0001GeoLat" || lat.Old == nil ||
		lat.Old.Type != meta.Float || lat.Old.Number != lock.nonModel("Geo").Fields[0].ID {
		t.Errorf("Geo.lat step %+v (old %+v)", lat, lat.Old)
	}
	if l1 := steps["Address.line1"]; l1 == nil || !l1.NonModel || l1.Func != "convert0001AddressLine1" || l1.Old == nil || l1.Old.Required {
		t.Errorf("Address.line1 step %+v", l1)
	}

	ph, err := os.ReadFile(filepath.Join(out, PlaceholderFile(1)))
	if err != nil {
		t.Fatal(err)
	}
	prose := strings.Join(strings.Fields(strings.ReplaceAll(string(ph), "// ", "")), " ")
	for _, want := range []string{
		"convert0001GeoLat converts Geo.lat from Float to String for migration 0001 (migrations/" + filepath.Base(files[0]) + "). " +
			"It runs on every stored Geo value, wherever a record or an unsent mutation holds one (Site.address.geo, Site.previous[].geo); a null Geo is left as it is. " +
			"v is the stored value (float64) or nil; return the new value (string) or nil.",
		"convert0001AddressLine1 fills Address.line1, now required (String -> String!),",
		"(Site.address, Site.previous[])",
		"return the new value (string), not nil: the field is required.",
	} {
		if !strings.Contains(prose, want) {
			t.Errorf("placeholder lacks %q:\n%s", want, ph)
		}
	}
	if todos, err := PendingTodos(out); err != nil || len(todos) != 2 {
		t.Errorf("placeholders left: %v, %v", todos, err)
	}

	// A new required field of a non-model type without a @default has no
	// value to convert from: refused, as a model's.
	_, err = plan(t, v1, strings.Replace(v1, "lng: Float", "lng: Float alt: Float!", 1))
	var re *RequiredFieldError
	if !errors.As(err, &re) || !slices.Equal(re.Fields, []string{"Geo.alt"}) {
		t.Errorf("new required field of a non-model type: %v", err)
	}
	// What needs no code still needs none: a default for a field made
	// required, a rename, a dropped and an added field.
	p, err := plan(t, v1, `type Site @model { id: ID! address: Address previous: [Address!] }
type Address { street: String! @default(value: "?") @renamedFrom(name: "line1") geo: Geo zip: String }
type Geo { lat: Float lng: Float }`)
	if err != nil || len(p.Todos()) != 0 {
		t.Fatalf("preserving changes of a non-model type: %v, todos %v", err, p)
	}
	// A renamed type: the fields holding it (of a model and of another
	// non-model type) keep their type, so the rename is the only step.
	p, err = plan(t, `type Site @model { id: ID! address: Address at: Geo }
type Address { line1: String geo: Geo }
type Geo { lat: Float lng: Float }`, `type Site @model { id: ID! address: Address at: Point }
type Address { line1: String geo: Point }
type Point @renamedFrom(name: "Geo") { lat: Float lng: Float }`)
	if err != nil || len(p.Steps) != 1 || p.Steps[0].Kind != meta.RenameModel || !p.Steps[0].NonModel {
		t.Fatalf("renamed non-model type: %v, steps %v", err, p)
	}
}
