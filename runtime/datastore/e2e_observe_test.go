package datastore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
)

func TestE2EObserveOrder(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	all := ds.Post.Observe(obsCtx)
	high := ds.Post.Observe(obsCtx, post.Rating.Gt(5))
	highDraft := ds.Post.Observe(obsCtx, post.Rating.Gt(5), post.Status.Eq(blogm.PostStatusDraft))

	// A sequence of creates, updates and deletes from one writer.
	var want, wantHigh, wantHighDraft []string
	note := func(op string, p *blogm.Post) {
		s := fmt.Sprintf("%s %s %d", op, p.ID, *p.Rating)
		want = append(want, s)
		if *p.Rating > 5 {
			wantHigh = append(wantHigh, s)
			if p.Status != nil && *p.Status == blogm.PostStatusDraft {
				wantHighDraft = append(wantHighDraft, s)
			}
		}
	}
	stored := map[string]*blogm.Post{}
	for i := range 600 {
		id := fmt.Sprint("p", i%40)
		switch old := stored[id]; {
		case old != nil && i%7 == 0:
			must(t, ds.Post.DeleteKey(ctx, id))
			note("DELETE", old)
			delete(stored, id)
		default:
			p := &blogm.Post{ID: id, Title: "t", Rating: ptr(i % 11)}
			if i%3 == 0 {
				p.Status = ptr(blogm.PostStatusDraft)
			}
			must(t, ds.Post.Save(ctx, p))
			op := "INSERT"
			if old != nil {
				op = "UPDATE"
			}
			note(op, p)
			stored[id] = p
		}
	}
	read := func(ch <-chan datastore.Change[blogm.Post], n int, what string) []string {
		var got []string
		for range n {
			c := recv(t, ch, what)
			if c.FromSync || c.Err != nil || c.Element == nil {
				t.Fatalf("%s: change %+v", what, c)
			}
			got = append(got, fmt.Sprintf("%s %s %d", c.Op, c.Element.ID, *c.Element.Rating))
		}
		quiet(t, ch, 20*time.Millisecond, what)
		return got
	}
	for _, c := range []struct {
		ch   <-chan datastore.Change[blogm.Post]
		want []string
		what string
	}{
		{all, want, "all"},
		{high, wantHigh, "rating > 5"},
		{highDraft, wantHighDraft, "rating > 5 and draft"},
	} {
		got := read(c.ch, len(c.want), c.what)
		if d := diffKeys(got, c.want); d != "" {
			t.Errorf("%s: %s", c.what, d)
		}
	}
}

// TestE2EObserveConcurrentWriters checks that observers see changes in
// commit order: the last change seen for each record is its final state.
func TestE2EObserveConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := ds.Post.Observe(obsCtx)
	const writers, rounds = 8, 60
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				id := fmt.Sprint("p", (w+i)%10)
				if err := ds.Post.Save(ctx, &blogm.Post{ID: id, Title: fmt.Sprintf("w%d i%d", w, i), Rating: ptr(w*1000 + i)}); err != nil {
					t.Errorf("save: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	last := map[string]*blogm.Post{}
	creates := 0
	for range writers * rounds {
		c := recv(t, ch, "concurrent change")
		if c.Op == datastore.OpCreate {
			creates++
			if last[c.Element.ID] != nil {
				t.Errorf("INSERT of %s after another change", c.Element.ID)
			}
		}
		last[c.Element.ID] = c.Element
	}
	if creates != 10 {
		t.Errorf("%d INSERTs, want 10", creates)
	}
	for id, p := range last {
		got, err := ds.Post.Get(ctx, id)
		must(t, err)
		if got.Title != p.Title {
			t.Errorf("%s: last change %q, stored %q", id, p.Title, got.Title)
		}
	}
}

func TestE2EObserveEnds(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)

	// Cancelling the context closes the channel.
	c1, cancel1 := context.WithCancel(ctx)
	ch1 := ds.Post.Observe(c1)
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "a", Title: "a"}))
	recv(t, ch1, "before cancel")
	cancel1()
	closed(t, ch1, "after cancel")
	// An observer started with a cancelled context ends at once.
	closed(t, ds.Post.Observe(c1), "cancelled context")
	closed(t, ds.Post.ObserveQuery(c1, ds.Post.Query()), "cancelled context, ObserveQuery")

	// Clear ends observers, as Amplify's clear does.
	ch2 := ds.Post.Observe(ctx)
	snaps2 := ds.Post.ObserveQuery(ctx, ds.Post.Query())
	recv(t, snaps2, "initial snapshot")
	must(t, ds.Clear(ctx))
	closed(t, ch2, "after Clear")
	closed(t, snaps2, "ObserveQuery after Clear")

	// Close ends observers, including one whose reader is not reading.
	ch3 := ds.Post.Observe(ctx)
	unread := ds.Post.Observe(ctx)
	snaps3 := ds.Post.ObserveQuery(ctx, ds.Post.Query())
	for i := range 20 {
		must(t, ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("x", i), Title: "x"}))
	}
	recv(t, ch3, "before Close")
	done := make(chan error)
	go func() { done <- ds.Close(ctx) }()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(hangGuard):
		t.Fatal("Close blocked by an observer nobody reads")
	}
	closed(t, ch3, "after Close")
	closed(t, unread, "unread after Close")
	closed(t, snaps3, "ObserveQuery after Close")
	// Observing a closed store yields a closed channel.
	closed(t, ds.Post.Observe(ctx), "Observe on closed store")
	closed(t, ds.Post.ObserveQuery(ctx, ds.Post.Query()), "ObserveQuery on closed store")
}

