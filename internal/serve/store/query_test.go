package store_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store"
)

var byBlog = store.Index{Model: "Post", Name: "byBlog", Fields: []string{"blogID", "rank"}}

// queryAll pages q through with limit and returns the ids in order.
func queryAll(t testing.TB, s store.Store, q store.Query, limit int) []string {
	t.Helper()
	var ids []string
	var cursor []byte
	for pages := 0; ; pages++ {
		page, err := s.Query(context.Background(), q, cursor, limit)
		if err != nil {
			t.Fatalf("query %+v: %v", q, err)
		}
		if len(page.Records) > limit {
			t.Fatalf("page of %d records with limit %d", len(page.Records), limit)
		}
		for _, r := range page.Records {
			ids = append(ids, r.Item["id"].(string))
		}
		if page.Next == nil {
			return ids
		}
		if len(page.Records) == 0 {
			t.Fatal("an empty page with a cursor")
		}
		cursor = page.Next
	}
}

func post(id, blog string, rank float64) map[string]any {
	return map[string]any{"id": id, "blogID": blog, "rank": rank, "title": "t " + id}
}

func TestIndexQueries(t *testing.T) { forEngines(t, testIndexQueries) }

func testIndexQueries(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.openDisk(t, newClock())
	if err := s.Indexes(ctx, []store.Index{byBlog}); err != nil {
		t.Fatal(err)
	}
	// b1 holds p0..p9 with rank 9-i (so rank order is p9..p0); b2 one post;
	// one post has no rank and is not in the index.
	for i := range 10 {
		put(t, s, "Post", []any{fmt.Sprintf("p%d", i)}, post(fmt.Sprintf("p%d", i), "b1", float64(9-i)))
	}
	put(t, s, "Post", []any{"q"}, post("q", "b2", 1))
	put(t, s, "Post", []any{"norank"}, map[string]any{"id": "norank", "blogID": "b1"})

	q := func(sort *store.SortCond, desc bool) store.Query {
		return store.Query{Model: "Post", Index: "byBlog", Eq: []any{"b1"}, Sort: sort, Desc: desc}
	}
	cases := []struct {
		name string
		q    store.Query
		want string
	}{
		{"partition", q(nil, false), "p9 p8 p7 p6 p5 p4 p3 p2 p1 p0"},
		{"desc", q(nil, true), "p0 p1 p2 p3 p4 p5 p6 p7 p8 p9"},
		{"eq", q(&store.SortCond{Op: "eq", Values: []any{3}}, false), "p6"},
		{"lt", q(&store.SortCond{Op: "lt", Values: []any{3}}, false), "p9 p8 p7"},
		{"le", q(&store.SortCond{Op: "le", Values: []any{3}}, false), "p9 p8 p7 p6"},
		{"gt", q(&store.SortCond{Op: "gt", Values: []any{7}}, false), "p1 p0"},
		{"ge desc", q(&store.SortCond{Op: "ge", Values: []any{7}}, true), "p0 p1 p2"},
		{"between", q(&store.SortCond{Op: "between", Values: []any{2}, To: []any{4}}, false), "p7 p6 p5"},
		{"between empty", q(&store.SortCond{Op: "between", Values: []any{4}, To: []any{2}}, false), ""},
		{"other partition", store.Query{Model: "Post", Index: "byBlog", Eq: []any{"b2"}}, "q"},
		{"no partition", store.Query{Model: "Post", Index: "byBlog", Eq: []any{"none"}}, ""},
		{"primary key", store.Query{Model: "Post", Eq: []any{"p3"}}, "p3"},
	}
	for _, c := range cases {
		for _, limit := range []int{1, 3, 100} {
			got := strings.Join(queryAll(t, s, c.q, limit), " ")
			if got != c.want {
				t.Errorf("%s (limit %d): got %q, want %q", c.name, limit, got, c.want)
			}
		}
	}

	// An update moves the record in the index; a delete keeps the
	// tombstone there (as the base table does) until it expires.
	put(t, s, "Post", []any{"p9"}, post("p9", "b2", 0))
	del(t, s, "Post", []any{"p8"})
	if got := strings.Join(queryAll(t, s, q(nil, false), 2), " "); got != "p8 p7 p6 p5 p4 p3 p2 p1 p0" {
		t.Errorf("after update and delete: %q", got)
	}
	if got := strings.Join(queryAll(t, s, store.Query{Model: "Post", Index: "byBlog", Eq: []any{"b2"}}, 2), " "); got != "p9 q" {
		t.Errorf("moved record: %q", got)
	}
	page, err := s.Query(ctx, q(&store.SortCond{Op: "eq", Values: []any{1}}, false), nil, 10)
	if err != nil || len(page.Records) != 1 || !page.Records[0].Deleted {
		t.Errorf("tombstone in the index: %+v %v", page.Records, err)
	}
}

