package storage

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync writes f's data (and the metadata needed to read it back) to
// disk, as msync(MS_SYNC) does for Badger's mapped logs: fdatasync.
func datasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

// syncDir writes the directory's entries to disk.
func syncDir(d *os.File) error { return d.Sync() }
