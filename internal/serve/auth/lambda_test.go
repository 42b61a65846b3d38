package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// authorizerHook is an operator's authorizer webhook on loopback: it
// answers with answer(token) and counts its calls.
type authorizerHook struct {
	ts     *httptest.Server
	calls  atomic.Int64
	mu     sync.Mutex
	events []map[string]any
}

func newAuthorizerHook(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, tok string)) *authorizerHook {
	t.Helper()
	h := &authorizerHook{}
	h.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.calls.Add(1)
		var ev map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Errorf("authorizer event %q is not JSON: %v", b, err)
		}
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
		tok, _ := ev["authorizationToken"].(string)
		answer(w, r, tok)
	}))
	t.Cleanup(h.ts.Close)
	return h
}

func lambdaAuthenticator(t *testing.T, cfg LambdaConfig, jwt *JWTConfig, now func() time.Time) *Authenticator {
	t.Helper()
	a, err := New(Config{Lambda: &cfg, JWT: jwt, Now: now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestLambdaAuthorizerEventAndAnswer(t *testing.T) {
	hook := newAuthorizerHook(t, func(w http.ResponseWriter, _ *http.Request, tok string) {
		switch tok {
		case "good":
			io.WriteString(w, `{"isAuthorized": true, "resolverContext": {"tenant": "t1"},
				"deniedFields": ["Post.secret", "arn:aws:appsync:us-east-1:111122223333:apis/my-api/types/Post/fields/note",
					"arn:aws:appsync:us-east-1:111122223333:apis/other-api/types/Post/fields/title", "Mutation.deletePost"]}`)
		default:
			io.WriteString(w, `{"isAuthorized": false}`)
		}
	})
	a := lambdaAuthenticator(t, LambdaConfig{URL: hook.ts.URL, APIID: "my-api", AccountID: "111122223333"}, nil, nil)
	info := RequestInfo{Query: "query Q { listPosts { items { id } } }", OperationName: "Q", Variables: map[string]any{"limit": 5}}
	id, err := a.AuthenticateRequest(context.Background(), map[string]string{"authorization": "good", "host": "example.test"}, info)
	if err != nil {
		t.Fatal(err)
	}
	if id.Mode != ModeLambda || id.ResolverContext["tenant"] != "t1" {
		t.Fatalf("identity %+v, want a Lambda caller with the resolverContext", id)
	}
	for _, f := range [][2]string{{"Post", "secret"}, {"Post", "note"}, {"Mutation", "deletePost"}} {
		if !id.Denied(f[0], f[1]) {
			t.Errorf("%s.%s is not denied", f[0], f[1])
		}
	}
	if id.Denied("Post", "title") {
		t.Error("a deniedFields ARN of another API denied Post.title here")
	}
	ev := hook.events[0]
	rc, _ := ev["requestContext"].(map[string]any)
	hdrs, _ := ev["requestHeaders"].(map[string]any)
	if ev["authorizationToken"] != "good" || rc["apiId"] != "my-api" || rc["accountId"] != "111122223333" ||
		rc["queryString"] != info.Query || rc["operationName"] != "Q" || rc["variables"].(map[string]any)["limit"] != 5.0 ||
		rc["requestId"] == "" || hdrs["host"] != "example.test" || hdrs["authorization"] != "good" {
		t.Errorf("authorizer event %v, not AppSync's shape with the request", ev)
	}

	_, err = a.AuthenticateRequest(context.Background(), map[string]string{"authorization": "bad"}, info)
	if ae, ok := appsync.AsError(err); !ok || ae.ErrorType != appsync.UnauthorizedExc {
		t.Fatalf("refused token: %v, want UnauthorizedException", err)
	}
}

// TestLambdaAuthorizerModeChoice: with JWT verification configured, tokens
// shaped as JWTs are verified as JWTs and never reach the webhook; other
// tokens do.
func TestLambdaAuthorizerModeChoice(t *testing.T) {
	hook := newAuthorizerHook(t, func(w http.ResponseWriter, _ *http.Request, _ string) {
		io.WriteString(w, `{"isAuthorized": true}`)
	})
	secret := []byte("0123456789abcdef0123456789abcdef")
	a := lambdaAuthenticator(t, LambdaConfig{URL: hook.ts.URL}, &JWTConfig{HS256Secret: secret}, nil)
	jwtTok, err := SignHS256(secret, map[string]any{"sub": "u", "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if id, err := a.AuthenticateRequest(ctx, map[string]string{"authorization": jwtTok}, RequestInfo{}); err != nil || id.Mode != ModeJWT {
		t.Fatalf("a valid JWT: %+v, %v; want a JWT caller", id, err)
	}
	forged := jwtTok[:strings.LastIndex(jwtTok, ".")] + ".AAAA"
	if _, err := a.AuthenticateRequest(ctx, map[string]string{"authorization": "Bearer " + forged}, RequestInfo{}); err == nil {
		t.Fatal("a JWT with a bad signature was accepted")
	}
	if n := hook.calls.Load(); n != 0 {
		t.Fatalf("JWT-shaped tokens reached the authorizer webhook %d times", n)
	}
	if id, err := a.AuthenticateRequest(ctx, map[string]string{"authorization": "custom-token"}, RequestInfo{}); err != nil || id.Mode != ModeLambda {
		t.Fatalf("a custom token: %+v, %v; want a Lambda caller", id, err)
	}
	if id, err := a.AuthenticateRequest(ctx, map[string]string{"authorization": "custom-token", "x-api-key": "k"}, RequestInfo{}); err != nil || id.Mode != ModeLambda {
		t.Fatalf("a custom token beside an API key: %+v, %v; want the authorization header to win", id, err)
	}
}

// TestLambdaAuthorizerCache: a decision is kept per token for the TTL (or
// the answer's ttlOverride), refusals too; the cache holds CacheSize tokens.
func TestLambdaAuthorizerCache(t *testing.T) {
	hook := newAuthorizerHook(t, func(w http.ResponseWriter, _ *http.Request, tok string) {
		switch tok {
		case "short":
			io.WriteString(w, `{"isAuthorized": true, "ttlOverride": 10}`)
		case "nocache":
			io.WriteString(w, `{"isAuthorized": true, "ttlOverride": 0}`)
		case "no":
			io.WriteString(w, `{"isAuthorized": false}`)
		default:
			io.WriteString(w, `{"isAuthorized": true}`)
		}
	})
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	a := lambdaAuthenticator(t, LambdaConfig{URL: hook.ts.URL, TTL: time.Minute, CacheSize: 3}, nil, clock)
	calls := func(tok string, times int) int64 {
		t.Helper()
		before := hook.calls.Load()
		for range times {
			_, _ = a.AuthenticateRequest(context.Background(), map[string]string{"authorization": tok}, RequestInfo{})
		}
		return hook.calls.Load() - before
	}
	if n := calls("a", 5); n != 1 {
		t.Fatalf("5 requests with one token within the TTL called the webhook %d times, want 1", n)
	}
	if n := calls("no", 3); n != 1 {
		t.Fatalf("a refused token was asked about %d times within the TTL, want 1", n)
	}
	if n := calls("short", 2); n != 1 {
		t.Fatalf("ttlOverride 10: %d calls, want 1", n)
	}
	if n := calls("nocache", 3); n != 3 {
		t.Fatalf("ttlOverride 0: %d calls for 3 requests, want 3 (no caching)", n)
	}
	advance(11 * time.Second)
	if n := calls("short", 1); n != 1 {
		t.Fatal("a decision with ttlOverride 10 was kept after 11 s")
	}
	if n := calls("a", 1); n != 0 {
		t.Fatal("a decision was dropped within the configured TTL")
	}
	advance(time.Minute)
	if n := calls("a", 1); n != 1 {
		t.Fatal("a decision was kept after the configured TTL")
	}
	// The cache holds 3 tokens: "a", "short", "no" were used last; two
	// new tokens evict the two least recently used.
	calls("x", 1)
	calls("y", 1)
	if n := calls("a", 1); n != 0 {
		t.Fatal("the most recently used token was evicted")
	}
	if n := calls("no", 1); n != 1 {
		t.Fatal("the cache kept more than CacheSize tokens")
	}
}

// TestLambdaAuthorizerSingleFlight: concurrent requests with one token make
// one webhook call and share its answer.
func TestLambdaAuthorizerSingleFlight(t *testing.T) {
	release := make(chan struct{})
	hook := newAuthorizerHook(t, func(w http.ResponseWriter, _ *http.Request, _ string) {
		<-release
		io.WriteString(w, `{"isAuthorized": true}`)
	})
	a := lambdaAuthenticator(t, LambdaConfig{URL: hook.ts.URL, Timeout: poll.HangGuard}, nil, nil)
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := a.AuthenticateRequest(context.Background(), map[string]string{"authorization": "tok"}, RequestInfo{})
			errs <- err
		}()
	}
	poll.Until(t, "the other requests wait for the call under way", func() bool {
		a.lambda.mu.Lock()
		defer a.lambda.mu.Unlock()
		f := a.lambda.flights[sha256Of("tok")]
		return f != nil && f.waiting == n-1
	})
	close(release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if c := hook.calls.Load(); c != 1 {
		t.Fatalf("%d concurrent requests called the webhook %d times, want 1", n, c)
	}
}

// TestLambdaAuthorizerFailures: a webhook that gives no answer is an
// ErrorTypeUnavailable error, not a refusal; it is answered again without a
// call for lambdaFailureHold, and not cached longer.
func TestLambdaAuthorizerFailures(t *testing.T) {
	var mode atomic.Value
	hook := newAuthorizerHook(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		switch mode.Load() {
		case "slow":
			<-r.Context().Done() // until the server gives up
		case "garbage":
			io.WriteString(w, `<html>oops</html>`)
		case "noanswer":
			io.WriteString(w, `{"resolverContext": {}}`)
		case "status":
			http.Error(w, "boom", http.StatusBadGateway)
		case "huge":
			io.WriteString(w, `{"isAuthorized": true, "resolverContext": {"x": "`+strings.Repeat("a", maxLambdaAnswer)+`"}}`)
		case "badfield":
			io.WriteString(w, `{"isAuthorized": true, "deniedFields": ["secret"]}`)
		default:
			io.WriteString(w, `{"isAuthorized": true}`)
		}
	})
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	// Only the slow webhook meets a short timeout: the others must answer
	// within it however loaded the machine is.
	slow := lambdaAuthenticator(t, LambdaConfig{URL: hook.ts.URL, Timeout: 200 * time.Millisecond}, nil, clock)
	a := lambdaAuthenticator(t, LambdaConfig{URL: hook.ts.URL, Timeout: poll.HangGuard}, nil, clock)
	for _, m := range []struct{ mode, says string }{
		{"slow", "did not answer within 200ms"},
		{"garbage", "not the authorizer's JSON result"},
		{"noanswer", `without "isAuthorized"`},
		{"status", "answered 502"},
		{"huge", "more than"},
		{"badfield", `deniedFields entry "secret"`},
	} {
		mode.Store(m.mode)
		auth := a
		if m.mode == "slow" {
			auth = slow
		}
		_, err := auth.AuthenticateRequest(context.Background(), map[string]string{"authorization": "tok-" + m.mode}, RequestInfo{})
		ae, ok := appsync.AsError(err)
		if !ok || ae.ErrorType != ErrorTypeUnavailable || !strings.Contains(ae.Message, m.says) {
			t.Errorf("%s webhook: %v, want %s saying %q", m.mode, err, ErrorTypeUnavailable, m.says)
		} else if strings.Contains(ae.Message, hook.ts.URL) {
			t.Errorf("%s webhook: the client is told the webhook's URL: %s", m.mode, ae.Message)
		}
	}
	mode.Store("ok")
	before := hook.calls.Load()
	if _, err := a.AuthenticateRequest(context.Background(), map[string]string{"authorization": "tok-status"}, RequestInfo{}); err == nil || hook.calls.Load() != before {
		t.Fatalf("right after a failure: %v with %d more calls, want the failure again without a call", err, hook.calls.Load()-before)
	}
	mu.Lock()
	now = now.Add(lambdaFailureHold)
	mu.Unlock()
	if id, err := a.AuthenticateRequest(context.Background(), map[string]string{"authorization": "tok-status"}, RequestInfo{}); err != nil || id.Mode != ModeLambda {
		t.Fatalf("after the webhook recovered: %v, %v (a failure was kept too long?)", id, err)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	b := lambdaAuthenticator(t, LambdaConfig{URL: down.URL}, nil, nil)
	_, err := b.AuthenticateRequest(context.Background(), map[string]string{"authorization": "tok"}, RequestInfo{})
	if ae, ok := appsync.AsError(err); !ok || ae.ErrorType != ErrorTypeUnavailable || !strings.Contains(ae.Message, "unreachable") {
		t.Fatalf("a webhook that is down: %v, want %s saying unreachable", err, ErrorTypeUnavailable)
	}
	long := strings.Repeat("t", maxLambdaTokenLen+1)
	if _, err := b.AuthenticateRequest(context.Background(), map[string]string{"authorization": long}, RequestInfo{}); err == nil || !strings.Contains(err.Error(), "2048") {
		t.Fatalf("an oversize token: %v, want refused naming the limit", err)
	}
}

func TestLambdaConfigChecks(t *testing.T) {
	for _, c := range []struct {
		cfg  LambdaConfig
		says string
	}{
		{LambdaConfig{URL: "http://example.com/auth"}, "must use https"},
		{LambdaConfig{URL: "https:///auth"}, "has no host"},
		{LambdaConfig{URL: "https://example.com/auth", TTL: 2 * time.Hour}, "more than the maximum"},
	} {
		_, err := New(Config{Lambda: &c.cfg})
		if err == nil || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), "authorizer webhook") {
			t.Errorf("%+v: %v, want an error saying %q", c.cfg, err, c.says)
		}
	}
	for _, u := range []string{"https://auth.example.com/x", "http://127.0.0.1:9/x", "http://localhost:9/x", "http://[::1]:9/x"} {
		if _, err := New(Config{Lambda: &LambdaConfig{URL: u}}); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
}

func sha256Of(s string) [32]byte { return sha256.Sum256([]byte(s)) }
