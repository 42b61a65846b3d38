package auth

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/meta"
)

const rulesSDL = `
type PublicTodo @model @auth(rules: [{allow: public}]) { id: ID! content: String }
type PrivateTodo @model @auth(rules: [{allow: private}]) { id: ID! content: String }
type OidcTodo @model @auth(rules: [{allow: private, provider: oidc}]) { id: ID! content: String }
type IamTodo @model @auth(rules: [{allow: private, provider: iam}, {allow: public, provider: iam}]) { id: ID! }
type Unruled @model { id: ID! }
type Note @model @auth(rules: [{allow: owner}]) { id: ID! content: String }
type Article @model @auth(rules: [{allow: owner, ownerField: "author", identityClaim: "email"}]) { id: ID! author: String }
type Shared @model @auth(rules: [{allow: owner, ownerField: "editors"}]) { id: ID! editors: [String] }
type AdminOnly @model @auth(rules: [{allow: groups, groups: ["Admin"]}]) { id: ID! }
type Team @model @auth(rules: [{allow: groups, groupsField: "teams"}]) { id: ID! teams: [String] }
type Doc @model @auth(rules: [{allow: groups, groupsField: "team"}]) { id: ID! team: String }
type Post @model @auth(rules: [
  {allow: owner, operations: [create, read, update]},
  {allow: groups, groups: ["Admin"], operations: [create, read, update, delete]},
  {allow: public, operations: [read]}
]) { id: ID! title: String }
type Vault @model @auth(rules: [{allow: public, operations: [read]}, {allow: owner}]) {
  id: ID!
  owner: String
  label: String
  secret: String @auth(rules: [{allow: owner}])
  memo: String @auth(rules: [{allow: groups, groups: ["Admin"]}, {allow: owner, operations: [read]}])
}
`

