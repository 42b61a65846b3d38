package datastore_test

// Deletes too large for one Badger transaction: a DeleteWhere or a cascade
// past Badger's limit (about 470 posts with their outbox entries on the
// device preset, 1,870 on the laptop one) runs in several transactions,
// children before parents. The tests use the device preset, where the
// limit is smallest, and check each time that the same delete does not
// fit in one transaction (Batch).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/blog"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/storage"
)

// openSmallTxn opens a blog store with an outbox on the device preset,
// whose transactions are the smallest.
func openSmallTxn(t *testing.T) (*blogm.DataStore, *datastore.Store) {
	t.Helper()
	ds := openBlog(t, datastore.Outbox(), datastore.MemoryPreset(storage.PresetDevice))
	return ds, ds.Post.Repo().Store()
}

// applyAll applies items of model as the backend's (version 1), in pages,
// so that local deletes of them queue delete mutations.
func applyAll(t *testing.T, s *datastore.Store, model string, items []map[string]any) {
	t.Helper()
	for i := 0; i < len(items); i += 400 {
		page := items[i:min(i+400, len(items))]
		for _, it := range page {
			it["_version"], it["_lastChangedAt"] = 1, 1
		}
		if _, err := s.Sync().ApplyRemote(context.Background(), model, page); err != nil {
			t.Fatal(err)
		}
	}
}

// bigTree is what seedBlogTree stores: blog "big" with posts p0..p(n-1),
// every third post with a comment "c"+id and a join row "j"+id to tag
// "tag", and blog "small" with post "other" and its comment.
type bigTree struct{ posts, comments, joins []string }

func seedBlogTree(t *testing.T, s *datastore.Store, n int, title func(i int) string) bigTree {
	t.Helper()
	var tr bigTree
	var posts, comments, joins []map[string]any
	for i := range n {
		id := fmt.Sprint("p", i)
		tr.posts = append(tr.posts, id)
		posts = append(posts, map[string]any{"id": id, "title": title(i), "blogPostsId": "big"})
		if i%3 == 0 {
			tr.comments = append(tr.comments, "c"+id)
			tr.joins = append(tr.joins, "j"+id)
			comments = append(comments, map[string]any{"id": "c" + id, "content": "c", "postCommentsId": id})
			joins = append(joins, map[string]any{"id": "j" + id, "postId": id, "tagId": "tag"})
		}
	}
	posts = append(posts, map[string]any{"id": "other", "title": "other", "blogPostsId": "small"})
	comments = append(comments, map[string]any{"id": "cother", "content": "c", "postCommentsId": "other"})
	applyAll(t, s, "Blog", []map[string]any{{"id": "big", "name": "big"}, {"id": "small", "name": "small"}})
	applyAll(t, s, "Tag", []map[string]any{{"id": "tag", "label": "tag"}})
	applyAll(t, s, "Post", posts)
	applyAll(t, s, "Comment", comments)
	applyAll(t, s, "PostTags", joins)
	return tr
}

// checkNoOrphans fails when a post, comment or join row points at a
// parent that does not exist.
func checkNoOrphans(t *testing.T, ds *blogm.DataStore) {
	t.Helper()
	ctx := context.Background()
	ids := func(keys []string) map[string]bool {
		m := map[string]bool{}
		for _, k := range keys {
			m[k] = true
		}
		return m
	}
	blogs, err := ds.Blog.Query().All(ctx)
	must(t, err)
	posts, err := ds.Post.Query().All(ctx)
	must(t, err)
	comments, err := ds.Comment.Query().All(ctx)
	must(t, err)
	joins, err := ds.PostTags.Query().All(ctx)
	must(t, err)
	haveBlog := ids(keysOf(blogs, func(b *blogm.Blog) string { return b.ID }))
	havePost := ids(keysOf(posts, func(p *blogm.Post) string { return p.ID }))
	for _, p := range posts {
		if p.BlogPostsID != nil && !haveBlog[*p.BlogPostsID] {
			t.Errorf("orphan post %s: blog %s is gone", p.ID, *p.BlogPostsID)
		}
	}
	for _, c := range comments {
		if c.PostCommentsID != nil && !havePost[*c.PostCommentsID] {
			t.Errorf("orphan comment %s: post %s is gone", c.ID, *c.PostCommentsID)
		}
	}
	for _, j := range joins {
		if j.PostID != nil && !havePost[*j.PostID] {
			t.Errorf("orphan join row %s: post %s is gone", j.ID, *j.PostID)
		}
	}
}

