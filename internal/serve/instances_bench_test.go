package serve_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// Workloads of one iteration of BenchmarkInstances (run it with
// -benchtime=1x: every iteration is a whole workload).
const (
	instMutations   = 3000    // createBlog mutations per iteration, from instClients clients
	instClients     = 32      // concurrent mutation clients, spread over the instances
	instRecords     = 100_000 // posts seeded for the base sync
	instEvents      = 200     // creates per latency iteration
	instSubscribers = 100     // WebSocket subscribers, spread over the instances
)

const instCreateBlog = `mutation ($input: CreateBlogInput!) { createBlog(input: $input) { id name _version _lastChangedAt _deleted } }`

// BenchmarkInstances compares the Badger engine (one instance) with 1, 2
// and 4 instances on one PostgreSQL database, in one run: mutations/s from
// 32 clients spread over the instances, a base sync of 100,000 posts
// (records/s, pages of 1000, through one instance), and commit → event
// latency to 100 subscribers spread over the instances while one instance
// writes (p50/p99, stamped by the writing instance's feed at commit). The
// instances are in this process, each with its own store (connection pool
// and LISTEN connection) and HTTP server; all of them, PostgreSQL and the
// clients share the machine's cores.
//
//	DSGEN_TEST_POSTGRES=$(scripts/pg-test.sh start) go test ./internal/serve -run '^$' -bench BenchmarkInstances -benchtime 1x
func BenchmarkInstances(b *testing.B) {
	pgURL := pgtest.Schema(b)
	var seeded bool
	for _, c := range []struct {
		name string
		pg   bool
		n    int
	}{{"badger", false, 1}, {"postgres-1", true, 1}, {"postgres-2", true, 2}, {"postgres-4", true, 4}} {
		b.Run(c.name, func(b *testing.B) {
			var stores []store.Store
			if c.pg {
				if !seeded {
					seedPG(b, pgURL, instRecords)
					seeded = true
				}
				for range c.n {
					st, err := store.OpenPostgres(context.Background(), pgURL, store.Options{})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { st.Close() })
					stores = append(stores, st)
				}
			} else {
				st := testenv.OpenStore(b, store.Options{})
				seedStore(b, st, instRecords)
				stores = append(stores, st)
			}
			stamps := &commitStamps{at: map[string]time.Time{}}
			envs := make([]*env, len(stores))
			for i, st := range stores {
				if i == 0 {
					ctx, cancel := context.WithCancel(context.Background())
					b.Cleanup(cancel)
					// Registered before the server's own listener: the stamp
					// precedes the hub's publication on the writing instance.
					st.Feed(ctx, stamps.record)
				}
				envs[i] = instanceEnv(b, st)
			}
			b.Run("mutations", func(b *testing.B) { benchInstanceMutations(b, envs) })
			b.Run("basesync", func(b *testing.B) { benchInstanceBaseSync(b, envs[0]) })
			b.Run("latency", func(b *testing.B) { benchInstanceLatency(b, envs, stamps) })
		})
	}
}

// instanceEnv serves st on a loopback port.
func instanceEnv(b *testing.B, st store.Store) *env {
	schema := testenv.BlogSchema(b)
	cfg := serve.Config{
		Schema:      schema,
		Store:       st,
		Auth:        auth.Config{APIKeys: []auth.APIKey{{Key: testAPIKey}}},
		TokenSecret: []byte("conformance-suite-token-secret!!"),
	}
	_, ts := testenv.Serve(b, cfg, false)
	ts.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = instClients
	return &env{ts: ts, schema: schema, headers: map[string]string{"x-api-key": testAPIKey}}
}