func TestIndexQueryCursors(t *testing.T) { forEngines(t, testIndexQueryCursors) }

// A cursor resumes only the query it came from; it survives writes to the
// records around it (keyset: the next page starts after the last key).
func testIndexQueryCursors(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.openDisk(t, newClock())
	if err := s.Indexes(ctx, []store.Index{byBlog}); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		put(t, s, "Post", []any{fmt.Sprintf("p%d", i)}, post(fmt.Sprintf("p%d", i), "b1", float64(i)))
	}
	q := store.Query{Model: "Post", Index: "byBlog", Eq: []any{"b1"}}
	page, err := s.Query(ctx, q, nil, 2)
	if err != nil || page.Next == nil {
		t.Fatal(page, err)
	}
	// A record inserted before the cursor is not seen; one after it is.
	put(t, s, "Post", []any{"early"}, post("early", "b1", -1))
	put(t, s, "Post", []any{"late"}, post("late", "b1", 10))
	var rest []string
	for c := page.Next; c != nil; {
		p, err := s.Query(ctx, q, c, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			rest = append(rest, r.Item["id"].(string))
		}
		c = p.Next
	}
	if got := strings.Join(rest, " "); got != "p2 p3 p4 p5 late" {
		t.Errorf("after the cursor: %q", got)
	}
	for name, other := range map[string]store.Query{
		"other partition": {Model: "Post", Index: "byBlog", Eq: []any{"b2"}},
		"other direction": {Model: "Post", Index: "byBlog", Eq: []any{"b1"}, Desc: true},
		"primary key":     {Model: "Post", Eq: []any{"b1"}},
	} {
		if _, err := s.Query(ctx, other, page.Next, 2); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("%s: cursor accepted: %v", name, err)
		}
	}
	if _, err := s.Query(ctx, q, flip(page.Next, 3), 2); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("altered cursor accepted: %v", err)
	}
	if _, err := s.Query(ctx, store.Query{Model: "Post", Index: "nope", Eq: []any{"b1"}}, nil, 2); !errors.Is(err, store.ErrBadQuery) {
		t.Errorf("undeclared index: %v", err)
	}
	if _, err := s.Query(ctx, store.Query{Model: "Post", Index: "byBlog", Eq: []any{"b1", 1, 2}}, nil, 2); !errors.Is(err, store.ErrBadQuery) {
		t.Errorf("three values on a key of two fields: %v", err)
	}
}

func TestIndexBuildAndChange(t *testing.T) { forEngines(t, testIndexBuildAndChange) }

