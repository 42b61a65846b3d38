package gqlexec

import (
	"strings"
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// TestRefusalMalformed: PrepareRequest tells a document it could not read
// (a syntax error, the token limit, a document limit) from one it read and
// found invalid (validation, an Int literal, the operation to run, the
// variables), which the HTTP front end answers 400 and 200 respectively.
func TestRefusalMalformed(t *testing.T) {
	e := New(testSchema(t), Options{MaxDepth: 3, MaxTokens: 50})
	for _, c := range []struct {
		name      string
		req       appsync.Request
		malformed bool
	}{
		{"syntax error", appsync.Request{Query: `{ getPost(id: "p1") { id `}, true},
		{"token limit", appsync.Request{Query: "{" + strings.Repeat(" value", 60) + " }"}, true},
		{"depth limit", appsync.Request{Query: `{ getBlog(id: "b1") { posts { items { blog { name } } } } }`}, true},
		{"undefined field", appsync.Request{Query: `{ badfield }`}, false},
		{"Int literal out of range", appsync.Request{Query: `{ listPosts(limit: 2147483648) { id } }`}, false},
		{"fragment cycle", appsync.Request{Query: `{ getPost(id: "p1") { ...A } } fragment A on Post { id ...A }`}, false},
		{"unknown operation", appsync.Request{Query: `query A { value }`, OperationName: "B"}, false},
		{"missing variable", appsync.Request{Query: `query ($id: ID!) { getPost(id: $id) { id } }`}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			op, r := e.PrepareRequest(c.req)
			if op != nil || r == nil || len(r.Errors) == 0 {
				t.Fatalf("PrepareRequest = %v, %v; want a refusal with errors", op, r)
			}
			if r.Malformed != c.malformed {
				t.Errorf("Malformed = %v, want %v (%v)", r.Malformed, c.malformed, r.Errors[0])
			}
			// Prepare returns the same errors.
			if _, errs := e.Prepare(c.req); len(errs) != len(r.Errors) || errs[0].Message != r.Errors[0].Message {
				t.Errorf("Prepare's errors %v differ from PrepareRequest's %v", errs, r.Errors)
			}
		})
	}
}
