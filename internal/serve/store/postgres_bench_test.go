package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
)

// BenchmarkPostgresSyncedWrites is BenchmarkSyncedWrites on PostgreSQL:
// durable creates from 1 and 32 writers, every commit queued on the
// commit clock's row lock and carrying the writes queued meanwhile (group
// commit, see store.Postgres). The pool has a connection per writer.
func BenchmarkPostgresSyncedWrites(b *testing.B) {
	for _, writers := range []int{1, 32} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			url := pgtest.Schema(b) + fmt.Sprintf("&pool_max_conns=%d", writers+2)
			s, err := store.OpenPostgres(context.Background(), url, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			t0, w0 := store.PostgresCommits(s)
			runWriters(b, writers, func(i int64) error {
				item := benchItem(int(i))
				_, err := s.Mutate(context.Background(), "Post", []any{item["id"]}, create(item))
				return err
			})
			t1, w1 := store.PostgresCommits(s)
			b.ReportMetric(float64(w1-w0)/float64(t1-t0), "writes/commit")
		})
	}
}
