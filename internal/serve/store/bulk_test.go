package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store"
)

func bulkOf(t *testing.T, s store.Store) store.Bulk {
	t.Helper()
	b, ok := s.(store.Bulk)
	if !ok {
		t.Fatalf("%T does not implement store.Bulk", s)
	}
	return b
}

func loaded(id string, version, lca int64, deleted bool, expireAt int64) store.Loaded {
	return store.Loaded{Record: store.Record{Model: "Post", Key: []any{id},
		Item: map[string]any{"id": id, "v": float64(version)}, Version: version, LastChangedAt: lca, Deleted: deleted}, ExpireAt: expireAt}
}

// Loaded records keep their metadata, are not in the change log, and a
// later Mutate continues from the loaded version after the epoch.
func TestBulkLoadKeepsMetadata(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := newClock()
		s := bulkOf(t, e.open(t, store.Options{Dir: t.TempDir(), Now: c.Now, ExpiryInterval: -1}))
		old := c.ms() - 3600_000
		stats, err := s.Load(ctx, "Post", []store.Loaded{
			loaded("a", 5, old, false, 0),
			loaded("b", 2, old+1, true, c.ms()+60_000),
			loaded("c", 3, old+2, true, 0), // expiry from the base TTL
		}, false)
		if err != nil || stats.Written != 3 {
			t.Fatalf("load: %+v, %v", stats, err)
		}
		if _, err := s.Load(ctx, "Post", []store.Loaded{loaded("a", 9, old, false, 0)}, false); !errors.Is(err, store.ErrExists) {
			t.Errorf("load of a stored key without merge: %v, want ErrExists", err)
		}
		epoch, err := s.MarkImport(ctx, old+10, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.ImportEpoch(ctx); err != nil || got != epoch || epoch <= c.ms() {
			t.Errorf("epoch %d (read back %d, %v), want > now %d", epoch, got, err, c.ms())
		}
		p, err := s.Changes(ctx, "Post", 0, epoch+1, nil, 10)
		if err != nil || len(p.Records) != 0 {
			t.Errorf("change log after a load: %v, %v; want empty", p.Records, err)
		}
		ch, err := s.Mutate(ctx, "Post", []any{"a"}, func(cur *store.Record) (map[string]any, store.Op, error) {
			if cur == nil || cur.Version != 5 || cur.LastChangedAt != old {
				t.Errorf("Mutate sees %+v, want the loaded record", cur)
			}
			return map[string]any{"id": "a"}, store.OpUpdate, nil
		})
		if err != nil || ch.Record.Version != 6 || ch.Record.LastChangedAt < epoch {
			t.Errorf("mutate after import: %+v, %v; want version 6 at or after the epoch %d", ch.Record, err, epoch)
		}
		page, err := s.Dump(ctx, "Post", nil, 10)
		if err != nil || len(page.Records) != 3 {
			t.Fatalf("dump: %v, %v", page, err)
		}
		if b := page.Records[1]; b.ExpireAt != c.ms()+60_000 || !b.Deleted || b.Version != 2 {
			t.Errorf("b: %+v", b)
		}
		if cc := page.Records[2]; cc.ExpireAt != old+2+int64(store.DefaultBaseTTL/time.Millisecond) {
			t.Errorf("c expires at %d, want its lastChangedAt + the base TTL", cc.ExpireAt)
		}
		// The loaded tombstone expires at its own time.
		c.Add(2 * time.Minute)
		if _, err := s.Expire(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "Post", []any{"b"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b after its expiry: %v, want not found", err)
		}
		if _, err := s.Get(ctx, "Post", []any{"c"}); err != nil {
			t.Errorf("c before its expiry: %v", err)
		}
	})
}

// A merge replaces only older versions, and a tombstone it replaces does
// not expire the new record.
func TestBulkMerge(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := newClock()
		s := bulkOf(t, e.open(t, store.Options{Dir: t.TempDir(), Now: c.Now, ExpiryInterval: -1}))
		now := c.ms()
		if _, err := s.Load(ctx, "Post", []store.Loaded{loaded("a", 3, now, false, 0), loaded("t", 2, now, true, now+1000)}, false); err != nil {
			t.Fatal(err)
		}
		stats, err := s.Load(ctx, "Post", []store.Loaded{
			loaded("a", 3, now+5, false, 0), // same version: kept
			loaded("t", 4, now+5, false, 0), // higher: replaces the tombstone
			loaded("n", 1, now+5, false, 0),
		}, true)
		if err != nil || stats.Written != 2 || stats.Kept != 1 {
			t.Fatalf("merge: %+v, %v; want 2 written, 1 kept", stats, err)
		}
		c.Add(time.Hour)
		if _, err := s.Expire(ctx); err != nil {
			t.Fatal(err)
		}
		r, err := s.Get(ctx, "Post", []any{"t"})
		if err != nil || r.Deleted || r.Version != 4 {
			t.Errorf("t after the old tombstone's expiry time: %+v, %v; want the merged live record", r, err)
		}
		if r, _ := s.Get(ctx, "Post", []any{"a"}); r.LastChangedAt != now {
			t.Errorf("a: %+v, want the stored copy kept", r)
		}
	})
}
