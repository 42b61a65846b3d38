package syncengine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// These tests run `dsgen serve` as a real process (killed and restarted
// with SIGKILL) and put a TCP proxy between it and each client, so the
// clients' HTTP and WebSocket traffic can be refused, cut and stalled.

// chaosServe starts dsgen serve on the blog schema.
func chaosServe(t *testing.T, args ...string) *testenv.Server {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return testenv.StartServer(t, testenv.ServerOptions{
		Schema: filepath.Join(root, "examples", "blog", "schema.graphql"), APIKey: apiKey, ExtraArgs: args,
	})
}

// chaosClient opens a blog store with an engine on endpoint, not started.
func chaosClient(t *testing.T, endpoint string, cfg syncengine.Config) *goClient {
	t.Helper()
	ds, err := blogm.Open(context.Background(), t.TempDir(), datastore.Outbox())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Endpoint, cfg.Auth = endpoint, client.APIKey(apiKey)
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 300 * time.Millisecond
	}
	eng, err := syncengine.New(ds.Post.Repo().Store(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if err := eng.Close(ctx); err != nil {
			t.Errorf("engine close: %v", err)
		}
		if err := ds.Close(ctx); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	return &goClient{ds: ds, eng: eng}
}

// chaosRec is what the convergence checks compare of one record.
type chaosRec struct {
	Title   string // Post.title or Blog.name
	Rating  string // "" for null
	Version int64
}

func (r chaosRec) String() string { return fmt.Sprintf("{%q r=%s v%d}", r.Title, r.Rating, r.Version) }

// chaosServerSet lists the live records of model ("Post" or "Blog") on the
// server, read with its sync query straight from the process.
func chaosServerSet(t *testing.T, srv *testenv.Server, model string) map[string]chaosRec {
	t.Helper()
	fields := "id title rating"
	if model == "Blog" {
		fields = "id name"
	}
	q := fmt.Sprintf(`query($next: String) { sync%ss(limit: 1000, nextToken: $next) { items { %s _version _deleted } nextToken } }`, model, fields)
	out := map[string]chaosRec{}
	var next any
	for {
		resp := srv.Do(t, q, map[string]any{"next": next})
		if resp["errors"] != nil {
			t.Fatalf("sync%ss: %v", model, resp["errors"])
		}
		page := resp["data"].(map[string]any)["sync"+model+"s"].(map[string]any)
		for _, it := range page["items"].([]any) {
			m := it.(map[string]any)
			if del, _ := m["_deleted"].(bool); del {
				continue
			}
			r := chaosRec{Version: int64(m["_version"].(float64))}
			if model == "Blog" {
				r.Title = m["name"].(string)
			} else {
				r.Title = m["title"].(string)
				if v, ok := m["rating"].(float64); ok {
					r.Rating = fmt.Sprint(int64(v))
				}
			}
			out[m["id"].(string)] = r
		}
		if page["nextToken"] == nil {
			return out
		}
		next = page["nextToken"]
	}
}

// chaosClientSet lists the records of model in a client's store with the
// versions of their sync metadata.
func chaosClientSet(t *testing.T, c *goClient, model string) map[string]chaosRec {
	t.Helper()
	ctx := context.Background()
	st := c.ds.Post.Repo().Store()
	out := map[string]chaosRec{}
	add := func(id string, r chaosRec) {
		sm, _, err := st.RecordSyncMeta(ctx, model, id)
		if err != nil {
			t.Fatal(err)
		}
		r.Version = sm.Version
		out[id] = r
	}
	switch model {
	case "Post":
		ps, err := c.ds.Post.Query().All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			r := chaosRec{Title: p.Title}
			if p.Rating != nil {
				r.Rating = fmt.Sprint(*p.Rating)
			}
			add(p.ID, r)
		}
	case "Blog":
		bs, err := c.ds.Blog.Query().All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			add(b.ID, chaosRec{Title: b.Name})
		}
	}
	return out
}

