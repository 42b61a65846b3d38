package serve_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
)

// BenchmarkHandlerCreatePost measures the request path of one createPost
// in the server alone: the handler called directly (no sockets) with the
// Amplify client's body, over Badger without fsync, one request at a time.
// It is the CPU per mutation of decoding, auth, GraphQL preparation,
// execution, the store's Mutate and response writing.
func BenchmarkHandlerCreatePost(b *testing.B) {
	e := newEnv(b, envOptions{store: store.Options{UnsafeNoFsync: true}})
	h := e.srv.Handler()
	w := &discardWriter{h: http.Header{}}
	var body []byte
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	for i := range b.N {
		body = fmt.Appendf(body[:0], `{"query":%q,"variables":{"input":{"id":"bench-%d","title":"Hello wire","rating":4,"status":"DRAFT"}}}`, wireCreatePost, i)
		req, err := http.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Api-Key", testAPIKey)
		clear(w.h)
		w.status, w.body = 0, w.body[:0]
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK || !bytes.Contains(w.body, []byte(`"createPost":{"id":"bench-`)) {
			b.Fatalf("HTTP %d: %s", w.status, w.body)
		}
	}
	// The process's CPU time (Badger's goroutines included) depends much
	// less on the machine's other load than the wall time does.
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// discardWriter is a reusable http.ResponseWriter that keeps the answer.
type discardWriter struct {
	h      http.Header
	status int
	body   []byte
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, p...)
	return len(p), nil
}
