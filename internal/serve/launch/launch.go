// Package launch runs `dsgen serve` as a process: it loads the schema,
// turns the command's settings into a serve.Config, opens the data store,
// listens (with TLS when asked), logs the "listening" line and serves until
// its context ends. cmd/dsgen only parses flags into Options.
package launch

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dsgen/dsgen/internal/config"
	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/gqlexec"
	"github.com/dsgen/dsgen/internal/serve/realtime"
	"github.com/dsgen/dsgen/internal/serve/sdl"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/meta"
)

// DefaultDataDir is the data directory when neither Data nor InMemory is
// set, relative to the working directory.
const DefaultDataDir = "dsgen-data"

// Options are the settings of one `dsgen serve` process, one per flag;
// the flag each mirrors is named where it differs.
type Options struct {
	Schema      string   // schema file or directory of *.graphql files
	Directives  []string // custom directives accepted and ignored (--directive)
	PrintSchema bool     // print the served SDL to Stdout and return

	Data     string // data directory; "" means DefaultDataDir unless InMemory
	InMemory bool
	// Store is a postgres:// URL (or key=value connection string): serve
	// from PostgreSQL, shared by every instance given the same URL,
	// instead of the embedded Badger store in Data.
	Store string
	Addr  string // listen address; port 0 picks a free port

	// Lock and Migrations are the schema's lock file and migration files'
	// directory; "" means dsgen.lock.json and migrations next to the
	// schema, as dsgen migrate writes them. Migrate is auto, check or off
	// (see migrate.go); "" means auto.
	Lock, Migrations, Migrate string

	APIKeys         []string // KEY or KEY@RFC3339-expiry (--api-key)
	Conflicts       []string // MODEL=STRATEGY (--conflict)
	ConflictDefault string
	ConflictWebhook string
	BaseTTL         time.Duration
	DeltaTTL        time.Duration

	JWTHS256Secret   string
	JWKS             string // JWKS file
	JWKSURL          string
	JWKSRefresh      time.Duration
	JWTAllowNoExp    bool
	JWTIssuer        string
	JWTAudience      string
	JWTUsernameClaim string
	JWTGroupsClaim   string

	// AuthWebhook is the Lambda authorizer webhook URL (--auth-webhook;
	// auth.LambdaConfig.URL); AuthWebhookTTL caches its decisions
	// (--auth-webhook-ttl, whose default is auth.DefaultLambdaTTL; 0
	// keeps none).
	AuthWebhook    string
	AuthWebhookTTL time.Duration
	// IAMCredentials is the JSON file of the AWS credentials whose SigV4
	// signatures are accepted (--iam-credentials; auth.LoadIAMCredentials);
	// IAMRegion the region their scopes must name (--iam-region).
	IAMCredentials string
	IAMRegion      string

	// DevAuth serves dev identities from the console (--dev-auth).
	DevAuth bool

	// CORSOrigins restricts the web pages that may call the API from a
	// browser (--cors-origin; serve.Config.CORSOrigins); empty: any.
	CORSOrigins []string

	TLSCert, TLSKey string
	DevTLS          bool
	DevTLSDir       string // "" means the data directory, else a temporary one
	// UnsafeNoFsync acknowledges writes before they are on disk.
	UnsafeNoFsync bool

	MaxBody          int64 // --max-body
	MaxConnections   int   // served at once; 0: from the open-file limit, negative: no cap
	MaxSubscriptions int   // per WebSocket connection
	MaxMessage       int64 // inbound WebSocket message bytes (--max-message)
	MaxLimit         int   // largest page (--max-limit)
	Grace            time.Duration
	ReadTimeout      time.Duration
	WriteTimeout     time.Duration
	IdleTimeout      time.Duration
	Exec             gqlexec.Options // the request cost limits (--max-depth, ...)

	LogLevel       string         // debug, info, warn or error
	Metrics        string         // open, auth, off or auto
	Sources        config.Sources // where the settings came from, for the log
	Stdout, Stderr io.Writer      // the SDL; the JSON log lines. Nil discards.
}

// OptionError is an invalid setting or a conflict between settings;
// `dsgen serve` reports it as a usage error. Msg names the flags and never
// a secret's value.
type OptionError struct{ Msg string }

// Error returns the message.
func (e *OptionError) Error() string { return e.Msg }

func optionErr(format string, args ...any) error {
	return &OptionError{Msg: fmt.Sprintf(format, args...)}
}

