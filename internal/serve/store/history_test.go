package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store"
)

// TestHistory: a record's changes come back oldest first, each with its
// version and op, other keys' changes left out, the limit keeping the
// newest; entries past the delta TTL are gone after Expire.
func TestHistory(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := newClock()
		s := e.open(t, store.Options{Dir: t.TempDir(), Now: c.Now, DeltaTTL: time.Hour, ExpiryInterval: -1})
		h := s.(store.HistoryReader)
		write := func(id, title string, op store.Op) {
			t.Helper()
			_, err := s.Mutate(ctx, "Post", []any{id}, func(cur *store.Record) (map[string]any, store.Op, error) {
				return map[string]any{"id": id, "title": title}, op, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			c.Add(time.Millisecond)
		}
		write("a", "one", store.OpCreate)
		write("b", "other", store.OpCreate)
		write("a", "two", store.OpUpdate)
		write("a", "two", store.OpDelete)

		got, err := h.History(ctx, "Post", []any{"a"}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("history of a: %d changes, want 3: %+v", len(got), got)
		}
		wantOps := []store.Op{store.OpCreate, store.OpUpdate, store.OpDelete}
		for i, ch := range got {
			if ch.Op != wantOps[i] || ch.Record.Version != int64(i+1) {
				t.Errorf("change %d: op %v version %d, want %v version %d", i, ch.Op, ch.Record.Version, wantOps[i], i+1)
			}
		}
		if got[1].Record.Item["title"] != "two" || !got[2].Record.Deleted {
			t.Errorf("history images wrong: %+v", got)
		}
		last, err := h.History(ctx, "Post", []any{"a"}, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(last) != 2 || last[0].Record.Version != 2 || last[1].Record.Version != 3 {
			t.Errorf("limit 2 kept %+v, want versions 2 and 3", last)
		}
		if none, err := h.History(ctx, "Post", []any{"zzz"}, 5); err != nil || len(none) != 0 {
			t.Errorf("unknown key: %v, %v; want nothing", none, err)
		}
		c.Add(2 * time.Hour)
		if _, err := s.Expire(ctx); err != nil {
			t.Fatal(err)
		}
		if gone, err := h.History(ctx, "Post", []any{"a"}, 10); err != nil || len(gone) != 0 {
			t.Errorf("after the delta TTL: %d changes, %v; want none", len(gone), err)
		}
	})
}
