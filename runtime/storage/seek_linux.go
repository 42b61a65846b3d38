package storage

import (
	"errors"
	"os"
	"syscall"
)

// nextData returns the offset of the first byte at or after off that is
// not in a hole (SEEK_DATA), or a value past the end when there is none.
func nextData(f *os.File, off int64) (int64, error) {
	const seekData = 3
	n, err := f.Seek(off, seekData)
	if errors.Is(err, syscall.ENXIO) {
		return 1<<63 - 1, nil
	}
	if errors.Is(err, syscall.EINVAL) {
		return off, nil // the file system does not know holes
	}
	return n, err
}