// Run serves the schema of o until ctx ends, then stops gracefully
// (waiting up to o.Grace for requests under way). With o.PrintSchema it
// only prints the served SDL.
func Run(ctx context.Context, o Options) error {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Schema == "" {
		return optionErr("a schema is required")
	}
	sch, err := schema.LoadPath(o.Schema, schema.Options{Directives: o.Directives})
	if err != nil {
		return err
	}
	if o.PrintSchema {
		api, err := sdl.Build(sch, sdl.Options{})
		if err != nil {
			return err
		}
		_, err = io.WriteString(o.Stdout, api.SDL)
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.LogLevel)); err != nil {
		return optionErr("--log-level: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(o.Stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := o.serverConfig(sch, log)
	if err != nil {
		return err
	}
	if err := o.checkStorage(); err != nil {
		return err
	}
	if err := o.devAuth(log, &cfg); err != nil {
		return err
	}
	// Listen first, so that load balancers see /readyz answer 503 while
	// the store opens and the schema's indexes build.
	ln, devCert, err := o.listen(log)
	if err != nil {
		return err
	}
	starting := serve.Start(ln)
	srv, st, err := o.start(ctx, log, cfg, sch)
	ln, serr := starting.Stop(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	defer st.Close()
	if serr != nil {
		log.Warn("the starting responder did not stop cleanly", "err", serr)
	}
	log.Info("listening", o.listeningAttrs(ln, sch, devCert, cfg.Metrics, srv.MaxConnections())...)
	err = srv.Serve(ctx, ln, o.Grace)
	log.Info("stopped")
	return err
}

// start opens the store, migrates its data to sch and builds the server
// over it; on error nothing is left open.
func (o *Options) start(ctx context.Context, log *slog.Logger, cfg serve.Config, sch *meta.Schema) (*serve.Server, store.Store, error) {
	st, err := o.openStore(ctx, log, &cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := o.migrateStore(ctx, log, st, sch); err != nil {
		return nil, nil, errors.Join(err, st.Close())
	}
	cfg.Store = st
	srv, err := serve.New(cfg)
	if err != nil {
		return nil, nil, errors.Join(err, st.Close())
	}
	return srv, st, nil
}

// openStore opens the engine the settings pick, PostgreSQL with Store and
// Badger otherwise, and sets the key that signs nextTokens: kept in the
// database or the data directory, so tokens outlive a restart and (on
// PostgreSQL) are valid on every instance.
func (o *Options) openStore(ctx context.Context, log *slog.Logger, cfg *serve.Config) (store.Store, error) {
	opts := store.Options{BaseTTL: o.BaseTTL, DeltaTTL: o.DeltaTTL, UnsafeNoFsync: o.UnsafeNoFsync}
	if o.UnsafeNoFsync && !o.InMemory {
		log.Warn("--unsafe-no-fsync: writes are acknowledged before they are on disk; an OS crash or power loss loses writes clients were told succeeded", "data", o.dataName())
	}
	if o.Store != "" {
		pg, err := store.OpenPostgres(ctx, o.Store, opts)
		if err != nil {
			return nil, fmt.Errorf("opening the PostgreSQL store: %w", err)
		}
		cfg.TokenSecret = pg.TokenKey()
		return pg, nil
	}
	if !o.InMemory {
		var err error
		if cfg.TokenSecret, err = tokenSecret(o.Data); err != nil {
			return nil, err
		}
	}
	opts.Dir, opts.InMemory = o.Data, o.InMemory
	st, err := store.Open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("opening the data store: %w", err)
	}
	return st, nil
}

// dataName says where the data is, for the log; never a password.
func (o *Options) dataName() string {
	switch {
	case o.Store != "":
		return "postgres " + redactURL(o.Store)
	case o.InMemory:
		return ":memory:"
	}
	return o.Data
}

// redactURL drops the password from a postgres:// URL; a key=value
// connection string is named only as such.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "(connection string)"
	}
	return u.Redacted()
}

