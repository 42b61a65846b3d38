package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store"
)

// seedPosts writes n posts straight into the store (ids prefix00000...),
// for tests whose subject is reading many records, not writing them.
func (e *env) seedPosts(t testing.TB, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	stamp := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	for i := range n {
		id := fmt.Sprintf("%s%05d", prefix, i)
		item := map[string]any{"id": id, "title": "seeded " + id, "rating": float64(i % 10), "createdAt": stamp, "updatedAt": stamp}
		_, err := e.store.Mutate(ctx, "Post", []any{id}, func(cur *store.Record) (map[string]any, store.Op, error) {
			return item, store.OpCreate, nil
		})
		if err != nil {
			t.Fatalf("seed %s: %v", id, err)
		}
	}
}

// ids returns the sorted ids of items.
func ids(items []map[string]any) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it["id"].(string))
	}
	sort.Strings(out)
	return out
}

func TestChecklist11_BaseSyncReturnsEverything(t *testing.T) {
	forEngines(t, testChecklist11_BaseSyncReturnsEverything)
}

func testChecklist11_BaseSyncReturnsEverything(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng})
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("p%d", i)
		e.createPost(t, map[string]any{"id": id, "title": id})
		want = append(want, id)
	}
	mustOK(t, e.deletePost(t, "p2", 1))
	mustOK(t, e.deletePost(t, "p5", 1))

	// The client's first sync: lastSync 0 (01-startup.json), small pages.
	res := e.syncAll(t, nil, 3, 0, nil)
	produced := time.Now().UnixMilli()
	if got := ids(res.items); !slices.Equal(got, want) {
		t.Errorf("base sync returned %v, want %v", got, want)
	}
	if res.pages < 3 {
		t.Errorf("7 items in pages of 3 came in %d pages", res.pages)
	}
	for id, it := range res.byID(t) {
		if dead := id == "p2" || id == "p5"; (it["_deleted"] == true) != dead {
			t.Errorf("%s: _deleted %v", id, it["_deleted"])
		}
	}
	if res.startedAt <= 0 || res.startedAt > produced {
		t.Errorf("startedAt %d, want epoch ms no later than the response (%d)", res.startedAt, produced)
	}
}

func TestChecklist12_DeltaSyncReturnsLatestChanges(t *testing.T) {
	forEngines(t, testChecklist12_DeltaSyncReturnsLatestChanges)
}

func testChecklist12_DeltaSyncReturnsLatestChanges(t *testing.T, eng string) {
	clk := newClock()
	e := newEnv(t, envOptions{engine: eng, clock: clk})
	for _, id := range []string{"a", "b", "c"} {
		e.createPost(t, map[string]any{"id": id, "title": id})
	}
	clk.Advance(time.Second)
	last := e.syncAll(t, nil, 0, 0, nil).startedAt
	clk.Advance(time.Second)
	mustOK(t, e.updatePost(t, map[string]any{"id": "a", "title": "a2", "_version": 1}))
	clk.Advance(time.Second)
	mustOK(t, e.updatePost(t, map[string]any{"id": "a", "title": "a3", "_version": 2}))
	mustOK(t, e.deletePost(t, "b", 1))
	e.createPost(t, map[string]any{"id": "d", "title": "d"})
	clk.Advance(time.Second)

	res := e.syncAll(t, nil, 0, last, nil)
	got := res.byID(t)
	if k := ids(res.items); !slices.Equal(k, []string{"a", "b", "d"}) {
		t.Fatalf("delta sync returned %v, want exactly the changed a, b, d", k)
	}
	if a := got["a"]; a["title"] != "a3" || num(t, a["_version"]) != 3 {
		t.Errorf("a: %v, want its latest image (a3, version 3)", a)
	}
	if b := got["b"]; b["_deleted"] != true || num(t, b["_version"]) != 2 {
		t.Errorf("b: %v, want a tombstone at version 2", b)
	}
	if d := got["d"]; num(t, d["_version"]) != 1 {
		t.Errorf("d: %v", d)
	}
	// Nothing changed since: the next delta sync is empty.
	clk.Advance(time.Second)
	if again := e.syncAll(t, nil, 0, res.startedAt, nil); len(again.items) != 0 {
		t.Errorf("a delta sync with nothing changed returned %v", ids(again.items))
	}
}

