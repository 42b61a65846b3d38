package storage

import (
	"context"
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// MaxConflictRetries bounds how often RetryConflicts (and DB.Update) run a
// transaction again after ErrConflict.
const MaxConflictRetries = 64

// mapErr turns Badger's sentinel errors into this package's. Badger
// returns them as they are, so the common nil case costs one comparison.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return ErrNotFound
	case errors.Is(err, badger.ErrConflict):
		return ErrConflict
	case errors.Is(err, badger.ErrTxnTooBig):
		return ErrTxnTooBig
	}
	return err
}

// Txn is a transaction: it reads a consistent snapshot of the store and its
// own writes, and its writes become visible together at Commit. A Txn is a
// small handle, passed by value; it is not safe for concurrent use. Every
// Txn from NewTxn must be ended with Discard (after Commit too).
type Txn struct {
	t    *badger.Txn
	lean *leanTxn // LeanSync's state, for a read-write transaction
}

// leanTxn is what a read-write transaction of a LeanSync store needs to
// sync its commit.
type leanTxn struct {
	db     *DB
	maxVal int // the largest value Set
}

// NewTxn starts a transaction; update allows writes.
func (db *DB) NewTxn(update bool) Txn {
	if !db.lean {
		return Txn{t: db.bdb.NewTransaction(update)}
	}
	// The snapshot is taken between commits, never of a commit not yet
	// synced (see Commit).
	db.visible.RLock()
	t := Txn{t: db.bdb.NewTransaction(update)}
	db.visible.RUnlock()
	if update {
		t.lean = &leanTxn{db: db}
	}
	return t
}

// Get returns a copy of the value under key, or ErrNotFound.
func (t Txn) Get(key []byte) ([]byte, error) {
	item, err := t.t.Get(key)
	if err != nil {
		return nil, mapErr(err)
	}
	return item.ValueCopy(nil)
}

// Value calls fn with the value under key, or returns ErrNotFound. The
// value is only valid during fn: it may point into the store's buffers.
func (t Txn) Value(key []byte, fn func(value []byte) error) error {
	item, err := t.t.Get(key)
	if err != nil {
		return mapErr(err)
	}
	return item.Value(fn)
}

// Set writes value under key. It fails with ErrTxnTooBig when the
// transaction is full.
func (t Txn) Set(key, value []byte) error {
	if t.lean != nil {
		t.lean.maxVal = max(t.lean.maxVal, len(value))
	}
	return mapErr(t.t.Set(key, value))
}

// Delete deletes key. It fails with ErrTxnTooBig when the transaction is
// full.
func (t Txn) Delete(key []byte) error { return mapErr(t.t.Delete(key)) }

// Commit makes the transaction's writes visible, or fails with ErrConflict
// when a concurrent transaction wrote what this one read. With SyncWrites
// it returns once they are on disk.
func (t Txn) Commit() error {
	if t.lean == nil {
		return mapErr(t.t.Commit())
	}
	// Badger makes the writes visible when its commit returns, before the
	// sync: new transactions wait (NewTxn) until the sync is done, as
	// they wait for Badger's own sync within its commit.
	db := t.lean.db
	db.visible.Lock()
	defer db.visible.Unlock()
	if err := t.t.Commit(); err != nil {
		return mapErr(err)
	}
	return db.syncCommitted(t.lean.maxVal)
}

// Discard ends the transaction, dropping writes not committed. It may be
// called after Commit, and more than once.
func (t Txn) Discard() { t.t.Discard() }

// IterOptions selects the keys an Iterator walks.
type IterOptions struct {
	// Prefix limits the walk to keys with this prefix (Valid turns false
	// past them) and lets the store skip tables that hold none.
	Prefix []byte
	// Reverse walks keys in descending order; Seek then finds the largest
	// key at or below its argument.
	Reverse bool
	// Prefetch is how many values to read ahead of the walk; 0 reads each
	// value when asked for, which is best when records are small or only
	// keys are needed.
	Prefetch int
}

// Iterator walks the keys of a transaction in order. A read-write
// transaction allows one open iterator at a time. Close it when done.
type Iterator struct{ it *badger.Iterator }

