// Package serve is `dsgen serve`: an AppSync-compatible GraphQL backend for
// DataStore clients, built from the same schema metadata as the generator.
//
// It serves the API the Amplify transformer generates for models with
// conflict detection on (get, list, sync, create, update, delete and the
// onCreate/onUpdate/onDelete subscriptions), keeps per-record versions,
// tombstones and a change log for delta sync (in a store.Store), resolves
// conflicts per model, enforces @auth rules, and fans committed mutations out
// over the AppSync real-time WebSocket protocol.
//
// The pieces live in sub-packages: sdl builds the API, gqlexec executes
// GraphQL, filter evaluates filter and condition inputs, auth authenticates
// callers and evaluates rules, realtime speaks the WebSocket protocol and
// store keeps the data. This package wires them into resolvers and an
// http.Handler.
package serve

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/gqlexec"
	"github.com/dsgen/dsgen/internal/serve/realtime"
	"github.com/dsgen/dsgen/internal/serve/sdl"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/meta"
)

// Strategy is a conflict-resolution strategy, as AppSync's conflictHandler.
type Strategy string

// The conflict strategies.
const (
	// Automerge keeps the server's scalars, appends incoming list elements
	// and fills fields the server holds no value for (AppSync AUTOMERGE).
	Automerge Strategy = "automerge"
	// Optimistic rejects a stale _version with ConflictUnhandled
	// (OPTIMISTIC_CONCURRENCY).
	Optimistic Strategy = "optimistic"
	// Custom asks an HTTP webhook with AppSync's Lambda conflict payload
	// (LAMBDA).
	Custom Strategy = "custom"
	// None writes without comparing versions (last writer wins).
	None Strategy = "none"
)

// ParseStrategy accepts a strategy name, and AppSync's names for them.
func ParseStrategy(s string) (Strategy, error) {
	switch s {
	case "automerge", "AUTOMERGE":
		return Automerge, nil
	case "optimistic", "OPTIMISTIC_CONCURRENCY", "optimistic_concurrency":
		return Optimistic, nil
	case "custom", "lambda", "LAMBDA":
		return Custom, nil
	case "none", "NONE":
		return None, nil
	}
	return "", fmt.Errorf("unknown conflict strategy %q (want automerge, optimistic, custom or none)", s)
}

// Config configures a Server.
type Config struct {
	// Schema is the processed schema the API is built from.
	Schema *meta.Schema
	// Store keeps the data; the server does not close it.
	Store store.Store
	// Auth configures API keys and JWT verification.
	Auth auth.Config
	// DefaultConflict applies to models without an entry in Conflict
	// (default Automerge, as the Amplify CLI).
	DefaultConflict Strategy
	Conflict        map[string]Strategy
	// ConflictWebhook receives the Lambda-shaped payload for models under
	// Custom.
	ConflictWebhook string
	// MaxConflictRetries bounds how often a merged write is retried against
	// concurrent writers before MaxConflicts (default 8).
	MaxConflictRetries int
	// DeltaTTL must equal the store's: a lastSync older than now-DeltaTTL
	// gets a base scan (default 30 minutes).
	DeltaTTL time.Duration
	// TokenSecret signs nextTokens; random when empty (tokens then do not
	// survive a restart).
	TokenSecret []byte
	// MaxBodyBytes limits a GraphQL request body (default 1 MiB).
	MaxBodyBytes int64
	// ReadTimeout bounds reading a request, headers and body (default
	// 10 s): a client that sends them slower is answered 408 or cut off.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from its headers to the end of its
	// response (default 30 s, AppSync's execution timeout): past it the
	// request's work is cancelled and its connection closed.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no request
	// for this long (default 60 s). Serve applies the three timeouts to
	// its connections (a server of its own around Handler must set its
	// own); a WebSocket connection, once upgraded, is bound by none.
	IdleTimeout time.Duration
	// MaxConnections caps the connections Serve serves at once, HTTP and
	// WebSocket alike: one over it is answered 503 with Retry-After once
	// its request head arrives, then closed. 0 (the default) derives the cap from the open-file
	// limit (RLIMIT_NOFILE), less a quarter of it (at least 1,024
	// descriptors, half the limit below 2,048) kept for the store and the
	// rest of the process; no cap where that limit is unknown. Negative:
	// no cap. A server of its own around Handler is not capped.
	MaxConnections int
	// DefaultLimit and MaxLimit bound list and sync pages (100 and 1000).
	DefaultLimit int
	MaxLimit     int
	// CORSOrigins restricts which web pages may call the API from a
	// browser: /graphql's CORS headers and the WebSocket upgrade at
	// /graphql/realtime (whose Realtime.OriginPatterns it sets when that
	// is empty). Entries are realtime.OriginAllowed's patterns:
	// "localhost:3000", "*.example.com", "https://app.example.com". Empty
	// (the default) lets any origin call, as AppSync does; the page's
	// requests still need credentials.
	CORSOrigins []string
	// Realtime tunes the WebSocket endpoint.
	Realtime realtime.Options
	// Exec tunes the GraphQL executor.
	Exec gqlexec.Options
	// Logger receives structured logs (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// HTTPClient calls the conflict webhook (default: 10 s timeout).
	HTTPClient *http.Client
	// Metrics says who may read GET /metrics (default MetricsOff: the
	// metrics are kept but only Registry serves them).
	Metrics MetricsAccess
	// DevAuth serves dev identities (POST /console/api/dev-token): anyone
	// reaching the server may get a token for any user name and groups,
	// signed with Auth.JWT.HS256Secret (required). For development only.
	DevAuth bool
}

