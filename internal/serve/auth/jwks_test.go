package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dsgen/dsgen/internal/testenv/poll"
)

// jwksServer publishes a JWKS over HTTPS on loopback, counting the fetches;
// tests swap the keys it serves and make it fail.
type jwksServer struct {
	ts      *httptest.Server
	doc     atomic.Pointer[[]byte]
	fetches atomic.Int64
	fail    atomic.Bool
}

func newJWKSServer(t *testing.T, keys ...map[string]any) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.publish(t, keys...)
	s.ts = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		if s.fail.Load() {
			http.Error(w, "issuer down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(*s.doc.Load())
	}))
	t.Cleanup(s.ts.Close)
	return s
}

// publish replaces the served keys.
func (s *jwksServer) publish(t *testing.T, keys ...map[string]any) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	s.doc.Store(&b)
}

func (s *jwksServer) url() string { return s.ts.URL + "/.well-known/jwks.json" }

// count returns the fetches so far.
func (s *jwksServer) count() int { return int(s.fetches.Load()) }

// urlAuth returns an Authenticator on srv's JWKS, trusting its certificate,
// closed at the end of the test.
func urlAuth(t *testing.T, srv *jwksServer, c *clock, jc JWTConfig, log *slog.Logger) *Authenticator {
	t.Helper()
	jc.JWKSURL = srv.url()
	jc.HTTPClient = srv.ts.Client()
	a, err := New(Config{JWT: &jc, Now: c.now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// ecFixture is an EC P-256 key published in a JWKS.
type ecFixture struct {
	kid  string
	priv *ecdsa.PrivateKey
}

func newEC(t *testing.T, kid string) ecFixture {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ecFixture{kid, k}
}

func (f ecFixture) jwk() map[string]any {
	b, err := f.priv.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	return map[string]any{
		"kty": "EC", "crv": "P-256", "kid": f.kid, "alg": "ES256", "use": "sig",
		"x": base64.RawURLEncoding.EncodeToString(b[1:33]),
		"y": base64.RawURLEncoding.EncodeToString(b[33:]),
	}
}

// signWith signs claims with golang-jwt, setting kid when not empty.
func signWith(t *testing.T, m jwt.SigningMethod, key any, kid string, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, jwt.MapClaims(claims))
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bearer(tok string) map[string]string { return map[string]string{"authorization": "Bearer " + tok} }

// validClaims are claims valid for an hour from t0.
func validClaims() map[string]any {
	return map[string]any{"sub": "u-1", "username": "carol", "exp": float64(t0.Add(time.Hour).Unix()), "iat": float64(t0.Unix())}
}

// TestJWKSURLRotation follows a key rotation at the issuer: the new key id
// is accepted after exactly one refetch, a burst of unknown key ids makes
// at most one, and the removed key is refused once the set is refetched.
func TestJWKSURLRotation(t *testing.T) {
	k1, k2 := newRSA(t, "k1"), newRSA(t, "k2")
	srv := newJWKSServer(t, k1.jwk())
	c := &clock{t0}
	a := urlAuth(t, srv, c, JWTConfig{JWKSMissInterval: time.Minute}, nil)
	if n := srv.count(); n != 1 {
		t.Fatalf("fetches after New = %d, want 1", n)
	}
	claims := validClaims()
	old := k1.sign(t, "k1", claims)
	for range 3 {
		if _, err := a.Authenticate(bearer(old)); err != nil {
			t.Fatalf("token of the published key: %v", err)
		}
	}
	if n := srv.count(); n != 1 {
		t.Fatalf("fetches after 3 tokens of a known key = %d, want 1 (no refetch per request)", n)
	}

	// The issuer rotates: k2 replaces k1.
	srv.publish(t, k2.jwk())
	id, err := a.Authenticate(bearer(k2.sign(t, "k2", claims)))
	if err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	if got := id.Claim("username"); len(got) != 1 || got[0] != "carol" {
		t.Errorf("username = %q", got)
	}
	if n := srv.count(); n != 2 {
		t.Fatalf("fetches after the new key id = %d, want exactly 2", n)
	}
	// k1 left with that refetch: refused, without another fetch (within
	// the miss interval).
	_, err = a.Authenticate(bearer(old))
	wantUnauthorized(t, err, `token key id "k1" is not in the JWKS`)
	if n := srv.count(); n != 2 {
		t.Fatalf("fetches after the removed key = %d, want 2", n)
	}

	// A burst of tokens naming unknown key ids, past the miss interval:
	// one fetch for all of them, however they interleave.
	c.t = t0.Add(2 * time.Minute)
	stranger := newRSA(t, "x")
	toks := make([]string, 32)
	for i := range toks {
		toks[i] = stranger.sign(t, fmt.Sprintf("x%d", i), claims)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(toks))
	for i, tok := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = a.Authenticate(bearer(tok))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		wantUnauthorized(t, err, fmt.Sprintf(`token key id "x%d" is not in the JWKS`, i))
	}
	if n := srv.count(); n != 3 {
		t.Fatalf("fetches after a burst of 32 unknown key ids = %d, want 3 (one more)", n)
	}
	// And still none while the interval lasts.
	for i := range 5 {
		_, err := a.Authenticate(bearer(stranger.sign(t, fmt.Sprintf("y%d", i), claims)))
		wantUnauthorized(t, err, "is not in the JWKS")
	}
	if n := srv.count(); n != 3 {
		t.Fatalf("fetches after more unknown key ids within the interval = %d, want 3", n)
	}

	// A rotation to an EC key is followed the same way.
	e1 := newEC(t, "e1")
	srv.publish(t, k2.jwk(), e1.jwk())
	c.t = t0.Add(4 * time.Minute)
	if _, err := a.Authenticate(bearer(signWith(t, jwt.SigningMethodES256, e1.priv, "e1", claims))); err != nil {
		t.Fatalf("ES256 token of the new EC key: %v", err)
	}
	if n := srv.count(); n != 4 {
		t.Fatalf("fetches after the EC key id = %d, want 4", n)
	}
}

// syncBuffer is a log sink safe for the refresh goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestJWKSURLPeriodicRefresh: the refresh goroutine picks up a rotation
// without any unknown key id, and a failing issuer leaves the last good
// keys in use, logged.
func TestJWKSURLPeriodicRefresh(t *testing.T) {
	k1, k2 := newRSA(t, "k1"), newRSA(t, "k2")
	srv := newJWKSServer(t, k1.jwk())
	var logs syncBuffer
	c := &clock{t0}
	a := urlAuth(t, srv, c, JWTConfig{JWKSRefresh: 5 * time.Millisecond, JWKSMissInterval: time.Hour},
		slog.New(slog.NewJSONHandler(&logs, nil)))
	claims := validClaims()

	// Spend the one unknown-kid refetch the fixed clock allows, so only
	// the periodic refresh can bring k2.
	_, err := a.Authenticate(bearer(k1.sign(t, "nope", claims)))
	wantUnauthorized(t, err, "not in the JWKS")

	srv.fail.Store(true)
	n := srv.count()
	poll.Until(t, "two failed refetches", func() bool { return srv.count() >= n+2 })
	if _, err := a.Authenticate(bearer(k1.sign(t, "k1", claims))); err != nil {
		t.Fatalf("token of the last good key while the issuer fails: %v", err)
	}
	if l := logs.String(); !strings.Contains(l, "JWKS refresh failed; keeping the last good keys") || !strings.Contains(l, "503") {
		t.Errorf("failed refresh not logged with its cause:\n%s", l)
	}

	srv.publish(t, k2.jwk())
	srv.fail.Store(false)
	n = srv.count()
	// Fetches are serialised: once the second after the swap has begun,
	// the first has stored its keys.
	poll.Until(t, "two refetches after the rotation", func() bool { return srv.count() >= n+2 })
	if _, err := a.Authenticate(bearer(k2.sign(t, "k2", claims))); err != nil {
		t.Fatalf("token of the rotated-in key after periodic refresh: %v", err)
	}
	_, err = a.Authenticate(bearer(k1.sign(t, "k1", claims)))
	wantUnauthorized(t, err, `token key id "k1" is not in the JWKS`)

	// Close stops the goroutine and returns; twice is fine.
	a.Close()
	a.Close()
	if _, err := a.Authenticate(bearer(k2.sign(t, "k2", claims))); err != nil {
		t.Errorf("closed Authenticator lost its keys: %v", err)
	}
}

// TestJWKSURLStartup: New fails, saying why, when the first fetch fails or
// the URL is not https (or loopback http); loopback http works.
func TestJWKSURLStartup(t *testing.T) {
	k := newRSA(t, "k1")
	srv := newJWKSServer(t, k.jwk())
	srv.fail.Store(true)
	_, err := New(Config{JWT: &JWTConfig{JWKSURL: srv.url(), HTTPClient: srv.ts.Client()}})
	if err == nil || !strings.Contains(err.Error(), srv.url()) || !strings.Contains(err.Error(), "503") {
		t.Errorf("issuer down at start: err = %v, want it to name the URL and the status", err)
	}
	srv.fail.Store(false)

	srv.publish(t, map[string]any{"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"})
	_, err = New(Config{JWT: &JWTConfig{JWKSURL: srv.url(), HTTPClient: srv.ts.Client()}})
	if err == nil || !strings.Contains(err.Error(), "holds no RSA signing key") {
		t.Errorf("JWKS of a symmetric key only: err = %v", err)
	}

	// The certificate is checked: the default client does not trust the
	// test server's.
	srv.publish(t, k.jwk())
	if _, err := New(Config{JWT: &JWTConfig{JWKSURL: srv.url()}}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: err = %v", err)
	}

	for _, u := range []string{"http://issuer.example.com/jwks.json", "http://10.0.0.1/jwks.json", "ftp://127.0.0.1/jwks.json", "/jwks.json"} {
		_, err := New(Config{JWT: &JWTConfig{JWKSURL: u}})
		if err == nil || !strings.Contains(err.Error(), u) {
			t.Errorf("%s: err = %v, want a refusal naming the URL", u, err)
		}
	}
	if _, err := New(Config{JWT: &JWTConfig{JWKSURL: srv.url(), JWKSFile: "x.json"}}); err == nil {
		t.Error("JWKSURL and JWKSFile together accepted")
	}

	var plainFetches atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainFetches.Add(1)
		w.Write(*srv.doc.Load())
	}))
	defer plain.Close()
	for _, u := range []string{plain.URL, strings.Replace(plain.URL, "127.0.0.1", "localhost", 1)} {
		a, err := New(Config{JWT: &JWTConfig{JWKSURL: u + "/jwks.json"}, Now: (&clock{t0}).now})
		if err != nil {
			t.Fatalf("loopback http %s: %v", u, err)
		}
		if _, err := a.Authenticate(bearer(k.sign(t, "k1", validClaims()))); err != nil {
			t.Errorf("loopback http %s: %v", u, err)
		}
		a.Close()
	}
	if n := plainFetches.Load(); n != 2 {
		t.Errorf("loopback fetches = %d, want 2", n)
	}
}

