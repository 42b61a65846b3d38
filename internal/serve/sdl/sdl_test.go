package sdl

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"
)

// load parses a schema file into metadata.
func load(t testing.TB, path string) *meta.Schema {
	t.Helper()
	s, err := schema.LoadPath(path, schema.Options{})
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return s
}

// loadSource writes src to a temp file and loads it.
func loadSource(t testing.TB, src string) *meta.Schema {
	t.Helper()
	p := filepath.Join(t.TempDir(), "schema.graphql")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return load(t, p)
}

func build(t testing.TB, s *meta.Schema) *API {
	t.Helper()
	api, err := Build(s, Options{})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return api
}

// canonical describes every user-visible type of sch, one string per type
// name: kind, fields or input values sorted by name with their types,
// arguments and directives, or enum values.
func canonical(sch *ast.Schema) map[string]string {
	out := map[string]string{}
	for name, d := range sch.Types {
		if d.BuiltIn {
			continue
		}
		var lines []string
		for _, f := range d.Fields {
			var args []string
			for _, a := range f.Arguments {
				args = append(args, a.Name+": "+a.Type.String())
			}
			sort.Strings(args)
			var dirs []string
			for _, dir := range f.Directives {
				var das []string
				for _, a := range dir.Arguments {
					das = append(das, a.Name+": "+a.Value.String())
				}
				dirs = append(dirs, "@"+dir.Name+"("+strings.Join(das, ", ")+")")
			}
			lines = append(lines, f.Name+"("+strings.Join(args, ", ")+"): "+f.Type.String()+" "+strings.Join(dirs, " "))
		}
		for _, v := range d.EnumValues {
			lines = append(lines, v.Name)
		}
		sort.Strings(lines)
		out[name] = string(d.Kind) + " " + name + " {\n  " + strings.Join(lines, "\n  ") + "\n}"
	}
	return out
}

// TestPostExampleMatchesTransformer builds the Post model of the notes
// (§3.1) and compares it, type by type, field by field and argument by
// argument, with the SDL the Amplify transformer prints for it.
func TestPostExampleMatchesTransformer(t *testing.T) {
	want, err := os.ReadFile("testdata/post-3.1.graphql")
	if err != nil {
		t.Fatal(err)
	}
	wantSchema, gerr := validator.LoadSchema(validator.Prelude, preludeSource(), &ast.Source{Name: "post-3.1.graphql", Input: string(want)})
	if gerr != nil {
		t.Fatalf("reference SDL: %v", gerr)
	}
	api := build(t, load(t, "testdata/post.graphql"))
	got, exp := canonical(api.Schema), canonical(wantSchema)
	for name, w := range exp {
		g, ok := got[name]
		if !ok {
			t.Errorf("missing type %s", name)
			continue
		}
		if g != w {
			t.Errorf("type %s differs\n got: %s\nwant: %s", name, g, w)
		}
	}
	for name := range got {
		if _, ok := exp[name]; !ok {
			t.Errorf("extra type %s", name)
		}
	}
}

// wireDoc is one GraphQL document the real client sent.
type wireDoc struct {
	where     string
	query     string
	variables map[string]any
}

