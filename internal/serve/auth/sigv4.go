package auth

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// AWS_IAM authorization (@auth provider "iam"). AppSync checks a request's
// AWS Signature Version 4 against the caller's AWS credentials, which it
// knows and dsgen serve does not: the operator lists the credentials the
// server accepts (IAMConfig), each with the Cognito identity pool role it
// stands for. A public iam rule applies to the "unauthenticated" role, a
// private iam rule to the "authenticated" one, as Amplify's transformer v2
// maps them (unauthRole to public, authRole to private).

// IAMRole is the identity pool role a credential stands for.
type IAMRole string

// The roles.
const (
	// IAMAuthenticated is a signed-in user's role: private iam rules.
	IAMAuthenticated IAMRole = "authenticated"
	// IAMUnauthenticated is a guest's role: public iam rules.
	IAMUnauthenticated IAMRole = "unauthenticated"
)

// DefaultIAMRegion is the region of credential scopes when IAMConfig.Region
// is empty.
const DefaultIAMRegion = "us-east-1"

// MaxIAMSkew is how far a request's X-Amz-Date may be from the server's
// clock, AWS's window.
const MaxIAMSkew = 5 * time.Minute

// IAMCredential is one AWS credential the server accepts.
type IAMCredential struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	// SessionToken, when set, must equal the request's
	// X-Amz-Security-Token (temporary credentials).
	SessionToken string  `json:"sessionToken,omitempty"`
	Role         IAMRole `json:"role"`
	// Expires is when the credential stops being accepted; zero means
	// never.
	Expires time.Time `json:"expires,omitzero"`
}

// IAMConfig configures AWS_IAM authorization.
type IAMConfig struct {
	Credentials []IAMCredential
	// Region is the one region credential scopes may name; empty means
	// DefaultIAMRegion.
	Region string
}

// IAMCaller is what an accepted IAM caller is known by.
type IAMCaller struct {
	AccessKeyID string
	Role        IAMRole
}

// LoadIAMCredentials reads a JSON file holding a list of IAMCredential
// and checks it (see CheckIAMCredentials); errors name the file and the
// entry.
func LoadIAMCredentials(path string) ([]IAMCredential, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: IAM credentials file: %w", err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("auth: IAM credentials file %s: want a JSON list of {accessKeyId, secretAccessKey, sessionToken, role, expires}: %w", path, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("auth: IAM credentials file %s lists no credential", path)
	}
	creds := make([]IAMCredential, len(raw))
	for i, r := range raw {
		var c struct {
			AccessKeyID     *string `json:"accessKeyId"`
			SecretAccessKey *string `json:"secretAccessKey"`
			SessionToken    *string `json:"sessionToken"`
			Role            *string `json:"role"`
			Expires         *string `json:"expires"`
		}
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("auth: IAM credentials file %s: entry %d: %w", path, i, err)
		}
		if c.AccessKeyID != nil {
			creds[i].AccessKeyID = *c.AccessKeyID
		}
		if c.SecretAccessKey != nil {
			creds[i].SecretAccessKey = *c.SecretAccessKey
		}
		if c.SessionToken != nil {
			creds[i].SessionToken = *c.SessionToken
		}
		if c.Role != nil {
			creds[i].Role = IAMRole(*c.Role)
		}
		if c.Expires != nil {
			t, err := time.Parse(time.RFC3339, *c.Expires)
			if err != nil {
				return nil, fmt.Errorf("auth: IAM credentials file %s: entry %d (%s): expires %q is not an RFC 3339 time", path, i, creds[i].AccessKeyID, *c.Expires)
			}
			creds[i].Expires = t
		}
	}
	if err := CheckIAMCredentials(creds); err != nil {
		return nil, fmt.Errorf("auth: IAM credentials file %s: %w", path, err)
	}
	return creds, nil
}

