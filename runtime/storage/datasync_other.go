//go:build !linux

package storage

import "os"

// datasync writes f's data to disk (fsync: no portable fdatasync).
func datasync(f *os.File) error { return f.Sync() }

// syncDir writes the directory's entries to disk where the system can
// (Windows cannot sync a directory handle: its error is ignored).
func syncDir(d *os.File) error {
	_ = d.Sync()
	return nil
}
