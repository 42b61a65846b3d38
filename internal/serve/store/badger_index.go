package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dsgen/dsgen/runtime/storage"
)

// Secondary indexes on Badger. Beside the layout in codec.go:
//
//	'i' <model> <index id> <index field components> <pk>   index entry: empty
//	'x' <model> <index id>                                 catalog: the index (JSON), once built
//
// The index id is the index's name and fields (Index.id), so entries of
// an index whose fields changed are never read as the new index's. An
// entry holds the index fields then the primary key, so one partition's
// entries are contiguous, sorted by sort key then primary key, and a page
// resumes after the last entry key it returned (keyset pagination). Every
// write replaces its record's entries in the same group commit as the
// record; the expiry removes a tombstone's entries with it.
const (
	nsIndex   = 'i'
	nsIndexes = 'x'
)

// backfillChunk is how many records one backfill step indexes under the
// commit mutex.
const backfillChunk = 256

func indexPrefix(model string, ix Index) []byte {
	return storage.AppendString(modelPrefix(nsIndex, model), ix.id())
}

func indexCatalogKey(model string, ix Index) []byte {
	return storage.AppendString(modelPrefix(nsIndexes, model), ix.id())
}

// indexWrites returns the writes that move the entries of record pk from
// item old (nil: none) to item cur (nil: none) in the declared indexes.
// Called with mu held.
func (s *Badger) indexWrites(model string, pk []byte, old, cur map[string]any) []wop {
	set := s.indexes.Load()
	if set == nil {
		return nil
	}
	return entryWrites(set.byModel[model], model, pk, old, cur)
}

// entryWrites returns the writes that move the entries of record pk from
// item old (nil: none) to item cur (nil: none) in the indexes ixs:
// deletes of old entries first, then sets, so an unchanged entry ends set.
func entryWrites(ixs []Index, model string, pk []byte, old, cur map[string]any) []wop {
	if len(ixs) == 0 {
		return nil
	}
	var ops []wop
	for _, ix := range ixs {
		if old != nil {
			if k, ok := entryKey(ix, old); ok {
				ops = append(ops, wop{key: append(append(indexPrefix(model, ix), k...), pk...), del: true})
			}
		}
	}
	for _, ix := range ixs {
		if cur != nil {
			if k, ok := entryKey(ix, cur); ok {
				ops = append(ops, wop{key: append(append(indexPrefix(model, ix), k...), pk...)})
			}
		}
	}
	return ops
}

// loadIndexes returns the indexes whose entries a Load of model keeps:
// the built ones (the catalog: built by this process or an earlier one)
// and the declared ones, whose backfill may still be running (an entry it
// writes again is the same key). Called with mu held.
func (s *Badger) loadIndexes(model string) ([]Index, error) {
	built, err := s.builtIndexes()
	if err != nil {
		return nil, err
	}
	var out []Index
	seen := map[string]bool{}
	for _, ix := range built {
		if ix.Model == model && !seen[ix.id()] {
			seen[ix.id()] = true
			out = append(out, ix)
		}
	}
	if set := s.indexes.Load(); set != nil {
		for _, ix := range set.byModel[model] {
			if !seen[ix.id()] {
				seen[ix.id()] = true
				out = append(out, ix)
			}
		}
	}
	return out, nil
}

// indexDeletesFor returns the deletes of the entries of the record row r
// stored under record key rk (the expiry removing a tombstone), for every
// index built (the catalog), declared in this process or not: the
// background expiry may run before Indexes. Called with mu held.
func (s *Badger) indexDeletesFor(rk []byte, r row) ([]wop, error) {
	built, err := s.builtIndexes()
	if err != nil || len(built) == 0 {
		return nil, err
	}
	var item map[string]any
	var ops []wop
	for _, ix := range built {
		prefix := modelPrefix(nsRecord, ix.Model)
		if !bytes.HasPrefix(rk, prefix) {
			continue
		}
		if item == nil {
			if err := json.Unmarshal(r.item, &item); err != nil {
				return nil, fmt.Errorf("%w: item: %v", errCorruptRow, err)
			}
		}
		if k, ok := entryKey(ix, item); ok {
			ops = append(ops, wop{key: append(append(indexPrefix(ix.Model, ix), k...), rk[len(prefix):]...), del: true})
		}
	}
	return ops, nil
}

// loadedIndexes is the declared indexes, as Indexes last set them.
type loadedIndexes struct {
	byModel map[string][]Index
	byName  indexSet
}

func newLoadedIndexes(defs []Index) *loadedIndexes {
	set := newIndexSet(defs)
	l := &loadedIndexes{byModel: map[string][]Index{}, byName: set}
	for model := range set {
		l.byModel[model] = set.sorted(model)
	}
	return l
}

