package syncengine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/storage"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// TestSyncPageLargerThanOneTransaction: a page of records whose bytes pass
// what one local transaction may hold (a notes app's 2 KB bodies, 1,000
// to a page, on the device preset's 2 MiB memtables) is applied in
// several transactions instead of failing the sync again and again: the
// sync gets ready with every record stored whole.
func TestSyncPageLargerThanOneTransaction(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, serve.Automerge)
	const n = 1500
	body := strings.Repeat("lorem ipsum ", 180) // ~2 KB
	benchParallel(t, 0, n, func(ctx context.Context, i int) error {
		id := benchPostID(i)
		item := map[string]any{"id": id, "title": fmt.Sprintf("%s %d", body, i), "status": "PUBLISHED",
			"createdAt": "2026-12-03T00:00:00.000Z", "updatedAt": "2026-12-03T00:00:00.000Z"}
		_, err := b.st.Mutate(ctx, "Post", []any{id}, func(*store.Record) (map[string]any, store.Op, error) {
			return item, store.OpCreate, nil
		})
		return err
	})

	ds, err := blogm.Open(ctx, t.TempDir(), datastore.Outbox(), datastore.MemoryPreset(storage.PresetDevice))
	must(t, err)
	defer ds.Close(context.Background())
	eng, err := syncengine.New(ds.Store(), syncengine.Config{Endpoint: b.url, Auth: client.APIKey(apiKey), MaxBackoff: 300 * time.Millisecond})
	must(t, err)
	defer eng.Close(context.Background())
	events := eng.Events(ctx)
	must(t, eng.Start(ctx))
	deadline := time.After(hangGuard)
	for ready := false; !ready; {
		select {
		case ev := <-events:
			switch e := ev.(type) {
			case syncengine.ModelSynced:
				if e.Model == "Post" && (e.Items != n || e.Applied != n) {
					t.Fatalf("Post synced %+v, want %d items applied", e, n)
				}
			case syncengine.Ready:
				ready = true
			}
		case <-deadline:
			t.Fatal("not ready before the hang guard: the page was not applied")
		}
	}
	got, err := ds.Post.Query().Count(ctx)
	must(t, err)
	if got != n {
		t.Fatalf("%d posts stored, want %d", got, n)
	}
	p, err := ds.Post.Get(ctx, benchPostID(n-1))
	must(t, err)
	if want := fmt.Sprintf("%s %d", body, n-1); p == nil || p.Title != want {
		t.Fatalf("last post = %+v, want its 2 KB title", p)
	}
}
