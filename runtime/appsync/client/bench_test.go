package client_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync/client"
)

// syncPageBody is a sync response of n blog posts as dsgen serve renders
// them.
func syncPageBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"data":{"syncPosts":{"items":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"5d1f0c3e-8a4b-4c1e-9f7a-%012d","title":"Post number %d with a title of ordinary length","rating":%d,"status":"PUBLISHED",`+
			`"createdAt":"2026-03-01T12:00:00.000Z","updatedAt":"2026-03-01T12:00:00.000Z","blogPostsId":"b-%d",`+
			`"_version":3,"_lastChangedAt":1772366400000,"_deleted":null,"blog":{"id":"b-%d","_deleted":null}}`, i, i, i%5, i%10, i%10)
	}
	b.WriteString(`],"nextToken":"opaque-token","startedAt":1772366400000}}}`)
	return []byte(b.String())
}

// BenchmarkSyncPage fetches and decodes a page of 1,000 posts over
// loopback: the client's share of a base sync. The raw variant leaves the
// records as JSON text (SyncArgs.RawItems), as the sync engine asks.
func BenchmarkSyncPage(b *testing.B) { benchSyncPage(b, false) }

func BenchmarkSyncPageRaw(b *testing.B) { benchSyncPage(b, true) }

func benchSyncPage(b *testing.B, raw bool) {
	body := syncPageBody(1000)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body))) // as dsgen serve sends it
		_, _ = w.Write(body)
	}))
	defer ts.Close()
	c, err := client.New(ts.URL+"/graphql", client.APIKey("k"))
	if err != nil {
		b.Fatal(err)
	}
	d := docsFor(b, testenv.BlogSchema(b), "Post")
	ctx := ctxT(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		page, err := c.Sync(ctx, d, client.SyncArgs{Limit: 1000, RawItems: raw})
		if n := len(page.Items) + len(page.RawItems); err != nil || n != 1000 || (page.RawItems != nil) != raw {
			b.Fatalf("%d items, %d raw, %v", len(page.Items), len(page.RawItems), err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "items/s")
}
