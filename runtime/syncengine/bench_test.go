package syncengine_test

// Benchmarks of issue 5 "Speed": base sync, delta sync, outbox drain and
// write-to-other-client latency, each against `dsgen serve` in-process on
// loopback over Badger on disk, and the floor a base sync is compared with
// (the same pages fetched and applied without the engine).
//
//	go test -run '^$' -bench . -benchtime 3x ./runtime/syncengine
//
// Seeding, opening stores and starting servers happen with the timer
// stopped; only the sync work is timed.

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

const (
	benchKey = "da2-engine-bench"
	// benchPage is the page size Amplify DataStore uses by default.
	benchPage = 1000
	// benchHangGuard ends a benchmark that stopped making progress (an engine
	// stuck reconnecting) instead of waiting for go test's own timeout.
	benchHangGuard = 3 * time.Minute
)

// benchServer is dsgen serve in-process on loopback over Badger on disk.
type benchServer struct {
	url   string
	st    store.Store
	close func()
}

// startBenchServer starts a server whose store holds posts seeded Posts
// (ids p000000...), written to the store directly before the server
// starts, from a few goroutines.
func startBenchServer(tb testing.TB, posts int) *benchServer {
	tb.Helper()
	ctx := context.Background()
	sch, err := schema.LoadPath(filepath.Join("..", "..", "examples", "blog", "schema.graphql"), schema.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(ctx, store.Options{Dir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	benchSeedPosts(tb, st, 0, posts)
	srv, err := serve.New(serve.Config{Schema: sch, Store: st, DefaultConflict: serve.Automerge,
		Auth: auth.Config{APIKeys: []auth.APIKey{{Key: benchKey}}}})
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	closeFn := sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
		_ = st.Close()
	})
	tb.Cleanup(closeFn)
	return &benchServer{url: ts.URL + "/graphql", st: st, close: closeFn}
}

// benchPostID names the i-th seeded post.
func benchPostID(i int) string { return fmt.Sprintf("p%06d", i) }

// benchSeedPosts creates posts [from, to) in st.
func benchSeedPosts(tb testing.TB, st store.Store, from, to int) {
	tb.Helper()
	stamp := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	benchParallel(tb, from, to, func(ctx context.Context, i int) error {
		id := benchPostID(i)
		item := map[string]any{"id": id, "title": "Seeded post number " + id, "rating": float64(i % 5),
			"status": "PUBLISHED", "createdAt": stamp, "updatedAt": stamp}
		_, err := st.Mutate(ctx, "Post", []any{id}, func(*store.Record) (map[string]any, store.Op, error) {
			return item, store.OpCreate, nil
		})
		return err
	})
}

// benchUpdatePosts changes the title of posts [0, n) in st, as writes by other
// clients would.
func benchUpdatePosts(tb testing.TB, st store.Store, n int, title string) {
	tb.Helper()
	benchParallel(tb, 0, n, func(ctx context.Context, i int) error {
		_, err := st.Mutate(ctx, "Post", []any{benchPostID(i)}, func(cur *store.Record) (map[string]any, store.Op, error) {
			if cur == nil || cur.Deleted {
				return nil, 0, fmt.Errorf("post %s is not there to update", benchPostID(i))
			}
			item := make(map[string]any, len(cur.Item))
			for k, v := range cur.Item {
				item[k] = v
			}
			item["title"] = title
			return item, store.OpUpdate, nil
		})
		return err
	})
}

// benchParallel runs fn for every i in [from, to) from 8 goroutines and
// fails tb with the first error.
func benchParallel(tb testing.TB, from, to int, fn func(ctx context.Context, i int) error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const workers = 8
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := from + w; i < to; i += workers {
				if err := fn(ctx, i); err != nil {
					errs[w] = fmt.Errorf("record %d: %w", i, err)
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// benchClient is a Go app with a blog store on disk and a sync engine that
// has not started.
type benchClient struct {
	ds     *blogm.DataStore
	eng    *syncengine.Engine
	events <-chan syncengine.Event
	close  func()
}

func openBenchClient(tb testing.TB, s *benchServer) *benchClient {
	tb.Helper()
	ctx := context.Background()
	ds, err := blogm.Open(ctx, tb.TempDir(), datastore.Outbox())
	if err != nil {
		tb.Fatal(err)
	}
	eng, err := syncengine.New(ds.Store(), syncengine.Config{
		Endpoint: s.url, Auth: client.APIKey(benchKey),
		SyncPageSize: benchPage, MaxRecordsToSync: 1_000_000,
		MaxBackoff: 300 * time.Millisecond,
	})
	if err != nil {
		tb.Fatal(err)
	}
	evCtx, stopEvents := context.WithCancel(ctx)
	c := &benchClient{ds: ds, eng: eng, events: eng.Events(evCtx)}
	c.close = sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		stopEvents()
		if err := eng.Close(ctx); err != nil {
			tb.Errorf("engine close: %v", err)
		}
		if err := ds.Close(ctx); err != nil {
			tb.Errorf("store close: %v", err)
		}
	})
	tb.Cleanup(c.close)
	return c
}

// start starts the engine and waits for Ready, returning the events seen
// until then.
func (c *benchClient) start(tb testing.TB) []syncengine.Event {
	tb.Helper()
	if err := c.eng.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return c.until(tb, "ready", func(ev syncengine.Event) bool {
		_, ok := ev.(syncengine.Ready)
		return ok
	})
}

// until collects events until done reports true for one of them.
func (c *benchClient) until(tb testing.TB, what string, done func(syncengine.Event) bool) []syncengine.Event {
	tb.Helper()
	guard := time.NewTimer(benchHangGuard)
	defer guard.Stop()
	var seen []syncengine.Event
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				tb.Fatalf("events ended before %s", what)
			}
			seen = append(seen, ev)
			if done(ev) {
				return seen
			}
		case <-guard.C:
			tb.Fatalf("no progress towards %s in %v (events so far: %v)", what, benchHangGuard, seen)
		}
	}
}

