package realtime_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve/realtime"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// BenchmarkPublishToReceive measures, with 100 subscribers each on its own
// loopback connection, the time from Publish to each subscriber holding the
// decoded data frame. One op is one event delivered to all 100.
func BenchmarkPublishToReceive(b *testing.B) {
	const subscribers = 100
	f := newFixture(b, realtime.Options{})
	latencies := make(chan time.Duration, subscribers)
	for i := range subscribers {
		c := f.ready(b)
		c.start("s", "onCreatePost", nil)
		go func() {
			for {
				_, frame, err := c.ws.Read(b.Context())
				if err != nil {
					return
				}
				var m struct {
					Type    string `json:"type"`
					Payload struct {
						Data struct {
							OnCreatePost struct {
								T int64 `json:"t"`
							} `json:"onCreatePost"`
						} `json:"data"`
					} `json:"payload"`
				}
				if err := json.Unmarshal(frame, &m); err != nil {
					b.Errorf("subscriber %d: %v", i, err)
					return
				}
				if m.Type == appsync.MsgData {
					latencies <- time.Since(time.Unix(0, m.Payload.Data.OnCreatePost.T))
				}
			}
		}()
	}

	all := make([]time.Duration, 0, b.N*subscribers)
	b.ResetTimer()
	for range b.N {
		f.hub.Publish(realtime.Event{Model: "Post", Op: "create", Item: map[string]any{
			"id": "p", "title": "hello", "_version": 1, "t": time.Now().UnixNano(),
		}})
		for range subscribers {
			all = append(all, <-latencies)
		}
	}
	b.StopTimer()
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}
