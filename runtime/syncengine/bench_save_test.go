package syncengine_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// BenchmarkSaveWithEngine is a tight loop of local saves (with the outbox,
// as a synced app has it) without a sync engine, with one started but no
// Events channel open, and with one whose Events channel is read. The
// engine is offline (its endpoint refuses connections), so the outbox is
// not sent and what is measured is the engine's observation of local
// writes: OutboxMutationEnqueued decodes each write only while someone
// listens.
//
//	go test -run '^$' -bench SaveWithEngine -benchmem -count 3 ./runtime/syncengine
func BenchmarkSaveWithEngine(b *testing.B) {
	// A loopback address that refuses connections: a server started and
	// closed at once.
	dead := httptest.NewServer(http.NotFoundHandler())
	endpoint := dead.URL + "/graphql"
	dead.Close()
	for _, mode := range []string{"no-engine", "engine", "engine+listener"} {
		b.Run(mode, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ds, err := blogm.Open(ctx, b.TempDir(), datastore.Outbox())
			if err != nil {
				b.Fatal(err)
			}
			defer ds.Close(context.Background())
			var seen chan int
			if mode != "no-engine" {
				eng, err := syncengine.New(ds.Store(), syncengine.Config{
					Endpoint: endpoint, Auth: client.APIKey(benchKey), MaxBackoff: time.Second,
				})
				if err != nil {
					b.Fatal(err)
				}
				defer eng.Close(context.Background())
				if mode == "engine+listener" {
					seen = make(chan int, 1)
					go countEnqueued(eng.Events(ctx), seen)
				}
				if err := eng.Start(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				p := &blogm.Post{ID: fmt.Sprintf("post-%08d", i), Title: "a post about offline sync", Rating: ptr(i % 10)}
				if err := ds.Post.Save(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if seen != nil {
				// Every save was reported to the listener.
				guard := time.After(benchHangGuard)
				for n := 0; n < b.N; {
					select {
					case n = <-seen:
					case <-guard:
						b.Fatalf("the listener saw %d of %d saves", n, b.N)
					}
				}
			}
		})
	}
}

// countEnqueued reads events until the channel ends, sending the running
// count of OutboxMutationEnqueued to seen whenever it has room.
func countEnqueued(events <-chan syncengine.Event, seen chan int) {
	n := 0
	for ev := range events {
		if _, ok := ev.(syncengine.OutboxMutationEnqueued); ok {
			n++
			select {
			case <-seen:
			default:
			}
			seen <- n
		}
	}
}