// checkIndexes fails unless every index of the blog models holds exactly
// one entry per record with a non-null indexed field, naming that record.
func checkIndexes(t *testing.T, ds *blogm.DataStore) {
	t.Helper()
	ctx := context.Background()
	s := ds.Post.Repo().Store()
	q := strconv.Quote
	posts, err := ds.Post.Query().All(ctx)
	must(t, err)
	comments, err := ds.Comment.Query().All(ctx)
	must(t, err)
	joins, err := ds.PostTags.Query().All(ctx)
	must(t, err)
	want := map[string][]string{}
	for _, p := range posts {
		if p.BlogPostsID != nil {
			want["Post rel:blogPostsId"] = append(want["Post rel:blogPostsId"], q(*p.BlogPostsID)+" "+q(p.ID))
		}
	}
	for _, c := range comments {
		if c.PostCommentsID != nil {
			want["Comment rel:postCommentsId"] = append(want["Comment rel:postCommentsId"], q(*c.PostCommentsID)+" "+q(c.ID))
		}
	}
	for _, j := range joins {
		want["PostTags byPost"] = append(want["PostTags byPost"], q(*j.PostID)+" "+q(j.ID))
		want["PostTags byTag"] = append(want["PostTags byTag"], q(*j.TagID)+" "+q(j.ID))
	}
	for _, mi := range [][2]string{{"Post", "rel:blogPostsId"}, {"Comment", "rel:postCommentsId"}, {"PostTags", "byPost"}, {"PostTags", "byTag"}} {
		entries, err := datastore.IndexForTest(ctx, s, mi[0], mi[1])
		must(t, err)
		var got []string
		for _, e := range entries {
			got = append(got, e[0]+" "+e[len(e)-1])
		}
		w := want[mi[0]+" "+mi[1]]
		slices.Sort(got)
		slices.Sort(w)
		if d := diffKeys(got, w); d != "" {
			t.Errorf("index %s of %s disagrees with the records: %s", mi[1], mi[0], d)
		}
	}
}

// deletesQueued returns the position in the outbox of each record's
// delete mutation, by "Model id", failing on anything else queued and on a
// record deleted twice.
func deletesQueued(t *testing.T, s *datastore.Store) map[string]int {
	t.Helper()
	pos := map[string]int{}
	for i, m := range outboxOf(t, s) {
		k := fmt.Sprint(m.Model, " ", m.Data["id"])
		if m.Op != datastore.MutationDelete {
			t.Fatalf("outbox entry %d is %s %s, want only deletes", i, m.Op, k)
		}
		if _, dup := pos[k]; dup {
			t.Fatalf("outbox holds two deletes of %s", k)
		}
		pos[k] = i
	}
	return pos
}

// countDeletes receives n delete events from ch.
func countDeletes[T any](t *testing.T, ch <-chan datastore.Change[T], n int, what string) {
	t.Helper()
	for i := range n {
		c := recv(t, ch, fmt.Sprintf("%s delete %d of %d", what, i+1, n))
		if c.Op != datastore.OpDelete || c.FromSync {
			t.Fatalf("%s change %d: op %v fromSync %v, want a local delete", what, i, c.Op, c.FromSync)
		}
	}
}

