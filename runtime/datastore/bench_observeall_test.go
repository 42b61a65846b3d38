package datastore_test

import (
	"context"
	"testing"
)

// BenchmarkSaveStoreObserved is BenchmarkSave/dsgen with a store-wide
// observer draining every change (what a running sync engine adds to each
// local save: it reports them as OutboxMutationEnqueued); compare the two
// for its cost.
func BenchmarkSaveStoreObserved(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ds := openBench(b)
	blogs := fill(b, ds, 0, 10)
	changes := ds.Observe(ctx)
	drained := make(chan int)
	go func() {
		n := 0
		for range changes {
			n++
		}
		drained <- n
	}()
	b.ResetTimer()
	for i := range b.N {
		if err := ds.Post.Save(ctx, benchPost(i, blogs)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cancel()
	<-drained
}