// Records written before an index is declared are in it once Indexes
// returns; an index whose fields change is rebuilt; expiry removes a
// tombstone's entries.
func testIndexBuildAndChange(t *testing.T, e engine) {
	ctx := context.Background()
	c := newClock()
	dir := t.TempDir()
	o := store.Options{Dir: dir, Now: c.Now, BaseTTL: time.Hour, ExpiryInterval: -1}
	s, err := e.openRaw(t, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 600 { // more than one backfill step
		put(t, s, "Post", []any{fmt.Sprintf("p%03d", i)}, map[string]any{
			"id": fmt.Sprintf("p%03d", i), "blogID": fmt.Sprintf("b%d", i%3), "rank": float64(i), "tag": fmt.Sprintf("t%d", i%2)})
	}
	if err := s.Indexes(ctx, []store.Index{byBlog}); err != nil {
		t.Fatal(err)
	}
	ids := queryAll(t, s, store.Query{Model: "Post", Index: "byBlog", Eq: []any{"b1"}}, 50)
	if len(ids) != 200 || ids[0] != "p001" || ids[199] != "p598" {
		t.Fatalf("built index: %d ids, %v…", len(ids), ids[:min(3, len(ids))])
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened with byBlog keyed on tag instead.
	s = e.open(t, o)
	byTag := store.Index{Model: "Post", Name: "byBlog", Fields: []string{"tag", "rank"}}
	if err := s.Indexes(ctx, []store.Index{byTag}); err != nil {
		t.Fatal(err)
	}
	if ids := queryAll(t, s, store.Query{Model: "Post", Index: "byBlog", Eq: []any{"b1"}}, 50); len(ids) != 0 {
		t.Errorf("old entries read by the changed index: %d", len(ids))
	}
	ids = queryAll(t, s, store.Query{Model: "Post", Index: "byBlog", Eq: []any{"t1"}, Desc: true}, 70)
	if len(ids) != 300 || ids[0] != "p599" {
		t.Errorf("rebuilt index: %d ids, first %v", len(ids), ids[:min(1, len(ids))])
	}

	del(t, s, "Post", []any{"p599"})
	c.Add(2 * time.Hour)
	if _, err := s.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	ids = queryAll(t, s, store.Query{Model: "Post", Index: "byBlog", Eq: []any{"t1"}, Desc: true}, 70)
	if len(ids) != 299 || slices.Contains(ids, "p599") {
		t.Errorf("after expiry: %d ids, first %v", len(ids), ids[:min(1, len(ids))])
	}

	// A tombstone that expires after a restart, before Indexes (the
	// background expiry starts with the store), takes its entries along.
	del(t, s, "Post", []any{"p597"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = e.open(t, o)
	c.Add(2 * time.Hour)
	if n, err := s.Expire(ctx); err != nil || n == 0 {
		t.Fatalf("expire before Indexes: %d, %v", n, err)
	}
	if err := s.Indexes(ctx, []store.Index{byTag}); err != nil {
		t.Fatal(err)
	}
	ids = queryAll(t, s, store.Query{Model: "Post", Index: "byBlog", Eq: []any{"t1"}, Desc: true}, 70)
	if len(ids) != 298 || slices.Contains(ids, "p597") {
		t.Errorf("after expiry before Indexes: %d ids, first %v", len(ids), ids[:min(1, len(ids))])
	}
}

// TestPrimaryKeyQueries reads composite primary keys by partition and
// sort key conditions, including beginsWith and tuple prefixes.
func TestPrimaryKeyQueries(t *testing.T) { forEngines(t, testPrimaryKeyQueries) }

func testPrimaryKeyQueries(t *testing.T, e engine) {
	s := e.openMem(t, newClock())
	for _, k := range [][3]any{{"a", "x", 1.0}, {"a", "x", 2.0}, {"a", "xy", 1.0}, {"a", "y", 1.0}, {"b", "x", 1.0}} {
		id := fmt.Sprintf("%v-%v-%v", k[0], k[1], k[2])
		put(t, s, "Doc", []any{k[0], k[1], k[2]}, map[string]any{"id": id, "org": k[0], "kind": k[1], "n": k[2]})
	}
	q := func(sort *store.SortCond) store.Query { return store.Query{Model: "Doc", Eq: []any{"a"}, Sort: sort} }
	for _, c := range []struct {
		name string
		q    store.Query
		want string
	}{
		{"partition", q(nil), "a-x-1 a-x-2 a-xy-1 a-y-1"},
		{"eq prefix", q(&store.SortCond{Op: "eq", Values: []any{"x"}}), "a-x-1 a-x-2"},
		{"eq full", q(&store.SortCond{Op: "eq", Values: []any{"x", 2}}), "a-x-2"},
		{"beginsWith", q(&store.SortCond{Op: "beginsWith", Values: []any{"x"}}), "a-x-1 a-x-2 a-xy-1"},
		{"beginsWith a number field", q(&store.SortCond{Op: "beginsWith", Values: []any{"x", "1"}}), ""},
		{"gt prefix", q(&store.SortCond{Op: "gt", Values: []any{"x"}}), "a-xy-1 a-y-1"},
		{"le tuple", q(&store.SortCond{Op: "le", Values: []any{"x", 1}}), "a-x-1"},
	} {
		if got := strings.Join(queryAll(t, s, c.q, 2), " "); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// TestIndexPartitionOf150000 pages through one index partition of 150,000
// records on Badger on disk (the engine once refused key queries past
// 100,000 records), both ways, every record once, in order: 140,000
// loaded before the index was declared (so built by Indexes), 10,000
// written after (kept by the writes). The load goes straight to the base
// table (store.BulkLoad) so that the test stays within minutes under
// -race.
func TestIndexPartitionOf150000(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 150,000 records")
	}
	ctx := context.Background()
	s := open(t, store.Options{Dir: t.TempDir(), UnsafeNoFsync: true, ExpiryInterval: -1})
	const n = 150_000
	write := func(lo, hi int) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Go(func() {
				for i := lo + w; i < hi; i += 8 {
					id := fmt.Sprintf("p%06d", i)
					item := map[string]any{"id": id, "blogID": "big", "rank": float64(n - i)}
					if _, err := s.Mutate(ctx, "Post", []any{id}, create(item)); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	const loaded = 140_000
	items := make([]map[string]any, 0, loaded)
	for i := range loaded {
		items = append(items, map[string]any{"id": fmt.Sprintf("p%06d", i), "blogID": "big", "rank": float64(n - i)})
	}
	if err := store.BulkLoad(ctx, s, "Post", items); err != nil {
		t.Fatal(err)
	}
	if err := s.Indexes(ctx, []store.Index{byBlog}); err != nil {
		t.Fatal(err)
	}
	write(loaded, n)
	put(t, s, "Post", []any{"other"}, post("other", "small", 1))

	// Ascending rank is descending id: the whole partition, in order.
	ids := queryAll(t, s, store.Query{Model: "Post", Index: "byBlog", Eq: []any{"big"}}, 1000)
	if len(ids) != n {
		t.Fatalf("%d records, want %d", len(ids), n)
	}
	for j, id := range ids {
		if want := fmt.Sprintf("p%06d", n-1-j); id != want {
			t.Fatalf("record %d is %s, want %s", j, id, want)
		}
	}
	// Descending: the first two pages, from the other end.
	q := store.Query{Model: "Post", Index: "byBlog", Eq: []any{"big"}, Desc: true}
	page, err := s.Query(ctx, q, nil, 1000)
	if err != nil || page.Next == nil {
		t.Fatal(err)
	}
	page2, err := s.Query(ctx, q, page.Next, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if first, second := page.Records[0].Item["id"], page2.Records[0].Item["id"]; first != "p000000" || second != "p001000" {
		t.Errorf("descending pages start at %v and %v, want p000000 and p001000", first, second)
	}
}

// An import's Load writes the index entries of the records it writes (and
// removes those of the records it replaces), so a running instance answers
// index queries with the loaded records at once, with no rebuild; on
// PostgreSQL the import is another instance on the same database. An
// index whose definition changes is still rebuilt at the next declaration.
func TestLoadKeepsIndexes(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		dir := t.TempDir()
		s := e.open(t, store.Options{Dir: dir})
		if err := s.Indexes(ctx, []store.Index{byBlog}); err != nil {
			t.Fatal(err)
		}
		put(t, s, "Post", []any{"p0"}, post("p0", "b1", 5))
		put(t, s, "Post", []any{"p3"}, post("p3", "b1", 7))
		importer := s
		if e.name == "postgres" {
			// dsgen serve import: another process, which declares no indexes.
			importer = e.open(t, store.Options{Dir: dir})
		}
		b, ok := importer.(store.Bulk)
		if !ok {
			t.Fatalf("%T does not implement store.Bulk", importer)
		}
		rec := func(id, blog string, rank float64) store.Loaded {
			return store.Loaded{Record: store.Record{Model: "Post", Key: []any{id}, Item: post(id, blog, rank), Version: 3, LastChangedAt: 1000}}
		}
		// p3 moves to blog b2: its b1 entry must go.
		if _, err := b.Load(ctx, "Post", []store.Loaded{rec("p1", "b1", 1), rec("p2", "b1", 9), rec("p3", "b2", 7)}, true); err != nil {
			t.Fatal(err)
		}
		check := func(s store.Store, when string) {
			t.Helper()
			for blog, want := range map[string]string{"b1": "p1 p0 p2", "b2": "p3"} {
				q := store.Query{Model: "Post", Index: "byBlog", Eq: []any{blog}}
				if got := strings.Join(queryAll(t, s, q, 10), " "); got != want {
					t.Errorf("%s: index query of %s = %q, want %q (rank order, loaded records included)", when, blog, got, want)
				}
			}
		}
		check(s, "running instance after a load")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if importer != s {
			if err := importer.Close(); err != nil {
				t.Fatal(err)
			}
		}
		s = e.open(t, store.Options{Dir: dir})
		if err := s.Indexes(ctx, []store.Index{byBlog}); err != nil {
			t.Fatal(err)
		}
		check(s, "restarted instance")
		byBlogTitle := store.Index{Model: "Post", Name: "byBlog", Fields: []string{"blogID", "title"}}
		if err := s.Indexes(ctx, []store.Index{byBlogTitle}); err != nil {
			t.Fatal(err)
		}
		q := store.Query{Model: "Post", Index: "byBlog", Eq: []any{"b1"}, Desc: true}
		if got := strings.Join(queryAll(t, s, q, 10), " "); got != "p2 p1 p0" {
			t.Errorf("index by title after its definition changed = %q, want p2 p1 p0", got)
		}
	})
}

// TestLoadBesideWritesAndBuilds runs imports (merge) of the same records
// that clients write meanwhile, while an index is being built: whatever the
// interleaving, each index then holds exactly the entries of the stored
// records. On PostgreSQL the client writes, the import and the build are
// three instances on one database.
func TestLoadBesideWritesAndBuilds(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		dir := t.TempDir()
		s := e.open(t, store.Options{Dir: dir})
		if err := s.Indexes(ctx, []store.Index{byBlog}); err != nil {
			t.Fatal(err)
		}
		const n, rounds = 150, 4
		for i := range n {
			put(t, s, "Post", []any{fmt.Sprintf("p%03d", i)}, post(fmt.Sprintf("p%03d", i), "b0", float64(i)))
		}
		importer, builder := s, s
		if e.name == "postgres" {
			importer, builder = e.open(t, store.Options{Dir: dir}), e.open(t, store.Options{Dir: dir})
		}
		byTitle := store.Index{Model: "Post", Name: "byTitle", Fields: []string{"blogID", "title"}}
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		wg.Add(3)
		go func() {
			defer wg.Done()
			if builder != s {
				// An instance writes the rows of the indexes it declares
				// only: the writing instance has the builder's schema.
				if err := s.Indexes(ctx, []store.Index{byBlog, byTitle}); err != nil {
					errs <- err
					return
				}
			}
			for r := range rounds {
				for i := range n {
					id := fmt.Sprintf("p%03d", i)
					item := post(id, fmt.Sprintf("b%d", (i+r)%3), float64(n-i))
					item["title"] = fmt.Sprintf("w%d %s", r, id)
					if _, err := s.Mutate(ctx, "Post", []any{id}, func(*store.Record) (map[string]any, store.Op, error) {
						return item, store.OpUpdate, nil
					}); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
		go func() {
			defer wg.Done()
			b := importer.(store.Bulk)
			for r := range rounds {
				recs := make([]store.Loaded, n)
				for i := range recs {
					id := fmt.Sprintf("p%03d", i)
					item := post(id, fmt.Sprintf("b%d", (i+2*r)%3), float64(i%7))
					item["title"] = fmt.Sprintf("l%d %s", r, id)
					recs[i] = store.Loaded{Record: store.Record{Model: "Post", Key: []any{id}, Item: item, Version: int64(2 + 2*r), LastChangedAt: 1000}}
				}
				if _, err := b.Load(ctx, "Post", recs, true); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			if err := builder.Indexes(ctx, []store.Index{byBlog, byTitle}); err != nil {
				errs <- err
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// What each index must hold: the stored records, by blog, in key order.
		var recs []store.Record
		for cursor := []byte(nil); ; {
			page, err := s.Scan(ctx, "Post", cursor, 100)
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, page.Records...)
			if cursor = page.Next; cursor == nil {
				break
			}
		}
		if len(recs) != n {
			t.Fatalf("%d records stored, want %d", len(recs), n)
		}
		for _, c := range []struct {
			s     store.Store
			ix    string
			field string
		}{{s, "byBlog", "rank"}, {builder, "byBlog", "rank"}, {builder, "byTitle", "title"}} {
			for b := range 3 {
				blog := fmt.Sprintf("b%d", b)
				var want []store.Record
				for _, r := range recs {
					if r.Item["blogID"] == blog {
						want = append(want, r)
					}
				}
				slices.SortFunc(want, func(x, y store.Record) int {
					if o := cmp.Compare(fmt.Sprint(x.Item[c.field]), fmt.Sprint(y.Item[c.field])); c.field == "title" && o != 0 {
						return o
					}
					if c.field == "rank" {
						if o := cmp.Compare(x.Item["rank"].(float64), y.Item["rank"].(float64)); o != 0 {
							return o
						}
					}
					return cmp.Compare(x.Item["id"].(string), y.Item["id"].(string))
				})
				var wantIDs []string
				for _, r := range want {
					wantIDs = append(wantIDs, r.Item["id"].(string))
				}
				got := queryAll(t, c.s, store.Query{Model: "Post", Index: c.ix, Eq: []any{blog}}, 50)
				if !slices.Equal(got, wantIDs) {
					t.Errorf("%s of %s: %v, want %v", c.ix, blog, got, wantIDs)
				}
			}
		}
	})
}
