package datastore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/jsonread"
)

// BenchmarkApplyRemote times the local half of a base sync without the
// network: a fresh store takes n Posts in pages of 1,000, each page one
// ApplyRemote marked seen by the full sync, the items shaped as the
// AppSync client decodes a sync page (json.Number numbers, a null blog).
// The figure to compare is CPU-µs/record (the process's, Badger's work
// included): the engine's cost per record apart from fetching and decoding.
//
//	go test -run '^$' -bench ApplyRemote -benchtime 3x ./runtime/datastore
//
// The text variants start from the records as JSON text, as a sync page
// brings them: "decoded" decodes each page as the AppSync client does
// for ApplyRemote (jsonread, keys interned), "json" gives the text to
// ApplyRemoteJSON, as the sync engine does with a plain page.
func BenchmarkApplyRemote(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchApplyRemote(b, n, "") })
		b.Run(fmt.Sprintf("n=%d/decoded", n), func(b *testing.B) { benchApplyRemote(b, n, "decoded") })
		b.Run(fmt.Sprintf("n=%d/json", n), func(b *testing.B) { benchApplyRemote(b, n, "json") })
	}
}

func benchApplyRemote(b *testing.B, n int, variant string) {
	{
		{
			ctx := context.Background()
			page := applyBenchPage()
			var text []byte
			var raws []json.RawMessage
			var cpu float64
			for range b.N {
				b.StopTimer()
				ds, err := model.Open(ctx, b.TempDir(), datastore.Outbox())
				if err != nil {
					b.Fatal(err)
				}
				st := ds.Store()
				if err := st.Start(ctx); err != nil {
					b.Fatal(err)
				}
				cpu0 := applyBenchCPU(b)
				b.StartTimer()
				for i := 0; i < n; i += len(page) {
					var res datastore.ApplyResult
					var err error
					switch variant {
					case "json":
						text, raws = applyBenchJSON(text[:0], raws[:0], i, len(page))
						res, err = st.Sync().ApplyRemoteJSON(ctx, "Post", raws, datastore.SeenIn(1_700_000_000_000))
					case "decoded":
						text, raws = applyBenchJSON(text[:0], raws[:0], i, len(page))
						keys := map[string]string{}
						items := make([]map[string]any, len(raws))
						for j, r := range raws {
							v, _ := jsonread.Parse(r, jsonread.Options{Keys: keys, MaxKeys: 1024})
							items[j] = v.(map[string]any)
						}
						res, err = st.Sync().ApplyRemote(ctx, "Post", items, datastore.SeenIn(1_700_000_000_000))
					default:
						applyBenchFill(page, i)
						res, err = st.Sync().ApplyRemote(ctx, "Post", page, datastore.SeenIn(1_700_000_000_000))
					}
					if err != nil || res.Applied != len(page) {
						b.Fatalf("ApplyRemote: %+v, %v", res, err)
					}
				}
				b.StopTimer()
				cpu += applyBenchCPU(b) - cpu0
				if c, err := ds.Post.Query().Count(ctx); err != nil || c != n {
					b.Fatalf("local store holds %d posts (%v), want %d", c, err, n)
				}
				if err := ds.Close(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n*b.N), "µs/record")
			b.ReportMetric(cpu*1e6/float64(n*b.N), "CPU-µs/record")
		}
	}
}

// applyBenchJSON appends to text the records of applyBenchPage from id
// first on as dsgen serve writes them, and to raws each one's text.
func applyBenchJSON(text []byte, raws []json.RawMessage, first, n int) ([]byte, []json.RawMessage) {
	text = slices.Grow(text, n*300)
	for j := range n {
		start := len(text)
		id := fmt.Appendf(nil, "p%06d", first+j)
		text = fmt.Appendf(text, `{"id":"%s","title":"Seeded post number %[1]s","rating":%d,"status":"PUBLISHED",`+
			`"blogPostsId":null,"createdAt":"2026-12-02T20:00:00.000Z","updatedAt":"2026-12-02T20:00:00.000Z",`+
			`"_version":1,"_lastChangedAt":1764705600000,"_deleted":null,"blog":null}`, id, j%5)
		raws = append(raws, text[start:])
	}
	return text, raws
}

// applyBenchCPU is the CPU time (user and system) the process has used,
// Badger's goroutines included: unlike the wall time, it hardly depends on
// what else the machine runs.
func applyBenchCPU(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// applyBenchPage returns a page of 1,000 Posts shaped as the AppSync
// client decodes them; applyBenchFill gives them their ids. One page is
// reused so that the benchmark's own live heap stays as small as the
// engine's (a page or two), which keeps the GC's share realistic.
func applyBenchPage() []map[string]any {
	stamp := "2026-12-02T20:00:00.000Z"
	page := make([]map[string]any, 1000)
	for j := range page {
		page[j] = map[string]any{
			"rating": json.Number(strconv.Itoa(j % 5)), "status": "PUBLISHED",
			"createdAt": stamp, "updatedAt": stamp, "blogPostsId": nil,
			"_version": json.Number("1"), "_lastChangedAt": json.Number("1764705600000"),
			"_deleted": nil, "blog": nil,
		}
	}
	return page
}

// applyBenchFill gives the items of page the ids from first on, in the
// order the server lists them.
func applyBenchFill(page []map[string]any, first int) {
	for j, item := range page {
		id := fmt.Sprintf("p%06d", first+j)
		item["id"], item["title"] = id, "Seeded post number "+id
	}
}
