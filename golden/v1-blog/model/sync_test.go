package model

// Hand-written end-to-end test of a transformer v1 schema (kept by go test
// ./golden -update): dsgen serve built from ../schema.graphql, on loopback
// over Badger on disk, and two generated Go clients syncing through it.

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

const apiKey = "da2-v1-blog"

func startBackend(t *testing.T) string {
	t.Helper()
	sch, err := schema.LoadPath(filepath.Join("..", "schema.graphql"), schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !sch.TransformerV1 {
		t.Fatal("schema not read as transformer v1")
	}
	st, err := store.Open(context.Background(), store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serve.New(serve.Config{Schema: sch, Store: st, Auth: auth.Config{APIKeys: []auth.APIKey{{Key: apiKey}}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
		_ = st.Close()
	})
	return ts.URL + "/graphql"
}

// hangGuard only turns a hang into a failure: every wait here is for a
// condition, and a loaded machine may take long to meet it.
const hangGuard = 5 * time.Minute

func syncedClient(t *testing.T, url string) *DataStore {
	t.Helper()
	ctx := context.Background()
	ds, err := Open(ctx, t.TempDir(), datastore.Outbox())
	if err != nil {
		t.Fatal(err)
	}
	eng, err := syncengine.New(ds.Store(), syncengine.Config{Endpoint: url, Auth: client.APIKey(apiKey), MaxBackoff: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if err := eng.Close(ctx); err != nil {
			t.Errorf("engine close: %v", err)
		}
		if err := ds.Close(ctx); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-eng.Ready():
	case <-time.After(hangGuard):
		t.Fatal("engine not ready before the hang guard")
	}
	return ds
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting (hang guard): %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestV1BlogSyncsThroughServe(t *testing.T) {
	ctx := context.Background()
	url := startBackend(t)
	a, b := syncedClient(t, url), syncedClient(t, url)

	email := "ada@example.com"
	must(t, a.Author.Save(ctx, &Author{Email: email, Name: new("Ada")}))
	blog := &Blog{ID: "b1", Name: "Offline first", BlogOwnerID: &email}
	must(t, a.Blog.Save(ctx, blog))
	must(t, a.Post.Save(ctx, &Post{ID: "p1", Title: "Hello", BlogID: "b1"}))
	must(t, a.Post.Save(ctx, &Post{ID: "p2", Title: "Again", BlogID: "b1"}))
	p1 := "p1"
	must(t, a.Comment.Save(ctx, &Comment{ID: "c1", Content: "First", CommentPostID: &p1}))

	// Every connection form arrives with its keys and resolves on b.
	eventually(t, "b receives the blog, its posts and the comment", func() bool {
		c, err := b.Comment.Get(ctx, "c1")
		if err != nil || c.CommentPostID == nil || *c.CommentPostID != "p1" {
			return false
		}
		bb, err := b.Blog.Get(ctx, "b1")
		if err != nil || bb.BlogOwnerID == nil || *bb.BlogOwnerID != email {
			return false
		}
		posts, err := b.Blog.QueryPosts(bb).All(ctx)
		return err == nil && len(posts) == 2
	})
	bb, err := b.Blog.Get(ctx, "b1")
	must(t, err)
	owner, err := b.Blog.QueryOwner(bb).First(ctx)
	if err != nil || owner.Email != email {
		t.Fatalf("blog owner on b: %v, %v", owner, err)
	}
	bp, err := b.Post.Get(ctx, "p1")
	must(t, err)
	if cs, err := b.Post.QueryComments(bp).All(ctx); err != nil || len(cs) != 1 || cs[0].ID != "c1" {
		t.Fatalf("comments of p1 on b: %v, %v", cs, err)
	}
	if pb, err := b.Post.QueryBlog(bp).First(ctx); err != nil || pb.ID != "b1" {
		t.Fatalf("blog of p1 on b: %v, %v", pb, err)
	}
	if byBlog, err := b.Post.QueryByBlog("b1").All(ctx); err != nil || len(byBlog) != 2 {
		t.Fatalf("posts by the byBlog key on b: %v, %v", byBlog, err)
	}

	// Deleting the blog on b cascades to its posts and their comments, and
	// the deletes reach a.
	must(t, b.Blog.Delete(ctx, bb))
	for _, ds := range []*DataStore{a, b} {
		eventually(t, "the blog, its posts and comments are gone", func() bool {
			_, e1 := ds.Blog.Get(ctx, "b1")
			_, e2 := ds.Post.Get(ctx, "p1")
			_, e3 := ds.Post.Get(ctx, "p2")
			_, e4 := ds.Comment.Get(ctx, "c1")
			return e1 != nil && e2 != nil && e3 != nil && e4 != nil
		})
	}
	if _, err := a.Author.Get(ctx, email); err != nil {
		t.Fatalf("the blog's owner (belongs-to side) was deleted too: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
