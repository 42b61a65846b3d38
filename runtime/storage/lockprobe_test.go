package storage

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestOpenLockedWhileWriting opens a directory another process holds while
// that process writes without pause: every open must fail with ErrLocked.
// The file check before Badger's own lock reads the writer's memtable log
// and, without the lock probed first, meets its last entry half written
// and calls the store damaged.
func TestOpenLockedWhileWriting(t *testing.T) {
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no processes")
	}
	dir := t.TempDir()
	db := openT(t, dir, Options{})
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			err := db.Update(func(txn Txn) error { return txn.Set([]byte(fmt.Sprintf("k%06d", i)), []byte(strings.Repeat("v", 200))) })
			if err != nil {
				done <- err
				return
			}
		}
	}()
	defer func() {
		close(stop)
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
	}()
	for i := range 20 {
		mode := []string{"rw", "ro"}[i%2]
		out, _, err := runChild(t, "open", dir, mode, hangGuard)
		if err != nil || !strings.Contains(out, "RESULT locked") {
			t.Fatalf("open %d (%s) of a directory held by a writer: %v\n%s", i, mode, err, out)
		}
	}
}
