package datastore_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	ckm "github.com/dsgen/dsgen/golden/composite-keys/model"
	"github.com/dsgen/dsgen/golden/composite-keys/model/task"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/scalar"
	"github.com/dsgen/dsgen/runtime/storage"
)

// FuzzQuery builds random records and random queries (predicates, orders,
// limits and pages) from a seed and checks every result against brute
// force over the saved records. It covers a model with nullable fields, an
// enum and a relation index (Post) and one with a three-field composite key
// holding an AWSDate (Task).
//
// The stores are in memory: this test is about query semantics, and the
// on-disk engine is covered by the rest of the suite.
func FuzzQuery(f *testing.F) {
	for seed := range uint64(12) {
		f.Add(seed, uint8(20+seed*13))
	}
	f.Fuzz(func(t *testing.T, seed uint64, n uint8) {
		fuzzPosts(t, seed, int(n))
		fuzzTasks(t, seed, int(n))
	})
}

// checkQuery compares one random query with brute force.
func checkQuery[T any](t *testing.T, all []*T, key func(*T) string, less func(a, b *T) int,
	newQuery func() *datastore.Query[T], pred predicate.Predicate[T], orders []predicate.Order[T], limit, page int) {
	t.Helper()
	ctx := context.Background()
	want := bruteForce(all, pred, less, orders...)
	q := newQuery().Where(pred).Order(orders...).Limit(limit).Page(page)
	desc := fmt.Sprintf("where %s, %d orders, limit %d page %d (plan %s)", pred, len(orders), limit, page, q.Plan())
	got, err := q.All(ctx)
	if err != nil {
		t.Fatalf("%s: %v", desc, err)
	}
	switch {
	case len(orders) > 0:
		if d := diffKeys(keysOf(got, key), keysOf(pageOf(want, limit, page), key)); d != "" {
			t.Fatalf("%s: %s", desc, d)
		}
	case limit == 0:
		if d := diffKeys(sortedKeys(got, key), sortedKeys(want, key)); d != "" {
			t.Fatalf("%s: %s", desc, d)
		}
	default:
		// Without an order the page holds records in the access path's
		// order: check its size, that they match and are distinct.
		if len(got) != len(pageOf(want, limit, page)) {
			t.Fatalf("%s: %d results, want %d", desc, len(got), len(pageOf(want, limit, page)))
		}
		seen := map[string]bool{}
		for _, v := range got {
			if !pred.Match(v) || seen[key(v)] {
				t.Fatalf("%s: result %s does not match or repeats", desc, key(v))
			}
			seen[key(v)] = true
		}
	}
	if limit == 0 && page == 0 {
		n, err := newQuery().Where(pred).Count(ctx)
		if err != nil || n != len(want) {
			t.Fatalf("%s: Count = %d, %v; want %d", desc, n, err, len(want))
		}
		scanned, err := newQuery().Where(predicate.Not(predicate.Not(pred))).Order(orders...).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffKeys(sortedKeys(scanned, key), sortedKeys(want, key)); d != "" {
			t.Fatalf("%s, scanned: %s", desc, d)
		}
	}
}

// randomQuery returns limit and page for a random query.
func randomPaging(rng *rand.Rand) (limit, page int) {
	if rng.IntN(3) == 0 {
		return 0, 0
	}
	return 1 + rng.IntN(10), rng.IntN(4)
}

