package serve_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/sdl"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// The conformance suite: one test per server (S) item of the "Minimal
// conformance checklist" of /work/shared/notes/appsync-sync.md, each
// against a real server over Badger on disk, on loopback.

// post31Schema is the Post example of §3.1 of the notes.
const post31Schema = `type Post @model {
  id: ID!
  title: String!
  rating: Int
  status: PostStatus
}

enum PostStatus {
  DRAFT
  PUBLISHED
}
`

// post31SDL is the complete API §3.1 of the notes gives for post31Schema:
// what the Amplify transformer generates with conflict detection on.
const post31SDL = `type Post {
  id: ID!
  title: String!
  rating: Int
  status: PostStatus
  createdAt: AWSDateTime!
  updatedAt: AWSDateTime!
  _version: Int!
  _deleted: Boolean
  _lastChangedAt: AWSTimestamp!
}

enum PostStatus {
  DRAFT
  PUBLISHED
}

input ModelStringInput {
  ne: String
  eq: String
  le: String
  lt: String
  ge: String
  gt: String
  contains: String
  notContains: String
  between: [String]
  beginsWith: String
  attributeExists: Boolean
  attributeType: ModelAttributeTypes
  size: ModelSizeInput
}

input ModelIntInput {
  ne: Int
  eq: Int
  le: Int
  lt: Int
  ge: Int
  gt: Int
  between: [Int]
  attributeExists: Boolean
  attributeType: ModelAttributeTypes
}

input ModelFloatInput {
  ne: Float
  eq: Float
  le: Float
  lt: Float
  ge: Float
  gt: Float
  between: [Float]
  attributeExists: Boolean
  attributeType: ModelAttributeTypes
}

input ModelBooleanInput {
  ne: Boolean
  eq: Boolean
  attributeExists: Boolean
  attributeType: ModelAttributeTypes
}

input ModelIDInput {
  ne: ID
  eq: ID
  le: ID
  lt: ID
  ge: ID
  gt: ID
  contains: ID
  notContains: ID
  between: [ID]
  beginsWith: ID
  attributeExists: Boolean
  attributeType: ModelAttributeTypes
  size: ModelSizeInput
}

input ModelSubscriptionStringInput {
  ne: String
  eq: String
  le: String
  lt: String
  ge: String
  gt: String
  contains: String
  notContains: String
  between: [String]
  beginsWith: String
  in: [String]
  notIn: [String]
}

input ModelSubscriptionIntInput {
  ne: Int
  eq: Int
  le: Int
  lt: Int
  ge: Int
  gt: Int
  between: [Int]
  in: [Int]
  notIn: [Int]
}

input ModelSubscriptionFloatInput {
  ne: Float
  eq: Float
  le: Float
  lt: Float
  ge: Float
  gt: Float
  between: [Float]
  in: [Float]
  notIn: [Float]
}

input ModelSubscriptionBooleanInput {
  ne: Boolean
  eq: Boolean
}

input ModelSubscriptionIDInput {
  ne: ID
  eq: ID
  le: ID
  lt: ID
  ge: ID
  gt: ID
  contains: ID
  notContains: ID
  between: [ID]
  beginsWith: ID
  in: [ID]
  notIn: [ID]
}

enum ModelAttributeTypes {
  binary
  binarySet
  bool
  list
  map
  number
  numberSet
  string
  stringSet
  _null
}

input ModelSizeInput {
  ne: Int
  eq: Int
  le: Int
  lt: Int
  ge: Int
  gt: Int
  between: [Int]
}

enum ModelSortDirection {
  ASC
  DESC
}

type ModelPostConnection {
  items: [Post]!
  nextToken: String
  startedAt: AWSTimestamp
}

input ModelPostStatusInput {
  eq: PostStatus
  ne: PostStatus
}

input ModelPostFilterInput {
  id: ModelIDInput
  title: ModelStringInput
  rating: ModelIntInput
  status: ModelPostStatusInput
  createdAt: ModelStringInput
  updatedAt: ModelStringInput
  and: [ModelPostFilterInput]
  or: [ModelPostFilterInput]
  not: ModelPostFilterInput
  _deleted: ModelBooleanInput
}

type Query {
  getPost(id: ID!): Post
  listPosts(filter: ModelPostFilterInput, limit: Int, nextToken: String): ModelPostConnection
  syncPosts(filter: ModelPostFilterInput, limit: Int, nextToken: String, lastSync: AWSTimestamp): ModelPostConnection
}

input ModelPostConditionInput {
  title: ModelStringInput
  rating: ModelIntInput
  status: ModelPostStatusInput
  and: [ModelPostConditionInput]
  or: [ModelPostConditionInput]
  not: ModelPostConditionInput
  _deleted: ModelBooleanInput
  createdAt: ModelStringInput
  updatedAt: ModelStringInput
}

input CreatePostInput {
  id: ID
  title: String!
  rating: Int
  status: PostStatus
  _version: Int
}

input UpdatePostInput {
  id: ID!
  title: String
  rating: Int
  status: PostStatus
  _version: Int
}

input DeletePostInput {
  id: ID!
  _version: Int
}

type Mutation {
  createPost(input: CreatePostInput!, condition: ModelPostConditionInput): Post
  updatePost(input: UpdatePostInput!, condition: ModelPostConditionInput): Post
  deletePost(input: DeletePostInput!, condition: ModelPostConditionInput): Post
}

input ModelSubscriptionPostFilterInput {
  id: ModelSubscriptionIDInput
  title: ModelSubscriptionStringInput
  rating: ModelSubscriptionIntInput
  status: ModelSubscriptionStringInput
  createdAt: ModelSubscriptionStringInput
  updatedAt: ModelSubscriptionStringInput
  and: [ModelSubscriptionPostFilterInput]
  or: [ModelSubscriptionPostFilterInput]
  _deleted: ModelBooleanInput
}

type Subscription {
  onCreatePost(filter: ModelSubscriptionPostFilterInput): Post @aws_subscribe(mutations: ["createPost"])
  onUpdatePost(filter: ModelSubscriptionPostFilterInput): Post @aws_subscribe(mutations: ["updatePost"])
  onDeletePost(filter: ModelSubscriptionPostFilterInput): Post @aws_subscribe(mutations: ["deletePost"])
}
`

