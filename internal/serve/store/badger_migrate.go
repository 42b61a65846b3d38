package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dsgen/dsgen/runtime/storage"
)

// schemaMarkKey holds the Badger engine's SchemaMark as JSON. Its
// namespace byte is used by nothing else.
var schemaMarkKey = []byte{'v'}

// SchemaMark returns the recorded mark; ok is false when none was.
func (s *Badger) SchemaMark(ctx context.Context) (SchemaMark, bool, error) {
	if err := s.begin(ctx); err != nil {
		return SchemaMark{}, false, err
	}
	defer s.ops.Done()
	var m SchemaMark
	err := s.db.View(func(txn storage.Txn) error {
		return txn.Value(schemaMarkKey, func(v []byte) error { return json.Unmarshal(v, &m) })
	})
	if errors.Is(err, storage.ErrNotFound) {
		return SchemaMark{}, false, nil
	}
	if err != nil {
		return SchemaMark{}, false, fmt.Errorf("store: read the schema mark: %w", err)
	}
	return m, true, nil
}

// SetSchemaMark records m.
func (s *Badger) SetSchemaMark(ctx context.Context, m SchemaMark) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.ops.Done()
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: write the schema mark: %w", err)
	}
	if err := s.db.Update(func(txn storage.Txn) error { return txn.Set(schemaMarkKey, b) }); err != nil {
		return fmt.Errorf("store: write the schema mark: %w", err)
	}
	return nil
}

// LockMigration returns at once: the data directory's lock already keeps
// other processes out.
func (s *Badger) LockMigration(context.Context) (func(), error) { return func() {}, nil }

// RewriteBatch runs one batch of rw in one Badger transaction (synced)
// with its mark. A batch also stops early at a quarter of Badger's
// transaction size, so large items cannot make it too big.
func (s *Badger) RewriteBatch(ctx context.Context, rw Rewrite) (next []byte, done bool, err error) {
	if err := checkRewrite(rw); err != nil {
		return nil, false, err
	}
	if err := s.begin(ctx); err != nil {
		return nil, false, err
	}
	defer s.ops.Done()
	if !rw.Log && rw.Cursor == nil {
		if err := s.forgetIndexes(ctx, rw.Model, rw.To); err != nil {
			return nil, false, fmt.Errorf("store: rewrite %s: %w", rw.Model, err)
		}
	}
	// The background expiry may remove a tombstone or log entry this
	// batch read: Badger then reports a conflict, and the batch reruns.
	err = storage.RetryConflicts(ctx, func() error {
		txn := s.db.NewTxn(true)
		defer txn.Discard()
		var err error
		if rw.Log {
			next, done, err = s.rewriteLog(txn, rw)
		} else {
			next, done, err = s.rewriteRecords(txn, rw)
		}
		if err != nil {
			return err
		}
		b, err := json.Marshal(rw.Mark(next, done))
		if err != nil {
			return err
		}
		if err := txn.Set(schemaMarkKey, b); err != nil {
			return err
		}
		return txn.Commit()
	})
	// The batch wrote Badger outside the committer: decisions from now on
	// must read a snapshot that has it.
	s.mu.Lock()
	s.dropReadView()
	s.mu.Unlock()
	if err != nil {
		return nil, false, fmt.Errorf("store: migrate %s: %w", rw.Model, err)
	}
	return next, done, nil
}

// readBatch copies up to limit entries under prefix after cursor (nil:
// from the start), stopping early past maxBytes; more reports whether
// entries follow.
func readBatch(txn storage.Txn, prefix, cursor []byte, limit int, maxBytes int64) (out []kv, more bool, err error) {
	start := prefix
	if cursor != nil {
		if !bytes.HasPrefix(cursor, prefix) {
			return nil, false, fmt.Errorf("%w: migration cursor outside the pass", ErrBadCursor)
		}
		start = append(bytes.Clone(cursor), 0)
	}
	it := txn.Iterate(storage.IterOptions{Prefix: prefix})
	defer it.Close()
	var size int64
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		if len(out) == limit || size > maxBytes {
			return out, true, nil
		}
		v, err := it.ValueCopy(nil)
		if err != nil {
			return nil, false, err
		}
		out = append(out, kv{it.KeyCopy(nil), v})
		size += int64(len(v)) * 2
	}
	return out, false, nil
}

