package serve

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// MetricsAccess says who may read GET /metrics.
type MetricsAccess string

// The ways /metrics is served.
const (
	// MetricsOff serves no /metrics (the metrics are still kept, for
	// Server.Registry).
	MetricsOff MetricsAccess = "off"
	// MetricsOpen serves /metrics to anyone who reaches the port: for a
	// loopback address or a port only the scraper can reach.
	MetricsOpen MetricsAccess = "open"
	// MetricsAuth requires the credentials GraphQL requests carry (an API
	// key in x-api-key or a bearer token).
	MetricsAuth MetricsAccess = "auth"
)

// ParseMetricsAccess accepts off, open or auth.
func ParseMetricsAccess(s string) (MetricsAccess, error) {
	switch m := MetricsAccess(s); m {
	case MetricsOff, MetricsOpen, MetricsAuth:
		return m, nil
	}
	return "", fmt.Errorf("unknown metrics access %q (want off, open or auth)", s)
}

// Label values that stand for many.
const (
	opOther    = "other"    // a root field the API does not serve
	opMultiple = "multiple" // a request with several root fields
	opUnknown  = "unknown"  // a request refused before its document was read
	outcomeOK  = "ok"
	outcomeErr = "error" // an errorType outside knownErrorTypes
)

// knownErrorTypes bound the outcome label: the errorTypes this server
// sends.
var knownErrorTypes = []string{
	appsync.ConflictUnhandled, appsync.ConflictError, appsync.MaxConflicts, appsync.BadRequest,
	appsync.DeltaSyncWriteError, appsync.InternalFailure, appsync.UnsupportedOperation,
	appsync.ConditionalCheck, appsync.Unauthorized, appsync.UnauthorizedExc, appsync.ValidationError,
	appsync.MalformedHTTPRequest, appsync.RequestTooLarge, appsync.MaxSubscriptions,
	appsync.LimitExceeded, appsync.BadRequestException, errUnavailable,
}

// Conflict resolutions, the resolution label of dsgen_conflicts_total.
const (
	resolutionRejected = "rejected" // ConflictUnhandled sent to the client
	resolutionMerged   = "merged"   // automerge wrote (or found nothing to write)
	resolutionResolved = "resolved" // the webhook answered RESOLVE
	resolutionRemoved  = "removed"  // the webhook answered REMOVE
	resolutionFailed   = "failed"   // the webhook failed
)

// metrics are one server's Prometheus metrics, in a registry of its own.
// Series appear when first used: a large schema does not export thousands
// of zeros.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	mutations *prometheus.CounterVec
	conflicts *prometheus.CounterVec
	syncPages *prometheus.CounterVec
	syncRecs  *prometheus.CounterVec

	// ops are the served root fields, the only operation labels besides
	// opOther, opMultiple and opUnknown; read-only after newMetrics.
	ops map[string]bool
	// okSeries (operation -> *opSeries) and mutSeries (mutationKey ->
	// prometheus.Counter) cache the children of the common cases:
	// WithLabelValues hashes and validates its labels on every call.
	okSeries  sync.Map
	mutSeries sync.Map
}

// opSeries are the children of one operation's successful requests.
type opSeries struct {
	latency prometheus.Observer
	ok      prometheus.Counter
}

type mutationKey struct {
	model string
	op    store.Op
}

