package auth

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrDevIdentity is returned (wrapped) for a dev identity that cannot be
// signed: an empty or odd user name or group.
var ErrDevIdentity = errors.New("auth: invalid dev identity")

// DevClaims returns the claims of a development token for username in
// groups, shaped as a Cognito ID token and as cfg reads it: the user name
// under cfg.UsernameClaim (and "username", "cognito:username"), the groups
// under cfg.GroupsClaim (default "cognito:groups"), cfg.Issuer as "iss"
// and cfg.Audience as "aud" when set. "sub" is a UUID derived from the user
// name, so the same name always owns the same records. The token expires
// ttl after now.
func DevClaims(cfg *JWTConfig, username string, groups []string, now time.Time, ttl time.Duration) (map[string]any, error) {
	if err := checkDevName("user name", username); err != nil {
		return nil, err
	}
	gs := make([]any, 0, len(groups))
	for _, g := range groups {
		if err := checkDevName("group", g); err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("%w: ttl %v, want > 0", ErrDevIdentity, ttl)
	}
	c := map[string]any{
		"sub":              devSub(username),
		"username":         username,
		"cognito:username": username,
		"cognito:groups":   gs,
		"token_use":        "id",
		"iss":              "dsgen-dev",
		"iat":              now.Unix(),
		"exp":              now.Add(ttl).Unix(),
	}
	if cfg != nil {
		if cfg.UsernameClaim != "" {
			c[cfg.UsernameClaim] = username
		}
		if cfg.GroupsClaim != "" {
			c[cfg.GroupsClaim] = gs
		}
		if cfg.Issuer != "" {
			c["iss"] = cfg.Issuer
		}
		if cfg.Audience != "" {
			c["aud"] = cfg.Audience
		}
	}
	return c, nil
}

// DevToken signs DevClaims with cfg's HS256 secret, which must be set.
func DevToken(cfg *JWTConfig, username string, groups []string, now time.Time, ttl time.Duration) (string, error) {
	if cfg == nil || len(cfg.HS256Secret) == 0 {
		return "", errors.New("auth: dev tokens need an HS256 secret")
	}
	c, err := DevClaims(cfg, username, groups, now, ttl)
	if err != nil {
		return "", err
	}
	return SignHS256(cfg.HS256Secret, c)
}

// devSub is a version-8 UUID (RFC 9562, custom) from the user name's
// SHA-256, stable across runs and servers.
func devSub(username string) string {
	h := sha256.Sum256([]byte("dsgen-dev-user\x00" + username))
	h[6] = h[6]&0x0f | 0x80
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func checkDevName(what, s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("%w: empty %s", ErrDevIdentity, what)
	case len(s) > 128:
		return fmt.Errorf("%w: %s longer than 128 bytes", ErrDevIdentity, what)
	case strings.Contains(s, "::"):
		return fmt.Errorf("%w: %s %q contains \"::\", which separates sub and user name in owner values", ErrDevIdentity, what, s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %s %q contains a control character", ErrDevIdentity, what, s)
		}
	}
	return nil
}
