package client_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve/sdl"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/meta"
)

// every returns a model's documents keyed by root field name.
func every(d *client.ModelDocs) map[string]string {
	out := map[string]string{}
	for field, doc := range map[string]string{
		d.SyncField: d.Sync, d.GetField: d.Get, d.CreateField: d.Create, d.UpdateField: d.Update,
		d.DeleteField: d.Delete, d.OnCreateField: d.OnCreate, d.OnUpdateField: d.OnUpdate, d.OnDeleteField: d.OnDelete,
	} {
		if field != "" {
			out[field] = doc
		}
	}
	return out
}

// The documents are byte for byte those the Amplify JS DataStore client sent
// for the blog schema (testdata/js-documents.json holds every query string
// of the recorded transcripts in ../shared/wire).
func TestDocumentsMatchJSClient(t *testing.T) {
	raw, err := os.ReadFile("testdata/js-documents.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Documents map[string]string }
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	s := testenv.BlogSchema(t)
	ours := map[string]string{}
	for _, m := range s.Models {
		for f, doc := range every(docsFor(t, s, m.Name)) {
			ours[f] = doc
		}
	}
	if len(rec.Documents) < 20 {
		t.Fatalf("only %d recorded documents", len(rec.Documents))
	}
	for field, want := range rec.Documents {
		if got := ours[field]; got != want {
			t.Errorf("%s:\n got %q\nwant %q", field, got, want)
		}
	}
}

func TestDocumentsRootFields(t *testing.T) {
	d := docsFor(t, testenv.BlogSchema(t), "PostTags")
	got := []string{d.SyncField, d.GetField, d.CreateField, d.UpdateField, d.DeleteField, d.OnCreateField, d.OnUpdateField, d.OnDeleteField}
	want := []string{"syncPostTags", "getPostTags", "createPostTags", "updatePostTags", "deletePostTags", "onCreatePostTags", "onUpdatePostTags", "onDeletePostTags"}
	if !slices.Equal(got, want) {
		t.Errorf("root fields %v, want %v", got, want)
	}
	if d.OwnerField != "" || d.OnCreateOwner != "" {
		t.Errorf("a model without owner rules has owner subscription %q / %q", d.OwnerField, d.OnCreateOwner)
	}
}

func TestDocumentsSelectionSet(t *testing.T) {
	s := testenv.LoadSchema(t, `
type Note @model @auth(rules: [{allow: owner}, {allow: public, operations: [read]}]) {
  id: ID!
  body: String
  kind: Kind
  where: Place
  tags: [String]
  author: Author @hasOne
  book: Book @belongsTo
}
type Author @model { id: ID! name: String }
type Book @model {
  id: ID! @primaryKey(sortKeyFields: ["edition"])
  edition: Int!
  notes: [Note] @hasMany
}
type Place { name: String pos: Pos }
type Pos { lat: Float lng: Float }
enum Kind { A B }
`)
	d := docsFor(t, s, "Note")
	want := "mutation operation($input: CreateNoteInput!) {\n  createNote(input: $input) {\n" +
		"    id\n    body\n    kind\n    tags\n    createdAt\n    updatedAt\n    noteAuthorId\n    bookNotesId\n    bookNotesEdition\n" +
		"    owner\n" +
		"    where {\n      name\n      pos {\n        lat\n        lng\n      }\n    }\n" +
		"    _version\n    _lastChangedAt\n    _deleted\n" +
		"    book {\n      id\n      edition\n      _deleted\n    }\n  }\n}\n"
	if d.Create != want {
		t.Errorf("create document:\n%s\nwant (implicit owner after scalars, non-models nested, hasOne left out, belongsTo with the composite key):\n%s", d.Create, want)
	}
	if d.OwnerField != "owner" {
		t.Errorf("OwnerField %q, want owner", d.OwnerField)
	}
	wantSub := "subscription operation($owner: String!) {\n  onUpdateNote(owner: $owner) {"
	if !strings.HasPrefix(d.OnUpdateOwner, wantSub) {
		t.Errorf("OnUpdateOwner:\n%s\nwant prefix %q", d.OnUpdateOwner, wantSub)
	}
	both := d.Subscription(d.OnDeleteField, true, "owner")
	if !strings.HasPrefix(both, "subscription operation($filter: ModelSubscriptionNoteFilterInput, $owner: String!) {\n  onDeleteNote(filter: $filter, owner: $owner) {") {
		t.Errorf("filter and owner subscription, in the JS client's order:\n%s", both)
	}
	book := docsFor(t, s, "Book")
	if !strings.HasPrefix(book.Get, "query operation($id: ID!, $edition: Int!) {\n  getBook(id: $id, edition: $edition) {") {
		t.Errorf("get with a composite key:\n%s", book.Get)
	}
}

func TestDocumentsOwnerArgument(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"declared owner field", `type T @model @auth(rules: [{allow: owner, ownerField: "editor"}]) { id: ID! editor: String }`, "editor"},
		{"owner list", `type T @model @auth(rules: [{allow: owner, ownerField: "editors"}]) { id: ID! editors: [String] }`, ""},
		{"reads not guarded", `type T @model @auth(rules: [{allow: owner, operations: [create, update]}]) { id: ID! }`, ""},
		{"public subscriptions", `type T @model(subscriptions: {level: public}) @auth(rules: [{allow: owner}]) { id: ID! }`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := docsFor(t, testenv.LoadSchema(t, tc.src), "T")
			if d.OwnerField != tc.want {
				t.Errorf("OwnerField %q, want %q", d.OwnerField, tc.want)
			}
			if (d.OnCreateOwner != "") != (tc.want != "") {
				t.Errorf("OnCreateOwner %q with OwnerField %q", d.OnCreateOwner, d.OwnerField)
			}
		})
	}
}

