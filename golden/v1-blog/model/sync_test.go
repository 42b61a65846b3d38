package model

// Hand-written end-to-end test of a transformer v1 schema (kept by go test
// ./golden -update): dsgen serve built from ../schema.graphql, on loopback
// over Badger on disk, and two generated Go clients syncing through it.

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
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
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if err := ds.Close(ctx); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	startEngine(t, ds, url)
	return ds
}

// startEngine syncs ds with the backend at url until the test ends or the
// returned function stops it (taking ds offline).
func startEngine(t *testing.T, ds *DataStore, url string) (stop func()) {
	t.Helper()
	eng, err := syncengine.New(ds.Store(), syncengine.Config{Endpoint: url, Auth: client.APIKey(apiKey), MaxBackoff: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			if err := eng.Close(ctx); err != nil {
				t.Errorf("engine close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-eng.Ready():
	case <-time.After(hangGuard):
		t.Fatal("engine not ready before the hang guard")
	}
	return stop
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

// TestV1VersionedSyncsThroughServe syncs a @versioned model: the server's
// version counter reaches every client, queued updates each carry the
// version they expect, and an offline edit made on an older copy is refused
// by the server (a dead letter) and the local copy becomes the server's.
func TestV1VersionedSyncsThroughServe(t *testing.T) {
	ctx := context.Background()
	url := startBackend(t)
	a, b := syncedClient(t, url), syncedClient(t, url)

	must(t, a.Draft.Save(ctx, &Draft{ID: "d1", Text: "one"}))
	eventually(t, "b receives the draft at version 1", func() bool {
		d, err := b.Draft.Get(ctx, "d1")
		return err == nil && d.Version == 1 && d.Text == "one"
	})

	// Two updates in a row on b: each is based on the version the one
	// before it produced.
	d, err := b.Draft.Get(ctx, "d1")
	must(t, err)
	d.Text = "two"
	must(t, b.Draft.Save(ctx, d))
	d.Text = "three"
	must(t, b.Draft.Save(ctx, d))
	eventually(t, "a receives b's last update with the server's version", func() bool {
		got, err := a.Draft.Get(ctx, "d1")
		mine, err2 := b.Draft.Get(ctx, "d1")
		return err == nil && err2 == nil && got.Text == "three" && got.Version >= 2 && got.Version == mine.Version
	})
	for name, ds := range map[string]*DataStore{"a": a, "b": b} {
		if dl, err := ds.Store().DeadLetters(ctx); err != nil || len(dl) != 0 {
			t.Fatalf("%s: dead letters %v, %v; want none", name, dl, err)
		}
	}

	// c goes offline and edits the copy a has since replaced.
	c, err := Open(ctx, t.TempDir(), datastore.Outbox())
	must(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	stop := startEngine(t, c, url)
	cur, err := a.Draft.Get(ctx, "d1")
	must(t, err)
	eventually(t, "c has the current draft", func() bool {
		got, err := c.Draft.Get(ctx, "d1")
		return err == nil && got.Version == cur.Version
	})
	stop()
	cur.Text = "from a"
	must(t, a.Draft.Save(ctx, cur))
	eventually(t, "a's update is acknowledged", func() bool {
		got, err := a.Draft.Get(ctx, "d1")
		return err == nil && got.Version == cur.Version+1
	})
	old, err := c.Draft.Get(ctx, "d1")
	must(t, err)
	old.Text = "from c"
	must(t, c.Draft.Save(ctx, old))
	startEngine(t, c, url)
	eventually(t, "c's stale edit is refused and c takes the server's copy", func() bool {
		got, err := c.Draft.Get(ctx, "d1")
		dl, err2 := c.Store().DeadLetters(ctx)
		return err == nil && err2 == nil && got.Text == "from a" && got.Version == cur.Version+1 && len(dl) == 1
	})
	dl, err := c.Store().DeadLetters(ctx)
	must(t, err)
	if !strings.Contains(dl[0].Reason, "ConditionalCheckFailed") {
		t.Errorf("dead letter reason %q, want the failed condition", dl[0].Reason)
	}
	if got, err := b.Draft.Get(ctx, "d1"); err != nil || got.Text == "from c" {
		t.Fatalf("b has %v, %v; c's refused edit must not reach it", got, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