// TestE2EDeleteWhereOverTxnLimit deletes, with DeleteWhere, 1,500 posts
// (with their comments and join rows) that no single transaction holds.
func TestE2EDeleteWhereOverTxnLimit(t *testing.T) {
	ctx := context.Background()
	ds, s := openSmallTxn(t)
	const n = 1500
	tr := seedBlogTree(t, s, n, func(i int) string {
		if i%10 == 9 {
			return "kept"
		}
		return "gone"
	})
	gone := post.Title.Eq("gone")

	err := ds.Batch(ctx, func(tx *blogm.Tx) error {
		_, err := tx.Post.DeleteWhere(ctx, gone)
		return err
	})
	if !errors.Is(err, storage.ErrTxnTooBig) {
		t.Fatalf("the delete in one Batch: %v, want ErrTxnTooBig (the test must exceed one transaction)", err)
	}
	if box := outboxOf(t, s); len(box) != 0 {
		t.Fatalf("the failed Batch queued %d mutations", len(box))
	}

	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	postEvents, commentEvents := ds.Post.Observe(obsCtx), ds.Comment.Observe(obsCtx)
	got, err := ds.Post.DeleteWhere(ctx, gone)
	want := n - n/10
	if err != nil || got != want {
		t.Fatalf("DeleteWhere = %d, %v; want %d", got, err, want)
	}

	left, err := ds.Post.Query().All(ctx)
	must(t, err)
	for _, p := range left {
		if p.Title == "gone" {
			t.Errorf("post %s matched and was left", p.ID)
		}
	}
	if len(left) != n/10+1 {
		t.Errorf("%d posts left, want %d", len(left), n/10+1)
	}
	pos := deletesQueued(t, s)
	deletedComments := 0
	for i, id := range tr.posts {
		k := "Post " + id
		_, queued := pos[k]
		if queued != (i%10 != 9) {
			t.Errorf("%s: delete queued %v", k, queued)
		}
		if i%3 == 0 && queued {
			deletedComments++
			for _, child := range []string{"Comment c" + id, "PostTags j" + id} {
				if cp, ok := pos[child]; !ok || cp > pos[k] {
					t.Errorf("%s queued at %d (%v), want before its post's delete at %d", child, cp, ok, pos[k])
				}
			}
		}
	}
	if len(pos) != want+2*deletedComments {
		t.Errorf("outbox holds %d deletes, want %d", len(pos), want+2*deletedComments)
	}
	checkNoOrphans(t, ds)
	checkIndexes(t, ds)
	countDeletes(t, postEvents, want, "post")
	countDeletes(t, commentEvents, deletedComments, "comment")
}

// TestE2ECascadeOverTxnLimit deletes a blog with 900 posts, 300 comments
// and 300 join rows, more than one transaction holds: everything goes,
// each child's delete queued before its parent's, the blog's last. (With
// fewer records than half of Badger's limit of writes, the first attempt
// gets as far as writing; the other tests' deletes are larger and go to
// chunks from the walk.)
func TestE2ECascadeOverTxnLimit(t *testing.T) {
	ctx := context.Background()
	ds, s := openSmallTxn(t)
	const n = 900
	tr := seedBlogTree(t, s, n, func(int) string { return "t" })

	err := ds.Batch(ctx, func(tx *blogm.Tx) error { return tx.Blog.DeleteKey(ctx, "big") })
	if !errors.Is(err, storage.ErrTxnTooBig) {
		t.Fatalf("the cascade in one Batch: %v, want ErrTxnTooBig (the test must exceed one transaction)", err)
	}

	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	postEvents, joinEvents, blogEvents := ds.Post.Observe(obsCtx), ds.PostTags.Observe(obsCtx), ds.Blog.Observe(obsCtx)
	chunks := 0
	datastore.SetChunkDoneForTest(s, func(int) { chunks++ })
	must(t, ds.Blog.DeleteKey(ctx, "big", datastore.If(blog.Name.Eq("big"))))
	if chunks == 0 {
		t.Errorf("the cascade ran in one transaction")
	}

	for name, q := range map[string]func(context.Context) (int, error){
		"blogs":    ds.Blog.Query().Count,
		"posts":    ds.Post.Query().Count,
		"comments": ds.Comment.Query().Count,
		"joins":    ds.PostTags.Query().Count,
		"tags":     ds.Tag.Query().Count,
	} {
		want := map[string]int{"blogs": 1, "posts": 1, "comments": 1, "tags": 1}[name]
		if got, err := q(ctx); got != want || err != nil {
			t.Errorf("%s after the cascade: %d, %v; want %d (blog small's)", name, got, err, want)
		}
	}
	pos := deletesQueued(t, s)
	if want := 1 + len(tr.posts) + len(tr.comments) + len(tr.joins); len(pos) != want {
		t.Errorf("outbox holds %d deletes, want %d", len(pos), want)
	}
	if p, ok := pos["Blog big"]; !ok || p != len(pos)-1 {
		t.Errorf("the blog's delete is at %d (%v) of %d, want last", p, ok, len(pos))
	}
	for i, id := range tr.posts {
		if _, ok := pos["Post "+id]; !ok {
			t.Errorf("post %s: no delete queued", id)
		}
		if i%3 == 0 {
			for _, child := range []string{"Comment c" + id, "PostTags j" + id} {
				if cp, ok := pos[child]; !ok || cp > pos["Post "+id] {
					t.Errorf("%s queued at %d (%v), want before post %s's at %d", child, cp, ok, id, pos["Post "+id])
				}
			}
		}
	}
	m := outboxOf(t, s)[len(pos)-1]
	if m.Model != "Blog" || m.Condition == nil {
		t.Errorf("the blog's delete %+v, want it with its condition", m)
	}
	checkNoOrphans(t, ds)
	checkIndexes(t, ds)
	countDeletes(t, postEvents, n, "post")
	countDeletes(t, joinEvents, len(tr.joins), "join row")
	countDeletes(t, blogEvents, 1, "blog")
}

