// Package syncengine keeps a local datastore in step with an AppSync (or
// `dsgen serve`) backend: base and delta sync queries, a persistent outbox
// of local mutations sent one at a time, real-time subscriptions over one
// WebSocket, and conflict handling. The local store keeps working offline;
// the engine converges with the backend whenever it can.
//
// Start runs, in the background, the sequence Amplify DataStore's sync
// engine runs (the flows in ARCHITECTURE.md, at the module root):
// subscriptions first (their events are buffered), then each model's sync
// query (parents before children), then the outbox drain, then the
// buffered events; then it reports Ready and
// keeps processing mutations and events until the connection drops, when it
// reconnects with jittered backoff and runs a delta sync so nothing that
// happened while it was away is missed.
package syncengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/meta"
)

// Config configures an Engine.
type Config struct {
	// Endpoint is the GraphQL URL (https://.../graphql).
	Endpoint string
	// RealtimeURL is the WebSocket URL; derived from Endpoint as AppSync
	// clients derive it when empty.
	RealtimeURL string
	// Auth authorizes requests: client.APIKey, client.Token (a JWT
	// function, refreshed after a 401) or client.Hook (e.g. IAM signing).
	Auth client.Auth
	// Owner is the signed-in user's name (the id token's cognito:username,
	// what the JS client passes). A transformer v1 API requires it as the
	// owner argument of an owner-auth model's subscriptions (AppSync v1 and
	// dsgen serve for a v1 schema refuse them without it); the engine then
	// subscribes with it, as the JS client does. Unused for v2 schemas,
	// whose subscriptions the backend filters per caller.
	Owner string
	// AuthModes turns on multi-auth (Amplify's authModeStrategyType
	// MULTI_AUTH) instead of Auth: one provider per mode the app can use.
	// Each request (sync query, subscription, mutation) of a model tries
	// the modes its @auth rules allow for that operation, in Amplify's
	// priority order (custom, owner, groups, private, public rules; within
	// one, function, userPools, oidc, iam, apiKey), moving to the next
	// when the backend refuses one as unauthorized. A model no configured
	// mode may read is not synced; a mutation no mode may send becomes a
	// dead letter.
	AuthModes map[AuthMode]client.Auth
	// HTTPClient carries HTTP and WebSocket traffic (TLS settings).
	HTTPClient *http.Client
	// SyncPageSize is the limit of each sync query (default 1000).
	SyncPageSize int
	// MaxRecordsToSync bounds one model's sync (default 10,000);
	// MaxRecordsPerModel overrides it per model.
	MaxRecordsToSync   int
	MaxRecordsPerModel map[string]int
	// FullSyncInterval is how old the last full sync may be before the
	// next sync is a full one (default 24 h).
	FullSyncInterval time.Duration
	// SyncExpressions are selective-sync filters, at most one per model
	// (SyncExpression, SyncExpressionFunc, SyncFilter); models without
	// one sync every record. They are evaluated at each Start; a change
	// makes that start's sync of the model a full one. They filter the
	// model's subscription events too: the backend's when it takes the
	// expression as the subscriptions' filter, the engine's always.
	SyncExpressions []SyncExpr
	// ConflictHandler decides a version conflict (default: retry the local
	// change on the server's version, as Amplify's default handler).
	ConflictHandler func(ctx context.Context, c Conflict) Resolution
	// MaxConflictAttempts bounds conflict retries of one mutation before it
	// becomes a dead letter (default 10).
	MaxConflictAttempts int
	// ErrorHandler hears about every mutation the backend refused for good
	// (they are also in the store's dead letters).
	ErrorHandler func(ctx context.Context, f MutationFailed)
	// MaxBackoff caps the jittered exponential backoff of retries and
	// reconnects (default 1 minute).
	MaxBackoff time.Duration
	// Parallel is how many models sync at once (default 4).
	Parallel int
	// Logger receives the engine's logs (default: discarded).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Conflict is a mutation the backend rejected because the record changed
// there since the local copy was taken.
type Conflict struct {
	Model string
	Op    string
	// Local holds the fields the mutation sends; Remote is the backend's
	// current record.
	Local, Remote map[string]any
	Attempts      int
}

// Resolution answers a Conflict: retry with Data (the fields to send, on
// the server's version) or discard the local change (the server's record
// replaces the local copy).
type Resolution struct {
	Discard bool
	Data    map[string]any
}

// Retry resends data on the server's version.
func Retry(data map[string]any) Resolution { return Resolution{Data: data} }

// Discard drops the local change and keeps the server's record.
func Discard() Resolution { return Resolution{Discard: true} }

// localStore is what the engine needs of the local store: the sync
// plumbing datastore.Store.Sync returns.
type localStore interface {
	OutboxSignal() <-chan struct{}
	NextMutation(ctx context.Context) (*datastore.Mutation, error)
	RetryMutation(ctx context.Context, m *datastore.Mutation) error
	FailMutation(ctx context.Context, m *datastore.Mutation, reason string, opts ...datastore.FailOption) error
	CompleteMutation(ctx context.Context, m *datastore.Mutation, result map[string]any) error
	ApplyRemote(ctx context.Context, model string, items []map[string]any, opts ...datastore.ApplyOption) (datastore.ApplyResult, error)
	ApplyRemoteJSON(ctx context.Context, model string, items []json.RawMessage, opts ...datastore.ApplyOption) (datastore.ApplyResult, error)
	SweepUnseen(ctx context.Context, model string, startedAt int64) (int, error)
	HasSyncMeta(ctx context.Context, model string) (bool, error)
	ModelMetadata(ctx context.Context, model string) (datastore.ModelMetadata, error)
	SetModelMetadata(ctx context.Context, md datastore.ModelMetadata) error
	SetSynced(model string, synced bool)
}

var _ localStore = datastore.SyncStore{}

// Engine syncs one datastore.Store, which must be opened with
// datastore.Outbox() so local writes are queued.
type Engine struct {
	store localStore
	// startStore starts the local store (datastore.Store.Start).
	startStore func(context.Context) error
	// observe observes the local store (datastore.Store.Observe).
	observe func(context.Context, ...datastore.ObserveOption) <-chan datastore.StoreChange
	cfg     Config
	client  *client.Client
	auth    *authPlan
	docs    map[string]*client.ModelDocs
	filters map[string]func() map[string]any
	levels  [][]*meta.Model
	// v1 is true for a transformer v1 schema (owner subscription arguments).
	v1     bool
	events broadcaster
	log    *slog.Logger

	online atomic.Bool

	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	ready   chan struct{}
	stopped bool
}

// New returns an engine for store. It does not touch the network until
// Start.
func New(store *datastore.Store, cfg Config) (*Engine, error) {
	if store == nil {
		return nil, errors.New("syncengine: nil store")
	}
	if cfg.Endpoint == "" || (cfg.Auth == nil) == (len(cfg.AuthModes) == 0) {
		return nil, errors.New("syncengine: Config.Endpoint is required, and one of Config.Auth and Config.AuthModes")
	}
	if cfg.SyncPageSize <= 0 {
		cfg.SyncPageSize = 1000
	}
	if cfg.MaxRecordsToSync <= 0 {
		cfg.MaxRecordsToSync = 10_000
	}
	if cfg.FullSyncInterval <= 0 {
		cfg.FullSyncInterval = 24 * time.Hour
	}
	if cfg.MaxConflictAttempts <= 0 {
		cfg.MaxConflictAttempts = 10
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ConflictHandler == nil {
		cfg.ConflictHandler = func(_ context.Context, c Conflict) Resolution { return Retry(c.Local) }
	}
	opts := []client.Option{client.WithLogger(cfg.Logger)}
	if cfg.HTTPClient != nil {
		opts = append(opts, client.WithHTTPClient(cfg.HTTPClient))
	}
	s := store.Schema()
	plan, err := newAuthPlan(s, cfg, opts)
	if err != nil {
		return nil, err
	}
	cl := plan.single[0].client
	if cfg.RealtimeURL == "" {
		cfg.RealtimeURL = cl.RealtimeURL()
	}
	e := &Engine{store: store.Sync(), startStore: store.Start, observe: store.Observe, cfg: cfg, client: cl, auth: plan, docs: map[string]*client.ModelDocs{}, log: cfg.Logger}
	e.v1 = s.TransformerV1
	for _, m := range s.Models {
		d, err := client.Documents(s, m)
		if err != nil {
			return nil, fmt.Errorf("syncengine: documents of %s: %w", m.Name, err)
		}
		e.docs[m.Name] = d
	}
	names := map[string]bool{}
	for _, m := range s.Models {
		names[m.Name] = true
	}
	if e.filters, err = syncFilters(names, cfg.SyncExpressions); err != nil {
		return nil, err
	}
	e.levels = syncLevels(s)
	return e, nil
}

// syncLevels groups models so that every model comes after the models it
// belongs to: each level syncs after the previous one, its models in
// parallel.
func syncLevels(s *meta.Schema) [][]*meta.Model {
	level := map[string]int{}
	var depth func(m *meta.Model, seen map[string]bool) int
	depth = func(m *meta.Model, seen map[string]bool) int {
		if l, ok := level[m.Name]; ok {
			return l
		}
		if seen[m.Name] {
			return 0 // a cycle of belongsTo: break it anywhere
		}
		seen[m.Name] = true
		d := 0
		for _, f := range m.Fields {
			if f.Relation != nil && f.Relation.Kind == meta.BelongsTo {
				if p := s.Model(f.Relation.Model); p != nil && p != m {
					d = max(d, depth(p, seen)+1)
				}
			}
		}
		level[m.Name] = d
		return d
	}
	var out [][]*meta.Model
	for _, m := range s.Models {
		d := depth(m, map[string]bool{})
		for len(out) <= d {
			out = append(out, nil)
		}
		out[d] = append(out[d], m)
	}
	return out
}

// Events returns a channel of the engine's events from now on, closed when
// ctx ends.
func (e *Engine) Events(ctx context.Context) <-chan Event { return e.events.listen(ctx) }

// Online reports whether the engine is connected to the backend.
func (e *Engine) Online() bool { return e.online.Load() }

// Start starts syncing in the background and returns at once; the local
// store works meanwhile. Ready (or an Event) tells when the first sync is
// done. Start after Stop starts again, re-evaluating sync expressions.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cancel != nil {
		return nil
	}
	if err := e.startStore(ctx); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done, e.ready = cancel, make(chan struct{}), make(chan struct{})
	// Observed before Start returns, so a write right after it is reported.
	// Only local writes, and only while an Events channel is open: the
	// records a sync applies, and local writes nobody listens for, are not
	// decoded (BenchmarkSaveWithEngine).
	changes := e.observe(runCtx, datastore.LocalChanges(), datastore.ObserveIf(e.events.listening))
	e.events.emit(StorageSubscribed{})
	go func(done, ready chan struct{}) {
		defer close(done)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			e.watchStore(runCtx, changes)
		}()
		e.run(runCtx, ready)
		<-watched // runCtx is done: the store closes changes
	}(e.done, e.ready)
	return nil
}

