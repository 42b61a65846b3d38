package syncengine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// TestInvalidMutationGoesToDeadLetters: the backend's schema no longer has
// an enum value an older app still writes. The backend refuses that
// mutation in validation (HTTP 200, data null, as AppSync answers it); the
// engine takes the refusal as final: the change goes to the dead letters,
// the app hears of it with the backend's message, and the outbox moves on
// rather than retrying it forever.
func TestInvalidMutationGoesToDeadLetters(t *testing.T) {
	ctx := context.Background()
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "blog", "schema.graphql"))
	must(t, err)
	narrowed := strings.Replace(string(src), "  PUBLISHED\n", "", 1)
	if narrowed == string(src) {
		t.Fatal("the blog schema has no PUBLISHED value to drop")
	}
	b := newBackendSchema(t, narrowed)
	failed := make(chan syncengine.MutationFailed, 1)
	c := newClient(t, b, syncengine.Config{ErrorHandler: func(_ context.Context, f syncengine.MutationFailed) {
		select {
		case failed <- f:
		default:
		}
	}})
	must(t, c.ds.Post.Save(ctx, &blogm.Post{ID: "gone", Title: "uses a dropped value", Status: ptr(blogm.PostStatusPublished)}))
	must(t, c.ds.Post.Save(ctx, &blogm.Post{ID: "fine", Title: "after it", Status: ptr(blogm.PostStatusDraft)}))
	select {
	case f := <-failed:
		var g *client.GraphQLError
		if f.Model != "Post" || f.Op != "create" || !errors.As(f.Err, &g) || g.StatusCode != 200 ||
			g.Errors[0].ErrorType != appsync.ValidationError || !strings.Contains(g.Errors[0].Message, "PUBLISHED") {
			t.Fatalf("failure = %+v (%v), want the create refused in validation", f, f.Err)
		}
	case <-time.After(hangGuard):
		t.Fatal("the error handler was not called")
	}
	poll.Until(t, "the next change acknowledged", func() bool {
		_, ok, _ := c.ds.Post.Repo().Store().RecordSyncMeta(ctx, "Post", "fine")
		return ok
	})
	dead, err := c.ds.Post.Repo().Store().DeadLetters(ctx)
	must(t, err)
	if len(dead) != 1 || dead[0].Key[0] != "gone" || !strings.Contains(dead[0].Reason, "PUBLISHED") {
		t.Fatalf("dead letters = %+v, want the refused create", dead)
	}
}

// newBackendSchema starts a backend serving the schema in src.
func newBackendSchema(t *testing.T, src string) *backend {
	t.Helper()
	path := filepath.Join(t.TempDir(), "schema.graphql")
	must(t, os.WriteFile(path, []byte(src), 0o644))
	sch, err := schema.LoadPath(path, schema.Options{})
	must(t, err)
	return newBackendWith(t, serve.Config{Schema: sch})
}
