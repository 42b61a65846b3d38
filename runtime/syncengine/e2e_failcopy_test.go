package syncengine_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// TestRefusedMutationWhenTheCopyCannotBeFetched: the backend refuses a
// create (the id exists there), and the connection drops before the
// engine can fetch the backend's copy of the record. The refused change
// must not stay the local record: the engine keeps the mutation queued,
// reconnects, and the client ends with the backend's copy. Before, it
// dead-lettered the change without the copy and kept "c's" locally for
// good (a later sync did not replace it: its sync metadata already had
// the backend's version). TestRandomConvergence diverged that way under
// load.
func TestRefusedMutationWhenTheCopyCannotBeFetched(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, serve.Automerge)
	a := newClient(t, b, syncengine.Config{})

	// c reaches the backend through a proxy that drops the connection of
	// the next getPost request while armed.
	proxy := newDropProxy(t, b, "getPost(", false)
	c := newClient(t, &backend{url: proxy.url}, syncengine.Config{})

	// Both create the same id; c's create, sent later, is refused.
	c.stop(t)
	must(t, c.ds.Post.Save(ctx, &blogm.Post{ID: "dup", Title: "c's"}))
	must(t, a.ds.Post.Save(ctx, &blogm.Post{ID: "dup", Title: "a's"}))
	poll.Until(t, "a's create acknowledged", func() bool {
		_, ok, _ := a.ds.Store().RecordSyncMeta(ctx, "Post", "dup")
		return ok
	})
	proxy.armed.Store(1)
	c.start(t)
	poll.Until(t, "c's outbox is empty", func() bool {
		out, err := c.ds.Store().Outbox(ctx)
		return err == nil && len(out) == 0 && proxy.dropped.Load() == 1
	})
	if got := c.post(t, "dup"); got == nil || got.Title != "a's" {
		t.Fatalf("c holds %+v after its create was refused; want the backend's copy (title \"a's\")", got)
	}
	if srv := a.post(t, "dup"); srv.Title != "a's" {
		t.Fatalf("the backend took the refused create: %+v", srv)
	}
	// The resend met the existing key again; the backend's record is a's,
	// not this create landed earlier, so the app must hear of it.
	dead, err := c.ds.Store().DeadLetters(ctx)
	must(t, err)
	if len(dead) != 1 || dead[0].Op != "create" || dead[0].Data["title"] != "c's" {
		t.Fatalf("c's dead letters: %+v; want its refused create of \"c's\"", dead)
	}
}

// TestResentCreateThatLanded: a create reaches the backend but its answer
// is lost (the connection drops after the backend committed it). The
// resend is refused because the key exists; the backend's record holds
// what the create sent, so it is the earlier send that landed: the
// mutation completes, with no dead letter, and the client keeps the
// backend's copy (version 1).
func TestResentCreateThatLanded(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, serve.Automerge)
	proxy := newDropProxy(t, b, "createPost(", true)
	c := newClient(t, &backend{url: proxy.url}, syncengine.Config{})
	a := newClient(t, b, syncengine.Config{})

	proxy.armed.Store(1)
	rating := 4
	must(t, c.ds.Post.Save(ctx, &blogm.Post{ID: "once", Title: "c's", Rating: &rating}))
	poll.Until(t, "c's outbox is empty", func() bool {
		out, err := c.ds.Store().Outbox(ctx)
		return err == nil && len(out) == 0 && proxy.dropped.Load() == 1
	})
	dead, err := c.ds.Store().DeadLetters(ctx)
	must(t, err)
	if len(dead) != 0 {
		t.Fatalf("c's dead letters: %+v; want none (its create landed)", dead)
	}
	if got := c.post(t, "once"); got == nil || got.Title != "c's" {
		t.Fatalf("c holds %+v; want its own create", got)
	}
	meta, ok, err := c.ds.Store().RecordSyncMeta(ctx, "Post", "once")
	must(t, err)
	if !ok || meta.Version != 1 {
		t.Fatalf("c's sync metadata of the post: %+v (found %v); want the backend's version 1", meta, ok)
	}
	poll.Until(t, "a receives the post", func() bool {
		got := a.post(t, "once")
		return got != nil && got.Title == "c's"
	})
}

// dropProxy is a reverse proxy to a backend that, while armed, drops the
// connection of the next POST whose body contains match: before the
// backend sees it, or (forward) after the backend answered it, so that the
// request took effect and its answer is lost.
type dropProxy struct {
	url            string
	armed, dropped atomic.Int32
}

func newDropProxy(t *testing.T, b *backend, match string, forward bool) *dropProxy {
	t.Helper()
	target, err := url.Parse(b.ts.URL)
	must(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &dropProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte(match)) && p.armed.CompareAndSwap(1, 0) {
				if forward {
					rp.ServeHTTP(httptest.NewRecorder(), r)
				}
				p.dropped.Add(1)
				panic(http.ErrAbortHandler) // the connection drops, no answer
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL + "/graphql"
	return p
}
