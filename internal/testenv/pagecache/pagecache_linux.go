// Package pagecache is Linux test support for durability checks: how many
// pages of Badger's logs the kernel still holds unwritten. It imports no
// module package, so any package's own tests can use it.
package pagecache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// DirtyLogPages returns how many pages of dir's write-ahead and value logs
// (Badger's *.mem and *.vlog files) the kernel holds dirty or under
// writeback, that is not yet on disk, as the cachestat system call (Linux
// 6.5+) reports them. Badger writes its logs through mmap, and a page
// written through a mapping stays dirty in the page cache until it is
// synced. It is safe to call from any goroutine; on an older kernel the
// error wraps unix.ENOSYS.
func DirtyLogPages(dir string) (uint64, error) {
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
			continue // a memtable flushed (or a vlog collected) and its log removed meanwhile
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

// Dirty is DirtyLogPages for the test's own goroutine: it skips t on a
// kernel without cachestat and fails it on any other error.
func Dirty(t testing.TB, dir string) uint64 {
	t.Helper()
	n, err := DirtyLogPages(dir)
	if errors.Is(err, unix.ENOSYS) {
		t.Skip("cachestat(2) needs Linux 6.5 or later")
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// DurableDir returns a temporary directory on a file system that keeps
// data in the page cache until written back, and skips t where TMPDIR is
// tmpfs or ramfs (their pages are never written back, so "dirty" would
// mean nothing there).
func DurableDir(t testing.TB) string {
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