// chaosDiff describes how got differs from want, or returns "".
func chaosDiff(want, got map[string]chaosRec) string {
	var d []string
	for id, w := range want {
		g, ok := got[id]
		switch {
		case !ok:
			d = append(d, fmt.Sprintf("%s missing (server %v)", id, w))
		case g != w:
			d = append(d, fmt.Sprintf("%s: server %v, client %v", id, w, g))
		}
	}
	for id, g := range got {
		if _, ok := want[id]; !ok {
			d = append(d, fmt.Sprintf("%s: only on the client %v", id, g))
		}
	}
	slices.Sort(d)
	if len(d) > 10 {
		d = append(d[:10], fmt.Sprintf("... %d more", len(d)-10))
	}
	return strings.Join(d, "; ")
}

// chaosOutboxLen returns how many mutations c has not sent.
func chaosOutboxLen(t *testing.T, c *goClient) int {
	t.Helper()
	box, err := c.ds.Post.Repo().Store().Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(box)
}

// chaosSeedPosts creates n posts p00000… on the server, 20 per request (the
// server's default --max-root-fields) over a few connections.
func chaosSeedPosts(t *testing.T, srv *testenv.Server, n int) {
	t.Helper()
	// perDoc stays within dsgen serve's default --max-root-fields (20).
	const perDoc, workers = 20, 4
	hc := &http.Client{Timeout: hangGuard}
	defer hc.CloseIdleConnections()
	docs := make(chan string)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for doc := range docs {
				resp, err := testenv.PostGraphQL(context.Background(), hc, srv.URL, apiKey, doc, nil)
				if err == nil && resp["errors"] != nil {
					err = fmt.Errorf("seed: %v", resp["errors"])
				}
				if err != nil {
					errs <- err
					for range docs {
					}
					return
				}
			}
		}()
	}
	for i := 0; i < n; i += perDoc {
		var b strings.Builder
		b.WriteString("mutation {")
		for j := i; j < min(i+perDoc, n); j++ {
			fmt.Fprintf(&b, " m%d: createPost(input: {id: %q, title: %q, rating: %d}) { id }", j, fmt.Sprintf("p%05d", j), fmt.Sprintf("seed %d", j), j%5)
		}
		b.WriteString(" }")
		docs <- b.String()
	}
	close(docs)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// chaosEvents gathers c's events from now until the test ends.
type chaosEvents struct {
	mu     sync.Mutex
	events []syncengine.Event
}