// introspectionQuery reads every type with its fields, arguments, input
// fields and enum values, types as nested references.
const introspectionQuery = `query {
  __schema {
    types {
      name kind
      fields { name args { name type { ...T } } type { ...T } }
      inputFields { name type { ...T } }
      enumValues { name }
    }
  }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`

// typeString renders an introspected type reference as SDL ("[Post]!").
func typeString(v any) string {
	t, _ := v.(map[string]any)
	if t == nil {
		return "?"
	}
	switch t["kind"] {
	case "NON_NULL":
		return typeString(t["ofType"]) + "!"
	case "LIST":
		return "[" + typeString(t["ofType"]) + "]"
	}
	name, _ := t["name"].(string)
	return name
}

// describeIntrospected renders an introspected type as sorted lines.
func describeIntrospected(t map[string]any) []string {
	var out []string
	list := func(k string) []any { l, _ := t[k].([]any); return l }
	for _, f := range list("fields") {
		f := f.(map[string]any)
		var args []string
		for _, a := range f["args"].([]any) {
			a := a.(map[string]any)
			args = append(args, fmt.Sprintf("%s: %s", a["name"], typeString(a["type"])))
		}
		sort.Strings(args)
		out = append(out, fmt.Sprintf("field %s(%s): %s", f["name"], strings.Join(args, ", "), typeString(f["type"])))
	}
	for _, f := range list("inputFields") {
		f := f.(map[string]any)
		out = append(out, fmt.Sprintf("input %s: %s", f["name"], typeString(f["type"])))
	}
	for _, v := range list("enumValues") {
		out = append(out, fmt.Sprintf("value %s", v.(map[string]any)["name"]))
	}
	sort.Strings(out)
	return out
}

