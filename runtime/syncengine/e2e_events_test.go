package syncengine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// TestStartSequenceEvents checks the order of the start sequence as the
// events report it, and that ObserveQuery turns IsSynced on per model.
func TestStartSequenceEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := newBackend(t, serve.Automerge)
	seed := newClient(t, b, syncengine.Config{})
	must(t, seed.ds.Post.Save(ctx, &blogm.Post{ID: "p1", Title: "seeded"}))
	poll.Until(t, "seed acknowledged", func() bool {
		_, ok, _ := seed.ds.Store().RecordSyncMeta(ctx, "Post", "p1")
		return ok
	})

	ds, err := blogm.Open(ctx, t.TempDir(), datastore.Outbox())
	must(t, err)
	defer ds.Close(context.Background())
	eng, err := syncengine.New(ds.Store(), syncengine.Config{Endpoint: b.url, Auth: client.APIKey(apiKey)})
	must(t, err)
	defer eng.Close(context.Background())
	events := eng.Events(ctx)
	snaps := ds.Post.ObserveQuery(ctx, ds.Post.Query())
	if s := <-snaps; s.IsSynced {
		t.Fatal("IsSynced before the engine started")
	}
	must(t, eng.Start(ctx))

	var kinds []string
	synced := map[string]syncengine.ModelSynced{}
	deadline := time.After(hangGuard)
	for done := false; !done; {
		select {
		case ev := <-events:
			switch e := ev.(type) {
			case syncengine.ModelSynced:
				synced[e.Model] = e
				kinds = append(kinds, "ModelSynced")
			case syncengine.Ready:
				kinds = append(kinds, "Ready")
				done = true
			default:
				kinds = append(kinds, fmt.Sprintf("%T", ev)[len("syncengine."):])
			}
		case <-deadline:
			t.Fatalf("no Ready before the hang guard; events so far: %v", kinds)
		}
	}
	pos := func(k string) int {
		for i, x := range kinds {
			if x == k {
				return i
			}
		}
		t.Fatalf("no %s event in %v", k, kinds)
		return -1
	}
	if !(pos("SubscriptionsEstablished") < pos("SyncQueriesStarted") && pos("SyncQueriesStarted") < pos("ModelSynced") &&
		pos("ModelSynced") < pos("SyncQueriesReady") && pos("SyncQueriesReady") < pos("OutboxStatus") && pos("OutboxStatus") < pos("Ready")) {
		t.Fatalf("start sequence out of order: %v", kinds)
	}
	if len(synced) != len(ds.Store().Schema().Models) {
		t.Fatalf("ModelSynced for %d models, want %d: %v", len(synced), len(ds.Store().Schema().Models), synced)
	}
	if p := synced["Post"]; !p.IsFullSync || p.Items != 1 || p.Applied != 1 {
		t.Fatalf("Post synced = %+v, want a full sync of 1 record", p)
	}
	if !eng.Online() {
		t.Fatal("not online after Ready")
	}
	for {
		select {
		case s := <-snaps:
			if s.IsSynced {
				if len(s.Items) != 1 || s.Items[0].ID != "p1" {
					t.Fatalf("synced snapshot = %+v", s.Items)
				}
				return
			}
		case <-time.After(hangGuard):
			t.Fatal("ObserveQuery never reported IsSynced")
		}
	}
}

// TestRestartDoesDeltaSync checks that a second start syncs only changes.
func TestRestartDoesDeltaSync(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := newBackend(t, serve.Automerge)
	a := newClient(t, b, syncengine.Config{})
	c := newClient(t, b, syncengine.Config{})
	c.stop(t)
	for i := range 3 {
		must(t, a.ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("d", i), Title: "while c was stopped"}))
	}
	poll.Until(t, "a's writes acknowledged", func() bool {
		box, _ := a.ds.Store().Outbox(ctx)
		return len(box) == 0
	})
	events := c.eng.Events(ctx)
	c.start(t)
	deadline := time.After(hangGuard)
	for {
		select {
		case ev := <-events:
			if ms, ok := ev.(syncengine.ModelSynced); ok && ms.Model == "Post" {
				if !ms.IsDeltaSync || ms.Items != 3 {
					t.Fatalf("Post sync after restart = %+v, want a delta of 3", ms)
				}
				return
			}
		case <-deadline:
			t.Fatal("no ModelSynced for Post")
		}
	}
}