// TestE2ECascadeFailsPartWay stops cascades too large for one transaction
// after their first transaction: by a delete condition that no longer
// holds, and by a cancelled context. What was deleted stays deleted, with
// its mutations queued; nothing is left without its parent.
func TestE2ECascadeFailsPartWay(t *testing.T) {
	ctx := context.Background()

	t.Run("condition", func(t *testing.T) {
		ds, s := openSmallTxn(t)
		tr := seedBlogTree(t, s, 1500, func(int) string { return "t" })
		// A condition that fails from the start deletes nothing.
		err := ds.Blog.DeleteKey(ctx, "big", datastore.If(blog.Name.Eq("other")))
		var pe *datastore.PartialDeleteError
		if !errors.Is(err, datastore.ErrConditionFailed) || errors.As(err, &pe) {
			t.Fatalf("delete under a false condition: %v, want ErrConditionFailed alone", err)
		}
		if box := outboxOf(t, s); len(box) != 0 {
			t.Fatalf("a failed condition queued %d mutations", len(box))
		}
		chunks := 0
		datastore.SetChunkDoneForTest(s, func(int) {
			if chunks++; chunks == 1 {
				// Renamed by the backend: no mutation queued.
				applyOne(t, s, "Blog", map[string]any{"id": "big", "name": "renamed", "_version": 2, "_lastChangedAt": 2})
			}
		})
		err = ds.Blog.DeleteKey(ctx, "big", datastore.If(blog.Name.Eq("big")))
		if !errors.Is(err, datastore.ErrConditionFailed) || !errors.As(err, &pe) || pe.Deleted == 0 {
			t.Fatalf("delete whose condition fails after its first transaction: %v, want a *PartialDeleteError wrapping ErrConditionFailed", err)
		}
		if chunks != 1 {
			t.Errorf("%d transactions committed after the condition failed", chunks-1)
		}
		if _, err := ds.Blog.Get(ctx, "big"); err != nil {
			t.Errorf("the blog: %v, want it kept", err)
		}
		checkPartial(t, ds, s, tr, pe.Deleted)
	})

	t.Run("cancel", func(t *testing.T) {
		ds, s := openSmallTxn(t)
		tr := seedBlogTree(t, s, 1500, func(int) string { return "gone" })
		dctx, cancel := context.WithCancel(ctx)
		defer cancel()
		datastore.SetChunkDoneForTest(s, func(int) { cancel() })
		n, err := ds.Post.DeleteWhere(dctx, post.Title.Eq("gone"))
		var pe *datastore.PartialDeleteError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &pe) || pe.Deleted == 0 || n == 0 {
			t.Fatalf("DeleteWhere cancelled after its first transaction = %d, %v; want a *PartialDeleteError wrapping context.Canceled", n, err)
		}
		left, err := ds.Post.Query().Where(post.Title.Eq("gone")).Count(ctx)
		must(t, err)
		if n != len(tr.posts)-left {
			t.Errorf("DeleteWhere reported %d deleted, %d of %d posts are gone", n, len(tr.posts)-left, len(tr.posts))
		}
		checkPartial(t, ds, s, tr, pe.Deleted)
	})
}