func fuzzPosts(t *testing.T, seed uint64, n int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 1))
	ds, err := blogm.Open(ctx, "", datastore.InMemory(), datastore.MemoryPreset(storage.PresetDevice))
	must(t, err)
	defer ds.Close(ctx)
	blogs := []string{"b", "ba", "b\x00", "c", "b\xff", "b\x00\xff"}
	for _, id := range blogs {
		must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: id, Name: id}))
	}
	ids := []string{"", "a", "ab", "b", "b\x00", "ba", "z", "é", "\xff", "a\x00\xff"}
	titles := []string{"", "x", "xy", "y", "X"}
	latest := map[string]*blogm.Post{}
	for i := range n {
		p := &blogm.Post{ID: ids[rng.IntN(len(ids))] + fmt.Sprint(rng.IntN(4)), Title: titles[rng.IntN(len(titles))]}
		if rng.IntN(4) > 0 {
			p.Rating = ptr(rng.IntN(7) - 3)
		}
		if rng.IntN(3) > 0 {
			p.Status = ptr(blogm.PostStatusValues()[rng.IntN(2)])
		}
		if rng.IntN(4) > 0 {
			p.BlogPostsID = ptr(blogs[rng.IntN(len(blogs))])
		}
		if i%9 == 8 && len(latest) > 0 {
			for id := range latest { // delete some
				must(t, ds.Post.DeleteKey(ctx, id))
				delete(latest, id)
				break
			}
			continue
		}
		must(t, ds.Post.Save(ctx, p))
		latest[p.ID] = p
	}
	var all []*blogm.Post
	for _, p := range latest {
		all = append(all, p)
	}
	str := func(pool []string) string { return pool[rng.IntN(len(pool))] }
	prefix := func(pool []string) string {
		s := str(pool)
		return s[:rng.IntN(len(s)+1)]
	}
	strOps := func(h predicate.StringField[blogm.Post, string], pool []string) predicate.Predicate[blogm.Post] {
		switch rng.IntN(12) {
		case 0:
			return h.Eq(str(pool))
		case 1:
			return h.Ne(str(pool))
		case 2:
			return h.Gt(str(pool))
		case 3:
			return h.Ge(str(pool))
		case 4:
			return h.Lt(str(pool))
		case 5:
			return h.Le(str(pool))
		case 6:
			return h.Between(str(pool), str(pool))
		case 7:
			return h.BeginsWith(prefix(pool))
		case 8:
			return h.In(str(pool), str(pool), str(pool))
		case 9:
			return h.NotIn(str(pool), str(pool))
		case 10:
			return h.Contains(prefix(pool))
		}
		return h.NotContains(prefix(pool))
	}
	idPool := func() []string {
		var out []string
		for _, s := range ids {
			out = append(out, s+fmt.Sprint(rng.IntN(4)), s)
		}
		return out
	}()
	var leaf func() predicate.Predicate[blogm.Post]
	leaf = func() predicate.Predicate[blogm.Post] {
		switch rng.IntN(5) {
		case 0:
			return strOps(post.ID, idPool)
		case 1:
			return strOps(post.Title, titles)
		case 2:
			return strOps(post.BlogPostsID, append(blogs, "bb", "a"))
		case 3:
			v := rng.IntN(9) - 4
			switch rng.IntN(9) {
			case 0:
				return post.Rating.Eq(v)
			case 1:
				return post.Rating.Ne(v)
			case 2:
				return post.Rating.Gt(v)
			case 3:
				return post.Rating.Ge(v)
			case 4:
				return post.Rating.Lt(v)
			case 5:
				return post.Rating.Between(v, v+rng.IntN(4)-1)
			case 6:
				return post.Rating.In(v, v+2)
			case 7:
				return post.Rating.NotExists()
			}
			return post.Rating.NotIn(v)
		}
		s := blogm.PostStatusValues()[rng.IntN(2)]
		switch rng.IntN(5) {
		case 0:
			return post.Status.Eq(s)
		case 1:
			return post.Status.Ne(s)
		case 2:
			return post.Status.Exists()
		case 3:
			return post.Status.In(s)
		}
		return post.Status.Gt(s)
	}
	var tree func(depth int) predicate.Predicate[blogm.Post]
	tree = func(depth int) predicate.Predicate[blogm.Post] {
		if depth == 0 || rng.IntN(3) == 0 {
			return leaf()
		}
		var kids []predicate.Predicate[blogm.Post]
		for range 1 + rng.IntN(3) {
			kids = append(kids, tree(depth-1))
		}
		switch rng.IntN(4) {
		case 0, 1:
			return predicate.And(kids...)
		case 2:
			return predicate.Or(kids...)
		}
		return predicate.Not(kids[0])
	}
	orderPool := []func(bool) predicate.Order[blogm.Post]{
		func(d bool) predicate.Order[blogm.Post] { return pick(d, post.ID.Asc, post.ID.Desc) },
		func(d bool) predicate.Order[blogm.Post] { return pick(d, post.Title.Asc, post.Title.Desc) },
		func(d bool) predicate.Order[blogm.Post] { return pick(d, post.Rating.Asc, post.Rating.Desc) },
		func(d bool) predicate.Order[blogm.Post] { return pick(d, post.Status.Asc, post.Status.Desc) },
		func(d bool) predicate.Order[blogm.Post] { return pick(d, post.BlogPostsID.Asc, post.BlogPostsID.Desc) },
	}
	less := func(a, b *blogm.Post) int { return cmp.Compare(a.ID, b.ID) }
	for range 40 {
		var pred predicate.Predicate[blogm.Post]
		if rng.IntN(2) == 0 {
			pred = predicate.And(leaf(), tree(2)) // often plannable
		} else {
			pred = tree(3)
		}
		var orders []predicate.Order[blogm.Post]
		for range rng.IntN(4) {
			orders = append(orders, orderPool[rng.IntN(len(orderPool))](rng.IntN(2) == 0))
		}
		limit, page := randomPaging(rng)
		checkQuery(t, all, postKey, less, ds.Post.Query, pred, orders, limit, page)
	}
}

func pick[O any](desc bool, asc, dsc func() O) O {
	if desc {
		return dsc()
	}
	return asc()
}

