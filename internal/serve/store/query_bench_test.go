package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
)

// queryBenchPartitions spreads the records over this many partitions of
// the index, so one partition holds a tenth of the model.
const queryBenchPartitions = 10

func queryBenchItem(i int) map[string]any {
	return map[string]any{
		"id":     fmt.Sprintf("post-%08d", i),
		"blogID": fmt.Sprintf("blog-%d", i%queryBenchPartitions),
		"rank":   float64(i),
		"title":  "A title of a typical length for a post",
	}
}

// openQueryBench opens a store of engine holding n records and the byBlog
// index built over them (the build is setup, not measured).
func openQueryBench(b *testing.B, engine string, n int) store.Store {
	ctx := context.Background()
	var s store.Store
	var err error
	if engine == "badger" {
		s, err = store.Open(ctx, store.Options{Dir: b.TempDir(), UnsafeNoFsync: true, ExpiryInterval: -1})
	} else {
		s, err = store.OpenPostgres(ctx, pgtest.Schema(b), store.Options{ExpiryInterval: -1})
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	const chunk = 50_000
	for lo := 0; lo < n; lo += chunk {
		items := make([]map[string]any, 0, chunk)
		for i := lo; i < min(lo+chunk, n); i++ {
			items = append(items, queryBenchItem(i))
		}
		if err := store.BulkLoad(ctx, s, "Post", items); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Indexes(ctx, []store.Index{byBlog}); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkIndexQueryPage reads one page of 100 records from the middle of
// one index partition (rank > n/2 in blog-5), at 100k and 1M records, on
// both engines: a keyset read costs the page, not the table. The
// "scan-sort" case is what key queries did before the indexes (read the
// whole model, keep the partition, sort, cut the page), at 100k, the most
// they would read.
func BenchmarkIndexQueryPage(b *testing.B) {
	for _, engine := range []string{"badger", "postgres"} {
		for _, n := range []int{100_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/records=%d", engine, n), func(b *testing.B) {
				s := openQueryBench(b, engine, n)
				q := store.Query{Model: "Post", Index: "byBlog", Eq: []any{"blog-5"},
					Sort: &store.SortCond{Op: "gt", Values: []any{float64(n / 2)}}}
				ctx := context.Background()
				for b.Loop() {
					page, err := s.Query(ctx, q, nil, 100)
					if err != nil || len(page.Records) != 100 || page.Next == nil {
						b.Fatalf("page of %d, %v", len(page.Records), err)
					}
				}
			})
		}
		b.Run(engine+"/records=100000/scan-sort", func(b *testing.B) {
			s := openQueryBench(b, engine, 100_000)
			ctx := context.Background()
			for b.Loop() {
				if got := scanSortPage(b, ctx, s, "blog-5", 50_000, 100); len(got) != 100 {
					b.Fatalf("page of %d", len(got))
				}
			}
		})
	}
}

// scanSortPage is the pre-index key query: every record of the model read,
// the partition's kept, sorted by rank, the page after rank `after` cut.
func scanSortPage(b *testing.B, ctx context.Context, s store.Store, blog string, after float64, limit int) []store.Record {
	var matched []store.Record
	var cursor []byte
	for {
		page, err := s.Scan(ctx, "Post", cursor, 1000)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range page.Records {
			if r.Item["blogID"] == blog && r.Item["rank"].(float64) > after {
				matched = append(matched, r)
			}
		}
		if page.Next == nil {
			break
		}
		cursor = page.Next
	}
	slices.SortFunc(matched, func(x, y store.Record) int {
		return int(x.Item["rank"].(float64) - y.Item["rank"].(float64))
	})
	return matched[:min(limit, len(matched))]
}

// BenchmarkMutateIndexed is BenchmarkMutate's "store" case on a model
// with zero, one and three declared indexes, to show what keeping index
// entries costs a write (on disk, unsynced: the engine's cost).
func BenchmarkMutateIndexed(b *testing.B) {
	for _, n := range []int{0, 1, 3} {
		b.Run(fmt.Sprintf("indexes=%d", n), func(b *testing.B) {
			ctx := context.Background()
			s, err := store.Open(ctx, store.Options{Dir: b.TempDir(), UnsafeNoFsync: true, ExpiryInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			defs := []store.Index{
				{Model: "Post", Name: "byBlog", Fields: []string{"blogPostsId", "createdAt"}},
				{Model: "Post", Name: "byRating", Fields: []string{"rating"}},
				{Model: "Post", Name: "byTitle", Fields: []string{"title", "rating"}},
			}[:n]
			if err := s.Indexes(ctx, defs); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				item := benchItem(i)
				i++
				if _, err := s.Mutate(ctx, "Post", []any{item["id"]}, create(item)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
