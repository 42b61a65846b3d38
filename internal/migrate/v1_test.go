package migrate

import (
	"fmt"
	"slices"
	"testing"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/runtime/meta"
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

// loadPair loads a v1 schema and its v2 rewrite, and returns the lock of the
// first and the plan from it to the second.
func loadPair(t *testing.T, v1, v2 string) (*Lock, *Plan, *Lock) {
	t.Helper()
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
	next, err := NewLock(s2, lock)
	if err != nil {
		t.Fatal(err)
	}
	return lock, p, next
}

// fieldSteps returns the plan's steps that add, drop, rename or retype a
// field, as "kind Model.field" (with "from->to" for renames).
func fieldSteps(p *Plan) []string {
	var out []string
	for _, s := range p.Steps {
		switch s.Kind {
		case meta.AddField, meta.DropField, meta.ChangeFieldType:
			out = append(out, fmt.Sprintf("%s %s.%s", s.Kind, s.Model, s.Field))
		case meta.RenameField:
			out = append(out, fmt.Sprintf("%s %s.%s->%s", s.Kind, s.Model, s.From, s.To))
		}
	}
	return out
}

// TestV1NamedConnectionKeyRenamed checks the one implicit connection form
// whose foreign key changes name in the v2 rewrite: a named one-to-many
// pair keys Comment by commentPostId in v1 and by postCommentsId in v2. The
// plan renames the field (same id, so stored values and unsent mutations
// keep the Post id) instead of dropping it and adding an empty one.
func TestV1NamedConnectionKeyRenamed(t *testing.T) {
	lock, p, next := loadPair(t, `type Post @model {
  id: ID!
  title: String
  comments: [Comment] @connection(name: "PostComments")
}
type Comment @model {
  id: ID!
  content: String
  post: Post! @connection(name: "PostComments")
}
`, `type Post @model {
  id: ID!
  title: String
  comments: [Comment] @hasMany
}
type Comment @model {
  id: ID!
  content: String
  post: Post! @belongsTo
}
`)
	// The v2 implicit key of a required @belongsTo is nullable: relaxing
	// it keeps every value.
	want := []string{"renameField Comment.commentPostId->postCommentsId", "changeFieldType Comment.postCommentsId"}
	if got := fieldSteps(p); !slices.Equal(got, want) {
		t.Fatalf("field steps %q, want %q; plan %+v", got, want, p.Steps)
	}
	oldID := lock.Model("Comment").Field("commentPostId").ID
	for _, s := range p.Steps {
		if s.Field != "" && (s.FieldID != oldID || s.Effect != meta.Preserving) {
			t.Errorf("step %s has field id %d effect %v, want id %d, preserving", s, s.FieldID, s.Effect, oldID)
		}
	}
	if f := next.Model("Comment").Field("postCommentsId"); f == nil || f.ID != oldID {
		t.Errorf("the next lock gives Comment.postCommentsId %+v, want id %d", f, oldID)
	}
	if next.Model("Comment").Field("commentPostId") != nil {
		t.Error("the next lock still has Comment.commentPostId")
	}
}

// TestV1ImplicitConnectionKeysKeepNames checks the implicit forms whose
// foreign keys v1 and v2 name alike: an unnamed list @connection and its
// @hasMany (postCommentsId), an unnamed single @connection and its @hasOne
// (projectTeamId), and a named one-to-one pair and its @hasOne/@belongsTo
// (both sides keep their keys). Their rewrites move no field.
func TestV1ImplicitConnectionKeysKeepNames(t *testing.T) {
	cases := []struct{ name, v1, v2 string }{
		{"unnamed hasMany", `type Post @model { id: ID! comments: [Comment] @connection }
type Comment @model { id: ID! content: String }`, `type Post @model { id: ID! comments: [Comment] @hasMany }
type Comment @model { id: ID! content: String }`},
		{"unnamed hasOne", `type Project @model { id: ID! team: Team @connection }
type Team @model { id: ID! name: String }`, `type Project @model { id: ID! team: Team @hasOne }
type Team @model { id: ID! name: String }`},
		// What Amplify's migrator writes for @connection(fields) on a single
		// field with no list on the other side.
		{"hasOne with fields", `type Project @model { id: ID! teamID: ID team: Team @connection(fields: ["teamID"]) }
type Team @model { id: ID! name: String }`, `type Project @model { id: ID! teamID: ID team: Team @hasOne(fields: ["teamID"]) }
type Team @model { id: ID! name: String }`},
		{"named hasOne pair", `type Project @model { id: ID! team: Team @connection(name: "PT") }
type Team @model { id: ID! name: String project: Project @connection(name: "PT") }`, `type Project @model { id: ID! team: Team @hasOne }
type Team @model { id: ID! name: String project: Project @belongsTo }`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, p, _ := loadPair(t, c.v1, c.v2)
			if got := fieldSteps(p); len(got) > 0 {
				t.Errorf("field steps %q, want none; plan %+v", got, p.Steps)
			}
		})
	}
}

// TestV1UnnamedConnectionPairDropsSecondKey records what Amplify's migrator
// output does to two unnamed @connection fields on both sides of a
// one-to-many: v1 keeps two independent keys on Comment (postCommentsId for
// Post.comments, commentPostId for Comment.post); the rewrite, @hasMany and
// @belongsTo, relates them through postCommentsId only, so commentPostId
// is dropped and postCommentsId keeps its values.
func TestV1UnnamedConnectionPairDropsSecondKey(t *testing.T) {
	_, p, _ := loadPair(t, `type Post @model { id: ID! comments: [Comment] @connection }
type Comment @model { id: ID! content: String post: Post @connection }`,
		`type Post @model { id: ID! comments: [Comment] @hasMany }
type Comment @model { id: ID! content: String post: Post @belongsTo }`)
	want := []string{"dropField Comment.commentPostId"}
	if got := fieldSteps(p); !slices.Equal(got, want) {
		t.Errorf("field steps %q, want %q", got, want)
	}
}