// wireDocs extracts every query, mutation and subscription document from
// the recorded transcripts: HTTP bodies and the JSON string in the data of
// real-time start messages.
func wireDocs(t *testing.T) []wireDoc {
	t.Helper()
	files, err := filepath.Glob("testdata/wire/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	var docs []wireDoc
	for _, fn := range files {
		raw, err := os.ReadFile(fn)
		if err != nil {
			t.Fatal(err)
		}
		var tr struct {
			Events []struct {
				Seq  int    `json:"seq"`
				Kind string `json:"kind"`
				Body *struct {
					Query     string         `json:"query"`
					Variables map[string]any `json:"variables"`
				} `json:"body"`
				Message *struct {
					Type    string `json:"type"`
					Payload *struct {
						Data json.RawMessage `json:"data"`
					} `json:"payload"`
				} `json:"message"`
			} `json:"events"`
		}
		if err := json.Unmarshal(raw, &tr); err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		for _, ev := range tr.Events {
			where := filepath.Base(fn) + "#" + strconv.Itoa(ev.Seq)
			switch {
			case ev.Kind == "http" && ev.Body != nil && ev.Body.Query != "":
				docs = append(docs, wireDoc{where, ev.Body.Query, ev.Body.Variables})
			case ev.Kind == "ws_in" && ev.Message != nil && ev.Message.Type == "start" && ev.Message.Payload != nil:
				var data string // a JSON document inside a JSON string
				var req struct {
					Query     string         `json:"query"`
					Variables map[string]any `json:"variables"`
				}
				if err := json.Unmarshal(ev.Message.Payload.Data, &data); err != nil {
					t.Fatalf("%s: start data is not a string: %v", where, err)
				}
				if err := json.Unmarshal([]byte(data), &req); err != nil {
					t.Fatalf("%s: start data: %v", where, err)
				}
				docs = append(docs, wireDoc{where, req.Query, req.Variables})
			}
		}
	}
	return docs
}

// TestWireDocumentsValidate checks that every document the unmodified
// Amplify DataStore client sent for the blog schema validates against the
// blog API, variables included.
func TestWireDocumentsValidate(t *testing.T) {
	api := build(t, load(t, "../../../examples/blog/schema.graphql"))
	docs := wireDocs(t)
	kinds := map[ast.Operation]int{}
	for _, d := range docs {
		q, errs := gqlparser.LoadQuery(api.Schema, d.query)
		if len(errs) > 0 {
			t.Errorf("%s: %v\n%s", d.where, errs, d.query)
			continue
		}
		for _, op := range q.Operations {
			kinds[op.Operation]++
			vars := d.variables
			if vars == nil {
				vars = map[string]any{}
			}
			if _, err := validator.VariableValues(api.Schema, op, vars); err != nil {
				t.Errorf("%s: variables %v: %v", d.where, vars, err)
			}
			for _, sel := range op.SelectionSet {
				f := sel.(*ast.Field)
				root := map[ast.Operation]string{ast.Query: Query, ast.Mutation: Mutation, ast.Subscription: Subscription}[op.Operation]
				if _, ok := api.Op(root, f.Name); !ok {
					t.Errorf("%s: API.Op(%s, %s) not found", d.where, root, f.Name)
				}
			}
		}
	}
	// The transcripts hold sync queries, mutations and subscriptions.
	for _, k := range []ast.Operation{ast.Query, ast.Mutation, ast.Subscription} {
		if kinds[k] == 0 {
			t.Errorf("no %s documents found in the transcripts", k)
		}
	}
}

// sharedDir locates ../shared beside the checkout.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../../../shared")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared corpus not found at %s", dir)
	}
	return dir
}

// TestCorpusBuilds builds the API of every corpus schema the schema
// package accepts; Build itself loads the result with gqlparser.
func TestCorpusBuilds(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sharedDir(t), "schemas", "valid", "*.graphql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	built := 0
	for _, fn := range files {
		s, err := schema.LoadPath(fn, schema.Options{})
		if err != nil {
			continue
		}
		t.Run(strings.TrimSuffix(filepath.Base(fn), ".graphql"), func(t *testing.T) {
			api := build(t, s)
			for _, m := range s.Models {
				for _, name := range []string{m.Name, "Model" + m.Name + "Connection", "Model" + m.Name + "FilterInput"} {
					if api.Schema.Types[name] == nil {
						t.Errorf("type %s missing", name)
					}
				}
				if f := api.Schema.Types[m.Name].Fields.ForName("_version"); f == nil || f.Type.String() != "Int!" {
					t.Errorf("%s._version missing or not Int!", m.Name)
				}
			}
		})
		built++
	}
	if built == 0 {
		t.Fatal("no corpus schema loaded")
	}
}

