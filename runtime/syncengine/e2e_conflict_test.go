package syncengine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// offlineConflict makes a and c edit p1 while c is offline, a first, and
// returns once both have settled.
func offlineConflict(t *testing.T, a, c *goClient, aEdit, cEdit func(*blogm.Post)) {
	t.Helper()
	ctx := context.Background()
	must(t, a.ds.Post.Save(ctx, &blogm.Post{ID: "p1", Title: "base", Rating: ptr(1), Status: ptr(blogm.PostStatusDraft)}))
	poll.Until(t, "c has p1", func() bool { return c.post(t, "p1") != nil })
	c.stop(t)
	p := a.post(t, "p1")
	aEdit(p)
	must(t, a.ds.Post.Save(ctx, p))
	poll.Until(t, "a's edit acknowledged", func() bool {
		sm, _, _ := a.ds.Post.Repo().Store().RecordSyncMeta(ctx, "Post", "p1")
		return sm.Version == 2
	})
	q := c.post(t, "p1")
	cEdit(q)
	must(t, c.ds.Post.Save(ctx, q))
	c.start(t)
	for _, cl := range []*goClient{a, c} {
		poll.Until(t, "outbox empty", func() bool {
			box, err := cl.ds.Post.Repo().Store().Outbox(ctx)
			return err == nil && len(box) == 0
		})
	}
}

func converged(t *testing.T, a, c *goClient, want func(*blogm.Post) bool) {
	t.Helper()
	poll.Until(t, "both clients hold the expected p1", func() bool {
		ap, cp := a.post(t, "p1"), c.post(t, "p1")
		return ap != nil && cp != nil && want(ap) && want(cp)
	})
}

func TestConflictAutomerge(t *testing.T) {
	b := newBackend(t, serve.Automerge)
	a := newClient(t, b, syncengine.Config{})
	c := newClient(t, b, syncengine.Config{})
	offlineConflict(t, a, c,
		func(p *blogm.Post) { p.Title = "a's title" },
		func(p *blogm.Post) { p.Title = "c's title"; p.Rating = ptr(5) })
	// AppSync automerge: the server's scalars win; c's change to a field
	// the server had not changed (rating) is also a scalar, so it loses too.
	converged(t, a, c, func(p *blogm.Post) bool { return p.Title == "a's title" && *p.Rating == 1 })
}

func TestConflictOptimisticRetry(t *testing.T) {
	b := newBackend(t, serve.Optimistic)
	var seen atomic.Int32
	a := newClient(t, b, syncengine.Config{})
	c := newClient(t, b, syncengine.Config{ConflictHandler: func(_ context.Context, cf syncengine.Conflict) syncengine.Resolution {
		seen.Add(1)
		if cf.Remote["title"] != "a's title" {
			t.Errorf("conflict remote = %v, want a's title", cf.Remote)
		}
		return syncengine.Retry(cf.Local)
	}})
	offlineConflict(t, a, c,
		func(p *blogm.Post) { p.Title = "a's title" },
		func(p *blogm.Post) { p.Rating = ptr(5) })
	if seen.Load() == 0 {
		t.Fatal("the conflict handler was never called")
	}
	// Only c's changed field (rating) was resent on the server's version.
	converged(t, a, c, func(p *blogm.Post) bool { return p.Title == "a's title" && *p.Rating == 5 })
}

