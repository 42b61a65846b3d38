// Package dsgentest runs `dsgen serve` inside a Go test, so an app's tests
// can sync its generated stores against a real AppSync-compatible backend
// with one call:
//
//	func TestSync(t *testing.T) {
//		srv := dsgentest.Serve(t, model.Schema())
//		ds, _ := model.Open(ctx, "", datastore.InMemory(), datastore.Outbox())
//		eng, _ := syncengine.New(ds.Store(), syncengine.Config{
//			Endpoint: srv.URL,
//			Auth:     client.APIKey(srv.APIKey), // or client.Token(srv.TokenFunc("alice"))
//		})
//		...
//	}
//
// The server listens on a loopback port over a Badger store in
// t.TempDir(), accepts its API key and HS256 JWTs it mints (Token), and
// shuts down when the test ends. Import it from tests only.
package dsgentest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/meta"
)

// shutdownGuard bounds the server's shutdown when the test ends, so a
// server that cannot stop fails the test instead of hanging it.
const shutdownGuard = 2 * time.Minute

// Server is a running in-process `dsgen serve`.
type Server struct {
	// URL is the GraphQL endpoint (http://127.0.0.1:port/graphql), for
	// syncengine.Config.Endpoint.
	URL string
	// RealtimeURL is the real-time WebSocket endpoint
	// (ws://127.0.0.1:port/graphql/realtime); the sync engine derives it
	// from URL by itself.
	RealtimeURL string
	// APIKey is the API key the server accepts.
	APIKey string

	secret []byte
	now    func() time.Time
}

// Option tunes Serve.
type Option func(*options)

type options struct {
	conflict    string
	perModel    map[string]string
	authWebhook string
}

// AuthWebhook makes the server send authorization tokens that are not its
// JWTs to a Lambda authorizer webhook at url (https, or http on loopback,
// such as an httptest server), as `dsgen serve --auth-webhook` does: the
// callers it accepts get the schema's allow: custom rules.
func AuthWebhook(url string) Option {
	return func(o *options) { o.authWebhook = url }
}

// Conflict sets the conflict strategy, "automerge" (the default, as the
// Amplify CLI), "optimistic" or "none", for every model, or only for the
// models named.
func Conflict(strategy string, models ...string) Option {
	return func(o *options) {
		if len(models) == 0 {
			o.conflict = strategy
			return
		}
		for _, m := range models {
			o.perModel[m] = strategy
		}
	}
}

// Serve starts `dsgen serve` for schema (the generated package's Schema())
// and stops it when t ends. It fails t when the server cannot start.
func Serve(t testing.TB, schema *meta.Schema, opts ...Option) *Server {
	t.Helper()
	o := options{conflict: "automerge", perModel: map[string]string{}}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := o.config()
	if err != nil {
		t.Fatalf("dsgentest: %v", err)
	}
	s := &Server{APIKey: "da2-" + random(t, 13), secret: []byte(random(t, 32)), now: time.Now}
	st, err := store.Open(context.Background(), store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("dsgentest: open the server's store: %v", err)
	}
	cfg.Schema, cfg.Store = schema, st
	cfg.Auth = auth.Config{APIKeys: []auth.APIKey{{Key: s.APIKey}}, JWT: &auth.JWTConfig{HS256Secret: s.secret}}
	if o.authWebhook != "" {
		cfg.Auth.Lambda = &auth.LambdaConfig{URL: o.authWebhook}
	}
	srv, err := serve.New(cfg)
	if err != nil {
		_ = st.Close()
		t.Fatalf("dsgentest: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	// Cleanups run last-registered first: the server shuts down (its
	// WebSockets close, its writes finish), then the listener, then the
	// store.
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("dsgentest: close the server's store: %v", err)
		}
	})
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGuard)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("dsgentest: shut the server down: %v", err)
		}
	})
	s.URL = ts.URL + "/graphql"
	s.RealtimeURL = "ws" + strings.TrimPrefix(ts.URL, "http") + "/graphql/realtime"
	return s
}

func (o options) config() (serve.Config, error) {
	var cfg serve.Config
	var err error
	if cfg.DefaultConflict, err = serve.ParseStrategy(o.conflict); err != nil {
		return cfg, err
	}
	for m, name := range o.perModel {
		s, err := serve.ParseStrategy(name)
		if err != nil {
			return cfg, fmt.Errorf("model %s: %w", m, err)
		}
		if cfg.Conflict == nil {
			cfg.Conflict = map[string]serve.Strategy{}
		}
		cfg.Conflict[m] = s
	}
	if cfg.DefaultConflict == serve.Custom || containsCustom(cfg.Conflict) {
		return cfg, fmt.Errorf("the custom (Lambda) conflict strategy needs a webhook, which dsgentest does not run")
	}
	return cfg, nil
}

func containsCustom(m map[string]serve.Strategy) bool {
	for _, s := range m {
		if s == serve.Custom {
			return true
		}
	}
	return false
}

// Token mints a JWT the server accepts, valid for an hour, for a user
// pool user: username (claims "sub", "username" and "cognito:username",
// which owner rules match) in groups (claim "cognito:groups").
func (s *Server) Token(username string, groups ...string) (string, error) {
	now := s.now()
	claims := map[string]any{
		"sub": username, "username": username, "cognito:username": username,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if len(groups) > 0 {
		claims["cognito:groups"] = groups
	}
	tok, err := auth.SignHS256(s.secret, claims)
	if err != nil {
		return "", fmt.Errorf("dsgentest: token for %s: %w", username, err)
	}
	return tok, nil
}

// TokenFunc returns Token as the function client.Token takes: each call
// mints a fresh token.
func (s *Server) TokenFunc(username string, groups ...string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return s.Token(username, groups...) }
}

// random returns n random bytes as hex.
func random(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("dsgentest: %v", err)
	}
	return hex.EncodeToString(b)
}