func TestDeterministic(t *testing.T) {
	s := load(t, "../../../examples/blog/schema.graphql")
	a, b := build(t, s), build(t, s)
	if a.SDL != b.SDL {
		t.Fatal("two builds of the same schema print different SDL")
	}
	var an, bn []string
	for i := range a.Ops {
		an = append(an, a.Ops[i].Root+"."+a.Ops[i].Field)
		bn = append(bn, b.Ops[i].Root+"."+b.Ops[i].Field)
	}
	if !slices.Equal(an, bn) {
		t.Fatalf("op order differs: %v vs %v", an, bn)
	}
	// Ops follow the printed root fields.
	var printed []string
	for _, root := range []string{Query, Mutation, Subscription} {
		for _, f := range a.Schema.Types[root].Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue // introspection fields gqlparser adds
			}
			printed = append(printed, root+"."+f.Name)
		}
	}
	if !slices.Equal(an, printed) {
		t.Fatalf("Ops are not in SDL order:\n ops %v\n sdl %v", an, printed)
	}
}

// fieldSig prints a root or object field as "name(a: T, ...): R".
func fieldSig(sch *ast.Schema, typ, name string) string {
	d := sch.Types[typ]
	if d == nil {
		return "<no type " + typ + ">"
	}
	f := d.Fields.ForName(name)
	if f == nil {
		return "<no field " + typ + "." + name + ">"
	}
	var args []string
	for _, a := range f.Arguments {
		args = append(args, a.Name+": "+a.Type.String())
	}
	return name + "(" + strings.Join(args, ", ") + "): " + f.Type.String()
}

// inputSig prints an input type as "a: T, b: U".
func inputSig(sch *ast.Schema, name string) string {
	d := sch.Types[name]
	if d == nil {
		return "<no input " + name + ">"
	}
	var fs []string
	for _, f := range d.Fields {
		fs = append(fs, f.Name+": "+f.Type.String())
	}
	return strings.Join(fs, ", ")
}

func TestOwnerAuth(t *testing.T) {
	api := build(t, loadSource(t, `type Todo @model @auth(rules: [{ allow: owner, provider: userPools }, { allow: owner, ownerField: "editors", operations: [update, read] }]) {
  id: ID!
  content: String
  editors: [String]
}`))
	sch := api.Schema
	if got := fieldSig(sch, "Todo", "owner"); got != "owner(): String" {
		t.Errorf("Todo.owner = %s", got)
	}
	for _, sub := range []string{"onCreateTodo", "onUpdateTodo", "onDeleteTodo"} {
		want := sub + "(filter: ModelSubscriptionTodoFilterInput, owner: String, editors: String): Todo"
		if got := fieldSig(sch, Subscription, sub); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		op, ok := api.Op(Subscription, sub)
		if !ok || !slices.Equal(op.OwnerArgs, []string{"owner", "editors"}) {
			t.Errorf("Op(%s).OwnerArgs = %v", sub, op.OwnerArgs)
		}
	}
	for _, in := range []string{"ModelTodoFilterInput", "ModelTodoConditionInput", "ModelSubscriptionTodoFilterInput", "CreateTodoInput", "UpdateTodoInput"} {
		if d := sch.Types[in]; d == nil || d.Fields.ForName("owner") == nil {
			t.Errorf("%s has no owner field", in)
		}
	}

	// A declared owner field is not added twice.
	api = build(t, loadSource(t, `type Note @model @auth(rules: [{ allow: owner }]) {
  id: ID!
  owner: String
}`))
	n := 0
	for _, f := range api.Schema.Types["Note"].Fields {
		if f.Name == "owner" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("Note has %d owner fields, want 1", n)
	}

	// Level public: no auth arguments.
	api = build(t, loadSource(t, `type Pub @model(subscriptions: { level: public }) @auth(rules: [{ allow: owner }]) {
  id: ID!
}`))
	if got := fieldSig(api.Schema, Subscription, "onCreatePub"); got != "onCreatePub(filter: ModelSubscriptionPubFilterInput): Pub" {
		t.Errorf("public level: %s", got)
	}
}

