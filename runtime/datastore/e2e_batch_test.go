package datastore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	"github.com/dsgen/dsgen/runtime/datastore"
)

func TestE2EBatchAtomic(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "keep", Title: "before", Rating: ptr(1)}))
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	posts := ds.Post.Observe(obsCtx)
	blogs := ds.Blog.Observe(obsCtx)

	boom := errors.New("boom")
	err := ds.Batch(ctx, func(tx *blogm.Tx) error {
		must(t, tx.Blog.Save(ctx, &blogm.Blog{ID: "b", Name: "b"}))
		for i := range 50 {
			must(t, tx.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("p", i), Title: "t", BlogPostsID: ptr("b")}))
		}
		must(t, tx.Post.Save(ctx, &blogm.Post{ID: "keep", Title: "changed"}))
		must(t, tx.Post.DeleteKey(ctx, "p3"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Batch returned %v, want the function's error", err)
	}
	if n, _ := ds.Post.Query().Count(ctx); n != 1 {
		t.Errorf("%d posts after a failed batch, want 1", n)
	}
	if n, _ := ds.Blog.Query().Count(ctx); n != 0 {
		t.Errorf("%d blogs after a failed batch", n)
	}
	if p, err := ds.Post.Get(ctx, "keep"); err != nil || p.Title != "before" {
		t.Errorf("updated post after a failed batch: %+v, %v", p, err)
	}
	if n, _ := ds.Post.Query().Where(post.BlogPostsID.Eq("b")).Count(ctx); n != 0 {
		t.Errorf("index entries of a failed batch: %d", n)
	}
	quiet(t, posts, 50*time.Millisecond, "posts of a failed batch")
	quiet(t, blogs, 10*time.Millisecond, "blogs of a failed batch")

	// A failing write inside the batch also fails the whole batch, even if
	// the function ignored the error.
	err = ds.Batch(ctx, func(tx *blogm.Tx) error {
		must(t, tx.Post.Save(ctx, &blogm.Post{ID: "x", Title: "t"}))
		if err := tx.Post.DeleteKey(ctx, "missing"); !errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("delete missing in batch: %v", err)
		}
		return errors.New("gave up")
	})
	if err == nil {
		t.Fatal("batch did not fail")
	}
	if _, err := ds.Post.Get(ctx, "x"); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("write of a failed batch visible: %v", err)
	}
}

func TestE2EBatchReadsOwnWrites(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "old", Title: "old", Rating: ptr(1)}))
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes := ds.Post.Observe(obsCtx)

	err := ds.Batch(ctx, func(tx *blogm.Tx) error {
		b := &blogm.Blog{Name: "in batch"}
		if err := tx.Blog.Save(ctx, b); err != nil {
			return err
		}
		// The parent saved in this batch satisfies belongsTo checks.
		for i := range 5 {
			if err := tx.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("n", i), Title: "new", Rating: ptr(i), BlogPostsID: &b.ID}); err != nil {
				return err
			}
		}
		if err := tx.Post.Save(ctx, &blogm.Post{ID: "old", Title: "old, updated", Rating: ptr(10)}); err != nil {
			return err
		}
		if err := tx.Post.DeleteKey(ctx, "n4"); err != nil {
			return err
		}
		got, err := tx.Post.Get(ctx, "n2")
		if err != nil || got.Title != "new" {
			t.Errorf("Get own write: %+v, %v", got, err)
		}
		if _, err := tx.Post.Get(ctx, "n4"); !errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("Get own delete: %v", err)
		}
		rows, err := tx.Post.Query().Where(post.Rating.Ge(2)).Order(post.Rating.Desc()).All(ctx)
		if s := strings.Join(keysOf(rows, postKey), " "); err != nil || s != "old n3 n2" {
			t.Errorf("query own writes: %q, %v", s, err)
		}
		rel, err := tx.Blog.QueryPosts(b).Count(ctx)
		if err != nil || rel != 4 {
			t.Errorf("relation query own writes: %d, %v", rel, err)
		}
		// Outside the batch nothing is visible yet, and nothing published.
		if _, err := ds.Post.Get(ctx, "n0"); !errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("uncommitted write visible outside: %v", err)
		}
		if p, _ := ds.Post.Get(ctx, "old"); p == nil || p.Title != "old" {
			t.Errorf("uncommitted update visible outside: %+v", p)
		}
		quiet(t, changes, 30*time.Millisecond, "uncommitted batch")
		return nil
	})
	must(t, err)
	// After commit, the changes arrive in write order.
	var got []string
	for range 7 {
		c := recv(t, changes, "batch changes")
		got = append(got, c.Op.String()+" "+c.Element.ID)
	}
	want := "INSERT n0,INSERT n1,INSERT n2,INSERT n3,INSERT n4,UPDATE old,DELETE n4"
	if s := strings.Join(got, ","); s != want {
		t.Errorf("batch changes:\n got  %s\n want %s", s, want)
	}
	if n, _ := ds.Post.Query().Count(ctx); n != 5 {
		t.Errorf("%d posts after batch, want 5", n)
	}
}
