package serve_test

import (
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/meta"
)

// versionedSchema is a transformer v1 schema with @versioned models: one
// with the defaults and no declared version field, one with renamed
// arguments and its version field declared nullable.
func versionedSchema(t testing.TB) *meta.Schema {
	t.Helper()
	s, err := schema.Load([]schema.Source{{Name: "versioned.graphql", Input: `
type Note @model @versioned @key(name: "byTitle", fields: ["title"], queryField: "notesByTitle") {
  id: ID!
  title: String!
  tags: [String]
}
type Doc @model @versioned(versionField: "rev", versionInput: "expectedRev") {
  id: ID!
  body: String
  rev: Int
}
`}}, schema.Options{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return s
}

const (
	createNote = `mutation($input: CreateNoteInput!) { createNote(input: $input) { id title version _version } }`
	updateNote = `mutation($input: UpdateNoteInput!, $condition: ModelNoteConditionInput) { updateNote(input: $input, condition: $condition) { id title version _version } }`
	deleteNote = `mutation($input: DeleteNoteInput!) { deleteNote(input: $input) { id title version _version _deleted } }`
)

// TestServeVersionedWrites follows graphql-versioned-transformer: a create
// stores version 1, an update or delete must name the stored version in
// expectedVersion and fails its condition otherwise (leaving the record
// as it was), and every update counts the version up by one.
func TestServeVersionedWrites(t *testing.T) {
	e := newEnv(t, envOptions{schema: versionedSchema(t)})

	note := mustOK(t, e.do(t, createNote, map[string]any{"input": map[string]any{"title": "a"}})).field("createNote")
	if num(t, note["version"]) != 1 {
		t.Fatalf("created note has version %v, want 1", note["version"])
	}
	id := note["id"]

	up := func(title string, expected, version int64) gqlResult {
		return e.do(t, updateNote, map[string]any{"input": map[string]any{"id": id, "title": title, "expectedVersion": expected, "_version": version}})
	}
	got := mustOK(t, up("b", 1, 1)).field("updateNote")
	if num(t, got["version"]) != 2 || got["title"] != "b" {
		t.Fatalf("after an update expecting 1: %v, want title b, version 2", got)
	}

	// A writer that still expects version 1 is refused, even with the
	// current _version: @versioned asks for the stored version itself.
	r := up("stale", 1, 2)
	if typ := r.errType(t); typ != appsync.ConditionalCheck {
		t.Fatalf("stale expectedVersion: errorType %q, want %q: %s", typ, appsync.ConditionalCheck, r.Raw)
	}
	if msg := r.Errors[0].Message; !strings.Contains(msg, "version is 2, expectedVersion was 1") {
		t.Errorf("message %q does not say which versions differ", msg)
	}
	get := mustOK(t, e.do(t, `query($id: ID!) { getNote(id: $id) { title version _version } }`, map[string]any{"id": id})).field("getNote")
	if get["title"] != "b" || num(t, get["version"]) != 2 || num(t, get["_version"]) != 2 {
		t.Fatalf("after the refused update the note is %v, want title b, version 2, _version 2", get)
	}

	// A condition and @versioned both apply.
	r = e.do(t, updateNote, map[string]any{"input": map[string]any{"id": id, "title": "c", "expectedVersion": 2, "_version": 2},
		"condition": map[string]any{"title": map[string]any{"eq": "other"}}})
	if typ := r.errType(t); typ != appsync.ConditionalCheck {
		t.Fatalf("failed condition: errorType %q: %s", typ, r.Raw)
	}

	// A version the client puts in the update input is not taken.
	got = mustOK(t, up("c", 2, 2)).field("updateNote")
	if num(t, got["version"]) != 3 {
		t.Fatalf("third write: version %v, want 3", got["version"])
	}

	// Delete: a stale expectedVersion is refused, the current one deletes.
	r = e.do(t, deleteNote, map[string]any{"input": map[string]any{"id": id, "expectedVersion": 2, "_version": 3}})
	if typ := r.errType(t); typ != appsync.ConditionalCheck {
		t.Fatalf("stale delete: errorType %q: %s", typ, r.Raw)
	}
	del := mustOK(t, e.do(t, deleteNote, map[string]any{"input": map[string]any{"id": id, "expectedVersion": 3, "_version": 3}})).field("deleteNote")
	if del["_deleted"] != true {
		t.Fatalf("delete: %v", del)
	}
}

// TestServeVersionedAPI checks the API shape @versioned gives: the version
// field is non-null on the type and absent from the create input, the
// version input is required in update and delete, renamed arguments are
// used, and a declared version field stays in the update input.
func TestServeVersionedAPI(t *testing.T) {
	e := newEnv(t, envOptions{schema: versionedSchema(t)})

	for _, c := range []struct {
		name, doc string
		vars      map[string]any
		want      string
	}{
		{"version in create input", createNote, map[string]any{"input": map[string]any{"title": "a", "version": 5}}, "version"},
		{"update without expectedVersion", updateNote, map[string]any{"input": map[string]any{"id": "x", "title": "a"}}, "expectedVersion"},
		{"delete without expectedVersion", deleteNote, map[string]any{"input": map[string]any{"id": "x"}}, "expectedVersion"},
		{"renamed input", `mutation { updateDoc(input: {id: "x", expectedVersion: 1}) { id } }`, nil, "is missing required fields '[expectedRev]'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, c.doc, c.vars)
			if len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, c.want) {
				t.Fatalf("want an error naming %s, got HTTP %d: %s", c.want, r.Status, r.Raw)
			}
		})
	}

	// Renamed: rev counts, expectedRev guards; the declared rev field is
	// non-null on the type and may be sent in an update (it is replaced).
	doc := mustOK(t, e.do(t, `mutation { createDoc(input: {body: "x"}) { id rev } }`, nil)).field("createDoc")
	if num(t, doc["rev"]) != 1 {
		t.Fatalf("createDoc: rev %v, want 1", doc["rev"])
	}
	upd := mustOK(t, e.do(t, `mutation($input: UpdateDocInput!) { updateDoc(input: $input) { rev body } }`,
		map[string]any{"input": map[string]any{"id": doc["id"], "body": "y", "rev": 40, "expectedRev": 1, "_version": 1}})).field("updateDoc")
	if num(t, upd["rev"]) != 2 || upd["body"] != "y" {
		t.Fatalf("updateDoc: %v, want rev 2, body y", upd)
	}
	r := e.do(t, `{ __type(name: "Doc") { fields { name type { kind ofType { name } } } } }`, nil)
	if !strings.Contains(string(r.Raw), `{"name":"rev","type":{"kind":"NON_NULL","ofType":{"name":"Int"}}}`) {
		t.Errorf("Doc.rev is not Int! in the API: %s", r.Raw)
	}
}