// TestAlgorithms: RS256, ES256 and HS256 are accepted on one server; a
// token whose alg does not match its key's type is refused, whichever way.
func TestAlgorithms(t *testing.T) {
	r1, e1 := newRSA(t, "r1"), newEC(t, "e1")
	srv := newJWKSServer(t, r1.jwk(), e1.jwk())
	c := &clock{t0}
	a := urlAuth(t, srv, c, JWTConfig{HS256Secret: secret}, nil)
	claims := validClaims()
	for name, tok := range map[string]string{
		"RS256":        signWith(t, jwt.SigningMethodRS256, r1.priv, "r1", claims),
		"ES256":        signWith(t, jwt.SigningMethodES256, e1.priv, "e1", claims),
		"ES256 no kid": signWith(t, jwt.SigningMethodES256, e1.priv, "", claims),
		"HS256":        sign(t, claims),
	} {
		if _, err := a.Authenticate(bearer(tok)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	pub, err := e1.priv.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, tok, want string }{
		// alg names another key type than the kid's key.
		{"ES256 header, RSA kid", signWith(t, jwt.SigningMethodES256, e1.priv, "r1", claims), `key id "r1" names a key for RS256, not ES256`},
		{"RS256 header, EC kid", signWith(t, jwt.SigningMethodRS256, r1.priv, "e1", claims), `key id "e1" names a key for ES256, not RS256`},
		// The EC public key as an HMAC secret (alg confusion).
		{"HS256 with the EC public key", signWith(t, jwt.SigningMethodHS256, pub, "e1", claims), "bad token signature"},
		{"RS384", signWith(t, jwt.SigningMethodRS384, r1.priv, "r1", claims), `unsupported token algorithm "RS384": use HS256 or RS256 or ES256`},
		{"ES384", signWith(t, jwt.SigningMethodES384, mustEC384(t), "e1", claims), `unsupported token algorithm "ES384"`},
		{"none", signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims), `unsigned tokens (alg "none") are refused`},
		{"non-string kid", rawToken(t, map[string]any{"alg": "RS256", "kid": 7}, claims, func([]byte) []byte { return []byte("x") }), `"kid" is not a string`},
		{"oversized", strings.Repeat("a", maxTokenLen+1), "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Authenticate(bearer(tc.tok))
			wantUnauthorized(t, err, tc.want)
		})
	}

	// Without a secret, HS256 is not accepted at all.
	b := urlAuth(t, srv, c, JWTConfig{}, nil)
	_, err = b.Authenticate(bearer(sign(t, claims)))
	wantUnauthorized(t, err, "unsupported token algorithm HS256: this server accepts RS256 and ES256 tokens only")
}