func (c *benchClient) stop(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.eng.Stop(ctx); err != nil {
		tb.Fatal(err)
	}
}

// benchPostSynced returns the ModelSynced event of Post among evs.
func benchPostSynced(tb testing.TB, evs []syncengine.Event) syncengine.ModelSynced {
	tb.Helper()
	for _, ev := range evs {
		if ms, ok := ev.(syncengine.ModelSynced); ok && ms.Model == "Post" {
			return ms
		}
	}
	tb.Fatalf("no ModelSynced event for Post in %v", evs)
	return syncengine.ModelSynced{}
}

// heapPeaks are the highest heap figures seen during a sync, in bytes.
type heapPeaks struct {
	// Heap is the heap objects, live and not yet swept: what the process
	// holds, which the GC lets grow to about twice the live heap.
	Heap uint64
	// Live is the heap the last GC found reachable.
	Live uint64
}

func (p heapPeaks) max(q heapPeaks) heapPeaks {
	return heapPeaks{Heap: max(p.Heap, q.Heap), Live: max(p.Live, q.Live)}
}

// report adds the peaks to b's results.
func (p heapPeaks) report(b *testing.B) {
	b.ReportMetric(float64(p.Heap)/1e6, "peak-heap-MB")
	b.ReportMetric(float64(p.Live)/1e6, "peak-live-MB")
}

// benchHeapPeak samples the heap every 2 ms until stopped; runtime/metrics
// reads it without stopping the world, so sampling barely disturbs what
// it measures.
//
// With DSGEN_BENCH_HEAPPROF set to a directory, it also writes a heap
// profile there (heap-<n>-live-<MB>.pprof) each time the live heap passes
// a new multiple of 5 MB, to see what grows during a sync.
type benchHeapPeak struct {
	stopc chan struct{}
	done  chan heapPeaks
}

// benchHeapProfStep is the live-heap growth between two dumped profiles.
const benchHeapProfStep = 5 << 20

func startBenchHeapPeak() *benchHeapPeak {
	h := &benchHeapPeak{stopc: make(chan struct{}), done: make(chan heapPeaks, 1)}
	profDir := os.Getenv("DSGEN_BENCH_HEAPPROF")
	go func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
		var peak heapPeaks
		var dumped uint64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = peak.max(heapPeaks{Heap: sample[0].Value.Uint64(), Live: sample[1].Value.Uint64()})
			if live := sample[1].Value.Uint64(); profDir != "" && live/benchHeapProfStep > dumped {
				dumped = live / benchHeapProfStep
				benchDumpHeap(profDir, live)
			}
			select {
			case <-tick.C:
			case <-h.stopc:
				h.done <- peak
				return
			}
		}
	}()
	return h
}

// benchDumpHeap writes the heap profile to dir, named by the live heap;
// a benchmark aid, so a failure is printed and otherwise ignored. It
// collects garbage first (which disturbs the figures of that run) so that
// the profile shows what is live now rather than one or two cycles ago.
func benchDumpHeap(dir string, live uint64) {
	runtime.GC()
	name := filepath.Join(dir, fmt.Sprintf("heap-%d-live-%03dMB.pprof", os.Getpid(), live>>20))
	f, err := os.Create(name)
	if err == nil {
		err = errors.Join(pprof.WriteHeapProfile(f), f.Close())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "heap profile:", err)
	}
}

// stop ends the sampling and returns the peaks.
func (h *benchHeapPeak) stop() heapPeaks {
	close(h.stopc)
	return <-h.done
}

func BenchmarkBaseSync10k(b *testing.B) { benchBaseSync(b, 10_000) }