func TestChecklist13_OldLastSyncFallsBackToBaseScan(t *testing.T) {
	forEngines(t, testChecklist13_OldLastSyncFallsBackToBaseScan)
}

func testChecklist13_OldLastSyncFallsBackToBaseScan(t *testing.T, eng string) {
	clk := newClock()
	e := newEnv(t, envOptions{engine: eng, clock: clk})
	for _, id := range []string{"a", "b", "c"} {
		e.createPost(t, map[string]any{"id": id, "title": id})
	}
	clk.Advance(time.Second)
	last := e.syncAll(t, nil, 0, 0, nil).startedAt
	clk.Advance(time.Second)
	mustOK(t, e.updatePost(t, map[string]any{"id": "a", "title": "a2", "_version": 1}))
	clk.Advance(time.Second)
	if d := ids(e.syncAll(t, nil, 0, last, nil).items); !slices.Equal(d, []string{"a"}) {
		t.Fatalf("within DeltaTTL the delta sync returned %v, want [a]", d)
	}
	clk.Advance(store.DefaultDeltaTTL)
	full := e.syncAll(t, nil, 0, 0, nil)
	old := e.syncAll(t, nil, 0, last, nil)
	if !slices.Equal(ids(old.items), ids(full.items)) || len(full.items) != 3 {
		t.Errorf("lastSync older than DeltaTTL returned %v, want the base scan %v", ids(old.items), ids(full.items))
	}
	for id, it := range full.byID(t) {
		if fmt.Sprint(old.byID(t)[id]) != fmt.Sprint(it) {
			t.Errorf("%s: %v, base scan has %v", id, old.byID(t)[id], it)
		}
	}
}

func TestChecklist14_PagingKeepsStartedAt(t *testing.T) {
	forEngines(t, testChecklist14_PagingKeepsStartedAt)
}

func testChecklist14_PagingKeepsStartedAt(t *testing.T, eng string) {
	clk := newClock()
	e := newEnv(t, envOptions{engine: eng, clock: clk})
	e.seedPosts(t, "p", 150)
	clk.Advance(time.Second)

	items, next, startedAt := e.syncPage(t, nil, 0, nil, 0, nil)
	if len(items) != 100 || next == "" {
		t.Fatalf("without limit the first page has %d items and nextToken %q, want 100 and a token", len(items), next)
	}
	// Writes and time between the pages must not move startedAt.
	clk.Advance(time.Minute)
	e.createPost(t, map[string]any{"id": "zz-late", "title": "late"})
	seen := len(items)
	for next != "" {
		var page []map[string]any
		var s int64
		page, next, s = e.syncPage(t, nil, 0, next, 0, nil)
		if s != startedAt {
			t.Fatalf("a later page has startedAt %d, the first had %d", s, startedAt)
		}
		if next != "" && len(page) == 0 {
			t.Logf("an empty page with a nextToken (allowed)")
		}
		seen += len(page)
	}
	if seen < 150 {
		t.Errorf("the pages held %d items, want all 150", seen)
	}

	t.Run("limit is capped", func(t *testing.T) {
		e.seedPosts(t, "q", 1001)
		items, next, _ := e.syncPage(t, nil, 5000, nil, 0, nil)
		if len(items) != 1000 || next == "" {
			t.Errorf("limit 5000 gave a page of %d and nextToken %q, want 1000 and a token", len(items), next)
		}
	})
	t.Run("nextToken is null exactly on the last page", func(t *testing.T) {
		e := newEnv(t, envOptions{engine: eng})
		e.seedPosts(t, "p", 10)
		first, next, _ := e.syncPage(t, nil, 5, nil, 0, nil)
		if len(first) != 5 || next == "" {
			t.Fatalf("page 1 of 10 items by 5: %d items, nextToken %q", len(first), next)
		}
		r := mustOK(t, e.do(t, wireSyncPosts, map[string]any{"limit": 5, "nextToken": next, "lastSync": 0, "filter": nil}))
		conn := r.field("syncPosts")
		if n := len(conn["items"].([]any)); n != 5 {
			t.Errorf("page 2 has %d items, want 5", n)
		}
		if v, ok := conn["nextToken"]; !ok || v != nil {
			t.Errorf("the last page's nextToken is %v (present %v), want null", v, ok)
		}
	})
}

