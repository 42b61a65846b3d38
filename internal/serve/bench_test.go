package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// BenchmarkMutations measures createPost over HTTP on loopback with the
// client's document, from 1, 8 and 32 concurrent clients (each sends its
// next mutation once the previous is answered), with every write synced to
// disk before it is acknowledged (fsync) and with --unsafe-no-fsync, in the
// same run. It reports mutations/s and the p99 latency of one mutation.
func BenchmarkMutations(b *testing.B) {
	for _, mode := range []struct {
		name    string
		noFsync bool
	}{{"fsync", false}, {"no-fsync", true}} {
		for _, clients := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("%s/clients=%d", mode.name, clients), func(b *testing.B) {
				benchmarkMutations(b, clients, mode.noFsync)
			})
		}
	}
}

func benchmarkMutations(b *testing.B, clients int, noFsync bool) {
	e := newEnv(b, envOptions{store: store.Options{UnsafeNoFsync: noFsync}})
	// Keep one connection per client: the default of two idle ones per
	// host would measure connection set-up instead of mutations.
	e.ts.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = clients
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	b.ResetTimer()
	for c := range clients {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				in := map[string]any{"id": fmt.Sprint("bench-", n), "title": "Hello wire", "rating": 4, "status": "DRAFT"}
				start := time.Now()
				if _, err := e.tryDo(wireCreatePost, map[string]any{"input": in}, "createPost"); err != nil {
					errs[c] = err
					return
				}
				lat[c] = append(lat[c], time.Since(start))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mutations/s")
	b.ReportMetric(float64(all[(len(all)-1)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkBaseSync10k measures a full base sync of 10,000 posts in pages
// of 1000, as DataStore's first sync.
func BenchmarkBaseSync10k(b *testing.B) {
	const records = 10_000
	e := newEnv(b, envOptions{})
	e.seedPosts(b, "p", records)
	b.ResetTimer()
	for range b.N {
		if got := len(e.syncAll(b, nil, 1000, 0, nil).items); got != records {
			b.Fatalf("synced %d records, want %d", got, records)
		}
	}
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkSubscriptionLatency100 measures, for 100 WebSocket subscribers,
// the delay from a create's commit (seen on the store's feed) to each
// subscriber's receipt of its data frame.
func BenchmarkSubscriptionLatency100(b *testing.B) {
	const subscribers = 100
	var mu sync.Mutex
	committed := map[string]time.Time{}
	feedCtx, stopFeed := context.WithCancel(context.Background())
	b.Cleanup(stopFeed)
	// The commit is stamped by a feed listener registered before the
	// server's own, so the stamp precedes the hub's publication.
	e := newEnv(b, envOptions{config: func(cfg *serve.Config) {
		cfg.Store.Feed(feedCtx, func(ch store.Change) {
			now := time.Now()
			id, _ := ch.Record.Item["id"].(string)
			mu.Lock()
			committed[id] = now
			mu.Unlock()
		})
	}})
	subs := make([]*wsClient, subscribers)
	for i := range subs {
		c := e.dialWS(b, nil)
		c.init()
		c.subscribe("c", wireOnCreatePost, nil, e.authHeaders())
		subs[i] = c
	}

	type receipt struct {
		id string
		at time.Time
	}
	receipts := make([][]receipt, subscribers)
	errs := make([]error, subscribers)
	var readers sync.WaitGroup
	// Writes are paced: the next mutation is sent once every subscriber
	// has the previous event, so the figure is delivery latency and not
	// time spent queued behind earlier events.
	got := make(chan struct{}, subscribers)
	b.ResetTimer()
	for i, c := range subs {
		readers.Go(func() {
			for len(receipts[i]) < b.N {
				m, err := c.read()
				if err != nil {
					errs[i] = err
					return
				}
				if m.Type != appsync.MsgData {
					continue
				}
				at := time.Now()
				r, err := collectOne(m.Payload)
				if err != nil {
					errs[i] = err
					return
				}
				receipts[i] = append(receipts[i], receipt{r, at})
				got <- struct{}{}
			}
		})
	}
	for n := range b.N {
		in := map[string]any{"id": fmt.Sprint("lat-", n), "title": "t"}
		if _, err := e.tryDo(wireCreatePost, map[string]any{"input": in}, "createPost"); err != nil {
			b.Fatal(err)
		}
		for range subscribers {
			select {
			case <-got:
			case <-time.After(frameWait):
				b.Fatalf("event %d: not every subscriber received it before frameWait", n)
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
			mu.Lock()
			c, ok := committed[r.id]
			mu.Unlock()
			if !ok {
				b.Fatalf("received %s, which was never committed", r.id)
			}
			lat = append(lat, r.at.Sub(c))
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// collectOne returns the post id of a data frame's payload.
func collectOne(payload []byte) (string, error) {
	var p struct {
		Data struct {
			OnCreatePost struct {
				ID string `json:"id"`
			} `json:"onCreatePost"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return "", err
	}
	if p.Data.OnCreatePost.ID == "" {
		return "", fmt.Errorf("data frame without onCreatePost.id: %s", payload)
	}
	return p.Data.OnCreatePost.ID, nil
}

// BenchmarkSyncPagesServed is the server's side of a base sync alone: the
// client's syncPosts document, pages of 1,000 by nextToken over HTTP on
// loopback, each body read only far enough to find its nextToken (nothing
// decoded), so a CPU profile of it is the server's (the sync resolver, the
// store's scan, rendering) plus the HTTP client's small share. CPU-µs/record
// is the process's CPU time (server and that client) per record served.
//
//	go test -run '^$' -bench SyncPagesServed -benchtime 20x -cpuprofile cpu.out ./internal/serve
func BenchmarkSyncPagesServed(b *testing.B) {
	const records = 10_000
	e := newEnv(b, envOptions{})
	e.seedPosts(b, "p", records)
	vars := func(token string) []byte {
		return fmt.Appendf(nil, `{"query":%q,"variables":{"limit":1000,"nextToken":%s,"lastSync":0,"filter":null}}`, wireSyncPosts, token)
	}
	b.ResetTimer()
	cpu0 := benchCPUSeconds(b)
	for range b.N {
		token, served := "null", 0
		for {
			status, raw, err := e.postRaw(vars(token), nil)
			if err != nil || status != http.StatusOK {
				b.Fatalf("syncPosts: status %d, %v: %.300s", status, err, raw)
			}
			served += bytes.Count(raw, []byte(`"_lastChangedAt":`))
			i := bytes.LastIndex(raw, []byte(`"nextToken":`))
			if i < 0 {
				b.Fatalf("syncPosts: no nextToken in %.300s", raw)
			}
			rest := raw[i+len(`"nextToken":`):]
			if bytes.HasPrefix(rest, []byte("null")) {
				break
			}
			end := bytes.IndexByte(rest[1:], '"')
			token = string(rest[:end+2])
		}
		if served != records {
			b.Fatalf("served %d records, want %d", served, records)
		}
	}
	cpu := benchCPUSeconds(b) - cpu0
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(cpu*1e6/float64(records*b.N), "CPU-µs/record")
}

// benchCPUSeconds is the CPU time (user and system) the process has used,
// which a machine shared with other work disturbs less than the wall time.
func benchCPUSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
