package auth

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"strings"
	"time"
)

// maxTokenLen bounds the tokens we decode; Cognito tokens are a few KB.
const maxTokenLen = 16 << 10

// jwtHeader is the part of a JOSE header we read.
type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// token is a decoded, not yet verified, compact JWS.
type token struct {
	header jwtHeader
	claims map[string]any
	signed []byte // header.payload, the signing input
	sig    []byte
}

// parseToken splits and decodes a compact JWT. It checks shape only; the
// error says which part is malformed.
func parseToken(s string) (*token, error) {
	if len(s) > maxTokenLen {
		return nil, fmt.Errorf("token is %d bytes, more than %d", len(s), maxTokenLen)
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("token has %d dot-separated parts, want 3 (header.payload.signature)", len(parts))
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("token header is not base64url: %w", err)
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("token payload is not base64url: %w", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("token signature is not base64url: %w", err)
	}
	t := &token{signed: []byte(parts[0] + "." + parts[1]), sig: sig}
	if err := json.Unmarshal(hb, &t.header); err != nil {
		return nil, fmt.Errorf("token header is not a JSON object: %w", err)
	}
	if err := json.Unmarshal(pb, &t.claims); err != nil || t.claims == nil {
		if err == nil {
			err = fmt.Errorf("null")
		}
		return nil, fmt.Errorf("token payload is not a JSON object: %w", err)
	}
	return t, nil
}

// authenticateJWT verifies a token's signature and claims.
func (a *Authenticator) authenticateJWT(s string) (*Identity, error) {
	if a.jwt == nil {
		return nil, unauthorized("JWT authentication is not enabled on this server")
	}
	t, err := parseToken(s)
	if err != nil {
		return nil, unauthorized("malformed token: %v", err)
	}
	if err := a.verifySignature(t); err != nil {
		return nil, err
	}
	if err := a.checkClaims(t.claims); err != nil {
		return nil, err
	}
	return &Identity{
		Mode:          ModeJWT,
		Claims:        t.claims,
		Groups:        groupsOf(t.claims[a.jwt.GroupsClaim]),
		usernameClaim: a.jwt.UsernameClaim,
	}, nil
}

// verifySignature checks the signature with the key the algorithm calls
// for. The algorithm picks the key type, never the other way round: an HS256
// token is only ever checked against HS256Secret, so an RSA public key
// cannot be replayed as an HMAC secret, and "none" is refused.
func (a *Authenticator) verifySignature(t *token) error {
	switch t.header.Alg {
	case "HS256":
		if a.jwt.HS256Secret == nil {
			return unauthorized("unsupported token algorithm HS256: this server accepts RS256 tokens only")
		}
		mac := hmac.New(sha256.New, a.jwt.HS256Secret)
		mac.Write(t.signed)
		if !hmac.Equal(mac.Sum(nil), t.sig) {
			return unauthorized("bad token signature")
		}
		return nil
	case "RS256":
		if len(a.rsa) == 0 {
			return unauthorized("unsupported token algorithm RS256: this server accepts HS256 tokens only")
		}
		sum := sha256.Sum256(t.signed)
		if t.header.Kid != "" {
			for _, k := range a.rsa {
				if k.kid == t.header.Kid {
					if rsa.VerifyPKCS1v15(k.key, crypto.SHA256, sum[:], t.sig) != nil {
						return unauthorized("bad token signature")
					}
					return nil
				}
			}
			return unauthorized("token key id %q is not in the JWKS", t.header.Kid)
		}
		for _, k := range a.rsa {
			if rsa.VerifyPKCS1v15(k.key, crypto.SHA256, sum[:], t.sig) == nil {
				return nil
			}
		}
		return unauthorized("bad token signature")
	case "", "none", "None", "NONE":
		return unauthorized("unsigned tokens (alg %q) are refused", t.header.Alg)
	}
	return unauthorized("unsupported token algorithm %q: use HS256 or RS256", t.header.Alg)
}

// checkClaims checks the time, issuer and audience claims.
func (a *Authenticator) checkClaims(c map[string]any) error {
	now := a.now()
	for _, name := range []string{"exp", "nbf", "iat"} {
		v, ok := c[name]
		if !ok {
			continue
		}
		f, ok := v.(float64)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return unauthorized("malformed token: claim %q is not a number", name)
		}
		at := unixTime(f)
		switch name {
		case "exp":
			if !now.Before(at.Add(a.leeway)) {
				return unauthorized("token expired at %s", at.UTC().Format(time.RFC3339))
			}
		case "nbf":
			if now.Add(a.leeway).Before(at) {
				return unauthorized("token is not valid before %s", at.UTC().Format(time.RFC3339))
			}
		case "iat":
			if now.Add(a.leeway).Before(at) {
				return unauthorized("token was issued in the future (%s)", at.UTC().Format(time.RFC3339))
			}
		}
	}
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

// unixTime converts a NumericDate, clamping absurd values so they compare
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

// jwksFile is the JSON shape of a JWKS file.
type jwksFile struct {
	Keys []struct {
		Kty string `json:"kty"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		N   string `json:"n"`
		E   string `json:"e"`
	} `json:"keys"`
}

// loadJWKS reads the RSA signing keys of a JWKS file. Keys of other types or
// uses are skipped; a file without a usable RSA key is an error.
func loadJWKS(path string) ([]jwk, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read JWKS: %w", err)
	}
	var f jwksFile
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("auth: JWKS %s is not valid JSON of the form {\"keys\":[...]}: %w", path, err)
	}
	var keys []jwk
	for i, k := range f.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "RS256") {
			continue
		}
		pub, err := rsaKey(k.N, k.E)
		if err != nil {
			return nil, fmt.Errorf("auth: JWKS %s: key %d (kid %q): %w", path, i, k.Kid, err)
		}
		keys = append(keys, jwk{kid: k.Kid, key: pub})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("auth: JWKS %s holds no RSA signing key (kty \"RSA\", alg RS256)", path)
	}
	return keys, nil
}

// rsaKey builds an RSA public key from the base64url modulus and exponent.
func rsaKey(n64, e64 string) (*rsa.PublicKey, error) {
	if n64 == "" || e64 == "" {
		return nil, fmt.Errorf("modulus \"n\" or exponent \"e\" is missing")
	}
	nb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(n64, "="))
	if err != nil {
		return nil, fmt.Errorf("modulus \"n\" is not base64url: %w", err)
	}
	eb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(e64, "="))
	if err != nil {
		return nil, fmt.Errorf("exponent \"e\" is not base64url: %w", err)
	}
	n := new(big.Int).SetBytes(nb)
	if n.BitLen() < 2048 {
		return nil, fmt.Errorf("modulus is %d bits; at least 2048 are required", n.BitLen())
	}
	e := new(big.Int).SetBytes(eb)
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > math.MaxInt32 || e.Bit(0) == 0 {
		return nil, fmt.Errorf("exponent %s is not an odd number between 3 and 2^31", e)
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// SignHS256 returns a compact HS256 JWT of claims signed with secret. It is
// meant for tests and tools that need tokens dsgen serve accepts; it does
// not add exp or any other claim by itself.
func SignHS256(secret []byte, claims map[string]any) (string, error) {
	if len(secret) == 0 {
		return "", fmt.Errorf("auth: sign HS256: empty secret")
	}
	pb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("auth: sign HS256: encode claims: %w", err)
	}
	signed := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString(pb)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}
