// Package testfs holds file helpers for tests. It imports nothing of the
// module, so the storage layer's own (internal) tests can use it too.
package testfs

import (
	"os"
	"path/filepath"
	"testing"
)

// CopyStore copies the files of a closed store directory src into a new
// temporary directory and returns it. Badger's LOCK file is left behind, so
// the copy opens as a store nobody holds.
func CopyStore(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == "LOCK" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
