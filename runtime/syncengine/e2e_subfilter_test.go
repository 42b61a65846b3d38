package syncengine_test

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// TestSyncExpressionFiltersEvents: a store syncing posts with rating > 3
// must not receive, while connected, a post created elsewhere with
// rating 1, as Amplify's selective sync does. The backend filters the
// subscription when the expression fits its subscription filter input
// (one event sent, not two); a "not" does not fit it, so the engine
// subscribes without a filter and drops the event itself. Before, every
// event arrived and the store held posts its expression excludes.
func TestSyncExpressionFiltersEvents(t *testing.T) {
	typed := func(p predicate.Predicate[blogm.Post]) func(*blogm.DataStore) syncengine.SyncExpr {
		return func(ds *blogm.DataStore) syncengine.SyncExpr { return syncengine.SyncExpression(ds.Post, p) }
	}
	for _, c := range []struct {
		name string
		expr func(*blogm.DataStore) syncengine.SyncExpr
		sent int // events the backend sends: 1 when it filters
	}{
		{"backend filters", typed(post.Rating.Gt(3)), 1},
		{"engine filters a not", typed(predicate.Not(post.Rating.Le(3))), 2},
		// Six fields: over AppSync's limit of five per subscription filter,
		// so the backend refuses it and the engine subscribes without it.
		{"engine filters what the backend refuses", func(*blogm.DataStore) syncengine.SyncExpr {
			return syncengine.SyncFilter("Post", map[string]any{
				"rating": map[string]any{"gt": 3}, "title": map[string]any{"beginsWith": "t"}, "id": map[string]any{"ne": "zzz"},
				"status": map[string]any{"ne": "DRAFT"}, "createdAt": map[string]any{"gt": "2000"}, "updatedAt": map[string]any{"gt": "2000"},
			})
		}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			b := newBackendWith(t, serve.Config{DefaultConflict: serve.Automerge, Metrics: serve.MetricsOpen})
			ds, err := blogm.Open(ctx, t.TempDir(), datastore.Outbox())
			must(t, err)
			defer ds.Close(context.Background())
			eng, err := syncengine.New(ds.Store(), syncengine.Config{Endpoint: b.url, Auth: client.APIKey(apiKey),
				SyncExpressions: []syncengine.SyncExpr{c.expr(ds)}})
			must(t, err)
			defer eng.Close(context.Background())
			must(t, eng.Start(ctx))
			select {
			case <-eng.Ready():
			case <-time.After(hangGuard):
				t.Fatal("engine not ready before the hang guard")
			}

			// Another writer (no subscriptions of its own) creates a post
			// the expression excludes, then one it matches.
			w, err := client.New(b.url, client.APIKey(apiKey))
			must(t, err)
			docs, err := client.Documents(ds.Store().Schema(), ds.Store().Schema().Model("Post"))
			must(t, err)
			_, err = w.Mutate(ctx, docs, client.OpCreate, map[string]any{"id": "low", "title": "t", "rating": 1}, nil)
			must(t, err)
			_, err = w.Mutate(ctx, docs, client.OpCreate, map[string]any{"id": "high", "title": "t", "rating": 5}, nil)
			must(t, err)

			poll.Until(t, "the matching post arrives", func() bool {
				_, err := ds.Post.Get(ctx, "high")
				return err == nil
			})
			// Events of one subscription arrive in commit order: "low"
			// came (or not) before "high".
			if got := localPosts(t, ds); len(got) != 1 || got[0] != "high" {
				t.Fatalf("local posts %v; want only high (rating 5 > 3)", got)
			}
			if got := eventsSent(t, b); got != c.sent {
				t.Errorf("the backend sent %d events; want %d", got, c.sent)
			}
		})
	}
}

// eventsSent reads dsgen_realtime_events_sent_total from b's /metrics.
func eventsSent(t *testing.T, b *backend) int {
	t.Helper()
	resp, err := http.Get(b.ts.URL + "/metrics")
	must(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "dsgen_realtime_events_sent_total "); ok {
			n, err := strconv.Atoi(v)
			must(t, err)
			return n
		}
	}
	t.Fatal("no dsgen_realtime_events_sent_total in /metrics")
	return 0
}
