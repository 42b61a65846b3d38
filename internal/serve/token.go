package serve

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// pageToken is what a nextToken carries. It is signed, so a client can
// neither forge a cursor nor move a sync's startedAt.
type pageToken struct {
	// Field is the root or relation field the token was issued for.
	Field string `json:"f"`
	// Kind is "base", "delta", "list" or "offset".
	Kind      string `json:"k"`
	StartedAt int64  `json:"s,omitempty"`
	Since     int64  `json:"l,omitempty"`
	Cursor    []byte `json:"c,omitempty"`
	Offset    int    `json:"o,omitempty"`
	// Scope binds the token to the arguments that shape the result
	// (filter, parent key): a hash, so reuse with other arguments fails.
	Scope string `json:"h,omitempty"`
}

func (s *Server) signToken(t pageToken) string {
	payload, _ := json.Marshal(t)
	mac := hmac.New(sha256.New, s.secret)
	mac.Write(payload)
	return base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// openToken verifies a nextToken issued for field.
func (s *Server) openToken(raw, field, scope string) (pageToken, error) {
	var t pageToken
	bad := appsync.Errorf(appsync.BadRequest, "invalid nextToken: it was not issued by this server for %s with these arguments", field)
	p, sig, ok := strings.Cut(raw, ".")
	if !ok {
		return t, bad
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return t, bad
	}
	mac := hmac.New(sha256.New, s.secret)
	mac.Write(payload)
	if !hmac.Equal(got, mac.Sum(nil)[:16]) {
		return t, bad
	}
	if err := json.Unmarshal(payload, &t); err != nil || t.Field != field || t.Scope != scope {
		return t, bad
	}
	return t, nil
}

// scopeOf hashes the values a token must be reused with.
func scopeOf(vals ...any) string {
	b, _ := json.Marshal(vals)
	h := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(h[:12])
}
