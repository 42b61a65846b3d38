package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/dsgen/dsgen/runtime/storage"
)

// Pinger is implemented by both engines, for health checks.
type Pinger interface {
	// Engine names the engine: "badger" or "postgres".
	Engine() string
	// Ping reports whether the store can serve reads and writes now: an
	// error when it is closed, when a failed commit stopped it (Badger),
	// or when the database does not answer (PostgreSQL).
	Ping(ctx context.Context) error
}

var (
	_ Pinger = (*Badger)(nil)
	_ Pinger = (*Postgres)(nil)
)

// Engine returns "badger".
func (s *Badger) Engine() string { return "badger" }

// Ping fails when the store is closed or refuses writes after a failed
// commit, and otherwise reads the engine state from Badger.
func (s *Badger) Ping(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	defer s.ops.Done()
	s.mu.Lock()
	failed := s.failed
	s.mu.Unlock()
	if failed != nil {
		return fmt.Errorf("store: ping: %w", failed)
	}
	err := s.db.View(func(txn storage.Txn) error {
		_, err := txn.Get(metaKey)
		return err
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Engine returns "postgres".
func (s *Postgres) Engine() string { return "postgres" }

// Ping runs a query that reads the commit clock on a pooled connection:
// it fails when the store is closed, the database does not answer before
// ctx ends, or the tables are gone.
func (s *Postgres) Ping(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	defer s.ops.Done()
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT seq FROM dsgen_clock`).Scan(&seq); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}
