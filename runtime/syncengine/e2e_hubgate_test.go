package syncengine_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// TestOutboxEnqueuedOnlyWhileListened: a running engine reports local
// writes as OutboxMutationEnqueued from the moment an Events channel is
// open; writes committed while none is open are not reported (nor decoded),
// and closing the last channel stops the reports again.
func TestOutboxEnqueuedOnlyWhileListened(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dead := httptest.NewServer(http.NotFoundHandler())
	endpoint := dead.URL + "/graphql"
	dead.Close() // offline: the outbox stays put, the local store works

	ds, err := blogm.Open(ctx, t.TempDir(), datastore.Outbox())
	must(t, err)
	defer ds.Close(context.Background())
	eng, err := syncengine.New(ds.Store(), syncengine.Config{Endpoint: endpoint, Auth: client.APIKey(apiKey), MaxBackoff: time.Second})
	must(t, err)
	defer eng.Close(context.Background())
	must(t, eng.Start(ctx))

	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "unheard", Title: "nobody listens"}))
	for round, id := range []string{"heard", "heard-again"} {
		evCtx, stop := context.WithCancel(ctx)
		events := eng.Events(evCtx)
		must(t, ds.Post.Save(ctx, &blogm.Post{ID: id, Title: "someone listens"}))
		ev, _ := waitEvent(t, events, "OutboxMutationEnqueued", func(ev syncengine.Event) bool {
			_, ok := ev.(syncengine.OutboxMutationEnqueued)
			return ok
		})
		if p := ev.(syncengine.OutboxMutationEnqueued).Element.(*blogm.Post); p.ID != id {
			t.Fatalf("round %d: first OutboxMutationEnqueued is for %q, want %q (written while nobody listened: not reported)", round, p.ID, id)
		}
		stop()
		for range events { // closed once the listener is gone
		}
		must(t, ds.Post.Save(ctx, &blogm.Post{ID: "unheard-" + id, Title: "nobody listens"}))
	}
	mut, err := ds.Store().Outbox(ctx)
	must(t, err)
	if len(mut) != 5 {
		t.Fatalf("outbox holds %d mutations, want all 5 saves queued whether reported or not", len(mut))
	}
}
