package syncengine_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"encoding/json"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/runtime/appsync/client"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
)

// BenchmarkBaseSyncProc10k and BenchmarkBaseSyncProc100k time a fresh
// client's base sync (Start→Ready) against `dsgen serve` running as a
// separate process on loopback, so the heap figures are the client's
// alone. Each reports, in the same run, the server alone: the same pages
// (syncPosts, limit 1000, by nextToken to the end) fetched over HTTP and
// discarded unread ("server-records/s"), and the client's CPU time per
// record, the figure a loaded machine disturbs least.
//
//	go test -run '^$' -bench BaseSyncProc -benchtime 3x ./runtime/syncengine
func BenchmarkBaseSyncProc10k(b *testing.B) { benchBaseSyncProc(b, 10_000) }

func BenchmarkBaseSyncProc100k(b *testing.B) {
	if testing.Short() {
		b.Skip("100,000 records: skipped under -short")
	}
	benchBaseSyncProc(b, 100_000)
}

// BenchmarkBaseSyncProc0 is the fixed cost in the figures above: a fresh
// client's Start→Ready against an empty server process (connect, 15
// subscriptions, five sync queries that return nothing, the local
// metadata writes).
func BenchmarkBaseSyncProc0(b *testing.B) { benchBaseSyncProc(b, 0) }

// BenchmarkBaseSyncProc1M syncs 1,000,000 records, to show the client's
// memory stays flat: it runs only with DSGEN_BENCH_1M=1 (seeding the
// server takes minutes).
//
//	DSGEN_BENCH_1M=1 go test -run '^$' -bench BaseSyncProc1M -benchtime 1x -timeout 60m ./runtime/syncengine
func BenchmarkBaseSyncProc1M(b *testing.B) {
	if os.Getenv("DSGEN_BENCH_1M") != "1" {
		b.Skip("1,000,000 records: set DSGEN_BENCH_1M=1")
	}
	benchBaseSyncProc(b, 1_000_000)
}

func benchBaseSyncProc(b *testing.B, n int) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := store.Open(ctx, store.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	benchSeedPosts(b, st, 0, n)
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	srv := testenv.StartServer(b, testenv.ServerOptions{
		Schema: filepath.Join("..", "..", "examples", "blog", "schema.graphql"), DataDir: dir, APIKey: benchKey,
	})
	bs := &benchServer{url: srv.URL}

	var serverTime, clientCPU float64
	var peak heapPeaks
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if n > 0 {
			serverTime += benchServerAlone(b, srv.URL, n)
		}
		c := openBenchClient(b, bs)
		runtime.GC()
		h := startBenchHeapPeak()
		cpu0 := benchCPUSeconds(b)
		stopProfile := benchClientProfile(b)
		b.StartTimer()
		evs := c.start(b)
		b.StopTimer()
		stopProfile()
		clientCPU += benchCPUSeconds(b) - cpu0
		peak = peak.max(h.stop())
		if ms := benchPostSynced(b, evs); !ms.IsFullSync || ms.Items != n || ms.Applied != n {
			b.Fatalf("Post sync: %+v, want a full sync applying %d records", ms, n)
		}
		if got, err := c.ds.Post.Query().Count(ctx); err != nil || got != n {
			b.Fatalf("local store holds %d posts (%v), want %d", got, err, n)
		}
		c.close()
		b.StartTimer()
	}
	if n == 0 {
		b.ReportMetric(clientCPU*1e6/float64(b.N), "client-CPU-µs/op")
		peak.report(b)
		return
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(n*b.N)/serverTime, "server-records/s")
	b.ReportMetric(clientCPU*1e6/float64(n*b.N), "client-CPU-µs/record")
	peak.report(b)
}

// benchClientProfile starts a CPU profile of the timed part alone (the
// client's sync, not the seeding) when DSGEN_BENCH_CLIENT_PROFILE names a
// file; each run overwrites it. Do not combine it with -cpuprofile.
func benchClientProfile(b *testing.B) (stop func()) {
	path := os.Getenv("DSGEN_BENCH_CLIENT_PROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchCPUSeconds is the CPU time (user and system) this process has used:
// with the server in another process, the client's cost per record, which
// unlike the wall time does not depend on what else the machine runs.
func benchCPUSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// benchServerAlone fetches every page of syncPosts from url, limit 1000,
// reading each body only far enough to find its nextToken, and returns the
// seconds it took.
func benchServerAlone(b *testing.B, url string, n int) float64 {
	b.Helper()
	hc := &http.Client{}
	sch := blogm.Schema()
	docs, err := client.Documents(sch, sch.Model("Post"))
	if err != nil {
		b.Fatal(err)
	}
	q, err := json.Marshal(docs.Sync)
	if err != nil {
		b.Fatal(err)
	}
	token := "null"
	start := time.Now()
	pages := 0
	for {
		body := fmt.Sprintf(`{"query":%s,"variables":{"limit":%d,"nextToken":%s,"lastSync":0,"filter":null}}`, q, benchPage, token)
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-api-key", benchKey)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("syncPosts: status %d, %v: %.200s", resp.StatusCode, err, data)
		}
		pages++
		i := bytes.LastIndex(data, []byte(`"nextToken":`))
		if i < 0 {
			b.Fatalf("syncPosts: no nextToken in %.200s", data)
		}
		rest := data[i+len(`"nextToken":`):]
		if bytes.HasPrefix(rest, []byte("null")) {
			break
		}
		end := bytes.IndexByte(rest[1:], '"')
		token = string(rest[:end+2])
	}
	if want := (n + 999) / 1000; pages < want {
		b.Fatalf("syncPosts: %d pages, want at least %d", pages, want)
	}
	return time.Since(start).Seconds()
}