// Server is a running API over one store. Create it with New, serve
// Handler (or call Serve) and stop it with Shutdown.
type Server struct {
	cfg    Config
	api    *sdl.API
	exec   *gqlexec.Executor
	authn  *auth.Authenticator
	hub    *realtime.Hub
	log    *slog.Logger
	models map[string]*meta.Model
	// stored is each model's storedFields, computed once.
	stored map[string][]*meta.Field
	// names holds the API's input field and argument names, for the
	// request decoder (read-only after New).
	names map[string]string
	// queries caches the request decoder's queries (queryCache).
	queries queryCache
	secret  []byte

	renders renderCache
	// respBufs are response buffers (*[]byte) reused across requests: a
	// sync page of 1,000 items is some 300 KB.
	respBufs sync.Pool
	metrics  *metrics
	stopFeed context.CancelFunc
	// writes counts mutations under way so Shutdown can wait for them.
	writes sync.WaitGroup
	// conflicts keeps the latest conflicts for the console.
	conflicts conflictLog
	// shuttingDown turns /readyz to 503 once Shutdown starts.
	shuttingDown atomic.Bool
	// conns counts and caps the connections Serve serves.
	conns *connLimit
	// noFastPath makes Serve leave every connection to net/http (tests
	// compare the two).
	noFastPath bool
}