// seedPG writes n posts through a store with synchronous_commit off (the
// seeding is not measured), from 32 goroutines.
func seedPG(b *testing.B, url string, n int) {
	st, err := store.OpenPostgres(context.Background(), url, store.Options{UnsafeNoFsync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	seedStore(b, st, n)
}

func seedStore(b *testing.B, st store.Store, n int) {
	ctx := context.Background()
	stamp := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for g := range 32 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				id := fmt.Sprintf("seed%06d", i)
				item := map[string]any{"id": id, "title": "seeded " + id, "rating": float64(i % 10), "createdAt": stamp, "updatedAt": stamp}
				if _, err := st.Mutate(ctx, "Post", []any{id}, func(*store.Record) (map[string]any, store.Op, error) {
					return item, store.OpCreate, nil
				}); err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
}

var instSeq atomic.Int64 // unique ids across iterations and configurations

func benchInstanceMutations(b *testing.B, envs []*env) {
	var lat []time.Duration
	var mu sync.Mutex
	for range b.N {
		var next atomic.Int64
		errs := make([]error, instClients)
		var wg sync.WaitGroup
		for c := range instClients {
			e := envs[c%len(envs)]
			wg.Go(func() {
				var mine []time.Duration
				defer func() { mu.Lock(); lat = append(lat, mine...); mu.Unlock() }()
				for next.Add(1) <= instMutations {
					in := map[string]any{"id": fmt.Sprint("mb-", instSeq.Add(1)), "name": "bench"}
					start := time.Now()
					if _, err := e.tryDo(instCreateBlog, map[string]any{"input": in}, "createBlog"); err != nil {
						errs[c] = err
						return
					}
					mine = append(mine, time.Since(start))
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(instMutations*b.N)/b.Elapsed().Seconds(), "mutations/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
}

func benchInstanceBaseSync(b *testing.B, e *env) {
	total := 0
	for range b.N {
		n := len(e.syncAll(b, nil, 1000, 0, nil).items)
		if n < instRecords {
			b.Fatalf("base sync returned %d posts, want at least %d", n, instRecords)
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
}

// commitStamps records when the writing instance's feed saw each post.
type commitStamps struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (c *commitStamps) record(ch store.Change) {
	now := time.Now()
	id, _ := ch.Record.Item["id"].(string)
	c.mu.Lock()
	c.at[id] = now
	c.mu.Unlock()
}

func (c *commitStamps) get(id string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.at[id]
	return t, ok
}

func benchInstanceLatency(b *testing.B, envs []*env, stamps *commitStamps) {
	subs := make([]*wsClient, instSubscribers)
	for i := range subs {
		e := envs[i%len(envs)]
		c := e.dialWS(b, nil)
		c.init()
		c.subscribe("c", wireOnCreatePost, nil, e.authHeaders())
		subs[i] = c
	}
	type receipt struct {
		id string
		at time.Time
	}
	want := instEvents * b.N
	receipts := make([][]receipt, len(subs))
	errs := make([]error, len(subs))
	got := make(chan struct{}, len(subs))
	var readers sync.WaitGroup
	b.ResetTimer()
	for i, c := range subs {
		readers.Go(func() {
			for len(receipts[i]) < want {
				m, err := c.read()
				if err != nil {
					errs[i] = err
					return
				}
				if m.Type != appsync.MsgData {
					continue
				}
				at := time.Now()
				id, err := collectOne(m.Payload)
				if err != nil {
					errs[i] = err
					return
				}
				receipts[i] = append(receipts[i], receipt{id, at})
				got <- struct{}{}
			}
		})
	}
	// Paced: the next create goes once every subscriber has the previous
	// event, so the figure is delivery latency, not queueing.
	for n := range want {
		in := map[string]any{"id": fmt.Sprint("lat-", instSeq.Add(1)), "title": "t"}
		if _, err := envs[0].tryDo(wireCreatePost, map[string]any{"input": in}, "createPost"); err != nil {
			b.Fatal(err)
		}
		for range subs {
			select {
			case <-got:
			case <-time.After(frameWait):
				b.Fatalf("event %d: not every subscriber received it", n)
			}
		}
	}
	readers.Wait()
	b.StopTimer()
	var lat []time.Duration
	for i := range subs {
		if errs[i] != nil {
			b.Fatalf("subscriber %d: %v", i, errs[i])
		}
		for _, r := range receipts[i] {
			c, ok := stamps.get(r.id)
			if !ok {
				b.Fatalf("received %s, which the writing instance never saw committed", r.id)
			}
			lat = append(lat, r.at.Sub(c))
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	for _, c := range subs {
		c.c.CloseNow()
	}
}
