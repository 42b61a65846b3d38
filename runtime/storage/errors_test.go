package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/dsgen/dsgen/internal/testenv/errtest"
)

// TestErrorMessagesCarryThePrefixOnce walks the errors a caller meets
// (options Open cannot use, a held directory, a wrong key, a damaged file,
// a missing key, a conflict) and checks each message reads "storage: ..."
// once while errors.Is still finds the sentinel.
func TestErrorMessagesCarryThePrefixOnce(t *testing.T) {
	ctx := context.Background()
	check := func(what string, err, sentinel error) {
		t.Helper()
		errtest.PrefixOnce(t, what, err, sentinel, "storage: ")
	}

	_, err := Open(ctx, "", Options{})
	check("empty directory", err, ErrInvalidOptions)

	dir := t.TempDir()
	db := openT(t, dir, Options{EncryptionKey: key32})
	_, err = Open(ctx, dir, Options{EncryptionKey: key32})
	check("held directory", err, ErrLocked)
	_, err = db.NewTxn(false).Get([]byte("missing"))
	check("missing key", err, ErrNotFound)
	a, b := db.NewTxn(true), db.NewTxn(true)
	_, _ = a.Get([]byte("k"))
	_, _ = b.Get([]byte("k"))
	if err := a.Set([]byte("k"), []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Set([]byte("k"), []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	check("conflicting commit", a.Commit(), ErrConflict)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, dir, Options{})
	check("encrypted store without its key", err, ErrEncryptionKey)

	plain := t.TempDir()
	if err := openT(t, plain, Options{}).Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plain, "MANIFEST"), []byte("not a manifest at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, plain, Options{})
	check("damaged MANIFEST", err, ErrCorrupt)
}