func mustEC384(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestExpiry: a token without exp is refused unless AllowNoExp; expired
// and not-yet-valid tokens are refused for every algorithm.
func TestExpiry(t *testing.T) {
	e1 := newEC(t, "e1")
	srv := newJWKSServer(t, e1.jwk())
	c := &clock{t0}
	strict := urlAuth(t, srv, c, JWTConfig{HS256Secret: secret}, nil)
	lax := urlAuth(t, srv, c, JWTConfig{HS256Secret: secret, AllowNoExp: true}, nil)
	noExp := map[string]any{"sub": "u-1"}
	es := func(claims map[string]any) string { return signWith(t, jwt.SigningMethodES256, e1.priv, "e1", claims) }
	for name, tok := range map[string]string{"HS256": sign(t, noExp), "ES256": es(noExp)} {
		_, err := strict.Authenticate(bearer(tok))
		wantUnauthorized(t, err, `token has no expiry ("exp" claim)`)
		if _, err := lax.Authenticate(bearer(tok)); err != nil {
			t.Errorf("%s without exp, AllowNoExp: %v", name, err)
		}
	}
	with := func(k string, v time.Time) map[string]any {
		m := validClaims()
		m[k] = float64(v.Unix())
		return m
	}
	for _, a := range []*Authenticator{strict, lax} {
		for _, tc := range []struct{ name, tok, want string }{
			{"expired ES256", es(with("exp", t0.Add(-2*time.Minute))), "token expired at 2026-03-01T11:58:00Z"},
			{"expired HS256", sign(t, with("exp", t0.Add(-2*time.Minute))), "token expired at"},
			{"not yet valid ES256", es(with("nbf", t0.Add(5*time.Minute))), "token is not valid before 2026-03-01T12:05:00Z"},
			{"not yet valid HS256", sign(t, with("nbf", t0.Add(5*time.Minute))), "not valid before"},
			{"issued in the future", es(with("iat", t0.Add(5*time.Minute))), "issued in the future"},
		} {
			_, err := a.Authenticate(bearer(tc.tok))
			wantUnauthorized(t, err, tc.want)
		}
	}
}

// TestJWKSFileEC: a JWKS file may hold EC P-256 keys; a malformed one is
// an error naming the key, while in a fetched JWKS it is skipped and
// logged.
func TestJWKSFileEC(t *testing.T) {
	e1, r1 := newEC(t, "e1"), newRSA(t, "r1")
	path := writeJSON(t, map[string]any{"keys": []any{e1.jwk()}})
	a, err := New(Config{JWT: &JWTConfig{JWKSFile: path}, Now: (&clock{t0}).now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(bearer(signWith(t, jwt.SigningMethodES256, e1.priv, "e1", validClaims()))); err != nil {
		t.Fatal(err)
	}
	// A file of EC keys only accepts ES256.
	_, err = a.Authenticate(bearer(r1.sign(t, "r1", validClaims())))
	wantUnauthorized(t, err, "unsupported token algorithm RS256: this server accepts ES256 tokens only")

	bad := e1.jwk()
	bad["x"] = bad["y"] // not a point of the curve
	_, err = New(Config{JWT: &JWTConfig{JWKSFile: writeJSON(t, map[string]any{"keys": []any{r1.jwk(), bad}})}})
	if err == nil || !strings.Contains(err.Error(), `key 1 (kid "e1"): not a P-256 point`) {
		t.Errorf("off-curve EC key in a file: err = %v", err)
	}

	var logs syncBuffer
	srv := newJWKSServer(t, r1.jwk(), bad)
	b := urlAuth(t, srv, &clock{t0}, JWTConfig{}, slog.New(slog.NewJSONHandler(&logs, nil)))
	if _, err := b.Authenticate(bearer(r1.sign(t, "r1", validClaims()))); err != nil {
		t.Errorf("good key next to a malformed one in a fetched JWKS: %v", err)
	}
	if !strings.Contains(logs.String(), "JWKS key skipped") {
		t.Errorf("skipped key not logged:\n%s", logs.String())
	}
}