// CheckIAMCredentials checks a credential list: each entry has an access
// key id (once in the list) made of letters and digits, a secret and a
// known role. Errors name the entry by index and key id, never the
// secret.
func CheckIAMCredentials(creds []IAMCredential) error {
	seen := map[string]int{}
	for i, c := range creds {
		if c.AccessKeyID == "" {
			return fmt.Errorf("entry %d has no accessKeyId", i)
		}
		for _, r := range c.AccessKeyID {
			if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
				return fmt.Errorf("entry %d: accessKeyId %q holds %q: want letters and digits only", i, c.AccessKeyID, r)
			}
		}
		if j, dup := seen[c.AccessKeyID]; dup {
			return fmt.Errorf("entry %d: accessKeyId %s is also entry %d", i, c.AccessKeyID, j)
		}
		seen[c.AccessKeyID] = i
		if c.SecretAccessKey == "" {
			return fmt.Errorf("entry %d (%s) has no secretAccessKey", i, c.AccessKeyID)
		}
		if c.Role != IAMAuthenticated && c.Role != IAMUnauthenticated {
			return fmt.Errorf("entry %d (%s): role %q: want %q or %q", i, c.AccessKeyID, c.Role, IAMAuthenticated, IAMUnauthenticated)
		}
	}
	return nil
}

// iamAuth verifies SigV4 signatures against the configured credentials.
type iamAuth struct {
	region string
	creds  map[string]*iamKey
	now    func() time.Time
}

// iamKey is a credential with its signing key of the last day it signed
// for (deriving one costs four HMACs).
type iamKey struct {
	IAMCredential
	mu   sync.Mutex
	date string
	key  []byte
}

func newIAMAuth(cfg IAMConfig, now func() time.Time) (*iamAuth, error) {
	if err := CheckIAMCredentials(cfg.Credentials); err != nil {
		return nil, fmt.Errorf("auth: IAM credentials: %w", err)
	}
	region := cfg.Region
	if region == "" {
		region = DefaultIAMRegion
	}
	a := &iamAuth{region: region, creds: make(map[string]*iamKey, len(cfg.Credentials)), now: now}
	for _, c := range cfg.Credentials {
		a.creds[c.AccessKeyID] = &iamKey{IAMCredential: c}
	}
	return a, nil
}

// signingKey returns k's signing key for date in region.
func (k *iamKey) signingKey(date, region string) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.date != date {
		k.date, k.key = date, appsync.SigV4SigningKey(k.SecretAccessKey, date, region, appsync.SigV4Service)
	}
	return k.key
}

// SignedRequest is an HTTP request as a SigV4 signature covers it.
type SignedRequest struct {
	Method string
	// Path is the path as sent (percent-encoded).
	Path string
	// RawQuery is the query as sent, without "?".
	RawQuery string
	// Header holds the request's headers by lower-case name, "host"
	// included; a repeated header's values joined by ",".
	Header map[string]string
	Body   []byte
}

// IsSigV4 reports whether headers (lower-case names) carry a SigV4
// Authorization header, which selects AppSync's AWS_IAM mode.
func IsSigV4(headers map[string]string) bool {
	return isSigV4(headers["authorization"])
}

func isSigV4(authorization string) bool {
	return strings.HasPrefix(strings.TrimSpace(authorization), appsync.SigV4Algorithm+" ")
}

// AuthenticateSigned checks the SigV4 signature of r, as AppSync's AWS_IAM
// mode does: the Authorization header names a configured access key, a
// credential scope of today's date (by X-Amz-Date), the configured region
// and service "appsync", and signed headers including host; X-Amz-Date is
// within MaxIAMSkew of now; X-Amz-Security-Token equals the credential's
// session token (and is absent when it has none); and the signature,
// compared in constant time, is the one the credential's secret gives for
// r's method, path, query, signed headers and exact body. Errors are
// UnauthorizedException *appsync.Error values worded as AWS words them;
// no secret appears in them.
func (a *Authenticator) AuthenticateSigned(_ context.Context, r SignedRequest) (*Identity, error) {
	if a.iam == nil {
		return nil, unauthorized("AWS_IAM authorization is not enabled on this server")
	}
	return a.iam.verify(r)
}

// sigV4Header is a parsed SigV4 Authorization header.
type sigV4Header struct {
	keyID, date, region, service string
	signed                       []string
	signature                    string
}