func TestChecklist15_NoWriteMissedBetweenSyncs(t *testing.T) {
	forEngines(t, testChecklist15_NoWriteMissedBetweenSyncs)
}

func testChecklist15_NoWriteMissedBetweenSyncs(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng})
	const writers, perWriter, owned = 4, 60, 5
	for w := range writers {
		for i := range owned {
			e.createPost(t, map[string]any{"id": fmt.Sprintf("w%d-%d", w, i), "title": "v1"})
		}
	}

	// final[id] is the version of the last write to id, from its response.
	var mu sync.Mutex
	final := map[string]int64{}
	deleted := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			versions := make([]int64, owned)
			for i := range versions {
				versions[i] = 1
			}
			for n := range perWriter {
				i := rng.IntN(owned)
				id := fmt.Sprintf("w%d-%d", w, i)
				if versions[i] == 0 {
					continue // deleted
				}
				var got map[string]any
				var err error
				if n == perWriter-1-i {
					got, err = e.tryDo(wireDeletePost, map[string]any{"input": map[string]any{"id": id, "_version": versions[i]}, "condition": nil}, "deletePost")
				} else {
					got, err = e.tryDo(wireUpdatePost, map[string]any{"input": map[string]any{"id": id, "title": fmt.Sprint("n", n), "_version": versions[i]}, "condition": nil}, "updatePost")
				}
				if err != nil {
					errs <- err
					return
				}
				ver, err := got["_version"].(json.Number).Int64()
				if err != nil {
					errs <- fmt.Errorf("%s: _version: %w", id, err)
					return
				}
				mu.Lock()
				final[id] = ver
				deleted[id] = got["_deleted"] == true
				mu.Unlock()
				versions[i] = ver
				if got["_deleted"] == true {
					versions[i] = 0
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()

	union := map[string]map[string]any{}
	merge := func(r syncResult) {
		for _, it := range r.items {
			id := it["id"].(string)
			if old := union[id]; old == nil || num(t, it["_version"]) > num(t, old["_version"]) {
				union[id] = it
			}
		}
	}
	res := e.syncAll(t, nil, 7, 0, nil)
	merge(res)
	syncs := 1
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		// After the writers finish, one more delta sync must catch up.
		res = e.syncAll(t, nil, 7, res.startedAt, nil)
		merge(res)
		syncs++
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d syncs while %d writers wrote %d times each", syncs, writers, perWriter)
	for id, v := range final {
		got := union[id]
		if got == nil {
			t.Errorf("%s: never synced", id)
			continue
		}
		if num(t, got["_version"]) != v || (got["_deleted"] == true) != deleted[id] {
			t.Errorf("%s: synced version %v (deleted %v), the last write made version %d (deleted %v)", id, got["_version"], got["_deleted"], v, deleted[id])
		}
	}
}

// filterPost is the local model of a seeded post, for expected results.
type filterPost struct {
	id, title, status string
	rating            *int
}

func TestChecklist16_Filters(t *testing.T) { forEngines(t, testChecklist16_Filters) }

func testChecklist16_Filters(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng})
	var posts []filterPost
	for i := range 24 {
		p := filterPost{id: fmt.Sprintf("p%02d", i), title: fmt.Sprintf("post-%d", i), status: "DRAFT"}
		if i%2 == 1 {
			p.status = "PUBLISHED"
		}
		input := map[string]any{"id": p.id, "title": p.title, "status": p.status}
		if i%7 != 0 {
			r := i % 6
			p.rating = &r
			input["rating"] = r
		}
		e.createPost(t, input)
		posts = append(posts, p)
	}
	rating := func(p filterPost, ok func(int) bool) bool { return p.rating != nil && ok(*p.rating) }
	cases := []struct {
		name   string
		filter map[string]any
		want   func(filterPost) bool
	}{
		{"eq", map[string]any{"title": map[string]any{"eq": "post-3"}}, func(p filterPost) bool { return p.title == "post-3" }},
		{"ne", map[string]any{"title": map[string]any{"ne": "post-3"}}, func(p filterPost) bool { return p.title != "post-3" }},
		{"le", map[string]any{"rating": map[string]any{"le": 2}}, func(p filterPost) bool { return rating(p, func(r int) bool { return r <= 2 }) }},
		{"lt", map[string]any{"rating": map[string]any{"lt": 2}}, func(p filterPost) bool { return rating(p, func(r int) bool { return r < 2 }) }},
		{"ge", map[string]any{"rating": map[string]any{"ge": 4}}, func(p filterPost) bool { return rating(p, func(r int) bool { return r >= 4 }) }},
		{"gt", map[string]any{"rating": map[string]any{"gt": 4}}, func(p filterPost) bool { return rating(p, func(r int) bool { return r > 4 }) }},
		{"contains", map[string]any{"title": map[string]any{"contains": "-1"}}, func(p filterPost) bool { return strings.Contains(p.title, "-1") }},
		{"notContains", map[string]any{"title": map[string]any{"notContains": "-1"}}, func(p filterPost) bool { return !strings.Contains(p.title, "-1") }},
		{"between", map[string]any{"rating": map[string]any{"between": []any{1, 3}}}, func(p filterPost) bool { return rating(p, func(r int) bool { return r >= 1 && r <= 3 }) }},
		{"beginsWith", map[string]any{"title": map[string]any{"beginsWith": "post-2"}}, func(p filterPost) bool { return strings.HasPrefix(p.title, "post-2") }},
		{"attributeExists true", map[string]any{"rating": map[string]any{"attributeExists": true}}, func(p filterPost) bool { return p.rating != nil }},
		{"attributeExists false", map[string]any{"rating": map[string]any{"attributeExists": false}}, func(p filterPost) bool { return p.rating == nil }},
		{"attributeType number", map[string]any{"rating": map[string]any{"attributeType": "number"}}, func(p filterPost) bool { return p.rating != nil }},
		{"attributeType string", map[string]any{"rating": map[string]any{"attributeType": "string"}}, func(p filterPost) bool { return false }},
		{"size", map[string]any{"title": map[string]any{"size": map[string]any{"gt": 6}}}, func(p filterPost) bool { return len(p.title) > 6 }},
		{"enum eq", map[string]any{"status": map[string]any{"eq": "PUBLISHED"}}, func(p filterPost) bool { return p.status == "PUBLISHED" }},
		{"and", map[string]any{"and": []any{
			map[string]any{"rating": map[string]any{"ge": 2}},
			map[string]any{"status": map[string]any{"eq": "PUBLISHED"}},
		}}, func(p filterPost) bool {
			return rating(p, func(r int) bool { return r >= 2 }) && p.status == "PUBLISHED"
		}},
		{"or", map[string]any{"or": []any{
			map[string]any{"title": map[string]any{"eq": "post-1"}},
			map[string]any{"rating": map[string]any{"eq": 5}},
		}}, func(p filterPost) bool { return p.title == "post-1" || rating(p, func(r int) bool { return r == 5 }) }},
		{"not", map[string]any{"not": map[string]any{"status": map[string]any{"eq": "DRAFT"}}}, func(p filterPost) bool { return p.status != "DRAFT" }},
		{"several fields", map[string]any{"status": map[string]any{"eq": "DRAFT"}, "title": map[string]any{"beginsWith": "post-1"}}, func(p filterPost) bool {
			return p.status == "DRAFT" && strings.HasPrefix(p.title, "post-1")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []string
			for _, p := range posts {
				if c.want(p) {
					want = append(want, p.id)
				}
			}
			// Pages of 5: matches on later pages must not be dropped.
			if got := ids(e.syncAll(t, nil, 5, 0, c.filter).items); !slices.Equal(got, want) {
				t.Errorf("syncPosts: got %v, want %v", got, want)
			}
			if got := ids(e.listAll(t, nil, 5, c.filter)); !slices.Equal(got, want) {
				t.Errorf("listPosts: got %v, want %v", got, want)
			}
		})
	}
}
