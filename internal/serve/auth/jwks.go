package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the JWKS URL source.
const (
	// DefaultJWKSRefresh is how often a JWKS URL is refetched when
	// JWTConfig.JWKSRefresh is zero.
	DefaultJWKSRefresh = time.Hour
	// DefaultJWKSMissInterval is the least time between two refetches
	// caused by tokens naming an unknown key id, when
	// JWTConfig.JWKSMissInterval is zero.
	DefaultJWKSMissInterval = 30 * time.Second
	// jwksFetchTimeout bounds one fetch when the HTTP client sets no timeout.
	jwksFetchTimeout = 10 * time.Second
	// maxJWKSBytes bounds a fetched JWKS document; real ones are a few KB.
	maxJWKSBytes = 1 << 20
)

// jwk is one public verification key of a JWKS.
type jwk struct {
	kid string
	alg string // the one algorithm it verifies: "RS256" or "ES256"
	key any    // *rsa.PublicKey or *ecdsa.PublicKey
}

// keySet is an immutable set of verification keys; a refresh replaces the
// whole set.
type keySet struct {
	keys []jwk
	algs []string // distinct algorithms of keys, in a fixed order
}

func newKeySet(keys []jwk) *keySet {
	s := &keySet{keys: keys}
	for _, alg := range []string{"RS256", "ES256"} {
		for _, k := range keys {
			if k.alg == alg {
				s.algs = append(s.algs, alg)
				break
			}
		}
	}
	return s
}

// byKid returns the key with kid for alg; when only a key of another
// algorithm carries kid, it returns that one (the caller refuses it).
func (s *keySet) byKid(kid, alg string) (jwk, bool) {
	var other *jwk
	for i, k := range s.keys {
		if k.kid != kid {
			continue
		}
		if k.alg == alg {
			return k, true
		}
		if other == nil {
			other = &s.keys[i]
		}
	}
	if other != nil {
		return *other, true
	}
	return jwk{}, false
}

// byAlg returns the keys of alg, for tokens without a kid.
func (s *keySet) byAlg(alg string) []any {
	var out []any
	for _, k := range s.keys {
		if k.alg == alg {
			out = append(out, k.key)
		}
	}
	return out
}

// jwksDoc is the JSON shape of a JWKS.
type jwksDoc struct {
	Keys []struct {
		Kty string `json:"kty"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		N   string `json:"n"`
		E   string `json:"e"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Y   string `json:"y"`
	} `json:"keys"`
}

// parseJWKS reads the signing keys of a JWKS: RSA keys (RS256, at least
// 2048 bits) and EC P-256 keys (ES256). Keys of other types, curves,
// algorithms or uses are skipped. A malformed key of a supported type is
// reported in bad and left out; err is for a document that is not a JWKS.
// Symmetric ("oct") keys are never taken from a JWKS, so an HS256 token can
// only be checked against the configured secret.
func parseJWKS(b []byte) (keys []jwk, bad []error, err error) {
	var doc jwksDoc
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("not valid JSON of the form {\"keys\":[...]}: %w", err)
	}
	for i, k := range doc.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		var (
			alg string
			pub any
			err error
		)
		switch {
		case k.Kty == "RSA" && (k.Alg == "" || k.Alg == "RS256"):
			alg = "RS256"
			pub, err = rsaKey(k.N, k.E)
		case k.Kty == "EC" && k.Crv == "P-256" && (k.Alg == "" || k.Alg == "ES256"):
			alg = "ES256"
			pub, err = ecKey(k.X, k.Y)
		default:
			continue
		}
		if err != nil {
			bad = append(bad, fmt.Errorf("key %d (kid %q): %w", i, k.Kid, err))
			continue
		}
		keys = append(keys, jwk{kid: k.Kid, alg: alg, key: pub})
	}
	return keys, bad, nil
}

// loadJWKSFile reads a JWKS file. Unlike a fetched JWKS, any malformed key
// is an error: the operator wrote the file and can fix it.
func loadJWKSFile(path string) (*keySet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read JWKS: %w", err)
	}
	keys, bad, err := parseJWKS(b)
	if err == nil && len(bad) > 0 {
		err = bad[0]
	}
	if err == nil && len(keys) == 0 {
		err = errNoKeys
	}
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS %s: %w", path, err)
	}
	return newKeySet(keys), nil
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

// ecKey builds a P-256 public key from its base64url coordinates, checking
// that the point is on the curve.
func ecKey(x64, y64 string) (*ecdsa.PublicKey, error) {
	x, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(x64, "="))
	if err != nil {
		return nil, fmt.Errorf("coordinate \"x\" is not base64url: %w", err)
	}
	y, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(y64, "="))
	if err != nil {
		return nil, fmt.Errorf("coordinate \"y\" is not base64url: %w", err)
	}
	if len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf("coordinates are %d and %d bytes; P-256 needs 32 each", len(x), len(y))
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("not a P-256 point: %w", err)
	}
	return pub, nil
}

