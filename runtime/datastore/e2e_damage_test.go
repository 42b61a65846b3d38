package datastore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/testenv/testfs"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/storage"
)

// damagePosts is the number of posts the damage test stores; every 64th
// has a title long enough for the value log.
const damagePosts = 6000

func damageTitle(i int) string {
	n := 300 + i%200
	if i%64 == 0 {
		n = 20 << 10
	}
	return fmt.Sprintf("post %05d ", i) + strings.Repeat(string(rune('a'+i%26)), n)
}

// TestDamagedStoreThroughModelOpen is the storage layer's damage matrix,
// smaller, through a generated model.Open: a damaged file makes Open
// return the *storage.CorruptError naming it, unchanged (errors.As), or
// the store opens with every post there (Count and content).
func TestDamagedStoreThroughModelOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a store of 6,000 posts")
	}
	ctx := context.Background()
	opts := []datastore.Option{datastore.MemoryPreset(storage.PresetDevice), datastore.ValueLogGC(-1)}
	pristine := t.TempDir()
	ds, err := blogm.Open(ctx, pristine, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < damagePosts; i += 100 {
		err := ds.Batch(ctx, func(tx *blogm.Tx) error {
			for j := i; j < i+100; j++ {
				if err := tx.Post.Save(ctx, &blogm.Post{ID: fmt.Sprintf("p%05d", j), Title: damageTitle(j)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := ds.Close(ctx); err != nil {
		t.Fatal(err)
	}

	ents, err := os.ReadDir(pristine)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	var ssts, vlogs []string
	for _, e := range ents {
		switch n := e.Name(); {
		case n == "MANIFEST" || n == "KEYREGISTRY":
			files = append(files, n)
		case strings.HasSuffix(n, ".sst"):
			ssts = append(ssts, n)
		case strings.HasSuffix(n, ".vlog"):
			if fi, _ := e.Info(); fi.Size() > 20 {
				vlogs = append(vlogs, n)
			}
		}
	}
	sort.Strings(ssts)
	sort.Strings(vlogs)
	if len(ssts) == 0 || len(vlogs) == 0 {
		t.Fatalf("the store has no tables or no value log with data: %v", ents)
	}
	files = append(files, ssts[0], ssts[len(ssts)-1], vlogs[0])

	for _, f := range files {
		for _, how := range []string{"truncate-half", "truncate-0", "garbage", "delete"} {
			t.Run(f+"/"+how, func(t *testing.T) {
				dir := testfs.CopyStore(t, pristine)
				path := filepath.Join(dir, f)
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				switch how {
				case "truncate-half":
					err = os.Truncate(path, int64(len(data)/2))
				case "truncate-0":
					err = os.Truncate(path, 0)
				case "garbage":
					at := len(data) / 2
					if len(data) < 8192 {
						at = len(data) / 4
					}
					for i := at; i < min(at+4096, len(data)); i++ {
						data[i] = byte(i*7 + 13)
					}
					err = os.WriteFile(path, data, 0o644)
				case "delete":
					err = os.Remove(path)
				}
				if err != nil {
					t.Fatal(err)
				}
				ds, err := blogm.Open(ctx, dir, opts...)
				if err != nil {
					var ce *datastore.CorruptError
					if !errors.As(err, &ce) || !errors.Is(err, datastore.ErrCorrupt) || ce.File != f {
						t.Fatalf("Open: %v; want a *datastore.CorruptError naming %s", err, f)
					}
					t.Logf("refused: %v", err)
					return
				}
				defer ds.Close(ctx)
				n, err := ds.Post.Query().Count(ctx)
				if err != nil || n != damagePosts {
					t.Fatalf("Count = %d, %v; want %d", n, err, damagePosts)
				}
				posts, err := ds.Post.Query().All(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range posts {
					var i int
					if _, err := fmt.Sscanf(p.ID, "p%05d", &i); err != nil || p.Title != damageTitle(i) {
						t.Fatalf("post %s differs", p.ID)
					}
				}
				t.Logf("opened with all %d posts", n)
			})
		}
	}
}
