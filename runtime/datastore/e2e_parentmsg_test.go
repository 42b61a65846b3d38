package datastore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	ckm "github.com/dsgen/dsgen/golden/composite-keys/model"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// TestMissingParentMessageShowsKeyValues saves children whose belongsTo
// parent is missing and checks that the error names the parent's key as
// the caller wrote it, not as encoded key bytes (issue 15).
func TestMissingParentMessageShowsKeyValues(t *testing.T) {
	ctx := context.Background()

	blog := openBlog(t)
	err := blog.Post.Save(ctx, &blogm.Post{ID: "p1", Title: "t", BlogPostsID: ptr("b-missing")})
	checkParentMessage(t, err, "datastore: Post.blog: ", `parent Blog "b-missing" does not exist (from blogPostsId)`)

	keys := openKeys(t)
	due, perr := scalar.ParseDate("2024-05-01")
	if perr != nil {
		t.Fatal(perr)
	}
	err = keys.Task.Save(ctx, &ckm.Task{TaskID: "t1", DueOn: due, Priority: 1,
		ProjectTasksProjectID: ptr("proj-9"), ProjectTasksName: ptr("Apollo")})
	checkParentMessage(t, err, "datastore: Task.project: ",
		`parent Project ("proj-9", "Apollo") does not exist (from projectTasksProjectId, projectTasksName)`)
}

func checkParentMessage(t *testing.T, err error, prefix, want string) {
	t.Helper()
	var ve *datastore.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("save with a missing parent: got %v, want a *datastore.ValidationError", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, want) {
		t.Errorf("message %q: want prefix %q and %q", msg, prefix, want)
	}
	for _, r := range msg {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			t.Errorf("message %q holds raw byte %q", msg, r)
		}
	}
}