// describeDefinition renders a parsed definition the same way.
func describeDefinition(d *ast.Definition) []string {
	var out []string
	for _, f := range d.Fields {
		if strings.HasPrefix(f.Name, "__") {
			continue
		}
		if d.Kind == ast.InputObject {
			out = append(out, fmt.Sprintf("input %s: %s", f.Name, f.Type.String()))
			continue
		}
		var args []string
		for _, a := range f.Arguments {
			args = append(args, fmt.Sprintf("%s: %s", a.Name, a.Type.String()))
		}
		sort.Strings(args)
		out = append(out, fmt.Sprintf("field %s(%s): %s", f.Name, strings.Join(args, ", "), f.Type.String()))
	}
	for _, v := range d.EnumValues {
		out = append(out, "value "+v.Name)
	}
	sort.Strings(out)
	return out
}

// introspect runs introspectionQuery and indexes the types by name.
func (e *env) introspect(t *testing.T) map[string]map[string]any {
	t.Helper()
	r := mustOK(t, e.do(t, introspectionQuery, nil))
	types := map[string]map[string]any{}
	for _, ty := range r.field("__schema")["types"].([]any) {
		ty := ty.(map[string]any)
		types[ty["name"].(string)] = ty
	}
	return types
}

func TestChecklist01_SyncFieldsAndPostSchema(t *testing.T) {
	forEngines(t, testChecklist01_SyncFieldsAndPostSchema)
}

func testChecklist01_SyncFieldsAndPostSchema(t *testing.T, eng string) {
	t.Run("every model has the sync fields", func(t *testing.T) {
		e := newEnv(t, envOptions{engine: eng})
		types := e.introspect(t)
		for _, m := range e.schema.Models {
			ty := types[m.Name]
			if ty == nil {
				t.Fatalf("model %s is not a type of the API", m.Name)
			}
			lines := describeIntrospected(ty)
			for _, want := range []string{"field _version(): Int!", "field _deleted(): Boolean", "field _lastChangedAt(): AWSTimestamp!"} {
				if !slices.Contains(lines, want) {
					t.Errorf("%s lacks %q; has %v", m.Name, want, lines)
				}
			}
		}
	})
	t.Run("the Post API of section 3.1", func(t *testing.T) {
		want, gerr := validator.LoadSchema(validator.Prelude,
			&ast.Source{Name: "prelude", Input: sdl.Prelude(), BuiltIn: true},
			&ast.Source{Name: "post-3.1.graphql", Input: post31SDL})
		if gerr != nil {
			t.Fatalf("the expected SDL does not load: %v", gerr)
		}
		e := newEnv(t, envOptions{engine: eng, schema: testenv.LoadSchema(t, post31Schema)})
		got := e.introspect(t)
		var wantNames, gotNames []string
		for name := range want.Types {
			if !strings.HasPrefix(name, "__") {
				wantNames = append(wantNames, name)
			}
		}
		for name := range got {
			if !strings.HasPrefix(name, "__") {
				gotNames = append(gotNames, name)
			}
		}
		sort.Strings(wantNames)
		sort.Strings(gotNames)
		if !slices.Equal(wantNames, gotNames) {
			t.Errorf("types differ:\n got %v\nwant %v", gotNames, wantNames)
		}
		for _, name := range wantNames {
			d := want.Types[name]
			if d.Kind == ast.Scalar || got[name] == nil {
				continue
			}
			if k := got[name]["kind"]; k != string(d.Kind) {
				t.Errorf("%s is a %v, want %s", name, k, d.Kind)
			}
			g, w := describeIntrospected(got[name]), describeDefinition(d)
			if !slices.Equal(g, w) {
				t.Errorf("%s differs:\n got %q\nwant %q", name, g, w)
			}
		}
	})
}

func TestChecklist02_CreateSetsVersionAndTimestamps(t *testing.T) {
	forEngines(t, testChecklist02_CreateSetsVersionAndTimestamps)
}

