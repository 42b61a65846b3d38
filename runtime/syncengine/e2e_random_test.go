package syncengine_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

var (
	randomSeed = flag.Int64("syncengine.seed", 0, "seed of TestRandomConvergence (0: the clock)")
	randomFor  = flag.Duration("syncengine.random", 10*time.Second, "how long TestRandomConvergence's clients write")
)

// The key space of TestRandomConvergence: small, so clients collide.
var (
	randomBlogs = []string{"b0", "b1", "b2"}
	randomPosts = []string{"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"}
)

// TestRandomConvergence runs three clients, each behind its own proxy,
// doing random creates, updates and deletes on a few records while their
// links are cut and stalled at random; once the network heals, every
// client must hold exactly the server's records. Run it again with
// -syncengine.seed=N to repeat a failure's choices (the interleaving with
// the network still varies).
//
// It runs alone, not in parallel with the other chaos tests: under that
// extra load it once ended with a client holding v10 of a post the server
// had at v11 (seed 1796228143905857063; the seed alone does not reproduce
// it). The cause found: an event that overtook the answer to the client's
// own mutation of the record was dropped. Such events are now held and
// applied after the answer (datastore's TestNewerEventDuringSendIsNotLost
// pins that case down).
func TestRandomConvergence(t *testing.T) {
	seed := *randomSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (rerun with -syncengine.seed=%d)", seed, seed)
	srv := chaosServe(t) // automerge
	for _, id := range randomBlogs {
		resp := srv.Do(t, `mutation($in: CreateBlogInput!) { createBlog(input: $in) { id } }`, map[string]any{"in": map[string]any{"id": id, "name": "blog " + id}})
		if resp["errors"] != nil {
			t.Fatal(resp["errors"])
		}
	}
	const n = 3
	pxs := make([]*testenv.Proxy, n)
	clients := make([]*goClient, n)
	for i := range n {
		pxs[i] = testenv.NewProxy(t, srv.Addr)
		clients[i] = chaosClient(t, pxs[i].URL("/graphql"), syncengine.Config{})
		clients[i].start(t)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *randomFor)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
		netRng := rand.New(rand.NewPCG(uint64(seed), uint64(100+i)))
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := randomOps(ctx, clients[i], rng, i); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				cancel()
			}
		}()
		go func() {
			defer wg.Done()
			randomPartitions(ctx, pxs[i], netRng)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("seed %d: %v", seed, err)
	}
	for i, px := range pxs {
		px.SetMode(testenv.Pass)
		px.Resume()
		t.Logf("client %d proxy: %+v", i, px.Stats())
	}

	chaosSettle(t, seed, srv, clients, "Post", "Blog")

	// A dead letter is acceptable only when the server explains it: a
	// create of an id the server already had, or a change to a record
	// deleted there.
	all := serverRecords(t, srv, "Post")
	for i, c := range clients {
		dead, err := c.ds.Post.Repo().Store().DeadLetters(context.Background())
		must(t, err)
		for _, d := range dead {
			id, _ := d.Key[0].(string)
			deleted, known := all[id]
			ok := d.Model == "Post" && known && (d.Op == datastore.MutationCreate && strings.Contains(d.Reason, "ConditionalCheck") ||
				d.Op != datastore.MutationCreate && deleted)
			if !ok {
				t.Errorf("seed %d: client %d: unexplained dead letter %s %s %v (on the server: known %v, deleted %v): %s",
					seed, i, d.Op, d.Model, d.Key, known, deleted, d.Reason)
			}
		}
		kinds := map[string]int{}
		for _, d := range dead {
			kinds[string(d.Op)]++
		}
		t.Logf("client %d: dead letters by operation %v", i, kinds)
	}
	live := chaosServerSet(t, srv, "Post")
	t.Logf("the server ends with %d live posts of %d ids", len(live), len(all))
	// Deletes outpace creates once a client holds a few posts, so how many
	// stay live is a random walk near a handful (seed 1796266459993345943
	// ended below 10): count every id the server ever had instead.
	if len(all) < 10 {
		t.Errorf("seed %d: only %d post ids on the server: the clients hardly wrote", seed, len(all))
	}
}

