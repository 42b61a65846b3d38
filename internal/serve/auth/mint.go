package auth

import (
	"fmt"
	"time"
)

// DevIdentity describes a development JWT for MintHS256: who the caller is
// and which of the server's JWT settings the token must satisfy.
type DevIdentity struct {
	// Username is the caller's user name (required).
	Username string
	// Sub is the "sub" claim; empty means the UUID DevClaims derives from
	// Username, so the console's dev identities and dsgen token agree on
	// who owns what. Owner rules store "<sub>::<username>" on create.
	Sub string
	// Groups go in GroupsClaim.
	Groups []string
	// Issued is the token's "iat"; it is valid until Issued+TTL ("exp").
	Issued time.Time
	TTL    time.Duration
	// Issuer and Audience, when set, become "iss" and "aud", as a server
	// started with --jwt-issuer and --jwt-audience requires.
	Issuer, Audience string
	// UsernameClaim names a claim that also holds Username ("username"
	// and "cognito:username" always do). GroupsClaim names the groups
	// claim; empty means "cognito:groups".
	UsernameClaim, GroupsClaim string
}

// MintHS256 signs id with secret as an HS256 JWT that an Authenticator
// configured with the same secret (and issuer, audience and claim names)
// accepts: DevClaims, with id.Sub when set. It is for development and
// tests: the secret signs any identity.
func MintHS256(secret []byte, id DevIdentity) (string, error) {
	if len(secret) < 16 {
		return "", fmt.Errorf("auth: HS256 secret is %d bytes; dsgen serve requires at least 16", len(secret))
	}
	cfg := &JWTConfig{Issuer: id.Issuer, Audience: id.Audience, UsernameClaim: id.UsernameClaim, GroupsClaim: id.GroupsClaim}
	claims, err := DevClaims(cfg, id.Username, id.Groups, id.Issued, id.TTL)
	if err != nil {
		return "", err
	}
	if id.Sub != "" {
		claims["sub"] = id.Sub
	}
	return SignHS256(secret, claims)
}
