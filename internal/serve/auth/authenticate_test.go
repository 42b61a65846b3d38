package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync"
)

var (
	t0     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	secret = []byte("0123456789abcdef-test-secret")
)

// clock is a movable time source for Config.Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// wantUnauthorized checks that err is an UnauthorizedException whose message
// contains want.
func wantUnauthorized(t *testing.T, err error, want string) {
	t.Helper()
	e, ok := appsync.AsError(err)
	if !ok {
		t.Fatalf("error = %v, want *appsync.Error", err)
	}
	if e.ErrorType != appsync.UnauthorizedExc {
		t.Errorf("errorType = %q, want %q (%s)", e.ErrorType, appsync.UnauthorizedExc, e.Message)
	}
	if !strings.Contains(e.Message, want) {
		t.Errorf("message = %q, want it to contain %q", e.Message, want)
	}
}

func TestAPIKeys(t *testing.T) {
	c := &clock{t0}
	a, err := New(Config{
		APIKeys: []APIKey{{Key: "da2-forever"}, {Key: "da2-shortlived", Expires: t0.Add(time.Hour)}},
		Now:     c.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"da2-forever", "da2-shortlived"} {
		id, err := a.Authenticate(map[string]string{"x-api-key": k})
		if err != nil {
			t.Fatalf("key %s: %v", k, err)
		}
		if id.Mode != ModeAPIKey || id.Mode.String() != "apiKey" || id.Claims != nil {
			t.Errorf("key %s: identity %+v", k, id)
		}
	}
	_, err = a.Authenticate(map[string]string{"x-api-key": "da2-other"})
	wantUnauthorized(t, err, "unknown API key")
	_, err = a.Authenticate(map[string]string{"host": "example"})
	wantUnauthorized(t, err, "missing credentials")

	c.t = t0.Add(time.Hour)
	_, err = a.Authenticate(map[string]string{"x-api-key": "da2-shortlived"})
	wantUnauthorized(t, err, "API key expired")
	if _, err := a.Authenticate(map[string]string{"x-api-key": "da2-forever"}); err != nil {
		t.Errorf("never-expiring key refused after an hour: %v", err)
	}
}

func TestNoMethodsConfigured(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(map[string]string{"x-api-key": "da2-x"})
	wantUnauthorized(t, err, "API key authentication is not enabled")
	_, err = a.Authenticate(map[string]string{"authorization": "Bearer a.b.c"})
	wantUnauthorized(t, err, "JWT authentication is not enabled")
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"empty key":    {APIKeys: []APIKey{{Key: ""}}},
		"no verifier":  {JWT: &JWTConfig{Issuer: "x"}},
		"short secret": {JWT: &JWTConfig{HS256Secret: []byte("short")}},
		"missing file": {JWT: &JWTConfig{JWKSFile: filepath.Join(t.TempDir(), "nope.json")}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func hsAuth(t *testing.T, c *clock, jc JWTConfig) *Authenticator {
	t.Helper()
	jc.HS256Secret = secret
	a, err := New(Config{JWT: &jc, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	tok, err := SignHS256(secret, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rawToken builds a token from a header, claims and a signature function,
// for tokens SignHS256 would never make.
func rawToken(t *testing.T, header, claims map[string]any, sig func(signed []byte) []byte) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	signed := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig([]byte(signed)))
}

func TestHS256(t *testing.T) {
	c := &clock{t0}
	a := hsAuth(t, c, JWTConfig{Issuer: "https://issuer.test", Audience: "app-client"})
	good := map[string]any{
		"sub": "u-1", "cognito:username": "alice", "iss": "https://issuer.test", "aud": "app-client",
		"exp": float64(t0.Add(time.Hour).Unix()), "iat": float64(t0.Unix()),
		"cognito:groups": []any{"Admin", "Editors"},
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}

	tok := sign(t, good)
	for _, h := range []string{"Bearer " + tok, "bearer " + tok, tok} {
		id, err := a.Authenticate(map[string]string{"authorization": h})
		if err != nil {
			t.Fatalf("authorization %.10q...: %v", h, err)
		}
		if id.Mode != ModeJWT || id.Mode.String() != "userPools/oidc" {
			t.Errorf("mode = %v", id.Mode)
		}
		if !slices.Equal(id.Groups, []string{"Admin", "Editors"}) {
			t.Errorf("groups = %q", id.Groups)
		}
		if got := id.Claim("sub::username"); !slices.Equal(got, []string{"u-1::alice", "u-1", "alice"}) {
			t.Errorf("Claim(sub::username) = %q", got)
		}
	}
	// The authorization header wins over an API key, so a bad token is
	// not rescued by a key.
	_, err := a.Authenticate(map[string]string{"authorization": tok + "x", "x-api-key": "da2-x"})
	wantUnauthorized(t, err, "bad token signature")

	cases := []struct {
		name, tok, want string
	}{
		{"bad signature", sign(t, good)[:len(tok)-4] + "AAAA", "bad token signature"},
		{"other secret", func() string { s, _ := SignHS256([]byte("another-secret-of-16+"), good); return s }(), "bad token signature"},
		{"expired", sign(t, with("exp", float64(t0.Add(-2*time.Minute).Unix()))), "token expired"},
		{"nbf in future", sign(t, with("nbf", float64(t0.Add(5*time.Minute).Unix()))), "not valid before"},
		{"iat in future", sign(t, with("iat", float64(t0.Add(5*time.Minute).Unix()))), "issued in the future"},
		{"exp not a number", sign(t, with("exp", "tomorrow")), `claim "exp" is not a number`},
		{"wrong issuer", sign(t, with("iss", "https://evil.test")), "wrong token issuer"},
		{"no issuer", sign(t, with("iss", nil)), "wrong token issuer"},
		{"wrong audience", sign(t, with("aud", "other-client")), "wrong token audience"},
		{"alg none", rawToken(t, map[string]any{"alg": "none"}, good, func([]byte) []byte { return nil }), "unsigned tokens"},
		{"alg HS512", rawToken(t, map[string]any{"alg": "HS512"}, good, func([]byte) []byte { return []byte("x") }), `unsupported token algorithm "HS512"`},
		{"RS256 without JWKS", rawToken(t, map[string]any{"alg": "RS256"}, good, func([]byte) []byte { return []byte("x") }), "accepts HS256 tokens only"},
		{"two parts", "abc.def", "malformed token"},
		{"not base64", "a*b.c.d", "malformed token"},
		// A JSON null payload is an empty claim set to golang-jwt (refused
		// for its bad signature or, signed, for lacking exp); an array is
		// malformed.
		{"payload not object", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." +
			base64.RawURLEncoding.EncodeToString([]byte(`["sub"]`)) + ".AAAA", "payload is not a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Authenticate(map[string]string{"authorization": "Bearer " + tc.tok})
			wantUnauthorized(t, err, tc.want)
		})
	}

	// Within the leeway, an expired token still passes; past it, it fails.
	c.t = t0.Add(time.Hour + 30*time.Second)
	if _, err := a.Authenticate(map[string]string{"authorization": tok}); err != nil {
		t.Errorf("token 30s past exp refused despite 1m leeway: %v", err)
	}
	c.t = t0.Add(time.Hour + time.Minute)
	_, err = a.Authenticate(map[string]string{"authorization": tok})
	wantUnauthorized(t, err, "token expired")
}

func TestAudienceForms(t *testing.T) {
	c := &clock{t0}
	a := hsAuth(t, c, JWTConfig{Audience: "app"})
	for name, claims := range map[string]map[string]any{
		"array":     {"sub": "x", "aud": []any{"other", "app"}, "exp": float64(t0.Add(time.Hour).Unix())},
		"client_id": {"sub": "x", "client_id": "app", "exp": float64(t0.Add(time.Hour).Unix())},
	} {
		if _, err := a.Authenticate(map[string]string{"authorization": sign(t, claims)}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestClaimMapping(t *testing.T) {
	c := &clock{t0}
	exp := float64(t0.Add(time.Hour).Unix())
	claims := map[string]any{"sub": "s-9", "email": "e@x.test", "roles": "[\"Ops\",\"Dev\"]", "n": float64(1234567), "exp": exp}
	a := hsAuth(t, c, JWTConfig{GroupsClaim: "roles", UsernameClaim: "email"})
	id, err := a.Authenticate(map[string]string{"authorization": sign(t, claims)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(id.Groups, []string{"Ops", "Dev"}) {
		t.Errorf("groups from JSON-string claim = %q", id.Groups)
	}
	if got := id.Claim("cognito:username"); !slices.Equal(got, []string{"e@x.test"}) {
		t.Errorf("username from configured claim = %q", got)
	}
	if got := id.Claim("sub::username"); !slices.Equal(got, []string{"s-9::e@x.test", "s-9", "e@x.test"}) {
		t.Errorf("Claim(sub::username) = %q", got)
	}
	if got := id.Claim("n"); !slices.Equal(got, []string{"1234567"}) {
		t.Errorf("numeric claim = %q", got)
	}

	// Without a configured user name claim the chain is username,
	// cognito:username, sub; a token with only sub yields it once.
	b := hsAuth(t, c, JWTConfig{})
	id, err = b.Authenticate(map[string]string{"authorization": sign(t, map[string]any{"sub": "only-sub", "exp": exp})})
	if err != nil {
		t.Fatal(err)
	}
	if got := id.Claim("sub::username"); !slices.Equal(got, []string{"only-sub::only-sub", "only-sub"}) {
		t.Errorf("Claim(sub::username) with only sub = %q", got)
	}
	if id.Groups != nil {
		t.Errorf("groups without claim = %q", id.Groups)
	}
}

// rsaFixture is an RSA key published in a JWKS file.
type rsaFixture struct {
	kid  string
	priv *rsa.PrivateKey
}

func newRSA(t *testing.T, kid string) rsaFixture {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return rsaFixture{kid, k}
}

func (f rsaFixture) jwk() map[string]any {
	return map[string]any{
		"kty": "RSA", "kid": f.kid, "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(f.priv.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(f.priv.E)).Bytes()),
	}
}

func (f rsaFixture) sign(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": "RS256", "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	return rawToken(t, h, claims, func(signed []byte) []byte {
		sum := sha256.Sum256(signed)
		sig, err := rsa.SignPKCS1v15(rand.Reader, f.priv, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	})
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRS256JWKS(t *testing.T) {
	k1, k2, stranger := newRSA(t, "k1"), newRSA(t, "k2"), newRSA(t, "k3")
	path := writeJSON(t, map[string]any{"keys": []any{
		map[string]any{"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "AA"}, // skipped: EdDSA is not accepted
		k1.jwk(), k2.jwk(),
	}})
	c := &clock{t0}
	a, err := New(Config{JWT: &JWTConfig{JWKSFile: path, Issuer: "https://idp.test"}, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"sub": "u-7", "username": "bob", "iss": "https://idp.test", "exp": float64(t0.Add(time.Hour).Unix())}
	for _, tok := range []string{k1.sign(t, "k1", claims), k2.sign(t, "k2", claims), k2.sign(t, "", claims)} {
		id, err := a.Authenticate(map[string]string{"authorization": "Bearer " + tok})
		if err != nil {
			t.Fatal(err)
		}
		if got := id.Claim("username"); !slices.Equal(got, []string{"bob"}) {
			t.Errorf("username = %q", got)
		}
	}
	_, err = a.Authenticate(map[string]string{"authorization": k1.sign(t, "k2", claims)})
	wantUnauthorized(t, err, "bad token signature")
	_, err = a.Authenticate(map[string]string{"authorization": stranger.sign(t, "k3", claims)})
	wantUnauthorized(t, err, `key id "k3" is not in the JWKS`)
	_, err = a.Authenticate(map[string]string{"authorization": stranger.sign(t, "", claims)})
	wantUnauthorized(t, err, "bad token signature")
	_, err = a.Authenticate(map[string]string{"authorization": sign(t, claims)})
	wantUnauthorized(t, err, "accepts RS256 tokens only")
}

// TestAlgorithmConfusion: with both HS256 and RS256 enabled, a token with
// alg HS256 "signed" with the RSA public key (the classic confusion attack)
// is refused, because HS256 is only ever checked against the HS256 secret.
func TestAlgorithmConfusion(t *testing.T) {
	k := newRSA(t, "k1")
	path := writeJSON(t, map[string]any{"keys": []any{k.jwk()}})
	a, err := New(Config{JWT: &JWTConfig{JWKSFile: path, HS256Secret: secret}, Now: (&clock{t0}).now})
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"sub": "attacker", "exp": float64(t0.Add(time.Hour).Unix())}
	for name, pub := range map[string][]byte{
		"pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"der": der,
		"n":   k.priv.N.Bytes(),
	} {
		t.Run(name, func(t *testing.T) {
			forged, err := SignHS256(pub, claims)
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Authenticate(map[string]string{"authorization": forged})
			wantUnauthorized(t, err, "bad token signature")
		})
	}
	// And the genuine tokens of both kinds pass.
	if _, err := a.Authenticate(map[string]string{"authorization": k.sign(t, "k1", claims)}); err != nil {
		t.Error(err)
	}
	if _, err := a.Authenticate(map[string]string{"authorization": sign(t, claims)}); err != nil {
		t.Error(err)
	}
}

func TestBadJWKSFiles(t *testing.T) {
	good := newRSA(t, "g").jwk()
	withField := func(k, v string) map[string]any {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		m[k] = v
		return m
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		content any
		want    string
	}{
		"not json":     {"{not json", "not valid JSON"},
		"no rsa key":   {map[string]any{"keys": []any{}}, "holds no RSA signing key"},
		"bad modulus":  {map[string]any{"keys": []any{withField("n", "!!!")}}, `key 0 (kid "g"): modulus "n" is not base64url`},
		"bad exponent": {map[string]any{"keys": []any{withField("e", "AAAA")}}, "exponent 0 is not"},
		"missing n":    {map[string]any{"keys": []any{withField("n", "")}}, "missing"},
		"small key": {map[string]any{"keys": []any{map[string]any{"kty": "RSA", "kid": "s",
			"n": base64.RawURLEncoding.EncodeToString(small.N.Bytes()), "e": "AQAB"}}}, "1024 bits"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var path string
			if s, ok := tc.content.(string); ok {
				path = filepath.Join(t.TempDir(), "jwks.json")
				if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
					t.Fatal(err)
				}
			} else {
				path = writeJSON(t, tc.content)
			}
			_, err := New(Config{JWT: &JWTConfig{JWKSFile: path}})
			if err == nil {
				t.Fatal("New accepted the file")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error = %q, want it to name %s and contain %q", err, path, tc.want)
			}
		})
	}
}

// FuzzAuthenticate feeds arbitrary authorization headers: no panic, and
// every refusal is an UnauthorizedException.
func FuzzAuthenticate(f *testing.F) {
	tok, _ := SignHS256(secret, map[string]any{"sub": "x", "exp": 1e10})
	for _, s := range []string{tok, "Bearer " + tok, "a.b.c", "..", "eyJhbGciOiJub25lIn0.e30.", "Bearer ", tok[:20],
		"eyJhbGciOiJIUzI1NiJ9.bnVsbA.AAAA", "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjFlMzAwfQ.AAAA"} {
		f.Add(s)
	}
	a, err := New(Config{APIKeys: []APIKey{{Key: "k"}}, JWT: &JWTConfig{HS256Secret: secret}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, h string) {
		id, err := a.Authenticate(map[string]string{"authorization": h})
		if err != nil {
			if e, ok := appsync.AsError(err); !ok || e.ErrorType != appsync.UnauthorizedExc {
				t.Fatalf("error %v is not an UnauthorizedException", err)
			}
			return
		}
		if id.Mode != ModeJWT {
			t.Fatalf("accepted %q as %v", h, id.Mode)
		}
		_ = id.Claim("sub::username")
	})
}
