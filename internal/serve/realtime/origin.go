package realtime

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// OriginAllowed reports whether a browser page of origin (an Origin header
// value) may reach a server it addressed as host (the request's Host), by
// the rules of Options.OriginPatterns, which are coder/websocket's: no
// patterns, or no Origin (not a browser), allows it; so does an origin
// whose host is host (the same site); else a pattern must match, as
// path.Match, case-insensitively, the origin's host[:port]
// ("localhost:3000", "*.example.com") or, for a pattern holding "://",
// its scheme://host[:port] ("https://app.example.com"). "*" matches any
// origin. /graphql's CORS and the WebSocket upgrade both decide by it.
func OriginAllowed(patterns []string, origin, host string) bool {
	if len(patterns) == 0 || origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if u.Host != "" && strings.EqualFold(host, u.Host) {
		return true
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}

// CheckOriginPattern reports whether p is a well-formed origin pattern
// (path.Match syntax, not empty), in an error naming it.
func CheckOriginPattern(p string) error {
	if p == "" {
		return fmt.Errorf("realtime: empty origin pattern")
	}
	if _, err := path.Match(strings.ToLower(p), ""); err != nil {
		return fmt.Errorf("realtime: origin pattern %q: %w", p, err)
	}
	return nil
}

// validOriginPatterns reports the first malformed pattern.
func validOriginPatterns(patterns []string) error {
	for _, p := range patterns {
		if err := CheckOriginPattern(p); err != nil {
			return err
		}
	}
	return nil
}