// serverConfig turns the settings into the server's configuration, in the
// order the checks have always run.
func (o *Options) serverConfig(sch *meta.Schema, log *slog.Logger) (serve.Config, error) {
	cfg := serve.Config{Schema: sch, DeltaTTL: o.DeltaTTL, MaxBodyBytes: o.MaxBody, MaxLimit: o.MaxLimit, Logger: log, ConflictWebhook: o.ConflictWebhook}
	var err error
	if cfg.Metrics, err = metricsAccess(o.Metrics, o.Addr); err != nil {
		return cfg, optionErr("--metrics: %v", err)
	}
	for _, p := range o.CORSOrigins {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if err := realtime.CheckOriginPattern(p); err != nil {
			return cfg, optionErr("--cors-origin %q: %v", p, err)
		}
		cfg.CORSOrigins = append(cfg.CORSOrigins, p)
	}
	cfg.MaxConnections = o.MaxConnections
	cfg.Realtime.MaxSubscriptions = o.MaxSubscriptions
	cfg.Realtime.MaxMessageBytes = o.MaxMessage
	cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout = o.ReadTimeout, o.WriteTimeout, o.IdleTimeout
	cfg.Exec = o.Exec
	if cfg.DefaultConflict, err = serve.ParseStrategy(o.ConflictDefault); err != nil {
		return cfg, optionErr("--conflict-default: %v", err)
	}
	if cfg.Conflict, err = o.conflicts(); err != nil {
		return cfg, err
	}
	if cfg.Auth, err = o.auth(); err != nil {
		return cfg, err
	}
	if len(cfg.Auth.APIKeys) == 0 && cfg.Auth.JWT == nil && cfg.Auth.Lambda == nil && cfg.Auth.IAM == nil {
		log.Warn("no --api-key, no JWT settings, no --auth-webhook and no --iam-credentials: every request will be refused")
	}
	return cfg, nil
}

// conflicts parses the per-model conflict strategies; nil when none.
func (o *Options) conflicts() (map[string]serve.Strategy, error) {
	var m map[string]serve.Strategy
	for _, c := range o.Conflicts {
		model, st, ok := strings.Cut(c, "=")
		if !ok {
			return nil, optionErr("--conflict %q: want MODEL=STRATEGY", c)
		}
		s, err := serve.ParseStrategy(st)
		if err != nil {
			return nil, optionErr("--conflict %q: %v", c, err)
		}
		if m == nil {
			m = map[string]serve.Strategy{}
		}
		m[model] = s
	}
	return m, nil
}

// auth builds the API keys and JWT settings.
func (o *Options) auth() (auth.Config, error) {
	var a auth.Config
	for _, k := range o.APIKeys {
		key, exp, hasExp := strings.Cut(k, "@")
		ak := auth.APIKey{Key: key}
		if hasExp {
			var err error
			if ak.Expires, err = time.Parse(time.RFC3339, exp); err != nil {
				// The key is a secret: name only the expiry.
				return a, optionErr("--api-key: the expiry %q is not RFC 3339 (KEY@2026-12-31T00:00:00Z)", exp)
			}
		}
		a.APIKeys = append(a.APIKeys, ak)
	}
	if o.JWKS != "" && o.JWKSURL != "" {
		return a, optionErr("--jwks and --jwks-url exclude each other")
	}
	if o.JWTHS256Secret != "" || o.JWKS != "" || o.JWKSURL != "" {
		a.JWT = &auth.JWTConfig{JWKSFile: o.JWKS, Issuer: o.JWTIssuer, Audience: o.JWTAudience, UsernameClaim: o.JWTUsernameClaim, GroupsClaim: o.JWTGroupsClaim}
		a.JWT.JWKSURL, a.JWT.JWKSRefresh, a.JWT.AllowNoExp = o.JWKSURL, o.JWKSRefresh, o.JWTAllowNoExp
		if o.JWTHS256Secret != "" {
			a.JWT.HS256Secret = []byte(o.JWTHS256Secret)
		}
	}
	if o.AuthWebhook != "" {
		if o.AuthWebhookTTL > auth.MaxLambdaTTL {
			return a, optionErr("--auth-webhook-ttl %v: at most %v (AppSync's limit)", o.AuthWebhookTTL, auth.MaxLambdaTTL)
		}
		ttl := o.AuthWebhookTTL
		if ttl == 0 {
			ttl = -1 // 0 on the command line means no caching
		}
		a.Lambda = &auth.LambdaConfig{URL: o.AuthWebhook, TTL: ttl}
	}
	if o.IAMCredentials != "" {
		creds, err := auth.LoadIAMCredentials(o.IAMCredentials)
		if err != nil {
			return a, optionErr("--iam-credentials: %v", err)
		}
		a.IAM = &auth.IAMConfig{Credentials: creds, Region: o.IAMRegion}
	} else if o.IAMRegion != "" && o.IAMRegion != auth.DefaultIAMRegion {
		return a, optionErr("--iam-region %s: set --iam-credentials too", o.IAMRegion)
	}
	return a, nil
}