// New builds the API for cfg.Schema and connects the store's commit feed to
// the real-time hub.
func New(cfg Config) (*Server, error) {
	if cfg.Schema == nil || cfg.Store == nil {
		return nil, errors.New("serve: Config.Schema and Config.Store are required")
	}
	cfg.setDefaults()
	for name, st := range cfg.Conflict {
		if cfg.Schema.Model(name) == nil {
			return nil, fmt.Errorf("serve: conflict strategy for unknown model %q", name)
		}
		if _, err := ParseStrategy(string(st)); err != nil {
			return nil, fmt.Errorf("serve: model %s: %w", name, err)
		}
	}
	if _, err := ParseStrategy(string(cfg.DefaultConflict)); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if cfg.ConflictWebhook == "" && usesCustom(cfg) {
		return nil, errors.New("serve: the custom conflict strategy needs a conflict webhook URL")
	}
	if _, err := ParseMetricsAccess(string(cfg.Metrics)); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if err := checkDevAuth(cfg); err != nil {
		return nil, err
	}
	secret := cfg.TokenSecret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("serve: token secret: %w", err)
		}
	}
	api, err := sdl.Build(cfg.Schema, sdl.Options{})
	if err != nil {
		return nil, fmt.Errorf("serve: build API: %w", err)
	}
	authn, err := auth.New(cfg.Auth)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err) // auth errors carry their own "auth: " prefix
	}
	if err := cfg.Realtime.Validate(); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		api:    api,
		exec:   gqlexec.New(api.Schema, cfg.Exec),
		authn:  authn,
		log:    cfg.Logger,
		models: make(map[string]*meta.Model, len(cfg.Schema.Models)),
		stored: make(map[string][]*meta.Field, len(cfg.Schema.Models)),
		names:  inputNames(api.Schema),
		secret: secret,
	}
	for _, m := range cfg.Schema.Models {
		s.models[m.Name] = m
		s.stored[m.Name] = storedFields(m)
	}
	// The store builds indexes it has not built before here: New has no
	// context, and a build is bounded by the data, not by a caller.
	if err := cfg.Store.Indexes(context.Background(), storeIndexes(cfg.Schema.Models)); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s.hub = realtime.New(&backend{s: s}, cfg.Realtime)
	s.conns = newConnLimit(max(cfg.MaxConnections, 0), s.corsOrigin, len(cfg.CORSOrigins) > 0)
	s.metrics = newMetrics(s)
	// Answered over the cap too (connlimit.go); /metrics needs s.metrics.
	probes := http.NewServeMux()
	probes.HandleFunc("/healthz", s.serveHealth)
	if cfg.Metrics != MetricsOff {
		probes.Handle("/metrics", s.serveMetrics())
	}
	s.conns.probes = probes
	feedCtx, stop := context.WithCancel(context.Background())
	s.stopFeed = stop
	cfg.Store.Feed(feedCtx, s.publish)
	// An engine whose feed can miss events (PostgreSQL) makes every
	// subscriber reconnect and delta-sync instead of waiting silently.
	if g, ok := cfg.Store.(store.FeedGaps); ok {
		g.OnFeedGap(feedCtx, func(reason string) { s.hub.Interrupt(reason) })
	}
	return s, nil
}

