package storage

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/dsgen/dsgen/internal/testenv/pagecache"
)

// TestLeanSync checks LeanSync's promise: once Commit returns, no page of
// any log the commit wrote is left unsynced, across memtable log and value
// log rotations and for values that go to the value log; and that writes
// on the Badger handle, which this package does not sync, leave pages
// dirty (so the check sees what it is meant to).
func TestLeanSync(t *testing.T) {
	dir := pagecache.DurableDir(t)
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
			if pagecache.Dirty(t, dir) > 0 {
				sawDirty = true
			}
		}
		if err := db.Update(func(txn Txn) error { return write(txn, i) }); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		if n := pagecache.Dirty(t, dir); n != 0 {
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
