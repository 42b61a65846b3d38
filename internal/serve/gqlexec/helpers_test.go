package gqlexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dsgen/dsgen/runtime/appsync"
)

const testSDL = `
scalar AWSDateTime
scalar AWSJSON
scalar AWSTimestamp @specifiedBy(url: "https://docs.aws.amazon.com/appsync/latest/devguide/scalars.html")

"Where a post is in its life."
enum Status {
  DRAFT
  PUBLISHED
  OLD @deprecated(reason: "use DRAFT")
}

interface Node { id: ID! }

type Blog implements Node {
  id: ID!
  name: String!
  posts(limit: Int = 10, status: Status): PostConnection
  createdAt: AWSDateTime
  meta: AWSJSON
}

"A blog post."
type Post implements Node {
  id: ID!
  title: String!
  rating: Float
  views: Int
  status: Status
  blog: Blog
  tags: [String!]
  required: String!
  legacy: String @deprecated
  _version: Int!
  _lastChangedAt: AWSTimestamp!
}

type PostConnection {
  items: [Post]!
  nextToken: String
}

union SearchResult = Blog | Post

input PostInput {
  id: ID
  title: String!
  views: Int = 0
  rating: Float
  status: Status = DRAFT
  tags: [String!]
  old: String @deprecated(reason: "gone")
}

type Query {
  getBlog(id: ID!): Blog
  getPost(id: ID!): Post
  listPosts(limit: Int = 10): [Post!]
  node(id: ID!): Node
  search(text: String!): [SearchResult]
  echo(input: PostInput, n: Int, f: Float, ids: [ID!]): AWSJSON
  fail(kind: String): String
  failNonNull: String!
  value: Int
}

type Mutation {
  createPost(input: PostInput!): Post
  log(msg: String!): [String!]!
}

type Subscription {
  onCreatePost(status: Status): Post
  onDeletePost: Post
}
`

func testSchema(t testing.TB) *ast.Schema {
	t.Helper()
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "test.graphql", Input: testSDL})
	if err != nil {
		t.Fatalf("load schema: %v", err)
	}
	return s
}

// call is one resolver invocation, as recorded by testResolver.
type call struct {
	Type, Name string
	Args       map[string]any
	Path       []any
}

// testResolver serves a small blog from in-memory maps.
type testResolver struct {
	mu    sync.Mutex
	blogs map[string]map[string]any
	posts []map[string]any
	calls []call
	log   []string
	value any // what Query.value returns
}

func newTestResolver() *testResolver {
	r := &testResolver{
		blogs: map[string]map[string]any{
			"b1": {"id": "b1", "name": "Go", "createdAt": "2024-01-02T03:04:05.000Z", "meta": `{"a":1}`},
			"b2": {"id": "b2", "name": "Broken"},
		},
	}
	for i := range 3 {
		r.posts = append(r.posts, map[string]any{
			"id": fmt.Sprintf("p%d", i+1), "title": fmt.Sprintf("Post %d", i+1),
			"rating": 4.5, "views": i * 10, "status": "PUBLISHED", "tags": []any{"go", "gql"},
			"required": "yes", "legacy": nil, "_version": int64(1), "_lastChangedAt": int64(1700000000000),
			"blogID": "b1",
		})
	}
	return r
}

func (r *testResolver) record(typ string, f Field) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{Type: typ, Name: f.Name, Args: f.Args, Path: f.Path})
}

func (r *testResolver) post(id string) map[string]any {
	for _, p := range r.posts {
		if p["id"] == id {
			return maps.Clone(p)
		}
	}
	return nil
}

