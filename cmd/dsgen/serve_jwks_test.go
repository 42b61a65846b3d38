package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const ownerNotes = `
type Note @model @auth(rules: [{allow: owner}]) { id: ID! content: String owner: String }
`

// gqlAs posts a GraphQL request with headers and returns the HTTP status
// and the decoded body.
func gqlAs(t *testing.T, url string, headers map[string]string, query string, vars map[string]any) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("content-type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: hangGuard}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("response is not JSON: %v", err)
	}
	return resp.StatusCode, out
}

// TestServeJWKSURL runs dsgen serve against an issuer publishing its JWKS
// over HTTPS on loopback (the process trusts the issuer's certificate via
// SSL_CERT_FILE): an RS256 token of a published key creates an owned
// record, a token without exp is refused, and the server does not start
// when the JWKS cannot be fetched or the URL is plain http elsewhere.
func TestServeJWKSURL(t *testing.T) {
	bin := dsgenBinary(t)
	dir := newProject(t, ownerNotes)
	schema := filepath.Join(dir, "schema.graphql")

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	doc, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
	}}})
	var fetches atomic.Int64
	issuer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	defer issuer.Close()
	certFile := filepath.Join(t.TempDir(), "issuer.pem")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issuer.Certificate().Raw}), 0o600))
	t.Setenv("SSL_CERT_FILE", certFile)

	jwksURL := issuer.URL + "/us-east-1_Test/.well-known/jwks.json"
	p := startServe(t, bin, "--schema", schema, "--in-memory", "--addr", "127.0.0.1:0", "--jwks-url", jwksURL, "--jwt-issuer", "https://idp.test")
	url := "http://" + p.addr + "/graphql"
	tokenOf := func(claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(key)
		must(t, err)
		return s
	}
	now := time.Now()
	good := tokenOf(jwt.MapClaims{"sub": "s-1", "cognito:username": "carol", "iss": "https://idp.test", "exp": now.Add(time.Hour).Unix()})
	status, out := gqlAs(t, url, map[string]string{"authorization": good},
		`mutation { createNote(input: {id: "n1", content: "hi"}) { id owner } }`, nil)
	if status != http.StatusOK || out["errors"] != nil {
		t.Fatalf("createNote with an RS256 token: %d %v\n%s", status, out, p.log())
	}
	if owner := out["data"].(map[string]any)["createNote"].(map[string]any)["owner"]; owner != "s-1::carol" {
		t.Errorf("owner = %v, want the token's identity s-1::carol", owner)
	}

	noExp := tokenOf(jwt.MapClaims{"sub": "s-1", "cognito:username": "carol", "iss": "https://idp.test"})
	status, out = gqlAs(t, url, map[string]string{"authorization": noExp}, `{ listNotes { items { id } } }`, nil)
	if status != http.StatusUnauthorized || !strings.Contains(toJSON(out), "no expiry") {
		t.Errorf("token without exp: %d %v", status, out)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("JWKS fetches = %d, want 1 (at start only)", n)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d\n%s", code, p.log())
	}

	// Nothing listens on this loopback port: the server refuses to start.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	down := "http://" + ln.Addr().String() + "/jwks.json"
	ln.Close()
	for _, tc := range []struct{ url, want string }{
		{down, down},
		{"http://issuer.example.com/jwks.json", "must use https"},
	} {
		r := runIn(t, bin, dir, "serve", "--schema", schema, "--in-memory", "--addr", "127.0.0.1:0", "--jwks-url", tc.url)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("--jwks-url %s: exit %d, stderr %q; want 1 and %q", tc.url, r.code, r.stderr, tc.want)
		}
	}
	if r := runIn(t, bin, dir, "serve", "--schema", schema, "--jwks", "x.json", "--jwks-url", jwksURL); r.code != 2 {
		t.Errorf("--jwks with --jwks-url: exit %d, want 2", r.code)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
