package gqlexec

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// FuzzPrepareExecute feeds arbitrary documents and variables through
// Prepare and, when they validate, Execute: neither may panic, and every
// response's data must be valid JSON.
func FuzzPrepareExecute(f *testing.F) {
	seeds := []struct{ query, vars string }{
		{`{ getPost(id: "p1") { id title blog { name posts { items { id } } } } }`, `{}`},
		{`query($id: ID!) { getPost(id: $id) { ...F } } fragment F on Post { id ... on Post { views } }`, `{"id":"p2"}`},
		{`mutation($in: PostInput!) { createPost(input: $in) { id status } }`, `{"in":{"title":"t","views":1e300}}`},
		{`{ search(text: "x") { __typename ... on Blog { name } ... on Node { id } } }`, `null`},
		{`query($s: Boolean!) { a: fail @skip(if: $s) failNonNull value }`, `{"s":false}`},
		{`subscription { onCreatePost(status: DRAFT) { id } }`, `{}`},
		{`{ __schema { types { name fields { type { ofType { name } } } } } }`, `{}`},
		{`query($ids: [ID!]) { echo(ids: $ids, input: {title: "\u0000"}) }`, `{"ids":[1.5,{"a":[]}]}`},
		{`{ getPost(id: "p1") { id `, `{`},
		{`query A { value } query A { value }`, `{}`},
		{`{ node(id: "b1") { ... on Blog { posts(limit: -1) { items { id } } } } }`, `{}`},
	}
	for _, s := range seeds {
		f.Add(s.query, s.vars, "")
	}
	schema := testSchema(f)
	e := New(schema, Options{MaxDepth: 8})
	f.Fuzz(func(t *testing.T, query, vars, opName string) {
		var v map[string]any
		_ = json.Unmarshal([]byte(vars), &v)
		op, errs := e.Prepare(appsync.Request{Query: query, Variables: v, OperationName: opName})
		if op == nil {
			if len(errs) == 0 {
				t.Fatal("Prepare returned neither an operation nor errors")
			}
			return
		}
		r := &fuzzResolver{newTestResolver()}
		resp := e.Execute(context.Background(), op, r)
		if resp.Data != nil && !json.Valid(resp.Data) {
			t.Fatalf("invalid JSON data: %s", resp.Data)
		}
		if op.Kind == "subscription" {
			if _, err := e.SubscriptionField(op); err != nil {
				t.Fatalf("SubscriptionField of a valid subscription: %v", err)
			}
			resp := e.Render(context.Background(), op, map[string]any{"id": "x", "title": 3, "blogID": "b1"}, r)
			if resp.Data != nil && !json.Valid(resp.Data) {
				t.Fatalf("invalid JSON from Render: %s", resp.Data)
			}
		}
	})
}

// fuzzResolver turns the test resolver's type assertions on arguments into
// errors, since fuzzed arguments can be null or of unusual shapes.
type fuzzResolver struct{ r *testResolver }

func (f *fuzzResolver) Root(ctx context.Context, fl Field) (v any, err error) {
	defer recoverTo(&err)
	return f.r.Root(ctx, fl)
}

func (f *fuzzResolver) Field(ctx context.Context, typeName string, parent map[string]any, fl Field) (v any, err error) {
	defer recoverTo(&err)
	return f.r.Field(ctx, typeName, parent, fl)
}

// recoverTo reports a panic of the test resolver (not of the executor) as
// an error.
func recoverTo(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("resolver: %v", p)
	}
}

func BenchmarkExecuteList100x10(b *testing.B) {
	e := New(testSchema(b), Options{})
	base := newTestResolver().posts[0]
	r := &listResolver{}
	for i := range 100 {
		p := maps.Clone(base)
		p["id"] = fmt.Sprintf("p%d", i)
		r.items = append(r.items, p)
	}
	op, errs := e.Prepare(appsync.Request{Query: `query($n: Int) { listPosts(limit: $n) {
		id title rating views status tags required legacy _version _lastChangedAt } }`,
		Variables: map[string]any{"n": 100}})
	if errs != nil {
		b.Fatal(errs[0])
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp := e.Execute(ctx, op, r)
		if len(resp.Errors) > 0 {
			b.Fatal(resp.Errors[0])
		}
	}
}

// listResolver returns a prepared list, so the benchmark measures the
// executor rather than the resolver.
type listResolver struct{ items []any }

func (l *listResolver) Root(context.Context, Field) (any, error) { return l.items, nil }

func (l *listResolver) Field(context.Context, string, map[string]any, Field) (any, error) {
	return nil, nil
}
