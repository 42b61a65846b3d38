package store_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/storage"
)

func benchItem(i int) map[string]any {
	return map[string]any{
		"id":          fmt.Sprintf("post-%08d", i),
		"title":       "A title of a typical length for a post",
		"blogPostsId": "blog-1",
		"rating":      float64(i % 5),
		"createdAt":   "2024-01-01T00:00:00.000Z",
		"updatedAt":   "2024-01-01T00:00:00.000Z",
	}
}

func create(item map[string]any) store.MutateFunc {
	return func(*store.Record) (map[string]any, store.Op, error) { return item, store.OpCreate, nil }
}

// BenchmarkMutate compares a create through the engine (record, log entry,
// per-key index, expiry entry and state in one transaction, through the
// committer) with raw Badger doing a single Set of the same JSON in a
// transaction, on disk, both unsynced (the engine's cost, not the disk's),
// and logs the ratio.
func BenchmarkMutate(b *testing.B) {
	var storeNs, rawNs float64
	b.Run("store", func(b *testing.B) {
		s, err := store.Open(context.Background(), store.Options{Dir: b.TempDir(), UnsafeNoFsync: true})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			item := benchItem(i)
			if _, err := s.Mutate(ctx, "Post", []any{item["id"]}, create(item)); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		storeNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("raw-badger", func(b *testing.B) {
		db, err := storage.Open(context.Background(), b.TempDir(), storage.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		bdb := db.Badger()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			item := benchItem(i)
			v, err := json.Marshal(item)
			if err != nil {
				b.Fatal(err)
			}
			txn := bdb.NewTransaction(true)
			if err := txn.Set([]byte(item["id"].(string)), v); err != nil {
				b.Fatal(err)
			}
			if err := txn.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		rawNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if rawNs > 0 {
		b.Logf("Mutate (create) %.0f ns/op, raw Badger Set %.0f ns/op: %.2fx", storeNs, rawNs, storeNs/rawNs)
	}
}

// BenchmarkMutateParallel measures the commit mutex and the committer under
// contention, without syncs: GOMAXPROCS writers on distinct keys.
func BenchmarkMutateParallel(b *testing.B) {
	s, err := store.Open(context.Background(), store.Options{Dir: b.TempDir(), UnsafeNoFsync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var n int64
	var mu = make(chan struct{}, 1)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mu <- struct{}{}
		base := n
		n += 1 << 32
		<-mu
		for i := base; pb.Next(); i++ {
			item := benchItem(int(i))
			if _, err := s.Mutate(ctx, "Post", []any{fmt.Sprint(i)}, create(item)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkScan reads a 10,000-record model in pages of 1,000, the way a
// base sync does; one op is the whole model.
func BenchmarkScan(b *testing.B) {
	// Unsynced: this measures reads, and the fill should not take minutes.
	s, err := store.Open(context.Background(), store.Options{Dir: b.TempDir(), UnsafeNoFsync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 10_000
	fill(b, s, n)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var cur []byte
		got := 0
		for {
			p, err := s.Scan(ctx, "Post", cur, 1000)
			if err != nil {
				b.Fatal(err)
			}
			got += len(p.Records)
			if cur = p.Next; cur == nil {
				break
			}
		}
		if got != n {
			b.Fatalf("scanned %d, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkChanges reads 1,000 changes (of 1,000 keys, each written twice,
// so half the log is superseded and skipped) in one page.
func BenchmarkChanges(b *testing.B) {
	s, err := store.Open(context.Background(), store.Options{Dir: b.TempDir(), DeltaTTL: time.Hour, UnsafeNoFsync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 1000
	since := time.Now().UnixMilli()
	fill(b, s, n)
	fill(b, s, n)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := s.Changes(ctx, "Post", since, math.MaxInt64, nil, n)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Records) != n || p.Next != nil {
			b.Fatalf("%d changes (next %v), want %d", len(p.Records), p.Next, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkSyncedWrites shows why the store batches writes itself: raw
// Badger with SyncWrites, concurrent writers each committing one Set per
// transaction, against the store's group commit of full mutations from as
// many writers. Badger v4 syncs its write-ahead log after each transaction
// (db.go writeToLSM), even for those its write goroutine takes together;
// the store puts every write decided during one commit into the next
// transaction, so one sync serves them all. BENCHMARKS.md has the figures.
func BenchmarkSyncedWrites(b *testing.B) {
	for _, writers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("raw-badger/writers=%d", writers), func(b *testing.B) {
			db, err := storage.Open(context.Background(), b.TempDir(), storage.Options{SyncWrites: true})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			bdb := db.Badger()
			runWriters(b, writers, func(i int64) error {
				item := benchItem(int(i))
				v, err := json.Marshal(item)
				if err != nil {
					return err
				}
				return bdb.Update(func(txn *badger.Txn) error { return txn.Set([]byte(item["id"].(string)), v) })
			})
		})
		b.Run(fmt.Sprintf("store/writers=%d", writers), func(b *testing.B) {
			s, err := store.Open(context.Background(), store.Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			c0 := store.Commits(s)
			runWriters(b, writers, func(i int64) error {
				item := benchItem(int(i))
				_, err := s.Mutate(context.Background(), "Post", []any{item["id"]}, create(item))
				return err
			})
			b.ReportMetric(float64(b.N)/float64(store.Commits(s)-c0), "writes/commit")
		})
	}
}

// BenchmarkSyncedBatches is the floor under the store's durable writes:
// raw Badger doing what a group commit of 32 creates does to Badger, from
// one goroutine with no decisions, overlay, queueing or hand-offs: per
// write a read of the record key (absent) in a snapshot per batch, then
// the record, a change-log entry with the same value and an empty index
// key, all 32 writes' entries and a state entry in one synced
// transaction. CPU per write against BenchmarkSyncedWrites/store/writers=32
// is what the store adds to Badger.
func BenchmarkSyncedBatches(b *testing.B) {
	const per = 32
	db, err := storage.Open(context.Background(), b.TempDir(), storage.Options{SyncWrites: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	bdb := db.Badger()
	// The value's bytes as the store lays them out: a 35-byte header, the
	// key and the item as JSON; only the id differs between writes (the
	// store's own encoding is what BenchmarkSyncedWrites adds).
	tmpl, err := json.Marshal(benchItem(0))
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := processCPU(b)
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(per, b.N-done)
		rtxn := bdb.NewTransaction(false)
		txn := bdb.NewTransaction(true)
		for i := done; i < done+n; i++ {
			id := benchItem(i)["id"].(string)
			pk := append(append([]byte{0x01}, id...), 0x00, 0x01)
			rk := append([]byte("r\x01Post\x00\x01"), pk...)
			if _, err := rtxn.Get(rk); !errors.Is(err, badger.ErrKeyNotFound) {
				b.Fatalf("read %s: %v", id, err)
			}
			v := make([]byte, 35, 35+len(id)+4+len(tmpl))
			v = append(append(append(v, `["`...), id...), `"]`...)
			v = append(v, tmpl...)
			lk := binary.BigEndian.AppendUint64([]byte("l\x01Post\x00\x01"), uint64(i))
			lk = append(binary.BigEndian.AppendUint64(lk, uint64(i)), pk...)
			kk := append(append([]byte("k\x01Post\x00\x01"), pk...), 0x00)
			kk = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(kk, uint64(i)), uint64(i))
			if err := errors.Join(txn.Set(rk, v), txn.Set(lk, v), txn.Set(kk, nil)); err != nil {
				b.Fatal(err)
			}
		}
		if err := txn.Set([]byte("m"), make([]byte, 24)); err != nil {
			b.Fatal(err)
		}
		if err := txn.Commit(); err != nil {
			b.Fatal(err)
		}
		rtxn.Discard()
		done += n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/write")
}

// runWriters runs b.N calls of write from n goroutines and reports writes/s
// and the process's CPU time (user + system, every goroutine: the writers,
// the committer and Badger's) per write, which depends much less than
// writes/s on the disk and on the rest of the machine's load.
func runWriters(b *testing.B, n int, write func(i int64) error) {
	var next atomic.Int64
	errs := make([]error, n)
	var wg sync.WaitGroup
	cpu0 := processCPU(b)
	b.ResetTimer()
	for w := range n {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				if err := write(i); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	cpu := processCPU(b) - cpu0
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/write")
	}
}

// fill writes n records post-00000000 … (creating or updating them).
func fill(b *testing.B, s store.Store, n int) {
	b.Helper()
	ctx := context.Background()
	for i := range n {
		item := benchItem(i)
		_, err := s.Mutate(ctx, "Post", []any{item["id"]}, func(cur *store.Record) (map[string]any, store.Op, error) {
			if cur == nil {
				return item, store.OpCreate, nil
			}
			return item, store.OpUpdate, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