func chaosCollect(t *testing.T, c *goClient) *chaosEvents {
	ctx, cancel := context.WithCancel(context.Background())
	col := &chaosEvents{}
	done := make(chan struct{})
	ch := c.eng.Events(ctx)
	go func() {
		defer close(done)
		for ev := range ch {
			col.mu.Lock()
			col.events = append(col.events, ev)
			col.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return col
}

func (c *chaosEvents) all() []syncengine.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

func TestServerKilledMidBaseSync(t *testing.T) {
	t.Parallel()
	const total, page = 3000, 100
	srv := chaosServe(t)
	chaosSeedPosts(t, srv, total)
	px := testenv.NewProxy(t, srv.Addr)
	c := chaosClient(t, px.URL("/graphql"), syncengine.Config{SyncPageSize: page})
	events := chaosCollect(t, c)
	ctx := context.Background()
	must(t, c.eng.Start(ctx))

	// Freeze the sync once a few pages are in, then kill the server
	// under it.
	var n int
	poll.Until(t, "the base sync of Post under way", func() bool {
		n, _ = c.ds.Post.Query().Count(ctx)
		return n >= 2*page
	})
	px.Stall(time.Minute)
	n, _ = c.ds.Post.Query().Count(ctx)
	if n >= total {
		t.Fatalf("the base sync finished (%d posts) before the server could be killed", n)
	}
	srv.Kill(t)
	px.Resume()
	t.Logf("server killed with %d of %d posts synced", n, total)
	srv.Restart(t)

	select {
	case <-c.eng.Ready():
	case <-time.After(hangGuard):
		t.Fatal("engine not ready before the hang guard after the restart")
	}
	if d := chaosDiff(chaosServerSet(t, srv, "Post"), chaosClientSet(t, c, "Post")); d != "" {
		t.Fatalf("client differs from the server: %s", d)
	}
	// The sync resumed from its stored page: the backend did not send
	// everything again.
	var synced []syncengine.ModelSynced
	for _, ev := range events.all() {
		if ms, ok := ev.(syncengine.ModelSynced); ok && ms.Model == "Post" {
			synced = append(synced, ms)
		}
	}
	if len(synced) != 1 {
		t.Fatalf("ModelSynced{Post} events = %+v, want one", synced)
	}
	t.Logf("after the restart: %+v", synced[0])
	if max := total - n + page; synced[0].Items > max || !synced[0].IsFullSync {
		t.Fatalf("after the restart the sync received %d posts (full %v); resuming from %d posts should take at most %d",
			synced[0].Items, synced[0].IsFullSync, n, max)
	}
	md, err := c.ds.Post.Repo().Store().ModelMetadata(ctx, "Post")
	must(t, err)
	if md.LastSync == nil || md.SyncNextToken != nil {
		t.Fatalf("Post sync state after the sync: lastSync %v, nextToken %v", md.LastSync, md.SyncNextToken)
	}
}

func TestServerKilledMidDrain(t *testing.T) {
	t.Parallel()
	const total = 300
	srv := chaosServe(t)
	px := testenv.NewProxy(t, srv.Addr)
	c := chaosClient(t, px.URL("/graphql"), syncengine.Config{})
	ctx := context.Background()
	c.start(t)

	// Offline: the writes queue.
	px.SetMode(testenv.Refuse)
	px.CutAll()
	poll.Until(t, "the engine notices it is offline", func() bool { return !c.eng.Online() })
	for i := range total {
		must(t, c.ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprintf("d%03d", i), Title: fmt.Sprintf("offline %d", i)}))
	}
	if got := chaosOutboxLen(t, c); got != total {
		t.Fatalf("outbox holds %d mutations, want %d", got, total)
	}

	// Online again; kill the server once some of the drain has landed.
	var processed atomic.Int32
	evCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	evs := c.eng.Events(evCtx)
	px.SetMode(testenv.Pass)
	for processed.Load() < 50 {
		select {
		case ev := <-evs:
			if _, ok := ev.(syncengine.OutboxMutationProcessed); ok {
				processed.Add(1)
			}
		case <-time.After(hangGuard):
			t.Fatalf("only %d mutations processed before the hang guard", processed.Load())
		}
	}
	srv.Kill(t)
	left := chaosOutboxLen(t, c)
	if left == 0 {
		t.Fatal("the drain finished before the server could be killed")
	}
	t.Logf("server killed with %d of %d mutations left", left, total)
	srv.Restart(t)

	poll.Until(t, "the outbox empties", func() bool { return chaosOutboxLen(t, c) == 0 })
	dead, err := c.ds.Post.Repo().Store().DeadLetters(ctx)
	must(t, err)
	if len(dead) != 0 {
		t.Fatalf("%d dead letters, first: %s", len(dead), dead[0].Reason)
	}
	got := chaosServerSet(t, srv, "Post")
	if len(got) != total {
		t.Fatalf("the server has %d posts, want %d", len(got), total)
	}
	for id, r := range got {
		if r.Version != 1 {
			t.Fatalf("server %s = %v: a create was applied more than once", id, r)
		}
	}
	if d := chaosDiff(got, chaosClientSet(t, c, "Post")); d != "" {
		t.Fatalf("client differs from the server: %s", d)
	}
}

// shared posts both clients of TestNetworkChaos update.
var chaosShared = []string{"s0", "s1", "s2", "s3", "s4"}