// Iterate returns an iterator over t's keys; call Rewind or Seek to
// position it.
func (t Txn) Iterate(o IterOptions) Iterator {
	return Iterator{t.t.NewIterator(badger.IteratorOptions{
		Prefix:         o.Prefix,
		Reverse:        o.Reverse,
		PrefetchValues: o.Prefetch > 0,
		PrefetchSize:   o.Prefetch,
	})}
}

// Rewind moves to the first key (the last, in reverse).
func (it Iterator) Rewind() { it.it.Rewind() }

// Seek moves to the first key >= key (in reverse: the last key <= key).
func (it Iterator) Seek(key []byte) { it.it.Seek(key) }

// Valid reports whether the iterator is at a key (with the prefix, if
// one was given).
func (it Iterator) Valid() bool { return it.it.Valid() }

// ValidForPrefix reports whether the iterator is at a key that starts with
// prefix.
func (it Iterator) ValidForPrefix(prefix []byte) bool { return it.it.ValidForPrefix(prefix) }

// Next moves to the next key.
func (it Iterator) Next() { it.it.Next() }

// Key returns the current key, valid until Next.
func (it Iterator) Key() []byte { return it.it.Item().Key() }

// KeyCopy returns a copy of the current key, in dst if it is large enough.
func (it Iterator) KeyCopy(dst []byte) []byte { return it.it.Item().KeyCopy(dst) }

// Value calls fn with the current value, valid only during fn.
func (it Iterator) Value(fn func(value []byte) error) error { return it.it.Item().Value(fn) }

// ValueCopy returns a copy of the current value, in dst if it is large
// enough.
func (it Iterator) ValueCopy(dst []byte) ([]byte, error) { return it.it.Item().ValueCopy(dst) }

// Close releases the iterator.
func (it Iterator) Close() { it.it.Close() }

// View runs fn in a read-only transaction.
func (db *DB) View(fn func(Txn) error) error {
	t := db.NewTxn(false)
	defer t.Discard()
	return fn(t)
}

// Update runs fn in a read-write transaction and commits it when fn
// succeeds. On ErrConflict it runs fn again on a fresh transaction (see
// RetryConflicts), so fn must have no effects outside the transaction that
// cannot be repeated.
func (db *DB) Update(fn func(Txn) error) error {
	return RetryConflicts(context.Background(), func() error {
		t := db.NewTxn(true)
		defer t.Discard()
		if err := fn(t); err != nil {
			return err
		}
		return t.Commit()
	})
}

// RetryConflicts is the store's retry-on-conflict policy: it calls attempt
// (which runs and commits one transaction) until it returns anything but
// ErrConflict, at most 1+MaxConflictRetries times, and stops early when
// ctx is done.
func RetryConflicts(ctx context.Context, attempt func() error) error {
	for n := 0; ; n++ {
		err := attempt()
		if !errors.Is(err, ErrConflict) || n == MaxConflictRetries {
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
	}
}

// DropPrefix deletes every key under each of prefixes. It blocks writes
// while it runs; it is meant for dropping whole tables.
func (db *DB) DropPrefix(prefixes ...[]byte) error { return db.bdb.DropPrefix(prefixes...) }

// TxnLimits returns how many writes, and how many bytes of keys, values
// and per-entry overhead, one transaction can commit.
func (db *DB) TxnLimits() (count, size int64) { return db.bdb.MaxBatchCount(), db.bdb.MaxBatchSize() }

// Size reports the bytes on disk of the LSM tree and of the value log, as
// Badger last measured them (at open and every minute after); both are 0
// in memory.
func (db *DB) Size() (lsm, vlog int64) { return db.bdb.Size() }

// WriteBatch writes many keys in as many transactions as they need,
// without conflict checks. It is not atomic: a crash may leave part of it
// written. Meant for bulk loads that can be redone.
type WriteBatch struct{ wb *badger.WriteBatch }

// NewWriteBatch starts a write batch; end it with Flush or Cancel.
func (db *DB) NewWriteBatch() *WriteBatch { return &WriteBatch{db.bdb.NewWriteBatch()} }

// Set queues a write of value under key.
func (b *WriteBatch) Set(key, value []byte) error { return mapErr(b.wb.Set(key, value)) }

// Flush writes what is queued and ends the batch.
func (b *WriteBatch) Flush() error { return mapErr(b.wb.Flush()) }

// Cancel ends the batch, dropping what has not been written yet.
func (b *WriteBatch) Cancel() { b.wb.Cancel() }
