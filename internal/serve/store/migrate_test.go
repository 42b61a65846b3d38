package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store"
)

// migrator returns s as a store.Migrator.
func migrator(t *testing.T, s store.Store) store.Migrator {
	t.Helper()
	m, ok := s.(store.Migrator)
	if !ok {
		t.Fatalf("%T is no store.Migrator", s)
	}
	return m
}

// runPass runs rw batch by batch to its end and returns the batches and
// the last mark stored.
func runPass(t *testing.T, m store.Migrator, rw store.Rewrite) (int, store.SchemaMark) {
	t.Helper()
	var last store.SchemaMark
	n := 0
	for {
		rw.Mark = func(next []byte, done bool) store.SchemaMark {
			last = store.SchemaMark{Version: fmt.Sprintf("v-%d-%t", n, done), Progress: json.RawMessage(fmt.Sprintf("%d", len(next)))}
			return last
		}
		next, done, err := m.RewriteBatch(context.Background(), rw)
		if err != nil {
			t.Fatal(err)
		}
		n++
		if done {
			return n, last
		}
		rw.Cursor = next
	}
}

// renameTitle renames the item field title to name.
func renameTitle(key []any, item map[string]any) ([]any, map[string]any, error) {
	if v, ok := item["title"]; ok {
		item["name"] = v
		delete(item, "title")
	}
	return nil, item, nil
}

func migScan(t *testing.T, s store.Store, model string) []store.Record {
	t.Helper()
	var out []store.Record
	var cur []byte
	for {
		p, err := s.Scan(context.Background(), model, cur, 100)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Records...)
		if p.Next == nil {
			return out
		}
		cur = p.Next
	}
}

func migChanges(t *testing.T, s store.Store, model string, since int64) []store.Record {
	t.Helper()
	p, err := s.Changes(context.Background(), model, since, 1<<62, nil, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return p.Records
}

// TestSchemaMark: a fresh store has no mark; a mark set survives a reopen.
func TestSchemaMark(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		dir := t.TempDir()
		s, err := e.openRaw(t, store.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		m := migrator(t, s)
		if _, ok, err := m.SchemaMark(context.Background()); err != nil || ok {
			t.Fatalf("fresh store: mark found %t, err %v", ok, err)
		}
		unlock, err := m.LockMigration(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := store.SchemaMark{Version: "abc", Migration: 3, Progress: json.RawMessage(`{"pass":2}`)}
		if err := m.SetSchemaMark(context.Background(), want); err != nil {
			t.Fatal(err)
		}
		unlock()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2 := e.open(t, store.Options{Dir: dir})
		got, ok, err := migrator(t, s2).SchemaMark(context.Background())
		if err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("after reopen: %+v %t %v, want %+v", got, ok, err, want)
		}
	})
}

// TestRewriteInPlace: a field rename over records and change log keeps
// versions, _lastChangedAt and tombstones, publishes nothing, and stores
// the mark of every batch with it.
func TestRewriteInPlace(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		c := newClock()
		s := e.openDisk(t, c)
		since := c.ms()
		for i := range 5 {
			put(t, s, "Post", []any{fmt.Sprint("p", i)}, map[string]any{"id": fmt.Sprint("p", i), "title": fmt.Sprint("T", i)})
			c.Add(1)
		}
		put(t, s, "Post", []any{"p1"}, map[string]any{"id": "p1", "title": "T1b"})
		del(t, s, "Post", []any{"p2"})
		put(t, s, "Other", []any{"o"}, map[string]any{"id": "o", "title": "keep"})
		before := migScan(t, s, "Post")

		events := make(chan store.Change, 16)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s.Feed(ctx, func(ch store.Change) { events <- ch })

		m := migrator(t, s)
		batches, mark := runPass(t, m, store.Rewrite{Model: "Post", To: "Post", Limit: 2, Fn: renameTitle})
		if batches != 3 {
			t.Errorf("5 records in batches of 2: %d batches", batches)
		}
		runPass(t, m, store.Rewrite{Model: "Post", To: "Post", Log: true, Limit: 2, Fn: renameTitle})
		if got, _, _ := m.SchemaMark(context.Background()); got.Version == "" || mark.Version != "v-2-true" {
			t.Errorf("mark after the records pass %+v, stored %+v", mark, got)
		}

		after := migScan(t, s, "Post")
		if len(after) != len(before) {
			t.Fatalf("%d records after, %d before", len(after), len(before))
		}
		for i, r := range after {
			b := before[i]
			if r.Version != b.Version || r.LastChangedAt != b.LastChangedAt || r.Deleted != b.Deleted || !reflect.DeepEqual(r.Key, b.Key) {
				t.Errorf("record %v: metadata changed: %+v, was %+v", r.Key, r, b)
			}
			if _, ok := r.Item["title"]; ok || r.Item["name"] != b.Item["title"] {
				t.Errorf("record %v: item %v, was %v", r.Key, r.Item, b.Item)
			}
		}
		chs := migChanges(t, s, "Post", since)
		if len(chs) != 5 {
			t.Fatalf("delta: %d records, want 5", len(chs))
		}
		for _, r := range chs {
			if _, ok := r.Item["title"]; ok || r.Item["name"] == nil {
				t.Errorf("delta record %v: item %v", r.Key, r.Item)
			}
		}
		if o := get(t, s, "Other", "o"); o.Item["title"] != "keep" {
			t.Errorf("another model changed: %v", o.Item)
		}
		ch := put(t, s, "Post", []any{"p9"}, map[string]any{"id": "p9"})
		if first := <-events; first.Seq != ch.Seq {
			t.Errorf("the feed's first event is %+v, want the write after the migration (seq %d)", first, ch.Seq)
		}
	})
}

