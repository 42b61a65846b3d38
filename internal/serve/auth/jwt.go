package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/golang-jwt/jwt/v5"
)

// maxTokenLen bounds the tokens we decode; Cognito tokens are a few KB.
const maxTokenLen = 16 << 10

// authenticateJWT verifies a token's signature and claims. The signature
// and the time claims are checked by golang-jwt; issuer and audience here,
// since the audience may be Cognito's client_id.
func (a *Authenticator) authenticateJWT(s string) (*Identity, error) {
	if a.jwt == nil {
		return nil, unauthorized("JWT authentication is not enabled on this server")
	}
	if len(s) > maxTokenLen {
		return nil, unauthorized("malformed token: token is %d bytes, more than %d", len(s), maxTokenLen)
	}
	claims := jwt.MapClaims{}
	tok, err := a.parser.ParseWithClaims(s, claims, a.key)
	if err != nil {
		return nil, a.explain(tok, claims, err)
	}
	if err := a.checkIssuerAudience(claims); err != nil {
		return nil, err
	}
	return &Identity{
		Mode:          ModeJWT,
		Claims:        claims,
		Groups:        groupsOf(claims[a.jwt.GroupsClaim]),
		usernameClaim: a.jwt.UsernameClaim,
	}, nil
}

// newParser returns the token parser: only the algorithms this server has
// keys for, golang-jwt's checks of exp, nbf and iat with the leeway, and exp
// required unless allowNoExp.
func newParser(algs []string, now func() time.Time, leeway time.Duration, allowNoExp bool) *jwt.Parser {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithTimeFunc(now),
		jwt.WithLeeway(leeway),
		jwt.WithIssuedAt(),
	}
	if !allowNoExp {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	return jwt.NewParser(opts...)
}

// key picks the verification key of a token. The algorithm is pinned by
// key type: HS256 is only ever checked against the HS256 secret, RS256 and
// ES256 only against JWKS keys of that type and algorithm, so an RSA public
// key cannot be replayed as an HMAC secret; "none" never reaches here
// (WithValidMethods refuses it).
func (a *Authenticator) key(t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	if alg == "HS256" {
		return a.jwt.HS256Secret, nil
	}
	raw, hasKid := t.Header["kid"]
	kid, ok := raw.(string)
	if hasKid && !ok {
		return nil, unauthorized("malformed token: header \"kid\" is not a string")
	}
	set := a.keySet()
	if kid == "" {
		keys := set.byAlg(alg)
		if len(keys) == 0 {
			return nil, unauthorized("token has no key id and the JWKS holds no %s key", alg)
		}
		vs := jwt.VerificationKeySet{}
		for _, k := range keys {
			vs.Keys = append(vs.Keys, k)
		}
		return vs, nil
	}
	k, found := set.byKid(kid, alg)
	if !found && a.remote != nil {
		a.remote.refreshForKid(kid)
		k, found = a.keySet().byKid(kid, alg)
	}
	if !found {
		return nil, unauthorized("token key id %q is not in the JWKS", kid)
	}
	if k.alg != alg {
		return nil, unauthorized("token key id %q names a key for %s, not %s", kid, k.alg, alg)
	}
	return k.key, nil
}

// keySet returns the JWKS keys in use.
func (a *Authenticator) keySet() *keySet {
	if a.remote != nil {
		return a.remote.current()
	}
	if a.static != nil {
		return a.static
	}
	return &keySet{}
}

// algs lists the token algorithms accepted: HS256 with a secret, RS256 and
// ES256 from a JWKS URL (its keys may rotate to either), or those of the
// keys in a JWKS file.
func (a *Authenticator) algs() []string {
	var out []string
	if a.jwt.HS256Secret != nil {
		out = append(out, "HS256")
	}
	switch {
	case a.remote != nil:
		out = append(out, "RS256", "ES256")
	case a.static != nil:
		out = append(out, a.static.algs...)
	}
	return out
}

