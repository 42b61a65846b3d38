package datastore

import (
	"errors"
	"fmt"
)

// ErrNoDirectory is returned by Open when dir is empty and the store is not
// in memory. An empty directory is refused rather than taken to mean "in
// memory": an unset path in an app's configuration would otherwise lose
// every offline change at exit without a word.
var ErrNoDirectory = errors.New("datastore: no directory given")

// checkDir refuses an empty dir unless the store is in memory, where dir
// is not used and may be empty.
func checkDir(dir string, c *config) error {
	if dir == "" && !c.storage.InMemory {
		return fmt.Errorf("datastore: open: %w: pass the directory to keep the store in, or datastore.InMemory() (with dir \"\") for a store without files", ErrNoDirectory)
	}
	return nil
}
