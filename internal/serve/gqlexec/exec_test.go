package gqlexec

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

func TestSelectionShapesData(t *testing.T) {
	e := New(testSchema(t), Options{})
	tests := []struct {
		name, query string
		vars        map[string]any
		want        string
	}{
		{
			name:  "fields in query order, not schema order",
			query: `{ getPost(id: "p2") { views title id } }`,
			want:  `{"getPost":{"views":10,"title":"Post 2","id":"p2"}}`,
		},
		{
			name:  "aliases",
			query: `{ a: getPost(id: "p1") { t: title } b: getPost(id: "p3") { t: title id } }`,
			want:  `{"a":{"t":"Post 1"},"b":{"t":"Post 3","id":"p3"}}`,
		},
		{
			name: "named, nested and inline fragments merge into one object",
			query: `query { getPost(id: "p1") { id ...A ... on Post { views } } }
				fragment A on Post { title ...B }
				fragment B on Post { id status blog { name } }`,
			want: `{"getPost":{"id":"p1","title":"Post 1","status":"PUBLISHED","blog":{"name":"Go"},"views":0}}`,
		},
		{
			name: "fragments on an interface and a union pick the concrete type",
			query: `{ node(id: "b1") { __typename id ... on Blog { name } ... on Post { title } }
				search(text: "x") { __typename ... on Node { id } ... on Post { title } } }`,
			want: `{"node":{"__typename":"Blog","id":"b1","name":"Go"},"search":[{"__typename":"Blog","id":"b1"},{"__typename":"Post","id":"p1","title":"Post 1"},null]}`,
		},
		{
			name:  "__typename on the root and in lists",
			query: `{ __typename listPosts(limit: 2) { __typename id } }`,
			want:  `{"__typename":"Query","listPosts":[{"__typename":"Post","id":"p1"},{"__typename":"Post","id":"p2"}]}`,
		},
		{
			name: "@skip and @include with literals and variables",
			query: `query($yes: Boolean!, $no: Boolean = false) {
				getPost(id: "p1") { id @skip(if: $yes) title @include(if: $yes) views @include(if: $no)
				... on Post @skip(if: $no) { status } ...F @include(if: false) } }
				fragment F on Post { rating }`,
			vars: map[string]any{"yes": true},
			want: `{"getPost":{"title":"Post 1","status":"PUBLISHED"}}`,
		},
		{
			name:  "relation and connection fields go to the resolver, with argument defaults",
			query: `{ getBlog(id: "b1") { name posts { items { id blog { id } } nextToken } } }`,
			want:  `{"getBlog":{"name":"Go","posts":{"items":[{"id":"p1","blog":{"id":"b1"}},{"id":"p2","blog":{"id":"b1"}},{"id":"p3","blog":{"id":"b1"}}],"nextToken":null}}}`,
		},
		{
			name:  "connection arguments from variables",
			query: `query($n: Int) { getBlog(id: "b1") { posts(limit: $n, status: PUBLISHED) { items { id } } } }`,
			vars:  map[string]any{"n": float64(1)},
			want:  `{"getBlog":{"posts":{"items":[{"id":"p1"}]}}}`,
		},
		{
			name:  "leaf coercion: floats, timestamps, lists of strings, AWS scalars",
			query: `{ getPost(id: "p1") { rating tags _version _lastChangedAt legacy } getBlog(id: "b1") { createdAt meta } }`,
			want:  `{"getPost":{"rating":4.5,"tags":["go","gql"],"_version":1,"_lastChangedAt":1700000000000,"legacy":null},"getBlog":{"createdAt":"2024-01-02T03:04:05.000Z","meta":"{\"a\":1}"}}`,
		},
		{
			name:  "a missing object is null",
			query: `{ getPost(id: "nope") { id } }`,
			want:  `{"getPost":null}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := run(t, e, newTestResolver(), tt.query, tt.vars)
			wantNoErrors(t, resp)
			wantData(t, resp, tt.want)
		})
	}
}

func TestArgumentsReachResolversCoerced(t *testing.T) {
	e := New(testSchema(t), Options{})
	r := newTestResolver()
	// Variables as a JSON decoder yields them: float64 numbers, []any lists.
	var vars map[string]any
	if err := json.Unmarshal([]byte(`{"in":{"title":"T","views":3,"rating":2,"tags":["x"]},"ids":[7,"a"],"n":5,"f":1}`), &vars); err != nil {
		t.Fatal(err)
	}
	resp := run(t, e, r, `query($in: PostInput, $ids: [ID!], $n: Int, $f: Float) {
		a: echo(input: $in, ids: $ids, n: $n, f: $f)
		b: echo(input: {title: "lit", views: 2, rating: 1, tags: "one"}, ids: 9, n: 4, f: 2)
	}`, vars)
	wantNoErrors(t, resp)
	if len(r.calls) != 2 {
		t.Fatalf("resolver called %d times, want 2", len(r.calls))
	}
	wantA := map[string]any{
		"input": map[string]any{"title": "T", "views": int64(3), "rating": float64(2), "tags": []any{"x"}, "status": "DRAFT"},
		"ids":   []any{"7", "a"}, "n": int64(5), "f": float64(1),
	}
	if got := r.calls[0].Args; !reflect.DeepEqual(got, wantA) {
		t.Errorf("variable args:\n got %#v\nwant %#v", got, wantA)
	}
	wantB := map[string]any{
		"input": map[string]any{"title": "lit", "views": int64(2), "rating": float64(1), "tags": []any{"one"}, "status": "DRAFT"},
		"ids":   []any{"9"}, "n": int64(4), "f": float64(2),
	}
	if got := r.calls[1].Args; !reflect.DeepEqual(got, wantB) {
		t.Errorf("literal args:\n got %#v\nwant %#v", got, wantB)
	}
	if got := r.calls[1].Path; !reflect.DeepEqual(got, []any{"b"}) {
		t.Errorf("path = %v, want [b]", got)
	}
	// The caller's variables are not rewritten by coercion.
	if _, ok := vars["in"].(map[string]any)["status"]; ok {
		t.Error("Prepare wrote defaults into the request's variables")
	}
}

func TestVariableErrorsNameTheVariable(t *testing.T) {
	e := New(testSchema(t), Options{})
	tests := []struct {
		name, query string
		vars        map[string]any
		want        string
	}{
		{"missing required", `query Q($id: ID!) { getPost(id: $id) { id } }`, nil, "$id"},
		{"null for non-null", `query Q($id: ID!) { getPost(id: $id) { id } }`, map[string]any{"id": nil}, "$id"},
		{"string for Int", `query($n: Int) { listPosts(limit: $n) { id } }`, map[string]any{"n": "many"}, "$n"},
		{"fraction for Int", `query($n: Int) { listPosts(limit: $n) { id } }`, map[string]any{"n": 1.5}, "$n"},
		{"bad enum", `subscription($s: Status) { onCreatePost(status: $s) { id } }`, map[string]any{"s": "LOST"}, "$s"},
		{"enum in the wrong case", `subscription($s: Status) { onCreatePost(status: $s) { id } }`, map[string]any{"s": "draft"}, "$s"},
		{"missing input field", `mutation($in: PostInput!) { createPost(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"views": 1}}, "$in.title"},
		{"unknown input field", `mutation($in: PostInput!) { createPost(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"title": "t", "colour": "red"}}, "$in.colour"},
		{"object for list item", `query($ids: [ID!]) { echo(ids: $ids) }`, map[string]any{"ids": []any{"a", nil}}, "$ids[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := prepareErr(t, e, appsync.Request{Query: tt.query, Variables: tt.vars})
			if !strings.Contains(err.Message, tt.want) {
				t.Errorf("message %q does not name %s", err.Message, tt.want)
			}
			if len(err.Locations) == 0 {
				t.Errorf("error %q has no location", err.Message)
			}
		})
	}
}

func TestInvalidDocuments(t *testing.T) {
	e := New(testSchema(t), Options{MaxDepth: 4})
	tests := []struct {
		name, query, want string
	}{
		{"empty", "  ", "no query"},
		{"syntax", `{ getPost(id: "p1") { id `, "Expected"},
		{"unknown field", `{ getPost(id: "p1") { id nope } }`, `Field 'nope' in type 'Post' is undefined`},
		{"unknown argument", `{ getPost(id: "p1", x: 1) { id } }`, `Unknown field argument x`},
		{"wrong literal type", `{ listPosts(limit: "ten") { id } }`, `'StringValue{value='ten'}'`},
		{"missing sub-selection", `{ getPost(id: "p1") }`, "selection"},
		{"undefined variable", `{ getPost(id: $id) { id } }`, "$id"},
		{"fragment cycle", `{ getPost(id: "p1") { ...A } } fragment A on Post { blog { posts { items { ...A } } } }`, "A"},
		{"too deep", `{ getBlog(id: "b1") { posts { items { blog { name } } } } }`, "maximum is 4"},
		{"too deep through a fragment", `{ getBlog(id: "b1") { posts { ...I } } } fragment I on PostConnection { items { blog { id } } }`, "maximum is 4"},
		{"mutation root missing field", `mutation { nope }`, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := prepareErr(t, e, appsync.Request{Query: tt.query})
			if !strings.Contains(err.Message, tt.want) {
				t.Errorf("message %q does not contain %q", err.Message, tt.want)
			}
			if tt.name != "empty" && len(err.Locations) == 0 {
				t.Errorf("error %q has no location", err.Message)
			}
		})
	}
	// Exactly at the limit is allowed.
	if _, errs := e.Prepare(appsync.Request{Query: `{ getBlog(id: "b1") { posts { items { id } } } }`}); errs != nil {
		t.Errorf("depth 4 with MaxDepth 4: %v", errs[0])
	}
}

func TestOperationNameSelection(t *testing.T) {
	e := New(testSchema(t), Options{})
	doc := `query A { getPost(id: "p1") { id } } query B { getPost(id: "p2") { title } } mutation C { log(msg: "c") }`
	err := prepareErr(t, e, appsync.Request{Query: doc})
	if !strings.Contains(err.Message, "operationName") {
		t.Errorf("message %q does not ask for operationName", err.Message)
	}
	err = prepareErr(t, e, appsync.Request{Query: doc, OperationName: "D"})
	if !strings.Contains(err.Message, `"D"`) {
		t.Errorf("message %q does not name the unknown operation", err.Message)
	}
	op, errs := e.Prepare(appsync.Request{Query: doc, OperationName: "B"})
	if errs != nil {
		t.Fatal(errs[0])
	}
	if op.Kind != "query" || op.Name != "B" {
		t.Errorf("op = %s %s, want query B", op.Kind, op.Name)
	}
	wantData(t, e.Execute(context.Background(), op, newTestResolver()), `{"getPost":{"title":"Post 2"}}`)
	op, errs = e.Prepare(appsync.Request{Query: doc, OperationName: "C"})
	if errs != nil {
		t.Fatal(errs[0])
	}
	if op.Kind != "mutation" {
		t.Errorf("op kind = %s, want mutation", op.Kind)
	}
}

func TestNullPropagation(t *testing.T) {
	e := New(testSchema(t), Options{})
	tests := []struct {
		name, query string
		mutate      func(r *testResolver)
		want        string
		wantPath    []any
	}{
		{
			name:     "null in a non-null field nulls the nullable parent object",
			query:    `{ getPost(id: "p1") { id required } other: getPost(id: "p2") { id } }`,
			mutate:   func(r *testResolver) { r.posts[0]["required"] = nil },
			want:     `{"getPost":null,"other":{"id":"p2"}}`,
			wantPath: []any{"getPost", "required"},
		},
		{
			name:     "null item in a [Post!] list nulls the list",
			query:    `{ listPosts(limit: 3) { id required } }`,
			mutate:   func(r *testResolver) { r.posts[1]["required"] = nil },
			want:     `{"listPosts":null}`,
			wantPath: []any{"listPosts", 1, "required"},
		},
		{
			name:     "null item in a [Post] list nulls only the item",
			query:    `{ getBlog(id: "b1") { posts { items { id required } } } }`,
			mutate:   func(r *testResolver) { r.posts[2]["required"] = nil },
			want:     `{"getBlog":{"posts":{"items":[{"id":"p1","required":"yes"},{"id":"p2","required":"yes"},null]}}}`,
			wantPath: []any{"getBlog", "posts", "items", 2, "required"},
		},
		{
			name:     "a non-null root field nulls data",
			query:    `{ getPost(id: "p1") { id } failNonNull }`,
			want:     `null`,
			wantPath: []any{"failNonNull"},
		},
		{
			name:     "a leaf that cannot be coerced is a field error",
			query:    `{ getPost(id: "p1") { id views } }`,
			mutate:   func(r *testResolver) { r.posts[0]["views"] = 2.5 },
			want:     `{"getPost":{"id":"p1","views":null}}`,
			wantPath: []any{"getPost", "views"},
		},
		{
			name:     "a bad enum value is a field error",
			query:    `{ getPost(id: "p1") { status } }`,
			mutate:   func(r *testResolver) { r.posts[0]["status"] = "LOST" },
			want:     `{"getPost":{"status":null}}`,
			wantPath: []any{"getPost", "status"},
		},
		{
			name:     "an abstract value without __typename is a field error",
			query:    `{ search(text: "x") { __typename } }`,
			mutate:   func(r *testResolver) { r.blogs["b1"]["__typename"] = "Nope" },
			want:     `{"search":[null,{"__typename":"Post"},null]}`,
			wantPath: []any{"search", 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestResolver()
			if tt.mutate != nil {
				tt.mutate(r)
			}
			resp := run(t, e, r, tt.query, nil)
			wantData(t, resp, tt.want)
			if len(resp.Errors) != 1 {
				t.Fatalf("want 1 error, got %s", errorsText(resp.Errors))
			}
			if got := resp.Errors[0].Path; !reflect.DeepEqual(got, tt.wantPath) {
				t.Errorf("error path = %v, want %v (%s)", got, tt.wantPath, resp.Errors[0].Message)
			}
			if len(resp.Errors[0].Locations) == 0 {
				t.Error("error has no location")
			}
		})
	}
}

func TestResolverErrors(t *testing.T) {
	e := New(testSchema(t), Options{})
	resp := run(t, e, newTestResolver(), `{
  a: fail
  b: fail(kind: "conflict")
  c: getBlog(id: "b2") { name posts { items { id } } }
  d: getPost(id: "p1") { id }
}`, nil)
	wantData(t, resp, `{"a":null,"b":null,"c":{"name":"Broken","posts":null},"d":{"id":"p1"}}`)
	if len(resp.Errors) != 3 {
		t.Fatalf("want 3 errors, got %s", errorsText(resp.Errors))
	}
	plain, conflict, nested := resp.Errors[0], resp.Errors[1], resp.Errors[2]
	if plain.ErrorType != appsync.InternalFailure || plain.Message != "disk on fire" {
		t.Errorf("plain error = [%s] %q, want [InternalFailure] \"disk on fire\"", plain.ErrorType, plain.Message)
	}
	if !reflect.DeepEqual(plain.Path, []any{"a"}) || !reflect.DeepEqual(plain.Locations, []appsync.Location{{Line: 2, Column: 3}}) {
		t.Errorf("plain error at %v %v, want [a] line 2 column 3", plain.Path, plain.Locations)
	}
	if conflict.ErrorType != appsync.ConflictUnhandled || !reflect.DeepEqual(conflict.Path, []any{"b"}) {
		t.Errorf("conflict error = [%s] at %v", conflict.ErrorType, conflict.Path)
	}
	if d, _ := conflict.Data.(map[string]any); d["_version"] != 3 {
		t.Errorf("conflict error lost its data: %v", conflict.Data)
	}
	if !reflect.DeepEqual(nested.Path, []any{"c", "posts"}) || nested.Message != "index missing" {
		t.Errorf("nested error = %q at %v", nested.Message, nested.Path)
	}
	// The response round-trips through JSON in AppSync's shape.
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"errorType":"ConflictUnhandled","data":{"_version":3,"id":"p1"}`) {
		t.Errorf("encoded response lacks the conflict's data: %s", b)
	}
}

func TestMutationRootFieldsRunInOrder(t *testing.T) {
	e := New(testSchema(t), Options{})
	r := newTestResolver()
	resp := run(t, e, r, `mutation { c: log(msg: "1") b: log(msg: "2") a: log(msg: "3")
		createPost(input: {id: "n1", title: "New"}) { id title views status _version _lastChangedAt } }`, nil)
	wantNoErrors(t, resp)
	wantData(t, resp, `{"c":["1"],"b":["1","2"],"a":["1","2","3"],"createPost":{"id":"n1","title":"New","views":0,"status":"DRAFT","_version":1,"_lastChangedAt":1700000000000}}`)
}

func TestOutputCoercionOfNumbers(t *testing.T) {
	e := New(testSchema(t), Options{})
	for _, tt := range []struct {
		value any
		want  string
		fails bool
	}{
		{7, `7`, false},
		{int64(-3), `-3`, false},
		{float64(12), `12`, false},
		{json.Number("42"), `42`, false},
		{json.Number("4.0"), `4`, false},
		{float64(1.25), `null`, true},
		{"12", `12`, false},
		{true, `null`, true},
	} {
		r := newTestResolver()
		r.value = tt.value
		resp := run(t, e, r, `{ value }`, nil)
		wantData(t, resp, `{"value":`+tt.want+`}`)
		if (len(resp.Errors) > 0) != tt.fails {
			t.Errorf("value %#v: errors %s, want failure %v", tt.value, errorsText(resp.Errors), tt.fails)
		}
	}
}

func TestSubscriptionFieldAndRender(t *testing.T) {
	e := New(testSchema(t), Options{})
	op, errs := e.Prepare(appsync.Request{
		Query:     `subscription OnCreate($s: Status) { onCreatePost(status: $s) { __typename id title blog { name } _version } }`,
		Variables: map[string]any{"s": "DRAFT"},
	})
	if errs != nil {
		t.Fatal(errs[0])
	}
	f, err := e.SubscriptionField(op)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "onCreatePost" || f.Alias != "onCreatePost" || f.Args["status"] != "DRAFT" || f.Def == nil || len(f.Selections) != 5 {
		t.Errorf("subscription field = %+v", f)
	}
	r := newTestResolver()
	event := map[string]any{"id": "p9", "title": "Fresh", "blogID": "b1", "_version": 2, "extra": "ignored"}
	resp := e.Render(context.Background(), op, event, r)
	wantNoErrors(t, resp)
	wantData(t, resp, `{"onCreatePost":{"__typename":"Post","id":"p9","title":"Fresh","blog":{"name":"Go"},"_version":2}}`)
	if len(r.calls) != 1 || r.calls[0].Type != "Post" || r.calls[0].Name != "blog" {
		t.Errorf("resolver calls = %+v, want one Post.blog", r.calls)
	}
	// Render gives what Execute gives when Root returns the same value.
	resp = e.Render(context.Background(), op, map[string]any{"id": "p9", "blogID": "b1"}, r)
	wantData(t, resp, `{"onCreatePost":null}`)
	if len(resp.Errors) != 1 || !reflect.DeepEqual(resp.Errors[0].Path, []any{"onCreatePost", "title"}) {
		t.Errorf("missing title: errors %s", errorsText(resp.Errors))
	}

	aliased, errs := e.Prepare(appsync.Request{Query: `subscription { created: onCreatePost { id } }`})
	if errs != nil {
		t.Fatal(errs[0])
	}
	wantData(t, e.Render(context.Background(), aliased, map[string]any{"id": "x"}, r), `{"created":{"id":"x"}}`)

	query, _ := e.Prepare(appsync.Request{Query: `{ getPost(id: "p1") { id } }`})
	if _, err := e.SubscriptionField(query); err == nil {
		t.Error("SubscriptionField accepted a query")
	}
	if resp := e.Render(context.Background(), query, map[string]any{}, r); len(resp.Errors) == 0 || resp.Data != nil {
		t.Errorf("Render of a query = %s %s, want an error", resp.Data, errorsText(resp.Errors))
	}
	// Two root fields in a subscription fail validation, as the spec says.
	prepareErr(t, e, appsync.Request{Query: `subscription { onCreatePost { id } onDeletePost { id } }`})
}

func TestExecuteConcurrently(t *testing.T) {
	e := New(testSchema(t), Options{})
	op, errs := e.Prepare(appsync.Request{Query: `query($id: ID!) { getPost(id: $id) { id blog { name posts { items { id } } } } }`,
		Variables: map[string]any{"id": "p1"}})
	if errs != nil {
		t.Fatal(errs[0])
	}
	want := `{"getPost":{"id":"p1","blog":{"name":"Go","posts":{"items":[{"id":"p1"},{"id":"p2"},{"id":"p3"}]}}}}`
	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := range results {
		wg.Go(func() {
			results[i] = string(e.Execute(context.Background(), op, newTestResolver()).Data)
		})
	}
	wg.Wait()
	for i, got := range results {
		if got != want {
			t.Errorf("execution %d: %s", i, got)
		}
	}
}

func TestCancelledContextStopsResolving(t *testing.T) {
	e := New(testSchema(t), Options{})
	op, _ := e.Prepare(appsync.Request{Query: `{ getPost(id: "p1") { id } }`})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := newTestResolver()
	resp := e.Execute(ctx, op, r)
	wantData(t, resp, `{"getPost":null}`)
	if len(r.calls) != 0 || len(resp.Errors) != 1 {
		t.Errorf("calls %d, errors %s", len(r.calls), errorsText(resp.Errors))
	}
}

// TestIntVariablesRefusedClearly checks that a fraction or an integer out
// of Int's 32-bit range given as an Int variable, alone or inside an input
// object, is refused with AppSync's "Variable 'x' has an invalid value"
// followed by where and what is wrong, and that whole numbers written as
// floats are accepted.
func TestIntVariablesRefusedClearly(t *testing.T) {
	e := New(testSchema(t), Options{})
	const create = `mutation($in: PostInput!) { createPost(input: $in) { id } }`
	const list = `query($n: Int) { listPosts(limit: $n) { id } }`
	in := func(views any) map[string]any {
		return map[string]any{"in": map[string]any{"title": "t", "views": views}}
	}
	for _, tt := range []struct {
		name, query string
		vars        map[string]any
		want        string
	}{
		{"fraction in input", create, in(json.Number("1.5")), "Variable 'in' has an invalid value: $in.views: 1.5 is not an integer (Int)"},
		{"too big in input", create, in(json.Number("1e20")), "Variable 'in' has an invalid value: $in.views: 1e20 is out of range for Int (a 32-bit signed integer, -2147483648 to 2147483647)"},
		{"just past int32 in input", create, in(json.Number("2147483648")), "Variable 'in' has an invalid value: $in.views: 2147483648 is out of range for Int (a 32-bit signed integer, -2147483648 to 2147483647)"},
		{"float64 fraction in input", create, in(1.5), "Variable 'in' has an invalid value: $in.views: 1.5 is not an integer (Int)"},
		{"fraction", list, map[string]any{"n": json.Number("1.5")}, "Variable 'n' has an invalid value: $n: 1.5 is not an integer (Int)"},
		{"too big", list, map[string]any{"n": json.Number("1e20")}, "Variable 'n' has an invalid value: $n: 1e20 is out of range for Int (a 32-bit signed integer, -2147483648 to 2147483647)"},
		{"just below int32", list, map[string]any{"n": json.Number("-2147483649")}, "Variable 'n' has an invalid value: $n: -2147483649 is out of range for Int (a 32-bit signed integer, -2147483648 to 2147483647)"},
		{"too many digits", list, map[string]any{"n": json.Number("99999999999999999999")}, "Variable 'n' has an invalid value: $n: 99999999999999999999 is out of range for Int (a 32-bit signed integer, -2147483648 to 2147483647)"},
		{"numeric string", list, map[string]any{"n": "3000000000"}, "Variable 'n' has an invalid value: $n: 3000000000 is out of range for Int (a 32-bit signed integer, -2147483648 to 2147483647)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := prepareErr(t, e, appsync.Request{Query: tt.query, Variables: tt.vars})
			if err.Message != tt.want {
				t.Errorf("message %q, want %q", err.Message, tt.want)
			}
			if len(err.Locations) == 0 {
				t.Errorf("error %q has no location", err.Message)
			}
		})
	}
	r := newTestResolver()
	vars := map[string]any{"in": map[string]any{"title": "t", "views": json.Number("1e3")}, "n": json.Number("2.0")}
	resp := run(t, e, r, `query($in: PostInput, $n: Int) { echo(input: $in, n: $n) }`, vars)
	wantNoErrors(t, resp)
	if got := r.calls[0].Args; got["n"] != int64(2) || got["input"].(map[string]any)["views"] != int64(1000) {
		t.Errorf("whole numbers not read as Int: %#v", got)
	}
}
