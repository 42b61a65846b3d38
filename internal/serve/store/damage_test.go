package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv/testfs"
	"github.com/dsgen/dsgen/runtime/storage"
)

// TestOpenDamagedStore: a damaged data directory makes Open return the
// storage layer's *storage.CorruptError naming the file, reachable with
// errors.As, and an undamaged copy opens with every record.
func TestOpenDamagedStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(ctx, store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		put(t, s, "Post", []any{fmt.Sprintf("p%03d", i)}, map[string]any{"id": fmt.Sprintf("p%03d", i), "title": strings.Repeat("t", 200)})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(ssts) == 0 {
		t.Fatal("no table after Close")
	}
	sst := filepath.Base(ssts[0])

	for _, tc := range []struct {
		file   string
		damage func(path string) error
	}{
		{"MANIFEST", os.Remove},
		{sst, func(p string) error {
			fi, err := os.Stat(p)
			if err != nil {
				return err
			}
			return os.Truncate(p, fi.Size()/2)
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			d := testfs.CopyStore(t, dir)
			if err := tc.damage(filepath.Join(d, tc.file)); err != nil {
				t.Fatal(err)
			}
			s, err := store.Open(ctx, store.Options{Dir: d})
			if err == nil {
				s.Close()
				t.Fatal("Open of a damaged store succeeded")
			}
			var ce *storage.CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, storage.ErrCorrupt) || ce.File != tc.file {
				t.Fatalf("Open: %v; want a *storage.CorruptError naming %s", err, tc.file)
			}
		})
	}

	s = open(t, store.Options{Dir: testfs.CopyStore(t, dir)})
	if recs := scanAll(t, s, "Post", 100); len(recs) != 500 {
		t.Fatalf("undamaged copy: %d records, want 500", len(recs))
	}
}
