package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// BenchmarkOpenCheck measures what the pre-flight check costs at Open on
// a store of about 100 MB (laptop preset, 500,000 records of ~200 bytes
// that do not compress): "preflight" is the check alone (every table's
// blocks read and checksummed), "open" is the whole Open and Close.
//
//	go test -run '^$' -bench BenchmarkOpenCheck -benchtime 5x ./runtime/storage/
func BenchmarkOpenCheck(b *testing.B) {
	dir := b.TempDir()
	db, err := Open(context.Background(), dir, Options{GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	wb := db.Badger().NewWriteBatch()
	r := rand.New(rand.NewPCG(1, 1))
	for i := range 500_000 {
		v := make([]byte, 150+r.IntN(100))
		for j := range v {
			v[j] = byte(r.Uint32())
		}
		if err := wb.Set(fmt.Appendf(nil, "rec/%08d", i), v); err != nil {
			b.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	var size int64
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			size += fi.Size()
		}
	}
	o := Options{GCInterval: -1}
	b.Run("preflight", func(b *testing.B) {
		bo := o.badgerOptions(dir)
		for b.Loop() {
			if _, err := preflight(dir, o, bo, adapterLogger(nil, dir)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size)/1e6, "MB-store")
		b.ReportMetric(float64(len(files)), "files")
	})
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			db, err := Open(context.Background(), dir, o)
			if err != nil {
				b.Fatal(err)
			}
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("badger-open", func(b *testing.B) {
		bo := o.badgerOptions(dir)
		for b.Loop() {
			bdb, err := badger.Open(bo)
			if err != nil {
				b.Fatal(err)
			}
			if err := bdb.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