// setDefaults fills in every setting left at its zero value.
func (cfg *Config) setDefaults() {
	if cfg.DefaultConflict == "" {
		cfg.DefaultConflict = Automerge
	}
	if cfg.MaxConflictRetries <= 0 {
		cfg.MaxConflictRetries = 8
	}
	if cfg.DeltaTTL <= 0 {
		cfg.DeltaTTL = 30 * time.Minute
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = defaultMaxConnections(openFileLimit())
	}
	if cfg.DefaultLimit <= 0 {
		cfg.DefaultLimit = 100
	}
	if cfg.MaxLimit <= 0 {
		cfg.MaxLimit = 1000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Metrics == "" {
		cfg.Metrics = MetricsOff
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Auth.Now == nil {
		cfg.Auth.Now = cfg.Now
	}
	if cfg.Auth.Logger == nil {
		cfg.Auth.Logger = cfg.Logger
	}
	if cfg.Realtime.Logger == nil {
		cfg.Realtime.Logger = cfg.Logger
	}
	if len(cfg.Realtime.OriginPatterns) == 0 {
		cfg.Realtime.OriginPatterns = cfg.CORSOrigins
	}
}

func usesCustom(cfg Config) bool {
	if cfg.DefaultConflict == Custom {
		return true
	}
	for _, st := range cfg.Conflict {
		if st == Custom {
			return true
		}
	}
	return false
}

// API returns the served API (its SDL and operations).
func (s *Server) API() *sdl.API { return s.api }

// Hub returns the real-time hub, for stats.
func (s *Server) Hub() *realtime.Hub { return s.hub }

// strategy returns the conflict strategy of model.
func (s *Server) strategy(model string) Strategy {
	if st, ok := s.cfg.Conflict[model]; ok {
		return st
	}
	return s.cfg.DefaultConflict
}

// publish hands one committed change to the hub; it runs on the store's
// commit path and never blocks.
func (s *Server) publish(ch store.Change) {
	// Most writes have no subscriber: skip copying the item for them.
	if !s.hub.Listening(ch.Record.Model, ch.Op.String()) {
		return
	}
	s.hub.Publish(realtime.Event{
		Model: ch.Record.Model,
		Op:    ch.Op.String(),
		Item:  output(ch.Record),
		Seq:   ch.Seq,
	})
}

// Handler returns the HTTP API: POST /graphql, the WebSocket endpoint
// /graphql/realtime, GET /healthz and GET /readyz (see health.go), unless
// Config.Metrics is MetricsOff GET /metrics, and the web console at /
// (console.go). Connection timeouts are the http.Server's: Serve sets them
// from Config.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/graphql", s.serveGraphQL)
	mux.Handle("/graphql/realtime", s.hub)
	mux.HandleFunc("/healthz", s.serveHealth)
	mux.HandleFunc("/readyz", s.serveReady)
	if s.cfg.Metrics != MetricsOff {
		mux.Handle("/metrics", s.serveMetrics())
	}
	s.mountConsole(mux)
	return mux
}

// Serve serves Handler on ln until ctx ends, then shuts down gracefully:
// it stops accepting, lets requests under way (and so their writes) finish
// within grace, and closes every WebSocket connection.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	hs := &http.Server{
		Handler: s.Handler(),
		// net/http lifts these deadlines where they must not apply: the
		// read deadline once a body is read (the connection is then
		// watched for the client leaving, which cancels the request's
		// context), both on a connection hijacked for a WebSocket.
		ReadTimeout:  s.cfg.ReadTimeout,
		WriteTimeout: s.cfg.WriteTimeout,
		IdleTimeout:  s.cfg.IdleTimeout,
		ErrorLog:     slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:  func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ConnState:    s.conns.connState,
	}
	// Runs last, once the accept loops have ended.
	defer s.conns.drain()
	// The fast path takes the connections first and hands net/http the
	// ones it does not serve (fastpath.go); both count them against
	// MaxConnections (connlimit.go).
	var fast *fastServer
	var hln net.Listener = &limitListener{Listener: ln, l: s.conns}
	if !s.noFastPath {
		fast = newFastServer(context.WithoutCancel(ctx), s, ln)
		hln = fast.handoff
		defer fast.stop()
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(hln) }()
	select {
	case err := <-errc:
		if fast != nil {
			fast.stop()
			_ = fast.shutdown(context.Background())
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var wg sync.WaitGroup
	var herr, rerr, ferr error
	wg.Add(2)
	go func() { defer wg.Done(); herr = hs.Shutdown(sctx) }()
	go func() { defer wg.Done(); rerr = s.Shutdown(sctx) }()
	if fast != nil {
		wg.Add(1)
		go func() { defer wg.Done(); ferr = fast.shutdown(sctx) }()
	}
	wg.Wait()
	<-errc
	return errors.Join(herr, rerr, ferr)
}

// MaxConnections is the cap on the connections Serve serves at once
// (Config.MaxConnections with its default applied); 0 means none.
func (s *Server) MaxConnections() int { return int(s.conns.max) }

// Shutdown closes every real-time connection, waits for mutations under way
// and detaches from the store's feed. It does not close the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shuttingDown.Store(true)
	err := s.hub.Shutdown(ctx)
	done := make(chan struct{})
	go func() { s.writes.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("serve: waiting for writes: %w", ctx.Err()))
	}
	s.stopFeed()
	s.authn.Close()
	return err
}

// inputNames returns the names a request's variables use as object keys:
// the fields of the API's input types and the arguments of its root fields,
// each mapped to itself.
func inputNames(schema *ast.Schema) map[string]string {
	names := map[string]string{}
	for _, d := range schema.Types {
		if d.Kind == ast.InputObject {
			for _, f := range d.Fields {
				names[f.Name] = f.Name
			}
		}
	}
	for _, root := range []*ast.Definition{schema.Query, schema.Mutation, schema.Subscription} {
		if root == nil {
			continue
		}
		for _, f := range root.Fields {
			for _, a := range f.Arguments {
				names[a.Name] = a.Name
			}
		}
	}
	return names
}
