package datastore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	blogf "github.com/dsgen/dsgen/examples/blog/model/blog"
	"github.com/dsgen/dsgen/examples/blog/model/comment"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	ckm "github.com/dsgen/dsgen/golden/composite-keys/model"
	relm "github.com/dsgen/dsgen/golden/relations/model"
	"github.com/dsgen/dsgen/golden/relations/model/book"
	"github.com/dsgen/dsgen/golden/relations/model/review"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// blogGraph is a saved graph of blogs, posts, comments, tags and join rows,
// with ids that say where they belong: post "b1.p2" is in blog "b1",
// comment "b1.p2.c0" on that post.
type blogGraph struct {
	blogs, posts, comments, tags, joins []string
	tagsOf                              map[string][]string // post id -> tag ids
}

func saveBlogGraph(t testing.TB, ds *blogm.DataStore, blogs, posts, comments int) *blogGraph {
	t.Helper()
	ctx := context.Background()
	g := &blogGraph{tagsOf: map[string][]string{}}
	err := ds.Batch(ctx, func(tx *blogm.Tx) error {
		for _, id := range []string{"go", "db", "misc"} {
			if err := tx.Tag.Save(ctx, &blogm.Tag{ID: id, Label: id}); err != nil {
				return err
			}
			g.tags = append(g.tags, id)
		}
		for b := range blogs {
			bid := fmt.Sprintf("b%d", b)
			if err := tx.Blog.Save(ctx, &blogm.Blog{ID: bid, Name: bid}); err != nil {
				return err
			}
			g.blogs = append(g.blogs, bid)
			for p := range posts {
				pid := fmt.Sprintf("%s.p%d", bid, p)
				if err := tx.Post.Save(ctx, &blogm.Post{ID: pid, Title: pid, BlogPostsID: &bid, Rating: ptr(p)}); err != nil {
					return err
				}
				g.posts = append(g.posts, pid)
				for c := range comments {
					cid := fmt.Sprintf("%s.c%d", pid, c)
					if err := tx.Comment.Save(ctx, &blogm.Comment{ID: cid, Content: cid, PostCommentsID: &pid}); err != nil {
						return err
					}
					g.comments = append(g.comments, cid)
				}
				for i, tid := range g.tags {
					if (p+i)%2 == 0 {
						jid := pid + "/" + tid
						if err := tx.PostTags.Save(ctx, &blogm.PostTags{ID: jid, PostID: &pid, TagID: &tid}); err != nil {
							return err
						}
						g.joins = append(g.joins, jid)
						g.tagsOf[pid] = append(g.tagsOf[pid], tid)
					}
				}
			}
		}
		return nil
	})
	must(t, err)
	return g
}

func ids[T any](t testing.TB, items []*T, err error, key func(*T) string) string {
	t.Helper()
	must(t, err)
	return strings.Join(sortedKeys(items, key), " ")
}