// checkPartial checks a cascade stopped part way: no orphans, indexes
// right, and exactly one delete queued per record gone (deleted reported).
func checkPartial(t *testing.T, ds *blogm.DataStore, s *datastore.Store, tr bigTree, deleted int) {
	t.Helper()
	ctx := context.Background()
	checkNoOrphans(t, ds)
	checkIndexes(t, ds)
	pos := deletesQueued(t, s)
	if len(pos) != deleted {
		t.Errorf("%d deletes queued, the error reports %d", len(pos), deleted)
	}
	gone := 0
	for model, ids := range map[string][]string{"Post": tr.posts, "Comment": tr.comments, "PostTags": tr.joins} {
		for _, id := range ids {
			var err error
			switch model {
			case "Post":
				_, err = ds.Post.Get(ctx, id)
			case "Comment":
				_, err = ds.Comment.Get(ctx, id)
			case "PostTags":
				_, err = ds.PostTags.Get(ctx, id)
			}
			_, queued := pos[model+" "+id]
			if errors.Is(err, datastore.ErrNotFound) != queued {
				t.Errorf("%s %s: get %v, delete queued %v", model, id, err, queued)
			}
			if queued {
				gone++
			}
		}
	}
	if gone != deleted || gone == len(tr.posts)+len(tr.comments)+len(tr.joins) {
		t.Errorf("%d records gone, %d reported deleted, of %d", gone, deleted, len(tr.posts)+len(tr.comments)+len(tr.joins))
	}
}

// TestE2EChunkedDeleteRacesWriters runs a DeleteWhere too large for one
// transaction while writers move posts it matched to another blog (so they
// no longer match) and add comments to them: indexes stay right, nothing
// is orphaned, and every record's newest outbox entry says what happened
// to it.
func TestE2EChunkedDeleteRacesWriters(t *testing.T) {
	ctx := context.Background()
	ds, s := openSmallTxn(t)
	const n = 1500
	tr := seedBlogTree(t, s, n, func(int) string { return "gone" })

	// The writers start once the first transaction has committed, after
	// the delete has read what matches.
	var wg sync.WaitGroup
	stop, start := make(chan struct{}), make(chan struct{})
	var once sync.Once
	datastore.SetChunkDoneForTest(s, func(int) { once.Do(func() { close(start) }) })
	moved := make([]map[string]bool, 2)
	for w := range moved {
		moved[w] = map[string]bool{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-start:
			case <-stop:
				return
			}
			for i := n - 1 - w; i >= 0; i -= 2 * 7 {
				select {
				case <-stop:
					return
				default:
				}
				id := tr.posts[i]
				p, err := ds.Post.Get(ctx, id)
				if errors.Is(err, datastore.ErrNotFound) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				p.Title, p.BlogPostsID = "moved", ptr("small")
				if err := ds.Post.Save(ctx, p, datastore.If(post.Title.Eq("gone"))); err != nil {
					if !errors.Is(err, datastore.ErrConditionFailed) && !errors.Is(err, datastore.ErrNotFound) {
						t.Error(err)
						return
					}
					continue
				}
				moved[w][id] = true
				err = ds.Comment.Save(ctx, &blogm.Comment{ID: "new" + id, Content: "new", PostCommentsID: &id})
				var ve *datastore.ValidationError
				if err != nil && !errors.As(err, &ve) { // the post may be gone since
					t.Error(err)
					return
				}
			}
		}()
	}
	got, err := ds.Post.DeleteWhere(ctx, post.Title.Eq("gone"))
	close(stop)
	wg.Wait()
	must(t, err)

	left, err := ds.Post.Query().All(ctx)
	must(t, err)
	for _, p := range left {
		if p.Title == "gone" {
			t.Errorf("post %s still matches", p.ID)
		}
	}
	checkNoOrphans(t, ds)
	checkIndexes(t, ds)
	last := map[string]datastore.Mutation{}
	for _, m := range outboxOf(t, s) {
		last[fmt.Sprint(m.Model, " ", m.Data["id"])] = m
	}
	movedN, recreated := 0, 0
	for _, id := range tr.posts {
		_, err := ds.Post.Get(ctx, id)
		m, queued := last["Post "+id]
		switch {
		case errors.Is(err, datastore.ErrNotFound):
			if !queued || m.Op != datastore.MutationDelete {
				t.Errorf("post %s is gone, its newest mutation %+v", id, m)
			}
		case err != nil:
			t.Fatal(err)
		default:
			movedN++
			if !moved[0][id] && !moved[1][id] {
				t.Errorf("post %s kept, never moved", id)
			}
			// An update, or a create when the writer's save came after
			// the post's delete.
			if !queued || m.Op == datastore.MutationDelete || m.Data["blogPostsId"] != "small" {
				t.Errorf("post %s moved, its newest mutation %+v", id, m)
			}
			if m.Op == datastore.MutationCreate {
				recreated++
			}
		}
	}
	// DeleteWhere counts the posts it deleted, some saved again since.
	if got != n+1-len(left)+recreated {
		t.Errorf("DeleteWhere = %d, %d of %d posts are gone, %d saved again after their delete", got, n+1-len(left), n+1, recreated)
	}
	for _, m := range moved {
		for id := range m {
			if _, err := ds.Post.Get(ctx, id); err != nil {
				t.Errorf("post %s was moved away from the delete: %v", id, err)
			}
		}
	}
	t.Logf("%d posts moved away from the delete", movedN)
}