func (r *testResolver) Root(ctx context.Context, f Field) (any, error) {
	r.record("", f)
	switch f.Name {
	case "getBlog":
		if b, ok := r.blogs[f.Args["id"].(string)]; ok {
			return maps.Clone(b), nil
		}
		return nil, nil
	case "getPost":
		if p := r.post(f.Args["id"].(string)); p != nil {
			return p, nil
		}
		return nil, nil
	case "listPosts":
		n := int(f.Args["limit"].(int64))
		var out []map[string]any
		for _, p := range r.posts[:min(n, len(r.posts))] {
			out = append(out, maps.Clone(p))
		}
		return out, nil
	case "node":
		id := f.Args["id"].(string)
		if b, ok := r.blogs[id]; ok {
			m := maps.Clone(b)
			m["__typename"] = "Blog"
			return m, nil
		}
		if p := r.post(id); p != nil {
			p["__typename"] = "Post"
			return p, nil
		}
		return nil, nil
	case "search":
		b := maps.Clone(r.blogs["b1"])
		if _, ok := b["__typename"]; !ok {
			b["__typename"] = "Blog"
		}
		p := r.post("p1")
		p["__typename"] = "Post"
		return []any{b, p, nil}, nil
	case "echo":
		b, err := json.Marshal(f.Args)
		return string(b), err
	case "fail":
		if f.Args["kind"] == "conflict" {
			return nil, fmt.Errorf("save: %w", &appsync.Error{
				ErrorType: appsync.ConflictUnhandled, Message: "Conflict resolver rejects mutation.",
				Data: map[string]any{"id": "p1", "_version": 3},
			})
		}
		return nil, errors.New("disk on fire")
	case "failNonNull":
		return nil, nil
	case "value":
		return r.value, nil
	case "createPost":
		in := f.Args["input"].(map[string]any)
		p := maps.Clone(in)
		p["required"] = "yes"
		p["_version"] = 1
		p["_lastChangedAt"] = 1700000000000.0
		return p, nil
	case "log":
		r.mu.Lock()
		defer r.mu.Unlock()
		r.log = append(r.log, f.Args["msg"].(string))
		return slices.Clone(r.log), nil
	}
	return nil, fmt.Errorf("no root field %s", f.Name)
}

func (r *testResolver) Field(ctx context.Context, typeName string, parent map[string]any, f Field) (any, error) {
	r.record(typeName, f)
	switch typeName + "." + f.Name {
	case "Blog.posts":
		if parent["id"] == "b2" {
			return nil, errors.New("index missing")
		}
		var items []any
		for _, p := range r.posts {
			if p["blogID"] == parent["id"] && (f.Args["status"] == nil || f.Args["status"] == p["status"]) {
				items = append(items, maps.Clone(p))
			}
		}
		return map[string]any{"items": items[:min(len(items), int(f.Args["limit"].(int64)))], "nextToken": nil}, nil
	case "Post.blog":
		if b, ok := r.blogs[parent["blogID"].(string)]; ok {
			return maps.Clone(b), nil
		}
		return nil, nil
	}
	return nil, fmt.Errorf("no field %s.%s", typeName, f.Name)
}

// run prepares and executes a request, failing the test on a prepare error.
func run(t *testing.T, e *Executor, r Resolver, query string, vars map[string]any) *appsync.Response {
	t.Helper()
	op, errs := e.Prepare(appsync.Request{Query: query, Variables: vars})
	if errs != nil {
		t.Fatalf("prepare %q: %v", query, errs[0])
	}
	return e.Execute(context.Background(), op, r)
}

// prepareErr prepares a request that must fail and returns its first error.
func prepareErr(t *testing.T, e *Executor, req appsync.Request) *appsync.Error {
	t.Helper()
	op, errs := e.Prepare(req)
	if op != nil || len(errs) == 0 {
		t.Fatalf("prepare %q: succeeded, want an error", req.Query)
	}
	for _, err := range errs {
		if err.ErrorType != appsync.ValidationError {
			t.Errorf("error %q has type %q, want ValidationError", err.Message, err.ErrorType)
		}
	}
	return errs[0]
}

// wantData checks the data of resp byte for byte (key order included).
func wantData(t *testing.T, resp *appsync.Response, want string) {
	t.Helper()
	if got := string(resp.Data); got != want {
		t.Errorf("data:\n got %s\nwant %s", got, want)
	}
	if !json.Valid(resp.Data) {
		t.Errorf("data is not valid JSON: %s", resp.Data)
	}
}

func wantNoErrors(t *testing.T, resp *appsync.Response) {
	t.Helper()
	for _, err := range resp.Errors {
		t.Errorf("unexpected error: %s (path %v)", err.Message, err.Path)
	}
}

func errorsText(errs []*appsync.Error) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "[%s] %s %v; ", e.ErrorType, e.Message, e.Path)
	}
	return b.String()
}
