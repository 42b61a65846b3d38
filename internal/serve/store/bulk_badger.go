package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dsgen/dsgen/runtime/storage"
)

var _ Bulk = (*Badger)(nil)

// importKey holds the import epoch (8 bytes); it sorts beside metaKey.
var importKey = []byte{nsMeta, 'i'}

// Load writes recs of model with their own metadata (see Bulk.Load), under
// the commit mutex and through the group committer, so concurrent Mutates
// see them in order, each with its index entries (see loadIndexes). It
// returns once they are durable.
func (s *Badger) Load(ctx context.Context, model string, recs []Loaded, merge bool) (LoadStats, error) {
	if err := s.begin(ctx); err != nil {
		return LoadStats{}, err
	}
	defer s.ops.Done()
	stats, b, err := s.loadDecide(ctx, model, recs, merge)
	if err == nil && b != nil {
		err = b.wait()
	}
	if err != nil {
		return LoadStats{}, fmt.Errorf("store: load %s: %w", model, err)
	}
	return stats, nil
}

// checkLoaded validates one loaded record and returns its encoded key,
// normalised key and key JSON.
func checkLoaded(model string, r Loaded) (pk []byte, norm []any, keyJSON, itemJSON []byte, err error) {
	if pk, norm, err = encodeKey(model, r.Key); err != nil {
		return nil, nil, nil, nil, err
	}
	if r.Version < 1 {
		return nil, nil, nil, nil, fmt.Errorf("%v: version %d, want >= 1", norm, r.Version)
	}
	if r.Item == nil {
		return nil, nil, nil, nil, fmt.Errorf("%v: nil item", norm)
	}
	if keyJSON, err = marshalJSON(norm); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("%v: key: %w", norm, err)
	}
	if itemJSON, err = marshalJSON(r.Item); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("%v: item: %w", norm, err)
	}
	return pk, norm, keyJSON, itemJSON, nil
}

// loadDecide queues Load's writes under the commit mutex and returns the
// last batch they went into (nil when nothing was written).
func (s *Badger) loadDecide(ctx context.Context, model string, recs []Loaded, merge bool) (LoadStats, *batch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return LoadStats{}, nil, err
	}
	if s.failed != nil {
		return LoadStats{}, nil, s.failed
	}
	ixs, err := s.loadIndexes(model)
	if err != nil {
		return LoadStats{}, nil, fmt.Errorf("indexes: %w", err)
	}
	var stats LoadStats
	var last *batch
	for _, r := range recs {
		pk, norm, keyJSON, itemJSON, err := checkLoaded(model, r)
		if err != nil {
			return stats, last, err
		}
		rk := recordKey(model, pk)
		cur, found, err := s.currentRow(rk)
		if err != nil {
			return stats, last, fmt.Errorf("%v: read: %w", norm, err)
		}
		if found && !merge {
			return stats, last, fmt.Errorf("%v: %w", norm, ErrExists)
		}
		if found && cur.version >= r.Version {
			stats.Kept++
			continue
		}
		row := row{op: loadOp(r), deleted: r.Deleted, version: r.Version, lca: r.LastChangedAt,
			expireAt: loadExpiry(r, s.baseTTL), key: keyJSON, item: itemJSON}
		val := row.encode()
		writes := make([]wop, 0, 3+2*len(ixs))
		if found && cur.deleted && cur.expireAt != 0 {
			writes = append(writes, wop{key: expiryTombstoneKey(cur.expireAt, rk), del: true})
		}
		writes = append(writes, wop{key: rk, val: val})
		if row.deleted {
			writes = append(writes, wop{key: expiryTombstoneKey(row.expireAt, rk)})
		}
		if len(ixs) > 0 {
			var old map[string]any
			if found {
				if err := json.Unmarshal(cur.item, &old); err != nil {
					return stats, last, fmt.Errorf("%v: stored item: %w: %v", norm, errCorruptRow, err)
				}
			}
			writes = append(writes, entryWrites(ixs, model, pk, old, r.Item)...)
		}
		b, err := s.enqueue(writes, nil)
		if err != nil {
			return stats, last, fmt.Errorf("%v: %w", norm, err)
		}
		s.setPending(b, rk, val)
		last = b
		stats.Written++
	}
	return stats, last, nil
}