func testChecklist02_CreateSetsVersionAndTimestamps(t *testing.T, eng string) {
	clk := newClock()
	e := newEnv(t, envOptions{engine: eng, clock: clk})
	// The input exactly as the client sends it (02-create-post.json).
	got := e.createPost(t, map[string]any{"id": "e4cd9db5-588c-4733-b5df-748800836f02", "title": "Hello wire", "rating": 4, "status": "DRAFT"})
	now := clk.Now()
	if v := num(t, got["_version"]); v != 1 {
		t.Errorf("_version = %d, want 1", v)
	}
	if lc := num(t, got["_lastChangedAt"]); lc != now.UnixMilli() {
		t.Errorf("_lastChangedAt = %d, want the server time %d (epoch ms)", lc, now.UnixMilli())
	}
	stamp := now.UTC().Format("2006-01-02T15:04:05.000Z")
	if got["createdAt"] != stamp || got["updatedAt"] != stamp {
		t.Errorf("createdAt %v, updatedAt %v, want both %s", got["createdAt"], got["updatedAt"], stamp)
	}
	if got["_deleted"] != nil || got["title"] != "Hello wire" || num(t, got["rating"]) != 4 || got["status"] != "DRAFT" {
		t.Errorf("create returned %v", got)
	}
	stored := e.syncAll(t, nil, 0, 0, nil).byID(t)["e4cd9db5-588c-4733-b5df-748800836f02"]
	if stored == nil || !maps.Equal(stored, got) {
		t.Errorf("stored %v, create returned %v", stored, got)
	}
}

func TestChecklist03_CreateExistingIDFails(t *testing.T) {
	forEngines(t, testChecklist03_CreateExistingIDFails)
}

func testChecklist03_CreateExistingIDFails(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng, clock: newClock()})
	first := e.createPost(t, map[string]any{"id": "p1", "title": "first"})
	e.clock.Advance(time.Second)
	r := e.do(t, wireCreatePost, map[string]any{"input": map[string]any{"id": "p1", "title": "second"}})
	if typ := r.errType(t); typ != appsync.ConditionalCheck {
		t.Errorf("errorType %q, want %q", typ, appsync.ConditionalCheck)
	}
	if v, ok := r.Data["createPost"]; !ok || v != nil {
		t.Errorf("data.createPost = %v (present %v), want null", v, ok)
	}
	all := e.syncAll(t, nil, 0, 0, nil)
	if len(all.items) != 1 || !maps.Equal(all.items[0], first) {
		t.Errorf("after the failed create the store holds %v, want only %v", all.items, first)
	}
}

func TestChecklist04_UpdateWithCurrentVersion(t *testing.T) {
	forEngines(t, testChecklist04_UpdateWithCurrentVersion)
}

func testChecklist04_UpdateWithCurrentVersion(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng, clock: newClock()})
	created := e.createPost(t, map[string]any{"id": "p1", "title": "t", "rating": 4, "status": "DRAFT"})
	e.clock.Advance(1500 * time.Millisecond)
	// The input exactly as the client sends it (03-update-post.json).
	got := mustOK(t, e.updatePost(t, map[string]any{"id": "p1", "rating": 5, "status": "PUBLISHED", "_version": 1})).field("updatePost")
	if v := num(t, got["_version"]); v != 2 {
		t.Errorf("_version = %d, want 2", v)
	}
	if a, b := num(t, got["_lastChangedAt"]), num(t, created["_lastChangedAt"]); a <= b {
		t.Errorf("_lastChangedAt %d is not newer than %d", a, b)
	}
	if num(t, got["rating"]) != 5 || got["status"] != "PUBLISHED" || got["title"] != "t" {
		t.Errorf("update returned %v", got)
	}
	if got["updatedAt"] == created["updatedAt"] || got["createdAt"] != created["createdAt"] {
		t.Errorf("updatedAt %v (was %v), createdAt %v (was %v)", got["updatedAt"], created["updatedAt"], got["createdAt"], created["createdAt"])
	}
}

// stripRelations drops the relation fields the client selects and the
// null fields, leaving the stored values and the metadata: what a conflict
// error's data or a webhook payload carries.
// stripRelations is the item as a ConflictUnhandled error carries it: every
// stored field (null ones too) and the metadata, but no related objects.
func stripRelations(item map[string]any) map[string]any {
	out := maps.Clone(item)
	delete(out, "blog")
	return out
}

func TestChecklist05_OptimisticRejectsStaleVersion(t *testing.T) {
	forEngines(t, testChecklist05_OptimisticRejectsStaleVersion)
}

