package datastore

import (
	"context"
	"fmt"

	"github.com/dsgen/dsgen/runtime/storage"
)

// RecordsForTest returns every record of model as codec map values, in key
// order: what the external tests of migrations inspect without generated
// code for the migrated schema.
func RecordsForTest(ctx context.Context, s *Store, model string) ([]map[string]any, error) {
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	t, err := s.table(model)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	err = s.db.View(func(txn storage.Txn) error {
		it := txn.Iterate(storage.IterOptions{Prefix: t.Prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			b, err := it.ValueCopy(nil)
			if err != nil {
				return err
			}
			m, err := s.recordMap(t, b)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// IndexForTest returns the entries of model's index name, each as its
// components described (index fields, then primary key), in index order.
func IndexForTest(ctx context.Context, s *Store, model, name string) ([][]string, error) {
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	t, err := s.table(model)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, ix := range t.Indexes {
		if ix.Name != name {
			continue
		}
		err = s.db.View(func(txn storage.Txn) error {
			it := txn.Iterate(storage.IterOptions{Prefix: ix.Prefix})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				rest := it.Key()[len(ix.Prefix):]
				var parts []string
				for len(rest) > 0 {
					c, r, ok := storage.SplitComponent(rest)
					if !ok {
						break
					}
					parts = append(parts, storage.DescribeComponent(c))
					rest = r
				}
				out = append(out, parts)
			}
			return nil
		})
		return out, err
	}
	return nil, ErrNotFound
}

// TableCountForTest returns how many keys the store holds under the
// record, index and sync-metadata prefixes of every table id, including
// tables no model uses any more.
func TableCountForTest(s *Store) (records, indexEntries, syncMeta int, err error) {
	err = s.db.View(func(txn storage.Txn) error {
		for i, p := range [][]byte{{0x01}, {0x02}, {0x03}} {
			it := txn.Iterate(storage.IterOptions{Prefix: p})
			n := 0
			for it.Rewind(); it.Valid(); it.Next() {
				n++
			}
			it.Close()
			switch i {
			case 0:
				records = n
			case 1:
				indexEntries = n
			case 2:
				syncMeta = n
			}
		}
		return nil
	})
	return
}

// SetPageScannedForTest makes ApplyRemote call f in each page's
// transaction once it has looked at the page's key range, before it
// applies the records.
func SetPageScannedForTest(s *Store, f func()) { s.pageScanned = f }

// SetChunkDoneForTest makes a cascade delete split over several
// transactions call f after each of them but the last has committed, with
// how many records it deleted.
func SetChunkDoneForTest(s *Store, f func(records int)) { s.chunkDone = f }

// DumpForTest returns every key and value the store holds, in key order,
// each as "key=value" in Go syntax: what tests compare to show that two
// ways of writing left the same bytes on disk.
func DumpForTest(ctx context.Context, s *Store) ([]string, error) {
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	var out []string
	err := s.db.View(func(txn storage.Txn) error {
		it := txn.Iterate(storage.IterOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("%q=%q", it.Key(), v))
		}
		return nil
	})
	return out, err
}
