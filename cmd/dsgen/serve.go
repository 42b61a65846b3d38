package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dsgen/dsgen/internal/config"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/gqlexec"
	"github.com/dsgen/dsgen/internal/serve/launch"
)

const serveSummary = `Serves an AppSync-compatible GraphQL API for the schema's models, with
conflict detection, delta sync and real-time subscriptions, so DataStore
clients (dsgen's and Amplify's) sync against it. GraphQL is served at
/graphql, the real-time WebSocket at /graphql/realtime, health at /healthz,
the web console at /.
Prometheus metrics at /metrics (see --metrics). Logs are JSON lines on
stderr; the "listening" line names the bound address. SIGINT or SIGTERM
stops it gracefully.

Every flag not given on the command line is read from the environment as
DSGEN_SERVE_<FLAG> (--api-key: DSGEN_SERVE_API_KEY; lists comma-separated),
else from the serve: section of dsgen.yml (the nearest in the current
directory or above, or --config), keyed by flag name (api-key: [k1, k2];
paths relative to the file). Secrets given by environment stay out of the
process list.

"dsgen serve import" loads the DynamoDB tables of an AppSync API into the
store and "dsgen serve export" writes them back (see their --help).`

func serveCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "import" || args[0] == "export") {
		return serveTransfer(args[0], args[1:], stdout, stderr)
	}
	fs := newFlags("serve", serveSummary, stderr)
	o := launch.Options{Stdout: stdout, Stderr: stderr}
	serveFlags(fs, &o)
	if err := parse(fs, args); err != nil {
		return err
	}
	var err error
	if o.Sources, err = config.Load(fs, serveSettings, os.LookupEnv); err != nil {
		return err
	}
	if o.Schema == "" {
		fmt.Fprintln(stderr, "dsgen serve: --schema is required (or DSGEN_SERVE_SCHEMA, or schema in dsgen.yml)")
		fs.Usage()
		return errUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = launch.Run(ctx, o)
	if oe := (*launch.OptionError)(nil); errors.As(err, &oe) {
		return usageErr(fs, "%s", oe.Msg)
	}
	return err
}

