package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkAuthenticate measures verifying one bearer token (signature,
// claims, identity) per algorithm.
func BenchmarkAuthenticate(b *testing.B) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	doc, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "kid": "k1", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(priv.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(priv.E)).Bytes()),
	}}})
	path := filepath.Join(b.TempDir(), "jwks.json")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		b.Fatal(err)
	}
	a, err := New(Config{JWT: &JWTConfig{JWKSFile: path, HS256Secret: secret}, Now: (&clock{t0}).now})
	if err != nil {
		b.Fatal(err)
	}
	claims := map[string]any{"sub": "u-1", "username": "bob", "exp": float64(t0.Add(time.Hour).Unix()), "cognito:groups": []any{"Admin"}}
	hs, err := SignHS256(secret, claims)
	if err != nil {
		b.Fatal(err)
	}
	hb, _ := json.Marshal(map[string]any{"alg": "RS256", "typ": "JWT", "kid": "k1"})
	cb, _ := json.Marshal(claims)
	signed := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	rs := signed + "." + base64.RawURLEncoding.EncodeToString(sig)
	for _, tc := range []struct{ name, tok string }{{"HS256", hs}, {"RS256", rs}} {
		h := map[string]string{"authorization": "Bearer " + tc.tok}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
