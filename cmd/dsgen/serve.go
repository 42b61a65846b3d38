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
	"github.com/dsgen/dsgen/internal/serve/sdl"
	"github.com/dsgen/dsgen/internal/serve/store"
)

const serveSummary = `Serves an AppSync-compatible GraphQL API for the schema's models, with
conflict detection, delta sync and real-time subscriptions, so DataStore
clients (dsgen's and Amplify's) sync against it. GraphQL is served at
/graphql, the real-time WebSocket at /graphql/realtime, health at /healthz.
Logs are JSON lines on stderr; the "listening" line names the bound
address. SIGINT or SIGTERM stops it gracefully.`

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
		jwks        = fs.String("jwks", "", "accept RS256 bearer tokens signed by the keys in this JWKS `file`")
		issuer      = fs.String("jwt-issuer", "", "required JWT \"iss\"")
		audience    = fs.String("jwt-audience", "", "required JWT \"aud\" or \"client_id\"")
		userClaim   = fs.String("jwt-username-claim", "", "JWT claim naming the owner (default username, cognito:username, sub)")
		groupsClaim = fs.String("jwt-groups-claim", "", "JWT claim listing the groups (default cognito:groups)")
		tlsCert     = fs.String("tls-cert", "", "serve HTTPS/WSS with this certificate `file` (plain HTTP stays available on the same port)")
		tlsKey      = fs.String("tls-key", "", "private key `file` for --tls-cert")
		devTLS      = fs.Bool("dev-tls", false, "serve HTTPS/WSS with a self-signed certificate for 127.0.0.1 and localhost")
		devTLSDir   = fs.String("dev-tls-dir", "", "`directory` for dev-cert.pem (default: the data directory, or a temporary one)")
		maxBody     = fs.Int64("max-body", 1<<20, "maximum GraphQL request body in `bytes`")
		maxSubs     = fs.Int("max-subscriptions", 100, "subscriptions per WebSocket connection")
		maxFrame    = fs.Int64("max-message", 240<<10, "maximum inbound WebSocket message in `bytes`")
		pageMax     = fs.Int("max-limit", 1000, "largest page a list or sync query returns")
		grace       = fs.Duration("grace", 10*time.Second, "how long shutdown waits for requests under way")
		logLevel    = fs.String("log-level", "info", "log `level`: debug, info, warn or error")
		noFsync     = fs.Bool("unsafe-no-fsync", false, "acknowledge writes before they are on disk: faster, but an OS crash or power loss loses acknowledged writes")
	)
	fs.Var(&apiKeys, "api-key", "accept this API `key` in x-api-key; KEY@2026-12-31T00:00:00Z sets an expiry (repeatable)")
	fs.Var(&conflicts, "conflict", "conflict strategy of one model, `MODEL=STRATEGY` (repeatable)")
	fs.Var(&directives, "directive", "accept and ignore a custom transformer directive `name` (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *schemaPath == "" {
		fmt.Fprintln(stderr, "dsgen serve: --schema is required")
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
	cfg.Realtime.MaxSubscriptions = *maxSubs
	cfg.Realtime.MaxMessageBytes = *maxFrame
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
				return usageErr(fs, "--api-key %q: the expiry is not RFC 3339: %v", key, err)
			}
		}
		cfg.Auth.APIKeys = append(cfg.Auth.APIKeys, ak)
	}
	if *hsSecret != "" || *jwks != "" {
		cfg.Auth.JWT = &auth.JWTConfig{JWKSFile: *jwks, Issuer: *issuer, Audience: *audience, UsernameClaim: *userClaim, GroupsClaim: *groupsClaim}
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
			cert, devCert, err = serve.DevCertificate(dir)
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
	log.Info("listening", attrs...)
	err = srv.Serve(ctx, ln, *grace)
	log.Info("stopped")
	return err
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
