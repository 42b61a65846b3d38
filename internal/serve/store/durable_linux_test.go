package store_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/dsgen/dsgen/internal/serve/store"
)

// dirtyLogPages returns how many pages of dir's write-ahead and value logs
// (Badger's *.mem and *.vlog files) the kernel holds dirty or under
// writeback, that is not yet on disk, as the cachestat system call (Linux
// 6.5+) reports them. Badger writes its logs through mmap, and a page
// written through a mapping is dirty in the page cache until it is synced.
func dirtyLogPages(t *testing.T, dir string) uint64 {
	t.Helper()
	n, err := countDirtyLogPages(dir)
	if errors.Is(err, unix.ENOSYS) {
		t.Skip("cachestat(2) needs Linux 6.5 or later")
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// countDirtyLogPages is dirtyLogPages for any goroutine.
func countDirtyLogPages(dir string) (uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var dirty uint64
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".mem") && !strings.HasSuffix(e.Name(), ".vlog") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // a memtable flushed and its log removed meanwhile
		}
		if err != nil {
			return 0, err
		}
		var st unix.Cachestat_t
		err = unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{}, &st, 0) // Len 0: the whole file
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("cachestat %s: %w", e.Name(), err)
		}
		dirty += st.Dirty + st.Writeback
	}
	return dirty, nil
}

// durableDir returns a temporary directory on a file system that keeps
// data in the page cache until written back (tmpfs pages are never
// written back, so "dirty" would mean nothing there).
func durableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var sfs unix.Statfs_t
	if err := unix.Statfs(dir, &sfs); err != nil {
		t.Fatal(err)
	}
	if sfs.Type == unix.TMPFS_MAGIC || sfs.Type == unix.RAMFS_MAGIC {
		t.Skipf("%s is on tmpfs or ramfs: no page is ever written back, set TMPDIR to a disk", dir)
	}
	return dir
}

// TestWriteIsOnDiskWhenAcknowledged checks what "acknowledged" means: when
// Mutate returns, no page of the logs that hold the write is left dirty in
// the page cache, for one writer and for concurrent ones (whose writes
// share syncs). The same writes with UnsafeNoFsync leave dirty pages, which
// shows the check sees what it is meant to see.
func TestWriteIsOnDiskWhenAcknowledged(t *testing.T) {
	const writes = 50
	t.Run("one writer", func(t *testing.T) {
		dir := durableDir(t)
		s := open(t, store.Options{Dir: dir, Now: newClock().Now})
		// The feed (real-time fan-out) must not announce a write that a
		// power loss could still take back.
		var mu sync.Mutex
		var atPublish []uint64
		var feedErr error
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s.Feed(ctx, func(store.Change) {
			n, err := countDirtyLogPages(dir)
			mu.Lock()
			atPublish = append(atPublish, n)
			feedErr = cmp.Or(feedErr, err)
			mu.Unlock()
		})
		for i := range writes {
			put(t, s, "Post", []any{float64(i)}, map[string]any{"title": "durable"})
			if n := dirtyLogPages(t, dir); n != 0 {
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
		dir := durableDir(t)
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
		if n := dirtyLogPages(t, dir); n != 0 {
			t.Fatalf("every write acknowledged, %d log pages not yet on disk", n)
		}
	})
	t.Run("UnsafeNoFsync leaves pages dirty", func(t *testing.T) {
		dir := durableDir(t)
		s := open(t, store.Options{Dir: dir, Now: newClock().Now, UnsafeNoFsync: true})
		seen := 0
		for i := range writes {
			put(t, s, "Post", []any{float64(i)}, map[string]any{"title": "fast"})
			if dirtyLogPages(t, dir) > 0 {
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