// newMetrics registers the server's metrics; s.api, s.models, s.hub and
// the store must be set.
func newMetrics(s *Server) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dsgen_graphql_requests_total",
			Help: "GraphQL requests on /graphql by operation (the root field; multiple, or unknown when refused before the document was read) and outcome (ok or the first error's errorType).",
		}, []string{"operation", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dsgen_graphql_request_duration_seconds",
			Help:    "Time to answer a GraphQL request on /graphql, by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation"}),
		mutations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dsgen_mutations_total",
			Help: "Committed writes by model, op (create, update, delete) and the model's conflict strategy.",
		}, []string{"model", "op", "strategy"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dsgen_conflicts_total",
			Help: "Version conflicts by model, conflict strategy and resolution (rejected, merged, resolved, removed, failed).",
		}, []string{"model", "strategy", "resolution"}),
		syncPages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dsgen_sync_pages_total",
			Help: "Pages served by sync queries, by model and kind (base or delta).",
		}, []string{"model", "kind"}),
		syncRecs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dsgen_sync_records_total",
			Help: "Records returned by sync queries, by model and kind (base or delta).",
		}, []string{"model", "kind"}),
		ops: make(map[string]bool, len(s.api.Ops)),
	}
	reg.MustRegister(m.requests, m.latency, m.mutations, m.conflicts, m.syncPages, m.syncRecs)
	for _, op := range s.api.Ops {
		if op.Root == "Subscription" {
			continue
		}
		m.ops[op.Field] = true
	}

	hub := s.hub
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dsgen_realtime_connections",
			Help: "Open real-time WebSocket connections.",
		}, func() float64 { c, _ := hub.Stats(); return float64(c) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dsgen_realtime_subscriptions",
			Help: "Registered real-time subscriptions.",
		}, func() float64 { _, n := hub.Stats(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "dsgen_realtime_events_published_total",
			Help: "Committed changes offered to subscribed connections.",
		}, func() float64 { return float64(hub.Counters().Published) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "dsgen_realtime_events_sent_total",
			Help: "Subscription data messages written to clients (one per matching subscription per event).",
		}, func() float64 { return float64(hub.Counters().Sent) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "dsgen_realtime_slow_consumers_total",
			Help: "Connections closed because their send queue overflowed.",
		}, func() float64 { return float64(hub.Counters().SlowConsumers) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dsgen_connections",
			Help: "Open connections, HTTP and WebSocket, counted against --max-connections.",
		}, func() float64 { return float64(s.conns.open.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dsgen_connections_max",
			Help: "The cap on open connections (--max-connections); 0 means none.",
		}, func() float64 { return float64(s.conns.max) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "dsgen_connections_refused_total",
			Help: "Connections refused (answered 503 and closed) because --max-connections were open.",
		}, func() float64 { return float64(s.conns.refused.Load()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if sz, ok := s.cfg.Store.(sizer); ok {
		reg.MustRegister(&storeSize{s: sz, desc: prometheus.NewDesc("dsgen_store_size_bytes",
			"Size of the store on disk by part (lsm, vlog), as Badger last measured it (at open and every minute).",
			[]string{"part"}, nil)})
	}
	return m
}

// sizer is a store that reports its size on disk (store.Badger does).
type sizer interface{ Size() (lsm, vlog int64) }

var _ sizer = (*store.Badger)(nil)

// storeSize collects dsgen_store_size_bytes from one Size call per scrape.
type storeSize struct {
	s    sizer
	desc *prometheus.Desc
}

func (c *storeSize) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *storeSize) Collect(ch chan<- prometheus.Metric) {
	lsm, vlog := c.s.Size()
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(lsm), "lsm")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(vlog), "vlog")
}

// request records one /graphql request.
func (m *metrics) request(op string, errs []*appsync.Error, took time.Duration) {
	if !m.ops[op] && op != opMultiple && op != opUnknown {
		op = opOther
	}
	if len(errs) > 0 {
		m.latency.WithLabelValues(op).Observe(took.Seconds())
		m.requests.WithLabelValues(op, outcomeOf(errs[0])).Inc()
		return
	}
	v, ok := m.okSeries.Load(op)
	if !ok {
		v, _ = m.okSeries.LoadOrStore(op, &opSeries{
			latency: m.latency.WithLabelValues(op),
			ok:      m.requests.WithLabelValues(op, outcomeOK),
		})
	}
	series := v.(*opSeries)
	series.latency.Observe(took.Seconds())
	series.ok.Inc()
}

// outcomeOf bounds an error's errorType to the known ones.
func outcomeOf(e *appsync.Error) string {
	for _, t := range knownErrorTypes {
		if e.ErrorType == t {
			return t
		}
	}
	return outcomeErr
}

// countMutation records a committed write.
func (s *Server) countMutation(model string, op store.Op) {
	k := mutationKey{model, op}
	c, ok := s.metrics.mutSeries.Load(k)
	if !ok {
		c, _ = s.metrics.mutSeries.LoadOrStore(k, s.metrics.mutations.WithLabelValues(model, op.String(), string(s.strategy(model))))
	}
	c.(prometheus.Counter).Inc()
}

// countConflict records a version conflict and how it was resolved.
func (s *Server) countConflict(model, resolution string) {
	s.metrics.conflicts.WithLabelValues(model, string(s.strategy(model)), resolution).Inc()
}

// countSyncPage records one page of a sync query.
func (s *Server) countSyncPage(model, kind string, records int) {
	s.metrics.syncPages.WithLabelValues(model, kind).Inc()
	s.metrics.syncRecs.WithLabelValues(model, kind).Add(float64(records))
}

// Registry returns the server's metrics registry, to serve it elsewhere or
// to add collectors to it.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// serveMetrics answers GET /metrics in the Prometheus text format.
func (s *Server) serveMetrics() http.Handler {
	h := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{s}})
	if s.cfg.Metrics != MetricsAuth {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.authn.Authenticate(lowerHeaders(r.Header)); err != nil {
			writeErrors(w, http.StatusUnauthorized, appsync.Errorf(appsync.UnauthorizedExc,
				"/metrics needs the credentials of a GraphQL request (x-api-key or a bearer token)"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// slogPrinter hands promhttp's errors to the server's log.
type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.log.Warn("metrics", "error", v) }
