package datastore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/runtime/datastore"
)

// describe renders a store-wide change as "OP Model id", from the typed
// element the generated store registers.
func describe(t *testing.T, c datastore.StoreChange) string {
	t.Helper()
	if c.Err != nil {
		t.Fatalf("change with error: %v", c.Err)
	}
	var id string
	switch v := c.Element.(type) {
	case *blogm.Blog:
		id = v.ID
	case *blogm.Post:
		id = v.ID
	case *blogm.Comment:
		id = v.ID
	default:
		t.Fatalf("%s change: element %T, want the generated type", c.Model, c.Element)
	}
	return fmt.Sprintf("%s %s %s", c.Op, c.Model, id)
}

// TestE2EStoreObserve checks DataStore.Observe: changes of every model in
// commit order, typed elements, batches together, cascades, FromSync for
// records the sync engine applies, and the end of the channel at Clear.
func TestE2EStoreObserve(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	all := ds.Observe(obsCtx)
	second := ds.Observe(obsCtx)

	var want []string
	for i := range 30 {
		switch i % 3 {
		case 0:
			must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: fmt.Sprint("b", i), Name: "n"}))
			want = append(want, fmt.Sprintf("INSERT Blog b%d", i))
		case 1:
			must(t, ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("p", i), Title: "t", BlogPostsID: ptr(fmt.Sprint("b", i-1))}))
			want = append(want, fmt.Sprintf("INSERT Post p%d", i))
		case 2:
			must(t, ds.Comment.Save(ctx, &blogm.Comment{ID: fmt.Sprint("c", i), Content: "c", PostCommentsID: ptr(fmt.Sprint("p", i-1))}))
			want = append(want, fmt.Sprintf("INSERT Comment c%d", i))
		}
	}
	must(t, ds.Batch(ctx, func(tx *blogm.Tx) error {
		if err := tx.Blog.Save(ctx, &blogm.Blog{ID: "b0", Name: "renamed"}); err != nil {
			return err
		}
		return tx.Post.Save(ctx, &blogm.Post{ID: "px", Title: "in a batch"})
	}))
	want = append(want, "UPDATE Blog b0", "INSERT Post px")
	for _, ch := range []<-chan datastore.StoreChange{all, second} {
		var got []string
		for range want {
			c := recv(t, ch, "store observer")
			if c.FromSync {
				t.Fatalf("local change reported FromSync: %+v", c)
			}
			got = append(got, describe(t, c))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("store-wide changes:\n got %v\nwant %v", got, want)
		}
	}
	// A delete cascades: the post's comment goes with it, in one commit.
	must(t, ds.Post.DeleteKey(ctx, "p1"))
	var dels []string
	for range 2 {
		c := recv(t, all, "cascade")
		dels = append(dels, describe(t, c))
		if c.Op == datastore.OpDelete && c.Model == "Post" && c.Element.(*blogm.Post).Title != "t" {
			t.Fatalf("deleted post element %+v, want the record as it was", c.Element)
		}
	}
	slices.Sort(dels)
	if want := []string{"DELETE Comment c2", "DELETE Post p1"}; !slices.Equal(dels, want) {
		t.Fatalf("cascade changes %v, want %v", dels, want)
	}

	// A record from the backend is reported FromSync.
	res, err := ds.Store().Sync().ApplyRemote(ctx, "Comment", []map[string]any{
		{"id": "remote", "content": "from the server", "_version": json.Number("1"), "_lastChangedAt": json.Number("5")}})
	must(t, err)
	if res.Applied != 1 {
		t.Fatalf("ApplyRemote = %+v", res)
	}
	c := recv(t, all, "remote change")
	if cm, ok := c.Element.(*blogm.Comment); !ok || !c.FromSync || c.Model != "Comment" || c.Op != datastore.OpCreate || cm.Content != "from the server" {
		t.Fatalf("remote change = %+v (%+v)", c, c.Element)
	}
	quiet(t, all, 20*time.Millisecond, "store observer after the remote change")

	// Clear ends the observers, as Amplify's clear does.
	must(t, ds.Clear(ctx, datastore.Force()))
	closed(t, all, "store observer after Clear")
	closed(t, second, "second store observer after Clear")

	// Cancelling the context ends an observer; a closed store closes the
	// channel at once.
	cctx, ccancel := context.WithCancel(ctx)
	ch := ds.Observe(cctx)
	ccancel()
	closed(t, ch, "store observer after its context ended")
	must(t, ds.Close(ctx))
	closed(t, ds.Observe(ctx), "store observer on a closed store")
}