func TestCompositeKeysAndIndexQueries(t *testing.T) {
	api := build(t, loadSource(t, `type Test @model {
  email: String! @primaryKey(sortKeyFields: ["kind", "other"])
  kind: Int!
  other: AWSDateTime!
  status: Status! @index(name: "byStatus", sortKeyFields: ["kind"], queryField: "testsByStatus")
  category: String @index(name: "byCategory", sortKeyFields: ["status", "other"], queryField: "testsByCategory")
  note: String @index(name: "byNote", queryField: "testsByNote")
}

type Solo @model {
  code: String! @primaryKey(sortKeyFields: ["at"])
  at: AWSTimestamp!
}

enum Status { OPEN CLOSED }`))
	sch := api.Schema
	for _, c := range []struct{ typ, field, want string }{
		{Query, "getTest", "getTest(email: String!, kind: Int!, other: AWSDateTime!): Test"},
		{Query, "listTests", "listTests(email: String, kindOther: ModelTestPrimaryCompositeKeyConditionInput, filter: ModelTestFilterInput, limit: Int, nextToken: String, sortDirection: ModelSortDirection): ModelTestConnection"},
		{Query, "syncTests", "syncTests(filter: ModelTestFilterInput, limit: Int, nextToken: String, lastSync: AWSTimestamp): ModelTestConnection"},
		{Query, "testsByStatus", "testsByStatus(status: Status!, kind: ModelIntKeyConditionInput, sortDirection: ModelSortDirection, filter: ModelTestFilterInput, limit: Int, nextToken: String): ModelTestConnection"},
		{Query, "testsByCategory", "testsByCategory(category: String!, statusOther: ModelTestByCategoryCompositeKeyConditionInput, sortDirection: ModelSortDirection, filter: ModelTestFilterInput, limit: Int, nextToken: String): ModelTestConnection"},
		{Query, "testsByNote", "testsByNote(note: String!, sortDirection: ModelSortDirection, filter: ModelTestFilterInput, limit: Int, nextToken: String): ModelTestConnection"},
		{Query, "listSolos", "listSolos(code: String, at: ModelIntKeyConditionInput, filter: ModelSoloFilterInput, limit: Int, nextToken: String, sortDirection: ModelSortDirection): ModelSoloConnection"},
	} {
		if got := fieldSig(sch, c.typ, c.field); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
	for _, c := range []struct{ name, want string }{
		{"ModelTestPrimaryCompositeKeyInput", "kind: Int, other: String"},
		{"ModelTestPrimaryCompositeKeyConditionInput", "eq: ModelTestPrimaryCompositeKeyInput, le: ModelTestPrimaryCompositeKeyInput, lt: ModelTestPrimaryCompositeKeyInput, ge: ModelTestPrimaryCompositeKeyInput, gt: ModelTestPrimaryCompositeKeyInput, between: [ModelTestPrimaryCompositeKeyInput], beginsWith: ModelTestPrimaryCompositeKeyInput"},
		{"ModelTestByCategoryCompositeKeyInput", "status: Status, other: String"},
		{"ModelIntKeyConditionInput", "eq: Int, le: Int, lt: Int, ge: Int, gt: Int, between: [Int]"},
		{"DeleteTestInput", "email: String!, kind: Int!, other: AWSDateTime!, _version: Int"},
		{"UpdateTestInput", "email: String!, kind: Int!, other: AWSDateTime!, status: Status, category: String, note: String, _version: Int"},
		{"ModelTestConditionInput", "status: ModelStatusInput, category: ModelStringInput, note: ModelStringInput, createdAt: ModelStringInput, updatedAt: ModelStringInput, and: [ModelTestConditionInput], or: [ModelTestConditionInput], not: ModelTestConditionInput, _deleted: ModelBooleanInput"},
	} {
		if got := inputSig(sch, c.name); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.name, got, c.want)
		}
	}
	op, ok := api.Op(Query, "testsByCategory")
	if !ok || op.Kind != OpIndexQuery || op.Index == nil || op.Index.Name != "byCategory" || op.SortKeyArg != "statusOther" {
		t.Errorf("Op(testsByCategory) = %+v", op)
	}
	if op, _ := api.Op(Query, "listTests"); op.Kind != OpList || op.SortKeyArg != "kindOther" {
		t.Errorf("Op(listTests) = %+v", op)
	}
}

