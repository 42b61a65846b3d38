package datastore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
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
// metadata at once, see pageScan) and checks that the per-record rules
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

// TestApplyRemoteFreshPageFindsStoredRecords applies pages of a base sync
// over records stored before the store had an outbox: they have neither a
// pending mutation nor sync metadata, only the record. A page whose key
// range holds one must still find it (an update of the stored record, its
// old index entries replaced), while a page above every stored key is
// applied without looking records up (see pageScan) and leaves the
// records outside its range alone.
func TestApplyRemoteFreshPageFindsStoredRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	local, err := blogm.Open(ctx, dir)
	must(t, err)
	must(t, local.Blog.Save(ctx, &blogm.Blog{ID: "b1", Name: "b"}))
	for _, id := range []string{"p0050", "p0300"} {
		must(t, local.Post.Save(ctx, &blogm.Post{ID: id, Title: "local", BlogPostsID: ptr("b1")}))
	}
	must(t, local.Close(ctx))
	ds, err := blogm.Open(ctx, dir, datastore.Outbox())
	must(t, err)
	closeAtEnd(t, ds)
	y := ds.Post.Repo().Store().Sync()
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes := ds.Post.Observe(obsCtx)

	pages := [][]string{idRange("p", 0, 100), idRange("p", 100, 200)}
	for _, ids := range pages {
		res, err := y.ApplyRemote(ctx, "Post", wirePosts(ids, "remote", 1, false), datastore.SeenIn(5))
		must(t, err)
		if res.Applied != len(ids) {
			t.Fatalf("page %s.. = %+v", ids[0], res)
		}
		for _, id := range ids {
			c := recv(t, changes, "page change")
			want := datastore.OpCreate
			if id == "p0050" {
				want = datastore.OpUpdate
			}
			if c.Element == nil || c.Element.ID != id || c.Op != want || !c.FromSync {
				t.Fatalf("change for %s = %+v, want %v from sync", id, c, want)
			}
		}
	}
	if p, err := ds.Post.Get(ctx, "p0050"); err != nil || p.Title != "remote" || p.BlogPostsID != nil {
		t.Fatalf("p0050 = %+v, %v: want the backend copy", p, err)
	}
	if p, err := ds.Post.Get(ctx, "p0300"); err != nil || p.Title != "local" {
		t.Fatalf("p0300 = %+v, %v: a record outside the pages changed", p, err)
	}
	byBlog, err := ds.Post.Query().Where(post.BlogPostsID.Eq("b1")).All(ctx)
	must(t, err)
	if len(byBlog) != 1 || byBlog[0].ID != "p0300" {
		t.Fatalf("posts of b1 = %+v, want only p0300", byBlog)
	}
	if n, err := ds.Post.Query().Count(ctx); err != nil || n != 201 {
		t.Fatalf("count = %d, %v, want 201", n, err)
	}
}

// TestApplyRemotePagesRaceEvents applies pages of new records, in key
// order as a base sync brings them, and while each page's transaction is
// open (after it looked at the page's key range) single-record ApplyRemote
// calls (subscription events) bring newer versions of some of its
// records: every record must end at the newer version, never overwritten
// by the page's older copy unseen.
func TestApplyRemotePagesRaceEvents(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	s := ds.Post.Repo().Store()
	y := s.Sync()
	const pages, size, every = 5, 2000, 97
	for p := range pages {
		ids := idRange("e", p*size, (p+1)*size)
		var wg sync.WaitGroup
		var eventErr error
		var once sync.Once
		datastore.SetPageScannedForTest(s, func() {
			once.Do(func() {
				wg.Go(func() {
					for i := size - 1; i >= 0 && eventErr == nil; i -= every {
						_, eventErr = y.ApplyRemote(ctx, "Post", wirePosts(ids[i:i+1], "event", 2, false))
					}
				})
			})
		})
		_, err := y.ApplyRemote(ctx, "Post", wirePosts(ids, "page", 1, false))
		must(t, err)
		wg.Wait()
		must(t, eventErr)
		for i := size - 1; i >= 0; i -= every {
			got, err := ds.Post.Get(ctx, ids[i])
			if err != nil || got.Title != "event" {
				t.Fatalf("%s = %+v, %v: a newer copy was lost to a sync page", ids[i], got, err)
			}
			if m, _, err := s.RecordSyncMeta(ctx, "Post", ids[i]); err != nil || m.Version != 2 {
				t.Fatalf("%s sync metadata = %+v, %v, want version 2", ids[i], m, err)
			}
		}
	}
}

// TestSweepUnseenInBatches sweeps more unseen records than one batch
// holds, spread between seen ones: exactly the unseen ones go.
func TestSweepUnseenInBatches(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	y := ds.Post.Repo().Store().Sync()
	ids := idRange("w", 0, 1600)
	for i := 0; i < len(ids); i += 400 {
		_, err := y.ApplyRemote(ctx, "Post", wirePosts(ids[i:i+400], "t", 1, false), datastore.SeenIn(1))
		must(t, err)
	}
	var seen []string
	for i := 0; i < len(ids); i += 3 {
		seen = append(seen, ids[i])
	}
	_, err := y.ApplyRemote(ctx, "Post", wirePosts(seen, "t", 1, false), datastore.SeenIn(2))
	must(t, err)
	n, err := y.SweepUnseen(ctx, "Post", 2)
	must(t, err)
	if n != len(ids)-len(seen) {
		t.Fatalf("swept %d, want %d", n, len(ids)-len(seen))
	}
	left, err := ds.Post.Query().All(ctx)
	must(t, err)
	if len(left) != len(seen) {
		t.Fatalf("%d records left, want %d", len(left), len(seen))
	}
	for i, p := range left {
		if p.ID != seen[i] {
			t.Fatalf("record %d left is %s, want %s", i, p.ID, seen[i])
		}
	}
}
