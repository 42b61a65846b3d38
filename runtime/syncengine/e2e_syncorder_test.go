package syncengine_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// seedBlog saves a blog, posts and comments through a synced client and
// waits until the backend has them all.
func seedBlog(t *testing.T, b *backend, posts, comments int) {
	t.Helper()
	ctx := context.Background()
	seed := newClient(t, b, syncengine.Config{})
	blog := &blogm.Blog{ID: "b1", Name: "blog"}
	must(t, seed.ds.Blog.Save(ctx, blog))
	must(t, seed.ds.Tag.Save(ctx, &blogm.Tag{ID: "t1", Label: "tag"}))
	for i := range posts {
		must(t, seed.ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("p", i), Title: "t", BlogPostsID: &blog.ID}))
	}
	for i := range comments {
		pid := fmt.Sprint("p", i%posts)
		must(t, seed.ds.Comment.Save(ctx, &blogm.Comment{ID: fmt.Sprint("c", i), Content: "c", PostCommentsID: &pid}))
	}
	poll.Until(t, "seed outbox sent", func() bool {
		box, err := seed.ds.Store().Outbox(ctx)
		return err == nil && len(box) == 0
	})
}

// TestSyncLevelsInOrder: the models of a level sync at once and fetch
// early, yet every model applies its pages only after the models of the
// levels before it have synced, and Ready comes after every model.
func TestSyncLevelsInOrder(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, serve.Automerge)
	seedBlog(t, b, 30, 40)

	ds, err := blogm.Open(ctx, t.TempDir(), datastore.Outbox())
	must(t, err)
	defer ds.Close(context.Background())
	// Pages of 7 make every model's sync several pages long.
	eng, err := syncengine.New(ds.Store(), syncengine.Config{Endpoint: b.url, Auth: client.APIKey(apiKey), SyncPageSize: 7, MaxBackoff: 300 * time.Millisecond})
	must(t, err)
	defer eng.Close(context.Background())
	evCtx, stop := context.WithCancel(ctx)
	defer stop()
	events := eng.Events(evCtx)
	must(t, eng.Start(ctx))

	level := map[string]int{"Blog": 0, "Tag": 0, "Post": 1, "Comment": 2, "PostTags": 2}
	synced := map[string]int{}
	guard := time.After(hangGuard)
	for ready := false; !ready; {
		select {
		case ev := <-events:
			switch ev := ev.(type) {
			case syncengine.ModelSynced:
				synced[ev.Model] = ev.Items
				for m, l := range level {
					if _, done := synced[m]; !done && l < level[ev.Model] {
						t.Errorf("%s synced before %s, a model of an earlier level", ev.Model, m)
					}
				}
			case syncengine.Ready:
				ready = true
			}
		case <-guard:
			t.Fatalf("no Ready before the hang guard (synced: %v)", synced)
		}
	}
	want := map[string]int{"Blog": 1, "Tag": 1, "Post": 30, "Comment": 40, "PostTags": 0}
	for m, n := range want {
		if got, ok := synced[m]; !ok || got != n {
			t.Errorf("%s: ModelSynced with %d items (seen %v) before Ready, want %d", m, got, ok, n)
		}
	}
	cs, err := ds.Comment.Query().All(ctx)
	must(t, err)
	if len(cs) != 40 {
		t.Errorf("%d comments stored at Ready, want 40", len(cs))
	}
}

// lockedBuffer is a log sink the engine's goroutines may write at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSyncModelFailureReported: when one model's sync fails (the backend
// refuses its filter), the session fails with that model's error, Ready
// never comes, and the models after it never apply their pages, though
// its parents did.
func TestSyncModelFailureReported(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, serve.Automerge)
	seedBlog(t, b, 3, 4)

	ds, err := blogm.Open(ctx, t.TempDir(), datastore.Outbox())
	must(t, err)
	defer ds.Close(context.Background())
	logs := &lockedBuffer{}
	eng, err := syncengine.New(ds.Store(), syncengine.Config{
		Endpoint: b.url, Auth: client.APIKey(apiKey), MaxBackoff: 300 * time.Millisecond,
		Logger:          slog.New(slog.NewTextHandler(logs, nil)),
		SyncExpressions: []syncengine.SyncExpr{syncengine.SyncFilter("Post", map[string]any{"noSuchField": map[string]any{"eq": 1}})},
	})
	must(t, err)
	defer eng.Close(context.Background())
	evCtx, stop := context.WithCancel(ctx)
	defer stop()
	var mu sync.Mutex
	synced := map[string]bool{}
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for ev := range eng.Events(evCtx) {
			if ms, ok := ev.(syncengine.ModelSynced); ok {
				mu.Lock()
				synced[ms.Model] = true
				mu.Unlock()
			}
		}
	}()
	defer func() { stop(); <-collected }()
	must(t, eng.Start(ctx))

	poll.Until(t, "Blog and Tag synced, two sessions failed on Post's sync", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return synced["Blog"] && synced["Tag"] && strings.Count(logs.String(), "sync connection lost") >= 2
	})
	if l := logs.String(); !strings.Contains(l, "sync Post") {
		t.Errorf("the failure logged does not name Post's sync:\n%s", l)
	}
	select {
	case <-eng.Ready():
		t.Fatal("Ready although Post's sync failed")
	default:
	}
	mu.Lock()
	for _, m := range []string{"Post", "Comment", "PostTags"} {
		if synced[m] {
			t.Errorf("%s synced although Post's sync failed", m)
		}
	}
	mu.Unlock()
	cs, err := ds.Comment.Query().All(ctx)
	must(t, err)
	if len(cs) != 0 {
		t.Errorf("%d comments applied although their parents' sync failed", len(cs))
	}
}