// TestE2EObserveSlowConsumer writes 2,000 records while an observer reads
// nothing: writers must not wait for it. Observe's channel is unbuffered,
// so any count well above the small backlog (100) shows it.
func TestE2EObserveSlowConsumer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 2_000
	write := func(ds *blogm.DataStore) time.Duration {
		t.Helper()
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			for i := range n {
				if err := ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprintf("p%05d", i), Title: "t"}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		select {
		case err := <-done:
			must(t, err)
		case <-time.After(hangGuard):
			t.Fatal("writers blocked by an observer that does not read")
		}
		return time.Since(start)
	}

	t.Run("default backlog keeps every change", func(t *testing.T) {
		ds := openBlog(t, datastore.InMemory())
		obsCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch := ds.Post.Observe(obsCtx)
		write(ds)
		for i := range n {
			c := recv(t, ch, "late reader")
			if c.Err != nil || c.Element.ID != fmt.Sprintf("p%05d", i) {
				t.Fatalf("change %d: %+v", i, c)
			}
		}
	})
	t.Run("small backlog ends with ErrSlowConsumer", func(t *testing.T) {
		ds := openBlog(t, datastore.ObserveBacklog(100))
		obsCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		slow := ds.Post.Observe(obsCtx)
		write(ds)
		changes := closed(t, slow, "slow observer")
		if len(changes) == 0 {
			t.Fatal("slow observer: channel closed with no final change")
		}
		lastC := changes[len(changes)-1]
		if !errors.Is(lastC.Err, datastore.ErrSlowConsumer) || lastC.Element != nil {
			t.Errorf("slow observer: last change %+v, want Err ErrSlowConsumer", lastC)
		}
		if len(changes) > 200 {
			t.Errorf("slow observer got %d changes with a backlog of 100", len(changes))
		}
		// The changes it did get are the first ones, in order.
		for i, c := range changes[:len(changes)-1] {
			if c.Err != nil || c.Element.ID != fmt.Sprintf("p%05d", i) {
				t.Fatalf("slow observer change %d: %+v", i, c)
			}
		}
	})
}

func TestE2EObserveQuery(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.SnapshotBatch(1000, 5*time.Millisecond))
	for i := range 6 {
		must(t, ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("p", i), Title: "t", Rating: ptr(i)}))
	}
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	q := ds.Post.Query().Where(post.Rating.Ge(2)).Order(post.Rating.Desc())
	snaps := ds.Post.ObserveQuery(obsCtx, q)
	show := func(s datastore.Snapshot[blogm.Post]) string {
		var out []string
		for _, p := range s.Items {
			out = append(out, fmt.Sprintf("%s:%d", p.ID, *p.Rating))
		}
		return strings.Join(out, " ")
	}
	// next waits for the snapshot that shows want, skipping intermediate
	// ones (a slow reader may see fewer snapshots, never a wrong one).
	next := func(want string) {
		t.Helper()
		deadline := time.After(hangGuard)
		var last string
		for {
			select {
			case s, ok := <-snaps:
				if !ok {
					t.Fatalf("channel closed waiting for %q (last %q)", want, last)
				}
				if !s.IsSynced {
					t.Errorf("IsSynced false in local-only mode")
				}
				if last = show(s); last == want {
					return
				}
			case <-deadline:
				t.Fatalf("no snapshot %q (last %q)", want, last)
			}
		}
	}
	s := recv(t, snaps, "initial snapshot")
	if got := show(s); got != "p5:5 p4:4 p3:3 p2:2" || !s.IsSynced {
		t.Errorf("initial snapshot %q synced %v", got, s.IsSynced)
	}
	// A new matching record appears in sort order.
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "new", Title: "t", Rating: ptr(4)}))
	next("p5:5 new:4 p4:4 p3:3 p2:2")
	// A record that stops matching disappears; one that starts, appears.
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p5", Title: "t", Rating: ptr(1)}))
	next("new:4 p4:4 p3:3 p2:2")
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p0", Title: "t", Rating: ptr(9)}))
	next("p0:9 new:4 p4:4 p3:3 p2:2")
	// Deleted records disappear; changes to other records change nothing
	// visible, but the snapshot is still correct.
	must(t, ds.Post.DeleteKey(ctx, "p4"))
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p1", Title: "t", Rating: ptr(0)}))
	next("p0:9 new:4 p3:3 p2:2")
	// An update that keeps the record matching moves it.
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p2", Title: "t", Rating: ptr(100)}))
	next("p2:100 p0:9 new:4 p3:3")
	// A batch arrives as one change set.
	must(t, ds.Batch(ctx, func(tx *blogm.Tx) error {
		for i := range 3 {
			if err := tx.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("b", i), Title: "t", Rating: ptr(50 + i)}); err != nil {
				return err
			}
		}
		return tx.Post.DeleteKey(ctx, "p0")
	}))
	next("p2:100 b2:52 b1:51 b0:50 new:4 p3:3")
	cancel()
	closed(t, snaps, "after cancel")
}

