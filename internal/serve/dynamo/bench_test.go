package dynamo

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
)

// writeBenchTable writes n Post items in the table export format, one in
// ten a tombstone.
func writeBenchTable(b *testing.B, n int) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "Post-bench-prod.json")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := range n {
		it := map[string]any{
			"id": map[string]any{"S": fmt.Sprintf("p%07d", i)}, "title": map[string]any{"S": fmt.Sprintf("Title %d", i)},
			"rating": map[string]any{"N": fmt.Sprint(i % 5)}, "status": map[string]any{"S": "PUBLISHED"},
			"blogPostsId": map[string]any{"S": "b1"}, "createdAt": map[string]any{"S": "2026-11-20T08:10:00.000Z"},
			"updatedAt": map[string]any{"S": "2026-11-23T07:00:00.000Z"}, "__typename": map[string]any{"S": "Post"},
			"_version": map[string]any{"N": fmt.Sprint(1 + i%7)}, "_lastChangedAt": map[string]any{"N": fmt.Sprint(1795417200000 + i)},
		}
		if i%10 == 0 {
			it["_deleted"] = map[string]any{"BOOL": true}
			it["_ttl"] = map[string]any{"N": "4102444800"}
		}
		if err := enc.Encode(map[string]any{"Item": it}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkImport measures an import of 20,000 items into Badger on disk,
// both passes (check, load) and the epoch: see records/s.
func BenchmarkImport(b *testing.B) {
	const n = 20_000
	file := writeBenchTable(b, n)
	s := blogSchema(b)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		st, err := store.Open(context.Background(), store.Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := Import(context.Background(), s, st, []Table{{Model: "Post", Files: []string{file}}}, ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
