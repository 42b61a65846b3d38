package store

import (
	"context"
	"encoding/binary"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/dsgen/dsgen/runtime/storage"
)

// expiryLogKey is the expiry entry of a change-log entry as stores written
// before 2026-12 hold them (the log now expires by its own keys).
func expiryLogKey(expireAt int64, seq uint64) []byte {
	k := appendI64([]byte{nsExpiry}, expireAt)
	k = append(k, expLog)
	return binary.BigEndian.AppendUint64(k, seq)
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestExpireHonoursOldLogExpiryEntries: a store written by an earlier
// version holds an expiry entry per change-log entry. Expire still removes
// them, removing and counting each log entry exactly once, whether the old
// entry comes due with the log entry (same delta TTL) or after it (the TTL
// was longer then), and never leaves one behind.
func TestExpireHonoursOldLogExpiryEntries(t *testing.T) {
	ctx := context.Background()
	c := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	const delta = 30 * time.Minute
	s, err := Open(ctx, Options{InMemory: true, Now: c.Now, DeltaTTL: delta, ExpiryInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	since := c.Now().UnixMilli()
	for i, id := range []string{"same", "longer"} {
		ch, err := s.Mutate(ctx, "Post", []any{id}, func(*Record) (map[string]any, Op, error) {
			return map[string]any{"id": id}, OpCreate, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		pk, _, err := encodeKey("Post", []any{id})
		if err != nil {
			t.Fatal(err)
		}
		lca, seq := ch.Record.LastChangedAt, ch.Seq
		lk, kk := logKey("Post", lca, seq, pk), keyLogKey("Post", pk, lca, seq)
		v := binary.AppendUvarint(nil, uint64(len(lk)))
		v = append(append(v, lk...), kk...)
		expireAt := lca + int64(i+1)*delta.Milliseconds()
		if err := s.queueAndWait([]wop{{key: expiryLogKey(expireAt, seq), val: v}}); err != nil {
			t.Fatal(err)
		}
	}

	c.Add(delta)
	if n, err := s.Expire(ctx); err != nil || n != 2 {
		t.Fatalf("at the delta TTL: expired %d (%v), want the 2 log entries", n, err)
	}
	if p, err := s.Changes(ctx, "Post", since, math.MaxInt64, nil, 10); err != nil || len(p.Records) != 0 {
		t.Fatalf("log after expiry: %+v, %v", p.Records, err)
	}
	c.Add(delta)
	if n, err := s.Expire(ctx); err != nil || n != 0 {
		t.Fatalf("old expiry entry of a log entry already gone: expired %d (%v), want 0", n, err)
	}
	for _, ns := range []byte{nsExpiry, nsLog, nsKeyLog} {
		if n := countPrefix(t, s, []byte{ns}); n != 0 {
			t.Errorf("%d entries left under %q", n, ns)
		}
	}
}

func countPrefix(t *testing.T, s *Badger, prefix []byte) int {
	t.Helper()
	n := 0
	err := s.db.View(func(txn storage.Txn) error {
		it := txn.Iterate(storage.IterOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