func testChecklist05_OptimisticRejectsStaleVersion(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng, clock: newClock(), config: func(c *serve.Config) {
		c.Conflict = map[string]serve.Strategy{"Post": serve.Optimistic}
	}})
	e.createPost(t, map[string]any{"id": "p1", "title": "t", "rating": 1})
	e.clock.Advance(time.Second)
	current := mustOK(t, e.updatePost(t, map[string]any{"id": "p1", "rating": 2, "_version": 1})).field("updatePost")
	e.clock.Advance(time.Second)

	for _, c := range []struct {
		field string
		run   func() gqlResult
	}{
		{"updatePost", func() gqlResult { return e.updatePost(t, map[string]any{"id": "p1", "rating": 3, "_version": 1}) }},
		{"deletePost", func() gqlResult { return e.deletePost(t, "p1", 1) }},
	} {
		r := c.run()
		if v, ok := r.Data[c.field]; !ok || v != nil {
			t.Errorf("%s: data.%s = %v (present %v), want null", c.field, c.field, v, ok)
		}
		if typ := r.errType(t); typ != appsync.ConflictUnhandled {
			t.Errorf("%s: errorType %q, want ConflictUnhandled", c.field, typ)
		}
		data, _ := r.Errors[0].Data.(map[string]any)
		if want := stripRelations(current); !maps.Equal(data, want) {
			t.Errorf("%s: error data %v, want the server item %v", c.field, data, want)
		}
		stored := e.syncAll(t, nil, 0, 0, nil).byID(t)["p1"]
		if !maps.Equal(stored, current) {
			t.Errorf("%s: row changed to %v, want %v", c.field, stored, current)
		}
	}
}

// noteSchema has the shapes AUTOMERGE treats differently: scalars, a list
// and a non-model object.
const noteSchema = `type Note @model {
  id: ID!
  title: String!
  rating: Int
  body: String
  tags: [String]
  meta: Meta
}

type Meta {
  a: String
  b: Int
}
`

const noteFields = `id title rating body tags meta { a b } _version _lastChangedAt _deleted`

func TestChecklist06_AutomergeMergesStaleUpdate(t *testing.T) {
	forEngines(t, testChecklist06_AutomergeMergesStaleUpdate)
}

func testChecklist06_AutomergeMergesStaleUpdate(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng, clock: newClock(), schema: testenv.LoadSchema(t, noteSchema)})
	create := `mutation($input: CreateNoteInput!) { createNote(input: $input) { ` + noteFields + ` } }`
	update := `mutation($input: UpdateNoteInput!, $condition: ModelNoteConditionInput) { updateNote(input: $input, condition: $condition) { ` + noteFields + ` } }`
	mustOK(t, e.do(t, create, map[string]any{"input": map[string]any{"id": "n1", "title": "server", "tags": []any{"a"}, "meta": map[string]any{"a": "x"}}}))
	e.clock.Advance(time.Second)
	mustOK(t, e.do(t, update, map[string]any{"input": map[string]any{"id": "n1", "title": "server2", "rating": 5, "_version": 1}}))
	e.clock.Advance(time.Second)

	// Based on version 1: every field conflicts or fills a gap.
	r := mustOK(t, e.do(t, update, map[string]any{"input": map[string]any{
		"id": "n1", "title": "client", "rating": 9, "body": "filled", "tags": []any{"b", "a"},
		"meta": map[string]any{"a": "y", "b": 2}, "_version": 1,
	}}))
	got := r.field("updateNote")
	want := map[string]any{
		"id": "n1", "title": "server2", "rating": json.Number("5"), "body": "filled",
		"tags": []any{"a", "b", "a"}, "meta": map[string]any{"a": "x", "b": json.Number("2")},
		"_version": json.Number("3"), "_deleted": nil,
	}
	delete(got, "_lastChangedAt")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("merged item\n got %v\nwant %v", got, want)
	}
	list := mustOK(t, e.do(t, `query { syncNotes { items { `+noteFields+` } } }`, nil)).field("syncNotes")["items"].([]any)
	stored := list[0].(map[string]any)
	delete(stored, "_lastChangedAt")
	if fmt.Sprint(stored) != fmt.Sprint(want) {
		t.Errorf("stored item\n got %v\nwant %v", stored, want)
	}
}

// conflictHook is a conflict webhook that records what it is sent and
// answers with body.
type conflictHook struct {
	mu       sync.Mutex
	body     string
	payloads []map[string]any
}