func under(xs []string, prefix string) string {
	var out []string
	for _, x := range xs {
		if strings.HasPrefix(x, prefix) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func TestE2ERelationAccessors(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)
	g := saveBlogGraph(t, ds, 3, 4, 3)
	tagKey := func(x *blogm.Tag) string { return x.ID }
	commentKey := func(c *blogm.Comment) string { return c.ID }
	joinKey := func(j *blogm.PostTags) string { return j.ID }

	b1, err := ds.Blog.Get(ctx, "b1")
	must(t, err)
	q := ds.Blog.QueryPosts(b1)
	if p := q.Plan(); p != "index rel:blogPostsId: 1 eq" {
		t.Errorf("QueryPosts plan %q", p)
	}
	posts, err := q.All(ctx)
	if got, want := ids(t, posts, err, postKey), under(g.posts, "b1."); got != want {
		t.Errorf("posts of b1: %s, want %s", got, want)
	}
	// Relation queries compose with predicates and orders.
	top, err := ds.Blog.QueryPosts(b1).Where(post.Rating.Ge(2)).Order(post.Rating.Desc()).All(ctx)
	must(t, err)
	if got := strings.Join(keysOf(top, postKey), " "); got != "b1.p3 b1.p2" {
		t.Errorf("top posts of b1: %s", got)
	}

	p := posts[2]
	parent, err := ds.Post.QueryBlog(p).First(ctx)
	if err != nil || parent.ID != "b1" {
		t.Errorf("blog of %s: %v, %v", p.ID, parent, err)
	}
	if pl := ds.Post.QueryBlog(p).Plan(); pl != "get by primary key" {
		t.Errorf("QueryBlog plan %q", pl)
	}
	cs, err := ds.Post.QueryComments(p).Order(comment.Content.Desc()).All(ctx)
	must(t, err)
	if got, want := strings.Join(keysOf(cs, commentKey), " "), fmt.Sprintf("%[1]s.c2 %[1]s.c1 %[1]s.c0", p.ID); got != want {
		t.Errorf("comments of %s: %s, want %s", p.ID, got, want)
	}
	back, err := ds.Comment.QueryPost(cs[0]).First(ctx)
	if err != nil || back.ID != p.ID {
		t.Errorf("post of comment %s: %v, %v", cs[0].ID, back, err)
	}

	// Many-to-many through PostTags.
	tags, err := ds.Post.Tags(ctx, p)
	if got, want := ids(t, tags, err, tagKey), strings.Join(sorted(g.tagsOf[p.ID]), " "); got != want {
		t.Errorf("tags of %s: %q, want %q", p.ID, got, want)
	}
	joins, err := ds.Post.QueryTags(p).All(ctx)
	if got := ids(t, joins, err, joinKey); got != under(g.joins, p.ID+"/") {
		t.Errorf("join rows of %s: %s", p.ID, got)
	}
	goTag, err := ds.Tag.Get(ctx, "go")
	must(t, err)
	tagged, err := ds.Tag.Posts(ctx, goTag)
	must(t, err)
	var wantTagged []string
	for pid, ts := range g.tagsOf {
		if slices.Contains(ts, "go") {
			wantTagged = append(wantTagged, pid)
		}
	}
	if got := strings.Join(sortedKeys(tagged, postKey), " "); got != strings.Join(sorted(wantTagged), " ") {
		t.Errorf("posts tagged go: %s, want %s", got, sorted(wantTagged))
	}
	for _, c := range []struct {
		q    *datastore.Query[blogm.PostTags]
		plan string
	}{
		{ds.PostTags.QueryByPost(p.ID), "index byPost: 1 eq"},
		{ds.PostTags.QueryByTag("db"), "index byTag: 1 eq"},
		{ds.Tag.QueryPosts(goTag), "index byTag: 1 eq"},
	} {
		if pl := c.q.Plan(); pl != c.plan {
			t.Errorf("plan %q, want %q", pl, c.plan)
		}
	}

	// A post without a blog has no blog; a blog without posts no posts.
	orphan := &blogm.Post{ID: "orphan", Title: "o"}
	must(t, ds.Post.Save(ctx, orphan))
	if _, err := ds.Post.QueryBlog(orphan).First(ctx); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("blog of orphan: %v", err)
	}
	if n, err := ds.Post.QueryComments(orphan).Count(ctx); n != 0 || err != nil {
		t.Errorf("comments of orphan: %d, %v", n, err)
	}
	if ts, err := ds.Post.Tags(ctx, orphan); len(ts) != 0 || err != nil {
		t.Errorf("tags of orphan: %d, %v", len(ts), err)
	}
	empty := &blogm.Blog{ID: "empty", Name: "e"}
	must(t, ds.Blog.Save(ctx, empty))
	if n, err := ds.Blog.QueryPosts(empty).Count(ctx); n != 0 || err != nil {
		t.Errorf("posts of empty blog: %d, %v", n, err)
	}
	// Moving a post to another blog moves it between relation queries.
	p.BlogPostsID = ptr("empty")
	must(t, ds.Post.Save(ctx, p))
	moved, err := ds.Blog.QueryPosts(empty).All(ctx)
	if got := ids(t, moved, err, postKey); got != p.ID {
		t.Errorf("posts of empty after move: %s", got)
	}
	left, err := ds.Blog.QueryPosts(b1).All(ctx)
	if got := ids(t, left, err, postKey); strings.Contains(got, p.ID) || strings.Count(got, " ") != 2 {
		t.Errorf("posts of b1 after move: %s", got)
	}
}

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

