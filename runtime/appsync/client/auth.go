package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Auth supplies the credentials of every request. The client calls it per
// request, possibly from several goroutines at once.
type Auth interface {
	// Authorize adds credentials to an outgoing GraphQL request.
	Authorize(ctx context.Context, r *http.Request) error
	// Refresh is called once when the server refused r's credentials (HTTP
	// 401 or 403). It drops them and reports whether the request is worth
	// sending again with fresh ones.
	Refresh(r *http.Request) bool
	// Headers returns the authorization headers of a real-time connection
	// (and of each start message) for the GraphQL endpoint's host, as
	// AppSync expects them in the "header-" sub-protocol.
	Headers(ctx context.Context, host string) (map[string]string, error)
}

// APIKey authenticates with an AppSync API key, sent in x-api-key.
func APIKey(key string) Auth { return apiKey(key) }

type apiKey string

func (k apiKey) Authorize(_ context.Context, r *http.Request) error {
	r.Header.Set("x-api-key", string(k))
	return nil
}

// Refresh reports false: a refused API key stays refused.
func (k apiKey) Refresh(*http.Request) bool { return false }

func (k apiKey) Headers(_ context.Context, host string) (map[string]string, error) {
	// amplify-js sends x-amz-date too; AppSync ignores it for API keys.
	return map[string]string{"host": host, "x-amz-date": amzDate(time.Now()), "x-api-key": string(k)}, nil
}

// amzDate formats t as AWS's basic ISO 8601 time stamp.
func amzDate(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// Token authenticates with a bearer token (a Cognito or OIDC JWT, or a
// Lambda authorizer token) sent as is in the Authorization header, as
// AppSync expects. fetch is called for the first request and again after
// the server refuses the token; the token is cached in between.
func Token(fetch func(ctx context.Context) (string, error)) Auth {
	return &token{fetch: fetch}
}

type token struct {
	fetch func(ctx context.Context) (string, error)

	mu  sync.Mutex
	tok string
}

// current returns the cached token, fetching one when there is none.
func (t *token) current(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" {
		return t.tok, nil
	}
	tok, err := t.fetch(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: token function: %w", ErrUnauthorized, err)
	}
	if tok == "" {
		return "", fmt.Errorf("%w: token function returned an empty token", ErrUnauthorized)
	}
	t.tok = tok
	return tok, nil
}

func (t *token) Authorize(ctx context.Context, r *http.Request) error {
	tok, err := t.current(ctx)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", tok)
	return nil
}

// Refresh drops the cached token if r carried it (another request may
// have refreshed it already) and reports true.
func (t *token) Refresh(r *http.Request) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == r.Header.Get("Authorization") {
		t.tok = ""
	}
	return true
}

func (t *token) Headers(ctx context.Context, host string) (map[string]string, error) {
	tok, err := t.current(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]string{"Authorization": tok, "host": host}, nil
}

// Hook authenticates by letting fn edit each request, for schemes such as
// IAM (SigV4) signing. The request's body can be read through GetBody.
//
// For the real-time headers fn gets the request AppSync has clients sign
// for a connection: POST https://<host>/graphql/connect with body "{}" and
// the headers amplify-js sets; the headers fn leaves on it are returned,
// with "host".
func Hook(fn func(ctx context.Context, r *http.Request) error) Auth { return hook(fn) }

type hook func(ctx context.Context, r *http.Request) error

func (h hook) Authorize(ctx context.Context, r *http.Request) error {
	if err := h(ctx, r); err != nil {
		return fmt.Errorf("appsync client: auth hook: %w", err)
	}
	return nil
}

// Refresh reports false: the hook is called afresh for every request, so
// a second attempt would send the same credentials.
func (h hook) Refresh(*http.Request) bool { return false }

func (h hook) Headers(ctx context.Context, host string) (map[string]string, error) {
	if host == "" {
		return nil, errors.New("appsync client: auth hook: empty host")
	}
	body := []byte("{}")
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+host+"/graphql/connect", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("appsync client: auth hook: connect request for host %q: %w", host, err)
	}
	r.Header.Set("accept", "application/json, text/javascript")
	r.Header.Set("content-encoding", "amz-1.0")
	r.Header.Set("content-type", "application/json; charset=UTF-8")
	if err := h(ctx, r); err != nil {
		return nil, fmt.Errorf("appsync client: auth hook: %w", err)
	}
	out := map[string]string{"host": host}
	for k, v := range r.Header {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out, nil
}
