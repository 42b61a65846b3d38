package gqlexec

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// bomb is a document whose one operation expands to 2^levels fields.
func bomb(levels int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{ getPost(id: "p1") { ...F%d } }`, levels)
	b.WriteString("\nfragment F0 on Post { id title }")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "\nfragment F%d on Post { ...F%d ...F%d }", i, i-1, i-1)
	}
	return b.String()
}

func TestDocumentLimits(t *testing.T) {
	e := New(testSchema(t), Options{MaxTokens: 1000, MaxFields: 20, MaxFragments: 3, MaxAliases: 2, MaxRootFields: 3, MaxDepth: 5})
	tests := []struct {
		name, query, want string
	}{
		{"tokens", "{" + strings.Repeat(" value", 1000) + " }", "more than 1000 tokens"},
		{"fields", `{ getPost(id: "p1") {` + strings.Repeat(" id", 20) + " } }", "selects 21 fields"},
		// Fragment definitions are walked by validation on their own too.
		{"fields in fragments", `{ getPost(id: "p1") { ...A } } fragment A on Post {` + strings.Repeat(" id", 10) + " }", "selects 21 fields"},
		{"unused fragments count", `{ value } fragment A on Post {` + strings.Repeat(" id", 20) + " }", "selects 21 fields"},
		{"fragments", `{ value } fragment A on Post { id } fragment B on Post { id } fragment C on Post { id } fragment D on Post { id }`, "defines 4 fragments"},
		{"aliases", `{ getPost(id: "p1") { a: id b: id c: id } }`, "3 aliased fields"},
		// Counted as fields are: per spread, and in the definition.
		{"aliases in a spread fragment", `{ getPost(id: "p1") { ...A ...A } } fragment A on Post { a: id }`, "3 aliased fields"},
		{"root fields", `{ value a: value b: value c: value }`, "has 4 root fields; the maximum is 3"},
		{"root fields through fragments", `{ value ... on Query { a: value } ...Q } fragment Q on Query { b: value c: __typename }`, "has 4 root fields"},
		{"depth", `{ getBlog(id: "b1") { posts { items { blog { posts { items { id } } } } } } }`, "7 levels deep; the maximum is 5"},
		{"cycle", `{ getPost(id: "p1") { ...A } } fragment A on Post { blog { posts { items { ...B } } } } fragment B on Post { ...A }`, "within itself"},
		{"self spread", `{ getPost(id: "p1") { ...A } } fragment A on Post { id ...A }`, `"A" within itself`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := prepareErr(t, e, appsync.Request{Query: tt.query})
			if !strings.Contains(err.Message, tt.want) {
				t.Errorf("message %q does not contain %q", err.Message, tt.want)
			}
			if len(err.Locations) == 0 && tt.name != "tokens" {
				t.Errorf("error %q has no location", err.Message)
			}
		})
	}
	// A fragment bomb is counted, not expanded: 2^60 fields.
	if err := prepareErr(t, New(testSchema(t), Options{}), appsync.Request{Query: bomb(60)}); !strings.Contains(err.Message, "selects more than 1099511627776 fields") {
		t.Errorf("fragment bomb: %q", err.Message)
	}
	for _, q := range []string{
		`{ getPost(id: "p1") {` + strings.Repeat(" id", 19) + " } }",
		`{ getPost(id: "p1") { ...A ...A ...A } } fragment A on Post { id }`,
		`{ getPost(id: "p1") { ...A } } fragment A on Post { a: id id }`,
		`{ value a: value b: value }`,
		`{ getBlog(id: "b1") { posts { items { blog { name } } } } }`,
	} {
		if _, errs := e.Prepare(appsync.Request{Query: q}); errs != nil {
			t.Errorf("%s: %v, want it within the limits", q, errs[0])
		}
	}
}

// TestDefaultLimitsAdmitIntrospection: tools send graphql-js's
// introspection query with every option; the defaults must let it pass.
func TestDefaultLimitsAdmitIntrospection(t *testing.T) {
	e := New(testSchema(t), Options{})
	for _, q := range []string{introspectionQuery, introspectionQueryAllOptions} {
		if _, errs := e.Prepare(appsync.Request{Query: q}); errs != nil {
			t.Errorf("introspection refused: %v", errs[0])
		}
	}
}

// manyPosts is a resolver whose listPosts returns n posts, each with a blog
// to resolve.
func manyPosts(n int) *testResolver {
	r := newTestResolver()
	base := r.posts[0]
	r.posts = nil
	for i := range n {
		p := map[string]any{}
		for k, v := range base {
			p[k] = v
		}
		p["id"] = fmt.Sprintf("p%d", i)
		r.posts = append(r.posts, p)
	}
	return r
}

func TestResponseLimitStopsTheExecution(t *testing.T) {
	e := New(testSchema(t), Options{MaxResponseBytes: 1000})
	r := manyPosts(1000)
	resp := run(t, e, r, `{ listPosts(limit: 1000) { id title blog { name } } }`, nil)
	wantData(t, resp, `null`)
	if len(resp.Errors) != 1 || resp.Errors[0].ErrorType != appsync.LimitExceeded ||
		!strings.Contains(resp.Errors[0].Message, "larger than 1000 bytes") {
		t.Fatalf("errors: %s", errorsText(resp.Errors))
	}
	// It stopped at the limit: a few dozen posts were completed, not 1000.
	if n := len(r.calls); n > 50 {
		t.Errorf("%d resolver calls: the execution went on past the limit", n)
	}
	// Under the limit, the same document is answered.
	resp = run(t, e, manyPosts(3), `{ listPosts(limit: 1000) { id title blog { name } } }`, nil)
	wantNoErrors(t, resp)
}

func TestResolverCallLimitStopsTheExecution(t *testing.T) {
	e := New(testSchema(t), Options{MaxResolverCalls: 10})
	r := manyPosts(100)
	resp := run(t, e, r, `{ listPosts(limit: 100) { id blog { name } } }`, nil)
	wantData(t, resp, `null`)
	if len(resp.Errors) != 1 || resp.Errors[0].ErrorType != appsync.LimitExceeded ||
		!strings.Contains(resp.Errors[0].Message, "more than 10 resolver calls") {
		t.Fatalf("errors: %s", errorsText(resp.Errors))
	}
	if got := fmt.Sprint(resp.Errors[0].Path); got != "[listPosts 9 blog]" {
		t.Errorf("path %s, want the 11th call's", got)
	}
	if len(r.calls) != 10 {
		t.Errorf("%d resolver calls, want 10", len(r.calls))
	}
	resp = run(t, e, manyPosts(9), `{ listPosts(limit: 100) { id blog { name } } }`, nil)
	wantNoErrors(t, resp)
}

// TestSubscriptionRenderHasTheResponseLimit: an event rendered for a
// subscriber is bounded as a query's response is.
func TestSubscriptionRenderHasTheResponseLimit(t *testing.T) {
	e := New(testSchema(t), Options{MaxResponseBytes: 100})
	op, errs := e.Prepare(appsync.Request{Query: `subscription { onCreatePost { id title } }`})
	if errs != nil {
		t.Fatal(errs[0])
	}
	resp := e.Render(context.Background(), op, map[string]any{"id": "p1", "title": strings.Repeat("x", 200)}, newTestResolver())
	if len(resp.Errors) != 1 || resp.Errors[0].ErrorType != appsync.LimitExceeded {
		t.Fatalf("errors: %s", errorsText(resp.Errors))
	}
}
