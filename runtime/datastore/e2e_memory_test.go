package datastore_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/runtime/datastore"
)

// TestE2EOpenWithoutDirectory: Open(ctx, "", InMemory()) is a working
// store without files, each one its own; Open(ctx, "") without InMemory
// is refused with ErrNoDirectory and a message naming the way out, and
// writes nothing to the working directory.
func TestE2EOpenWithoutDirectory(t *testing.T) {
	ctx := context.Background()
	wd, err := os.Getwd()
	must(t, err)
	before, err := os.ReadDir(wd)
	must(t, err)

	_, err = blogm.Open(ctx, "")
	if !errors.Is(err, datastore.ErrNoDirectory) || !strings.Contains(err.Error(), "datastore.InMemory()") {
		t.Fatalf("Open with no directory = %v, want ErrNoDirectory naming datastore.InMemory()", err)
	}

	a, err := blogm.Open(ctx, "", datastore.InMemory())
	must(t, err)
	closeAtEnd(t, a)
	b, err := blogm.Open(ctx, "", datastore.InMemory(), datastore.Outbox())
	must(t, err)
	closeAtEnd(t, b)
	must(t, a.Post.Save(ctx, &blogm.Post{ID: "p1", Title: "only in a"}))
	if p, err := a.Post.Get(ctx, "p1"); err != nil || p.Title != "only in a" {
		t.Fatalf("in-memory Get = %+v, %v", p, err)
	}
	if _, err := b.Post.Get(ctx, "p1"); !errors.Is(err, datastore.ErrNotFound) {
		t.Fatalf("a second in-memory store sees the first one's record: %v", err)
	}
	must(t, b.Post.Save(ctx, &blogm.Post{ID: "p2", Title: "queued"}))
	if box, err := b.Store().Outbox(ctx); err != nil || len(box) != 1 {
		t.Fatalf("in-memory outbox = %v, %v", box, err)
	}

	after, err := os.ReadDir(wd)
	must(t, err)
	if len(after) != len(before) {
		t.Fatalf("opening without a directory wrote to the working directory: %d entries, was %d", len(after), len(before))
	}
}
