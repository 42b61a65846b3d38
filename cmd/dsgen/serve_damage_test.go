package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
)

// TestServeDamagedDataDir: `dsgen serve` on a damaged data directory exits
// non-zero with the storage layer's message naming the damaged file, and
// does not panic.
func TestServeDamagedDataDir(t *testing.T) {
	bin := dsgenBinary(t)
	proj := newProject(t, twoModels)
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, data string) string // returns the damaged file
	}{
		{"manifest deleted", func(t *testing.T, data string) string {
			if err := os.Remove(filepath.Join(data, "MANIFEST")); err != nil {
				t.Fatal(err)
			}
			return "MANIFEST"
		}},
		{"table cut in half", func(t *testing.T, data string) string {
			ssts, _ := filepath.Glob(filepath.Join(data, "*.sst"))
			if len(ssts) == 0 {
				t.Fatal("no table")
			}
			fi, err := os.Stat(ssts[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(ssts[0], fi.Size()/2); err != nil {
				t.Fatal(err)
			}
			return filepath.Base(ssts[0])
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			s, err := store.Open(context.Background(), store.Options{Dir: data})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 200 {
				id := fmt.Sprintf("p%03d", i)
				_, err := s.Mutate(context.Background(), "Post", []any{id}, func(*store.Record) (map[string]any, store.Op, error) {
					return map[string]any{"id": id, "title": strings.Repeat("x", 100)}, store.OpCreate, nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			file := tc.damage(t, data)
			r := runIn(t, bin, proj, "serve", "--schema", "schema.graphql", "--data", data, "--addr", "127.0.0.1:0")
			if r.code == 0 {
				t.Fatalf("dsgen serve exited 0 on a damaged store:\n%s", r.stderr)
			}
			if !strings.Contains(r.stderr, filepath.Join(data, file)) || !strings.Contains(r.stderr, "store is damaged") {
				t.Fatalf("exit %d; stderr does not name %s as damaged:\n%s", r.code, file, r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") {
				t.Fatalf("dsgen serve panicked:\n%s", r.stderr)
			}
			t.Logf("exit %d: %s", r.code, strings.TrimSpace(r.stderr))
		})
	}
}
