package syncengine_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// localPosts lists the ids of a store's posts, sorted.
func localPosts(t *testing.T, ds *blogm.DataStore) []string {
	t.Helper()
	ps, err := ds.Post.Query().All(context.Background())
	must(t, err)
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestSyncExpressionTyped syncs a store with typed selective-sync
// predicates against dsgen serve: only matching posts arrive, and a
// changed expression at the next Start makes a full sync that drops the
// posts it no longer matches.
func TestSyncExpressionTyped(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, serve.Automerge)
	seed := newClient(t, b, syncengine.Config{})
	for i := 1; i <= 6; i++ {
		st := blogm.PostStatusDraft
		if i%2 == 0 {
			st = blogm.PostStatusPublished
		}
		must(t, seed.ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("p", i), Title: "t", Rating: ptr(i), Status: &st}))
	}
	must(t, seed.ds.Tag.Save(ctx, &blogm.Tag{ID: "t1", Label: "unfiltered"}))
	poll.Until(t, "seed outbox sent", func() bool {
		box, err := seed.ds.Store().Outbox(ctx)
		return err == nil && len(box) == 0
	})

	ds, err := blogm.Open(ctx, t.TempDir(), datastore.Outbox())
	must(t, err)
	defer ds.Close(context.Background())
	threshold := 3
	cfg := syncengine.Config{Endpoint: b.url, Auth: client.APIKey(apiKey), SyncExpressions: []syncengine.SyncExpr{
		syncengine.SyncExpressionFunc(ds.Post, func() predicate.Predicate[blogm.Post] {
			return predicate.And(post.Rating.Gt(threshold), post.Status.In(blogm.PostStatusPublished))
		}),
	}}
	eng, err := syncengine.New(ds.Store(), cfg)
	must(t, err)
	defer eng.Close(context.Background())
	start := func() {
		must(t, eng.Start(ctx))
		select {
		case <-eng.Ready():
		case <-time.After(hangGuard):
			t.Fatal("engine not ready before the hang guard")
		}
	}
	start()
	if got, want := localPosts(t, ds), []string{"p4", "p6"}; !slices.Equal(got, want) {
		t.Fatalf("posts synced with rating > 3 and published: %v, want %v", got, want)
	}
	if _, err := ds.Tag.Get(ctx, "t1"); err != nil {
		t.Fatalf("a model without an expression did not sync everything: %v", err)
	}
	md, err := ds.Store().Sync().ModelMetadata(ctx, "Post")
	must(t, err)
	if md.LastSyncPredicate == nil || !strings.Contains(*md.LastSyncPredicate, `"rating":{"gt":3}`) {
		t.Fatalf("stored sync predicate %v, want the filter input", md.LastSyncPredicate)
	}

	// A narrower expression at the next start: a full sync removes p4.
	must(t, eng.Stop(ctx))
	threshold = 5
	start()
	if got, want := localPosts(t, ds), []string{"p6"}; !slices.Equal(got, want) {
		t.Fatalf("posts after narrowing to rating > 5: %v, want %v", got, want)
	}
}

// TestSyncExpressionConfigErrors: expressions naming a model twice, or a
// model of another schema, are refused by New with the reason.
func TestSyncExpressionConfigErrors(t *testing.T) {
	ctx := context.Background()
	ds, err := blogm.Open(ctx, "", datastore.InMemory(), datastore.Outbox())
	must(t, err)
	defer ds.Close(ctx)
	for _, c := range []struct {
		exprs []syncengine.SyncExpr
		want  string
	}{
		{[]syncengine.SyncExpr{syncengine.SyncExpression(ds.Post, post.Rating.Gt(1)), syncengine.SyncExpression(ds.Post)}, "a second expression for model Post"},
		{[]syncengine.SyncExpr{syncengine.SyncFilter("Nope", map[string]any{})}, `no model "Nope"`},
		{[]syncengine.SyncExpr{{}}, "is empty"},
	} {
		_, err := syncengine.New(ds.Store(), syncengine.Config{Endpoint: "http://127.0.0.1:1/graphql", Auth: client.APIKey("k"), SyncExpressions: c.exprs})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New = %v, want an error containing %q", err, c.want)
		}
	}
}
