package store_test

import (
	"cmp"
	"context"
	"sync"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv/pagecache"
)

// TestWriteIsOnDiskWhenAcknowledged checks what "acknowledged" means: when
// Mutate returns, no page of the logs that hold the write is left dirty in
// the page cache, for one writer and for concurrent ones (whose writes
// share syncs). The same writes with UnsafeNoFsync leave dirty pages, which
// shows the check sees what it is meant to see.
func TestWriteIsOnDiskWhenAcknowledged(t *testing.T) {
	const writes = 50
	t.Run("one writer", func(t *testing.T) {
		dir := pagecache.DurableDir(t)
		s := open(t, store.Options{Dir: dir, Now: newClock().Now})
		// The feed (real-time fan-out) must not announce a write that a
		// power loss could still take back.
		var mu sync.Mutex
		var atPublish []uint64
		var feedErr error
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s.Feed(ctx, func(store.Change) {
			n, err := pagecache.DirtyLogPages(dir)
			mu.Lock()
			atPublish = append(atPublish, n)
			feedErr = cmp.Or(feedErr, err)
			mu.Unlock()
		})
		for i := range writes {
			put(t, s, "Post", []any{float64(i)}, map[string]any{"title": "durable"})
			if n := pagecache.Dirty(t, dir); n != 0 {
				t.Fatalf("write %d acknowledged with %d log pages not yet on disk", i, n)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if feedErr != nil {
			t.Fatal(feedErr)
		}
		if len(atPublish) != writes {
			t.Fatalf("%d changes published, want %d", len(atPublish), writes)
		}
		for i, n := range atPublish {
			if n != 0 {
				t.Fatalf("change %d published with %d log pages not yet on disk", i, n)
			}
		}
	})
	t.Run("concurrent writers", func(t *testing.T) {
		dir := pagecache.DurableDir(t)
		s := open(t, store.Options{Dir: dir, Now: newClock().Now})
		var wg sync.WaitGroup
		// 32: enough for the committer to gather writers into commits.
		for w := range 32 {
			wg.Go(func() {
				for i := range writes {
					put(t, s, "Post", []any{float64(w*writes + i)}, map[string]any{"title": "durable"})
				}
			})
		}
		wg.Wait()
		// While others write, pages dirty after one put may be theirs, not
		// yet acknowledged; once every put has returned, none may be.
		if n := pagecache.Dirty(t, dir); n != 0 {
			t.Fatalf("every write acknowledged, %d log pages not yet on disk", n)
		}
	})
	t.Run("UnsafeNoFsync leaves pages dirty", func(t *testing.T) {
		dir := pagecache.DurableDir(t)
		s := open(t, store.Options{Dir: dir, Now: newClock().Now, UnsafeNoFsync: true})
		seen := 0
		for i := range writes {
			put(t, s, "Post", []any{float64(i)}, map[string]any{"title": "fast"})
			if pagecache.Dirty(t, dir) > 0 {
				seen++
			}
		}
		// The kernel writes dirty pages back on its own (after 30 s, or
		// sooner under memory pressure), so not every check need see one;
		// with none at all, the check could not tell the modes apart.
		if seen == 0 {
			t.Fatalf("no write left a dirty log page: the check cannot see an unsynced write")
		}
	})
}
