package datastore

import (
	"errors"
	"fmt"

	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/datastore/internal/migrator"
	"github.com/dsgen/dsgen/runtime/storage"
)

// Every error the package returns reads "datastore: ..." with the prefix
// once: sentinels carry it, and errorf adds it to a message while taking it
// out of the errors the message wraps ("datastore: Post p1: record not
// found"). Errors of the storage layer keep their own "storage: ".

// errorf is fmt.Errorf for the errors of this package (see engine.Errorf).
func errorf(format string, args ...any) error { return engine.Errorf(format, args...) }

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("datastore: store is closed")

// ErrNotFound is returned when a record asked for by key does not exist.
var ErrNotFound = errors.New("datastore: record not found")

// ErrConditionFailed is returned when a write's condition predicate does
// not hold for the stored record.
var ErrConditionFailed = errors.New("datastore: condition failed")

// ErrSchemaChanged is returned by Start when the store holds records written
// with a different stored shape of the schema (fields added, removed,
// reordered or retyped). Migrations that carry data across come with
// `dsgen migrate`; until then open the store with the schema that wrote it,
// or Clear it.
var ErrSchemaChanged = errors.New("datastore: schema changed since the store was written")

// ErrLocked is returned by Open when another process has the store's
// directory open.
var ErrLocked = storage.ErrLocked

// ErrEncryptionKey is returned by Open when the encryption key is wrong or
// missing, or given for a store that is not encrypted.
var ErrEncryptionKey = storage.ErrEncryptionKey

// ErrCorrupt is wrapped by the error Open returns when a file of the store
// is damaged or missing; errors.As finds the *CorruptError naming it.
var ErrCorrupt = storage.ErrCorrupt

// CorruptError names the damaged file of a store Open refused to open.
type CorruptError = storage.CorruptError

// ErrStoreNewer is returned (wrapped) by Start when the store was migrated
// by generated code with more migrations than the code opening it: an older
// build of the app opening a newer store. Records written under the newer
// schema cannot be read safely, so the store is refused, untouched.
var ErrStoreNewer = errors.New("datastore: store was migrated by newer generated code")

// MigrationError reports a migration that could not move a record or a
// mutation: the migration's number (0 when the problem is not in one step),
// the model, field (for a value nested in non-model values, its path, such
// as "previous[0].geo.lat") and record or outbox entry concerned, and the
// error.
// Everything committed before it stays; the next start resumes at the
// record that failed. Start returns it as it is ("datastore: migrate 0002:
// Post.rating: record \"p1\": ..."); use errors.As.
type MigrationError = migrator.Error

// ErrSlowConsumer ends an Observe channel whose reader fell more than the
// ObserveBacklog behind.
var ErrSlowConsumer = errors.New("datastore: observer fell too far behind; changes were dropped")

// ErrPendingMutations is returned by Clear while the outbox holds mutations
// that have not reached the backend (use Force to clear anyway).
var ErrPendingMutations = errors.New("datastore: the outbox holds unsent mutations")

// ErrUnknownField is wrapped by errors about fields a model does not have.
var ErrUnknownField = errors.New("datastore: unknown field")

// ErrInvalidValue is wrapped by errors about values of the wrong type or
// outside their domain.
var ErrInvalidValue = errors.New("datastore: invalid value")

// ValidationError reports a record that cannot be saved. It wraps
// ErrInvalidValue, so errors.Is(err, ErrInvalidValue) holds.
type ValidationError struct {
	Model  string
	Field  string
	Reason string
	// Err is the underlying error, if any (for example a *scalar.ParseError).
	Err error
}

// Error returns "datastore: Model.field: reason".
func (e *ValidationError) Error() string {
	msg := fmt.Sprintf("%s.%s: %s", e.Model, e.Field, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return engine.Once(msg)
}

// Unwrap returns ErrInvalidValue and the underlying error.
func (e *ValidationError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidValue, e.Err}
	}
	return []error{ErrInvalidValue}
}

// RemoteRecordError reports a record from the backend that does not fit
// the local schema.
type RemoteRecordError struct {
	Model string
	Key   []any
	Err   error
}

// Error says which record did not fit and why.
func (e *RemoteRecordError) Error() string {
	return engine.Once(fmt.Sprintf("%s %v from the backend: %v", e.Model, e.Key, e.Err))
}

// Unwrap returns the codec or key error behind the rejection.
func (e *RemoteRecordError) Unwrap() error { return e.Err }

// PartialDeleteError reports a cascade delete or DeleteWhere too large for
// one transaction that failed after some of its transactions committed:
// the Deleted records (children before their parents, so none was left
// without its parent) stay deleted, their outbox entries queued; the rest
// stay. It wraps the error that stopped it, so errors.Is(err,
// ErrConditionFailed) and the like still hold.
type PartialDeleteError struct {
	// Model is the model deleted from.
	Model string
	// Deleted is how many records, children included, were deleted.
	Deleted int
	// Err is the error that stopped the delete.
	Err error
}

// Error says how far the delete got and why it stopped.
func (e *PartialDeleteError) Error() string {
	return engine.Once(fmt.Sprintf("delete %s: stopped after deleting %d records, children first: %v", e.Model, e.Deleted, e.Err))
}

// Unwrap returns the error that stopped the delete.
func (e *PartialDeleteError) Unwrap() error { return e.Err }