func (h *conflictHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p map[string]any
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.payloads = append(h.payloads, p)
	body := h.body
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, body)
}

func (h *conflictHook) answer(body string) {
	h.mu.Lock()
	h.body = body
	h.payloads = nil
	h.mu.Unlock()
}

func (h *conflictHook) calls() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.payloads)
}

func TestChecklist07_LambdaConflictHandler(t *testing.T) {
	forEngines(t, testChecklist07_LambdaConflictHandler)
}

func testChecklist07_LambdaConflictHandler(t *testing.T, eng string) {
	hook := &conflictHook{}
	hs := httptest.NewServer(hook)
	t.Cleanup(hs.Close)
	e := newEnv(t, envOptions{engine: eng, clock: newClock(), config: func(c *serve.Config) {
		c.Conflict = map[string]serve.Strategy{"Post": serve.Custom}
		c.ConflictWebhook = hs.URL
	}})

	// setup makes post id current at version 2 and returns it.
	setup := func(t *testing.T, id string) map[string]any {
		e.createPost(t, map[string]any{"id": id, "title": "t", "rating": 1})
		e.clock.Advance(time.Second)
		cur := mustOK(t, e.updatePost(t, map[string]any{"id": id, "rating": 2, "_version": 1})).field("updatePost")
		e.clock.Advance(time.Second)
		if n := len(hook.calls()); n != 0 {
			t.Fatalf("the webhook was called %d times without a conflict", n)
		}
		return cur
	}
	stale := func(id string) gqlResult {
		return e.updatePost(t, map[string]any{"id": id, "title": "client", "_version": 1})
	}

	t.Run("payload and RESOLVE", func(t *testing.T) {
		hook.answer(`{"action":"RESOLVE","item":{"title":"resolved","rating":7}}`)
		cur := setup(t, "resolve")
		got := mustOK(t, stale("resolve")).field("updatePost")
		if got["title"] != "resolved" || num(t, got["rating"]) != 7 || num(t, got["_version"]) != 3 {
			t.Errorf("RESOLVE wrote %v, want the webhook's item at version 3", got)
		}
		calls := hook.calls()
		if len(calls) != 1 {
			t.Fatalf("webhook called %d times, want 1", len(calls))
		}
		p := calls[0]
		for _, k := range []string{"newItem", "existingItem", "arguments", "resolver", "identity"} {
			if _, ok := p[k]; !ok {
				t.Errorf("payload lacks %q: %v", k, p)
			}
		}
		existing, _ := p["existingItem"].(map[string]any)
		if !maps.Equal(existing, stripRelations(cur)) {
			t.Errorf("existingItem %v, want %v", existing, stripRelations(cur))
		}
		if n, _ := p["newItem"].(map[string]any); n["title"] != "client" || n["id"] != "resolve" {
			t.Errorf("newItem %v does not preview the incoming write", n)
		}
		if a, _ := p["arguments"].(map[string]any); a == nil || a["input"] == nil {
			t.Errorf("arguments %v lack the input", p["arguments"])
		}
		if rv, _ := p["resolver"].(map[string]any); rv["field"] != "updatePost" || rv["parentType"] != "Mutation" {
			t.Errorf("resolver %v", p["resolver"])
		}
		if p["identity"] != nil {
			t.Errorf("identity %v, want null for an API key caller", p["identity"])
		}
		if s := e.syncAll(t, nil, 0, 0, nil).byID(t)["resolve"]; !maps.Equal(s, got) {
			t.Errorf("stored %v, returned %v", s, got)
		}
	})
	t.Run("REJECT", func(t *testing.T) {
		hook.answer(`{"action":"REJECT"}`)
		cur := setup(t, "reject")
		r := stale("reject")
		if typ := r.errType(t); typ != appsync.ConflictUnhandled {
			t.Errorf("errorType %q, want ConflictUnhandled", typ)
		}
		if d, _ := r.Errors[0].Data.(map[string]any); !maps.Equal(d, stripRelations(cur)) {
			t.Errorf("error data %v, want %v", d, stripRelations(cur))
		}
		if s := e.syncAll(t, nil, 0, 0, nil).byID(t)["reject"]; !maps.Equal(s, cur) {
			t.Errorf("REJECT changed the row to %v", s)
		}
	})
	t.Run("REMOVE", func(t *testing.T) {
		hook.answer(`{"action":"REMOVE"}`)
		setup(t, "remove")
		r := stale("remove")
		if len(r.Errors) > 0 {
			t.Fatalf("REMOVE: %s", r.Raw)
		}
		s := e.syncAll(t, nil, 0, 0, nil).byID(t)["remove"]
		if s["_deleted"] != true || num(t, s["_version"]) != 3 {
			t.Errorf("REMOVE left %v, want a tombstone at version 3", s)
		}
	})
	for i, garbage := range []string{`not json`, `{"action":"EXPLODE"}`, `{"action":"RESOLVE"}`, `[1,2]`} {
		t.Run("malformed "+garbage, func(t *testing.T) {
			hook.answer(garbage)
			id := fmt.Sprint("garbage", i)
			cur := setup(t, id)
			r := stale(id)
			if typ := r.errType(t); typ != appsync.ConflictError {
				t.Errorf("errorType %q, want ConflictError", typ)
			}
			if s := e.syncAll(t, nil, 0, 0, nil).byID(t)[id]; !maps.Equal(s, cur) {
				t.Errorf("a malformed answer changed the row to %v", s)
			}
		})
	}
}