// TestE2EChunkSizeAdapts deletes with DeleteWhere 800 posts created
// locally (their pending creates are dropped: few writes each) whose keys
// come first, then 200 synced posts with a comment and a join row each
// (more writes per record): chunks sized on the first attempt, which got
// through light records only, are too big for the heavy ones and shrink.
func TestE2EChunkSizeAdapts(t *testing.T) {
	ctx := context.Background()
	ds, s := openSmallTxn(t)
	for i := 0; i < 800; i += 200 {
		must(t, ds.Batch(ctx, func(tx *blogm.Tx) error {
			for j := i; j < i+200; j++ {
				if err := tx.Post.Save(ctx, &blogm.Post{ID: fmt.Sprintf("a%03d", j), Title: "gone"}); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	var posts, comments, joins []map[string]any
	for i := range 200 {
		id := fmt.Sprintf("b%03d", i)
		posts = append(posts, map[string]any{"id": id, "title": "gone"})
		comments = append(comments, map[string]any{"id": "c" + id, "content": "c", "postCommentsId": id})
		joins = append(joins, map[string]any{"id": "j" + id, "postId": id, "tagId": "tag"})
	}
	applyAll(t, s, "Tag", []map[string]any{{"id": "tag", "label": "tag"}})
	applyAll(t, s, "Post", posts)
	applyAll(t, s, "Comment", comments)
	applyAll(t, s, "PostTags", joins)
	var sizes []int
	datastore.SetChunkDoneForTest(s, func(n int) { sizes = append(sizes, n) })

	n, err := ds.Post.DeleteWhere(ctx, post.Title.Eq("gone"))
	if err != nil || n != 1000 {
		t.Fatalf("DeleteWhere = %d, %v; want 1000", n, err)
	}
	t.Logf("records per transaction %v", sizes)
	if len(sizes) < 2 || slices.Min(sizes) >= sizes[0] {
		t.Errorf("records per transaction %v, want a later one smaller than the first", sizes)
	}
	for name, q := range map[string]func(context.Context) (int, error){
		"posts": ds.Post.Query().Count, "comments": ds.Comment.Query().Count, "joins": ds.PostTags.Query().Count,
	} {
		if got, err := q(ctx); got != 0 || err != nil {
			t.Errorf("%s left: %d, %v", name, got, err)
		}
	}
	pos := deletesQueued(t, s)
	if len(pos) != 600 {
		t.Errorf("%d deletes queued, want 600 (the synced posts, comments and join rows)", len(pos))
	}
	for _, p := range posts {
		id := p["id"].(string)
		for _, child := range []string{"Comment c" + id, "PostTags j" + id} {
			if pos[child] > pos["Post "+id] {
				t.Errorf("%s queued after its post", child)
			}
		}
	}
	checkIndexes(t, ds)
}