// parseSigV4 reads "AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request,
// SignedHeaders=<h1;h2>, Signature=<hex>".
func parseSigV4(h string) (sigV4Header, error) {
	var out sigV4Header
	rest, ok := strings.CutPrefix(strings.TrimSpace(h), appsync.SigV4Algorithm+" ")
	if !ok {
		return out, unauthorized("Authorization header is not %s", appsync.SigV4Algorithm)
	}
	var cred, signed, sig string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		}
	}
	for _, p := range []struct{ name, v string }{{"Credential", cred}, {"SignedHeaders", signed}, {"Signature", sig}} {
		if p.v == "" {
			return out, unauthorized("Authorization header requires '%s' parameter.", p.name)
		}
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != appsync.SigV4Terminator || parts[0] == "" {
		return out, unauthorized("Credential should be scoped to a valid region, service and terminator: want <accessKeyId>/<YYYYMMDD>/<region>/appsync/aws4_request, got '%s'.", cred)
	}
	out.keyID, out.date, out.region, out.service = parts[0], parts[1], parts[2], parts[3]
	out.signed = strings.Split(signed, ";")
	if !slices.IsSorted(out.signed) {
		return out, unauthorized("SignedHeaders must be lower-case header names in alphabetical order, got '%s'.", signed)
	}
	for _, s := range out.signed {
		if s == "" || s != strings.ToLower(s) {
			return out, unauthorized("SignedHeaders must be lower-case header names in alphabetical order, got '%s'.", signed)
		}
	}
	out.signature = sig
	return out, nil
}

// errSignatureMismatch and errInvalidToken are AWS's words for a wrong
// signature and for an unknown key or session token.
const (
	errSignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	errInvalidToken      = "The security token included in the request is invalid."
)

func (a *iamAuth) verify(r SignedRequest) (*Identity, error) {
	h, err := parseSigV4(r.Header["authorization"])
	if err != nil {
		return nil, err
	}
	if h.service != appsync.SigV4Service {
		return nil, unauthorized("Credential should be scoped to correct service: '%s'. ", appsync.SigV4Service)
	}
	if h.region != a.region {
		return nil, unauthorized("Credential should be scoped to a valid region, not '%s'. ", h.region)
	}
	if !slices.Contains(h.signed, "host") {
		return nil, unauthorized("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	for _, s := range h.signed {
		if _, ok := r.Header[s]; !ok {
			return nil, unauthorized("'%s' is named as a SignedHeader, but it does not exist in the HTTP request.", s)
		}
	}
	amzDate := r.Header["x-amz-date"]
	if amzDate == "" {
		return nil, unauthorized("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if !slices.Contains(h.signed, "x-amz-date") {
		return nil, unauthorized("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
	}
	t, err := time.Parse(appsync.AmzDateFormat, amzDate)
	if err != nil {
		return nil, unauthorized("X-Amz-Date '%s' is not a date in the form YYYYMMDD'T'HHMMSS'Z'.", amzDate)
	}
	if h.date != amzDate[:8] {
		return nil, unauthorized("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", h.date, amzDate[:8], amzDate)
	}
	now := a.now().UTC()
	if t.Before(now.Add(-MaxIAMSkew)) {
		return nil, unauthorized("Signature expired: %s is now earlier than %s (%s - 5 min.)", amzDate, now.Add(-MaxIAMSkew).Format(appsync.AmzDateFormat), now.Format(appsync.AmzDateFormat))
	}
	if t.After(now.Add(MaxIAMSkew)) {
		return nil, unauthorized("Signature not yet current: %s is still later than %s (%s + 5 min.)", amzDate, now.Add(MaxIAMSkew).Format(appsync.AmzDateFormat), now.Format(appsync.AmzDateFormat))
	}
	k := a.creds[h.keyID]
	if k == nil {
		return nil, unauthorized("%s", errInvalidToken)
	}
	tok := r.Header["x-amz-security-token"]
	if subtle.ConstantTimeCompare([]byte(tok), []byte(k.SessionToken)) != 1 {
		return nil, unauthorized("%s", errInvalidToken)
	}
	if !k.Expires.IsZero() && !now.Before(k.Expires) {
		return nil, unauthorized("The security token included in the request is expired")
	}
	cr := appsync.SigV4CanonicalRequest(r.Method, r.Path, r.RawQuery, h.signed,
		func(name string) string { return r.Header[name] }, appsync.SigV4PayloadHash(r.Body))
	sts := appsync.SigV4StringToSign(amzDate, appsync.SigV4Scope(h.date, h.region, h.service), cr)
	want := appsync.SigV4Signature(k.signingKey(h.date, a.region), sts)
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(h.signature))) != 1 {
		return nil, unauthorized("%s", errSignatureMismatch)
	}
	return &Identity{Mode: ModeIAM, IAM: &IAMCaller{AccessKeyID: k.AccessKeyID, Role: k.Role}}, nil
}

// errNeedsSignedRequest is the refusal of a SigV4 header where only the
// credential headers are at hand.
const errNeedsSignedRequest = "an AWS_IAM (SigV4) signature is checked on POST /graphql and on the real-time handshake and start messages only"