func TestModelOptions(t *testing.T) {
	api := build(t, loadSource(t, `type Rename @model(queries: { get: "rename" }, mutations: { create: "makeRename", delete: null }, subscriptions: null) {
  id: ID!
  title: String!
}

type Quiet @model(subscriptions: { level: off }, timestamps: { createdAt: "createdOn" }) {
  id: ID!
}

type Multi @model(subscriptions: { onCreate: ["newMulti", "anotherMulti"] }) {
  id: ID!
}

type Hidden @model(queries: null, mutations: null) {
  id: ID!
}`))
	var names []string
	for _, op := range api.Ops {
		names = append(names, op.Root+"."+op.Field+":"+op.Kind.String())
	}
	want := []string{
		"Query.rename:get", "Query.listRenames:list", "Query.syncRenames:sync",
		"Query.getQuiet:get", "Query.listQuiets:list", "Query.syncQuiets:sync",
		"Query.getMulti:get", "Query.listMultis:list", "Query.syncMultis:sync",
		"Mutation.makeRename:create", "Mutation.updateRename:update",
		"Mutation.createQuiet:create", "Mutation.updateQuiet:update", "Mutation.deleteQuiet:delete",
		"Mutation.createMulti:create", "Mutation.updateMulti:update", "Mutation.deleteMulti:delete",
		"Subscription.newMulti:onCreate", "Subscription.anotherMulti:onCreate",
		"Subscription.onUpdateMulti:onUpdate", "Subscription.onDeleteMulti:onDelete",
	}
	sort.Strings(names)
	sort.Strings(want)
	if !slices.Equal(names, want) {
		t.Errorf("ops:\n got  %v\n want %v", names, want)
	}
	if api.Schema.Types["DeleteRenameInput"] != nil {
		t.Error("DeleteRenameInput generated for a disabled delete")
	}
	if got := fieldSig(api.Schema, Subscription, "anotherMulti"); got != "anotherMulti(filter: ModelSubscriptionMultiFilterInput): Multi" {
		t.Errorf("anotherMulti: %s", got)
	}
	if d := api.Schema.Types[Subscription].Fields.ForName("anotherMulti").Directives.ForName("aws_subscribe"); d == nil || d.Arguments.ForName("mutations").Value.String() != `["createMulti"]` {
		t.Errorf("anotherMulti @aws_subscribe = %v", d)
	}
	quiet := api.Schema.Types["Quiet"]
	if quiet.Fields.ForName("createdOn") == nil || quiet.Fields.ForName("createdAt") != nil || quiet.Fields.ForName("updatedAt") == nil {
		t.Errorf("Quiet timestamps: want createdOn and updatedAt, got %s", fieldSig(api.Schema, "Quiet", "createdOn"))
	}
	if got := inputSig(api.Schema, "CreateQuietInput"); got != "id: ID, _version: Int" {
		t.Errorf("CreateQuietInput: %s (read-only timestamps must not be inputs)", got)
	}
}

