package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/sys/unix"
)

// dirtyLogPages returns how many pages of dir's memtable and value logs the
// kernel holds dirty or under writeback (not yet on disk), from
// cachestat(2) (Linux 6.5+). Badger writes its logs through mmap; a page
// written through a mapping stays dirty until synced.
func dirtyLogPages(t *testing.T, dir string) uint64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var dirty uint64
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), memLogExt) && !strings.HasSuffix(e.Name(), valueLogExt) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // flushed or collected meanwhile
		}
		if err != nil {
			t.Fatal(err)
		}
		var st unix.Cachestat_t
		err = unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{}, &st, 0)
		f.Close()
		if errors.Is(err, unix.ENOSYS) {
			t.Skip("cachestat(2) needs Linux 6.5 or later")
		}
		if err != nil {
			t.Fatalf("cachestat %s: %v", e.Name(), err)
		}
		dirty += st.Dirty + st.Writeback
	}
	return dirty
}

// TestLeanSync checks LeanSync's promise: once Commit returns, no page of
// any log the commit wrote is left unsynced, across memtable log and value
// log rotations and for values that go to the value log; and that writes
// on the Badger handle, which this package does not sync, leave pages
// dirty (so the check sees what it is meant to).
func TestLeanSync(t *testing.T) {
	dir := t.TempDir()
	var sfs unix.Statfs_t
	if err := unix.Statfs(dir, &sfs); err != nil {
		t.Fatal(err)
	}
	if sfs.Type == unix.TMPFS_MAGIC || sfs.Type == unix.RAMFS_MAGIC {
		t.Skipf("%s is on tmpfs: pages are never written back", dir)
	}
	db := openT(t, dir, Options{GCInterval: -1, SyncWrites: true, LeanSync: true, tune: smallTune})
	if db.Badger().Opts().SyncWrites {
		t.Fatal("Badger syncs its commits itself with LeanSync")
	}
	small := bytes.Repeat([]byte("s"), 100)
	large := bytes.Repeat([]byte("L"), 2<<10) // above smallTune's 1 KiB threshold
	firstLog, err := newestMemLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	sawDirty := false
	maxVlogs := 0
	write := func(txn Txn, i int) error {
		for k := range 40 {
			v := small
			if i%8 == 0 && k < 20 {
				v = large
			}
			if err := txn.Set(fmt.Appendf(nil, "k%05d-%02d", i, k), v); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range 400 {
		if i%50 == 1 {
			// Unsynced, on Badger's handle: the check must see it.
			err := db.Badger().Update(func(bt *badger.Txn) error { return write(Txn{t: bt}, -i) })
			if err != nil {
				t.Fatal(err)
			}
			if dirtyLogPages(t, dir) > 0 {
				sawDirty = true
			}
		}
		if err := db.Update(func(txn Txn) error { return write(txn, i) }); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		if n := dirtyLogPages(t, dir); n != 0 {
			t.Fatalf("commit %d returned with %d log pages not yet on disk", i, n)
		}
		maxVlogs = max(maxVlogs, vlogFiles(t, dir))
	}
	lastLog, err := newestMemLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("memtable logs %d to %d, up to %d value logs", firstLog, lastLog, maxVlogs)
	if lastLog-firstLog < 2 {
		t.Errorf("the memtable log rotated %d times, want several: the test does not cover rotation", lastLog-firstLog)
	}
	if maxVlogs < 2 {
		t.Errorf("at most %d value log file: the test does not cover value log rotation", maxVlogs)
	}
	if !sawDirty {
		t.Errorf("no unsynced write left a dirty page: the check cannot tell synced from not")
	}
}