func TestE2ERelationsGolden(t *testing.T) {
	ctx := context.Background()
	ds := openRelations(t)
	bookKey := func(b *relm.Book) string { return b.ID }
	must(t, ds.Profile.Save(ctx, &relm.Profile{ID: "prof", Bio: ptr("bio")}))
	must(t, ds.Address.Save(ctx, &relm.Address{ID: "addr", City: "Oslo"}))
	a := &relm.Author{ID: "a", Name: "A", AddressID: ptr("addr"), AuthorProfileID: ptr("prof")}
	must(t, ds.Author.Save(ctx, a))
	must(t, ds.Author.Save(ctx, &relm.Author{ID: "other", Name: "O"}))
	for i, title := range []string{"Zed", "Alpha", "Mid"} {
		must(t, ds.Book.Save(ctx, &relm.Book{ID: fmt.Sprint("k", i), Title: title, AuthorID: "a"}))
	}
	must(t, ds.Book.Save(ctx, &relm.Book{ID: "k9", Title: "Other's", AuthorID: "other"}))
	must(t, ds.Review.Save(ctx, &relm.Review{ID: "r1", Stars: 5, BookID: "k1"}))
	must(t, ds.Review.Save(ctx, &relm.Review{ID: "r2", Stars: 2, BookID: "k1"}))
	must(t, ds.Shelf.Save(ctx, &relm.Shelf{ID: "s1", Label: "fav"}))
	must(t, ds.Shelf.Save(ctx, &relm.Shelf{ID: "s2", Label: "todo"}))
	must(t, ds.BookShelf.Save(ctx, &relm.BookShelf{ID: "j1", BookID: ptr("k1"), ShelfID: ptr("s1")}))
	must(t, ds.BookShelf.Save(ctx, &relm.BookShelf{ID: "j2", BookID: ptr("k1"), ShelfID: ptr("s2")}))
	must(t, ds.BookShelf.Save(ctx, &relm.BookShelf{ID: "j3", BookID: ptr("k9"), ShelfID: ptr("s1")}))

	prof, err := ds.Author.QueryProfile(a).First(ctx)
	if err != nil || prof.ID != "prof" {
		t.Errorf("hasOne profile: %v, %v", prof, err)
	}
	addr, err := ds.Author.QueryAddress(a).First(ctx)
	if err != nil || addr.City != "Oslo" {
		t.Errorf("hasOne address (fields): %v, %v", addr, err)
	}
	// hasMany through the @index byAuthor: in index order, by title.
	q := ds.Author.QueryBooks(a)
	if p := q.Plan(); p != "index byAuthor: 1 eq" {
		t.Errorf("QueryBooks plan %q", p)
	}
	books, err := q.All(ctx)
	must(t, err)
	if got := strings.Join(keysOf(books, bookKey), " "); got != "k1 k2 k0" {
		t.Errorf("books of a in title order: %s", got)
	}
	k1 := books[0]
	if au, err := ds.Book.QueryAuthor(k1).First(ctx); err != nil || au.ID != "a" {
		t.Errorf("belongsTo author: %v, %v", au, err)
	}
	rs, err := ds.Book.QueryReviews(k1).Where(review.Stars.Gt(3)).All(ctx)
	if got := ids(t, rs, err, func(r *relm.Review) string { return r.ID }); got != "r1" {
		t.Errorf("reviews (references) of k1 with stars > 3: %s", got)
	}
	if b, err := ds.Review.QueryBook(rs[0]).First(ctx); err != nil || b.ID != "k1" {
		t.Errorf("book of review: %v, %v", b, err)
	}
	shelves, err := ds.Book.Shelves(ctx, k1)
	if got := ids(t, shelves, err, func(s *relm.Shelf) string { return s.ID }); got != "s1 s2" {
		t.Errorf("shelves of k1: %s", got)
	}
	s1, err := ds.Shelf.Get(ctx, "s1")
	must(t, err)
	onS1, err := ds.Shelf.Books(ctx, s1)
	if got := ids(t, onS1, err, bookKey); got != "k1 k9" {
		t.Errorf("books on s1: %s", got)
	}

	// Deleting the author cascades to its hasOne profile and address, its
	// books, their reviews and shelf rows; shelves and the other author's
	// data stay.
	must(t, ds.Author.Delete(ctx, a))
	count := func(name string, n int, err error) string {
		must(t, err)
		return fmt.Sprintf("%s=%d", name, n)
	}
	var got []string
	n, err := ds.Author.Query().Count(ctx)
	got = append(got, count("authors", n, err))
	n, err = ds.Profile.Query().Count(ctx)
	got = append(got, count("profiles", n, err))
	n, err = ds.Address.Query().Count(ctx)
	got = append(got, count("addresses", n, err))
	n, err = ds.Book.Query().Count(ctx)
	got = append(got, count("books", n, err))
	n, err = ds.Review.Query().Count(ctx)
	got = append(got, count("reviews", n, err))
	n, err = ds.BookShelf.Query().Count(ctx)
	got = append(got, count("bookShelves", n, err))
	n, err = ds.Shelf.Query().Count(ctx)
	got = append(got, count("shelves", n, err))
	if s := strings.Join(got, " "); s != "authors=1 profiles=0 addresses=0 books=1 reviews=0 bookShelves=1 shelves=2" {
		t.Errorf("after deleting author a: %s", s)
	}
	// The index of the deleted books is clean.
	if n, err := ds.Book.Query().Where(book.AuthorID.Eq("a")).Count(ctx); n != 0 || err != nil {
		t.Errorf("books of a through the index after delete: %d, %v", n, err)
	}
}

