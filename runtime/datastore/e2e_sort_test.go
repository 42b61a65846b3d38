package datastore_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	relm "github.com/dsgen/dsgen/golden/relations/model"
	"github.com/dsgen/dsgen/golden/relations/model/book"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
)

// pageOf returns page p of size limit of items (limit 0: all).
func pageOf[T any](items []*T, limit, page int) []*T {
	if limit == 0 {
		return items
	}
	lo := min(page*limit, len(items))
	hi := min(lo+limit, len(items))
	return items[lo:hi]
}

// checkSorted compares sorted and paged queries with brute force.
func checkSorted[T any](t *testing.T, all []*T, key func(*T) string, less func(a, b *T) int,
	newQuery func() *datastore.Query[T], pred predicate.Predicate[T], orders []predicate.Order[T], wantPlan string) {
	t.Helper()
	ctx := context.Background()
	want := bruteForce(all, pred, less, orders...)
	name := pred.String()
	for _, o := range orders {
		dir := "asc"
		if o.Descending() {
			dir = "desc"
		}
		name += fmt.Sprintf(" order %s %s", o.Field(), dir)
	}
	got, err := newQuery().Where(pred).Order(orders...).All(ctx)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if d := diffKeys(keysOf(got, key), keysOf(want, key)); d != "" {
		t.Errorf("%s: %s", name, d)
	}
	for _, limit := range []int{1, 2, 3, 7, 50, len(want), len(want) + 5} {
		if limit == 0 {
			continue
		}
		last := len(want) / limit
		for _, page := range []int{0, 1, 2, last - 1, last, last + 1} {
			if page < 0 || (page > 2 && page < last-1) {
				continue
			}
			q := newQuery().Where(pred).Order(orders...).Limit(limit).Page(page)
			plan := q.Plan()
			if page == 0 && wantPlan != "" && !strings.HasPrefix(plan, wantPlan) {
				t.Errorf("%s limit %d: plan %q, want %q", name, limit, plan, wantPlan)
			}
			got, err := q.All(ctx)
			if err != nil {
				t.Errorf("%s limit %d page %d: %v", name, limit, page, err)
				continue
			}
			if d := diffKeys(keysOf(got, key), keysOf(pageOf(want, limit, page), key)); d != "" {
				t.Errorf("%s limit %d page %d (plan %s): %s", name, limit, page, plan, d)
			}
		}
	}
	// First is the head of the sorted results.
	first, err := newQuery().Where(pred).Order(orders...).First(ctx)
	switch {
	case len(want) == 0:
		if !errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("%s: First on no results: %v, want ErrNotFound", name, err)
		}
	case err != nil:
		t.Errorf("%s: First: %v", name, err)
	case key(first) != key(want[0]):
		t.Errorf("%s: First = %s, want %s", name, key(first), key(want[0]))
	}
}

func TestE2ESortAndPage(t *testing.T) {
	t.Parallel()
	ds := openBlog(t)
	all := seedPosts(t, ds, 120, 4)
	less := func(a, b *blogm.Post) int { return cmp.Compare(a.ID, b.ID) }
	type ord = predicate.Order[blogm.Post]
	preds := []predicate.Predicate[blogm.Post]{
		predicate.All[blogm.Post](),
		post.BlogPostsID.Eq("ba"),
		post.BlogPostsID.In("b", "c"),
		post.Rating.Gt(1),
		post.Title.BeginsWith("al"),
		post.ID.Eq("nope"),
	}
	orderSets := []struct {
		orders []ord
		plan   string // expected plan prefix with a limit and no predicate
	}{
		{[]ord{post.ID.Asc()}, "primary key: 0 eq, ordered"},
		{[]ord{post.ID.Desc()}, "primary key: 0 eq, ordered"},
		{[]ord{post.Title.Asc()}, "scan"},
		{[]ord{post.Title.Desc()}, "scan"},
		{[]ord{post.Rating.Asc()}, "scan"},
		{[]ord{post.Rating.Desc()}, "scan"},
		{[]ord{post.Status.Asc()}, ""},
		{[]ord{post.Status.Desc(), post.Rating.Asc()}, ""},
		{[]ord{post.Rating.Desc(), post.Title.Asc()}, ""},
		{[]ord{post.Title.Asc(), post.Rating.Desc(), post.Status.Asc()}, ""},
		{[]ord{post.BlogPostsID.Asc()}, "index rel:blogPostsId: 0 eq, ordered"},
		{[]ord{post.BlogPostsID.Desc()}, "index rel:blogPostsId: 0 eq, ordered"},
		{[]ord{post.BlogPostsID.Asc(), post.Rating.Desc()}, "index rel:blogPostsId: 0 eq, ordered"},
		{[]ord{post.BlogPostsID.Desc(), post.Title.Asc(), post.Rating.Asc()}, "index rel:blogPostsId: 0 eq, ordered"},
		{[]ord{post.CreatedAt.Desc()}, ""},
	}
	for _, p := range preds {
		for _, os := range orderSets {
			plan := ""
			if p.Expr().Kind == predicate.KindTrue {
				plan = os.plan
			}
			checkSorted(t, all, postKey, less, ds.Post.Query, p, os.orders, plan)
		}
	}
}