// MarkImport sets the import epoch (see Bulk.MarkImport) and returns once
// it is durable.
func (s *Badger) MarkImport(ctx context.Context, after, notBefore int64) (int64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	defer s.ops.Done()
	epoch, b, err := s.markImport(after, notBefore)
	if err == nil {
		err = b.wait()
	}
	if err != nil {
		return 0, fmt.Errorf("store: mark import: %w", err)
	}
	return epoch, nil
}

func (s *Badger) markImport(after, notBefore int64) (int64, *batch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return 0, nil, s.failed
	}
	// +1: a watermark handed out before this call may equal the max, and
	// it must be before the epoch.
	s.floor = max(s.now().UnixMilli(), s.last, s.floor, after) + 1
	s.reserved = max(s.reserved, s.floor+floorReserve)
	epoch := max(s.floor, notBefore)
	b, err := s.enqueue([]wop{{key: importKey, val: appendI64(nil, epoch)}}, nil)
	if err != nil {
		return 0, nil, err
	}
	b.setMeta(s.seq, s.last, s.reserved)
	return epoch, b, nil
}

// ImportEpoch returns the epoch of the last import (0: none).
func (s *Badger) ImportEpoch(ctx context.Context) (int64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	defer s.ops.Done()
	var epoch int64
	err := s.db.View(func(txn storage.Txn) error {
		v, err := txn.Get(importKey)
		if err != nil {
			return err
		}
		if len(v) != 8 {
			return fmt.Errorf("%w: import epoch is %d bytes, want 8", errCorruptRow, len(v))
		}
		epoch = readI64(v)
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: import epoch: %w", err)
	}
	return epoch, nil
}

// Dump reads model's records in key order with their tombstone expiry;
// cursors are Scan's.
func (s *Badger) Dump(ctx context.Context, model string, cursor []byte, limit int) (DumpPage, error) {
	var page DumpPage
	next, err := s.readRecords(ctx, "dump", model, cursor, limit, func(rec Record, expireAt int64) {
		page.Records = append(page.Records, Loaded{Record: rec, ExpireAt: expireAt})
	})
	page.Next = next
	return page, err
}

// readRecords is Scan and Dump (op names which in errors): it hands add
// model's records in key order after cursor, at most limit of them, with
// their tombstone expiry, and returns the cursor of the next page (nil
// when none follows).
func (s *Badger) readRecords(ctx context.Context, op, model string, cursor []byte, limit int, add func(rec Record, expireAt int64)) (next []byte, _ error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.ops.Done()
	if limit <= 0 {
		return nil, fmt.Errorf("store: %s %s: limit %d, want > 0", op, model, limit)
	}
	prefix := modelPrefix(nsRecord, model)
	start := prefix
	if cursor != nil {
		k, err := scanCursor(model, cursor)
		if err != nil {
			return nil, err
		}
		start = append(bytes.Clone(k), 0)
	}
	txn := s.db.NewTxn(false)
	defer txn.Discard()
	it := txn.Iterate(storage.IterOptions{Prefix: prefix})
	defer it.Close()
	var last []byte
	n := 0
	items := newItemReader()
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		if n == limit {
			return sealCursor(cursorScan, last), nil
		}
		var rec Record
		var expireAt int64
		err := it.Value(func(v []byte) error {
			r, err := decodeRow(v)
			if err != nil {
				return err
			}
			rec, err = r.recordWith(model, items)
			if r.deleted {
				expireAt = r.expireAt
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("store: %s %s: %w", op, model, err)
		}
		add(rec, expireAt)
		n++
		last = it.KeyCopy(last)
	}
	return nil, nil
}
