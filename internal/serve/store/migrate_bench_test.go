package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
)

// BenchmarkRewrite measures a data migration's field rename over 10,000
// records and their 10,000 change-log entries, in batches of 256 (as
// `dsgen serve` migrates), on each engine; it reports records/s (base
// table and log together count one per record).
func BenchmarkRewrite(b *testing.B) {
	const n = 10_000
	for _, name := range []string{"badger", "postgres"} {
		b.Run(name, func(b *testing.B) {
			url, dir := "", b.TempDir()
			if name == "postgres" {
				url = pgtest.Schema(b)
			}
			open := func(o store.Options) store.Store {
				var s store.Store
				var err error
				if url == "" {
					o.Dir = dir
					s, err = store.Open(context.Background(), o)
				} else {
					s, err = store.OpenPostgres(context.Background(), url, o)
				}
				if err != nil {
					b.Fatal(err)
				}
				return s
			}
			// The set-up writes unsynced; the migration runs synced, as serve does.
			s := open(store.Options{UnsafeNoFsync: true})
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for i := w; i < n; i += 8 {
						item := benchItem(i)
						if _, err := s.Mutate(context.Background(), "Post", []any{item["id"]}, create(item)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			s = open(store.Options{})
			defer s.Close()
			m := s.(store.Migrator)
			from, to := "title", "headline"
			b.ResetTimer()
			for range b.N {
				fn := func(key []any, item map[string]any) ([]any, map[string]any, error) {
					item[to] = item[from]
					delete(item, from)
					return nil, item, nil
				}
				for _, log := range []bool{false, true} {
					rw := store.Rewrite{Model: "Post", To: "Post", Log: log, Limit: 256, Fn: fn,
						Mark: func([]byte, bool) store.SchemaMark { return store.SchemaMark{Version: "v"} }}
					for {
						next, done, err := m.RewriteBatch(context.Background(), rw)
						if err != nil {
							b.Fatal(err)
						}
						if done {
							break
						}
						rw.Cursor = next
					}
				}
				from, to = to, from
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
