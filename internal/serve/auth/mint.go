package auth

import (
	"errors"
	"fmt"
	"time"
)

// DevToken describes a development JWT for MintHS256: who the caller is
// and which of the server's JWT settings the token must satisfy.
type DevToken struct {
	// Username is the caller's user name (required).
	Username string
	// Sub is the "sub" claim; empty means Username. Owner rules store
	// "<sub>::<username>" on create.
	Sub string
	// Groups go in GroupsClaim.
	Groups []string
	// Issued is the token's "iat"; it is valid until Issued+TTL ("exp").
	Issued time.Time
	TTL    time.Duration
	// Issuer and Audience, when set, become "iss" and "aud", as a server
	// started with --jwt-issuer and --jwt-audience requires.
	Issuer, Audience string
	// UsernameClaim names the claim holding Username; empty means
	// "username" and "cognito:username" (both, as Cognito ID tokens carry
	// the latter). GroupsClaim names the groups claim; empty means
	// "cognito:groups".
	UsernameClaim, GroupsClaim string
}

// MintHS256 signs t with secret as an HS256 JWT that an Authenticator
// configured with the same secret (and issuer, audience and claim names)
// accepts. It is for development and tests: the secret signs any identity.
func MintHS256(secret []byte, t DevToken) (string, error) {
	if len(secret) < 16 {
		return "", fmt.Errorf("auth: HS256 secret is %d bytes; dsgen serve requires at least 16", len(secret))
	}
	if t.Username == "" {
		return "", errors.New("auth: a dev token needs a user name")
	}
	if t.TTL <= 0 {
		return "", fmt.Errorf("auth: a dev token's lifetime must be positive, not %s", t.TTL)
	}
	sub := t.Sub
	if sub == "" {
		sub = t.Username
	}
	claims := map[string]any{
		"sub":       sub,
		"iat":       t.Issued.Unix(),
		"exp":       t.Issued.Add(t.TTL).Unix(),
		"token_use": "id",
	}
	if t.UsernameClaim == "" {
		claims["username"] = t.Username
		claims["cognito:username"] = t.Username
	} else {
		claims[t.UsernameClaim] = t.Username
	}
	groups := t.GroupsClaim
	if groups == "" {
		groups = "cognito:groups"
	}
	if len(t.Groups) > 0 {
		claims[groups] = t.Groups
	}
	if t.Issuer != "" {
		claims["iss"] = t.Issuer
	}
	if t.Audience != "" {
		claims["aud"] = t.Audience
	}
	return SignHS256(secret, claims)
}