// rewriteRecords is one batch of a pass over rw.Model's base table.
func (s *Badger) rewriteRecords(txn storage.Txn, rw Rewrite) ([]byte, bool, error) {
	prefix := modelPrefix(nsRecord, rw.Model)
	rows, more, err := readBatch(txn, prefix, rw.Cursor, rw.Limit, s.maxSize/4)
	if err != nil {
		return nil, false, err
	}
	var next []byte
	for _, e := range rows {
		next = e.key
		r, err := decodeRow(e.val)
		if err != nil {
			return nil, false, fmt.Errorf("record %x: %w", e.key, err)
		}
		if rw.To == "" {
			if err := txn.Delete(e.key); err != nil {
				return nil, false, err
			}
			if r.deleted && r.expireAt != 0 {
				if err := txn.Delete(expiryTombstoneKey(r.expireAt, e.key)); err != nil {
					return nil, false, err
				}
			}
			continue
		}
		pk, key, item, err := rw.rewritten(r.key, r.item)
		if err != nil {
			return nil, false, err
		}
		oldKey := r.key
		r.key, r.item = key, item
		nk := recordKey(rw.To, pk)
		if !bytes.Equal(nk, e.key) {
			if rw.To == rw.Model {
				return nil, false, fmt.Errorf("%s %s: a rewrite in place changed the key to %s", rw.Model, oldKey, key)
			}
			if _, err := txn.Get(nk); err == nil {
				return nil, false, fmt.Errorf("%w: %s %s", ErrKeyTaken, rw.To, key)
			} else if !errors.Is(err, storage.ErrNotFound) {
				return nil, false, err
			}
			if err := txn.Delete(e.key); err != nil {
				return nil, false, err
			}
			if r.deleted && r.expireAt != 0 {
				if err := txn.Delete(expiryTombstoneKey(r.expireAt, e.key)); err != nil {
					return nil, false, err
				}
				if err := txn.Set(expiryTombstoneKey(r.expireAt, nk), nil); err != nil {
					return nil, false, err
				}
			}
		}
		if err := txn.Set(nk, r.encode()); err != nil {
			return nil, false, err
		}
	}
	return next, !more, nil
}

// rewriteLog is one batch of a pass over rw.Model's change log. A moved
// entry expires by its commit time like any other; an expiry entry an
// earlier version wrote for the old key is left to expire, deleting keys
// already gone.
func (s *Badger) rewriteLog(txn storage.Txn, rw Rewrite) ([]byte, bool, error) {
	prefix := modelPrefix(nsLog, rw.Model)
	rows, more, err := readBatch(txn, prefix, rw.Cursor, rw.Limit, s.maxSize/4)
	if err != nil {
		return nil, false, err
	}
	var next []byte
	for _, e := range rows {
		next = e.key
		if len(e.key) < len(prefix)+16 {
			return nil, false, fmt.Errorf("%w: short log key", errCorruptRow)
		}
		lca := readI64(e.key[len(prefix):])
		seq := binary.BigEndian.Uint64(e.key[len(prefix)+8:])
		oldPK := e.key[len(prefix)+16:]
		r, err := decodeRow(e.val)
		if err != nil {
			return nil, false, fmt.Errorf("log entry %d: %w", seq, err)
		}
		oldKK := keyLogKey(rw.Model, oldPK, lca, seq)
		if rw.To == "" {
			if err := errors.Join(txn.Delete(e.key), txn.Delete(oldKK)); err != nil {
				return nil, false, err
			}
			continue
		}
		pk, key, item, err := rw.rewritten(r.key, r.item)
		if err != nil {
			return nil, false, err
		}
		r.key, r.item = key, item
		lk := logKey(rw.To, lca, seq, pk)
		if !bytes.Equal(lk, e.key) {
			kk := keyLogKey(rw.To, pk, lca, seq)
			err := errors.Join(txn.Delete(e.key), txn.Delete(oldKK), txn.Set(kk, nil))
			if err != nil {
				return nil, false, err
			}
		}
		if err := txn.Set(lk, r.encode()); err != nil {
			return nil, false, err
		}
	}
	return next, !more, nil
}
