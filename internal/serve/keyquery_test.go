package serve_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
)

const keyQuerySchema = `
type Blog @model {
  id: ID!
  name: String!
  posts: [Post] @hasMany(indexName: "byBlog", fields: ["id"])
  notes: [Note] @hasMany
}

type Post @model {
  id: ID!
  blogID: ID! @index(name: "byBlog", sortKeyFields: ["rank"], queryField: "postsByBlog")
  rank: Int!
  title: String!
}

type Note @model {
  id: ID!
  text: String!
}

type Doc @model {
  org: String! @primaryKey(sortKeyFields: ["kind", "n"])
  kind: String!
  n: Int!
}
`

const postsByBlogDoc = `query q($blogID: ID!, $rank: ModelIntKeyConditionInput, $dir: ModelSortDirection, $filter: ModelPostFilterInput, $limit: Int, $nextToken: String) {
  postsByBlog(blogID: $blogID, rank: $rank, sortDirection: $dir, filter: $filter, limit: $limit, nextToken: $nextToken) { items { id rank } nextToken }
}`

// pageAll follows nextToken through a connection field and returns the
// ids, one page's ids joined by spaces per page, and the number of pages.
func pageAll(t *testing.T, e *env, doc, field string, vars map[string]any) (ids string, pages int) {
	t.Helper()
	var all []string
	var token any
	for {
		vars["nextToken"] = token
		conn := mustOK(t, e.do(t, doc, vars)).field(field)
		pages++
		for _, it := range conn["items"].([]any) {
			all = append(all, it.(map[string]any)["id"].(string))
		}
		next, _ := conn["nextToken"].(string)
		if next == "" {
			return strings.Join(all, " "), pages
		}
		if pages > 100 {
			t.Fatal("more than 100 pages")
		}
		token = next
	}
}

// TestKeyQueries: @index queries, key-condition list queries and hasMany
// connections read their key range page by page (keyset nextTokens), with
// sort key conditions and direction, on both engines.
func TestKeyQueries(t *testing.T) { forEngines(t, testKeyQueries) }