func TestE2ECompositeRelations(t *testing.T) {
	ctx := context.Background()
	ds := openKeys(t)
	d := scalar.MustParseDate
	must(t, ds.Team.Save(ctx, &ckm.Team{TeamID: "team", Name: "red"}))
	must(t, ds.Team.Save(ctx, &ckm.Team{TeamID: "team", Name: "blue"}))
	pr := &ckm.Project{ProjectID: "p", Name: "alpha", ProjectTeamTeamID: ptr("team"), ProjectTeamName: ptr("red")}
	must(t, ds.Project.Save(ctx, pr))
	must(t, ds.Project.Save(ctx, &ckm.Project{ProjectID: "p", Name: "beta"}))
	for i := range 4 {
		must(t, ds.Task.Save(ctx, &ckm.Task{TaskID: fmt.Sprint("t", i), DueOn: d("2024-05-01"), Priority: i, ProjectTasksProjectID: ptr("p"), ProjectTasksName: ptr("alpha")}))
	}
	must(t, ds.Task.Save(ctx, &ckm.Task{TaskID: "tb", DueOn: d("2024-05-01"), Priority: 0, ProjectTasksProjectID: ptr("p"), ProjectTasksName: ptr("beta")}))

	team, err := ds.Project.QueryTeam(pr).First(ctx)
	if err != nil || team.Name != "red" {
		t.Errorf("hasOne team by composite key: %v, %v", team, err)
	}
	q := ds.Project.QueryTasks(pr)
	if p := q.Plan(); p != "index rel:projectTasksProjectId,projectTasksName: 2 eq" {
		t.Errorf("QueryTasks plan %q", p)
	}
	tasks, err := q.All(ctx)
	if got := ids(t, tasks, err, func(x *ckm.Task) string { return x.TaskID }); got != "t0 t1 t2 t3" {
		t.Errorf("tasks of p/alpha: %s", got)
	}
	if p, err := ds.Task.QueryProject(tasks[0]).First(ctx); err != nil || p.Name != "alpha" {
		t.Errorf("project of task: %v, %v", p, err)
	}
	must(t, ds.Project.Delete(ctx, pr))
	rest, err := ds.Task.Query().All(ctx)
	if got := ids(t, rest, err, func(x *ckm.Task) string { return x.TaskID }); got != "tb" {
		t.Errorf("tasks after deleting p/alpha: %s", got)
	}
	teams, err := ds.Team.Query().All(ctx)
	if got := ids(t, teams, err, func(x *ckm.Team) string { return x.Name }); got != "blue" {
		t.Errorf("teams after deleting p/alpha: %s", got)
	}
}

