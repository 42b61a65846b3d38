package client_test

import (
	"testing"

	"github.com/dsgen/dsgen/internal/testenv"
)

// TestDocumentsV1PartialArguments: the documents of a transformer v1 model
// with partial @model arguments use the fields the v1 API has: the renamed
// get, the sync query, only the listed subscription; none for the
// operations the arguments drop. Each document validates against the API
// dsgen serve builds.
func TestDocumentsV1PartialArguments(t *testing.T) {
	s := testenv.LoadSchema(t, `type Post @model(queries: {get: "fetchPost"}, mutations: {create: "addPost", update: "editPost"}, subscriptions: {onCreate: ["postAdded"]}) @key(fields: ["id"]) { id: ID! title: String }`)
	d := docsFor(t, s, "Post")
	if d.GetField != "fetchPost" || d.SyncField != "syncPosts" {
		t.Errorf("get %q, sync %q; want fetchPost and syncPosts", d.GetField, d.SyncField)
	}
	if d.CreateField != "addPost" || d.UpdateField != "editPost" || d.DeleteField != "" || d.Delete != "" {
		t.Errorf("create %q, update %q, delete %q (document %q); want addPost, editPost and no delete", d.CreateField, d.UpdateField, d.DeleteField, d.Delete)
	}
	if d.OnCreateField != "postAdded" || d.OnUpdateField != "" || d.OnUpdate != "" || d.OnDeleteField != "" {
		t.Errorf("subscriptions %q %q %q; want postAdded only", d.OnCreateField, d.OnUpdateField, d.OnDeleteField)
	}
	assertValid(t, s)
}
