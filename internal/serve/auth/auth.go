// Package auth authenticates the callers of `dsgen serve` and enforces a
// schema's @auth rules the way AppSync does.
//
// Authentication: an Authenticator accepts API keys (the x-api-key header)
// and JWT bearer tokens (the authorization header), HS256 with a shared
// secret or RS256 with the RSA keys of a JWKS file, and yields an Identity.
//
// Authorization: Authorize evaluates a model's normalised rules
// (meta.AuthRule) for an operation and an Identity and returns an Access:
// full, or limited to the items the caller owns or whose dynamic groups it
// belongs to. Redact and CheckWrite apply field-level rules.
//
// Only the standard library is used for the cryptography.
package auth

import (
	"crypto/rsa"
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// APIKey is an accepted value of the x-api-key header.
type APIKey struct {
	Key string
	// Expires is when the key stops being accepted; zero means never.
	Expires time.Time
}

// JWTConfig says which bearer tokens are accepted and how their claims map
// to owners and groups.
type JWTConfig struct {
	// HS256Secret, when set, accepts HS256 tokens signed with it.
	HS256Secret []byte
	// JWKSFile, when set, names a JWKS JSON file of RSA public keys (kty
	// "RSA", kid, n, e); RS256 tokens signed by one of them are accepted.
	JWKSFile string
	// Issuer, when set, must equal the token's "iss" claim.
	Issuer string
	// Audience, when set, must be the token's "aud" (a string, or one of an
	// array) or its "client_id" (Cognito access tokens carry no aud).
	Audience string
	// UsernameClaim names the claim holding the caller's user name, used by
	// owner rules that rely on the default identity claim. Empty means
	// "username", falling back to "cognito:username", then "sub".
	UsernameClaim string
	// GroupsClaim names the claim holding the caller's groups; empty means
	// "cognito:groups".
	GroupsClaim string
	// Leeway is the clock skew allowed on exp, nbf and iat; zero means one
	// minute.
	Leeway time.Duration
}

// Config configures an Authenticator. With neither API keys nor JWT, every
// request is refused.
type Config struct {
	APIKeys []APIKey
	JWT     *JWTConfig
	// Now returns the current time; nil means time.Now. Tests move it to
	// check expiry.
	Now func() time.Time
}

// Mode is how a caller authenticated.
type Mode uint8

// The authentication modes. The zero Mode is no authentication and matches
// no rule.
const (
	ModeAPIKey Mode = iota + 1
	ModeJWT
)

// String names the mode as the @auth providers it satisfies.
func (m Mode) String() string {
	switch m {
	case ModeAPIKey:
		return "apiKey"
	case ModeJWT:
		return "userPools/oidc"
	}
	return "none"
}

// Identity is an authenticated caller. Treat it as read-only.
type Identity struct {
	Mode Mode
	// Claims are the JWT's claims as decoded by encoding/json (numbers are
	// float64); nil for API keys.
	Claims map[string]any
	// Groups are the values of the configured groups claim.
	Groups []string

	// usernameClaim is JWTConfig.UsernameClaim ("" for the default chain).
	usernameClaim string
}

// Claim returns the string value(s) of a claim for owner matching; nil when
// the caller has none.
//
//   - "username" and "cognito:username" return the caller's user name: the
//     configured JWTConfig.UsernameClaim, or else the first present of
//     "username", "cognito:username" and "sub".
//   - "sub::username", AppSync v2's default identity claim, returns
//     ["<sub>::<username>", "<sub>", "<username>"] (the user name as above);
//     the composite is left out when either part is missing. The first value
//     is what an owner field gets on create; every value matches, as in
//     AppSync's v2 resolvers.
//   - Any other claim returns its string value, the string elements of an
//     array value, or a number or boolean formatted as JSON would.
func (id *Identity) Claim(name string) []string {
	if id == nil || id.Claims == nil {
		return nil
	}
	switch name {
	case "username", "cognito:username":
		if u := id.username(); u != "" {
			return []string{u}
		}
		return nil
	case "sub::username":
		sub, user := claimString(id.Claims["sub"]), id.username()
		var out []string
		if sub != "" && user != "" {
			out = append(out, sub+"::"+user)
		}
		if sub != "" {
			out = append(out, sub)
		}
		if user != "" && user != sub {
			out = append(out, user)
		}
		return out
	}
	return claimStrings(id.Claims[name])
}

// username resolves the caller's user name (see Claim).
func (id *Identity) username() string {
	if id.usernameClaim != "" {
		return claimString(id.Claims[id.usernameClaim])
	}
	for _, c := range []string{"username", "cognito:username", "sub"} {
		if s := claimString(id.Claims[c]); s != "" {
			return s
		}
	}
	return ""
}

// claimString returns a scalar claim as a string ("" for absent or
// non-scalar values).
func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// claimStrings returns a claim as a list of strings: a scalar as one value,
// an array as its scalar elements.
func claimStrings(v any) []string {
	if arr, ok := v.([]any); ok {
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			if s := claimString(e); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	if s := claimString(v); s != "" {
		return []string{s}
	}
	return nil
}

// Authenticator checks the credentials of requests. It is safe for
// concurrent use and holds no goroutines.
type Authenticator struct {
	keys   []APIKey
	jwt    *JWTConfig
	rsa    []jwk
	now    func() time.Time
	leeway time.Duration
}

// jwk is one RSA public key of the JWKS file.
type jwk struct {
	kid string
	key *rsa.PublicKey
}

// New returns an Authenticator for cfg. It reads and checks the JWKS file
// now, so a bad file or key is reported at startup with its path.
func New(cfg Config) (*Authenticator, error) {
	a := &Authenticator{now: cfg.Now, leeway: time.Minute}
	if a.now == nil {
		a.now = time.Now
	}
	for i, k := range cfg.APIKeys {
		if k.Key == "" {
			return nil, fmt.Errorf("auth: API key %d is empty", i)
		}
	}
	a.keys = append([]APIKey(nil), cfg.APIKeys...)
	if cfg.JWT != nil {
		j := *cfg.JWT
		if j.HS256Secret == nil && j.JWKSFile == "" {
			return nil, fmt.Errorf("auth: JWT config accepts no tokens: set HS256Secret or JWKSFile")
		}
		if j.HS256Secret != nil && len(j.HS256Secret) < 16 {
			return nil, fmt.Errorf("auth: HS256 secret is %d bytes; use at least 16", len(j.HS256Secret))
		}
		if j.GroupsClaim == "" {
			j.GroupsClaim = "cognito:groups"
		}
		if j.Leeway > 0 {
			a.leeway = j.Leeway
		}
		if j.JWKSFile != "" {
			keys, err := loadJWKS(j.JWKSFile)
			if err != nil {
				return nil, err
			}
			a.rsa = keys
		}
		a.jwt = &j
	}
	return a, nil
}

// unauthorized returns the error of a failed authentication.
func unauthorized(format string, args ...any) *appsync.Error {
	return appsync.Errorf(appsync.UnauthorizedExc, format, args...)
}

// Authenticate reads the caller's credentials from headers (names lower-cased
// by the caller): "authorization" holding "Bearer <jwt>" or a bare JWT (as
// Amplify sends it), else "x-api-key". A present authorization header wins
// over an API key. Errors are *appsync.Error with ErrorType
// UnauthorizedException and say what is wrong.
func (a *Authenticator) Authenticate(headers map[string]string) (*Identity, error) {
	if h, ok := headers["authorization"]; ok && strings.TrimSpace(h) != "" {
		tok := strings.TrimSpace(h)
		if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
			tok = strings.TrimSpace(tok[7:])
		}
		return a.authenticateJWT(tok)
	}
	if k, ok := headers["x-api-key"]; ok && k != "" {
		return a.authenticateKey(k)
	}
	return nil, unauthorized("missing credentials: send an x-api-key header or an authorization header with a JWT")
}

// authenticateKey checks an API key in constant time per configured key.
func (a *Authenticator) authenticateKey(key string) (*Identity, error) {
	if len(a.keys) == 0 {
		return nil, unauthorized("API key authentication is not enabled on this server")
	}
	var found *APIKey
	for i := range a.keys {
		if subtle.ConstantTimeCompare([]byte(a.keys[i].Key), []byte(key)) == 1 {
			found = &a.keys[i]
		}
	}
	if found == nil {
		return nil, unauthorized("unknown API key")
	}
	if !found.Expires.IsZero() && !a.now().Before(found.Expires) {
		return nil, unauthorized("API key expired at %s", found.Expires.UTC().Format(time.RFC3339))
	}
	return &Identity{Mode: ModeAPIKey}, nil
}
