package migrate

import (
	"testing"

	"github.com/dsgen/dsgen/internal/schema"
)

// TestV1ToV2RewriteMovesNoData checks that rewriting a transformer v1 schema
// with the equivalent v2 directives, against the lock of the v1 schema,
// plans no steps: both map onto the same metadata, so stored data stays.
func TestV1ToV2RewriteMovesNoData(t *testing.T) {
	v1 := `type Blog @model {
  id: ID!
  name: String!
  posts: [Post] @connection(keyName: "byBlog", fields: ["id"])
}
type Post @model @key(fields: ["id"]) @key(name: "byBlog", fields: ["blogID", "title"], queryField: "postsByBlog") {
  id: ID!
  title: String!
  blogID: ID!
  blog: Blog @connection(fields: ["blogID"])
}
type Author @model @key(fields: ["email", "name"]) {
  email: String!
  name: String!
}
`
	v2 := `type Blog @model {
  id: ID!
  name: String!
  posts: [Post] @hasMany(indexName: "byBlog", fields: ["id"])
}
type Post @model {
  id: ID! @primaryKey
  title: String!
  blogID: ID! @index(name: "byBlog", sortKeyFields: ["title"], queryField: "postsByBlog")
  blog: Blog @belongsTo(fields: ["blogID"])
}
type Author @model {
  email: String! @primaryKey(sortKeyFields: ["name"])
  name: String!
}
`
	s1, err := schema.Load([]schema.Source{{Name: "v1.graphql", Input: v1}}, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := schema.Load([]schema.Source{{Name: "v2.graphql", Input: v2}}, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !s1.TransformerV1 || s2.TransformerV1 {
		t.Fatalf("transformer detection: v1 %v, v2 %v", s1.TransformerV1, s2.TransformerV1)
	}
	lock, err := NewLock(s1, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Diff(lock, s2)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Unchanged() {
		t.Errorf("the v2 rewrite plans %d steps, want none: %+v", len(p.Steps), p.Steps)
	}
	if s1.Version != s2.Version {
		t.Errorf("schema versions differ: v1 %s, v2 %s", s1.Version, s2.Version)
	}
}
