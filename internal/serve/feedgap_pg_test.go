package serve_test

import (
	"context"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/realtime"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
	"github.com/dsgen/dsgen/internal/testenv"
)

// pgInstance is one in-process dsgen serve over its own PostgreSQL store
// (its own pool and listening connection), as one of several instances.
func pgInstance(t *testing.T, url string) (*env, *store.Postgres) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), frameWait)
	defer cancel()
	st, err := store.OpenPostgres(ctx, url, store.Options{})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	schema := testenv.BlogSchema(t)
	cfg := serve.Config{
		Schema:      schema,
		Store:       st,
		Auth:        auth.Config{APIKeys: []auth.APIKey{{Key: testAPIKey}}},
		TokenSecret: []byte("conformance-suite-token-secret!!"),
	}
	_, ts := testenv.Serve(t, cfg, false)
	return &env{ts: ts, schema: schema, headers: map[string]string{"x-api-key": testAPIKey}}, st
}

// listenerPIDs returns the backend pids of the stores' listening
// connections on schema, oldest first.
func listenerPIDs(t *testing.T, url, schema string) []int32 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY backend_start`,
		"dsgen-listen "+schema)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

// TestPostgresFeedAcrossInstances: two instances on one database; a
// 100 KB record (far over NOTIFY's 8,000-byte payload limit) written
// through one reaches a subscriber of the other whole. When the second
// instance's listening connection is killed (pg_terminate_backend), its
// subscriber's socket is closed with CloseFeedInterrupted instead of
// silently missing events; a delta sync from before the loss then returns
// the change made meanwhile, and a new subscription receives live events
// again once the listener is back.
func TestPostgresFeedAcrossInstances(t *testing.T) {
	url := pgtest.Schema(t)
	a, stA := pgInstance(t, url)
	b, stB := pgInstance(t, url)
	if stA.Schema() != stB.Schema() {
		t.Fatalf("instances on schemas %q and %q", stA.Schema(), stB.Schema())
	}

	sub := b.dialWS(t, nil)
	sub.init()
	sub.subscribe("c", wireOnCreatePost, nil, b.authHeaders())

	big := strings.Repeat("0123456789", 10_000) // 100,000 bytes
	a.createPost(t, map[string]any{"id": "big", "title": big})
	got := sub.data("c", "onCreatePost")
	if got["id"] != "big" || got["title"] != big {
		t.Fatalf("instance B received %v with a title of %d bytes, want big with %d", got["id"], len(got["title"].(string)), len(big))
	}

	before := b.syncAll(t, nil, 0, 0, nil)
	if len(before.items) != 1 {
		t.Fatalf("base sync on B: %d items, want 1", len(before.items))
	}

	// B's store opened last: its listening connection is the newer one.
	pids := listenerPIDs(t, pgtest.Server(t), stB.Schema())
	if len(pids) != 2 {
		t.Fatalf("%d listening connections for the schema, want 2", len(pids))
	}
	killBackend(t, pids[1])

	// The subscriber's socket is closed (frames already queued may come
	// first); the client must reconnect and sync.
	for {
		m, err := sub.read()
		if err == nil {
			if m.Type == "data" {
				t.Fatalf("unexpected data frame after the listener was killed: %s", m.Payload)
			}
			continue
		}
		if st := websocket.CloseStatus(err); st != realtime.CloseFeedInterrupted {
			t.Fatalf("subscriber socket ended with %v (status %d), want close status %d", err, st, realtime.CloseFeedInterrupted)
		}
		break
	}

	a.createPost(t, map[string]any{"id": "meanwhile", "title": "written while B was not listening"})

	delta := b.syncAll(t, nil, 0, before.startedAt, nil)
	ids := delta.byID(t)
	if _, ok := ids["meanwhile"]; !ok || len(ids) != 1 {
		t.Fatalf("delta sync on B from %d returned %v, want exactly [meanwhile]", before.startedAt, keys(ids))
	}

	// Reconnected: live events cross instances again. B's listener may
	// still be reconnecting when the subscription starts; its catch-up
	// delivers what was committed in between, so the event arrives either
	// way.
	sub2 := b.dialWS(t, nil)
	sub2.init()
	sub2.subscribe("c", wireOnCreatePost, nil, b.authHeaders())
	a.createPost(t, map[string]any{"id": "after", "title": "t"})
	for {
		got := sub2.data("c", "onCreatePost")
		if got["id"] == "after" {
			break
		}
	}
}

func killBackend(t *testing.T, pid int32) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Server(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d): %v %v", pid, ok, err)
	}
}