// Ready returns a channel closed once the current run has completed its
// first start sequence.
func (e *Engine) Ready() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ready == nil {
		return make(chan struct{})
	}
	return e.ready
}

// Stop closes the connection and stops the processors, waiting for them
// (or for ctx). Local data and the outbox are kept.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	cancel, done := e.cancel, e.done
	e.cancel, e.done = nil, nil
	e.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("syncengine: stop: %w", ctx.Err())
	}
	e.setOnline(false)
	return nil
}

// Close stops the engine and ends every Events channel.
func (e *Engine) Close(ctx context.Context) error {
	err := e.Stop(ctx)
	e.events.close()
	return err
}

func (e *Engine) setOnline(v bool) {
	if e.online.Swap(v) != v {
		e.events.emit(NetworkStatus{Active: v})
	}
}

// backoff returns the jittered exponential delay before attempt n.
func (e *Engine) backoff(n int) time.Duration {
	d := 200 * time.Millisecond << min(n, 20)
	if d > e.cfg.MaxBackoff || d <= 0 {
		d = e.cfg.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the engine's main loop: one iteration per connection.
func (e *Engine) run(ctx context.Context, ready chan struct{}) {
	readyOnce := sync.OnceFunc(func() { close(ready) })
	attempt := 0
	for {
		wasReady, err := e.session(ctx, readyOnce)
		if ctx.Err() != nil {
			return
		}
		e.setOnline(false)
		if wasReady {
			attempt = 0
		}
		e.log.Info("sync connection lost; reconnecting", "error", err, "attempt", attempt)
		if sleep(ctx, e.backoff(attempt)) != nil {
			return
		}
		attempt++
	}
}

// remarshal turns a value into JSON-shaped maps with json.Number numbers.
func remarshal(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]any
	err := unmarshalNumbers(raw, &m)
	return m, err
}
