// Package store is the storage seam of `dsgen serve`: versioned records,
// tombstones, a per-model change log and a commit feed. The Badger engine in
// this package serves one process; another engine (for several server
// instances) implements the same Store interface.
//
// Items are JSON-shaped maps (string, float64, bool, nil, []any,
// map[string]any) holding the model's stored fields only. The sync metadata
// (_version, _lastChangedAt, _deleted) lives beside the item in Record, never
// inside it.
package store

import (
	"context"
	"time"
)

// Record is one stored item with its sync metadata.
type Record struct {
	Model string
	// Key is the primary key values in key order (partition key, then sort
	// keys), as they appear in Item.
	Key  []any
	Item map[string]any
	// Version is 1 after the create and +1 on every later write.
	Version int64
	// LastChangedAt is the commit time in epoch milliseconds. It never goes
	// backwards for one store, and every write that commits after a
	// Snapshot has LastChangedAt >= that snapshot's StartedAt.
	LastChangedAt int64
	Deleted       bool
}

// Op says what a write did.
type Op uint8

// The kinds of writes.
const (
	OpCreate Op = iota + 1
	OpUpdate
	OpDelete
)

// String returns create, update or delete.
func (o Op) String() string {
	switch o {
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return "unknown"
}

// Change is one committed write, as logged and as published on the feed.
type Change struct {
	Op     Op
	Record Record
	// Seq is the store-wide commit sequence, strictly increasing.
	Seq uint64
}

// MutateFunc decides a write from the current record (nil when the key has
// never been written; a tombstone is passed with Deleted set). It returns the
// new item and the kind of write, or an error that aborts the write and is
// returned unchanged by Mutate. It may run more than once (on a transaction
// conflict; on PostgreSQL also when its group commit is retried or replayed
// one write at a time) and must not have side effects. Returning OpDelete writes a
// tombstone holding item (usually the current item).
type MutateFunc func(cur *Record) (item map[string]any, op Op, err error)

// Page is one page of a base scan or delta read.
type Page struct {
	Records []Record
	// Next resumes the read; nil on the last page.
	Next []byte
}

// Store keeps versioned records. Implementations are safe for concurrent
// use.
type Store interface {
	// Get returns the record (live or tombstone) under key.
	Get(ctx context.Context, model string, key []any) (Record, error)
	// Mutate reads the record under key and writes what fn returns,
	// atomically with the version bump, the change-log entry and the feed
	// publication: concurrent Mutates of one key are serialised and each fn
	// sees the result of the previous one.
	Mutate(ctx context.Context, model string, key []any, fn MutateFunc) (Change, error)
	// StartedAt returns a sync watermark in epoch ms: every write that
	// commits after the call returns has LastChangedAt >= it.
	StartedAt(ctx context.Context) (int64, error)
	// Scan reads the base table of model in key order, tombstones included,
	// from cursor (nil: the start), at most limit records.
	Scan(ctx context.Context, model string, cursor []byte, limit int) (Page, error)
	// Changes reads the change log of model for changes with
	// since <= LastChangedAt < until, in commit order, returning for each
	// key only its latest change before until. cursor nil starts at since.
	Changes(ctx context.Context, model string, since, until int64, cursor []byte, limit int) (Page, error)
	// Feed registers fn to be called with every committed change, in commit
	// order, until ctx ends, once the change is durable. fn must not block
	// (it runs on the commit path).
	Feed(ctx context.Context, fn func(Change))
	// Expire deletes tombstones older than the base TTL and change-log
	// entries older than the delta TTL, and reports how many it removed.
	Expire(ctx context.Context) (int, error)
	// Close releases the store; it waits for operations under way.
	Close() error
	Indexer
}

// Options configure the Badger engine.
type Options struct {
	// Dir is the data directory; empty with InMemory for tests.
	Dir      string
	InMemory bool
	// BaseTTL keeps tombstones (default 30 days); DeltaTTL keeps change-log
	// entries (default 30 minutes).
	BaseTTL  time.Duration
	DeltaTTL time.Duration
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
	// UnsafeNoFsync acknowledges writes before they are synced to disk:
	// faster, but an OS crash or power loss loses writes that clients were
	// told succeeded (a process crash loses nothing). By default every
	// write is on disk before Mutate returns, and concurrent writes share
	// one sync (group commit).
	UnsafeNoFsync bool
	// ExpiryInterval is the period of the background Expire: 0 means
	// min(DeltaTTL/4, 1 minute); negative disables it (the owner calls
	// Expire).
	ExpiryInterval time.Duration
}
