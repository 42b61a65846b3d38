package datastore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/runtime/datastore"
)

// wirePosts returns wire Posts with the given ids, title and _version, in
// the order given; tombstone marks them _deleted.
func wirePosts(ids []string, title string, version int, tombstone bool) []map[string]any {
	page := make([]map[string]any, len(ids))
	for i, id := range ids {
		page[i] = map[string]any{"id": id, "title": title, "_version": json.Number(strconv.Itoa(version)),
			"_lastChangedAt": json.Number(strconv.Itoa(1000 * version)), "_deleted": tombstone}
	}
	return page
}

func idRange(prefix string, from, to int) []string {
	var ids []string
	for i := from; i < to; i++ {
		ids = append(ids, fmt.Sprintf("%s%04d", prefix, i))
	}
	return ids
}

// TestApplyRemoteLargePages applies pages of the size a base sync brings
// (where ApplyRemote looks up a whole page's pending mutations and sync
// metadata at once, see pageFresh) and checks that the per-record rules
// hold as for single records: a record with a pending local mutation is
// held back, _version orders copies, tombstones of records not stored
// here are remembered, and a page out of key order or repeating an id is
// applied record by record.
func TestApplyRemoteLargePages(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	s := ds.Post.Repo().Store()
	y := s.Sync()

	// A local create in the middle of the page's range is pending.
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p0050", Title: "local"}))
	ids := idRange("p", 0, 100)
	res, err := y.ApplyRemote(ctx, "Post", wirePosts(ids, "v1", 1, false), datastore.SeenIn(77))
	must(t, err)
	if res.Applied != 99 || res.Skipped != 1 {
		t.Fatalf("first page = %+v, want 99 applied and the pending one skipped", res)
	}
	if p, err := ds.Post.Get(ctx, "p0050"); err != nil || p.Title != "local" {
		t.Fatalf("p0050 = %+v, %v: a record with a pending mutation was overwritten", p, err)
	}
	if m, ok, err := s.RecordSyncMeta(ctx, "Post", "p0050"); err != nil || !ok || m.HeldVersion != 1 || m.Seen != 77 {
		t.Fatalf("p0050 sync metadata = %+v, %v, %v: want the backend copy held and seen", m, ok, err)
	}
	if m, ok, err := s.RecordSyncMeta(ctx, "Post", "p0099"); err != nil || !ok || m.Version != 1 || m.Seen != 77 {
		t.Fatalf("p0099 sync metadata = %+v, %v, %v", m, ok, err)
	}
	if n, err := ds.Post.Query().Count(ctx); err != nil || n != 100 {
		t.Fatalf("count = %d, %v, want 100", n, err)
	}

	// The same page again, older and newer: versions decide.
	res, err = y.ApplyRemote(ctx, "Post", wirePosts(ids, "v0", 1, false))
	must(t, err)
	if res.Applied != 0 {
		t.Fatalf("a page not newer than the local copies applied %+v", res)
	}
	res, err = y.ApplyRemote(ctx, "Post", wirePosts(ids, "v2", 2, false))
	must(t, err)
	if p, _ := ds.Post.Get(ctx, "p0010"); res.Applied != 99 || p.Title != "v2" {
		t.Fatalf("newer page = %+v, p0010 = %q", res, p.Title)
	}

	// Tombstones of records never stored here, then an older copy of
	// them: the tombstones win.
	tids := idRange("q", 0, 40)
	res, err = y.ApplyRemote(ctx, "Post", wirePosts(tids, "gone", 3, true))
	must(t, err)
	if res.Applied != 40 {
		t.Fatalf("tombstones = %+v", res)
	}
	res, err = y.ApplyRemote(ctx, "Post", wirePosts(tids, "old", 2, false))
	must(t, err)
	if res.Applied != 0 {
		t.Fatalf("copies older than their tombstones applied: %+v", res)
	}
	if _, err := ds.Post.Get(ctx, "q0007"); err == nil {
		t.Fatalf("q0007 exists after its tombstone")
	}

	// Out of key order, and an id twice with the older copy second.
	rev := idRange("r", 0, 30)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	res, err = y.ApplyRemote(ctx, "Post", wirePosts(rev, "rev", 1, false))
	must(t, err)
	if res.Applied != 30 {
		t.Fatalf("page in descending order = %+v", res)
	}
	dup := append(wirePosts(idRange("s", 0, 30), "new", 5, false), wirePosts([]string{"s0029"}, "older", 4, false)...)
	res, err = y.ApplyRemote(ctx, "Post", dup)
	must(t, err)
	if p, _ := ds.Post.Get(ctx, "s0029"); res.Applied != 30 || res.Skipped != 1 || p.Title != "new" {
		t.Fatalf("page repeating an id = %+v, s0029 = %q", res, p.Title)
	}
}

// TestApplyRemotePagesRaceLocalWrites applies large pages while local
// writes, started at the same moment, create every record of the page
// (one transaction each, so some commit while the page is applied):
// whichever commits first, a record saved locally keeps its local title
// while its mutation is pending (a page never overwrites it unseen).
func TestApplyRemotePagesRaceLocalWrites(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	y := ds.Post.Repo().Store().Sync()
	const pages, size = 5, 2000
	for p := range pages {
		ids := idRange("x", p*size, (p+1)*size)
		page := wirePosts(ids, "remote", 1, false)
		var wg sync.WaitGroup
		var applyErr, saveErr error
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			_, applyErr = y.ApplyRemote(ctx, "Post", page)
		})
		wg.Go(func() {
			<-start
			for i := size - 1; i >= 0 && saveErr == nil; i-- {
				saveErr = ds.Post.Save(ctx, &blogm.Post{ID: ids[i], Title: "local"})
			}
		})
		close(start)
		wg.Wait()
		must(t, applyErr)
		must(t, saveErr)
		for i := range size {
			if got, err := ds.Post.Get(ctx, ids[i]); err != nil || got.Title != "local" {
				t.Fatalf("%s = %+v, %v: the local write was lost to a sync page", ids[i], got, err)
			}
		}
	}
}

// TestApplyRemoteStoresPosition checks that WithModelMetadata stores the
// sync position with the page, and refuses another model's.
func TestApplyRemoteStoresPosition(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	s := ds.Post.Repo().Store()
	y := s.Sync()
	md, err := y.ModelMetadata(ctx, "Post")
	must(t, err)
	token, started := "page-2", int64(1234)
	md.SyncNextToken, md.SyncStartedAt, md.SyncFull = &token, &started, true
	res, err := y.ApplyRemote(ctx, "Post", wirePosts(idRange("m", 0, 20), "t", 1, false), datastore.WithModelMetadata(md))
	must(t, err)
	if res.Applied != 20 {
		t.Fatalf("page = %+v", res)
	}
	got, err := y.ModelMetadata(ctx, "Post")
	must(t, err)
	if got.SyncNextToken == nil || *got.SyncNextToken != token || got.SyncStartedAt == nil || *got.SyncStartedAt != started || !got.SyncFull {
		t.Fatalf("stored sync state = %+v, want the position given with the page", got)
	}
	blogMD, err := y.ModelMetadata(ctx, "Blog")
	must(t, err)
	if _, err := y.ApplyRemote(ctx, "Post", wirePosts([]string{"m0099"}, "t", 1, false), datastore.WithModelMetadata(blogMD)); err == nil {
		t.Fatal("a page of Post stored with Blog's sync state")
	}
	if _, err := ds.Post.Get(ctx, "m0099"); err == nil {
		t.Fatal("the refused page was applied")
	}
}