// serveFlags defines serve's flags on fs, each setting a field of o.
func serveFlags(fs *flag.FlagSet, o *launch.Options) {
	fs.StringVar(&o.Schema, "schema", "", "schema `file` or directory of *.graphql files (required)")
	fs.StringVar(&o.Data, "data", "", "data `directory` (default ./dsgen-data)")
	fs.BoolVar(&o.InMemory, "in-memory", false, "keep data in memory only (tests, demos)")
	fs.StringVar(&o.Store, "store", "", "serve from PostgreSQL at this postgres:// `URL` (shared by several instances) instead of --data")
	fs.StringVar(&o.Lock, "lock", "", "schema lock `file` (default: dsgen.lock.json next to the schema), as dsgen migrate writes it")
	fs.StringVar(&o.Migrations, "migrations", "", "migration files' `directory` (default: migrations next to the schema)")
	fs.StringVar(&o.Migrate, "migrate", "auto", "at start, bring stored data to the schema with the migration files: auto (apply them), check (refuse to start while any is pending) or off (neither check nor record the schema of the data)")
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:20002", "listen `address`; port 0 picks a free port")
	fs.BoolVar(&o.PrintSchema, "print-schema", false, "print the served GraphQL SDL and exit")
	fs.StringVar(&o.ConflictDefault, "conflict-default", "automerge", "conflict `strategy` of models without --conflict: automerge, optimistic, custom or none")
	fs.StringVar(&o.ConflictWebhook, "conflict-webhook", "", "`URL` receiving the Lambda-shaped payload for the custom strategy")
	fs.DurationVar(&o.BaseTTL, "base-ttl", 30*24*time.Hour, "how long tombstones are kept")
	fs.DurationVar(&o.DeltaTTL, "delta-ttl", 30*time.Minute, "how long the change log is kept (older lastSync gets a base sync)")
	fs.StringVar(&o.JWTHS256Secret, "jwt-hs256-secret", "", "accept HS256 bearer tokens signed with this `secret`")
	fs.StringVar(&o.JWKS, "jwks", "", "accept RS256/ES256 bearer tokens signed by the keys in this JWKS `file`")
	fs.StringVar(&o.JWKSURL, "jwks-url", "", fmt.Sprintf("accept RS256/ES256 bearer tokens signed by the keys of the JWKS at this `URL`, e.g. https://cognito-idp.REGION.amazonaws.com/POOL_ID/.well-known/jwks.json;\nhttps only (plain http only to a loopback address such as 127.0.0.1); fetched at start (the server does not start\nwhen that fails), then every --jwks-refresh and on a token with an unknown key id (at most once per %s); a failed\nrefresh keeps the last good keys", auth.DefaultJWKSMissInterval))
	fs.DurationVar(&o.JWKSRefresh, "jwks-refresh", auth.DefaultJWKSRefresh, "how often the --jwks-url keys are refetched")
	fs.BoolVar(&o.JWTAllowNoExp, "jwt-allow-no-exp", false, "accept JWTs without an \"exp\" claim (refused by default: they never expire)")
	fs.StringVar(&o.JWTIssuer, "jwt-issuer", "", "required JWT \"iss\"")
	fs.StringVar(&o.JWTAudience, "jwt-audience", "", "required JWT \"aud\" or \"client_id\"")
	fs.StringVar(&o.JWTUsernameClaim, "jwt-username-claim", "", "JWT claim naming the owner (default username, cognito:username, sub)")
	fs.StringVar(&o.JWTGroupsClaim, "jwt-groups-claim", "", "JWT claim listing the groups (default cognito:groups)")
	fs.StringVar(&o.AuthWebhook, "auth-webhook", "", "Lambda authorizer (AWS_LAMBDA, @auth allow: custom): POST AppSync's authorizer event for authorization tokens that are not JWTs\nto this `URL`, which answers as the Lambda would ({\"isAuthorized\", \"resolverContext\", \"deniedFields\", \"ttlOverride\"});\nhttps only (plain http only to a loopback address). Each call may take 10s; no answer is a 503 the clients retry")
	fs.DurationVar(&o.AuthWebhookTTL, "auth-webhook-ttl", auth.DefaultLambdaTTL, "how long an --auth-webhook decision is kept per token when its answer has no ttlOverride (0: not kept; at most 1h)")
	fs.StringVar(&o.IAMCredentials, "iam-credentials", "", "AWS_IAM (@auth provider iam): accept requests signed with AWS Signature Version 4 by the credentials listed in this JSON `file`:\n[{\"accessKeyId\", \"secretAccessKey\", \"sessionToken\" (optional: X-Amz-Security-Token must equal it), \"role\": \"authenticated\" | \"unauthenticated\",\n\"expires\" (optional, RFC 3339)}]. Role unauthenticated passes public iam rules, authenticated private iam rules (Amplify's unauth and auth roles)")
	fs.StringVar(&o.IAMRegion, "iam-region", auth.DefaultIAMRegion, "the `region` --iam-credentials signatures must be scoped to (with service appsync)")
	fs.StringVar(&o.TLSCert, "tls-cert", "", "serve HTTPS/WSS with this certificate `file` (plain HTTP stays available on the same port)")
	fs.StringVar(&o.TLSKey, "tls-key", "", "private key `file` for --tls-cert")
	fs.BoolVar(&o.DevTLS, "dev-tls", false, "serve HTTPS/WSS with a self-signed certificate for 127.0.0.1 and localhost")
	fs.BoolVar(&o.DevAuth, "dev-auth", false, "development only: the console (at /) hands out signed tokens for any user name and groups (HS256 with --jwt-hs256-secret, or a secret kept in the data directory)")
	fs.StringVar(&o.DevTLSDir, "dev-tls-dir", "", "`directory` keeping dev-cert.pem and dev-key.pem across restarts (default: the data directory, or a temporary one)")
	fs.Int64Var(&o.MaxBody, "max-body", 1<<20, "maximum GraphQL request body in `bytes`")
	fs.IntVar(&o.MaxConnections, "max-connections", 0, "most connections served at once, HTTP and WebSocket; one over it is answered 503 with Retry-After and closed.\n0: the open-file limit (ulimit -n) less a quarter of it, at least 1024, kept for the store; -1: no cap")
	fs.IntVar(&o.MaxSubscriptions, "max-subscriptions", 100, "subscriptions per WebSocket connection")
	fs.Int64Var(&o.MaxMessage, "max-message", 240<<10, "maximum inbound WebSocket message in `bytes`")
	fs.IntVar(&o.MaxLimit, "max-limit", 1000, "largest page a list or sync query returns")
	fs.DurationVar(&o.Grace, "grace", 10*time.Second, "how long shutdown waits for requests under way")
	fs.DurationVar(&o.ReadTimeout, "read-timeout", 10*time.Second, "time allowed to read a request's headers and body")
	fs.DurationVar(&o.WriteTimeout, "write-timeout", 30*time.Second, "time allowed from a request's headers to the end of its response; its work is cancelled after it")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", 60*time.Second, "close a keep-alive connection idle this long")
	fs.IntVar(&o.Exec.MaxResponseBytes, "max-response", gqlexec.DefaultMaxResponseBytes, "largest response data in `bytes`; a larger one is refused with LimitExceededError")
	fs.IntVar(&o.Exec.MaxRootFields, "max-root-fields", gqlexec.DefaultMaxRootFields, "root fields an operation may select")
	fs.IntVar(&o.Exec.MaxFields, "max-fields", gqlexec.DefaultMaxFields, "fields a document may select, fragments expanded")
	fs.IntVar(&o.Exec.MaxAliases, "max-aliases", gqlexec.DefaultMaxAliases, "aliased fields a document may hold, fragments expanded")
	fs.IntVar(&o.Exec.MaxFragments, "max-fragments", gqlexec.DefaultMaxFragments, "fragments a document may define")
	fs.IntVar(&o.Exec.MaxDepth, "max-depth", gqlexec.DefaultMaxDepth, "how deep a document's selections may nest")
	fs.IntVar(&o.Exec.MaxTokens, "max-tokens", gqlexec.DefaultMaxTokens, "lexical tokens a document may hold")
	fs.IntVar(&o.Exec.MaxResolverCalls, "max-resolver-calls", gqlexec.DefaultMaxResolverCalls, "resolver calls (root fields, relations per item) a request may make")
	fs.StringVar(&o.LogLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.String("config", "", "settings `file` (default: the nearest dsgen.yml in the current directory or above)")
	fs.StringVar(&o.Metrics, "metrics", "auto", "who may read /metrics: open, auth (the credentials of a GraphQL request), off, or auto (open on a loopback --addr, else auth)")
	fs.BoolVar(&o.UnsafeNoFsync, "unsafe-no-fsync", false, "acknowledge writes before they are on disk: faster, but an OS crash or power loss loses acknowledged writes")
	fs.Var((*listFlag)(&o.APIKeys), "api-key", "accept this API `key` in x-api-key; KEY@2026-12-31T00:00:00Z sets an expiry (repeatable)")
	fs.Var((*listFlag)(&o.Conflicts), "conflict", "conflict strategy of one model, `MODEL=STRATEGY` (repeatable)")
	fs.Var((*listFlag)(&o.CORSOrigins), "cors-origin", "let only web pages of this `origin` call the API from a browser (CORS on /graphql, the WebSocket's Origin check): a host[:port] or\nscheme://host[:port], * wildcards allowed (localhost:3000, *.example.com, https://app.example.com); repeatable.\nDefault: any origin, as AppSync (requests still need credentials)")
	fs.Var((*listFlag)(&o.Directives), "directive", "accept and ignore a custom transformer directive `name` (repeatable)")
}
