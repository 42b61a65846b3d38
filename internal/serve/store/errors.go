package store

import "errors"

// Every error message of the package starts with "store: ", once. The
// operations prefix what they return ("store: get Post [p1]: ..."), so the
// sentinels they always wrap (ErrNotFound, ErrSchemaTooNew, errCorruptRow)
// carry no prefix of their own; the ones returned as they are, or with
// detail after them (ErrClosed, ErrBadCursor, ErrInvalidKey), carry it.

// Errors callers branch on.
var (
	// ErrNotFound: no record (not even a tombstone) under that key. Get
	// returns it wrapped: "store: get Post [p1]: record not found".
	ErrNotFound = errors.New("record not found")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("store: closed")
	// ErrBadCursor: a cursor was not produced by this store for this model
	// and kind of read.
	ErrBadCursor = errors.New("store: invalid cursor")
)

// ErrInvalidKey is returned (wrapped, with the model and the offending
// value) for a primary key the engine cannot store: empty, or holding a
// value that is not a string, a finite number exactly representable as a
// float64, or a bool.
var ErrInvalidKey = errors.New("store: invalid primary key")

// errCorruptRow marks a stored row (or engine state) the store cannot
// read; it is always wrapped by the operation that read it.
var errCorruptRow = errors.New("corrupt stored row")

// ErrSchemaTooNew is returned (wrapped) by OpenPostgres when the database
// holds tables of a newer dsgen.
var ErrSchemaTooNew = errors.New("the database was written by a newer dsgen")

// errBusy tells one instance's expiry that another instance is expiring;
// it never leaves the package.
var errBusy = errors.New("another instance is expiring")