func TestE2ECascadeDelete(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)
	g := saveBlogGraph(t, ds, 3, 5, 4)
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	blogCh := ds.Blog.Observe(obsCtx)
	postCh := ds.Post.Observe(obsCtx)
	commentCh := ds.Comment.Observe(obsCtx)
	joinCh := ds.PostTags.Observe(obsCtx)
	tagCh := ds.Tag.Observe(obsCtx)

	// Readers never see a half-deleted blog: each read transaction sees
	// the blog with all its posts and comments, or none of them.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var torn atomic.Value
	var reads atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ; !stop.Load(); reads.Add(1) {
			err := ds.Batch(ctx, func(tx *blogm.Tx) error {
				nb, err := tx.Blog.Query().Where(blogf.ID.Eq("b1")).Count(ctx)
				if err != nil {
					return err
				}
				np, err := tx.Post.Query().Where(post.BlogPostsID.Eq("b1")).Count(ctx)
				if err != nil {
					return err
				}
				nc, err := tx.Comment.Query().Where(comment.PostCommentsID.BeginsWith("b1.")).Count(ctx)
				if err != nil {
					return err
				}
				if s := fmt.Sprint(nb, np, nc); s != "1 5 20" && s != "0 0 0" {
					torn.Store(s)
				}
				return nil
			})
			if err != nil {
				torn.Store(err.Error())
				return
			}
		}
	}()

	for reads.Load() < 3 && torn.Load() == nil {
		time.Sleep(time.Millisecond)
	}
	b1, err := ds.Blog.Get(ctx, "b1")
	must(t, err)
	// A failing condition deletes nothing.
	if err := ds.Blog.Delete(ctx, b1, datastore.If(blogf.Name.Eq("other"))); !errors.Is(err, datastore.ErrConditionFailed) {
		t.Fatalf("conditional delete: %v", err)
	}
	must(t, ds.Blog.Delete(ctx, b1))
	for n := reads.Load(); reads.Load() < n+3 && torn.Load() == nil; {
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if s := torn.Load(); s != nil {
		t.Errorf("a reader saw blog, posts, comments = %v", s)
	}

	posts, err := ds.Post.Query().All(ctx)
	if got, want := ids(t, posts, err, postKey), under(g.posts, "b0.")+" "+under(g.posts, "b2."); got != want {
		t.Errorf("posts left: %s\nwant %s", got, want)
	}
	cs, err := ds.Comment.Query().All(ctx)
	if got, want := ids(t, cs, err, func(c *blogm.Comment) string { return c.ID }), under(g.comments, "b0.")+" "+under(g.comments, "b2."); got != want {
		t.Errorf("comments left: %s\nwant %s", got, want)
	}
	js, err := ds.PostTags.Query().All(ctx)
	if got, want := ids(t, js, err, func(j *blogm.PostTags) string { return j.ID }), under(g.joins, "b0.")+" "+under(g.joins, "b2."); got != want {
		t.Errorf("join rows left: %s\nwant %s", got, want)
	}
	if n, _ := ds.Tag.Query().Count(ctx); n != len(g.tags) {
		t.Errorf("%d tags left, want %d (tags are not children of posts)", n, len(g.tags))
	}
	// The indexes hold no entries of deleted records.
	for _, tid := range g.tags {
		rows, err := ds.PostTags.QueryByTag(tid).All(ctx)
		must(t, err)
		for _, r := range rows {
			if strings.HasPrefix(*r.PostID, "b1.") {
				t.Errorf("index byTag still finds %s", r.ID)
			}
		}
	}

	// Observers see a DELETE for every record of the tree, with the record
	// as it was. Within a model, children come in the order their parents
	// were deleted.
	var got []string
	for range 20 {
		c := recv(t, commentCh, "comment delete")
		if c.Op != datastore.OpDelete || c.Element.Content != c.Element.ID {
			t.Errorf("comment change %v %+v", c.Op, c.Element)
		}
		got = append(got, c.Element.ID)
	}
	if strings.Join(got, " ") != under(g.comments, "b1.") {
		t.Errorf("comment deletes in order %v", got)
	}
	got = nil
	for range 5 {
		c := recv(t, postCh, "post delete")
		if c.Op != datastore.OpDelete || c.Element.BlogPostsID == nil || *c.Element.BlogPostsID != "b1" {
			t.Errorf("post change %v %+v", c.Op, c.Element)
		}
		got = append(got, c.Element.ID)
	}
	if strings.Join(got, " ") != under(g.posts, "b1.") {
		t.Errorf("post deletes in order %v", got)
	}
	nj := len(strings.Fields(under(g.joins, "b1.")))
	for range nj {
		if c := recv(t, joinCh, "join delete"); c.Op != datastore.OpDelete || !strings.HasPrefix(c.Element.ID, "b1.") {
			t.Errorf("join change %v %+v", c.Op, c.Element)
		}
	}
	if c := recv(t, blogCh, "blog delete"); c.Op != datastore.OpDelete || c.Element.ID != "b1" || c.Element.Name != "b1" {
		t.Errorf("blog change %v %+v", c.Op, c.Element)
	}
	quiet(t, tagCh, 50*time.Millisecond, "tags")
	quiet(t, commentCh, 10*time.Millisecond, "comments")
	quiet(t, blogCh, 10*time.Millisecond, "blogs")

	// Deleting a post alone: its comments and join rows go, its blog stays.
	p, err := ds.Post.Get(ctx, "b0.p0")
	must(t, err)
	must(t, ds.Post.Delete(ctx, p))
	if n, _ := ds.Comment.Query().Where(comment.PostCommentsID.Eq("b0.p0")).Count(ctx); n != 0 {
		t.Errorf("%d comments of deleted post", n)
	}
	if n, _ := ds.PostTags.QueryByPost("b0.p0").Count(ctx); n != 0 {
		t.Errorf("%d join rows of deleted post", n)
	}
	if _, err := ds.Blog.Get(ctx, "b0"); err != nil {
		t.Errorf("belongsTo parent touched: %v", err)
	}
	// Deleting a tag deletes its join rows only.
	before, _ := ds.Post.Query().Count(ctx)
	must(t, ds.Tag.DeleteKey(ctx, "go"))
	if n, _ := ds.PostTags.QueryByTag("go").Count(ctx); n != 0 {
		t.Errorf("%d join rows of deleted tag", n)
	}
	if after, _ := ds.Post.Query().Count(ctx); after != before {
		t.Errorf("deleting a tag deleted posts: %d -> %d", before, after)
	}
	// DeleteWhere on blogs counts blogs, and cascades.
	n, err := ds.Blog.DeleteWhere(ctx, predicate.All[blogm.Blog]())
	if err != nil || n != 2 {
		t.Errorf("DeleteWhere blogs = %d, %v; want 2", n, err)
	}
	for name, q := range map[string]func(context.Context) (int, error){
		"posts":    ds.Post.Query().Count,
		"comments": ds.Comment.Query().Count,
		"joins":    ds.PostTags.Query().Count,
	} {
		if n, err := q(ctx); n != 0 || err != nil {
			t.Errorf("%s left after deleting every blog: %d, %v", name, n, err)
		}
	}
}

