package serve_test

import (
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// v1PartialSchema is a transformer v1 schema (@key) whose @model arguments
// are partial: under v1 they replace the defaults rather than merge.
const v1PartialSchema = `type Post @model(queries: { get: "fetchPost" }, subscriptions: { onCreate: ["postAdded"] }) @key(fields: ["id"]) {
  id: ID!
  title: String
}
`

// TestV1PartialModelArguments: a v1 model with queries: {get: "fetchPost"}
// has fetchPost and the sync query but no listPosts, and with
// subscriptions: {onCreate: ["postAdded"]} only postAdded. An operation
// the model lacks is refused as AppSync refuses a field its schema does
// not have: a validation error naming the field, nothing run.
func TestV1PartialModelArguments(t *testing.T) {
	e := newEnv(t, envOptions{schema: testenv.LoadSchema(t, v1PartialSchema)})
	const create = "mutation operation($input: CreatePostInput!) { createPost(input: $input) { id title _version } }"
	mustOK(t, e.do(t, create, map[string]any{"input": map[string]any{"id": "p1", "title": "t"}}))
	if got := mustOK(t, e.do(t, `query { fetchPost(id: "p1") { id title } }`, nil)).field("fetchPost"); got["title"] != "t" {
		t.Errorf("fetchPost answered %v, want the post", got)
	}
	items := mustOK(t, e.do(t, "query { syncPosts { items { id } } }", nil)).field("syncPosts")["items"].([]any)
	if len(items) != 1 {
		t.Errorf("syncPosts answered %v, want the post", items)
	}
	for _, q := range []struct{ doc, field string }{
		{"query { listPosts { items { id } } }", "listPosts"},
		{`query { getPost(id: "p1") { id } }`, "getPost"},
	} {
		r := e.do(t, q.doc, nil)
		if len(r.Errors) != 1 || r.Errors[0].ErrorType != appsync.ValidationError || !strings.Contains(r.Errors[0].Message, "Field '"+q.field+"' in type 'Query' is undefined") || r.Data != nil {
			t.Errorf("%s on a v1 model with queries: {get: \"fetchPost\"}: %s, want one ValidationError naming %s and no data", q.field, r.Raw, q.field)
		}
	}

	host := strings.TrimPrefix(e.ts.URL, "http://")
	authz := map[string]string{"host": host, "x-api-key": testAPIKey}
	c := e.dialWS(t, authz)
	c.init()
	c.send(startMsg(t, "upd", "subscription { onUpdatePost { id } }", nil, authz))
	if errs := errorsOf(t, c.expect(appsync.MsgError, "upd")); !strings.Contains(errs[0].Message, "Field 'onUpdatePost' in type 'Subscription' is undefined") {
		t.Errorf("onUpdatePost on a v1 model with subscriptions: {onCreate: [postAdded]}: %v, want an error naming it", errs[0])
	}
	c.subscribe("added", "subscription { postAdded { id title } }", nil, authz)
	mustOK(t, e.do(t, create, map[string]any{"input": map[string]any{"id": "p2", "title": "t2"}}))
	if got := c.data("added", "postAdded"); got["id"] != "p2" {
		t.Errorf("postAdded delivered %v, want p2", got)
	}
}
