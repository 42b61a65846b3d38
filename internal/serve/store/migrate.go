package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// SchemaMark records which application schema a store's data was written
// by (the lock's schema version and last migration number, see
// internal/migrate), and a data migration under way. `dsgen serve` reads
// it at start to decide whether the stored data must be migrated.
type SchemaMark struct {
	// Version is the schema version (meta.Schema.Version) the data is in.
	Version string `json:"version"`
	// Migration is the number of the last migration applied to the data.
	Migration int `json:"migration"`
	// Progress is a migration under way, opaque to the store; nil when
	// none is.
	Progress json.RawMessage `json:"progress,omitempty"`
}

// RewriteFunc rewrites one record (or change-log image) of a data
// migration: it returns the record's key (nil: unchanged) and item. It
// runs once per record per pass, in the transaction that writes its
// result, so it need not be idempotent; it must have no side effects.
type RewriteFunc func(key []any, item map[string]any) (newKey []any, newItem map[string]any, err error)

// Rewrite is one batch of a pass of a data migration over one model's
// base table or change log. Versions, _lastChangedAt, tombstone and log
// expiry stay as they were: a migration is no write of the application,
// so it produces no change-log entry and no feed event.
type Rewrite struct {
	// Model is the model read.
	Model string
	// To is the model written: Model (rewritten in place), another name
	// (moved: a rename, or a re-key through a temporary name), or ""
	// (deleted).
	To string
	// Log selects the change log instead of the base table.
	Log bool
	// Cursor resumes the pass after the position a previous batch
	// returned; nil starts it.
	Cursor []byte
	// Limit bounds the records of the batch (> 0).
	Limit int
	// Fn rewrites each record; nil keeps it as it is (a move or a delete).
	// A record rewritten in place must keep its key.
	Fn RewriteFunc
	// Mark returns the mark stored with the batch, in its transaction,
	// given the position reached and whether the pass is complete: a
	// crash after the commit resumes after the batch, one before it
	// redoes the batch.
	Mark func(next []byte, done bool) SchemaMark
}

// Migrator is what a store offers a data migration. Both engines
// implement it. Methods other than SchemaMark must not run while the
// store serves writes: `dsgen serve` migrates at start, before it
// listens.
type Migrator interface {
	// SchemaMark returns the recorded mark; ok is false when none was
	// ever recorded (a fresh store, or one written before marks existed).
	SchemaMark(ctx context.Context) (mark SchemaMark, ok bool, err error)
	// SetSchemaMark records mark.
	SetSchemaMark(ctx context.Context, mark SchemaMark) error
	// RewriteBatch runs one batch of rw in one transaction with its mark
	// and returns the position reached and whether the pass is complete.
	RewriteBatch(ctx context.Context, rw Rewrite) (next []byte, done bool, err error)
	// LockMigration waits until no other instance migrates the same data
	// (PostgreSQL: a session advisory lock; Badger: the directory lock
	// already excludes other processes) and returns its release.
	LockMigration(ctx context.Context) (unlock func(), err error)
}

var (
	_ Migrator = (*Badger)(nil)
	_ Migrator = (*Postgres)(nil)
)

// ErrKeyTaken is returned (wrapped, naming the record) when a rewrite
// would put a record under a key another record already holds: two
// records that a re-key or a model rename makes collide.
var ErrKeyTaken = errors.New("store: migrate: another record already has that key")

// checkRewrite checks rw's settings.
func checkRewrite(rw Rewrite) error {
	switch {
	case rw.Model == "":
		return errors.New("store: migrate: no model")
	case rw.Limit <= 0:
		return fmt.Errorf("store: migrate %s: limit %d, want > 0", rw.Model, rw.Limit)
	case rw.Mark == nil:
		return fmt.Errorf("store: migrate %s: no Mark", rw.Model)
	}
	return nil
}

// rewritten applies rw to one stored row's key and item JSON and returns
// the new key's encoding, normalised key JSON and item JSON. Numbers in
// items are kept exactly as stored (json.Number).
func (rw Rewrite) rewritten(keyJSON, itemJSON []byte) (pk, newKey, newItem []byte, err error) {
	var key []any
	if err := json.Unmarshal(keyJSON, &key); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: key: %v", errCorruptRow, err)
	}
	if rw.Fn == nil {
		pk, _, err = encodeKey(rw.To, key)
		return pk, keyJSON, itemJSON, err
	}
	dec := json.NewDecoder(bytes.NewReader(itemJSON))
	dec.UseNumber()
	var item map[string]any
	if err := dec.Decode(&item); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: item: %v", errCorruptRow, err)
	}
	nk, ni, err := rw.Fn(key, item)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s %v: %w", rw.Model, key, err)
	}
	if nk == nil {
		nk = key
	}
	pk, norm, err := encodeKey(rw.To, nk)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s %v: new key: %w", rw.Model, key, err)
	}
	if newKey, err = json.Marshal(norm); err != nil {
		return nil, nil, nil, fmt.Errorf("%s %v: new key: %w", rw.Model, key, err)
	}
	if newItem, err = json.Marshal(ni); err != nil {
		return nil, nil, nil, fmt.Errorf("%s %v: item: %w", rw.Model, key, err)
	}
	return pk, newKey, newItem, nil
}
