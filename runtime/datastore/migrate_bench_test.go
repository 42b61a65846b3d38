package datastore_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/storage"
)

// BenchmarkMigrateAddIndexedField measures the migration issue 6 asks
// about: a store of n posts opened by code whose schema adds a required
// field with a @default and an index on it, so every record is rewritten
// (backfilled) and gets an index entry. The baseline is raw Badger doing
// the same work on a copy of the same store: read every record, write it
// back with the field appended and set the index key, in transactions of
// the same size. peak-heap-MB is the largest live Go heap sampled during
// the run: it is Badger's memtables (up to 3 × 8 MiB with the default laptop preset) plus the
// migration's bounded batches, so under the device preset (2 × 2 MiB
// memtables) it shows what the migration itself holds, which must not grow
// with n.
//
//	go test -run '^$' -bench MigrateAddIndexedField -benchtime 3x ./runtime/datastore
func BenchmarkMigrateAddIndexedField(b *testing.B) {
	for _, n := range []int{25_000, 100_000} {
		src := writeBenchStore(b, n)
		for _, preset := range []storage.Preset{storage.PresetLaptop, storage.PresetDevice} {
			name := "dsgen"
			if preset == storage.PresetDevice {
				name = "dsgen-device"
			}
			b.Run(fmt.Sprintf("records=%d/%s", n, name), func(b *testing.B) {
				benchMigrate(b, src, n, datastore.MemoryPreset(preset))
			})
		}
		b.Run(fmt.Sprintf("records=%d/badger", n), func(b *testing.B) {
			var peak uint64
			for b.Loop() {
				b.StopTimer()
				dir := copyDir(b, src)
				b.StartTimer()
				stop := samplePeakHeap(&peak)
				db, err := storage.Open(context.Background(), dir, storage.Options{GCInterval: -1})
				if err != nil {
					b.Fatal(err)
				}
				rawAddIndexedField(b, db.Badger())
				stop()
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

func benchMigrate(b *testing.B, src string, n int, opts ...datastore.Option) {
	s := lockedBlog()
	post := s.Model("Post")
	post.Fields = append(post.Fields, &meta.Field{Name: "views", Type: meta.Int, Required: true, Default: meta.Ptr("0"), Number: 20})
	post.Indexes = append(post.Indexes, &meta.Index{Name: "byViews", Fields: []string{"views"}})
	s.Migration = 1
	s.Migrations = []*meta.Migration{{Number: 1, Steps: []*meta.MigrationStep{
		{Kind: meta.AddField, Model: "Post", Field: "views", Default: meta.Ptr("0"), Effect: meta.Preserving},
		{Kind: meta.AddIndex, Model: "Post", Index: "byViews", To: "views", Effect: meta.Preserving},
	}}}
	ctx := context.Background()
	var peak uint64
	for b.Loop() {
		b.StopTimer()
		dir := copyDir(b, src)
		b.StartTimer()
		stop := samplePeakHeap(&peak)
		st, err := datastore.Open(ctx, s, dir, opts...)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Start(ctx); err != nil {
			b.Fatal(err)
		}
		stop()
		b.StopTimer()
		if err := st.Close(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// writeBenchStore writes n posts with the v1 blog package into a store
// that the sub-benchmarks copy.
func writeBenchStore(b *testing.B, n int) string {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	ds, err := model.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i += 1000 {
		err := ds.Batch(ctx, func(tx *model.Tx) error {
			for j := i; j < min(i+1000, n); j++ {
				if err := tx.Post.Save(ctx, benchPost(j, nil)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := ds.Close(ctx); err != nil {
		b.Fatal(err)
	}
	return dir
}

// rawAddIndexedField does with raw Badger what the migration does: every
// Post record rewritten with one more field and an index entry each.
func rawAddIndexedField(b *testing.B, db *badger.DB) {
	prefix := []byte{0x01}
	var cursor []byte
	for {
		var keys, values [][]byte
		err := db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
			defer it.Close()
			it.Seek(prefix)
			if cursor != nil {
				it.Seek(cursor)
				it.Next()
			}
			for ; it.Valid() && len(keys) < 512; it.Next() {
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					return err
				}
				keys, values = append(keys, it.Item().KeyCopy(nil)), append(values, v)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if len(keys) == 0 {
			return
		}
		err = db.Update(func(txn *badger.Txn) error {
			var e codec.Encoder
			for i, k := range keys {
				e.Reset(values[i])
				e.Int(20, 0)
				if err := txn.Set(k, e.Bytes()); err != nil {
					return err
				}
				ix := binary.BigEndian.AppendUint16([]byte{0x02, k[1], k[2], k[3], k[4]}, 9)
				ix = storage.AppendInt(ix, 0)
				if err := txn.Set(append(ix, k[5:]...), nil); err != nil {
					return err
				}
			}
			return txn.Set([]byte("\x00sprogress"), keys[len(keys)-1])
		})
		if err != nil {
			b.Fatal(err)
		}
		cursor = keys[len(keys)-1]
	}
}

// samplePeakHeap records the largest live heap (as of the last GC, so
// garbage awaiting collection does not count) seen until the returned
// function is called.
func samplePeakHeap(peak *uint64) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			metrics.Read(sample)
			*peak = max(*peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// copyDir copies a closed store's directory into a new temporary one.
func copyDir(b *testing.B, src string) string {
	b.Helper()
	dst := b.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(filepath.Join(dst, d.Name()))
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		b.Fatal(err)
	}
	return dst
}
