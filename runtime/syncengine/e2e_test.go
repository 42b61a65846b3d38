package syncengine_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// hangGuard bounds a wait for something that must happen, so a broken
// test fails instead of hanging. It is no timing assertion: minutes, so a
// loaded machine never trips it.
const hangGuard = 5 * time.Minute

const apiKey = "da2-engine-test"

// backend is dsgen serve in-process on loopback, over Badger on disk.
type backend struct {
	url string
	srv *serve.Server
	ts  *httptest.Server
	st  store.Store // the server's store, for seeding it directly
}

func newBackend(t *testing.T, strategy serve.Strategy) *backend {
	t.Helper()
	return newBackendWith(t, serve.Config{DefaultConflict: strategy})
}

// newBackendWith starts a backend with cfg (Store and Auth are filled in,
// and Schema with the blog example's when nil).
func newBackendWith(t *testing.T, cfg serve.Config) *backend {
	t.Helper()
	if cfg.Schema == nil {
		sch, err := schema.LoadPath(filepath.Join("..", "..", "examples", "blog", "schema.graphql"), schema.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Schema = sch
	}
	st, err := store.Open(context.Background(), store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = st
	cfg.Auth = auth.Config{APIKeys: []auth.APIKey{{Key: apiKey}}}
	srv, err := serve.New(cfg)
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
	return &backend{url: ts.URL + "/graphql", srv: srv, ts: ts, st: st}
}

// goClient is a Go app: a generated blog store with a sync engine.
type goClient struct {
	ds  *blogm.DataStore
	eng *syncengine.Engine
}

func newClient(t *testing.T, b *backend, cfg syncengine.Config) *goClient {
	t.Helper()
	ctx := context.Background()
	ds, err := blogm.Open(ctx, t.TempDir(), datastore.Outbox())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Endpoint, cfg.Auth = b.url, client.APIKey(apiKey)
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 300 * time.Millisecond
	}
	eng, err := syncengine.New(ds.Store(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return runClient(t, ds, eng)
}

// runClient starts eng on ds and closes both when the test ends.
func runClient(t *testing.T, ds *blogm.DataStore, eng *syncengine.Engine) *goClient {
	t.Helper()
	c := &goClient{ds: ds, eng: eng}
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
	c.start(t)
	return c
}

func (c *goClient) start(t *testing.T) {
	t.Helper()
	if err := c.eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.eng.Ready():
	case <-time.After(hangGuard):
		t.Fatal("engine not ready before the hang guard")
	}
}

func (c *goClient) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := c.eng.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func (c *goClient) post(t *testing.T, id string) *blogm.Post {
	t.Helper()
	p, err := c.ds.Post.Get(context.Background(), id)
	if err != nil {
		return nil
	}
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestTwoClientsConverge(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, serve.Automerge)
	a := newClient(t, b, syncengine.Config{})
	c := newClient(t, b, syncengine.Config{})

	blog := &blogm.Blog{ID: "b1", Name: "Offline first"}
	must(t, a.ds.Blog.Save(ctx, blog))
	must(t, a.ds.Post.Save(ctx, &blogm.Post{ID: "p1", Title: "Hello", Rating: ptr(3), BlogPostsID: &blog.ID}))
	poll.Until(t, "client c receives p1 through its subscription", func() bool {
		p := c.post(t, "p1")
		return p != nil && p.Title == "Hello" && p.BlogPostsID != nil && *p.BlogPostsID == "b1"
	})

	// c goes offline and edits; a edits another record meanwhile.
	c.stop(t)
	p, err := c.ds.Post.Get(ctx, "p1")
	must(t, err)
	p.Title = "Edited offline"
	must(t, c.ds.Post.Save(ctx, p))
	must(t, a.ds.Post.Save(ctx, &blogm.Post{ID: "p2", Title: "While c was away", BlogPostsID: &blog.ID}))
	poll.Until(t, "a's p2 acknowledged", func() bool {
		_, ok, _ := a.ds.Post.Repo().Store().RecordSyncMeta(ctx, "Post", "p2")
		return ok
	})
	if c.post(t, "p2") != nil {
		t.Fatal("an offline client received p2")
	}
	c.start(t)
	poll.Until(t, "c catches up with p2 and a receives c's offline edit", func() bool {
		ap, cp := a.post(t, "p1"), c.post(t, "p2")
		return ap != nil && ap.Title == "Edited offline" && cp != nil && cp.Title == "While c was away"
	})

	// A delete reaches the other client.
	must(t, a.ds.Post.Delete(ctx, a.post(t, "p2")))
	poll.Until(t, "c sees the delete", func() bool { return c.post(t, "p2") == nil })

	for _, cl := range []*goClient{a, c} {
		poll.Until(t, "outbox empty", func() bool {
			box, err := cl.ds.Post.Repo().Store().Outbox(ctx)
			return err == nil && len(box) == 0
		})
	}
	sm, _, _ := c.ds.Post.Repo().Store().RecordSyncMeta(ctx, "Post", "p1")
	am, _, _ := a.ds.Post.Repo().Store().RecordSyncMeta(ctx, "Post", "p1")
	if sm.Version != am.Version || sm.Version < 2 {
		t.Fatalf("p1 versions differ: a %d, c %d", am.Version, sm.Version)
	}
}
