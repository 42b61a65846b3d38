package migrator

import (
	"fmt"
	"strings"

	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
)

// The migrator's errors reach users as package datastore's: an *Error
// (datastore.MigrationError) reads "datastore: migrate 0002: Post.rating:
// record \"p1\": ...", with the prefix once (engine.Once); an error of a
// phase reads "migrate: catalog: ...", and datastore puts its prefix in
// front.

// Error reports a migration that could not move a record or a mutation.
// Everything committed before it stays; the next start resumes at the
// record that failed.
type Error struct {
	// Migration is the number of the migration the step belongs to (0 when
	// the problem is not in one step).
	Migration int
	Model     string
	// Field is the model's field, or, for a value nested in non-model
	// values, its path from the model's field ("address.geo.lat",
	// "previous[1].geo.lat").
	Field string
	// Record describes the record or outbox entry, when there is one.
	Record string
	Err    error
}

// Error returns a message naming the migration, model, field and record.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("migrate")
	if e.Migration > 0 {
		fmt.Fprintf(&b, " %04d", e.Migration)
	}
	if e.Model != "" {
		b.WriteString(": " + e.Model)
		if e.Field != "" {
			b.WriteString("." + e.Field)
		}
	}
	if e.Record != "" {
		b.WriteString(": " + e.Record)
	}
	b.WriteString(": " + e.Err.Error())
	return engine.Once(b.String())
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
