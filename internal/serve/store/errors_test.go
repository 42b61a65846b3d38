package store_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv/errtest"
	"github.com/dsgen/dsgen/runtime/storage"
)

// TestErrorMessagesCarryThePrefixOnce walks the errors the server meets
// (a missing record, a key the store cannot hold, a foreign cursor, a
// damaged row, a closed store) on the Badger engine and checks each
// message reads "store: ..." once while errors.Is still finds the
// sentinel.
func TestErrorMessagesCarryThePrefixOnce(t *testing.T) {
	ctx := context.Background()
	check := func(what string, err, sentinel error) {
		t.Helper()
		errtest.PrefixOnce(t, what, err, sentinel, "store: ", "storage: ")
	}
	dir := t.TempDir()
	s, err := store.Open(ctx, store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "Post", []any{"p1"}, map[string]any{"id": "p1", "title": "damage-me"})

	_, err = s.Get(ctx, "Post", []any{"missing"})
	check("get of a missing record", err, store.ErrNotFound)
	_, err = s.Get(ctx, "Post", []any{map[string]any{"not": "a key"}})
	check("get with a key the store cannot hold", err, store.ErrInvalidKey)
	_, err = s.Scan(ctx, "Post", []byte("not a cursor"), 10)
	check("scan with a foreign cursor", err, store.ErrBadCursor)
	_, err = s.Changes(ctx, "Post", 0, 1, []byte("not a cursor"), 10)
	check("changes with a foreign cursor", err, store.ErrBadCursor)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get(ctx, "Post", []any{"p1"})
	check("get on a closed store", err, store.ErrClosed)

	// Damage p1's row, as a bad disk would, and read it.
	db, err := storage.Open(ctx, dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	damaged := 0
	err = db.Update(func(txn storage.Txn) error {
		var keys [][]byte
		it := txn.Iterate(storage.IterOptions{})
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.ValueCopy(nil)
			if err != nil {
				return err
			}
			if bytes.Contains(v, []byte("damage-me")) {
				keys = append(keys, it.KeyCopy(nil))
			}
		}
		it.Close()
		for _, k := range keys {
			if err := txn.Set(k, []byte{1}); err != nil {
				return err
			}
			damaged++
		}
		return nil
	})
	if err != nil || damaged == 0 {
		t.Fatalf("damaging the row: %v (%d rows)", err, damaged)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, store.Options{Dir: dir})
	_, err = s.Get(ctx, "Post", []any{"p1"})
	check("get of a damaged row", err, nil)
	_, err = s.Scan(ctx, "Post", nil, 10)
	check("scan over a damaged row", err, nil)
}