// randomOps writes at random until ctx ends: renames of the blogs, and
// creates, updates and deletes of posts. Half the creates name one of a
// few fixed ids, so clients collide on them (and on their tombstones: a
// deleted id can never be created again, as in AppSync); the rest take
// fresh ids so the set of live posts keeps growing. Updates and deletes
// pick among the posts the client holds.
func randomOps(ctx context.Context, c *goClient, rng *rand.Rand, client int) error {
	for op := 0; ctx.Err() == nil; op++ {
		wctx := context.Background() // a write is never cut off half done
		tag := fmt.Sprintf("c%d-%d", client, op)
		if err := randomOp(wctx, c, rng, tag); err != nil {
			return fmt.Errorf("op %d: %w", op, err)
		}
		if sleepCtx(ctx, time.Duration(rng.IntN(40))*time.Millisecond) != nil {
			return nil
		}
	}
	return nil
}

func randomOp(ctx context.Context, c *goClient, rng *rand.Rand, tag string) error {
	if rng.IntN(6) == 0 {
		id := randomBlogs[rng.IntN(len(randomBlogs))]
		b, err := c.ds.Blog.Get(ctx, id)
		if err != nil {
			return fmt.Errorf("get blog %s: %w", id, err)
		}
		b.Name = tag
		return c.ds.Blog.Save(ctx, b)
	}
	posts, err := c.ds.Post.Query().All(ctx)
	if err != nil {
		return err
	}
	var p *blogm.Post
	if len(posts) < 4 || rng.IntN(4) == 0 {
		id := "n-" + tag
		if rng.IntN(2) == 0 {
			id = randomPosts[rng.IntN(len(randomPosts))]
		}
		if p, err = c.ds.Post.Get(ctx, id); err != nil {
			blog := randomBlogs[rng.IntN(len(randomBlogs))]
			return c.ds.Post.Save(ctx, &blogm.Post{ID: id, Title: tag, Rating: ptr(rng.IntN(5)), BlogPostsID: &blog})
		}
	} else {
		p = posts[rng.IntN(len(posts))]
	}
	switch rng.IntN(5) {
	case 0:
		// A sync may have deleted it since the query: nothing to do.
		if err := c.ds.Post.Delete(ctx, p); !errors.Is(err, datastore.ErrNotFound) {
			return err
		}
		return nil
	case 1, 2:
		p.Title = tag
	default:
		p.Rating = ptr(rng.IntN(5))
	}
	return c.ds.Post.Save(ctx, p)
}

// randomPartitions cuts px off (refusing and resetting connections) or
// stalls it at random until ctx ends, then heals it.
func randomPartitions(ctx context.Context, px *testenv.Proxy, rng *rand.Rand) {
	defer func() {
		px.SetMode(testenv.Pass)
		px.Resume()
	}()
	for {
		if sleepCtx(ctx, time.Duration(200+rng.IntN(800))*time.Millisecond) != nil {
			return
		}
		switch r := rng.IntN(10); {
		case r < 5:
			px.SetMode(testenv.Refuse)
			px.CutAll()
			err := sleepCtx(ctx, time.Duration(100+rng.IntN(1400))*time.Millisecond)
			px.SetMode(testenv.Pass)
			if err != nil {
				return
			}
		case r < 8:
			px.Stall(time.Duration(50+rng.IntN(450)) * time.Millisecond)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// serverRecords returns every record of model the server knows, live or
// tombstone, as id → deleted.
func serverRecords(t *testing.T, srv *testenv.Server, model string) map[string]bool {
	t.Helper()
	q := fmt.Sprintf(`query($next: String) { sync%ss(limit: 1000, nextToken: $next) { items { id _deleted } nextToken } }`, model)
	out := map[string]bool{}
	var next any
	for {
		resp := srv.Do(t, q, map[string]any{"next": next})
		if resp["errors"] != nil {
			t.Fatalf("sync%ss: %v", model, resp["errors"])
		}
		page := resp["data"].(map[string]any)["sync"+model+"s"].(map[string]any)
		for _, it := range page["items"].([]any) {
			m := it.(map[string]any)
			del, _ := m["_deleted"].(bool)
			out[m["id"].(string)] = del
		}
		if page["nextToken"] == nil {
			return out
		}
		next = page["nextToken"]
	}
}