// checkStorage checks the data and TLS settings and sets the default data
// directory.
func (o *Options) checkStorage() error {
	if o.InMemory && o.Data != "" {
		return optionErr("--data and --in-memory exclude each other")
	}
	if o.Store != "" && (o.InMemory || o.Data != "") {
		return optionErr("--store and --data/--in-memory exclude each other")
	}
	if o.Store != "" && !strings.HasPrefix(o.Store, "postgres://") && !strings.HasPrefix(o.Store, "postgresql://") && !strings.Contains(o.Store, "=") {
		return optionErr("--store: want a postgres:// URL")
	}
	if o.Store == "" && !o.InMemory && o.Data == "" {
		o.Data = DefaultDataDir
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return optionErr("--tls-cert and --tls-key go together")
	}
	if o.DevTLS && o.TLSCert != "" {
		return optionErr("--dev-tls and --tls-cert exclude each other")
	}
	return nil
}

// listen listens on o.Addr, with TLS sniffed on the same port when a
// certificate is configured; devCert is the dev certificate's file.
func (o *Options) listen(log *slog.Logger) (ln net.Listener, devCert string, err error) {
	ln, err = net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen: %w", err)
	}
	if o.TLSCert == "" && !o.DevTLS {
		return ln, "", nil
	}
	var cert tls.Certificate
	if o.DevTLS {
		dir := o.DevTLSDir
		if dir == "" {
			dir = o.Data
		}
		if dir == "" {
			if dir, err = os.MkdirTemp("", "dsgen-dev-tls-"); err != nil {
				ln.Close()
				return nil, "", err
			}
		}
		cert, devCert, err = serve.DevCertificate(dir, log)
	} else {
		cert, err = tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
	}
	if err != nil {
		ln.Close()
		return nil, "", fmt.Errorf("TLS: %w", err)
	}
	return serve.SniffTLS(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), devCert, nil
}

// listeningAttrs are the attributes of the "listening" log line: where to
// connect, and where settings came from by name only (values may be
// secrets).
func (o *Options) listeningAttrs(ln net.Listener, sch *meta.Schema, devCert string, metrics serve.MetricsAccess, maxConns int) []any {
	tlsOn := o.TLSCert != "" || o.DevTLS
	scheme, wsScheme := "http", "ws"
	if tlsOn {
		wsScheme = "wss"
	}
	bound := ln.Addr().String()
	attrs := []any{"addr", bound,
		"graphql", scheme + "://" + bound + "/graphql",
		"realtime", wsScheme + "://" + bound + "/graphql/realtime",
		"console", scheme + "://" + bound + "/",
		"models", len(sch.Models), "tls", tlsOn}
	if devCert != "" {
		attrs = append(attrs, "devCert", devCert)
	}
	attrs = append(attrs, "data", o.dataName())
	attrs = append(attrs, "metrics", string(metrics), "maxConnections", maxConns)
	if o.Sources.File != "" {
		attrs = append(attrs, "config", o.Sources.File)
	}
	if len(o.Sources.FromEnv) > 0 {
		attrs = append(attrs, "fromEnv", o.Sources.FromEnv)
	}
	if len(o.Sources.FromFile) > 0 {
		attrs = append(attrs, "fromFile", o.Sources.FromFile)
	}
	return attrs
}

// metricsAccess resolves --metrics; auto is open on a loopback address and
// auth elsewhere.
func metricsAccess(mode, addr string) (serve.MetricsAccess, error) {
	if mode != "auto" {
		return serve.ParseMetricsAccess(mode)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return serve.MetricsAuth, nil // net.Listen reports the address
	}
	if host == "localhost" {
		return serve.MetricsOpen, nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return serve.MetricsOpen, nil
	}
	return serve.MetricsAuth, nil
}

// tokenSecret reads the key that signs nextTokens from the data directory,
// creating it on first use, so tokens stay valid across restarts.
func tokenSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, "token-secret")
	if b, err := os.ReadFile(path); err == nil {
		s, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(s) < 16 {
			return nil, fmt.Errorf("%s: not a hex key of 16 bytes or more", path)
		}
		return s, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := make([]byte, 32)
	if _, err := rand.Read(s); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(s)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return s, nil
}
