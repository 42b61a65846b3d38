package storage

import (
	"errors"
	"fmt"
	"path/filepath"
)

// ErrCorrupt is wrapped by every *CorruptError: Open found a damaged file
// in the store directory and refused to open rather than lose records or
// crash.
var ErrCorrupt = errors.New("store is damaged")

// CorruptError reports a damaged or missing file in a store directory. Open
// returns it (wrapped, so use errors.As), in most cases before Badger
// touches the directory, which then stays as it was found: a copy of it is
// the evidence, and a restored backup replaces it whole.
type CorruptError struct {
	// Dir is the store directory.
	Dir string
	// File is the damaged (or missing) file's name inside Dir, such as
	// "MANIFEST", "000012.sst", "00004.mem" or "000001.vlog".
	File string
	// Reason says what is wrong with it.
	Reason string

	// afterOpen is set when the damage was found after Badger opened the
	// store (verifyValues), which by then had created files of its own.
	afterOpen bool
}

// Error names the file, says what is wrong and what can be done.
func (e *CorruptError) Error() string {
	changed := "nothing was changed"
	if e.afterOpen {
		changed = "no record was changed"
	}
	return fmt.Sprintf("storage: %s: %s: %s; the store was not opened and %s: "+
		"restore the directory from a backup (a local store that syncs with a backend can instead "+
		"be moved aside and synced again, losing the changes it had not sent)",
		e.Path(), ErrCorrupt, e.Reason, changed)
}

// Unwrap returns ErrCorrupt.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// Path is the damaged file's path.
func (e *CorruptError) Path() string { return filepath.Join(e.Dir, e.File) }