func TestNonModelsAndEnumLists(t *testing.T) {
	api := build(t, loadSource(t, `type Place @model {
  id: ID!
  address: Address!
  history: [Address]
  kinds: [Kind!]
  tags: [String]
}

type Address {
  street: String!
  geo: Geo
}

type Geo {
  lat: Float!
  lng: Float!
}

enum Kind { A B }`))
	sch := api.Schema
	for _, c := range []struct{ name, want string }{
		{"CreatePlaceInput", "id: ID, address: AddressInput!, history: [AddressInput], kinds: [Kind!], tags: [String], _version: Int"},
		{"AddressInput", "street: String!, geo: GeoInput"},
		{"GeoInput", "lat: Float!, lng: Float!"},
		{"ModelPlaceFilterInput", "id: ModelIDInput, kinds: ModelKindListInput, tags: ModelStringInput, createdAt: ModelStringInput, updatedAt: ModelStringInput, and: [ModelPlaceFilterInput], or: [ModelPlaceFilterInput], not: ModelPlaceFilterInput, _deleted: ModelBooleanInput"},
		{"ModelKindListInput", "eq: [Kind], ne: [Kind], contains: Kind, notContains: Kind"},
	} {
		if got := inputSig(sch, c.name); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.name, got, c.want)
		}
	}
	if got := fieldSig(sch, "Place", "address"); got != "address(): Address!" {
		t.Errorf("Place.address: %s", got)
	}
}

func TestBlogRelations(t *testing.T) {
	api := build(t, load(t, "../../../examples/blog/schema.graphql"))
	sch := api.Schema
	for _, c := range []struct{ typ, field, want string }{
		{"Blog", "posts", "posts(filter: ModelPostFilterInput, sortDirection: ModelSortDirection, limit: Int, nextToken: String): ModelPostConnection"},
		{"Post", "blog", "blog(): Blog"},
		{"Post", "tags", "tags(filter: ModelPostTagsFilterInput, sortDirection: ModelSortDirection, limit: Int, nextToken: String): ModelPostTagsConnection"},
		{"PostTags", "post", "post(): Post!"},
		{Mutation, "createPost", "createPost(input: CreatePostInput!, condition: ModelPostConditionInput): Post"},
		{Subscription, "onCreatePostTags", "onCreatePostTags(filter: ModelSubscriptionPostTagsFilterInput): PostTags"},
	} {
		if got := fieldSig(sch, c.typ, c.field); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
	op, ok := api.Op(Mutation, "updateComment")
	if !ok || op.Kind != OpUpdate || op.Model == nil || op.Model.Name != "Comment" {
		t.Errorf("Op(updateComment) = %+v", op)
	}
	if op, ok := api.Op(Subscription, "onDeleteBlog"); !ok || op.Mutation != "deleteBlog" {
		t.Errorf("Op(onDeleteBlog) = %+v", op)
	}
	if _, ok := api.Op(Query, "nope"); ok {
		t.Error("Op found an undefined field")
	}
	// The printed SDL loads on its own with the prelude: what
	// --print-schema shows is a complete schema.
	if _, err := gqlparser.LoadSchema(&ast.Source{Name: "prelude", Input: Prelude()}, &ast.Source{Name: "api", Input: api.SDL}); err != nil {
		t.Fatalf("printed SDL does not load: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := Build(nil, Options{}); err == nil {
		t.Error("Build(nil) succeeded")
	}
	// The schema front end rejects Boolean sort keys; metadata built by
	// hand can still carry one.
	s := &meta.Schema{Models: []*meta.Model{{
		Name: "Flag", PluralName: "Flags",
		Fields: []*meta.Field{
			{Name: "id", Kind: meta.KindScalar, Type: meta.ID, Required: true},
			{Name: "on", Kind: meta.KindScalar, Type: meta.Boolean, Required: true},
		},
		PrimaryKey: meta.PrimaryKey{Field: "id", SortKeys: []string{"on"}, Custom: true},
	}}}
	_, err := Build(s, Options{})
	var e *Error
	if !errors.As(err, &e) || e.Model != "Flag" || e.Field != "on" {
		t.Fatalf("Build with a Boolean sort key: err = %v, want *Error for Flag.on", err)
	}
}
