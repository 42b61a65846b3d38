// Package auth authenticates the callers of `dsgen serve` and enforces a
// schema's @auth rules the way AppSync does.
//
// Authentication: an Authenticator accepts API keys (the x-api-key header)
// and JWT bearer tokens (the authorization header), HS256 with a shared
// secret, or RS256 and ES256 with the keys of a JWKS file or of a JWKS URL
// (fetched at start, refreshed periodically and on an unknown key id), and
// yields an Identity. With a Lambda authorizer webhook (LambdaConfig), other
// authorization tokens are sent to it, as AppSync's AWS_LAMBDA mode sends
// them to a Lambda function (lambda.go). With IAMConfig, requests signed
// with AWS Signature Version 4 by one of the configured credentials are
// accepted, as in AppSync's AWS_IAM mode (sigv4.go).
//
// Authorization: Authorize evaluates a model's normalised rules
// (meta.AuthRule) for an operation and an Identity and returns an Access:
// full, or limited to the items the caller owns or whose dynamic groups it
// belongs to. Redact and CheckWrite apply field-level rules.
//
// Token signatures and time claims are verified by github.com/golang-jwt/jwt/v5;
// JWKS documents are read here, since that library has no JWKS support.
package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
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
	// JWKSFile, when set, names a JWKS JSON file of public keys: RSA keys
	// (kty "RSA", n, e) verify RS256 tokens, EC P-256 keys (kty "EC", crv
	// "P-256", x, y) ES256 tokens. A malformed key is an error.
	JWKSFile string
	// JWKSURL, when set, is where a JWKS of such keys is published, such as
	// a Cognito user pool's
	// https://cognito-idp.<region>.amazonaws.com/<poolId>/.well-known/jwks.json.
	// It must be https, or http to a loopback address. New fetches it and
	// fails when that fetch fails; afterwards it is refetched every
	// JWKSRefresh and when a token names an unknown key id (at most once per
	// JWKSMissInterval). A failed refetch is logged and keeps the last good
	// keys. Malformed keys in it are logged and skipped. Exclusive with
	// JWKSFile.
	JWKSURL string
	// JWKSRefresh is how often JWKSURL is refetched; zero means
	// DefaultJWKSRefresh.
	JWKSRefresh time.Duration
	// JWKSMissInterval is the least time, by Config.Now, between refetches
	// of JWKSURL caused by unknown key ids; zero means
	// DefaultJWKSMissInterval.
	JWKSMissInterval time.Duration
	// HTTPClient fetches JWKSURL; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// AllowNoExp accepts tokens without an "exp" claim, for issuers that
	// omit it; by default they are refused, since they would never expire.
	AllowNoExp bool
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

// Config configures an Authenticator. With neither API keys, JWT nor a
// Lambda authorizer, every request is refused.
type Config struct {
	APIKeys []APIKey
	JWT     *JWTConfig
	// Lambda, when set, sends authorization tokens that are not JWTs (see
	// Authenticator.AuthenticateRequest) to a Lambda authorizer webhook.
	Lambda *LambdaConfig
	// IAM, when set, accepts requests signed with AWS Signature Version 4
	// by one of its credentials (see AuthenticateSigned).
	IAM *IAMConfig
	// Now returns the current time; nil means time.Now. Tests move it to
	// check expiry.
	Now func() time.Time
	// Logger receives JWKS refresh and authorizer webhook failures; nil
	// means slog.Default().
	Logger *slog.Logger
}

// Mode is how a caller authenticated.
type Mode uint8

// The authentication modes. The zero Mode is no authentication and matches
// no rule.
const (
	ModeAPIKey Mode = iota + 1
	ModeJWT
	// ModeLambda is a caller a Lambda authorizer webhook accepted (@auth
	// provider "function", rules allow: custom).
	ModeLambda
	// ModeIAM is a caller whose SigV4 signature one of the configured IAM
	// credentials verified (@auth provider "iam").
	ModeIAM
)