func TestNetworkChaos(t *testing.T) {
	t.Parallel()
	const ops = 100
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	srv := chaosServe(t)
	for _, id := range chaosShared {
		srv.Do(t, `mutation($in: CreatePostInput!) { createPost(input: $in) { id } }`, map[string]any{"in": map[string]any{"id": id, "title": "shared"}})
	}
	type side struct {
		name string
		px   *testenv.Proxy
		c    *goClient
	}
	var sides []*side
	for _, name := range []string{"a", "b"} {
		px := testenv.NewProxy(t, srv.Addr)
		c := chaosClient(t, px.URL("/graphql"), syncengine.Config{})
		c.start(t)
		sides = append(sides, &side{name, px, c})
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(sides))
	for i, s := range sides {
		stop := s.px.Chaos(seed+int64(i), 100*time.Millisecond)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer stop()
			if err := chaosWrites(context.Background(), s.c, rand.New(rand.NewPCG(uint64(seed), uint64(i))), s.name, ops); err != nil {
				errs <- fmt.Errorf("client %s: %w", s.name, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("seed %d: %v", seed, err)
	}
	for _, s := range sides {
		t.Logf("client %s proxy: %+v", s.name, s.px.Stats())
	}

	chaosSettle(t, seed, srv, []*goClient{sides[0].c, sides[1].c}, "Post")
	for _, s := range sides {
		dead, err := s.c.ds.Post.Repo().Store().DeadLetters(context.Background())
		must(t, err)
		if len(dead) != 0 {
			t.Fatalf("seed %d: client %s has %d dead letters, first: %s %s %v: %s", seed, s.name, len(dead), dead[0].Op, dead[0].Model, dead[0].Key, dead[0].Reason)
		}
	}
}

// chaosWrites makes ops random writes on c, pacing them so they spread
// over the chaos: creates, updates and deletes of the client's own posts
// (prefix name) and updates of the shared ones.
func chaosWrites(ctx context.Context, c *goClient, rng *rand.Rand, name string, ops int) error {
	var own []string
	for i := range ops {
		title := fmt.Sprintf("%s-%d", name, i)
		switch r := rng.IntN(10); {
		case r < 3 || len(own) == 0:
			id := fmt.Sprintf("%s%03d", name, i)
			if err := c.ds.Post.Save(ctx, &blogm.Post{ID: id, Title: title, Rating: ptr(rng.IntN(5))}); err != nil {
				return err
			}
			own = append(own, id)
		case r < 6:
			id := chaosShared[rng.IntN(len(chaosShared))]
			if err := chaosUpdate(ctx, c, id, func(p *blogm.Post) { p.Title = title }); err != nil {
				return err
			}
		case r < 8:
			id := own[rng.IntN(len(own))]
			if err := chaosUpdate(ctx, c, id, func(p *blogm.Post) { p.Rating = ptr(rng.IntN(5)) }); err != nil {
				return err
			}
		default:
			k := rng.IntN(len(own))
			if err := c.ds.Post.DeleteKey(ctx, own[k]); err != nil {
				return err
			}
			own = slices.Delete(own, k, k+1)
		}
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
	}
	return nil
}

// chaosUpdate reads, edits and saves a post.
func chaosUpdate(ctx context.Context, c *goClient, id string, edit func(*blogm.Post)) error {
	p, err := c.ds.Post.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("update %s: %w", id, err)
	}
	edit(p)
	return c.ds.Post.Save(ctx, p)
}

// chaosSettle waits until every client's outbox is empty and each of models
// holds exactly the server's live records, and fails with the difference
// otherwise.
func chaosSettle(t *testing.T, seed int64, srv *testenv.Server, clients []*goClient, models ...string) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		diff := ""
		for i, c := range clients {
			if n := chaosOutboxLen(t, c); n != 0 {
				diff = fmt.Sprintf("client %d: %d mutations unsent", i, n)
				break
			}
			for _, m := range models {
				if d := chaosDiff(chaosServerSet(t, srv, m), chaosClientSet(t, c, m)); d != "" {
					diff = fmt.Sprintf("client %d %s: %s", i, m, d)
					break
				}
			}
			if diff != "" {
				break
			}
		}
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			for _, m := range models {
				t.Logf("server %s: %v", m, chaosServerSet(t, srv, m))
				t.Logf("server raw %s: %v", m, srv.Do(t, fmt.Sprintf(`{ sync%ss(limit: 1000) { items { id _version _deleted } } }`, m), nil))
				for i, c := range clients {
					t.Logf("client %d (online %v) %s: %v", i, c.eng.Online(), m, chaosClientSet(t, c, m))
				}
			}
			// A refused mutation leaves its record to the backend's copy:
			// the dead letters tell which records went that way.
			for i, c := range clients {
				dead, err := c.ds.Post.Repo().Store().DeadLetters(context.Background())
				if err != nil {
					t.Logf("client %d dead letters: %v", i, err)
				}
				for _, d := range dead {
					t.Logf("client %d dead letter: %s %s %v %v: %s", i, d.Op, d.Model, d.Key, d.Data, d.Reason)
				}
			}
			t.Fatalf("seed %d: no convergence before the hang guard: %s", seed, diff)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