func BenchmarkBaseSync100k(b *testing.B) {
	if testing.Short() {
		b.Skip("100,000 records: skipped under -short")
	}
	benchBaseSync(b, 100_000)
}

// benchBaseSync times a fresh client's Start→Ready against a server
// holding n posts: subscriptions, the sync query of every model in pages of
// 1,000, the (empty) outbox drain. The heap peak covers the whole process,
// server included; it must not grow with n if pages are streamed.
func benchBaseSync(b *testing.B, n int) {
	s := startBenchServer(b, n)
	var peak heapPeaks
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		c := openBenchClient(b, s)
		runtime.GC()
		h := startBenchHeapPeak()
		b.StartTimer()
		evs := c.start(b)
		b.StopTimer()
		peak = peak.max(h.stop())
		if ms := benchPostSynced(b, evs); !ms.IsFullSync || ms.Items != n || ms.Applied != n {
			b.Fatalf("Post sync: %+v, want a full sync applying %d records", ms, n)
		}
		if got, err := c.ds.Post.Query().Count(context.Background()); err != nil || got != n {
			b.Fatalf("local store holds %d posts (%v), want %d", got, err, n)
		}
		c.close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	peak.report(b)
}

// BenchmarkBaseSyncFloor10k is what a base sync of the same 10,000 posts
// costs without the engine: apply fetches the pages with the AppSync
// client and writes each with one ApplyRemote (as the engine does, marking
// them seen for the full-sync sweep); fetch only fetches and decodes them.
func BenchmarkBaseSyncFloor10k(b *testing.B) { benchBaseSyncFloor(b, 10_000) }

// BenchmarkBaseSyncFloor100k is the floor of BenchmarkBaseSync100k; its
// peak heap is the part of the engine's that Badger and the server take.
func BenchmarkBaseSyncFloor100k(b *testing.B) {
	if testing.Short() {
		b.Skip("100,000 records: skipped under -short")
	}
	benchBaseSyncFloor(b, 100_000)
}

