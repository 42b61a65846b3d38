package serve

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve/store"
)

// BenchmarkMetricsPerMutation measures what instrumentation adds to one
// createPost: the request counter and histogram and the mutation counter.
func BenchmarkMetricsPerMutation(b *testing.B) {
	_, file, _, _ := runtime.Caller(0)
	sch, err := schema.LoadPath(filepath.Join(filepath.Dir(file), "..", "..", "examples", "blog", "schema.graphql"), schema.Options{})
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s, err := New(Config{Schema: sch, Store: st})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.metrics.request("createPost", nil, time.Millisecond)
			s.countMutation("Post", store.OpCreate)
		}
	})
}