// TestE2EStoreObserveSlowConsumer: writers never wait for a store-wide
// observer that reads nothing; past the backlog it ends with
// ErrSlowConsumer after the changes it could keep, in order.
func TestE2EStoreObserveSlowConsumer(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.ObserveBacklog(100))
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	slow := ds.Observe(obsCtx)
	done := make(chan error, 1)
	go func() {
		for i := range 1000 {
			var err error
			if i%2 == 0 {
				err = ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprintf("p%04d", i), Title: "t"})
			} else {
				err = ds.Blog.Save(ctx, &blogm.Blog{ID: fmt.Sprintf("b%04d", i), Name: "n"})
			}
			if err != nil {
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
		t.Fatal("writers blocked by a store-wide observer that does not read")
	}
	changes := closed(t, slow, "slow store observer")
	if len(changes) == 0 || len(changes) > 200 {
		t.Fatalf("slow store observer got %d changes with a backlog of 100", len(changes))
	}
	last := changes[len(changes)-1]
	if !errors.Is(last.Err, datastore.ErrSlowConsumer) || last.Element != nil {
		t.Fatalf("last change %+v, want Err ErrSlowConsumer", last)
	}
	for i, c := range changes[:len(changes)-1] {
		want := fmt.Sprintf("INSERT Post p%04d", i)
		if i%2 == 1 {
			want = fmt.Sprintf("INSERT Blog b%04d", i)
		}
		if got := describe(t, c); got != want {
			t.Fatalf("change %d = %s, want %s", i, got, want)
		}
	}
}

// TestE2EStoreObserveUntyped: a store opened from metadata alone, with no
// generated repository bound, reports records as JSON-shaped maps.
func TestE2EStoreObserveUntyped(t *testing.T) {
	ctx := context.Background()
	s, err := datastore.Open(ctx, blogm.Schema(), t.TempDir())
	must(t, err)
	closeAtEnd(t, s)
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := s.Observe(obsCtx)
	ds, err := blogm.Open(ctx, t.TempDir())
	must(t, err)
	closeAtEnd(t, ds)
	// Write through a generic repository bound in a transaction only, so
	// no decoder is registered with s.
	must(t, s.Batch(ctx, func(tx *datastore.Txn) error {
		return datastore.Bind(s, tx, ds.Blog.Repo().Model()).Save(ctx, &blogm.Blog{ID: "b1", Name: "untyped"})
	}))
	c := recv(t, ch, "untyped observer")
	m, ok := c.Element.(map[string]any)
	if !ok || c.Model != "Blog" || m["id"] != "b1" || m["name"] != "untyped" {
		t.Fatalf("untyped change = %+v", c)
	}
}

// TestE2EStoreObserveLocalChanges: with LocalChanges a store-wide observer
// gets the app's own writes and none of the records a sync applies, even
// when a sync applies more than ObserveBacklog of them (they are not
// queued, so they cannot overrun it).
func TestE2EStoreObserveLocalChanges(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox(), datastore.ObserveBacklog(10))
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	local := ds.Store().Observe(obsCtx, datastore.LocalChanges())

	var page []map[string]any
	for i := range 50 {
		page = append(page, map[string]any{"id": fmt.Sprint("remote", i), "name": "r", "_version": json.Number("1"), "_lastChangedAt": json.Number("1000")})
	}
	res, err := ds.Store().Sync().ApplyRemote(ctx, "Blog", page)
	must(t, err)
	if res.Applied != 50 {
		t.Fatalf("applied %d of 50", res.Applied)
	}
	must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: "mine", Name: "m"}))

	select {
	case c := <-local:
		if got := describe(t, c); got != "INSERT Blog mine" {
			t.Fatalf("first change = %s, want the local save (no synced record)", got)
		}
		if c.FromSync {
			t.Fatal("a local change marked FromSync")
		}
	case <-time.After(time.Minute): // hang guard
		t.Fatal("no change within a minute")
	}
}
