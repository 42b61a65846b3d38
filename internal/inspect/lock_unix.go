//go:build unix

package inspect

import (
	"errors"
	"os"
	"syscall"
)

// lockHeld reports whether a process holds the exclusive flock Badger
// takes on the directory itself for writing (dir_unix.go; DIR/LOCK only
// holds the writer's pid): a shared lock cannot be had then.
func lockHeld(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}
