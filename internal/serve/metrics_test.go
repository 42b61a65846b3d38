package serve_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// scrape reads e's /metrics with headers and parses the text format.
func scrape(t *testing.T, e *env, headers map[string]string) (int, map[string]*dto.MetricFamily) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), frameWait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+"/metrics", nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the text format", ct)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	return resp.StatusCode, fams
}

// value returns the value of the sample of family name whose labels are
// exactly labels (as k=v pairs); for a histogram, its count. ok is false
// when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	want := strings.Join(labels, ",")
	for _, m := range f.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName()+"="+l.GetValue())
		}
		if strings.Join(got, ",") != want {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetricsCountWhatTheServerDid(t *testing.T) {
	e := newEnv(t, envOptions{clock: newClock(), config: func(c *serve.Config) {
		c.Metrics = serve.MetricsOpen
		c.Conflict = map[string]serve.Strategy{"Post": serve.Optimistic}
	}})

	c := e.dialWS(t, nil)
	c.init()
	c.subscribe("s1", wireOnCreatePost, nil, e.authHeaders())

	for i := range 3 {
		e.createPost(t, map[string]any{"id": fmt.Sprintf("p%d", i), "title": "t", "rating": i})
		c.data("s1", "onCreatePost")
	}
	e.clock.Advance(time.Second)
	mustOK(t, e.updatePost(t, map[string]any{"id": "p0", "rating": 5, "_version": 1}))
	// A stale _version under optimistic concurrency: one conflict, rejected.
	if typ := e.updatePost(t, map[string]any{"id": "p0", "rating": 6, "_version": 1}).errType(t); typ != "ConflictUnhandled" {
		t.Fatalf("stale update: %s", typ)
	}
	// A base sync in pages of 2: 3 records in 2 pages.
	if got := e.syncAll(t, nil, 2, 0, nil); len(got.items) != 3 || got.pages != 2 {
		t.Fatalf("sync: %d items in %d pages", len(got.items), got.pages)
	}
	// Refused before the document is read.
	if r := e.doAs(t, map[string]string{"x-api-key": "wrong"}, `{ listPosts { items { id } } }`, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("wrong key: HTTP %d", r.Status)
	}

	code, fams := scrape(t, e, map[string]string{})
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: HTTP %d", code)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"dsgen_graphql_requests_total", []string{"operation=createPost", "outcome=ok"}, 3},
		{"dsgen_graphql_requests_total", []string{"operation=updatePost", "outcome=ok"}, 1},
		{"dsgen_graphql_requests_total", []string{"operation=updatePost", "outcome=ConflictUnhandled"}, 1},
		{"dsgen_graphql_requests_total", []string{"operation=syncPosts", "outcome=ok"}, 2},
		{"dsgen_graphql_requests_total", []string{"operation=unknown", "outcome=UnauthorizedException"}, 1},
		{"dsgen_graphql_request_duration_seconds", []string{"operation=createPost"}, 3},
		{"dsgen_graphql_request_duration_seconds", []string{"operation=updatePost"}, 2},
		{"dsgen_mutations_total", []string{"model=Post", "op=create", "strategy=optimistic"}, 3},
		{"dsgen_mutations_total", []string{"model=Post", "op=update", "strategy=optimistic"}, 1},
		{"dsgen_conflicts_total", []string{"model=Post", "resolution=rejected", "strategy=optimistic"}, 1},
		{"dsgen_sync_pages_total", []string{"kind=base", "model=Post"}, 2},
		{"dsgen_sync_records_total", []string{"kind=base", "model=Post"}, 3},
		{"dsgen_realtime_connections", nil, 1},
		{"dsgen_realtime_subscriptions", nil, 1},
		{"dsgen_realtime_events_sent_total", nil, 3},
		{"dsgen_realtime_slow_consumers_total", nil, 0},
	} {
		got, ok := value(fams, c.name, c.labels...)
		if !ok || got != c.want {
			t.Errorf("%s{%s} = %v (present %v), want %v", c.name, strings.Join(c.labels, ","), got, ok, c.want)
		}
	}
	// The update was published to the connection too (it listens to
	// creates only, so nothing more was sent).
	if got, _ := value(fams, "dsgen_realtime_events_published_total"); got != 3 {
		t.Errorf("events published = %v, want the 3 creates the subscriber listens to", got)
	}
	for _, part := range []string{"lsm", "vlog"} {
		if _, ok := value(fams, "dsgen_store_size_bytes", "part="+part); !ok {
			t.Errorf("no dsgen_store_size_bytes{part=%q}", part)
		}
	}
	if fams["go_goroutines"] == nil || fams["process_resident_memory_bytes"] == nil {
		t.Error("the Go and process collectors are missing")
	}
	if _, ok := value(fams, "dsgen_graphql_request_duration_seconds", "operation=listPosts"); ok {
		t.Errorf("a refused request was counted under the operation it named")
	}
	// Series appear when used: no zeros for what never happened.
	if _, ok := value(fams, "dsgen_mutations_total", "model=Blog", "op=create", "strategy=automerge"); ok {
		t.Errorf("an unused series is exported")
	}
}

func TestMetricsOperationLabelIsBounded(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *serve.Config) { c.Metrics = serve.MetricsOpen }})
	// Valid documents whose root is not one served operation.
	mustOK(t, e.do(t, `{ __typename }`, nil))
	mustOK(t, e.do(t, `{ a: listPosts { items { id } } b: listBlogs { items { id } } }`, nil))
	// An invalid document names a field that does not exist.
	// AppSync answers it 200 with data null; it still counts as an error.
	if r := e.do(t, `{ nosuchField }`, nil); r.Status != http.StatusOK || r.errType(t) != appsync.ValidationError {
		t.Fatalf("invalid document: HTTP %d", r.Status)
	}
	_, fams := scrape(t, e, nil)
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"operation=other", "outcome=ok"}, 1},
		{[]string{"operation=multiple", "outcome=ok"}, 1},
		{[]string{"operation=unknown", "outcome=ValidationError"}, 1},
	} {
		if got, ok := value(fams, "dsgen_graphql_requests_total", c.labels...); got != c.want {
			t.Errorf("requests{%s} = %v (present %v), want %v", strings.Join(c.labels, ","), got, ok, c.want)
		}
	}
}

func TestMetricsAccess(t *testing.T) {
	for _, c := range []struct {
		access           serve.MetricsAccess
		anonymous, keyed int
	}{
		{serve.MetricsOpen, http.StatusOK, http.StatusOK},
		{serve.MetricsAuth, http.StatusUnauthorized, http.StatusOK},
		{serve.MetricsOff, http.StatusNotFound, http.StatusNotFound},
		{"", http.StatusNotFound, http.StatusNotFound},
	} {
		t.Run(string(c.access), func(t *testing.T) {
			e := newEnv(t, envOptions{config: func(cfg *serve.Config) { cfg.Metrics = c.access }})
			if code, _ := scrape(t, e, nil); code != c.anonymous {
				t.Errorf("without credentials: HTTP %d, want %d", code, c.anonymous)
			}
			if code, _ := scrape(t, e, map[string]string{"x-api-key": testAPIKey}); code != c.keyed {
				t.Errorf("with the API key: HTTP %d, want %d", code, c.keyed)
			}
		})
	}
	if _, err := serve.ParseMetricsAccess("public"); err == nil {
		t.Error("ParseMetricsAccess accepted an unknown mode")
	}
}