func fuzzTasks(t *testing.T, seed uint64, n int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 2))
	ds, err := ckm.Open(ctx, "", datastore.InMemory(), datastore.MemoryPreset(storage.PresetDevice))
	must(t, err)
	defer ds.Close(ctx)
	projects := [][2]string{{"p", "a"}, {"p", "b"}, {"q", "a"}}
	for _, p := range projects {
		must(t, ds.Project.Save(ctx, &ckm.Project{ProjectID: p[0], Name: p[1]}))
	}
	taskIDs := []string{"t", "t1", "t10", "u"}
	dates := []string{"2024-01-01", "2024-01-02", "2024-01-02+14:00", "2024-01-01-12:00", "2023-12-31", "2024-01-01Z"}
	latest := map[string]*ckm.Task{}
	for range n {
		tk := &ckm.Task{
			TaskID:   taskIDs[rng.IntN(len(taskIDs))],
			DueOn:    scalar.MustParseDate(dates[rng.IntN(len(dates))]),
			Priority: rng.IntN(5) - 2,
		}
		if rng.IntN(2) == 0 {
			tk.Title = ptr(fmt.Sprint(rng.IntN(3)))
		}
		if rng.IntN(2) == 0 {
			p := projects[rng.IntN(len(projects))]
			tk.ProjectTasksProjectID, tk.ProjectTasksName = ptr(p[0]), ptr(p[1])
		}
		must(t, ds.Task.Save(ctx, tk))
		latest[taskKey(tk)] = tk
	}
	var all []*ckm.Task
	for _, tk := range latest {
		all = append(all, tk)
	}
	date := func() scalar.Date { return scalar.MustParseDate(dates[rng.IntN(len(dates))]) }
	leaf := func() predicate.Predicate[ckm.Task] {
		switch rng.IntN(5) {
		case 0:
			id := taskIDs[rng.IntN(len(taskIDs))]
			switch rng.IntN(5) {
			case 0, 1:
				return task.TaskID.Eq(id)
			case 2:
				return task.TaskID.BeginsWith(id[:rng.IntN(len(id)+1)])
			case 3:
				return task.TaskID.In(id, taskIDs[rng.IntN(len(taskIDs))])
			}
			return task.TaskID.Gt(id)
		case 1:
			d := date()
			switch rng.IntN(7) {
			case 0:
				return task.DueOn.Eq(d)
			case 1:
				return task.DueOn.Gt(d)
			case 2:
				return task.DueOn.Le(d)
			case 3:
				return task.DueOn.Between(d, date())
			case 4:
				if rng.IntN(2) == 0 { // a large set
					var ds []scalar.Date
					for range 9 + rng.IntN(4) {
						ds = append(ds, date())
					}
					return task.DueOn.In(ds...)
				}
				return task.DueOn.In(d, date())
			case 5:
				return task.DueOn.Ne(d)
			}
			return task.DueOn.Lt(d)
		case 2:
			v := rng.IntN(5) - 2
			switch rng.IntN(5) {
			case 0:
				return task.Priority.Eq(v)
			case 1:
				return task.Priority.Ge(v)
			case 2:
				return task.Priority.Lt(v)
			case 3:
				return task.Priority.Between(v, v+1)
			}
			return task.Priority.NotIn(v)
		case 3:
			p := projects[rng.IntN(len(projects))]
			switch rng.IntN(3) {
			case 0:
				return predicate.And(task.ProjectTasksProjectID.Eq(p[0]), task.ProjectTasksName.Eq(p[1]))
			case 1:
				return task.ProjectTasksProjectID.Eq(p[0])
			}
			return task.ProjectTasksName.NotExists()
		}
		switch rng.IntN(3) {
		case 0:
			return task.Title.Eq(fmt.Sprint(rng.IntN(3)))
		case 1:
			return task.Title.Ne(fmt.Sprint(rng.IntN(3)))
		}
		return task.Title.NotExists()
	}
	orderPool := []func(bool) predicate.Order[ckm.Task]{
		func(d bool) predicate.Order[ckm.Task] { return pick(d, task.TaskID.Asc, task.TaskID.Desc) },
		func(d bool) predicate.Order[ckm.Task] { return pick(d, task.DueOn.Asc, task.DueOn.Desc) },
		func(d bool) predicate.Order[ckm.Task] { return pick(d, task.Priority.Asc, task.Priority.Desc) },
		func(d bool) predicate.Order[ckm.Task] { return pick(d, task.Title.Asc, task.Title.Desc) },
		func(d bool) predicate.Order[ckm.Task] {
			return pick(d, task.ProjectTasksProjectID.Asc, task.ProjectTasksProjectID.Desc)
		},
	}
	for range 40 {
		var kids []predicate.Predicate[ckm.Task]
		for range 1 + rng.IntN(3) {
			kids = append(kids, leaf())
		}
		pred := predicate.And(kids...)
		switch rng.IntN(6) {
		case 0:
			pred = predicate.Or(kids...)
		case 1:
			pred = predicate.And(leaf(), predicate.Not(pred))
		}
		var orders []predicate.Order[ckm.Task]
		for range rng.IntN(3) {
			orders = append(orders, orderPool[rng.IntN(len(orderPool))](rng.IntN(2) == 0))
		}
		limit, page := randomPaging(rng)
		checkQuery(t, all, taskKey, taskLess, ds.Task.Query, pred, orders, limit, page)
	}
	_ = strings.Compare
}