func benchBaseSyncFloor(b *testing.B, n int) {
	s := startBenchServer(b, n)
	cl, err := client.New(s.url, client.APIKey(benchKey))
	if err != nil {
		b.Fatal(err)
	}
	sch := blogm.Schema()
	docs, err := client.Documents(sch, sch.Model("Post"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// pages fetches every page, handing each to apply.
	pages := func(b *testing.B, apply func(page client.SyncPage) error) int {
		items, token := 0, ""
		for {
			page, err := cl.Sync(ctx, docs, client.SyncArgs{Limit: benchPage, NextToken: token})
			if err != nil {
				b.Fatal(err)
			}
			if err := apply(page); err != nil {
				b.Fatal(err)
			}
			items += len(page.Items)
			if token = page.NextToken; token == "" {
				return items
			}
		}
	}
	b.Run("apply", func(b *testing.B) {
		var peak heapPeaks
		for range b.N {
			b.StopTimer()
			ds, err := blogm.Open(ctx, b.TempDir(), datastore.Outbox())
			if err != nil {
				b.Fatal(err)
			}
			st := ds.Store()
			if err := st.Start(ctx); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			h := startBenchHeapPeak()
			b.StartTimer()
			got := pages(b, func(page client.SyncPage) error {
				_, err := st.Sync().ApplyRemote(ctx, "Post", page.Items, datastore.SeenIn(page.StartedAt))
				return err
			})
			b.StopTimer()
			peak = peak.max(h.stop())
			if got != n {
				b.Fatalf("fetched %d records, want %d", got, n)
			}
			if c, err := ds.Post.Query().Count(ctx); err != nil || c != n {
				b.Fatalf("local store holds %d posts (%v), want %d", c, err, n)
			}
			if err := ds.Close(ctx); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		peak.report(b)
	})
	b.Run("fetch", func(b *testing.B) {
		for range b.N {
			if got := pages(b, func(client.SyncPage) error { return nil }); got != n {
				b.Fatalf("fetched %d records, want %d", got, n)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// BenchmarkDeltaSync1k: a client synced 10,000 posts and stopped; 1,000 of
// them changed on the server meanwhile; time its Start→Ready, which syncs
// only the changes.
func BenchmarkDeltaSync1k(b *testing.B) {
	const base, changes = 10_000, 1_000
	s := startBenchServer(b, base)
	c := openBenchClient(b, s)
	c.start(b)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		c.stop(b)
		title := fmt.Sprint("changed in round ", i)
		benchUpdatePosts(b, s.st, changes, title)
		b.StartTimer()
		evs := c.start(b)
		b.StopTimer()
		if ms := benchPostSynced(b, evs); !ms.IsDeltaSync || ms.Items != changes || ms.Applied != changes {
			b.Fatalf("Post sync: %+v, want a delta sync applying %d records", ms, changes)
		}
		p, err := c.ds.Post.Get(context.Background(), benchPostID(changes-1))
		if err != nil || p.Title != title {
			b.Fatalf("post %s after the delta sync: %+v, %v; want title %q", benchPostID(changes-1), p, err, title)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(changes*b.N)/b.Elapsed().Seconds(), "changes/s")
}

// BenchmarkStartEmpty is the fixed cost in the figures above: Start→Ready
// of a synced client when nothing changed (connect, 15 subscriptions, five
// delta sync queries that return nothing).
func BenchmarkStartEmpty(b *testing.B) {
	s := startBenchServer(b, 0)
	c := openBenchClient(b, s)
	c.start(b)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		c.stop(b)
		b.StartTimer()
		c.start(b)
	}
}

// BenchmarkOutboxDrain times the sending of 1,000 queued creates, one at a
// time as the engine sends them, until the backend has acknowledged all of
// them. offline: the posts were saved before Start (time from Start, which
// includes BenchmarkStartEmpty's fixed cost); online: a ready client saves
// them one by one (the saves are timed too).
func BenchmarkOutboxDrain(b *testing.B) {
	const n = 1_000
	ctx := context.Background()
	save := func(b *testing.B, c *benchClient, round int) {
		for i := range n {
			rating := i % 5
			p := &blogm.Post{ID: fmt.Sprintf("r%d-%s", round, benchPostID(i)), Title: "Written offline", Rating: &rating}
			if err := c.ds.Post.Save(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
	}
	processed := func(ev syncengine.Event) bool {
		_, ok := ev.(syncengine.OutboxMutationProcessed)
		return ok
	}
	// check verifies the server holds every post of the round.
	check := func(b *testing.B, s *benchServer, c *benchClient, round int) {
		for _, i := range []int{0, n - 1} {
			id := fmt.Sprintf("r%d-%s", round, benchPostID(i))
			if _, err := s.st.Get(ctx, "Post", []any{id}); err != nil {
				b.Fatalf("server lacks %s after the drain: %v", id, err)
			}
		}
		if box, err := c.ds.Store().Outbox(ctx); err != nil || len(box) != 0 {
			b.Fatalf("outbox holds %d mutations (%v) after %d acknowledgements", len(box), err, n)
		}
	}
	b.Run("offline", func(b *testing.B) {
		for round := range b.N {
			b.StopTimer()
			// A fresh server each round, so the base sync has nothing to
			// fetch.
			s := startBenchServer(b, 0)
			c := openBenchClient(b, s)
			save(b, c, round)
			b.StartTimer()
			if err := c.eng.Start(ctx); err != nil {
				b.Fatal(err)
			}
			for k := range n {
				c.until(b, fmt.Sprintf("acknowledgement %d of %d", k+1, n), processed)
			}
			b.StopTimer()
			check(b, s, c, round)
			c.close()
			s.close()
			b.StartTimer()
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "mutations/s")
	})
	b.Run("online", func(b *testing.B) {
		s := startBenchServer(b, 0)
		c := openBenchClient(b, s)
		c.start(b)
		b.ResetTimer()
		for round := range b.N {
			save(b, c, round)
			for k := range n {
				c.until(b, fmt.Sprintf("acknowledgement %d of %d", k+1, n), processed)
			}
			b.StopTimer()
			check(b, s, c, round)
			b.StartTimer()
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "mutations/s")
	})
}

// BenchmarkWriteToOtherClient measures the delay from a save on one client
// to the record's arrival in another client's store (seen by Observe):
// mutation over HTTP, commit, subscription event over WebSocket,
// ApplyRemote. Writes are paced: the next is saved once the previous
// arrived.
func BenchmarkWriteToOtherClient(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := startBenchServer(b, 0)
	a, o := openBenchClient(b, s), openBenchClient(b, s)
	a.start(b)
	o.start(b)
	changes := o.ds.Post.Observe(ctx)
	lat := make([]time.Duration, 0, b.N)
	guard := time.NewTimer(benchHangGuard)
	defer guard.Stop()
	b.ResetTimer()
	for i := range b.N {
		id := benchPostID(i)
		guard.Reset(benchHangGuard)
		t0 := time.Now()
		if err := a.ds.Post.Save(ctx, &blogm.Post{ID: id, Title: "From the other client"}); err != nil {
			b.Fatal(err)
		}
	wait:
		for {
			select {
			case ch, ok := <-changes:
				if !ok {
					b.Fatal("observe channel ended")
				}
				if ch.Err != nil {
					b.Fatal(ch.Err)
				}
				if ch.FromSync && ch.Element.ID == id {
					break wait
				}
			case <-guard.C:
				b.Fatalf("post %s did not reach the other client in %v", id, benchHangGuard)
			}
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
