package datastore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dsgen/dsgen/runtime/datastore/internal/migrator"
)

// Schema migrations run in Start, before anything else touches the store;
// internal/migrator carries them out (its package comment describes the
// phases). This file is their user-facing surface.

// ErrStoreNewer is returned (wrapped) by Start when the store was migrated
// by generated code with more migrations than the code opening it: an older
// build of the app opening a newer store. Records written under the newer
// schema cannot be read safely, so the store is refused, untouched.
var ErrStoreNewer = errors.New("store was migrated by newer generated code")

// MigrationError reports a migration that could not move a record or a
// mutation. Everything committed before it stays; the next start resumes
// at the record that failed.
type MigrationError struct {
	// Migration is the number of the migration the step belongs to (0 when
	// the problem is not in one step).
	Migration int
	Model     string
	Field     string
	// Record describes the record or outbox entry, when there is one.
	Record string
	Err    error
}

// Error returns a message naming the migration, model, field and record.
func (e *MigrationError) Error() string {
	var b strings.Builder
	b.WriteString("datastore: migrate")
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
	return b.String()
}

// Unwrap returns the underlying error.
func (e *MigrationError) Unwrap() error { return e.Err }

// MigrationProgress reports a migration under way (see OnMigrate): the
// migration numbers the store goes from and to, the phase ("catalog",
// "records", "outbox" or "done"), the model and the records done, whether
// the start resumed an unfinished migration, and, at "done", the mutations
// rewritten, dropped and dead-lettered and the models cleared for a full
// re-sync.
type MigrationProgress = migrator.Progress

// OnMigrate calls fn as a migration makes progress: after each committed
// batch and once when it is done. fn runs on the goroutine starting the
// store and should return quickly.
func OnMigrate(fn func(MigrationProgress)) Option {
	return func(c *config) { c.onMigrate = fn }
}

// migrate runs the pending migration st (see migrator.Run) on the store.
func (s *Store) migrate(st *migrator.State) error {
	err := migrator.Run(migrator.Config{
		DB: s.db, Engine: s.eng, Schema: s.schema, Now: s.cfg.now,
		Report: s.cfg.onMigrate,
		Loaded: func() { s.catalog = true },
	}, st)
	var me *migrator.Error
	if errors.As(err, &me) {
		return &MigrationError{Migration: me.Migration, Model: me.Model, Field: me.Field, Record: me.Record, Err: me.Err}
	}
	if err != nil {
		return fmt.Errorf("datastore: %w", err)
	}
	return nil
}