func TestChecklist08_MetadataInInputIsBadRequest(t *testing.T) {
	forEngines(t, testChecklist08_MetadataInInputIsBadRequest)
}

func testChecklist08_MetadataInInputIsBadRequest(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng, clock: newClock()})
	cur := e.createPost(t, map[string]any{"id": "p1", "title": "t"})
	e.clock.Advance(time.Second)
	cases := map[string]map[string]any{
		"_deleted":          {"id": "p1", "_version": 1, "_deleted": true},
		"_lastChangedAt":    {"id": "p1", "_version": 1, "_lastChangedAt": 1},
		"_ttl":              {"id": "p1", "_version": 1, "_ttl": 1},
		"forward _version":  {"id": "p1", "_version": 5, "title": "bumped"},
		"negative _version": {"id": "p1", "_version": -1, "title": "bumped"},
	}
	for name, input := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.updatePost(t, input)
			typ := r.errType(t)
			// UpdatePostInput declares none of the other metadata fields
			// (as the transformer generates it), so the document fails
			// validation before a resolver runs, as it would on AppSync
			// (HTTP 200, data null).
			undeclared := strings.HasPrefix(name, "_") && typ == appsync.ValidationError && r.Status == http.StatusOK && r.Data == nil
			if typ != appsync.BadRequest && !undeclared {
				t.Errorf("errorType %q, want BadRequest: %s", typ, r.Raw)
			}
			if s := e.syncAll(t, nil, 0, 0, nil).byID(t)["p1"]; !maps.Equal(s, cur) {
				t.Errorf("row changed to %v", s)
			}
		})
	}
}

// getPost and listPosts are not sent by DataStore; written in its style.
const (
	getPostDoc   = "query operation($id: ID!) { getPost(id: $id) { id title _version _lastChangedAt _deleted } }"
	listPostsDoc = "query operation($filter: ModelPostFilterInput, $limit: Int, $nextToken: String) { listPosts(filter: $filter, limit: $limit, nextToken: $nextToken) { items { id title rating status _version _deleted } nextToken } }"
)

