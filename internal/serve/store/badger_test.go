package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/storage"
)

// clock is a test clock the store reads through Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.UnixMilli(1_700_000_000_000)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) ms() int64 { return c.Now().UnixMilli() }

func open(t *testing.T, o store.Options) *store.Badger {
	t.Helper()
	s, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// put writes item under key: a create when the key is new or a tombstone,
// an update otherwise.
func put(t testing.TB, s store.Store, model string, key []any, item map[string]any) store.Change {
	t.Helper()
	ch, err := s.Mutate(context.Background(), model, key, func(cur *store.Record) (map[string]any, store.Op, error) {
		if cur == nil || cur.Deleted {
			return item, store.OpCreate, nil
		}
		return item, store.OpUpdate, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func del(t testing.TB, s store.Store, model string, key []any) store.Change {
	t.Helper()
	ch, err := s.Mutate(context.Background(), model, key, func(cur *store.Record) (map[string]any, store.Op, error) {
		if cur == nil {
			return nil, 0, errors.New("delete of a missing record")
		}
		return cur.Item, store.OpDelete, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func get(t testing.TB, s store.Store, model string, key ...any) store.Record {
	t.Helper()
	r, err := s.Get(context.Background(), model, key)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func scanAll(t testing.TB, s store.Store, model string, limit int) []store.Record {
	t.Helper()
	var out []store.Record
	var cur []byte
	for {
		p, err := s.Scan(context.Background(), model, cur, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Records) > limit {
			t.Fatalf("page of %d records, limit %d", len(p.Records), limit)
		}
		out = append(out, p.Records...)
		if p.Next == nil {
			return out
		}
		if len(p.Records) == 0 {
			t.Fatal("empty page with a Next cursor")
		}
		cur = p.Next
	}
}

func changesAll(t testing.TB, s store.Store, model string, since, until int64, limit int) []store.Record {
	t.Helper()
	var out []store.Record
	var cur []byte
	for {
		p, err := s.Changes(context.Background(), model, since, until, cur, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Records) > limit {
			t.Fatalf("page of %d records, limit %d", len(p.Records), limit)
		}
		out = append(out, p.Records...)
		if p.Next == nil {
			return out
		}
		cur = p.Next
	}
}

func TestLifecycleOfARecord(t *testing.T) { forEngines(t, testLifecycleOfARecord) }

func testLifecycleOfARecord(t *testing.T, e engine) {
	c := newClock()
	s := e.openDisk(t, c)
	ctx := context.Background()
	key := []any{"p1"}

	t0 := c.ms()
	ch := put(t, s, "Post", key, map[string]any{"id": "p1", "title": "hello"})
	if ch.Op != store.OpCreate || ch.Record.Version != 1 || ch.Record.LastChangedAt != t0 || ch.Record.Deleted || ch.Seq != 1 {
		t.Fatalf("create: %+v", ch)
	}
	c.Add(5 * time.Millisecond)
	ch = put(t, s, "Post", key, map[string]any{"id": "p1", "title": "edited"})
	if ch.Op != store.OpUpdate || ch.Record.Version != 2 || ch.Record.LastChangedAt != t0+5 || ch.Seq != 2 {
		t.Fatalf("update: %+v", ch)
	}
	r := get(t, s, "Post", "p1")
	if r.Version != 2 || r.Item["title"] != "edited" || r.LastChangedAt != t0+5 || r.Deleted || r.Model != "Post" || !slices.Equal(r.Key, []any{"p1"}) {
		t.Fatalf("get after update: %+v", r)
	}

	// The clock going back does not move LastChangedAt back.
	c.Add(-time.Second)
	ch = del(t, s, "Post", key)
	if ch.Op != store.OpDelete || ch.Record.Version != 3 || !ch.Record.Deleted || ch.Record.LastChangedAt != t0+5 {
		t.Fatalf("delete: %+v", ch)
	}
	c.Add(time.Second + 10*time.Millisecond)

	// The tombstone is visible to Get and Scan, with the item it kept.
	r = get(t, s, "Post", "p1")
	if !r.Deleted || r.Version != 3 || r.Item["title"] != "edited" {
		t.Fatalf("tombstone by Get: %+v", r)
	}
	recs := scanAll(t, s, "Post", 10)
	if len(recs) != 1 || !recs[0].Deleted || recs[0].Version != 3 {
		t.Fatalf("tombstone by Scan: %+v", recs)
	}

	// A create over the tombstone continues its version.
	ch = put(t, s, "Post", key, map[string]any{"id": "p1", "title": "again"})
	if ch.Op != store.OpCreate || ch.Record.Version != 4 || ch.Record.Deleted || ch.Record.LastChangedAt != t0+15 {
		t.Fatalf("re-create: %+v", ch)
	}
	if r := get(t, s, "Post", "p1"); r.Deleted || r.Version != 4 || r.Item["title"] != "again" {
		t.Fatalf("get after re-create: %+v", r)
	}

	if _, err := s.Get(ctx, "Post", []any{"nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
	}
	// Models are apart even when one's name extends another's.
	put(t, s, "PostTag", key, map[string]any{"id": "p1"})
	if recs := scanAll(t, s, "Post", 10); len(recs) != 1 {
		t.Fatalf("scan of Post sees %d records, want 1", len(recs))
	}
}

type conflictError struct{ version int64 }

func (e *conflictError) Error() string { return fmt.Sprintf("conflict at version %d", e.version) }

func TestMutateFuncErrorWritesNothing(t *testing.T) { forEngines(t, testMutateFuncErrorWritesNothing) }

func testMutateFuncErrorWritesNothing(t *testing.T, e engine) {
	c := newClock()
	s := e.openMem(t, c)
	ctx := context.Background()
	put(t, s, "Post", []any{"a"}, map[string]any{"id": "a", "n": 1.0})
	since := c.ms()

	_, err := s.Mutate(ctx, "Post", []any{"a"}, func(cur *store.Record) (map[string]any, store.Op, error) {
		return nil, 0, &conflictError{cur.Version}
	})
	var ce *conflictError
	if !errors.As(err, &ce) || ce.version != 1 {
		t.Fatalf("Mutate error = %v, want the fn's *conflictError", err)
	}
	_, err = s.Mutate(ctx, "Post", []any{"b"}, func(cur *store.Record) (map[string]any, store.Op, error) {
		return nil, 0, &conflictError{}
	})
	if !errors.As(err, &ce) {
		t.Fatalf("Mutate error = %v, want the fn's *conflictError", err)
	}
	if _, err := s.Get(ctx, "Post", []any{"b"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("aborted create left a record: %v", err)
	}
	if r := get(t, s, "Post", "a"); r.Version != 1 || r.Item["n"] != 1.0 {
		t.Fatalf("aborted update changed the record: %+v", r)
	}
	if got := changesAll(t, s, "Post", since+1, math.MaxInt64, 10); len(got) != 0 {
		t.Fatalf("aborted writes logged: %+v", got)
	}
	// No sequence number was used up.
	if ch := put(t, s, "Post", []any{"b"}, map[string]any{"id": "b"}); ch.Seq != 2 {
		t.Fatalf("next seq %d, want 2", ch.Seq)
	}

	// Bad ops and items are refused with nothing written.
	_, err = s.Mutate(ctx, "Post", []any{"c"}, func(*store.Record) (map[string]any, store.Op, error) {
		return map[string]any{}, store.Op(9), nil
	})
	if err == nil {
		t.Fatal("unknown op accepted")
	}
	_, err = s.Mutate(ctx, "Post", []any{"c"}, func(*store.Record) (map[string]any, store.Op, error) {
		return map[string]any{"f": func() {}}, store.OpCreate, nil
	})
	if err == nil {
		t.Fatal("item that is not JSON accepted")
	}
	if _, err := s.Get(ctx, "Post", []any{"c"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused write left a record: %v", err)
	}
}

func TestKeys(t *testing.T) { forEngines(t, testKeys) }

func testKeys(t *testing.T, e engine) {
	c := newClock()
	s := e.openMem(t, c)
	ctx := context.Background()

	// Every spelling of a number names the same record.
	put(t, s, "Num", []any{3}, map[string]any{"id": 3.0})
	for _, k := range []any{3.0, int64(3), uint8(3), json.Number("3"), json.Number("3.0"), float32(3)} {
		if r := get(t, s, "Num", k); r.Version != 1 || !slices.Equal(r.Key, []any{3.0}) {
			t.Fatalf("key %#v: %+v", k, r)
		}
	}
	// Numbers, strings and composite keys scan in value order.
	for _, n := range []float64{10, -2.5, 0, 2, -100, 1e9, 0.5} {
		put(t, s, "Num", []any{n}, map[string]any{"id": n})
	}
	var got []float64
	for _, r := range scanAll(t, s, "Num", 3) {
		got = append(got, r.Key[0].(float64))
	}
	if want := []float64{-100, -2.5, 0, 0.5, 2, 3, 10, 1e9}; !slices.Equal(got, want) {
		t.Fatalf("numeric key order %v, want %v", got, want)
	}
	for _, k := range [][]any{{"b", 2.0}, {"a", 10.0}, {"b", 1.0}, {"a\x00", 0.0}, {"a", -1.0}, {"ab", 0.0}} {
		put(t, s, "Pair", k, map[string]any{})
	}
	var pairs []string
	for _, r := range scanAll(t, s, "Pair", 2) {
		pairs = append(pairs, fmt.Sprint(r.Key))
	}
	want := []string{"[a -1]", "[a 10]", "[a\x00 0]", "[ab 0]", "[b 1]", "[b 2]"}
	if !slices.Equal(pairs, want) {
		t.Fatalf("composite key order %q, want %q", pairs, want)
	}

	for _, bad := range [][]any{nil, {}, {nil}, {map[string]any{}}, {math.NaN()}, {math.Inf(1)}, {int64(1) << 60}, {json.Number("x")}} {
		if _, err := s.Get(ctx, "Num", bad); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Get key %#v: %v, want ErrInvalidKey", bad, err)
		}
		_, err := s.Mutate(ctx, "Num", bad, func(*store.Record) (map[string]any, store.Op, error) {
			return map[string]any{}, store.OpCreate, nil
		})
		if !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Mutate key %#v: %v, want ErrInvalidKey", bad, err)
		}
	}
	if _, err := s.Get(ctx, "", []any{"a"}); !errors.Is(err, store.ErrInvalidKey) {
		t.Errorf("empty model: %v, want ErrInvalidKey", err)
	}
}

func TestScanPaging(t *testing.T) { forEngines(t, testScanPaging) }

func testScanPaging(t *testing.T, e engine) {
	c := newClock()
	s := e.openDisk(t, c)
	const n = 1000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("id-%04d", i)
	}
	shuffled := slices.Clone(ids)
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for i, id := range shuffled {
		put(t, s, "Post", []any{id}, map[string]any{"id": id})
		if i%10 == 0 {
			del(t, s, "Post", []any{id})
		}
	}
	put(t, s, "Comment", []any{"id-0000"}, map[string]any{"id": "c"})

	for _, limit := range []int{1, 3, 7, 100, 999, 1000, 1001} {
		recs := scanAll(t, s, "Post", limit)
		if len(recs) != n {
			t.Fatalf("limit %d: %d records, want %d", limit, len(recs), n)
		}
		for i, r := range recs {
			if r.Key[0] != ids[i] || r.Item["id"] != ids[i] {
				t.Fatalf("limit %d: record %d is %v, want %s", limit, i, r.Key, ids[i])
			}
		}
	}
	if _, err := s.Scan(context.Background(), "Post", nil, 0); err == nil {
		t.Fatal("limit 0 accepted")
	}
	if p, err := s.Scan(context.Background(), "Nothing", nil, 5); err != nil || len(p.Records) != 0 || p.Next != nil {
		t.Fatalf("scan of an empty model: %+v, %v", p, err)
	}
}

func TestBadCursors(t *testing.T) { forEngines(t, testBadCursors) }

func testBadCursors(t *testing.T, e engine) {
	c := newClock()
	s := e.openMem(t, c)
	ctx := context.Background()
	for i := range 10 {
		put(t, s, "Post", []any{fmt.Sprint(i)}, map[string]any{})
		put(t, s, "Blog", []any{fmt.Sprint(i)}, map[string]any{})
		c.Add(time.Millisecond)
	}
	sp, err := s.Scan(ctx, "Post", nil, 3)
	if err != nil || sp.Next == nil {
		t.Fatalf("scan: %+v, %v", sp, err)
	}
	cp, err := s.Changes(ctx, "Post", 0, math.MaxInt64, nil, 3)
	if err != nil || cp.Next == nil {
		t.Fatalf("changes: %+v, %v", cp, err)
	}
	scanCursors := map[string][]byte{
		"garbage":          []byte("hello, world"),
		"empty":            {},
		"truncated":        sp.Next[:len(sp.Next)-1],
		"changes cursor":   cp.Next,
		"other model's":    mustScanNext(t, s, "Blog"),
		"one byte flipped": flip(sp.Next, len(sp.Next)/2),
	}
	for name, cur := range scanCursors {
		if _, err := s.Scan(ctx, "Post", cur, 3); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("Scan with %s cursor: %v, want ErrBadCursor", name, err)
		}
	}
	changesCursors := map[string][]byte{
		"garbage":          []byte("\x00\x01\x02"),
		"scan cursor":      sp.Next,
		"one byte flipped": flip(cp.Next, 5),
		"last byte":        flip(cp.Next, len(cp.Next)-1),
	}
	for name, cur := range changesCursors {
		if _, err := s.Changes(ctx, "Post", 0, math.MaxInt64, cur, 3); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("Changes with %s cursor: %v, want ErrBadCursor", name, err)
		}
	}
	if _, err := s.Changes(ctx, "Blog", 0, math.MaxInt64, cp.Next, 3); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("Changes of another model: %v, want ErrBadCursor", err)
	}
	if _, err := s.Changes(ctx, "Post", 0, c.ms(), cp.Next, 3); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("Changes with another until: %v, want ErrBadCursor", err)
	}
	// The good cursors still work and were not altered by use.
	if p, err := s.Scan(ctx, "Post", sp.Next, 3); err != nil || len(p.Records) != 3 {
		t.Fatalf("good scan cursor: %+v, %v", p, err)
	}
	if p, err := s.Scan(ctx, "Post", sp.Next, 3); err != nil || len(p.Records) != 3 {
		t.Fatalf("good scan cursor reused: %+v, %v", p, err)
	}
}

func mustScanNext(t *testing.T, s store.Store, model string) []byte {
	t.Helper()
	p, err := s.Scan(context.Background(), model, nil, 1)
	if err != nil || p.Next == nil {
		t.Fatalf("scan %s: %+v, %v", model, p, err)
	}
	return p.Next
}

func flip(b []byte, i int) []byte {
	c := slices.Clone(b)
	c[i] ^= 0x40
	return c
}

func TestChanges(t *testing.T) { forEngines(t, testChanges) }

func testChanges(t *testing.T, e engine) {
	c := newClock()
	s := e.openDisk(t, c)
	ctx := context.Background()
	t0 := c.ms()
	step := func() { c.Add(10 * time.Millisecond) }

	put(t, s, "Post", []any{"a"}, map[string]any{"v": "a1"}) // t0
	step()
	put(t, s, "Post", []any{"b"}, map[string]any{"v": "b1"}) // t0+10
	step()
	put(t, s, "Post", []any{"a"}, map[string]any{"v": "a2"}) // t0+20
	put(t, s, "Blog", []any{"a"}, map[string]any{"v": "x"})  // t0+20, other model
	step()
	del(t, s, "Post", []any{"b"}) // t0+30
	step()
	put(t, s, "Post", []any{"c"}, map[string]any{"v": "c1"}) // t0+40
	step()
	put(t, s, "Post", []any{"a"}, map[string]any{"v": "a3"}) // t0+50

	type img struct {
		key, v  string
		version int64
		deleted bool
	}
	images := func(recs []store.Record) []img {
		var out []img
		for _, r := range recs {
			out = append(out, img{r.Key[0].(string), r.Item["v"].(string), r.Version, r.Deleted})
		}
		return out
	}
	cases := []struct {
		since, until int64
		want         []img
	}{
		// Everything: one image per key, the latest, in commit order.
		{t0, math.MaxInt64, []img{{"b", "b1", 2, true}, {"c", "c1", 1, false}, {"a", "a3", 3, false}}},
		// until cuts a's last change off: its latest before until is a2.
		{t0, t0 + 50, []img{{"a", "a2", 2, false}, {"b", "b1", 2, true}, {"c", "c1", 1, false}}},
		{t0, t0 + 20, []img{{"a", "a1", 1, false}, {"b", "b1", 1, false}}},
		// since is inclusive, until exclusive.
		{t0 + 20, t0 + 40, []img{{"a", "a2", 2, false}, {"b", "b1", 2, true}}},
		{t0 + 50, t0 + 51, []img{{"a", "a3", 3, false}}},
		{t0 + 51, math.MaxInt64, nil},
		{t0 + 40, t0 + 40, nil},
	}
	for _, tc := range cases {
		for _, limit := range []int{1, 2, 100} {
			got := images(changesAll(t, s, "Post", tc.since, tc.until, limit))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Changes(%d, %d) limit %d = %v, want %v", tc.since-t0, tc.until-t0, limit, got, tc.want)
			}
		}
	}
	// A page that ends at the last change has no Next.
	p, err := s.Changes(ctx, "Post", t0, math.MaxInt64, nil, 3)
	if err != nil || len(p.Records) != 3 || p.Next != nil {
		t.Fatalf("single full page: %d records, next %v, err %v", len(p.Records), p.Next, err)
	}
	if _, err := s.Changes(ctx, "Post", t0, math.MaxInt64, nil, -1); err == nil {
		t.Fatal("negative limit accepted")
	}
}

func TestExpire(t *testing.T) { forEngines(t, testExpire) }

func testExpire(t *testing.T, e engine) {
	c := newClock()
	const base, delta = 24 * time.Hour, 30 * time.Minute
	// No background expiry: it would race the counted Expire calls.
	s := e.open(t, store.Options{Dir: t.TempDir(), Now: c.Now, BaseTTL: base, DeltaTTL: delta, ExpiryInterval: -1})
	ctx := context.Background()
	t0 := c.ms()

	put(t, s, "Post", []any{"live"}, map[string]any{})
	put(t, s, "Post", []any{"gone"}, map[string]any{})
	put(t, s, "Post", []any{"back"}, map[string]any{})
	del(t, s, "Post", []any{"gone"})
	del(t, s, "Post", []any{"back"})
	put(t, s, "Post", []any{"back"}, map[string]any{}) // leaves the tombstone index
	expire := func() int {
		t.Helper()
		n, err := s.Expire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	if n := expire(); n != 0 {
		t.Fatalf("fresh store: %d expired", n)
	}
	c.Add(delta - time.Millisecond)
	if n := expire(); n != 0 {
		t.Fatalf("before DeltaTTL: %d expired", n)
	}
	if got := changesAll(t, s, "Post", t0, math.MaxInt64, 10); len(got) != 3 {
		t.Fatalf("log before DeltaTTL: %d keys, want 3", len(got))
	}
	c.Add(time.Millisecond)
	if n := expire(); n != 6 {
		t.Fatalf("at DeltaTTL: %d expired, want the 6 log entries", n)
	}
	if got := changesAll(t, s, "Post", t0, math.MaxInt64, 10); len(got) != 0 {
		t.Fatalf("log after DeltaTTL: %+v", got)
	}
	if recs := scanAll(t, s, "Post", 10); len(recs) != 3 {
		t.Fatalf("records after DeltaTTL: %d, want 3", len(recs))
	}

	c.Add(base - delta - time.Millisecond)
	if n := expire(); n != 0 {
		t.Fatalf("before BaseTTL: %d expired", n)
	}
	c.Add(time.Millisecond)
	if n := expire(); n != 1 {
		t.Fatalf("at BaseTTL: %d expired, want the one tombstone", n)
	}
	if _, err := s.Get(ctx, "Post", []any{"gone"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired tombstone: %v, want ErrNotFound", err)
	}
	for _, k := range []string{"live", "back"} {
		if r := get(t, s, "Post", k); r.Deleted {
			t.Fatalf("%s: %+v", k, r)
		}
	}
	// A key whose tombstone expired starts over at version 1.
	if ch := put(t, s, "Post", []any{"gone"}, map[string]any{}); ch.Record.Version != 1 {
		t.Fatalf("create after expiry: version %d", ch.Record.Version)
	}
}

func TestExpireLogOfEachModel(t *testing.T) { forEngines(t, testExpireLogOfEachModel) }

// testExpireLogOfEachModel: each model's change log expires by its own
// commit times, whatever other models hold; a model whose names extends
// another's is a model of its own.
func testExpireLogOfEachModel(t *testing.T, e engine) {
	c := newClock()
	const delta = 30 * time.Minute
	s := e.open(t, store.Options{InMemory: true, Now: c.Now, DeltaTTL: delta, ExpiryInterval: -1})
	t0 := c.ms()
	// Old entries in the first and the last model, newer ones in between
	// and after the old ones.
	for _, m := range []string{"A", "Post"} {
		put(t, s, m, []any{"old-1"}, map[string]any{})
		put(t, s, m, []any{"old-2"}, map[string]any{})
	}
	c.Add(delta / 2)
	for _, m := range []string{"A", "B", "PostTag", "Post"} {
		put(t, s, m, []any{"new"}, map[string]any{})
	}
	c.Add(delta / 2)
	n, err := s.Expire(context.Background())
	if err != nil || n != 4 {
		t.Fatalf("expired %d (%v), want the 4 old log entries", n, err)
	}
	for _, m := range []string{"A", "B", "PostTag", "Post"} {
		got := changesAll(t, s, m, t0, math.MaxInt64, 10)
		if len(got) != 1 || got[0].Key[0] != "new" {
			t.Errorf("%s: log after expiry %+v, want only the new entry", m, got)
		}
	}
	if recs := scanAll(t, s, "Post", 10); len(recs) != 3 {
		t.Fatalf("Post records after expiry: %d, want 3", len(recs))
	}
}

func TestExpireManyInBatches(t *testing.T) { forEngines(t, testExpireManyInBatches) }

func testExpireManyInBatches(t *testing.T, e engine) {
	c := newClock()
	// No background expiry: once the clock moves, a tick of it would take
	// entries from the counted Expire below (it did, under load).
	s := e.open(t, store.Options{InMemory: true, Now: c.Now, BaseTTL: time.Hour, DeltaTTL: time.Minute, ExpiryInterval: -1})
	const n = 3000
	for i := range n {
		put(t, s, "Post", []any{float64(i)}, map[string]any{})
		del(t, s, "Post", []any{float64(i)})
	}
	c.Add(time.Hour)
	got, err := s.Expire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != 3*n {
		t.Fatalf("expired %d, want %d", got, 3*n)
	}
	if recs := scanAll(t, s, "Post", 100); len(recs) != 0 {
		t.Fatalf("%d records left", len(recs))
	}
}

func TestBackgroundExpiry(t *testing.T) { forEngines(t, testBackgroundExpiry) }

func testBackgroundExpiry(t *testing.T, e engine) {
	c := newClock()
	s := e.open(t, store.Options{InMemory: true, Now: c.Now, BaseTTL: 20 * time.Millisecond, DeltaTTL: 20 * time.Millisecond})
	put(t, s, "Post", []any{"a"}, map[string]any{})
	del(t, s, "Post", []any{"a"})
	c.Add(time.Hour)
	// No Expire call: the store's own goroutine must remove the tombstone.
	// The deadline only turns a hang into a failure; it times nothing.
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		_, err := s.Get(context.Background(), "Post", []any{"a"})
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the background expiry never removed the tombstone")
}

// TestExpiryInterval checks that Options.ExpiryInterval sets the period of
// the background expiry: with the default TTLs the default period is a
// minute, which the wait below (a hang guard of a minute) would not see.
func TestExpiryInterval(t *testing.T) { forEngines(t, testExpiryInterval) }

func testExpiryInterval(t *testing.T, e engine) {
	c := newClock()
	s := e.open(t, store.Options{InMemory: true, Now: c.Now, ExpiryInterval: time.Millisecond})
	put(t, s, "Post", []any{"a"}, map[string]any{})
	del(t, s, "Post", []any{"a"})
	c.Add(store.DefaultBaseTTL + time.Hour)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		_, err := s.Get(context.Background(), "Post", []any{"a"})
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the background expiry never removed the tombstone")
}

func TestReopen(t *testing.T) { forEngines(t, testReopen) }

func testReopen(t *testing.T, e engine) {
	c := newClock()
	dir := t.TempDir()
	ctx := context.Background()
	s, err := e.openRaw(t, store.Options{Dir: dir, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t0 := c.ms()
	put(t, s, "Post", []any{"a"}, map[string]any{"v": 1.0})
	put(t, s, "Post", []any{"a"}, map[string]any{"v": 2.0})
	c.Add(time.Second)
	last := put(t, s, "Post", []any{"b"}, map[string]any{"v": 3.0})
	c.Add(500 * time.Millisecond)
	w, err := s.StartedAt(ctx) // a watermark past the last write
	if err != nil {
		t.Fatal(err)
	}
	if w != c.ms() {
		t.Fatalf("StartedAt %d, want now (%d)", w, c.ms())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen with the clock an hour behind.
	c.Add(-time.Hour)
	s = e.open(t, store.Options{Dir: dir, Now: c.Now})
	if r := get(t, s, "Post", "a"); r.Version != 2 || r.Item["v"] != 2.0 || r.LastChangedAt != t0 {
		t.Fatalf("a after reopen: %+v", r)
	}
	if got := changesAll(t, s, "Post", t0, math.MaxInt64, 10); len(got) != 2 {
		t.Fatalf("log after reopen: %+v", got)
	}
	ch := put(t, s, "Post", []any{"a"}, map[string]any{"v": 4.0})
	if ch.Record.Version != 3 || ch.Seq != last.Seq+1 || ch.Record.LastChangedAt < w {
		t.Fatalf("write after reopen: %+v, want version 3, seq %d, LastChangedAt >= %d", ch, last.Seq+1, w)
	}
	if w2, err := s.StartedAt(ctx); err != nil || w2 < ch.Record.LastChangedAt {
		t.Fatalf("StartedAt after reopen %d, %v; want >= %d", w2, err, ch.Record.LastChangedAt)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_ = open(t, store.Options{Dir: dir})
	if _, err := store.Open(ctx, store.Options{Dir: dir}); !errors.Is(err, storage.ErrLocked) {
		t.Errorf("second open of a directory: %v, want ErrLocked", err)
	}
	if _, err := store.Open(ctx, store.Options{}); !errors.Is(err, storage.ErrInvalidOptions) {
		t.Errorf("no directory: %v, want ErrInvalidOptions", err)
	}
	if _, err := store.Open(ctx, store.Options{InMemory: true, DeltaTTL: -time.Second}); !errors.Is(err, storage.ErrInvalidOptions) {
		t.Errorf("negative TTL: %v, want ErrInvalidOptions", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := store.Open(cctx, store.Options{InMemory: true}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled open: %v", err)
	}
}

func TestContextAndClose(t *testing.T) { forEngines(t, testContextAndClose) }

func testContextAndClose(t *testing.T, e engine) {
	c := newClock()
	s, err := e.openRaw(t, store.Options{Dir: t.TempDir(), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	called := false
	_, err = s.Mutate(cctx, "Post", []any{"a"}, func(*store.Record) (map[string]any, store.Op, error) {
		called = true
		return map[string]any{}, store.OpCreate, nil
	})
	if !errors.Is(err, context.Canceled) || called {
		t.Fatalf("Mutate with a cancelled ctx: %v (fn called: %v)", err, called)
	}
	if _, err := s.Get(ctx, "Post", []any{"a"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancelled Mutate wrote: %v", err)
	}

	// Close waits for a Mutate under way, which then commits.
	entered, release := make(chan struct{}), make(chan struct{})
	var fed []store.Change
	s.Feed(ctx, func(ch store.Change) { fed = append(fed, ch) })
	done := make(chan error)
	go func() {
		_, err := s.Mutate(ctx, "Post", []any{"a"}, func(*store.Record) (map[string]any, store.Op, error) {
			close(entered)
			<-release
			return map[string]any{}, store.OpCreate, nil
		})
		done <- err
	}()
	<-entered
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	for { // wait until Close has shut the door
		if _, err := s.Get(ctx, "Post", []any{"x"}); errors.Is(err, store.ErrClosed) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Mutate under way during Close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if len(fed) != 1 {
		t.Fatalf("feed saw %d changes, want 1", len(fed))
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Mutate(ctx, "Post", []any{"b"}, nil); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Mutate after Close: %v", err)
	}
	if _, err := s.Get(ctx, "Post", []any{"a"}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if _, err := s.Scan(ctx, "Post", nil, 1); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Scan after Close: %v", err)
	}
	if _, err := s.Changes(ctx, "Post", 0, 1, nil, 1); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Changes after Close: %v", err)
	}
	if _, err := s.Expire(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Expire after Close: %v", err)
	}
	s.Feed(ctx, func(store.Change) { t.Error("listener registered after Close was called") })
}

func TestFeedStopsWithItsContext(t *testing.T) { forEngines(t, testFeedStopsWithItsContext) }

func testFeedStopsWithItsContext(t *testing.T, e engine) {
	c := newClock()
	s := e.openMem(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var got []uint64
	s.Feed(ctx, func(ch store.Change) {
		mu.Lock()
		got = append(got, ch.Seq)
		mu.Unlock()
	})
	put(t, s, "Post", []any{"a"}, map[string]any{})
	cancel()
	// context.AfterFunc runs the removal on its own goroutine: wait for it
	// by writing until a change goes unseen, then check no later one is.
	for i := 0; ; i++ {
		put(t, s, "Post", []any{"a"}, map[string]any{})
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n < i+2 {
			break
		}
	}
	mu.Lock()
	n := len(got)
	mu.Unlock()
	put(t, s, "Post", []any{"a"}, map[string]any{})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n {
		t.Fatalf("listener called after its context ended")
	}
	for i, seq := range got {
		if seq != uint64(i+1) {
			t.Fatalf("feed seqs %v", got)
		}
	}
}

func TestConcurrentMutations(t *testing.T) { forEngines(t, testConcurrentMutations) }

func testConcurrentMutations(t *testing.T, e engine) {
	c := newClock()
	s := e.openDisk(t, c)
	ctx := context.Background()
	const workers, perWorker, keys = 8, 150, 10

	var fed []store.Change // appended under the commit mutex
	s.Feed(ctx, func(ch store.Change) { fed = append(fed, ch) })

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				k := fmt.Sprint((w + i) % keys)
				if i%5 == 4 {
					c.Add(time.Millisecond)
				}
				_, err := s.Mutate(ctx, "Post", []any{k}, func(cur *store.Record) (map[string]any, store.Op, error) {
					n := 0.0
					if cur != nil {
						n = cur.Item["n"].(float64)
					}
					op := store.OpUpdate
					switch {
					case cur == nil || cur.Deleted:
						op = store.OpCreate
					case i%7 == 6:
						op = store.OpDelete
					}
					return map[string]any{"n": n + 1}, op, nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	total := workers * perWorker
	if len(fed) != total {
		t.Fatalf("feed saw %d changes, want %d", len(fed), total)
	}
	lastVersion := map[string]int64{}
	var lastLCA int64
	for i, ch := range fed {
		if ch.Seq != uint64(i+1) {
			t.Fatalf("feed change %d has seq %d", i, ch.Seq)
		}
		k := ch.Record.Key[0].(string)
		if ch.Record.Version != lastVersion[k]+1 {
			t.Fatalf("key %s: version %d after %d", k, ch.Record.Version, lastVersion[k])
		}
		if ch.Record.Item["n"] != float64(ch.Record.Version) {
			t.Fatalf("key %s: fn saw a stale record: n=%v at version %d", k, ch.Record.Item["n"], ch.Record.Version)
		}
		if ch.Record.LastChangedAt < lastLCA {
			t.Fatalf("LastChangedAt went back: %d after %d", ch.Record.LastChangedAt, lastLCA)
		}
		lastVersion[k], lastLCA = ch.Record.Version, ch.Record.LastChangedAt
	}
	for k, v := range lastVersion {
		if r := get(t, s, "Post", k); r.Version != v {
			t.Fatalf("key %s: stored version %d, feed's last %d", k, r.Version, v)
		}
	}
}

// TestWatermark runs writers while a reader syncs the way the server
// will: a base scan after taking W=StartedAt, then delta reads chained on
// the watermarks. After the writers stop, the reader's copy must equal the
// store: no write slipped between a watermark and the reads.
func TestWatermark(t *testing.T) { forEngines(t, testWatermark) }

func testWatermark(t *testing.T, e engine) {
	c := newClock()
	s := e.openMem(t, c)
	ctx := context.Background()
	const keys = 50

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				switch {
				case i%7 == 0:
					c.Add(-2 * time.Millisecond) // the wall clock may step back
				case i%3 == 0:
					c.Add(time.Millisecond)
				}
				k := fmt.Sprint(rng.IntN(keys))
				_, err := s.Mutate(ctx, "Post", []any{k}, func(cur *store.Record) (map[string]any, store.Op, error) {
					switch {
					case cur == nil || cur.Deleted:
						return map[string]any{"w": float64(w)}, store.OpCreate, nil
					case rng.IntN(4) == 0:
						return cur.Item, store.OpDelete, nil
					}
					return map[string]any{"w": float64(w)}, store.OpUpdate, nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}

	local := map[string]store.Record{}
	merge := func(recs []store.Record) {
		for _, r := range recs {
			k := r.Key[0].(string)
			if r.Version > local[k].Version {
				local[k] = r
			}
		}
	}
	w, err := s.StartedAt(ctx)
	if err != nil {
		t.Fatal(err)
	}
	merge(scanAll(t, s, "Post", 7))
	for range 30 {
		next, err := s.StartedAt(ctx)
		if err != nil {
			t.Fatal(err)
		}
		merge(changesAll(t, s, "Post", w, next, 5))
		w = next
	}
	close(stop)
	wg.Wait()
	final, err := s.StartedAt(ctx)
	if err != nil {
		t.Fatal(err)
	}
	merge(changesAll(t, s, "Post", w, final+1, 5))

	stored := scanAll(t, s, "Post", 100)
	if len(stored) != len(local) {
		t.Fatalf("reader has %d keys, store %d", len(local), len(stored))
	}
	for _, r := range stored {
		l := local[r.Key[0].(string)]
		if l.Version != r.Version || l.Deleted != r.Deleted || l.LastChangedAt != r.LastChangedAt {
			t.Fatalf("key %v: reader has version %d, store %d: a write was missed", r.Key, l.Version, r.Version)
		}
	}
}

// TestStartedAtRaisesTheFloor pins the watermark property on a clock that
// steps back: a write after StartedAt is stamped at or after the
// watermark, so a delta read since it finds the write.
func TestStartedAtRaisesTheFloor(t *testing.T) { forEngines(t, testStartedAtRaisesTheFloor) }

func testStartedAtRaisesTheFloor(t *testing.T, e engine) {
	c := newClock()
	s := e.openMem(t, c)
	ctx := context.Background()
	before := put(t, s, "Post", []any{"a"}, map[string]any{})
	c.Add(10 * time.Millisecond)
	w, err := s.StartedAt(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if w != c.ms() || w < before.Record.LastChangedAt {
		t.Fatalf("StartedAt %d, want now (%d)", w, c.ms())
	}
	c.Add(-time.Second)
	after := put(t, s, "Post", []any{"b"}, map[string]any{})
	if after.Record.LastChangedAt < w {
		t.Fatalf("write after StartedAt stamped %d < watermark %d", after.Record.LastChangedAt, w)
	}
	got := changesAll(t, s, "Post", w, math.MaxInt64, 10)
	if len(got) != 1 || got[0].Key[0] != "b" {
		t.Fatalf("changes since the watermark: %+v, want b", got)
	}
	// A watermark never goes back either.
	if w2, err := s.StartedAt(ctx); err != nil || w2 < after.Record.LastChangedAt {
		t.Fatalf("second StartedAt %d (%v) before the last write %d", w2, err, after.Record.LastChangedAt)
	}
}
