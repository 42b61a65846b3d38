package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// BenchmarkMutations measures createPost over HTTP on loopback, from
// parallel clients, with the client's document.
func BenchmarkMutations(b *testing.B) {
	e := newEnv(b, envOptions{})
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprint("bench-", n.Add(1))
			in := map[string]any{"id": id, "title": "Hello wire", "rating": 4, "status": "DRAFT"}
			if _, err := e.tryDo(wireCreatePost, map[string]any{"input": in}, "createPost"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mutations/s")
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
			case <-time.After(20 * time.Second):
				b.Fatalf("event %d: not every subscriber received it within 20s", n)
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
