package datastore

import (
	"errors"

	"github.com/dsgen/dsgen/runtime/datastore/internal/migrator"
)

// Schema migrations run in Start, before anything else touches the store;
// internal/migrator carries them out (its package comment describes the
// phases). This file is their user-facing surface.

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
	var me *MigrationError
	if errors.As(err, &me) {
		return me // its message carries the prefix
	}
	if err != nil {
		return errorf("%w", err)
	}
	return nil
}
