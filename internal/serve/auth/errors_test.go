package auth

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dsgen/dsgen/internal/testenv/errtest"
)

// TestConfigErrorsCarryThePrefixOnce: the errors New reports for a bad
// configuration (an empty API key, a short secret, a missing, malformed
// or empty JWKS file, a plain-http JWKS URL) read "auth: ..." once.
func TestConfigErrorsCarryThePrefixOnce(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for name, cfg := range map[string]Config{
		"empty API key":       {APIKeys: []APIKey{{Key: ""}}},
		"short secret":        {JWT: &JWTConfig{HS256Secret: []byte("short")}},
		"missing JWKS file":   {JWT: &JWTConfig{JWKSFile: filepath.Join(dir, "none.json")}},
		"JWKS not JSON":       {JWT: &JWTConfig{JWKSFile: file("bad.json", "{")}},
		"JWKS with no keys":   {JWT: &JWTConfig{JWKSFile: file("empty.json", `{"keys":[]}`)}},
		"JWKS with bad key":   {JWT: &JWTConfig{JWKSFile: file("badkey.json", `{"keys":[{"kty":"RSA","kid":"k","n":"!!","e":"AQAB"}]}`)}},
		"plain-http JWKS URL": {JWT: &JWTConfig{JWKSURL: "http://example.com/jwks.json"}},
	} {
		_, err := New(cfg)
		errtest.PrefixOnce(t, name, err, nil, "auth: ")
	}
}