// Indexes declares the secondary indexes: from its return every write
// keeps their entries, and every stored record has its entries. It
// builds an index not built before in steps of backfillChunk records
// under the commit mutex (so a concurrent write is never undone by a
// stale entry), and drops the entries of an index no longer declared.
func (s *Badger) Indexes(ctx context.Context, defs []Index) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.ops.Done()
	if err := validIndexes(defs); err != nil {
		return err
	}
	loaded := newLoadedIndexes(defs)
	s.mu.Lock()
	s.indexes.Store(loaded)
	tail := s.tail
	s.mu.Unlock()
	if tail != nil {
		// Writes decided before the declaration, without entries, are
		// committed before the backfill reads.
		if err := tail.wait(); err != nil {
			return fmt.Errorf("store: indexes: %w", err)
		}
	}
	built, err := s.builtIndexes()
	if err != nil {
		return fmt.Errorf("store: indexes: %w", err)
	}
	for key, ix := range built {
		if d, ok := loaded.byName[ix.Model][ix.Name]; ok && d.id() == ix.id() {
			continue
		}
		if err := s.dropIndex(ctx, ix, []byte(key)); err != nil {
			return fmt.Errorf("store: indexes: drop %s of %s: %w", ix.Name, ix.Model, err)
		}
	}
	for _, d := range defs {
		if _, ok := built[string(indexCatalogKey(d.Model, d))]; ok {
			continue
		}
		if err := s.buildIndex(ctx, d); err != nil {
			return fmt.Errorf("store: indexes: build %s of %s: %w", d.Name, d.Model, err)
		}
	}
	return nil
}

// builtIndexes reads the catalog: built indexes by catalog key.
func (s *Badger) builtIndexes() (map[string]Index, error) {
	out := map[string]Index{}
	err := s.db.View(func(txn storage.Txn) error {
		prefix := []byte{nsIndexes}
		it := txn.Iterate(storage.IterOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			var ix Index
			if err := it.Value(func(v []byte) error { return json.Unmarshal(v, &ix) }); err != nil {
				return fmt.Errorf("%w: index catalog: %v", errCorruptRow, err)
			}
			out[string(it.Key())] = ix
		}
		return nil
	})
	return out, err
}

// dropIndex deletes the entries of ix and then its catalog entry.
func (s *Badger) dropIndex(ctx context.Context, ix Index, catalogKey []byte) error {
	prefix := indexPrefix(ix.Model, ix)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var keys [][]byte
		err := s.db.View(func(txn storage.Txn) error {
			it := txn.Iterate(storage.IterOptions{Prefix: prefix})
			defer it.Close()
			for it.Seek(prefix); it.ValidForPrefix(prefix) && len(keys) < expireBatch; it.Next() {
				keys = append(keys, it.KeyCopy(nil))
			}
			return nil
		})
		if err != nil {
			return err
		}
		ops := make([]wop, 0, len(keys)+1)
		for _, k := range keys {
			ops = append(ops, wop{key: k, del: true})
		}
		if len(keys) < expireBatch {
			ops = append(ops, wop{key: catalogKey, del: true})
		}
		if err := s.queueAndWait(ops); err != nil {
			return err
		}
		if len(keys) < expireBatch {
			return nil
		}
	}
}

// buildIndex writes the entries of ix for every record of its model, in
// chunks decided under the commit mutex from the rows as decided writes
// leave them, then its catalog entry.
func (s *Badger) buildIndex(ctx context.Context, ix Index) error {
	prefix := modelPrefix(nsRecord, ix.Model)
	ixPrefix := indexPrefix(ix.Model, ix)
	start := prefix
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var rks [][]byte
		err := s.db.View(func(txn storage.Txn) error {
			it := txn.Iterate(storage.IterOptions{Prefix: prefix})
			defer it.Close()
			for it.Seek(start); it.ValidForPrefix(prefix) && len(rks) < backfillChunk; it.Next() {
				rks = append(rks, it.KeyCopy(nil))
			}
			return nil
		})
		if err != nil {
			return err
		}
		done := len(rks) < backfillChunk
		b, err := s.backfillChunk(ix, ixPrefix, prefix, rks, done)
		if err != nil {
			return err
		}
		if err := b.wait(); err != nil {
			return err
		}
		if done {
			return nil
		}
		start = append(rks[len(rks)-1], 0)
	}
}