func TestDocumentsRenames(t *testing.T) {
	s := testenv.LoadSchema(t, `type Item @model(queries: {sync: "pullItems", get: null}, mutations: {delete: null}, subscriptions: {onCreate: ["created", "other"]}) { id: ID! }`)
	d := docsFor(t, s, "Item")
	if d.SyncField != "pullItems" || !strings.Contains(d.Sync, "  pullItems(") {
		t.Errorf("renamed sync: field %q, document %s", d.SyncField, d.Sync)
	}
	if d.GetField != "" || d.Get != "" || d.DeleteField != "" || d.Delete != "" || d.OnDeleteField != "" || d.OnDelete != "" {
		t.Errorf("disabled get/delete (and onDelete with it) still have documents: %+v", d)
	}
	if d.OnCreateField != "created" || d.CreateField != "createItem" {
		t.Errorf("onCreate %q, create %q", d.OnCreateField, d.CreateField)
	}
	assertValid(t, s)
}

// TestDocumentsV1SyncWithoutQueries: a transformer v1 model with
// @model(queries: null) is synced through the sync query the v1 API gives
// every model.
func TestDocumentsV1SyncWithoutQueries(t *testing.T) {
	s := testenv.LoadSchema(t, `type Member @model(queries: null) @key(name: "byClub", fields: ["clubID"]) { id: ID! clubID: ID! }`)
	d := docsFor(t, s, "Member")
	if d.SyncField != "syncMembers" || d.Get != "" {
		t.Errorf("v1 model with queries: null: sync %q, get document %q; want syncMembers and no get", d.SyncField, d.Get)
	}
	assertValid(t, s)
}

func TestDocumentsBadInput(t *testing.T) {
	s := testenv.BlogSchema(t)
	if _, err := client.Documents(nil, s.Models[0]); err == nil {
		t.Error("nil schema accepted")
	}
	other := testenv.BlogSchema(t)
	if _, err := client.Documents(s, other.Model("Post")); err == nil || !strings.Contains(err.Error(), `"Post"`) {
		t.Errorf("model of another schema: %v", err)
	}
	bad := &meta.Schema{Models: []*meta.Model{{Name: "M", PluralName: "Ms", PrimaryKey: meta.PrimaryKey{Field: "id"},
		Fields: []*meta.Field{{Name: "id", Kind: meta.KindScalar, Type: "ID"}, {Name: "loc", Kind: meta.KindNonModel, Type: "Loc"}}}},
		NonModels: []*meta.NonModel{{Name: "Loc", Fields: []*meta.Field{{Name: "inner", Kind: meta.KindNonModel, Type: "Loc"}}}}}
	_, err := client.Documents(bad, bad.Models[0])
	if err == nil || !strings.Contains(err.Error(), "M.loc.inner") || !strings.Contains(err.Error(), "contains itself") {
		t.Errorf("self-containing non-model: %v", err)
	}
	bad.NonModels = nil
	if _, err := client.Documents(bad, bad.Models[0]); err == nil || !strings.Contains(err.Error(), `"Loc" is not in the schema`) {
		t.Errorf("missing non-model: %v", err)
	}
}

// assertValid checks every document of every model of s against the API
// dsgen serve builds for s, and that each root field is of the right kind.
func assertValid(t *testing.T, s *meta.Schema) {
	t.Helper()
	api, err := sdl.Build(s, sdl.Options{})
	if err != nil {
		t.Skipf("dsgen serve cannot serve this schema: %v", err)
	}
	for _, m := range s.Models {
		d, err := client.Documents(s, m)
		if err != nil {
			t.Errorf("Documents(%s): %v", m.Name, err)
			continue
		}
		docs := every(d)
		if d.OwnerField != "" {
			docs["owner variant of "+d.OnCreateField] = d.OnCreateOwner
			docs["filtered "+d.OnUpdateField] = d.Subscription(d.OnUpdateField, true, d.OwnerField)
		}
		for name, doc := range docs {
			if _, errs := gqlparser.LoadQuery(api.Schema, doc); len(errs) > 0 {
				t.Errorf("%s %s: %v\n%s", m.Name, name, errs, doc)
			}
		}
		for _, k := range []struct {
			root, field string
			kind        sdl.OpKind
		}{
			{sdl.Query, d.SyncField, sdl.OpSync}, {sdl.Query, d.GetField, sdl.OpGet},
			{sdl.Mutation, d.CreateField, sdl.OpCreate}, {sdl.Mutation, d.UpdateField, sdl.OpUpdate}, {sdl.Mutation, d.DeleteField, sdl.OpDelete},
			{sdl.Subscription, d.OnCreateField, sdl.OpOnCreate}, {sdl.Subscription, d.OnUpdateField, sdl.OpOnUpdate}, {sdl.Subscription, d.OnDeleteField, sdl.OpOnDelete},
		} {
			if k.field == "" {
				continue
			}
			if op, ok := api.Op(k.root, k.field); !ok || op.Kind != k.kind || op.Model != m {
				t.Errorf("%s: %s.%s is not the model's %v field", m.Name, k.root, k.field, k.kind)
			}
		}
	}
}

// Every document of every model of the schema corpus validates against
// the API dsgen serve builds for it.
func TestDocumentsValidateCorpus(t *testing.T) {
	files, _ := filepath.Glob("../../../../shared/schemas/valid/*.graphql")
	if len(files) == 0 {
		t.Skip("schema corpus ../shared/schemas/valid not present")
	}
	t.Run("blog", func(t *testing.T) { assertValid(t, testenv.BlogSchema(t)) })
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := schema.LoadPath(f, schema.Options{})
			if err != nil {
				t.Skipf("schema does not load: %v", err)
			}
			assertValid(t, s)
		})
	}
}