func loadModels(t *testing.T, sdl string) *meta.Schema {
	t.Helper()
	s, err := schema.Load([]schema.Source{{Name: "rules.graphql", Input: sdl}}, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// callers authenticates the test identities through a real Authenticator.
type callers struct {
	key, alice, bob, carol *Identity
}

func newCallers(t *testing.T) callers {
	t.Helper()
	a, err := New(Config{APIKeys: []APIKey{{Key: "da2-k"}}, JWT: &JWTConfig{HS256Secret: secret}, Now: (&clock{t0}).now})
	if err != nil {
		t.Fatal(err)
	}
	jwt := func(claims map[string]any) *Identity {
		claims["exp"] = float64(t0.Add(time.Hour).Unix())
		id, err := a.Authenticate(map[string]string{"authorization": "Bearer " + sign(t, claims)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	key, err := a.Authenticate(map[string]string{"x-api-key": "da2-k"})
	if err != nil {
		t.Fatal(err)
	}
	return callers{
		key:   key,
		alice: jwt(map[string]any{"sub": "a-1", "cognito:username": "alice", "email": "alice@x.test"}),
		bob:   jwt(map[string]any{"sub": "b-2", "cognito:username": "bob", "cognito:groups": []any{"Admin"}}),
		carol: jwt(map[string]any{"sub": "c-3", "username": "carol", "cognito:groups": []any{"red", "green"}}),
	}
}

func wantNotAuthorized(t *testing.T, err error, msg string) {
	t.Helper()
	e, ok := appsync.AsError(err)
	if !ok || e.ErrorType != appsync.Unauthorized {
		t.Fatalf("error = %v, want errorType Unauthorized", err)
	}
	if msg != "" && e.Message != msg {
		t.Errorf("message = %q, want %q", e.Message, msg)
	}
}

func TestAuthorizeTable(t *testing.T) {
	s := loadModels(t, rulesSDL)
	c := newCallers(t)
	const full, limited, denied = "full", "limited", "denied"
	cases := []struct {
		model string
		op    Operation
		who   string
		id    *Identity
		want  string
	}{
		{"PublicTodo", OpCreate, "key", c.key, full},
		{"PublicTodo", OpSync, "key", c.key, full},
		{"PublicTodo", OpList, "alice", c.alice, denied},
		{"PrivateTodo", OpDelete, "alice", c.alice, full},
		{"PrivateTodo", OpSync, "key", c.key, denied},
		{"OidcTodo", OpListen, "alice", c.alice, full},
		{"IamTodo", OpGet, "alice", c.alice, denied},
		{"IamTodo", OpGet, "key", c.key, denied},
		{"Unruled", OpCreate, "key", c.key, full},
		{"Unruled", OpCreate, "alice", c.alice, denied},
		{"Note", OpSync, "alice", c.alice, limited},
		{"Note", OpDelete, "alice", c.alice, limited},
		{"Note", OpSync, "key", c.key, denied},
		{"Note", OpListen, "key", c.key, denied},
		{"Article", OpList, "alice", c.alice, limited},
		{"Article", OpList, "carol", c.carol, denied}, // carol's token has no email claim
		{"AdminOnly", OpList, "bob", c.bob, full},
		{"AdminOnly", OpList, "carol", c.carol, denied},
		{"Team", OpUpdate, "carol", c.carol, limited},
		{"Team", OpUpdate, "alice", c.alice, denied}, // no groups at all
		{"Post", OpDelete, "alice", c.alice, denied},
		{"Post", OpDelete, "bob", c.bob, full},
		{"Post", OpUpdate, "alice", c.alice, limited},
		{"Post", OpGet, "alice", c.alice, limited},
		{"Post", OpGet, "key", c.key, full},
		{"Post", OpCreate, "key", c.key, denied},
		{"Vault", OpSync, "key", c.key, full},
		{"Vault", OpSync, "carol", c.carol, limited},
	}
	for _, tc := range cases {
		t.Run(tc.model+"/"+string(tc.op)+"/"+tc.who, func(t *testing.T) {
			m := s.Model(tc.model)
			a, err := Authorize(m, tc.op, tc.id)
			got := denied
			if err == nil {
				got = limited
				if a.Full() {
					got = full
				}
			} else {
				wantNotAuthorized(t, err, "")
			}
			if got != tc.want {
				t.Errorf("got %s (err %v), want %s", got, err, tc.want)
			}
		})
	}
}

func TestUnauthorizedMessages(t *testing.T) {
	s := loadModels(t, rulesSDL)
	c := newCallers(t)
	_, err := Authorize(s.Model("Post"), OpDelete, c.alice)
	wantNotAuthorized(t, err, "Not Authorized to access deletePost on type Post")
	_, err = Authorize(s.Model("Note"), OpSync, c.key)
	wantNotAuthorized(t, err, "Not Authorized to access syncNotes on type Note")
	_, err = Authorize(s.Model("Note"), OpGet, nil)
	wantNotAuthorized(t, err, "Not Authorized to access getNote on type Note")
	_, err = Authorize(s.Model("Note"), Operation("read"), c.alice)
	if e, ok := appsync.AsError(err); !ok || e.ErrorType != appsync.InternalFailure {
		t.Errorf("unknown operation: error = %v", err)
	}
}

func TestAllows(t *testing.T) {
	s := loadModels(t, rulesSDL)
	c := newCallers(t)
	cases := []struct {
		model string
		id    *Identity
		item  map[string]any
		want  bool
	}{
		{"Note", c.alice, map[string]any{"owner": "a-1::alice"}, true},
		{"Note", c.alice, map[string]any{"owner": "alice"}, true}, // bare user name (v1 data)
		{"Note", c.alice, map[string]any{"owner": "a-1"}, true},   // bare sub
		{"Note", c.alice, map[string]any{"owner": "b-2::bob"}, false},
		{"Note", c.alice, map[string]any{"owner": "a-1::alicex"}, false},
		{"Note", c.alice, map[string]any{}, false},
		{"Article", c.alice, map[string]any{"author": "alice@x.test"}, true},
		{"Article", c.alice, map[string]any{"author": "alice"}, false},
		{"Shared", c.alice, map[string]any{"editors": []any{"b-2::bob", "a-1::alice"}}, true},
		{"Shared", c.alice, map[string]any{"editors": []any{"b-2::bob"}}, false},
		{"Team", c.carol, map[string]any{"teams": []any{"blue", "green"}}, true},
		{"Team", c.carol, map[string]any{"teams": []any{"blue"}}, false},
		{"Doc", c.carol, map[string]any{"team": "red"}, true},
		{"Doc", c.carol, map[string]any{"team": "blue"}, false},
		{"Post", c.bob, map[string]any{"owner": "someone"}, true}, // full access
	}
	for _, tc := range cases {
		a, err := Authorize(s.Model(tc.model), OpGet, tc.id)
		if err != nil {
			t.Fatalf("%s: %v", tc.model, err)
		}
		if got := a.Allows(tc.item); got != tc.want {
			t.Errorf("%s Allows(%v) = %v, want %v", tc.model, tc.item, got, tc.want)
		}
	}
}

func TestConditions(t *testing.T) {
	s := loadModels(t, rulesSDL)
	c := newCallers(t)
	a, err := Authorize(s.Model("Shared"), OpSync, c.alice)
	if err != nil {
		t.Fatal(err)
	}
	want := []Condition{{Field: "editors", Values: []string{"a-1::alice", "a-1", "alice"}, Owner: true, List: true}}
	if got := a.Conditions(); !reflect.DeepEqual(got, want) {
		t.Errorf("Conditions() = %+v, want %+v", got, want)
	}
	b, _ := Authorize(s.Model("Post"), OpSync, c.bob)
	if b.Conditions() != nil {
		t.Errorf("full access has conditions %+v", b.Conditions())
	}
}

func TestPrepareCreate(t *testing.T) {
	s := loadModels(t, rulesSDL)
	c := newCallers(t)
	prep := func(model string, id *Identity, input map[string]any) (map[string]any, error) {
		t.Helper()
		a, err := Authorize(s.Model(model), OpCreate, id)
		if err != nil {
			t.Fatalf("%s create: %v", model, err)
		}
		return a.PrepareCreate(input)
	}

	in := map[string]any{"id": "n1", "content": "hi"}
	out, err := prep("Note", c.alice, in)
	if err != nil {
		t.Fatal(err)
	}
	if out["owner"] != "a-1::alice" || out["content"] != "hi" {
		t.Errorf("absent owner: stored %v", out)
	}
	if _, ok := in["owner"]; ok {
		t.Error("PrepareCreate changed its input")
	}
	// PrepareCreateOwned does the same in the caller's own map.
	a, err := Authorize(s.Model("Note"), OpCreate, c.alice)
	if err != nil {
		t.Fatal(err)
	}
	owned := map[string]any{"id": "n1", "content": "hi"}
	if out, err := a.PrepareCreateOwned(owned); err != nil || out["owner"] != "a-1::alice" || owned["owner"] != "a-1::alice" {
		t.Errorf("PrepareCreateOwned: %v, %v; input %v", out, err, owned)
	}
	if _, err := a.PrepareCreateOwned(map[string]any{"id": "n9", "owner": "b-2::bob"}); err == nil {
		t.Error("PrepareCreateOwned took a forged owner")
	}
	if out, err := prep("Note", c.alice, map[string]any{"id": "n2", "owner": nil}); err != nil || out["owner"] != "a-1::alice" {
		t.Errorf("null owner: %v, %v", out, err)
	}
	if out, err := prep("Note", c.alice, map[string]any{"id": "n3", "owner": "alice"}); err != nil || out["owner"] != "alice" {
		t.Errorf("own bare user name: %v, %v", out, err)
	}

	// The forged owner: alice creates a note in bob's name.
	_, err = prep("Note", c.alice, map[string]any{"id": "n4", "owner": "b-2::bob"})
	wantNotAuthorized(t, err, "Not Authorized to access createNote on type Note")
	_, err = prep("Note", c.alice, map[string]any{"id": "n5", "owner": 42})
	wantNotAuthorized(t, err, "")

	if out, err := prep("Shared", c.alice, map[string]any{"id": "s1"}); err != nil || !reflect.DeepEqual(out["editors"], []any{"a-1::alice"}) {
		t.Errorf("list owner field: %v, %v", out, err)
	}
	_, err = prep("Shared", c.alice, map[string]any{"id": "s2", "editors": []any{"b-2::bob"}})
	wantNotAuthorized(t, err, "")
	if out, err := prep("Article", c.alice, map[string]any{"id": "a1"}); err != nil || out["author"] != "alice@x.test" {
		t.Errorf("custom owner field and claim: %v, %v", out, err)
	}

	if _, err := prep("Team", c.carol, map[string]any{"id": "t1", "teams": []any{"red"}}); err != nil {
		t.Errorf("dynamic group member: %v", err)
	}
	_, err = prep("Team", c.carol, map[string]any{"id": "t2", "teams": []any{"blue"}})
	wantNotAuthorized(t, err, "")
	_, err = prep("Team", c.carol, map[string]any{"id": "t3"})
	wantNotAuthorized(t, err, "")

	// Full access (Admin) stores the input as given: no owner is added.
	if out, err := prep("Post", c.bob, map[string]any{"id": "p1"}); err != nil || len(out) != 1 {
		t.Errorf("admin create: %v, %v", out, err)
	}
}

func TestCheckOwnerArgs(t *testing.T) {
	s := loadModels(t, rulesSDL)
	c := newCallers(t)
	a, err := Authorize(s.Model("Note"), OpListen, c.alice)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range []map[string]any{nil, {}, {"owner": nil}, {"owner": "alice"}, {"owner": "a-1::alice"}, {"filter": "x"}} {
		if err := a.CheckOwnerArgs(args); err != nil {
			t.Errorf("CheckOwnerArgs(%v) = %v", args, err)
		}
	}
	for _, args := range []map[string]any{{"owner": "bob"}, {"owner": "b-2::bob"}, {"owner": 7}} {
		err := a.CheckOwnerArgs(args)
		wantNotAuthorized(t, err, "Not Authorized to access Note on type Note")
	}
	admin, err := Authorize(s.Model("Post"), OpListen, c.bob)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.CheckOwnerArgs(map[string]any{"owner": "anyone"}); err != nil {
		t.Errorf("full access refused an owner filter: %v", err)
	}
}

func TestRedact(t *testing.T) {
	s := loadModels(t, rulesSDL)
	c := newCallers(t)
	m := s.Model("Vault")
	aliceItem := map[string]any{"id": "v1", "owner": "a-1::alice", "label": "L", "secret": "S", "memo": "M"}
	cases := []struct {
		who          string
		id           *Identity
		item         map[string]any
		secret, memo any
	}{
		{"owner", c.alice, aliceItem, "S", "M"},
		{"admin", c.bob, aliceItem, nil, "M"},
		{"other user", c.carol, aliceItem, nil, nil},
		{"api key", c.key, aliceItem, nil, nil},
		{"nobody", nil, aliceItem, nil, nil},
	}
	for _, tc := range cases {
		for _, op := range []Operation{OpGet, OpSync, OpListen, OpUpdate} {
			got := Redact(nil, m, tc.item, op, tc.id)
			if got["secret"] != tc.secret || got["memo"] != tc.memo || got["label"] != "L" || got["id"] != "v1" {
				t.Errorf("%s %s: Redact = %v", tc.who, op, got)
			}
		}
	}
	if aliceItem["secret"] != "S" || aliceItem["memo"] != "M" {
		t.Errorf("Redact changed its input: %v", aliceItem)
	}
	if got := Redact(nil, m, map[string]any{"id": "v2"}, OpGet, c.key); len(got) != 1 {
		t.Errorf("Redact added absent fields: %v", got)
	}
	if Redact(nil, m, nil, OpGet, c.key) != nil {
		t.Error("Redact(nil) != nil")
	}

	// A corpus schema read from disk: public read, owner-only secret.
	corpus, err := schema.LoadPath("/work/shared/schemas/valid/api-ct-restricted-field-auth-gen1-ddb-only-schema.graphql", schema.Options{})
	if err != nil {
		t.Skipf("corpus schema not available: %v", err)
	}
	p := corpus.Model("Primary")
	if _, err := Authorize(p, OpSync, c.key); err != nil {
		t.Errorf("public read on Primary: %v", err)
	}
	if got := Redact(nil, p, map[string]any{"id": "p", "owner": "alice", "secret": "S"}, OpSync, c.key); got["secret"] != nil || got["id"] != "p" {
		t.Errorf("corpus Redact for API key = %v", got)
	}
	if got := Redact(nil, p, map[string]any{"id": "p", "owner": "alice", "secret": "S"}, OpSync, c.alice); got["secret"] != "S" {
		t.Errorf("corpus Redact for owner = %v", got)
	}
}

func TestCheckWrite(t *testing.T) {
	s := loadModels(t, rulesSDL)
	c := newCallers(t)
	m := s.Model("Vault")
	if err := CheckWrite(m, map[string]any{"id": "v", "owner": "a-1::alice", "secret": "S", "label": "L"}, OpCreate, c.alice); err != nil {
		t.Errorf("owner sets own secret: %v", err)
	}
	err := CheckWrite(m, map[string]any{"id": "v", "owner": "a-1::alice", "secret": "S", "memo": "M"}, OpCreate, c.alice)
	wantNotAuthorized(t, err, "Not Authorized to access memo on type Vault")
	err = CheckWrite(m, map[string]any{"id": "v", "owner": "a-1::alice", "secret": "S"}, OpCreate, c.bob)
	wantNotAuthorized(t, err, "Not Authorized to access secret on type Vault")
	if err := CheckWrite(m, map[string]any{"id": "v", "owner": "b-2::bob", "secret": "S", "memo": "M"}, OpCreate, c.bob); err != nil {
		t.Errorf("admin owner sets secret and memo: %v", err)
	}
	if err := CheckWrite(m, map[string]any{"id": "v", "label": "L", "_version": 3}, OpUpdate, c.carol); err != nil {
		t.Errorf("unprotected fields: %v", err)
	}

	stored := map[string]any{"id": "v", "owner": "a-1::alice", "secret": "S"}
	if err := CheckUpdate(m, map[string]any{"id": "v", "secret": "S2", "_version": 1}, stored, c.alice); err != nil {
		t.Errorf("owner updates own secret: %v", err)
	}
	err = CheckUpdate(m, map[string]any{"id": "v", "secret": "S2"}, stored, c.carol)
	wantNotAuthorized(t, err, "Not Authorized to access secret on type Vault")
	if err := CheckUpdate(m, map[string]any{"id": "v", "memo": "M2"}, stored, c.bob); err != nil {
		t.Errorf("admin updates memo: %v", err)
	}
	err = CheckUpdate(m, map[string]any{"id": "v", "memo": "M2"}, stored, c.alice)
	if err == nil || !strings.Contains(err.Error(), "memo") {
		t.Errorf("owner with read-only memo rule updated it: %v", err)
	}
}

func TestOwnerFilters(t *testing.T) {
	s := loadModels(t, rulesSDL+`
type Board @model @auth(rules: [{allow: owner}, {allow: public, operations: [read]}, {allow: private, operations: [read]}]) { id: ID! }
`)
	c := newCallers(t)
	listen := func(model string, id *Identity) *Access {
		t.Helper()
		a, err := Authorize(s.Model(model), OpListen, id)
		if err != nil {
			t.Fatalf("%s listen: %v", model, err)
		}
		return a
	}
	filters := func(a *Access, field string, arg any) []OwnerFilter {
		t.Helper()
		fs, err := a.OwnerFilters(map[string]any{field: arg}, []string{field})
		if err != nil {
			t.Fatalf("OwnerFilters(%s: %v): %v", field, arg, err)
		}
		return fs
	}
	type tc struct {
		stored any
		want   bool
	}
	check := func(what string, fs []OwnerFilter, field string, cases []tc) {
		t.Helper()
		if len(fs) != 1 {
			t.Fatalf("%s: %d filters, want 1", what, len(fs))
		}
		for _, k := range cases {
			if got := fs[0].Match(map[string]any{field: k.stored}); got != k.want {
				t.Errorf("%s: Match(%s: %v) = %v, want %v", what, field, k.stored, got, k.want)
			}
		}
	}
	mine := []tc{
		{"a-1::alice", true}, {"alice", true}, {"a-1", true},
		{"b-2::bob", false}, {"bob", false}, {"b-2", false},
		{"x-9::alice", false}, {"a-1::alicex", false}, {"a-1::", false}, {nil, false}, {42, false},
	}
	// Under owner-only access every form alice may name herself by selects
	// her items in every stored form, and nothing else.
	note := listen("Note", c.alice)
	for _, arg := range []string{"alice", "a-1", "a-1::alice"} {
		check("Note, alice, owner "+arg, filters(note, "owner", arg), "owner", mine)
	}
	for _, arg := range []any{"bob", "b-2", "b-2::bob", "a-1::bob", 7} {
		_, err := note.OwnerFilters(map[string]any{"owner": arg}, []string{"owner"})
		wantNotAuthorized(t, err, "Not Authorized to access Note on type Note")
	}
	if fs, err := note.OwnerFilters(map[string]any{"owner": nil, "filter": map[string]any{}}, []string{"owner"}); err != nil || len(fs) != 0 {
		t.Errorf("null owner argument: %v, %v; want no filter", fs, err)
	}

	// A custom identity claim keeps to that claim: alice's user name is not
	// one of her forms there.
	art := listen("Article", c.alice)
	check("Article, alice, author email", filters(art, "author", "alice@x.test"), "author",
		[]tc{{"alice@x.test", true}, {"alice", false}, {"a-1::alice", false}, {"a-1", false}})
	for _, arg := range []string{"alice", "a-1", "a-1::alice"} {
		_, err := art.OwnerFilters(map[string]any{"author": arg}, []string{"author"})
		wantNotAuthorized(t, err, "")
	}

	// Full access: the caller's own forms still select all of its items;
	// someone else's name is a plain filter matching that value or the
	// user name part of a composite, as AppSync's owner field reads.
	open := listen("Board", c.alice)
	check("Board, alice, owner alice", filters(open, "owner", "alice"), "owner", mine)
	check("Board, alice, owner bob", filters(open, "owner", "bob"), "owner",
		[]tc{{"b-2::bob", true}, {"bob", true}, {"b-2", false}, {"a-1::alice", false}, {"bob::x", false}})
	key := listen("Board", c.key)
	check("Board, API key, owner alice", filters(key, "owner", "alice"), "owner",
		[]tc{{"a-1::alice", true}, {"alice", true}, {"a-1", false}, {"b-2::bob", false}})
}