func TestE2EObserveQueryBatching(t *testing.T) {
	ctx := context.Background()
	show := func(s datastore.Snapshot[blogm.Post]) string {
		return strings.Join(keysOf(s.Items, postKey), " ")
	}
	t.Run("by count", func(t *testing.T) {
		ds := openBlog(t, datastore.SnapshotBatch(5, time.Hour))
		obsCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		snaps := ds.Post.ObserveQuery(obsCtx, ds.Post.Query().Order(post.ID.Asc()))
		if s := recv(t, snaps, "initial"); len(s.Items) != 0 {
			t.Errorf("initial snapshot of empty store: %q", show(s))
		}
		for i := range 4 {
			must(t, ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("p", i), Title: "t"}))
		}
		quiet(t, snaps, 100*time.Millisecond, "4 changes of 5")
		must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p4", Title: "t"}))
		if s := recv(t, snaps, "5th change"); show(s) != "p0 p1 p2 p3 p4" {
			t.Errorf("snapshot after 5 changes: %q", show(s))
		}
		// Changes to records the query does not match count too.
		must(t, ds.Post.DeleteKey(ctx, "p0"))
		quiet(t, snaps, 50*time.Millisecond, "1 change of 5")
	})
	t.Run("by window", func(t *testing.T) {
		const window = 150 * time.Millisecond
		ds := openBlog(t, datastore.SnapshotBatch(1000, window))
		obsCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		snaps := ds.Post.ObserveQuery(obsCtx, ds.Post.Query().Where(post.Title.Eq("yes")))
		recv(t, snaps, "initial")
		start := time.Now()
		must(t, ds.Post.Save(ctx, &blogm.Post{ID: "a", Title: "yes"}))
		must(t, ds.Post.Save(ctx, &blogm.Post{ID: "b", Title: "no"}))
		must(t, ds.Post.Save(ctx, &blogm.Post{ID: "c", Title: "yes"}))
		s := recv(t, snaps, "window")
		if el := time.Since(start); el < window*9/10 {
			t.Errorf("snapshot after %v, before the window of %v", el, window)
		}
		if show(s) != "a c" {
			t.Errorf("snapshot %q, want \"a c\"", show(s))
		}
		quiet(t, snaps, 2*window, "no changes")
	})
	t.Run("limit applies to each snapshot", func(t *testing.T) {
		ds := openBlog(t, datastore.SnapshotBatch(1, 0))
		obsCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		for i := range 5 {
			must(t, ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("p", i), Title: "t", Rating: ptr(i)}))
		}
		snaps := ds.Post.ObserveQuery(obsCtx, ds.Post.Query().Order(post.Rating.Desc()).Limit(2))
		if s := recv(t, snaps, "initial"); show(s) != "p4 p3" {
			t.Errorf("initial %q", show(s))
		}
		must(t, ds.Post.DeleteKey(ctx, "p4"))
		if s := recv(t, snaps, "after delete"); show(s) != "p3 p2" {
			t.Errorf("after delete %q", show(s))
		}
	})
	t.Run("unread snapshots do not block writers", func(t *testing.T) {
		ds := openBlog(t, datastore.InMemory(), datastore.SnapshotBatch(1, 0))
		obsCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		snaps := ds.Post.ObserveQuery(obsCtx, ds.Post.Query().Where(post.Rating.Gt(0)))
		for i := range 2000 {
			must(t, ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("p", i%100), Title: "t", Rating: ptr(i % 3)}))
		}
		// The reader gets the latest state.
		deadline := time.After(hangGuard)
		want, _ := ds.Post.Query().Where(post.Rating.Gt(0)).Count(ctx)
		for {
			select {
			case s := <-snaps:
				if len(s.Items) == want {
					return
				}
			case <-deadline:
				t.Fatalf("no snapshot with %d items", want)
			}
		}
	})
	_ = predicate.All[blogm.Post]
}
