package sdl

import (
	"slices"
	"testing"
)

// TestV1OwnerSubscriptions checks the v1 shape of owner-auth subscriptions:
// one owner argument, required unless a static groups rule also applies.
func TestV1OwnerSubscriptions(t *testing.T) {
	for _, c := range []struct {
		name, src, want string
		owners          []string
	}{
		{"owner", `type Todo @model @key(name: "byContent", fields: ["content"]) @auth(rules: [{ allow: owner }]) {
  id: ID!
  content: String!
}`, "onCreateTodo(filter: ModelSubscriptionTodoFilterInput, owner: String!): Todo", []string{"owner"}},
		{"owner and static groups", `type Todo @model @key(name: "byContent", fields: ["content"]) @auth(rules: [{ allow: owner }, { allow: groups, groups: ["Admin"] }]) {
  id: ID!
  content: String!
}`, "onCreateTodo(filter: ModelSubscriptionTodoFilterInput, owner: String): Todo", []string{"owner"}},
		{"custom owner field", `type Todo @model @key(name: "byContent", fields: ["content"]) @auth(rules: [{ allow: owner, ownerField: "author" }]) {
  id: ID!
  content: String!
  author: String
}`, "onCreateTodo(filter: ModelSubscriptionTodoFilterInput, author: String): Todo", []string{"author"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := build(t, loadSource(t, c.src))
			if got := fieldSig(api.Schema, Subscription, "onCreateTodo"); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			op, ok := api.Op(Subscription, "onCreateTodo")
			if !ok || !slices.Equal(op.OwnerArgs, c.owners) {
				t.Errorf("OwnerArgs = %v, want %v", op.OwnerArgs, c.owners)
			}
		})
	}
}

// TestV1ConnectionKeysInAPI checks that the foreign keys of v1 @connection
// fields, hidden from Amplify's introspection, are in the object type and
// the mutation inputs, so clients can write and read them.
func TestV1ConnectionKeysInAPI(t *testing.T) {
	api := build(t, loadSource(t, `type Post @model {
  id: ID!
  comments: [Comment] @connection(name: "PostComments")
}
type Comment @model {
  id: ID!
  post: Post @connection(name: "PostComments")
}`))
	if got := fieldSig(api.Schema, "Comment", "commentPostId"); got != "commentPostId(): ID" {
		t.Errorf("Comment.commentPostId = %q", got)
	}
	for _, in := range []string{"CreateCommentInput", "UpdateCommentInput"} {
		if d := api.Schema.Types[in]; d == nil || d.Fields.ForName("commentPostId") == nil {
			t.Errorf("%s has no commentPostId", in)
		}
	}
}

// TestV1SyncQueryWithoutQueries: the v1 transformer gives every model a
// sync query once conflict detection is on, even with @model(queries:
// null); v2 leaves it out with the other queries.
func TestV1SyncQueryWithoutQueries(t *testing.T) {
	for _, c := range []struct {
		name, src string
		sync      bool
	}{
		{"v1", `type Member @model(queries: null) @key(name: "byClub", fields: ["clubID"]) {
  id: ID!
  clubID: ID!
}`, true},
		{"v2", `type Member @model(queries: null) {
  id: ID!
  clubID: ID! @index(name: "byClub")
}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := build(t, loadSource(t, c.src))
			if _, ok := api.Op(Query, "syncMembers"); ok != c.sync {
				t.Errorf("syncMembers served: %v, want %v", ok, c.sync)
			}
			for _, q := range []string{"getMember", "listMembers"} {
				if _, ok := api.Op(Query, q); ok {
					t.Errorf("%s served with queries: null", q)
				}
			}
		})
	}
}