// TestE2ELargeCascade deletes a blog with thousands of posts and comments
// and checks that exactly the tree goes. That the cascade stays linear in the
// size of the tree (it was quadratic, about 3 s for 2,000 posts and 13 s for
// 4,000, when records were deleted while the tree was still being walked) is
// measured by BenchmarkCascadeDelete, not timed here. The sizes stay below Badger's
// transaction limit (about 13k entries with the default preset), so each
// delete is one transaction; TestE2ECascadeOverTxnLimit goes past it.
func TestE2ELargeCascade(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)
	const posts = 2000
	must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: "big", Name: "big"}))
	must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: "small", Name: "small"}))
	must(t, ds.Tag.Save(ctx, &blogm.Tag{ID: "tag", Label: "tag"}))
	for i := 0; i < posts; i += 500 {
		must(t, ds.Batch(ctx, func(tx *blogm.Tx) error {
			for j := i; j < i+500; j++ {
				id := fmt.Sprint("p", j)
				if err := tx.Post.Save(ctx, &blogm.Post{ID: id, Title: "t", BlogPostsID: ptr("big")}); err != nil {
					return err
				}
				if j%3 == 0 {
					if err := tx.Comment.Save(ctx, &blogm.Comment{ID: "c" + id, Content: "c", PostCommentsID: &id}); err != nil {
						return err
					}
					if err := tx.PostTags.Save(ctx, &blogm.PostTags{ID: "j" + id, PostID: &id, TagID: ptr("tag")}); err != nil {
						return err
					}
				}
			}
			return nil
		}))
	}
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "other", Title: "t", BlogPostsID: ptr("small")}))
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	deletes := ds.Comment.Observe(obsCtx)

	must(t, ds.Blog.DeleteKey(ctx, "big"))
	for name, q := range map[string]func(context.Context) (int, error){
		"posts":    ds.Post.Query().Count,
		"comments": ds.Comment.Query().Count,
		"joins":    ds.PostTags.Query().Count,
		"blogs":    ds.Blog.Query().Count,
		"tags":     ds.Tag.Query().Count,
	} {
		want := map[string]int{"posts": 1, "blogs": 1, "tags": 1}[name]
		if n, err := q(ctx); n != want || err != nil {
			t.Errorf("%s after the cascade: %d, %v; want %d", name, n, err, want)
		}
	}
	for i := 0; i < posts; i += 3 {
		c := recv(t, deletes, "cascaded comment delete")
		if c.Op != datastore.OpDelete {
			t.Fatalf("change %v", c.Op)
		}
	}
	// DeleteWhere over many roots is linear too.
	const roots = 1500
	for i := 0; i < roots; i += 500 {
		must(t, ds.Batch(ctx, func(tx *blogm.Tx) error {
			for j := i; j < i+500; j++ {
				id := fmt.Sprint("q", j)
				if err := tx.Post.Save(ctx, &blogm.Post{ID: id, Title: "gone", BlogPostsID: ptr("small")}); err != nil {
					return err
				}
				if err := tx.Comment.Save(ctx, &blogm.Comment{ID: "c" + id, Content: "c", PostCommentsID: &id}); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	n, err := ds.Post.DeleteWhere(ctx, post.Title.Eq("gone"))
	if err != nil || n != roots {
		t.Errorf("DeleteWhere = %d, %v; want %d", n, err, roots)
	}
	if n, _ := ds.Comment.Query().Count(ctx); n != 0 {
		t.Errorf("%d comments after DeleteWhere", n)
	}
}
