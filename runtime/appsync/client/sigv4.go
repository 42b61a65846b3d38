package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// Credentials are AWS credentials a request is signed with.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken is the token of temporary credentials (sent as
	// X-Amz-Security-Token); empty for an IAM user's long-term keys.
	SessionToken string
	// Expires, when set, is when the credentials stop being valid: they
	// are fetched anew a minute before.
	Expires time.Time
}

// credentialsMargin is how long before Credentials.Expires they are
// fetched anew, so a request does not leave with credentials that expire
// on the way.
const credentialsMargin = time.Minute

// IAM authenticates with AWS Signature Version 4, AppSync's AWS_IAM mode,
// signing for region (e.g. "us-east-1") and service "appsync". fetch
// supplies the credentials: it is called for the first request, again
// when they near their Expires, and after the server refuses them; they
// are cached in between.
//
// HTTP requests sign their method, path, query, body and the headers
// content-type, host, x-amz-date and x-amz-security-token. Real-time
// headers are those of the request amplify-js signs: for the connection
// a POST of "{}" to https://<host>/graphql/connect, for a start message
// (when ctx carries its data, appsync.StartData) a POST of the data
// string to https://<host>/graphql, with the headers accept,
// content-encoding and content-type amplify-js sets.
func IAM(region string, fetch func(ctx context.Context) (Credentials, error)) Auth {
	return &iam{region: region, fetch: fetch, now: time.Now}
}

type iam struct {
	region string
	fetch  func(ctx context.Context) (Credentials, error)
	now    func() time.Time

	mu    sync.Mutex
	creds *Credentials
}

// current returns the cached credentials, fetching them when there are
// none or they near their expiry.
func (a *iam) current(ctx context.Context) (Credentials, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.creds; c != nil && (c.Expires.IsZero() || a.now().Before(c.Expires.Add(-credentialsMargin))) {
		return *c, nil
	}
	if a.region == "" {
		return Credentials{}, fmt.Errorf("%w: IAM: no signing region", ErrUnauthorized)
	}
	c, err := a.fetch(ctx)
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: IAM credentials function: %w", ErrUnauthorized, err)
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return Credentials{}, fmt.Errorf("%w: IAM credentials function returned no access key id or no secret", ErrUnauthorized)
	}
	a.creds = &c
	return c, nil
}

func (a *iam) Authorize(ctx context.Context, r *http.Request) error {
	c, err := a.current(ctx)
	if err != nil {
		return err
	}
	var body []byte
	if r.GetBody != nil {
		rc, err := r.GetBody()
		if err != nil {
			return fmt.Errorf("appsync client: IAM: reading the body to sign: %w", err)
		}
		body, err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("appsync client: IAM: reading the body to sign: %w", err)
		}
	} else if r.Body != nil && r.Body != http.NoBody {
		return errors.New("appsync client: IAM: the request's body cannot be read twice (no GetBody) to sign it")
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	date := a.now().UTC().Format(appsync.AmzDateFormat)
	r.Header.Set("X-Amz-Date", date)
	if c.SessionToken != "" {
		r.Header.Set("X-Amz-Security-Token", c.SessionToken)
	} else {
		r.Header.Del("X-Amz-Security-Token")
	}
	vals := map[string]string{"host": host}
	var signed []string
	// The headers the signature covers (those present), sorted.
	for _, h := range [...]string{"content-type", "host", "x-amz-date", "x-amz-security-token"} {
		if h != "host" {
			v, ok := r.Header[http.CanonicalHeaderKey(h)]
			if !ok {
				continue
			}
			vals[h] = strings.Join(v, ",")
		}
		signed = append(signed, h)
	}
	r.Header.Set("Authorization", a.authorization(c, date, r.Method, r.URL.EscapedPath(), r.URL.RawQuery, signed, vals, body))
	return nil
}

// authorization returns the Authorization header value of a request.
// signed must be sorted.
func (a *iam) authorization(c Credentials, date, method, path, query string, signed []string, vals map[string]string, body []byte) string {
	day := date[:8]
	scope := appsync.SigV4Scope(day, a.region, appsync.SigV4Service)
	cr := appsync.SigV4CanonicalRequest(method, path, query, signed, func(h string) string { return vals[h] }, appsync.SigV4PayloadHash(body))
	sig := appsync.SigV4Signature(appsync.SigV4SigningKey(c.SecretAccessKey, day, a.region, appsync.SigV4Service),
		appsync.SigV4StringToSign(date, scope, cr))
	return appsync.SigV4Algorithm + " Credential=" + c.AccessKeyID + "/" + scope +
		", SignedHeaders=" + strings.Join(signed, ";") + ", Signature=" + sig
}

// Refresh drops the cached credentials if r was signed with them (another
// request may have refreshed them already) and reports true.
func (a *iam) Refresh(r *http.Request) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.creds != nil && strings.Contains(r.Header.Get("Authorization"), "Credential="+a.creds.AccessKeyID+"/") {
		a.creds = nil
	}
	return true
}

// Headers signs the real-time request: the connection's, or the start
// message's whose data ctx carries.
func (a *iam) Headers(ctx context.Context, host string) (map[string]string, error) {
	if host == "" {
		return nil, errors.New("appsync client: IAM: empty host")
	}
	c, err := a.current(ctx)
	if err != nil {
		return nil, err
	}
	path, body := appsync.ConnectPath, "{}"
	if data, ok := appsync.StartData(ctx); ok {
		path, body = appsync.GraphQLPath, data
	}
	date := a.now().UTC().Format(appsync.AmzDateFormat)
	vals := map[string]string{
		"accept":           "application/json, text/javascript",
		"content-encoding": "amz-1.0",
		"content-type":     "application/json; charset=UTF-8",
		"host":             host,
		"x-amz-date":       date,
	}
	if c.SessionToken != "" {
		vals["x-amz-security-token"] = c.SessionToken
	}
	signed := make([]string, 0, len(vals))
	for h := range vals {
		signed = append(signed, h)
	}
	sort.Strings(signed)
	out := make(map[string]string, len(vals)+1)
	for h, v := range vals {
		out[h] = v
	}
	// amplify-js spells these two as AWS documents them.
	if tok, ok := out["x-amz-security-token"]; ok {
		delete(out, "x-amz-security-token")
		out["X-Amz-Security-Token"] = tok
	}
	out["Authorization"] = a.authorization(c, date, http.MethodPost, path, "", signed, vals, []byte(body))
	return out, nil
}
