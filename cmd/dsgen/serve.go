package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/gqlexec"
	"github.com/dsgen/dsgen/internal/serve/sdl"
	"github.com/dsgen/dsgen/internal/serve/store"
)

const serveSummary = `Serves an AppSync-compatible GraphQL API for the schema's models, with
conflict detection, delta sync and real-time subscriptions, so DataStore
clients (dsgen's and Amplify's) sync against it. GraphQL is served at
/graphql, the real-time WebSocket at /graphql/realtime, health at /healthz.
Prometheus metrics at /metrics (see --metrics). Logs are JSON lines on
stderr; the "listening" line names the bound address. SIGINT or SIGTERM
stops it gracefully.

Every flag not given on the command line is read from the environment as
DSGEN_SERVE_<FLAG> (--api-key: DSGEN_SERVE_API_KEY; lists comma-separated),
else from the serve: section of dsgen.yml (the nearest in the current
directory or above, or --config), keyed by flag name (api-key: [k1, k2];
paths relative to the file). Secrets given by environment stay out of the
process list.`

func serveCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", serveSummary, stderr)
	var (
		schemaPath  = fs.String("schema", "", "schema `file` or directory of *.graphql files (required)")
		dataDir     = fs.String("data", "", "data `directory` (default ./dsgen-data)")
		inMemory    = fs.Bool("in-memory", false, "keep data in memory only (tests, demos)")
		addr        = fs.String("addr", "127.0.0.1:20002", "listen `address`; port 0 picks a free port")
		printSchema = fs.Bool("print-schema", false, "print the served GraphQL SDL and exit")
		apiKeys     listFlag
		conflicts   listFlag
		directives  listFlag
		conflictDef = fs.String("conflict-default", "automerge", "conflict `strategy` of models without --conflict: automerge, optimistic, custom or none")
		webhook     = fs.String("conflict-webhook", "", "`URL` receiving the Lambda-shaped payload for the custom strategy")
		baseTTL     = fs.Duration("base-ttl", 30*24*time.Hour, "how long tombstones are kept")
		deltaTTL    = fs.Duration("delta-ttl", 30*time.Minute, "how long the change log is kept (older lastSync gets a base sync)")
		hsSecret    = fs.String("jwt-hs256-secret", "", "accept HS256 bearer tokens signed with this `secret`")
		jwks        = fs.String("jwks", "", "accept RS256/ES256 bearer tokens signed by the keys in this JWKS `file`")
		jwksURL     = fs.String("jwks-url", "", fmt.Sprintf("accept RS256/ES256 bearer tokens signed by the keys of the JWKS at this `URL`, e.g. https://cognito-idp.REGION.amazonaws.com/POOL_ID/.well-known/jwks.json;\nhttps only (plain http only to a loopback address such as 127.0.0.1); fetched at start (the server does not start\nwhen that fails), then every --jwks-refresh and on a token with an unknown key id (at most once per %s); a failed\nrefresh keeps the last good keys", auth.DefaultJWKSMissInterval))
		jwksRefresh = fs.Duration("jwks-refresh", auth.DefaultJWKSRefresh, "how often the --jwks-url keys are refetched")
		allowNoExp  = fs.Bool("jwt-allow-no-exp", false, "accept JWTs without an \"exp\" claim (refused by default: they never expire)")
		issuer      = fs.String("jwt-issuer", "", "required JWT \"iss\"")
		audience    = fs.String("jwt-audience", "", "required JWT \"aud\" or \"client_id\"")
		userClaim   = fs.String("jwt-username-claim", "", "JWT claim naming the owner (default username, cognito:username, sub)")
		groupsClaim = fs.String("jwt-groups-claim", "", "JWT claim listing the groups (default cognito:groups)")
		tlsCert     = fs.String("tls-cert", "", "serve HTTPS/WSS with this certificate `file` (plain HTTP stays available on the same port)")
		tlsKey      = fs.String("tls-key", "", "private key `file` for --tls-cert")
		devTLS      = fs.Bool("dev-tls", false, "serve HTTPS/WSS with a self-signed certificate for 127.0.0.1 and localhost")
		devTLSDir   = fs.String("dev-tls-dir", "", "`directory` keeping dev-cert.pem and dev-key.pem across restarts (default: the data directory, or a temporary one)")
		maxBody     = fs.Int64("max-body", 1<<20, "maximum GraphQL request body in `bytes`")
		maxSubs     = fs.Int("max-subscriptions", 100, "subscriptions per WebSocket connection")
		maxFrame    = fs.Int64("max-message", 240<<10, "maximum inbound WebSocket message in `bytes`")
		pageMax     = fs.Int("max-limit", 1000, "largest page a list or sync query returns")
		grace       = fs.Duration("grace", 10*time.Second, "how long shutdown waits for requests under way")
		readTO      = fs.Duration("read-timeout", 10*time.Second, "time allowed to read a request's headers and body")
		writeTO     = fs.Duration("write-timeout", 30*time.Second, "time allowed from a request's headers to the end of its response; its work is cancelled after it")
		idleTO      = fs.Duration("idle-timeout", 60*time.Second, "close a keep-alive connection idle this long")
		maxResp     = fs.Int("max-response", gqlexec.DefaultMaxResponseBytes, "largest response data in `bytes`; a larger one is refused with LimitExceededError")
		maxRoots    = fs.Int("max-root-fields", gqlexec.DefaultMaxRootFields, "root fields an operation may select")
		maxFields   = fs.Int("max-fields", gqlexec.DefaultMaxFields, "fields a document may select, fragments expanded")
		maxAliases  = fs.Int("max-aliases", gqlexec.DefaultMaxAliases, "aliased fields a document may hold, fragments expanded")
		maxFrags    = fs.Int("max-fragments", gqlexec.DefaultMaxFragments, "fragments a document may define")
		maxDepth    = fs.Int("max-depth", gqlexec.DefaultMaxDepth, "how deep a document's selections may nest")
		maxTokens   = fs.Int("max-tokens", gqlexec.DefaultMaxTokens, "lexical tokens a document may hold")
		maxCalls    = fs.Int("max-resolver-calls", gqlexec.DefaultMaxResolverCalls, "resolver calls (root fields, relations per item) a request may make")
		logLevel    = fs.String("log-level", "info", "log `level`: debug, info, warn or error")
		configPath  = fs.String("config", "", "settings `file` (default: the nearest dsgen.yml in the current directory or above)")
		metricsMode = fs.String("metrics", "auto", "who may read /metrics: open, auth (the credentials of a GraphQL request), off, or auto (open on a loopback --addr, else auth)")
		noFsync     = fs.Bool("unsafe-no-fsync", false, "acknowledge writes before they are on disk: faster, but an OS crash or power loss loses acknowledged writes")
	)
	fs.Var(&apiKeys, "api-key", "accept this API `key` in x-api-key; KEY@2026-12-31T00:00:00Z sets an expiry (repeatable)")
	fs.Var(&conflicts, "conflict", "conflict strategy of one model, `MODEL=STRATEGY` (repeatable)")
	fs.Var(&directives, "directive", "accept and ignore a custom transformer directive `name` (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfgFile, err := findServeConfig(*configPath, os.LookupEnv)
	if err != nil {
		return err
	}
	sources, err := applySettings(fs, os.LookupEnv, cfgFile)
	if err != nil {
		return err
	}
	if *schemaPath == "" {
		fmt.Fprintln(stderr, "dsgen serve: --schema is required (or DSGEN_SERVE_SCHEMA, or schema in dsgen.yml)")
		fs.Usage()
		return errUsage
	}
	sch, err := schema.LoadPath(*schemaPath, schema.Options{Directives: directives})
	if err != nil {
		return err
	}
	if *printSchema {
		api, err := sdl.Build(sch, sdl.Options{})
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, api.SDL)
		return err
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageErr(fs, "--log-level: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg := serve.Config{Schema: sch, DeltaTTL: *deltaTTL, MaxBodyBytes: *maxBody, MaxLimit: *pageMax, Logger: log, ConflictWebhook: *webhook}
	if cfg.Metrics, err = metricsAccess(*metricsMode, *addr); err != nil {
		return usageErr(fs, "--metrics: %v", err)
	}
	cfg.Realtime.MaxSubscriptions = *maxSubs
	cfg.Realtime.MaxMessageBytes = *maxFrame
	cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout = *readTO, *writeTO, *idleTO
	cfg.Exec = gqlexec.Options{MaxDepth: *maxDepth, MaxTokens: *maxTokens, MaxFields: *maxFields, MaxFragments: *maxFrags,
		MaxAliases: *maxAliases, MaxRootFields: *maxRoots, MaxResponseBytes: *maxResp, MaxResolverCalls: *maxCalls}
	if cfg.DefaultConflict, err = serve.ParseStrategy(*conflictDef); err != nil {
		return usageErr(fs, "--conflict-default: %v", err)
	}
	for _, c := range conflicts {
		model, st, ok := strings.Cut(c, "=")
		if !ok {
			return usageErr(fs, "--conflict %q: want MODEL=STRATEGY", c)
		}
		s, err := serve.ParseStrategy(st)
		if err != nil {
			return usageErr(fs, "--conflict %q: %v", c, err)
		}
		if cfg.Conflict == nil {
			cfg.Conflict = map[string]serve.Strategy{}
		}
		cfg.Conflict[model] = s
	}
	for _, k := range apiKeys {
		key, exp, hasExp := strings.Cut(k, "@")
		ak := auth.APIKey{Key: key}
		if hasExp {
			if ak.Expires, err = time.Parse(time.RFC3339, exp); err != nil {
				// The key is a secret: name only the expiry.
				return usageErr(fs, "--api-key: the expiry %q is not RFC 3339 (KEY@2026-12-31T00:00:00Z)", exp)
			}
		}
		cfg.Auth.APIKeys = append(cfg.Auth.APIKeys, ak)
	}
	if *jwks != "" && *jwksURL != "" {
		return usageErr(fs, "--jwks and --jwks-url exclude each other")
	}
	if *hsSecret != "" || *jwks != "" || *jwksURL != "" {
		cfg.Auth.JWT = &auth.JWTConfig{JWKSFile: *jwks, Issuer: *issuer, Audience: *audience, UsernameClaim: *userClaim, GroupsClaim: *groupsClaim}
		cfg.Auth.JWT.JWKSURL, cfg.Auth.JWT.JWKSRefresh, cfg.Auth.JWT.AllowNoExp = *jwksURL, *jwksRefresh, *allowNoExp
		if *hsSecret != "" {
			cfg.Auth.JWT.HS256Secret = []byte(*hsSecret)
		}
	}
	if len(cfg.Auth.APIKeys) == 0 && cfg.Auth.JWT == nil {
		log.Warn("no --api-key and no JWT settings: every request will be refused")
	}
	if *inMemory && *dataDir != "" {
		return usageErr(fs, "--data and --in-memory exclude each other")
	}
	if !*inMemory && *dataDir == "" {
		*dataDir = "dsgen-data"
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usageErr(fs, "--tls-cert and --tls-key go together")
	}
	if *devTLS && *tlsCert != "" {
		return usageErr(fs, "--dev-tls and --tls-cert exclude each other")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if !*inMemory {
		if cfg.TokenSecret, err = tokenSecret(*dataDir); err != nil {
			return err
		}
	}
	if *noFsync && !*inMemory {
		log.Warn("--unsafe-no-fsync: writes are acknowledged before they are on disk; an OS crash or power loss loses writes clients were told succeeded", "data", *dataDir)
	}
	st, err := store.Open(ctx, store.Options{Dir: *dataDir, InMemory: *inMemory, BaseTTL: *baseTTL, DeltaTTL: *deltaTTL, UnsafeNoFsync: *noFsync})
	if err != nil {
		return fmt.Errorf("opening the data store: %w", err)
	}
	defer st.Close()
	cfg.Store = st
	srv, err := serve.New(cfg)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme, wsScheme := "http", "ws"
	var devCert string
	if *tlsCert != "" || *devTLS {
		var cert tls.Certificate
		if *devTLS {
			dir := *devTLSDir
			if dir == "" {
				dir = *dataDir
			}
			if dir == "" {
				if dir, err = os.MkdirTemp("", "dsgen-dev-tls-"); err != nil {
					return err
				}
			}
			cert, devCert, err = serve.DevCertificate(dir, log)
		} else {
			cert, err = tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		}
		if err != nil {
			ln.Close()
			return fmt.Errorf("TLS: %w", err)
		}
		ln = serve.SniffTLS(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		wsScheme = "wss"
	}
	bound := ln.Addr().String()
	attrs := []any{"addr", bound,
		"graphql", scheme + "://" + bound + "/graphql",
		"realtime", wsScheme + "://" + bound + "/graphql/realtime",
		"models", len(sch.Models), "tls", wsScheme == "wss"}
	if devCert != "" {
		attrs = append(attrs, "devCert", devCert)
	}
	if *inMemory {
		attrs = append(attrs, "data", ":memory:")
	} else {
		attrs = append(attrs, "data", *dataDir)
	}
	attrs = append(attrs, "metrics", string(cfg.Metrics))
	// Where settings came from, by name only: values may be secrets.
	if sources.File != "" {
		attrs = append(attrs, "config", sources.File)
	}
	if len(sources.FromEnv) > 0 {
		attrs = append(attrs, "fromEnv", sources.FromEnv)
	}
	if len(sources.FromFile) > 0 {
		attrs = append(attrs, "fromFile", sources.FromFile)
	}
	log.Info("listening", attrs...)
	err = srv.Serve(ctx, ln, *grace)
	log.Info("stopped")
	return err
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

// usageErr reports a bad flag value and exits with status 2.
func usageErr(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "dsgen serve: "+format+"\n", args...)
	return errUsage
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