// TestE2ESortNulls checks the documented null order on a small hand-made
// data set: nulls first ascending, last descending, ties by primary key.
func TestE2ESortNulls(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)
	must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: "b1", Name: "b1"}))
	for _, p := range []*blogm.Post{
		{ID: "e", Title: "x", Rating: ptr(2)},
		{ID: "a", Title: "x"},
		{ID: "d", Title: "x", Rating: ptr(1), BlogPostsID: ptr("b1")},
		{ID: "c", Title: "x"},
		{ID: "b", Title: "x", Rating: ptr(2), BlogPostsID: ptr("b1")},
	} {
		must(t, ds.Post.Save(ctx, p))
	}
	for _, c := range []struct {
		orders []predicate.Order[blogm.Post]
		limit  int
		want   string
	}{
		{[]predicate.Order[blogm.Post]{post.Rating.Asc()}, 0, "a c d b e"},
		{[]predicate.Order[blogm.Post]{post.Rating.Desc()}, 0, "b e d a c"},
		{[]predicate.Order[blogm.Post]{post.Rating.Desc()}, 3, "b e d"},
		{[]predicate.Order[blogm.Post]{post.BlogPostsID.Asc()}, 0, "a c e b d"},
		{[]predicate.Order[blogm.Post]{post.BlogPostsID.Asc()}, 1, "a"},
		{[]predicate.Order[blogm.Post]{post.BlogPostsID.Asc()}, 2, "a c"},
		{[]predicate.Order[blogm.Post]{post.BlogPostsID.Desc()}, 0, "b d a c e"},
		{[]predicate.Order[blogm.Post]{post.BlogPostsID.Desc()}, 1, "b"},
		{[]predicate.Order[blogm.Post]{post.BlogPostsID.Desc(), post.Rating.Asc()}, 1, "d"},
		{[]predicate.Order[blogm.Post]{post.BlogPostsID.Asc(), post.Rating.Desc()}, 3, "e a c"},
		{[]predicate.Order[blogm.Post]{post.Title.Asc()}, 0, "a b c d e"},
		{[]predicate.Order[blogm.Post]{post.Title.Desc()}, 2, "a b"},
		{nil, 0, "a b c d e"},
	} {
		got, err := ds.Post.Query().Order(c.orders...).Limit(c.limit).All(ctx)
		must(t, err)
		if ids := strings.Join(keysOf(got, postKey), " "); ids != c.want {
			t.Errorf("order %v limit %d: got %q, want %q", c.orders, c.limit, ids, c.want)
		}
	}
}