// TestRewriteMove: moving records to another model name (a rename, or a
// re-key through a temporary name) under new keys, the log with them; a
// key another record holds is refused; a delete removes a model.
func TestRewriteMove(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		c := newClock()
		s := e.openDisk(t, c)
		for i := range 4 {
			put(t, s, "Post", []any{fmt.Sprint("p", i)}, map[string]any{"id": fmt.Sprint("p", i), "n": float64(i)})
			c.Add(1)
		}
		del(t, s, "Post", []any{"p3"})
		put(t, s, "Gone", []any{"g"}, map[string]any{"id": "g"})
		m := migrator(t, s)
		rekey := func(key []any, item map[string]any) ([]any, map[string]any, error) {
			return []any{item["n"], item["id"]}, item, nil
		}
		runPass(t, m, store.Rewrite{Model: "Post", To: "Article", Limit: 3, Fn: rekey})
		runPass(t, m, store.Rewrite{Model: "Post", To: "Article", Log: true, Limit: 3, Fn: rekey})
		if left := migScan(t, s, "Post"); len(left) != 0 {
			t.Errorf("records left under the old name: %v", left)
		}
		if left := migChanges(t, s, "Post", 0); len(left) != 0 {
			t.Errorf("log left under the old name: %v", left)
		}
		got := get(t, s, "Article", float64(2), "p2")
		if got.Version != 1 || got.Item["n"] != float64(2) {
			t.Errorf("moved record %+v", got)
		}
		if tomb := get(t, s, "Article", float64(3), "p3"); !tomb.Deleted || tomb.Version != 2 {
			t.Errorf("moved tombstone %+v", tomb)
		}
		if chs := migChanges(t, s, "Article", 0); len(chs) != 4 || !reflect.DeepEqual(chs[0].Key, []any{float64(0), "p0"}) {
			t.Errorf("moved log %+v", chs)
		}
		// A write under the new key after the move supersedes its log entry.
		put(t, s, "Article", []any{float64(0), "p0"}, map[string]any{"id": "p0", "n": float64(0), "x": true})
		if chs := migChanges(t, s, "Article", 0); len(chs) != 4 || chs[3].Item["x"] != true {
			t.Errorf("log after a new write %+v", chs)
		}

		put(t, s, "A", []any{"k"}, map[string]any{"id": "k"})
		put(t, s, "B", []any{"k"}, map[string]any{"id": "k"})
		_, _, err := m.RewriteBatch(context.Background(), store.Rewrite{Model: "A", To: "B", Limit: 10,
			Mark: func([]byte, bool) store.SchemaMark { return store.SchemaMark{} }})
		if !errors.Is(err, store.ErrKeyTaken) {
			t.Errorf("moving onto a taken key: %v, want ErrKeyTaken", err)
		}
		if a := get(t, s, "A", "k"); a.Version != 1 {
			t.Errorf("the refused batch changed A: %+v", a)
		}

		runPass(t, m, store.Rewrite{Model: "Gone", Limit: 10})
		runPass(t, m, store.Rewrite{Model: "Gone", Log: true, Limit: 10})
		if _, err := s.Get(context.Background(), "Gone", []any{"g"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("dropped model's record: %v", err)
		}
		if left := migChanges(t, s, "Gone", 0); len(left) != 0 {
			t.Errorf("dropped model's log: %v", left)
		}
		// Moved log entries and tombstones still expire.
		c.Add(store.DefaultBaseTTL + time.Hour)
		if _, err := s.Expire(context.Background()); err != nil {
			t.Fatalf("expiry after the migration: %v", err)
		}
		if left := migChanges(t, s, "Article", 0); len(left) != 0 {
			t.Errorf("moved log entries did not expire: %v", left)
		}
		if _, err := s.Get(context.Background(), "Article", []any{float64(3), "p3"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("moved tombstone did not expire: %v", err)
		}
	})
}

// TestRewriteResume: a pass stopped after a batch (the store closed, as a
// killed server leaves it: every batch is one transaction) resumes from
// the position stored in the mark with it, so a rewrite that is not
// idempotent still applies exactly once to every record.
func TestRewriteResume(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		dir := t.TempDir()
		s, err := e.openRaw(t, store.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		const n = 600
		for i := range n {
			put(t, s, "Item", []any{fmt.Sprintf("%04d", i)}, map[string]any{"n": i})
		}
		inc := func(key []any, item map[string]any) ([]any, map[string]any, error) {
			v, err := item["n"].(json.Number).Int64()
			item["n"] = v + 1
			return nil, item, err
		}
		rw := store.Rewrite{Model: "Item", To: "Item", Limit: 256, Fn: inc,
			Mark: func(next []byte, done bool) store.SchemaMark {
				b, _ := json.Marshal(next)
				return store.SchemaMark{Version: "migrating", Progress: b}
			}}
		if _, done, err := migrator(t, s).RewriteBatch(context.Background(), rw); err != nil || done {
			t.Fatalf("first batch: done %t, %v", done, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		s = e.open(t, store.Options{Dir: dir})
		m := migrator(t, s)
		for {
			mark, _, err := m.SchemaMark(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(mark.Progress, &rw.Cursor); err != nil {
				t.Fatal(err)
			}
			_, done, err := m.RewriteBatch(context.Background(), rw)
			if err != nil {
				t.Fatal(err)
			}
			if done {
				break
			}
		}
		recs := migScan(t, s, "Item")
		if len(recs) != n {
			t.Fatalf("%d records, want %d", len(recs), n)
		}
		for i, r := range recs {
			if r.Item["n"] != float64(i+1) {
				t.Fatalf("record %v: n = %v, want %d (rewritten exactly once)", r.Key, r.Item["n"], i+1)
			}
		}
	})
}
