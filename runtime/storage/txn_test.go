package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func openTxnTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), t.TempDir(), Options{GCInterval: -1, Preset: PresetDevice})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestTxnGetSetDelete(t *testing.T) {
	db := openTxnTest(t)
	if err := db.View(func(tx Txn) error {
		_, err := tx.Get([]byte("k"))
		return err
	}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
	}
	if err := db.Update(func(tx Txn) error { return tx.Set([]byte("k"), []byte("v1")) }); err != nil {
		t.Fatal(err)
	}
	err := db.View(func(tx Txn) error {
		v, err := tx.Get([]byte("k"))
		if err != nil || string(v) != "v1" {
			return fmt.Errorf("Get = %q, %v; want v1", v, err)
		}
		return tx.Value([]byte("k"), func(v []byte) error {
			if string(v) != "v1" {
				return fmt.Errorf("Value = %q, want v1", v)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	// A transaction reads its own writes; Discard drops them.
	tx := db.NewTxn(true)
	if err := tx.Delete([]byte("k")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Value([]byte("k"), func([]byte) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Value after Delete in the same txn: %v, want ErrNotFound", err)
	}
	tx.Discard()
	if err := db.View(func(tx Txn) error { _, err := tx.Get([]byte("k")); return err }); err != nil {
		t.Fatalf("discarded delete took effect: %v", err)
	}
}

func TestTxnConflictAndRetry(t *testing.T) {
	db := openTxnTest(t)
	a, b := db.NewTxn(true), db.NewTxn(true)
	defer a.Discard()
	defer b.Discard()
	for _, tx := range []Txn{a, b} {
		if _, err := tx.Get([]byte("n")); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		if err := tx.Set([]byte("n"), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); !errors.Is(err, ErrConflict) {
		t.Fatalf("second commit of a read-modify-write: %v, want ErrConflict", err)
	}

	// Update runs fn again after a conflict: the first run is made to
	// conflict by a write committed between its read and its commit.
	runs := 0
	err := db.Update(func(tx Txn) error {
		runs++
		if _, err := tx.Get([]byte("n")); err != nil {
			return err
		}
		if runs == 1 {
			if err := db.Update(func(o Txn) error { return o.Set([]byte("n"), []byte("y")) }); err != nil {
				return err
			}
		}
		return tx.Set([]byte("n"), []byte("z"))
	})
	if err != nil || runs != 2 {
		t.Fatalf("Update = %v after %d runs; want nil after 2", err, runs)
	}

	calls := 0
	err = RetryConflicts(context.Background(), func() error { calls++; return ErrConflict })
	if !errors.Is(err, ErrConflict) || calls != 1+MaxConflictRetries {
		t.Fatalf("RetryConflicts gave up with %v after %d calls, want ErrConflict after %d", err, calls, 1+MaxConflictRetries)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls = 0
	err = RetryConflicts(ctx, func() error { calls++; return ErrConflict })
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("RetryConflicts on a done ctx = %v after %d calls, want context.Canceled after 1", err, calls)
	}
}

func TestTxnIterate(t *testing.T) {
	db := openTxnTest(t)
	err := db.Update(func(tx Txn) error {
		for _, k := range []string{"a1", "b1", "b2", "b3", "c1"} {
			if err := tx.Set([]byte(k), []byte("v"+k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	walk := func(o IterOptions, seek []byte) (keys []string) {
		_ = db.View(func(tx Txn) error {
			it := tx.Iterate(o)
			defer it.Close()
			if seek == nil {
				it.Rewind()
			} else {
				it.Seek(seek)
			}
			for ; it.Valid(); it.Next() {
				v, err := it.ValueCopy(nil)
				if err != nil || string(v) != "v"+string(it.Key()) {
					t.Errorf("value of %s = %q, %v", it.Key(), v, err)
				}
				keys = append(keys, string(it.KeyCopy(nil)))
			}
			return nil
		})
		return keys
	}
	for _, c := range []struct {
		o    IterOptions
		seek string
		want []string
	}{
		{IterOptions{Prefix: []byte("b")}, "", []string{"b1", "b2", "b3"}},
		{IterOptions{Prefix: []byte("b"), Prefetch: 2}, "b2", []string{"b2", "b3"}},
		{IterOptions{Reverse: true}, "b2", []string{"b2", "b1", "a1"}},
		{IterOptions{Prefix: []byte("b"), Reverse: true}, "b\xff", []string{"b3", "b2", "b1"}},
	} {
		var seek []byte
		if c.seek != "" {
			seek = []byte(c.seek)
		}
		if got := walk(c.o, seek); !slices.Equal(got, c.want) {
			t.Errorf("%+v from %q: %q, want %q", c.o, c.seek, got, c.want)
		}
	}

	if err := db.DropPrefix([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if got := walk(IterOptions{}, nil); !slices.Equal(got, []string{"a1", "c1"}) {
		t.Errorf("after DropPrefix(b): %q", got)
	}
}

func TestTxnTooBigAndWriteBatch(t *testing.T) {
	db := openTxnTest(t)
	count, size := db.TxnLimits()
	if count <= 0 || size <= 0 {
		t.Fatalf("TxnLimits = %d, %d", count, size)
	}
	value := make([]byte, 1<<10)
	n := int(min(count, size/int64(len(value)))) + 10
	tx := db.NewTxn(true)
	defer tx.Discard()
	var err error
	for i := 0; i < n && err == nil; i++ {
		err = tx.Set(fmt.Appendf(nil, "k%08d", i), value)
	}
	if !errors.Is(err, ErrTxnTooBig) {
		t.Fatalf("Set past the limits: %v, want ErrTxnTooBig", err)
	}

	wb := db.NewWriteBatch()
	for i := range n {
		if err := wb.Set(fmt.Appendf(nil, "k%08d", i), value); err != nil {
			wb.Cancel()
			t.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	got := 0
	_ = db.View(func(tx Txn) error {
		it := tx.Iterate(IterOptions{Prefix: []byte("k")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			got++
		}
		return nil
	})
	if got != n {
		t.Fatalf("write batch wrote %d keys, want %d", got, n)
	}
}