// explain turns a golang-jwt error into an UnauthorizedException that says
// what is wrong with the token.
func (a *Authenticator) explain(tok *jwt.Token, claims jwt.MapClaims, err error) error {
	if ae, ok := appsync.AsError(err); ok {
		return ae // from key
	}
	if tok != nil && tok.Header != nil {
		if e := a.checkAlg(tok.Header["alg"]); e != nil {
			return e
		}
	}
	at := func(name string) string {
		f, _ := claims[name].(float64)
		return unixTime(f).UTC().Format(time.RFC3339)
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		// golang-jwt's messages name Go types; say it in the token's terms.
		malformed := [...][2]string{
			{"invalid number of segments", "token does not have 3 dot-separated parts (header.payload.signature)"},
			{"could not base64 decode header", "token header is not base64url"},
			{"could not JSON decode header", "token header is not a JSON object"},
			{"could not base64 decode claim", "token payload is not base64url"},
			{"could not JSON decode claim", "token payload is not a JSON object"},
			{"could not base64 decode signature", "token signature is not base64url"},
		}
		msg := err.Error()
		for _, m := range malformed {
			if strings.Contains(msg, m[0]) {
				return unauthorized("malformed token: %s", m[1])
			}
		}
		return unauthorized("malformed token: %s", strings.TrimPrefix(msg, jwt.ErrTokenMalformed.Error()+": "))
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return unauthorized("bad token signature")
	case errors.Is(err, jwt.ErrInvalidType):
		for _, name := range []string{"exp", "nbf", "iat"} {
			if v, ok := claims[name]; ok {
				if _, num := v.(float64); !num {
					return unauthorized("malformed token: claim %q is not a number", name)
				}
			}
		}
		return unauthorized("malformed token: %v", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return unauthorized("token expired at %s", at("exp"))
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return unauthorized("token is not valid before %s", at("nbf"))
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return unauthorized("token was issued in the future (%s)", at("iat"))
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return unauthorized("token has no expiry (\"exp\" claim); this server requires one")
	}
	return unauthorized("invalid token: %v", err)
}

// checkAlg refuses a header algorithm this server does not accept, saying
// which it does.
func (a *Authenticator) checkAlg(v any) error {
	alg, ok := v.(string)
	if !ok && v != nil {
		return unauthorized("malformed token: header \"alg\" is not a string")
	}
	algs := a.algs()
	for _, x := range algs {
		if x == alg {
			return nil
		}
	}
	switch alg {
	case "", "none", "None", "NONE":
		return unauthorized("unsigned tokens (alg %q) are refused", alg)
	case "HS256", "RS256", "ES256":
		return unauthorized("unsupported token algorithm %s: this server accepts %s tokens only", alg, strings.Join(algs, " and "))
	}
	return unauthorized("unsupported token algorithm %q: use %s", alg, strings.Join(algs, " or "))
}

// checkIssuerAudience checks the issuer and audience claims.
func (a *Authenticator) checkIssuerAudience(c map[string]any) error {
	if want := a.jwt.Issuer; want != "" {
		if got, _ := c["iss"].(string); got != want {
			return unauthorized("wrong token issuer %q, want %q", got, want)
		}
	}
	if want := a.jwt.Audience; want != "" {
		aud := claimStrings(c["aud"])
		if cid, ok := c["client_id"].(string); ok {
			aud = append(aud, cid)
		}
		found := false
		for _, s := range aud {
			found = found || s == want
		}
		if !found {
			return unauthorized("wrong token audience %q, want %q", aud, want)
		}
	}
	return nil
}

// unixTime converts a NumericDate, clamping absurd values so they format
// sanely instead of overflowing.
func unixTime(f float64) time.Time {
	const limit = 1 << 40 // about 36,000 years
	f = math.Max(-limit, math.Min(limit, f))
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9))
}

// groupsOf reads a groups claim: an array of strings, or a string holding
// one group or a JSON array (as some OIDC providers send it).
func groupsOf(v any) []string {
	if s, ok := v.(string); ok && strings.HasPrefix(strings.TrimSpace(s), "[") {
		var arr []any
		if json.Unmarshal([]byte(s), &arr) == nil {
			v = arr
		}
	}
	return claimStrings(v)
}

// SignHS256 returns a compact HS256 JWT of claims signed with secret. It is
// meant for tests and tools that need tokens dsgen serve accepts; it does
// not add exp or any other claim by itself (and dsgen serve refuses tokens
// without exp unless JWTConfig.AllowNoExp).
func SignHS256(secret []byte, claims map[string]any) (string, error) {
	if len(secret) == 0 {
		return "", fmt.Errorf("auth: sign HS256: empty secret")
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims)).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign HS256: %w", err)
	}
	return s, nil
}
