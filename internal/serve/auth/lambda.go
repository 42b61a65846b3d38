package auth

import (
	"bytes"
	"container/list"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// Lambda authorization (AppSync's AWS_LAMBDA mode, @auth provider
// "function"). Self-hosted there is no Lambda: the authorizer is an HTTP
// webhook the operator runs. It receives AppSync's Lambda authorizer event
// as a JSON POST body and answers with the Lambda's result, unchanged:
//
//	{"authorizationToken": "<token>",
//	 "requestContext": {"apiId", "accountId", "requestId", "queryString",
//	                    "operationName", "variables"},
//	 "requestHeaders": {...}}
//
//	{"isAuthorized": true, "resolverContext": {...},
//	 "deniedFields": ["Post.secret", "arn:aws:appsync:...:apis/<id>/types/Post/fields/secret"],
//	 "ttlOverride": 60}

// Defaults and limits of the Lambda authorizer webhook.
const (
	// DefaultLambdaTTL is how long a decision is cached when neither
	// LambdaConfig.TTL nor the answer's ttlOverride says otherwise: the
	// Amplify CLI's and the AppSync console's default (300 s).
	DefaultLambdaTTL = 5 * time.Minute
	// MaxLambdaTTL caps TTL and ttlOverride, as AppSync caps
	// authorizerResultTtlInSeconds (3600 s).
	MaxLambdaTTL = time.Hour
	// DefaultLambdaTimeout bounds one webhook call: AppSync gives a Lambda
	// authorizer 10 s.
	DefaultLambdaTimeout = 10 * time.Second
	// DefaultLambdaCacheSize bounds the cached decisions (one per token).
	DefaultLambdaCacheSize = 10000
	// maxLambdaTokenLen is AppSync's limit on a Lambda authorization token
	// (2048 characters).
	maxLambdaTokenLen = 2048
	// lambdaFailureHold is how long a failed call's error is answered for
	// its token without calling again, so clients retrying at once do not
	// storm a webhook that is down.
	lambdaFailureHold = time.Second
	// maxLambdaAnswer bounds the webhook's answer body. AppSync allows 5 MB
	// of resolverContext; dsgen keeps the decision in memory for the TTL,
	// so it takes less.
	maxLambdaAnswer = 1 << 20
)

// ErrorTypeUnavailable is the errorType of a request refused because the
// authorizer webhook could not give an answer (unreachable, timed out,
// answered an error status or garbage). dsgen serve answers it with HTTP
// 503 and Retry-After, so clients keep the request and retry instead of
// taking it as a verdict on their token.
const ErrorTypeUnavailable = "ServiceUnavailable"

// LambdaConfig configures the Lambda authorizer webhook.
type LambdaConfig struct {
	// URL receives the authorizer payload. It must be https, or http to a
	// loopback address (the same rule as JWTConfig.JWKSURL): the answer
	// grants access.
	URL string
	// TTL is how long a decision (allowed or refused) is kept for its
	// token when the answer has no ttlOverride; zero means
	// DefaultLambdaTTL, negative means no caching. Capped at MaxLambdaTTL.
	TTL time.Duration
	// Timeout bounds one webhook call; zero means DefaultLambdaTimeout.
	Timeout time.Duration
	// CacheSize bounds the number of cached decisions; zero means
	// DefaultLambdaCacheSize. The least recently used one goes first.
	CacheSize int
	// APIID and AccountID fill requestContext.apiId and .accountId, and
	// APIID the ARN form of deniedFields; empty means "dsgen" and
	// "000000000000".
	APIID     string
	AccountID string
	// HTTPClient calls URL; nil means a client without a timeout of its
	// own (Timeout bounds each call).
	HTTPClient *http.Client
}

// RequestInfo is the GraphQL request a Lambda authorizer is asked about
// (AppSync's requestContext), with the request's headers.
type RequestInfo struct {
	Query         string
	OperationName string
	Variables     map[string]any
	// Headers become requestHeaders (names lower-cased).
	Headers map[string]string
}

// lambdaAuth calls the webhook, caches decisions per token and lets only one
// call per token be under way (the others wait for its answer).
type lambdaAuth struct {
	cfg    LambdaConfig
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

	mu      sync.Mutex
	entries map[[32]byte]*list.Element // of *lambdaEntry
	lru     *list.List                 // most recently used first
	flights map[[32]byte]*lambdaFlight
}

// lambdaEntry is a cached decision, or a failure held for
// lambdaFailureHold.
type lambdaEntry struct {
	key     [32]byte
	id      *Identity // nil: refused
	err     error     // the failure, for a held one
	expires time.Time
}

// lambdaFlight is a webhook call under way; done closes when id and err
// are set.
type lambdaFlight struct {
	done chan struct{}
	id   *Identity
	err  error
	// waiting counts the callers waiting for it (under lambdaAuth.mu); the
	// single-flight test waits on it.
	waiting int
}

func newLambdaAuth(cfg LambdaConfig, now func() time.Time, log *slog.Logger) (*lambdaAuth, error) {
	if _, err := checkLoopbackOrHTTPS("authorizer webhook URL", cfg.URL); err != nil {
		return nil, err
	}
	switch {
	case cfg.TTL == 0:
		cfg.TTL = DefaultLambdaTTL
	case cfg.TTL < 0:
		cfg.TTL = 0
	case cfg.TTL > MaxLambdaTTL:
		return nil, fmt.Errorf("auth: authorizer webhook TTL %v is more than the maximum %v", cfg.TTL, MaxLambdaTTL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultLambdaTimeout
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultLambdaCacheSize
	}
	if cfg.APIID == "" {
		cfg.APIID = "dsgen"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	return &lambdaAuth{
		cfg: cfg, client: client, now: now, log: log,
		entries: map[[32]byte]*list.Element{},
		lru:     list.New(),
		flights: map[[32]byte]*lambdaFlight{},
	}, nil
}

// authenticate returns the cached decision for tok, or asks the webhook.
// Concurrent requests with the same token share one call. A refusal is an
// UnauthorizedException; a webhook that gives no answer an
// ErrorTypeUnavailable error, answered again for lambdaFailureHold without
// a call.
func (l *lambdaAuth) authenticate(ctx context.Context, tok string, info RequestInfo) (*Identity, error) {
	if len(tok) > maxLambdaTokenLen {
		return nil, unauthorized("authorization token is %d characters, more than the %d a Lambda authorizer accepts", len(tok), maxLambdaTokenLen)
	}
	key := sha256.Sum256([]byte(tok))
	l.mu.Lock()
	if el, ok := l.entries[key]; ok {
		e := el.Value.(*lambdaEntry)
		if l.now().Before(e.expires) {
			l.lru.MoveToFront(el)
			l.mu.Unlock()
			if e.err != nil {
				return nil, e.err
			}
			return decision(e.id)
		}
		l.lru.Remove(el)
		delete(l.entries, key)
	}
	if f, ok := l.flights[key]; ok {
		f.waiting++
		l.mu.Unlock()
		select {
		case <-f.done:
			if f.err != nil {
				return nil, f.err
			}
			return decision(f.id)
		case <-ctx.Done():
			return nil, appsync.Errorf(ErrorTypeUnavailable, "waiting for the authorizer webhook: %v", ctx.Err())
		}
	}
	f := &lambdaFlight{done: make(chan struct{})}
	l.flights[key] = f
	l.mu.Unlock()

	// The call is not cut short by this caller leaving: others may be
	// waiting for it. Timeout bounds it.
	id, ttl, err := l.call(context.WithoutCancel(ctx), tok, info)
	l.mu.Lock()
	delete(l.flights, key)
	switch {
	case err != nil:
		l.store(key, &lambdaEntry{err: err}, lambdaFailureHold)
	case ttl > 0:
		l.store(key, &lambdaEntry{id: id}, ttl)
	}
	l.mu.Unlock()
	f.id, f.err = id, err
	close(f.done)
	if err != nil {
		return nil, err
	}
	return decision(id)
}

// decision turns a cached or fresh decision into Authenticate's result.
func decision(id *Identity) (*Identity, error) {
	if id == nil {
		return nil, unauthorized("the Lambda authorizer refused the authorization token")
	}
	return id, nil
}

// store caches e for ttl under l.mu, evicting the least recently used
// entry when full.
func (l *lambdaAuth) store(key [32]byte, e *lambdaEntry, ttl time.Duration) {
	for l.lru.Len() >= l.cfg.CacheSize {
		old := l.lru.Back()
		l.lru.Remove(old)
		delete(l.entries, old.Value.(*lambdaEntry).key)
	}
	e.key, e.expires = key, l.now().Add(ttl)
	l.entries[key] = l.lru.PushFront(e)
}

// lambdaAnswer is the authorizer's result. Pointers tell absent from zero.
type lambdaAnswer struct {
	IsAuthorized    *bool          `json:"isAuthorized"`
	ResolverContext map[string]any `json:"resolverContext"`
	DeniedFields    []string       `json:"deniedFields"`
	TTLOverride     *float64       `json:"ttlOverride"`
}

// call POSTs the authorizer event and reads the answer: the identity (nil
// when refused) and how long to cache it.
func (l *lambdaAuth) call(ctx context.Context, tok string, info RequestInfo) (*Identity, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	vars := info.Variables
	if vars == nil {
		vars = map[string]any{}
	}
	hdrs := make(map[string]string, len(info.Headers))
	for k, v := range info.Headers {
		hdrs[strings.ToLower(k)] = v
	}
	reqID := make([]byte, 16)
	_, _ = rand.Read(reqID)
	body, err := json.Marshal(map[string]any{
		"authorizationToken": tok,
		"requestContext": map[string]any{
			"apiId":         l.cfg.APIID,
			"accountId":     l.cfg.AccountID,
			"requestId":     hex.EncodeToString(reqID),
			"queryString":   info.Query,
			"operationName": info.OperationName,
			"variables":     vars,
		},
		"requestHeaders": hdrs,
	})
	if err != nil {
		return nil, 0, appsync.Errorf(appsync.InternalFailure, "encoding the authorizer payload: %v", err)
	}
	// The client is told what went wrong, not where: the webhook's URL
	// and its transport errors stay in the log.
	fail := func(detail error, format string, args ...any) (*Identity, time.Duration, error) {
		e := appsync.Errorf(ErrorTypeUnavailable, "the authorizer webhook "+format, args...)
		l.log.Warn("authorizer webhook failed", "url", l.cfg.URL, "error", e.Message, "detail", detail)
		return nil, 0, e
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fail(err, "could not be called")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fail(err, "did not answer within %v", l.cfg.Timeout)
		}
		return fail(err, "is unreachable")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxLambdaAnswer+1))
	if err != nil {
		return fail(err, "answer could not be read")
	}
	if resp.StatusCode/100 != 2 {
		return fail(nil, "answered %s", resp.Status)
	}
	if len(raw) > maxLambdaAnswer {
		return fail(nil, "answered more than %d bytes", maxLambdaAnswer)
	}
	var ans lambdaAnswer
	if err := json.Unmarshal(raw, &ans); err != nil {
		return fail(err, "answered something that is not the authorizer's JSON result: %v", err)
	}
	if ans.IsAuthorized == nil {
		return fail(nil, `answered without "isAuthorized"`)
	}
	ttl := l.cfg.TTL
	if o := ans.TTLOverride; o != nil {
		if math.IsNaN(*o) || *o < 0 {
			return fail(nil, "answered ttlOverride %v (want seconds, 0 or more)", *o)
		}
		ttl = time.Duration(min(*o, MaxLambdaTTL.Seconds()) * float64(time.Second))
	}
	if !*ans.IsAuthorized {
		return nil, ttl, nil
	}
	id := &Identity{Mode: ModeLambda, ResolverContext: ans.ResolverContext}
	for _, f := range ans.DeniedFields {
		typ, field, ok := l.parseDenied(f)
		if !ok {
			return fail(nil, "answered deniedFields entry %q (want TypeName.fieldName or arn:aws:appsync:<region>:<account>:apis/%s/types/TypeName/fields/fieldName)", f, l.cfg.APIID)
		}
		if typ == "" {
			continue // an ARN of another API
		}
		if id.denied == nil {
			id.denied = map[string]map[string]bool{}
		}
		if id.denied[typ] == nil {
			id.denied[typ] = map[string]bool{}
		}
		id.denied[typ][field] = true
	}
	// The fingerprint tells callers with different decisions apart
	// (subscription renders are shared between equal ones).
	fp := sha256.Sum256(raw)
	id.lambdaFP = hex.EncodeToString(fp[:8])
	return id, ttl, nil
}

// parseDenied reads a deniedFields entry: "Type.field", or the ARN
// "arn:aws:appsync:<region>:<account>:apis/<apiId>/types/<Type>/fields/<field>".
// An ARN naming another API is valid but denies nothing here (ok with an
// empty type).
func (l *lambdaAuth) parseDenied(s string) (typ, field string, ok bool) {
	if rest, isARN := strings.CutPrefix(s, "arn:"); isARN {
		parts := strings.SplitN(rest, ":", 5) // aws, appsync, region, account, resource
		if len(parts) != 5 || parts[1] != "appsync" {
			return "", "", false
		}
		seg := strings.Split(parts[4], "/")
		if len(seg) != 6 || seg[0] != "apis" || seg[2] != "types" || seg[4] != "fields" || seg[3] == "" || seg[5] == "" {
			return "", "", false
		}
		if seg[1] != l.cfg.APIID {
			return "", "", true
		}
		return seg[3], seg[5], true
	}
	typ, field, ok = strings.Cut(s, ".")
	if !ok || typ == "" || field == "" || strings.Contains(field, ".") {
		return "", "", false
	}
	return typ, field, true
}

// looksLikeJWT reports whether tok has a JWT's shape: three dot-separated
// base64url parts whose first decodes to a JSON object. AppSync hands such
// tokens to its OIDC and user pool modes, never to the Lambda authorizer.
func looksLikeJWT(tok string) bool {
	h, rest, ok := strings.Cut(tok, ".")
	if !ok || strings.Count(rest, ".") != 1 {
		return false
	}
	b, err := base64URL(h)
	if err != nil {
		return false
	}
	var v map[string]any
	return json.Unmarshal(b, &v) == nil
}

// base64URL decodes unpadded (or padded) base64url.
func base64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