func TestConflictOptimisticDiscard(t *testing.T) {
	b := newBackend(t, serve.Optimistic)
	a := newClient(t, b, syncengine.Config{})
	events := make(chan syncengine.Event, 1000)
	c := newClient(t, b, syncengine.Config{ConflictHandler: func(context.Context, syncengine.Conflict) syncengine.Resolution {
		return syncengine.Discard()
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ev := range c.eng.Events(ctx) {
			select {
			case events <- ev:
			default:
			}
		}
	}()
	offlineConflict(t, a, c,
		func(p *blogm.Post) { p.Title = "a's title" },
		func(p *blogm.Post) { p.Title = "c's title" })
	converged(t, a, c, func(p *blogm.Post) bool { return p.Title == "a's title" })
	deadline := time.After(hangGuard)
	for {
		select {
		case ev := <-events:
			if cs, ok := ev.(syncengine.ConflictSeen); ok && cs.Resolution == "discard" {
				return
			}
		case <-deadline:
			t.Fatal("no ConflictSeen{discard} event")
		}
	}
}

func TestRefusedMutationGoesToDeadLetters(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, serve.Automerge)
	a := newClient(t, b, syncengine.Config{})
	failed := make(chan syncengine.MutationFailed, 1)
	c := newClient(t, b, syncengine.Config{ErrorHandler: func(_ context.Context, f syncengine.MutationFailed) {
		select {
		case failed <- f:
		default:
		}
	}})
	// Both create the same id; c's create, sent later, is refused.
	c.stop(t)
	must(t, c.ds.Post.Save(ctx, &blogm.Post{ID: "dup", Title: "c's"}))
	must(t, a.ds.Post.Save(ctx, &blogm.Post{ID: "dup", Title: "a's"}))
	poll.Until(t, "a's create acknowledged", func() bool {
		_, ok, _ := a.ds.Post.Repo().Store().RecordSyncMeta(ctx, "Post", "dup")
		return ok
	})
	c.start(t)
	select {
	case f := <-failed:
		if f.Model != "Post" || f.Op != "create" {
			t.Fatalf("failure = %+v", f)
		}
	case <-time.After(hangGuard):
		t.Fatal("the error handler was not called")
	}
	dead, err := c.ds.Post.Repo().Store().DeadLetters(ctx)
	must(t, err)
	if len(dead) != 1 || dead[0].Key[0] != "dup" {
		t.Fatalf("dead letters = %+v", dead)
	}
}

func TestConditionCheckedByTheBackend(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, serve.Automerge)
	a := newClient(t, b, syncengine.Config{})
	c := newClient(t, b, syncengine.Config{})
	must(t, a.ds.Post.Save(ctx, &blogm.Post{ID: "p1", Title: "t", Rating: ptr(1)}))
	poll.Until(t, "c has p1", func() bool { return c.post(t, "p1") != nil })
	c.stop(t)
	p := a.post(t, "p1")
	p.Rating = ptr(9)
	must(t, a.ds.Post.Save(ctx, p))
	poll.Until(t, "a's edit acknowledged", func() bool {
		sm, _, _ := a.ds.Store().RecordSyncMeta(ctx, "Post", "p1")
		return sm.Version == 2
	})
	// True on c's stale copy, false on the server's.
	q := c.post(t, "p1")
	q.Title = "only if rating < 5"
	must(t, c.ds.Post.Save(ctx, q, datastore.If(post.Rating.Lt(5))))
	c.start(t)
	poll.Until(t, "the refused conditional update is a dead letter", func() bool {
		dead, err := c.ds.Store().DeadLetters(ctx)
		return err == nil && len(dead) == 1 && dead[0].Op == datastore.MutationUpdate
	})
	if got := a.post(t, "p1"); got.Title != "t" {
		t.Fatalf("the server applied a write whose condition failed: %q", got.Title)
	}
}

func TestConflictNoneLastWriterWins(t *testing.T) {
	b := newBackend(t, serve.None)
	a := newClient(t, b, syncengine.Config{})
	c := newClient(t, b, syncengine.Config{})
	offlineConflict(t, a, c,
		func(p *blogm.Post) { p.Title = "a's title" },
		func(p *blogm.Post) { p.Title = "c's title" })
	converged(t, a, c, func(p *blogm.Post) bool { return p.Title == "c's title" })
}

func TestConflictCustomWebhook(t *testing.T) {
	var calls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var in struct {
			NewItem, ExistingItem map[string]any
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// Resolve by joining both titles.
		item := in.ExistingItem
		item["title"] = fmt.Sprint(in.ExistingItem["title"], " + ", in.NewItem["title"])
		_ = json.NewEncoder(w).Encode(map[string]any{"action": "RESOLVE", "item": item})
	}))
	defer hook.Close()
	b := newBackendWith(t, serve.Config{DefaultConflict: serve.Custom, ConflictWebhook: hook.URL})
	a := newClient(t, b, syncengine.Config{})
	c := newClient(t, b, syncengine.Config{})
	offlineConflict(t, a, c,
		func(p *blogm.Post) { p.Title = "a's title" },
		func(p *blogm.Post) { p.Title = "c's title" })
	converged(t, a, c, func(p *blogm.Post) bool { return p.Title == "a's title + c's title" })
	if calls.Load() == 0 {
		t.Fatal("the webhook was never called")
	}
}