// listAll pages listPosts to the end.
func (e *env) listAll(t testing.TB, headers map[string]string, limit int, filter any) []map[string]any {
	t.Helper()
	var out []map[string]any
	var token any
	for {
		vars := map[string]any{"filter": filter, "limit": limit, "nextToken": token}
		conn := mustOK(t, e.doAs(t, headers, listPostsDoc, vars)).field("listPosts")
		for _, it := range conn["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		next, _ := conn["nextToken"].(string)
		if next == "" {
			return out
		}
		token = next
	}
}

func TestChecklist09_DeleteTombstonesUntilBaseTTL(t *testing.T) {
	forEngines(t, testChecklist09_DeleteTombstonesUntilBaseTTL)
}

func testChecklist09_DeleteTombstonesUntilBaseTTL(t *testing.T, eng string) {
	clk := newClock()
	e := newEnv(t, envOptions{engine: eng, clock: clk})
	e.createPost(t, map[string]any{"id": "p1", "title": "t"})
	clk.Advance(time.Second)
	// The input exactly as the client sends it (04-delete-post.json).
	got := mustOK(t, e.deletePost(t, "p1", 1)).field("deletePost")
	if got["_deleted"] != true || num(t, got["_version"]) != 2 || got["title"] != "t" {
		t.Fatalf("delete returned %v, want the item with _deleted true and _version 2", got)
	}
	visible := func() (get, list, sync bool) {
		g := mustOK(t, e.do(t, getPostDoc, map[string]any{"id": "p1"})).field("getPost")
		get = g != nil && g["_deleted"] == true
		for _, it := range e.listAll(t, nil, 100, nil) {
			list = list || (it["id"] == "p1" && it["_deleted"] == true)
		}
		s := e.syncAll(t, nil, 0, 0, nil).byID(t)["p1"]
		sync = s != nil && s["_deleted"] == true
		return get, list, sync
	}
	expire := func() {
		if _, err := e.store.Expire(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(store.DefaultBaseTTL - time.Hour)
	expire()
	if g, l, s := visible(); !g || !l || !s {
		t.Errorf("an hour before BaseTTL the tombstone is visible to get %v, list %v, sync %v; want all", g, l, s)
	}
	clk.Advance(2 * time.Hour)
	expire()
	if g, l, s := visible(); g || l || s {
		t.Errorf("after BaseTTL the tombstone is still visible to get %v, list %v, sync %v", g, l, s)
	}
}

func TestChecklist10_OneDeltaRecordPerWrite(t *testing.T) {
	forEngines(t, testChecklist10_OneDeltaRecordPerWrite)
}

func testChecklist10_OneDeltaRecordPerWrite(t *testing.T, eng string) {
	clk := newClock()
	e := newEnv(t, envOptions{engine: eng, clock: clk})
	var stamps []int64
	var images []map[string]any
	step := func(item map[string]any) {
		images = append(images, stripRelations(item))
		stamps = append(stamps, num(t, item["_lastChangedAt"]))
		clk.Advance(time.Second)
	}
	step(e.createPost(t, map[string]any{"id": "p1", "title": "t", "rating": 1}))
	step(mustOK(t, e.updatePost(t, map[string]any{"id": "p1", "rating": 2, "_version": 1})).field("updatePost"))
	step(mustOK(t, e.deletePost(t, "p1", 2)).field("deletePost"))
	ctx := t.Context()
	for i, at := range stamps {
		// Exactly one log entry per write, holding the whole image.
		page, err := e.store.Changes(ctx, "Post", at, at+1, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Records) != 1 {
			t.Fatalf("write %d: %d log records, want 1", i, len(page.Records))
		}
		rec := page.Records[0]
		got := maps.Clone(rec.Item)
		got["_version"] = json.Number(fmt.Sprint(rec.Version))
		got["_lastChangedAt"] = json.Number(fmt.Sprint(rec.LastChangedAt))
		got["_deleted"] = nil
		if rec.Deleted {
			got["_deleted"] = true
		}
		for k, want := range images[i] {
			if fmt.Sprint(got[k]) != fmt.Sprint(want) {
				t.Errorf("write %d: log %s = %v, want %v", i, k, got[k], want)
			}
		}
	}
	// count counts the log records left, write by write (Changes returns
	// only the latest change of a key within one window).
	count := func() int {
		n := 0
		for _, at := range stamps {
			p, err := e.store.Changes(ctx, "Post", at, at+1, nil, 10)
			if err != nil {
				t.Fatal(err)
			}
			n += len(p.Records)
		}
		return n
	}
	clk.Advance(store.DefaultDeltaTTL - 10*time.Second)
	if _, err := e.store.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Errorf("before DeltaTTL %d log records remain, want 3", n)
	}
	clk.Advance(20 * time.Second)
	if _, err := e.store.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Errorf("after DeltaTTL %d log records remain, want 0", n)
	}
	if s := e.syncAll(t, nil, 0, 0, nil).byID(t)["p1"]; s == nil || s["_deleted"] != true {
		t.Errorf("the base tombstone must outlive the log (BaseTTL 30 days): got %v", s)
	}
}
