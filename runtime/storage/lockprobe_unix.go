//go:build unix

package storage

import (
	"errors"
	"os"
	"syscall"
)

// lockedByOther reports whether another open of dir (another process, or
// another DB of this one) holds the flock Badger takes on the directory
// itself (dir_unix.go in badger v4.9.6): an exclusive one for writing, a
// shared one for reading. It asks for the lock Open will ask for, without
// blocking, and lets it go at once. Open checks this before its file check,
// which reads the logs a writer is appending to and could otherwise meet
// an entry half written and call a store in use damaged.
func lockedByOther(dir string, readOnly bool) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false // a missing directory is created by Open
	}
	defer f.Close()
	how := syscall.LOCK_EX
	if readOnly {
		how = syscall.LOCK_SH
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
