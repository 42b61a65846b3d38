package storage

import (
	"errors"
	"fmt"
	"path/filepath"
)

// Every error message of the package starts with "storage: ", once. The
// errors Open returns read "storage: open DIR: ..." and wrap the sentinels
// of Open (ErrLocked, ErrEncryptionKey, ErrInvalidOptions, ErrCorrupt), so
// those carry no prefix of their own; the sentinels returned as they are
// (ErrNotFound, ErrConflict, ErrTxnTooBig) and *CorruptError carry it.

// ErrNotFound is returned by Txn.Get and Txn.Value for a key that holds no
// value.
var ErrNotFound = errors.New("storage: key not found")

// ErrConflict is returned by Txn.Commit when a transaction committed since
// this one started wrote a key this one read. Running the transaction
// again on fresh data usually succeeds: DB.Update and RetryConflicts do.
var ErrConflict = errors.New("storage: transaction conflict")

// ErrTxnTooBig is returned by Txn.Set and Txn.Delete when the transaction
// holds more writes than one commit can take (see DB.TxnLimits): commit and
// continue in a new transaction, or use a WriteBatch.
var ErrTxnTooBig = errors.New("storage: transaction too big")

// ErrLocked is returned by Open when another process (or another open DB in
// this process) holds the directory.
var ErrLocked = errors.New("store directory is locked by another process")

// ErrEncryptionKey is returned by Open when the key does not fit the store:
// a wrong key, no key for an encrypted store, or a key for an unencrypted
// store. The error's message says which.
var ErrEncryptionKey = errors.New("encryption key does not match the store")

// ErrInvalidOptions is returned by Open for options it cannot use: an empty
// directory without InMemory, a key that is not 16, 24 or 32 bytes, an
// unknown preset, or InMemory together with ReadOnly.
var ErrInvalidOptions = errors.New("invalid storage options")

// errBadgerPanic marks a panic inside badger.Open, turned into an error.
var errBadgerPanic = errors.New("badger panicked while opening the store")

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