func TestE2EPagingEdges(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)

	// Empty store.
	got, err := ds.Post.Query().Order(post.Rating.Desc()).Limit(10).Page(3).All(ctx)
	if err != nil || len(got) != 0 {
		t.Errorf("empty store: %d results, %v", len(got), err)
	}
	if n, err := ds.Post.Query().Count(ctx); n != 0 || err != nil {
		t.Errorf("empty store: Count = %d, %v", n, err)
	}
	if _, err := ds.Post.Query().First(ctx); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("empty store: First: %v, want ErrNotFound", err)
	}

	for i := range 10 {
		must(t, ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprintf("p%d", i), Title: "t", Rating: ptr(i % 4)}))
	}
	ids := func(limit, page int) string {
		t.Helper()
		got, err := ds.Post.Query().Order(post.Rating.Asc()).Limit(limit).Page(page).All(ctx)
		if err != nil {
			t.Fatalf("limit %d page %d: %v", limit, page, err)
		}
		return strings.Join(keysOf(got, postKey), " ")
	}
	// Ratings: p0 p4 p8 -> 0; p1 p5 p9 -> 1; p2 p6 -> 2; p3 p7 -> 3.
	for _, c := range []struct {
		limit, page int
		want        string
	}{
		{0, 0, "p0 p4 p8 p1 p5 p9 p2 p6 p3 p7"},
		{100, 0, "p0 p4 p8 p1 p5 p9 p2 p6 p3 p7"},
		{10, 0, "p0 p4 p8 p1 p5 p9 p2 p6 p3 p7"},
		{10, 1, ""},
		{4, 0, "p0 p4 p8 p1"},
		{4, 1, "p5 p9 p2 p6"},
		{4, 2, "p3 p7"},
		{4, 3, ""},
		{4, 1000, ""},
		{3, 3, "p7"},
		{1, 9, "p7"},
	} {
		if got := ids(c.limit, c.page); got != c.want {
			t.Errorf("limit %d page %d: %q, want %q", c.limit, c.page, got, c.want)
		}
	}
	// Count ignores limit and page.
	if n, err := ds.Post.Query().Where(post.Rating.Ge(2)).Limit(1).Page(1).Count(ctx); n != 4 || err != nil {
		t.Errorf("Count with limit: %d, %v; want 4", n, err)
	}
	// First ignores page.
	if p, err := ds.Post.Query().Order(post.Rating.Desc()).Limit(3).Page(2).First(ctx); err != nil || p.ID != "p3" {
		t.Errorf("First: %v, %v; want p3", p, err)
	}

	for _, q := range []*datastore.Query[blogm.Post]{
		ds.Post.Query().Page(1),
		ds.Post.Query().Limit(-1),
		ds.Post.Query().Limit(2).Page(-1),
		ds.Post.Query().Order(post.Rating.Asc()).Page(2),
	} {
		if got, err := q.All(ctx); err == nil {
			t.Errorf("query %s: no error, %d results", q.Plan(), len(got))
		}
	}
	if _, err := ds.Post.Query().Limit(-3).First(ctx); err != nil {
		t.Errorf("First overrides the limit: %v", err)
	}
}

// TestE2ESortThroughIndex checks that a sorted query with a limit that reads
// an index in order and stops early returns what a full sort does.
func TestE2ESortThroughIndex(t *testing.T) {
	ctx := context.Background()
	ds := openRelations(t)
	rng := rand.New(rand.NewPCG(5, 5))
	authors := []string{"x", "y"}
	for _, a := range authors {
		must(t, ds.Author.Save(ctx, &relm.Author{ID: a, Name: a}))
	}
	var all []*relm.Book
	for range 80 {
		b := &relm.Book{ID: fmt.Sprintf("k%02d", rng.IntN(100)), Title: fmt.Sprintf("t%d", rng.IntN(6)), AuthorID: authors[rng.IntN(2)]}
		must(t, ds.Book.Save(ctx, b))
		all = append(all, b)
	}
	// Ids repeat: keep the last save of each.
	latest := map[string]*relm.Book{}
	for _, b := range all {
		latest[b.ID] = b
	}
	all = all[:0]
	for _, b := range latest {
		all = append(all, b)
	}
	key := func(b *relm.Book) string { return b.ID }
	less := func(a, b *relm.Book) int { return cmp.Compare(a.ID, b.ID) }
	type ord = predicate.Order[relm.Book]
	for _, c := range []struct {
		pred   predicate.Predicate[relm.Book]
		orders []ord
		plan   string
	}{
		{book.AuthorID.Eq("x"), []ord{book.Title.Asc()}, "index byAuthor: 1 eq, ordered"},
		{book.AuthorID.Eq("x"), []ord{book.Title.Desc()}, "index byAuthor: 1 eq, ordered"},
		{book.AuthorID.Eq("y"), []ord{book.Title.Desc(), book.ID.Desc()}, "index byAuthor: 1 eq, ordered"},
		{predicate.And(book.AuthorID.Eq("y"), book.Title.Gt("t1")), []ord{book.Title.Desc()}, "index byAuthor: 1 eq, gt, ordered"},
		{predicate.And(book.AuthorID.Eq("y"), book.Title.In("t4", "t0", "t2")), []ord{book.Title.Desc()}, "index byAuthor: 1 eq, in, ordered"},
		{predicate.And(book.AuthorID.Eq("y"), book.Title.In("t4", "t0", "t2")), []ord{book.Title.Asc()}, "index byAuthor: 1 eq, in, ordered"},
		{book.AuthorID.In("y", "x"), []ord{book.AuthorID.Desc(), book.Title.Asc()}, "index byAuthor: 0 eq, in, ordered"},
		{predicate.All[relm.Book](), []ord{book.AuthorID.Asc(), book.Title.Desc()}, "index byAuthor: 0 eq, ordered"},
		{predicate.All[relm.Book](), []ord{book.ID.Desc()}, "primary key: 0 eq, ordered"},
		{book.Title.Ne("t3"), []ord{book.ID.Asc()}, "primary key: 0 eq, ordered"},
	} {
		checkSorted(t, all, key, less, ds.Book.Query, c.pred, c.orders, c.plan)
	}
}