func testKeyQueries(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng, schema: testenv.LoadSchema(t, keyQuerySchema)})
	create := func(model string, input map[string]any) {
		t.Helper()
		mustOK(t, e.do(t, fmt.Sprintf("mutation m($input: Create%sInput!) { create%s(input: $input) { _version } }", model, model),
			map[string]any{"input": input}))
	}
	create("Blog", map[string]any{"id": "b1", "name": "one"})
	for i := range 25 {
		create("Post", map[string]any{"id": fmt.Sprintf("p%02d", i), "blogID": "b1", "rank": 100 - i, "title": fmt.Sprintf("t%d", i%5)})
	}
	create("Post", map[string]any{"id": "other", "blogID": "b2", "rank": 1, "title": "t0"})

	var want []string
	for i := 24; i >= 0; i-- {
		want = append(want, fmt.Sprintf("p%02d", i))
	}
	ids, pages := pageAll(t, e, postsByBlogDoc, "postsByBlog", map[string]any{"blogID": "b1", "limit": 10})
	if ids != strings.Join(want, " ") || pages != 3 {
		t.Errorf("postsByBlog by rank: %d pages %q", pages, ids)
	}
	ids, _ = pageAll(t, e, postsByBlogDoc, "postsByBlog", map[string]any{"blogID": "b1", "limit": 2, "dir": "DESC", "rank": map[string]any{"gt": 96}})
	if ids != "p00 p01 p02 p03" {
		t.Errorf("rank > 96 descending: %q", ids)
	}
	ids, _ = pageAll(t, e, postsByBlogDoc, "postsByBlog", map[string]any{"blogID": "b1", "rank": map[string]any{"between": []any{80, 82}}})
	if ids != "p20 p19 p18" {
		t.Errorf("rank between 80 and 82: %q", ids)
	}
	// limit counts the records read in the key range, as DynamoDB's does:
	// the filter keeps some of them, and pages may come back short.
	ids, pages = pageAll(t, e, postsByBlogDoc, "postsByBlog", map[string]any{"blogID": "b1", "limit": 10, "filter": map[string]any{"title": map[string]any{"eq": "t3"}}})
	if ids != "p23 p18 p13 p08 p03" || pages != 3 {
		t.Errorf("filtered: %d pages %q", pages, ids)
	}

	// A nextToken from one instance continues on another over the same
	// store (signed with the shared key, holding the last key read).
	_, ts2 := e.startServer(t, envOptions{engine: eng})
	e2 := *e
	e2.ts = ts2
	page1 := mustOK(t, e.do(t, postsByBlogDoc, map[string]any{"blogID": "b1", "limit": 20})).field("postsByBlog")
	page2 := mustOK(t, e2.do(t, postsByBlogDoc, map[string]any{"blogID": "b1", "limit": 20, "nextToken": page1["nextToken"]})).field("postsByBlog")
	if items := page2["items"].([]any); len(items) != 5 || items[0].(map[string]any)["id"] != "p04" || page2["nextToken"] != nil {
		t.Errorf("second page on the other instance: %v, nextToken %v", items, page2["nextToken"])
	}

	// A nextToken is bound to its arguments.
	first := mustOK(t, e.do(t, postsByBlogDoc, map[string]any{"blogID": "b1", "limit": 1})).field("postsByBlog")
	r := e.do(t, postsByBlogDoc, map[string]any{"blogID": "b2", "limit": 1, "nextToken": first["nextToken"]})
	if r.errType(t) != appsync.BadRequest {
		t.Errorf("token of another partition: %s", r.Raw)
	}

	// The hasMany connection through the index, page by page.
	blogPosts := `query q($nextToken: String) { getBlog(id: "b1") { posts(limit: 7, nextToken: $nextToken) { items { id } nextToken } } }`
	var got []string
	var token any
	for range 10 {
		conn := mustOK(t, e.do(t, blogPosts, map[string]any{"nextToken": token})).field("getBlog")["posts"].(map[string]any)
		for _, it := range conn["items"].([]any) {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		if token = conn["nextToken"]; token == nil {
			break
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Blog.posts: %q", got)
	}

	// A hasMany with no index of its own (Amplify's implicit one).
	for i := range 3 {
		create("Note", map[string]any{"id": fmt.Sprintf("n%d", i), "text": "x", "blogNotesId": "b1"})
	}
	create("Note", map[string]any{"id": "n-other", "text": "x", "blogNotesId": "b2"})
	notes := mustOK(t, e.do(t, `{ getBlog(id: "b1") { notes { items { id } nextToken } } }`, nil)).field("getBlog")["notes"].(map[string]any)
	if items := notes["items"].([]any); len(items) != 3 {
		t.Errorf("Blog.notes: %v", items)
	}

	// An update moves the record in the index.
	mustOK(t, e.do(t, `mutation { updatePost(input: {id: "p00", rank: 1, _version: 1}) { _version } }`, nil))
	ids, _ = pageAll(t, e, postsByBlogDoc, "postsByBlog", map[string]any{"blogID": "b1", "limit": 3, "rank": map[string]any{"lt": 77}})
	if ids != "p00 p24" {
		t.Errorf("after the update: %q", ids)
	}
}

// TestCompositePrimaryKeyQueries: list queries on a composite primary key
// take a condition on the leading sort key fields, page by page.
func TestCompositePrimaryKeyQueries(t *testing.T) { forEngines(t, testCompositePrimaryKeyQueries) }

func testCompositePrimaryKeyQueries(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng, schema: testenv.LoadSchema(t, keyQuerySchema)})
	create := func(input map[string]any) {
		t.Helper()
		mustOK(t, e.do(t, "mutation m($input: CreateDocInput!) { createDoc(input: $input) { _version } }", map[string]any{"input": input}))
	}
	// A composite primary key: partition plus a condition on the leading
	// sort key fields.
	for _, d := range [][3]any{{"a", "x", 1}, {"a", "x", 2}, {"a", "xy", 1}, {"a", "y", 1}, {"b", "x", 1}} {
		create(map[string]any{"org": d[0], "kind": d[1], "n": d[2]})
	}
	listDocs := `query q($org: String, $kindN: ModelDocPrimaryCompositeKeyConditionInput, $nextToken: String) {
	  listDocs(org: $org, kindN: $kindN, limit: 2, nextToken: $nextToken) { items { org kind n } nextToken } }`
	for _, c := range []struct {
		cond map[string]any
		want string
	}{
		{nil, "x1 x2 xy1 y1"},
		{map[string]any{"beginsWith": map[string]any{"kind": "x"}}, "x1 x2 xy1"},
		{map[string]any{"eq": map[string]any{"kind": "x"}}, "x1 x2"},
		{map[string]any{"eq": map[string]any{"kind": "x", "n": 2}}, "x2"},
		{map[string]any{"gt": map[string]any{"kind": "x"}}, "xy1 y1"},
	} {
		var got []string
		var token any
		for range 10 {
			conn := mustOK(t, e.do(t, listDocs, map[string]any{"org": "a", "kindN": c.cond, "nextToken": token})).field("listDocs")
			for _, it := range conn["items"].([]any) {
				it := it.(map[string]any)
				got = append(got, fmt.Sprintf("%v%v", it["kind"], it["n"]))
			}
			if token = conn["nextToken"]; token == nil {
				break
			}
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("listDocs %v: %q, want %q", c.cond, got, c.want)
		}
	}
	r := e.do(t, listDocs, map[string]any{"org": "a", "kindN": map[string]any{"eq": map[string]any{"n": 2}}})
	if r.errType(t) != appsync.BadRequest || !strings.Contains(string(r.Raw), "kind, n") {
		t.Errorf("condition skipping the first sort key field: %s", r.Raw)
	}

}