// backfillChunk queues the entries of the records rks (with the catalog
// entry when last) under the commit mutex.
func (s *Badger) backfillChunk(ix Index, ixPrefix, recPrefix []byte, rks [][]byte, last bool) (*batch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return nil, s.failed
	}
	var ops []wop
	for _, rk := range rks {
		r, found, err := s.currentRow(rk)
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		var item map[string]any
		if err := json.Unmarshal(r.item, &item); err != nil {
			return nil, fmt.Errorf("%w: item: %v", errCorruptRow, err)
		}
		if k, ok := entryKey(ix, item); ok {
			ops = append(ops, wop{key: append(append(bytes.Clone(ixPrefix), k...), rk[len(recPrefix):]...)})
		}
	}
	if last {
		v, err := json.Marshal(ix)
		if err != nil {
			return nil, err
		}
		ops = append(ops, wop{key: indexCatalogKey(ix.Model, ix), val: v})
	}
	if len(ops) == 0 {
		return s.doneBatch(), nil
	}
	return s.enqueue(ops, nil)
}

// doneBatch is a batch with nothing to wait for.
func (s *Badger) doneBatch() *batch {
	b := &batch{done: make(chan struct{})}
	close(b.done)
	return b
}

// queueAndWait queues ops as one unit under the commit mutex and waits
// for their commit.
func (s *Badger) queueAndWait(ops []wop) error {
	s.mu.Lock()
	if s.failed != nil {
		s.mu.Unlock()
		return s.failed
	}
	b, err := s.enqueue(ops, nil)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return b.wait()
}

// queryBase returns the key prefix q reads under and the number of key
// fields (-1: the primary key, whose length the store does not check).
func (s *Badger) queryBase(q Query) (base []byte, nFields int, ix *Index, err error) {
	if q.Index == "" {
		return modelPrefix(nsRecord, q.Model), -1, nil, nil
	}
	set := s.indexes.Load()
	if set != nil {
		if d, ok := set.byName[q.Model][q.Index]; ok {
			return indexPrefix(q.Model, d), len(d.Fields), &d, nil
		}
	}
	return nil, 0, nil, fmt.Errorf("%w: %s has no declared index %s", ErrBadQuery, q.Model, q.Index)
}

// Query reads the records in q's key range in key order (reversed with
// Desc), after cursor, at most limit of them, seeking straight to the
// range (or the cursor): it reads only what it returns, plus one entry to
// know whether more follow.
func (s *Badger) Query(ctx context.Context, q Query, cursor []byte, limit int) (Page, error) {
	if err := s.begin(ctx); err != nil {
		return Page{}, err
	}
	defer s.ops.Done()
	if limit <= 0 {
		return Page{}, fmt.Errorf("store: query %s: limit %d, want > 0", q.Model, limit)
	}
	base, nFields, ix, err := s.queryBase(q)
	if err != nil {
		return Page{}, err
	}
	orig, r, err := pageRanges(q, nFields, cursor)
	if err != nil {
		return Page{}, err
	}
	var page Page
	if r.empty() {
		return page, nil
	}
	lo := append(bytes.Clone(base), r.lo...)
	hi := successor(base)
	if r.hi != nil {
		hi = append(bytes.Clone(base), r.hi...)
	}
	txn := s.db.NewTxn(false)
	defer txn.Discard()
	it := txn.Iterate(storage.IterOptions{Prefix: base, Reverse: r.desc})
	defer it.Close()
	in := func(k []byte) bool { return bytes.Compare(k, lo) >= 0 && bytes.Compare(k, hi) < 0 }
	if r.desc {
		it.Seek(hi)
		if it.ValidForPrefix(base) && !in(it.Key()) {
			it.Next() // Seek landed on hi itself
		}
	} else {
		it.Seek(lo)
	}
	recPrefix := modelPrefix(nsRecord, q.Model)
	items := newItemReader()
	var last []byte
	for ; it.ValidForPrefix(base) && in(it.Key()); it.Next() {
		if len(page.Records) == limit {
			page.Next = orig.cursor(q, last[len(base):])
			break
		}
		var rec Record
		decode := func(v []byte) error {
			row, err := decodeRow(v)
			if err != nil {
				return err
			}
			rec, err = row.recordWith(q.Model, items)
			return err
		}
		if ix == nil {
			err = it.Value(decode)
		} else {
			pk, ok := storage.SkipComponents(it.Key()[len(base):], nFields)
			if !ok || !validPK(pk) {
				return Page{}, fmt.Errorf("store: query %s %s: %w: index entry %x", q.Model, indexLabel(q.Index), errCorruptRow, it.Key())
			}
			err = txn.Value(append(bytes.Clone(recPrefix), pk...), decode)
			if errors.Is(err, storage.ErrNotFound) {
				err = fmt.Errorf("%w: index entry %x without its record", errCorruptRow, it.Key())
			}
		}
		if err != nil {
			return Page{}, fmt.Errorf("store: query %s %s: %w", q.Model, indexLabel(q.Index), err)
		}
		page.Records = append(page.Records, rec)
		last = it.KeyCopy(last)
	}
	return page, nil
}