// checkJWKSURL allows https, and plain http only to a loopback host (tests,
// local development): keys fetched in the clear could be swapped by anyone
// on the path, and with them every identity.
func checkJWKSURL(raw string) (*url.URL, error) {
	return checkLoopbackOrHTTPS("JWKS URL", raw)
}

// checkLoopbackOrHTTPS allows https, and plain http only to a loopback host,
// for a URL whose answers grant access; what names it in errors.
func checkLoopbackOrHTTPS(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("auth: %s %q: %w", what, raw, err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("auth: %s %q has no host", what, raw)
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); h == "localhost" || (ip != nil && ip.IsLoopback()) {
			return u, nil
		}
	}
	return nil, fmt.Errorf("auth: %s %q must use https (plain http is allowed only to a loopback address such as 127.0.0.1)", what, raw)
}

// remoteJWKS is a JWKS fetched from a URL and kept fresh: refetched every
// refresh period by its own goroutine, and when a token names an unknown key
// id, at most once per missEvery. A failed refetch keeps the last good keys.
type remoteJWKS struct {
	url       string
	client    *http.Client
	log       *slog.Logger
	now       func() time.Time
	missEvery time.Duration

	keys atomic.Pointer[keySet]

	// mu serialises fetches, so a burst of unknown key ids makes one fetch
	// and the rest see its result; it guards lastMiss.
	mu       sync.Mutex
	lastMiss time.Time // when an unknown key id last caused a fetch

	// life ends at Close; it bounds every fetch, including those a
	// token's unknown key id starts on a request's behalf.
	life      context.Context
	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// startRemoteJWKS fetches the JWKS at rawURL once, failing when that fetch
// fails (nothing could authenticate otherwise), then starts the periodic
// refresh. Close stops it.
func startRemoteJWKS(rawURL string, client *http.Client, log *slog.Logger, now func() time.Time, every, missEvery time.Duration) (*remoteJWKS, error) {
	u, err := checkJWKSURL(rawURL)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: jwksFetchTimeout}
	}
	// Redirects must keep to the same rule as the URL itself.
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return fmt.Errorf("stopped after %d redirects", len(via))
		}
		_, err := checkJWKSURL(req.URL.String())
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &remoteJWKS{url: u.String(), client: &c, log: log, now: now, missEvery: missEvery, life: ctx, stop: stop, done: make(chan struct{})}
	if err := r.fetch(ctx); err != nil {
		stop()
		return nil, fmt.Errorf("auth: JWKS %s: first fetch failed, and no token can be verified without it: %w", r.url, err)
	}
	go r.run(ctx, every)
	return r, nil
}

// current returns the keys in use.
func (r *remoteJWKS) current() *keySet { return r.keys.Load() }

// run refetches every period until Close.
func (r *remoteJWKS) run(ctx context.Context, every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.mu.Lock()
			r.refetch(ctx, "periodic")
			r.mu.Unlock()
		}
	}
}

// refreshForKid refetches the JWKS because a token names kid, unless kid
// arrived meanwhile or the last such refetch was less than missEvery ago
// (tokens with made-up key ids must not make us hammer the issuer).
func (r *remoteJWKS) refreshForKid(kid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.current().keys {
		if k.kid == kid {
			return
		}
	}
	now := r.now()
	if !r.lastMiss.IsZero() && now.Sub(r.lastMiss) < r.missEvery {
		return
	}
	r.lastMiss = now
	r.refetch(r.life, "unknown key id "+kid)
}

// refetch fetches the JWKS, logging a failure; r.mu is held.
func (r *remoteJWKS) refetch(ctx context.Context, reason string) {
	if err := r.fetch(ctx); err != nil && ctx.Err() == nil {
		r.log.Warn("JWKS refresh failed; keeping the last good keys",
			"url", r.url, "reason", reason, "keys", len(r.current().keys), "err", err)
	}
}

// fetch gets and parses the JWKS and, when it holds a usable key, swaps it
// in. Malformed keys are logged and left out rather than failing the set,
// since the issuer, not the operator, publishes it.
func (r *remoteJWKS) fetch(ctx context.Context) error {
	if r.client.Timeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, jwksFetchTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET answered %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	if len(b) > maxJWKSBytes {
		return fmt.Errorf("document is larger than %d bytes", maxJWKSBytes)
	}
	keys, bad, err := parseJWKS(b)
	if err != nil {
		return err
	}
	for _, e := range bad {
		r.log.Warn("JWKS key skipped", "url", r.url, "err", e)
	}
	if len(keys) == 0 {
		return errNoKeys
	}
	r.keys.Store(newKeySet(keys))
	r.log.Debug("JWKS fetched", "url", r.url, "keys", len(keys))
	return nil
}

// Close stops the refresh goroutine and waits for it; fetches under way are
// cancelled.
func (r *remoteJWKS) Close() {
	r.closeOnce.Do(func() {
		r.stop()
		<-r.done
	})
}
