package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/dsgen/dsgen/runtime/storage"
)

// HistoryReader is implemented by engines that can list one record's
// changes from the change log (both engines of this package). The console
// of `dsgen serve` uses it; it is not part of Store so that another engine
// need not offer it.
type HistoryReader interface {
	// History returns the changes of the record under key still in the
	// change log (entries older than the delta TTL are gone), oldest
	// first, at most limit (> 0) of the newest.
	History(ctx context.Context, model string, key []any, limit int) ([]Change, error)
}

var (
	_ HistoryReader = (*Badger)(nil)
	_ HistoryReader = (*Postgres)(nil)
)

// History lists the key's change-log entries through the per-key index.
func (s *Badger) History(ctx context.Context, model string, key []any, limit int) ([]Change, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.ops.Done()
	if limit <= 0 {
		return nil, fmt.Errorf("store: history %s: limit %d, want > 0", model, limit)
	}
	pk, norm, err := encodeKey(model, key)
	if err != nil {
		return nil, err
	}
	txn := s.db.NewTxn(false)
	defer txn.Discard()
	kp := keyLogPrefix(model, pk)
	// Newest first, so the limit keeps the latest changes.
	it := txn.Iterate(storage.IterOptions{Prefix: kp, Reverse: true})
	defer it.Close()
	var out []Change
	for it.Seek(append(bytes.Clone(kp), 0xff)); it.ValidForPrefix(kp) && len(out) < limit; it.Next() {
		k := it.Key()
		if len(k) != len(kp)+16 {
			return nil, fmt.Errorf("store: history %s %v: %w: short index key", model, norm, errCorruptRow)
		}
		lca := readI64(k[len(kp):])
		seq := binary.BigEndian.Uint64(k[len(kp)+8:])
		v, err := txn.Get(logKey(model, lca, seq, pk))
		if errors.Is(err, storage.ErrNotFound) {
			continue // expired between the index and the entry
		}
		if err != nil {
			return nil, fmt.Errorf("store: history %s %v: %w", model, norm, err)
		}
		r, err := decodeRow(v)
		if err != nil {
			return nil, fmt.Errorf("store: history %s %v: %w", model, norm, err)
		}
		rec, err := r.record(model)
		if err != nil {
			return nil, fmt.Errorf("store: history %s %v: %w", model, norm, err)
		}
		out = append(out, Change{Op: r.op, Seq: seq, Record: rec})
	}
	slices.Reverse(out)
	return out, nil
}

// History lists the key's rows of dsgen_log (index (model, pk, seq)).
func (s *Postgres) History(ctx context.Context, model string, key []any, limit int) ([]Change, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.ops.Done()
	if limit <= 0 {
		return nil, fmt.Errorf("store: history %s: limit %d, want > 0", model, limit)
	}
	pk, norm, err := encodeKey(model, key)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, op, key, item, version, lca, deleted FROM dsgen_log
		WHERE model = $1 AND pk = $2 ORDER BY seq DESC LIMIT $3`, model, pk, limit)
	if err != nil {
		return nil, fmt.Errorf("store: history %s %v: %w", model, norm, err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var seq int64
		var op int16
		var k, item []byte
		var version, lca int64
		var deleted bool
		if err := rows.Scan(&seq, &op, &k, &item, &version, &lca, &deleted); err != nil {
			return nil, fmt.Errorf("store: history %s %v: %w", model, norm, err)
		}
		rec, err := pgRecord(model, k, item, version, lca, deleted, nil)
		if err != nil {
			return nil, fmt.Errorf("store: history %s %v: seq %d: %w", model, norm, seq, err)
		}
		out = append(out, Change{Op: Op(op), Seq: uint64(seq), Record: rec})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: history %s %v: %w", model, norm, err)
	}
	slices.Reverse(out)
	return out, nil
}