// String names the mode as the @auth providers it satisfies.
func (m Mode) String() string {
	switch m {
	case ModeAPIKey:
		return "apiKey"
	case ModeJWT:
		return "userPools/oidc"
	case ModeLambda:
		return "function"
	case ModeIAM:
		return "iam"
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
	// ResolverContext is the Lambda authorizer's resolverContext (Lambda
	// callers only; AppSync's $ctx.identity.resolverContext).
	ResolverContext map[string]any
	// IAM is the credential an IAM caller signed with (ModeIAM only).
	IAM *IAMCaller

	// denied holds the Lambda authorizer's deniedFields, by type then
	// field; lambdaFP fingerprints its answer.
	denied   map[string]map[string]bool
	lambdaFP string

	// usernameClaim is JWTConfig.UsernameClaim ("" for the default chain).
	usernameClaim string
}

// Denied reports whether the Lambda authorizer's deniedFields name the
// field of the GraphQL type typ: its value must read as null.
func (id *Identity) Denied(typ, field string) bool {
	return id != nil && id.denied[typ][field]
}

// DeniesAny reports whether the Lambda authorizer denied fields of typ.
func (id *Identity) DeniesAny(typ string) bool {
	return id != nil && len(id.denied[typ]) > 0
}

// Fingerprint tells callers apart whose answers may differ: the mode, the
// claims of a JWT, the authorizer's answer for a Lambda caller.
func (id *Identity) Fingerprint() string {
	switch id.Mode {
	case ModeJWT:
		claims, _ := json.Marshal(id.Claims)
		return id.Mode.String() + string(claims)
	case ModeLambda:
		return id.Mode.String() + id.lambdaFP
	case ModeIAM:
		// What an IAM caller may see depends on its role only.
		return id.Mode.String() + string(id.IAM.Role)
	}
	return id.Mode.String()
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
// concurrent use. With a JWKS URL it owns a goroutine that refreshes the
// keys; Close stops it.
type Authenticator struct {
	keys   []APIKey
	jwt    *JWTConfig
	static *keySet     // from JWTConfig.JWKSFile
	remote *remoteJWKS // from JWTConfig.JWKSURL
	lambda *lambdaAuth // from Config.Lambda
	iam    *iamAuth    // from Config.IAM
	parser *jwt.Parser
	now    func() time.Time
	leeway time.Duration
}

// New returns an Authenticator for cfg. It reads and checks the JWKS file,
// or fetches the JWKS URL, now, so a bad file, key or URL is reported at
// startup with its path or URL.
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
		if j.HS256Secret == nil && j.JWKSFile == "" && j.JWKSURL == "" {
			return nil, fmt.Errorf("auth: JWT config accepts no tokens: set HS256Secret, JWKSFile or JWKSURL")
		}
		if j.JWKSFile != "" && j.JWKSURL != "" {
			return nil, fmt.Errorf("auth: set JWKSFile or JWKSURL, not both")
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
		if j.JWKSRefresh <= 0 {
			j.JWKSRefresh = DefaultJWKSRefresh
		}
		if j.JWKSMissInterval <= 0 {
			j.JWKSMissInterval = DefaultJWKSMissInterval
		}
		a.jwt = &j
		switch {
		case j.JWKSFile != "":
			keys, err := loadJWKSFile(j.JWKSFile)
			if err != nil {
				return nil, err
			}
			a.static = keys
		case j.JWKSURL != "":
			log := cfg.Logger
			if log == nil {
				log = slog.Default()
			}
			r, err := startRemoteJWKS(j.JWKSURL, j.HTTPClient, log, a.now, j.JWKSRefresh, j.JWKSMissInterval)
			if err != nil {
				return nil, err
			}
			a.remote = r
		}
		a.parser = newParser(a.algs(), a.now, a.leeway, j.AllowNoExp)
	}
	if cfg.Lambda != nil {
		log := cfg.Logger
		if log == nil {
			log = slog.Default()
		}
		l, err := newLambdaAuth(*cfg.Lambda, a.now, log)
		if err != nil {
			a.Close()
			return nil, err
		}
		a.lambda = l
	}
	if cfg.IAM != nil {
		i, err := newIAMAuth(*cfg.IAM, a.now)
		if err != nil {
			a.Close()
			return nil, err
		}
		a.iam = i
	}
	return a, nil
}

// Close stops the JWKS refresh, if any, and waits for it. It is safe to
// call more than once; the Authenticator keeps working with the last keys.
func (a *Authenticator) Close() error {
	if a.remote != nil {
		a.remote.Close()
	}
	return nil
}

// Authenticate is AuthenticateRequest for a request whose GraphQL
// document is not at hand (a Lambda authorizer is then told an empty
// query).
func (a *Authenticator) Authenticate(headers map[string]string) (*Identity, error) {
	return a.AuthenticateRequest(context.Background(), headers, RequestInfo{})
}

// AuthenticateRequest reads the caller's credentials from headers (names
// lower-cased by the caller), picking the mode the way AppSync does with
// several authorization modes:
//
//   - An "authorization" header wins over "x-api-key". Its token is a JWT
//     ("Bearer <jwt>" or a bare JWT, as Amplify sends it) when JWT
//     verification is configured and the token has a JWT's shape (three
//     dot-separated base64url parts, the first a JSON object) or the
//     Bearer prefix: it is then verified as a JWT only, never sent to the
//     Lambda authorizer (AppSync hands such tokens to its user pool or
//     OIDC mode, which is why its docs tell Lambda tokens not to look like
//     one).
//   - Any other token goes to the Lambda authorizer, when configured, with
//     info as the authorizer event's request context; without one, to JWT
//     verification, which says what is wrong with it.
//   - Without an authorization header, "x-api-key" is an API key.
//   - An authorization header with a SigV4 signature ("AWS4-HMAC-SHA256
//     ...") is AppSync's AWS_IAM mode: it is refused here, since checking
//     it needs the whole request (use AuthenticateSigned).
//
// Errors are *appsync.Error: ErrorType UnauthorizedException saying what
// is wrong, or ErrorTypeUnavailable when the Lambda authorizer gave no
// answer.
func (a *Authenticator) AuthenticateRequest(ctx context.Context, headers map[string]string, info RequestInfo) (*Identity, error) {
	if h, ok := headers["authorization"]; ok && strings.TrimSpace(h) != "" {
		tok := strings.TrimSpace(h)
		if isSigV4(tok) {
			return nil, unauthorized(errNeedsSignedRequest)
		}
		bearer := len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ")
		if a.lambda != nil && (a.jwt == nil || (!bearer && !looksLikeJWT(tok))) {
			if info.Headers == nil {
				info.Headers = headers
			}
			return a.lambda.authenticate(ctx, tok, info)
		}
		if bearer {
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
