// Package client is the sync engine's GraphQL-over-HTTP client for AppSync
// and `dsgen serve`: auth providers, one request at a time with errors
// classified for the engine to branch on, the model documents the Amplify
// JS DataStore client sends, and typed sync and mutation calls.
//
// The client never retries on its own (except to refresh a refused token
// once): the engine owns retries and paces them with Backoff.
//
// Errors, by what the engine does next:
//
//   - *RetryableError (network failures, HTTP 5xx and 429, throttling
//     errorTypes): try again later, honouring RetryAfter.
//   - ErrUnauthorized (HTTP 401/403 after one refresh): wait for new
//     credentials.
//   - *GraphQLError: the server refused the operation; IsConflict,
//     IsConditionFailed and IsUnauthorized pick out the errorTypes DataStore
//     branches on.
//   - *ResponseError: the response was not a usable GraphQL response.
//   - the context's error, when ctx ends first.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// DefaultMaxResponseBytes is the default limit of a response body: room
// for a sync page of 1,000 large items.
const DefaultMaxResponseBytes = 64 << 20

// DefaultUserAgent is sent as User-Agent and x-amz-user-agent unless
// WithUserAgent says otherwise.
const DefaultUserAgent = "dsgen datastore"

// Client sends GraphQL requests to one endpoint. It is safe for concurrent
// use.
type Client struct {
	endpoint  string
	host      string
	auth      Auth
	http      *http.Client
	userAgent string
	maxBytes  int64
	log       *slog.Logger
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: a client with a 60 s
// timeout over http.DefaultTransport).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithUserAgent sets the User-Agent and x-amz-user-agent headers.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithMaxResponseBytes limits the size of a response body; a larger one
// fails with a *ResponseError wrapping ErrResponseTooLarge.
func WithMaxResponseBytes(n int64) Option { return func(c *Client) { c.maxBytes = n } }

// WithLogger sets the logger of request summaries, at debug level
// (default: none).
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// New returns a client of the GraphQL endpoint, an absolute http or https
// URL such as https://xxx.appsync-api.us-east-1.amazonaws.com/graphql.
func New(endpoint string, auth Auth, opts ...Option) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("appsync client: endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("appsync client: endpoint %q: scheme must be http or https", endpoint)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("appsync client: endpoint %q: no host", endpoint)
	}
	if u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("appsync client: endpoint %q: user info and fragments are not allowed", endpoint)
	}
	if auth == nil {
		return nil, errors.New("appsync client: no auth provider (use APIKey, Token or Hook)")
	}
	c := &Client{
		endpoint:  endpoint,
		host:      u.Host,
		auth:      auth,
		userAgent: DefaultUserAgent,
		maxBytes:  DefaultMaxResponseBytes,
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 60 * time.Second}
	}
	if c.maxBytes <= 0 {
		return nil, fmt.Errorf("appsync client: max response bytes must be positive, got %d", c.maxBytes)
	}
	return c, nil
}

// Endpoint returns the GraphQL endpoint.
func (c *Client) Endpoint() string { return c.endpoint }

// RealtimeURL returns the WebSocket endpoint derived from the GraphQL one,
// as AppSync clients derive it.
func (c *Client) RealtimeURL() string { return appsync.RealtimeURL(c.endpoint) }

// RealtimeHeaders returns the authorization headers of a real-time
// connection to this endpoint.
func (c *Client) RealtimeHeaders(ctx context.Context) (map[string]string, error) {
	return c.auth.Headers(ctx, c.host)
}

// envelope is a GraphQL response with the data object split by root field.
type envelope struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []*appsync.Error           `json:"errors"`
}

// Do sends req and returns the value of root field field (JSON null when
// the field is null). When the response carries errors Do returns a
// *GraphQLError holding them and any partial value; see the package
// documentation for the other errors.
func (c *Client) Do(ctx context.Context, req appsync.Request, field string) (json.RawMessage, error) {
	body, status, err := c.post(ctx, req)
	if err != nil {
		return nil, err
	}
	var env envelope
	if err := decode(body, &env); err != nil {
		return nil, &ResponseError{StatusCode: status, Reason: "body is not a GraphQL JSON response", Err: err}
	}
	return fieldOf(status, env.Data, env.Errors, field)
}

// fieldOf picks field out of a response's data, or turns its errors into
// the error the engine branches on.
func fieldOf(status int, data map[string]json.RawMessage, errs []*appsync.Error, field string) (json.RawMessage, error) {
	v, ok := data[field]
	if err := classify(status, errs); err != nil {
		if g, isGQL := err.(*GraphQLError); isGQL && ok && string(v) != "null" {
			g.Data = v
		}
		return nil, err
	}
	if status/100 != 2 {
		return nil, &ResponseError{StatusCode: status, Reason: "unexpected HTTP status without GraphQL errors"}
	}
	if !ok {
		return nil, &ResponseError{StatusCode: status, Reason: fmt.Sprintf("response has no data.%s", field)}
	}
	return v, nil
}

// classify turns a response's errors into a *RetryableError (throttling)
// or a *GraphQLError, or nil when there are none.
func classify(status int, errs []*appsync.Error) error {
	if len(errs) == 0 {
		return nil
	}
	for _, e := range errs {
		if e == nil {
			return &ResponseError{StatusCode: status, Reason: "errors array holds null"}
		}
	}
	for _, e := range errs {
		if IsThrottling(e.ErrorType) {
			return &RetryableError{StatusCode: status, Errors: errs}
		}
	}
	return &GraphQLError{StatusCode: status, Errors: errs}
}

// decode unmarshals a JSON body keeping numbers as json.Number, so
// integers beyond 2^53 and the exact digits of floats survive.
func decode(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// post sends req and returns a body worth decoding with its HTTP status.
// It handles everything that does not depend on the body's shape:
// network errors, the size limit, refused credentials (refreshed once),
// 5xx and 429.
func (c *Client) post(ctx context.Context, req appsync.Request) ([]byte, int, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, 0, fmt.Errorf("appsync client: encode request: %w", err)
	}
	for attempt := 0; ; attempt++ {
		start := time.Now()
		body, resp, err := c.roundTrip(ctx, payload)
		if err != nil {
			return nil, 0, err
		}
		status := resp.StatusCode
		if c.log != nil {
			c.log.DebugContext(ctx, "graphql request", "status", status, "bytes", len(body), "took", time.Since(start))
		}
		switch {
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			if attempt == 0 && c.auth.Refresh(resp.Request) {
				continue
			}
			msg := http.StatusText(status)
			var env envelope
			if decode(body, &env) == nil && len(env.Errors) > 0 && env.Errors[0] != nil {
				msg = env.Errors[0].Error()
			}
			return nil, status, fmt.Errorf("%w: HTTP %d: %s", ErrUnauthorized, status, msg)
		case status == http.StatusTooManyRequests || status >= 500:
			r := &RetryableError{StatusCode: status, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
			var env envelope
			if decode(body, &env) == nil {
				r.Errors = env.Errors
			}
			return nil, status, r
		}
		return body, status, nil
	}
}

// roundTrip sends one POST and reads the whole body within the limit.
func (c *Client) roundTrip(ctx context.Context, payload []byte) ([]byte, *http.Response, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(payload))
	if err != nil {
		return nil, nil, fmt.Errorf("appsync client: build request: %w", err)
	}
	r.Header.Set("Content-Type", "application/json; charset=UTF-8")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("User-Agent", c.userAgent)
	r.Header.Set("x-amz-user-agent", c.userAgent)
	if err := c.auth.Authorize(ctx, r); err != nil {
		return nil, nil, err
	}
	resp, err := c.http.Do(r)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("appsync client: %w", context.Cause(ctx))
		}
		return nil, nil, &RetryableError{Err: err}
	}
	defer resp.Body.Close()
	body, err := appsync.ReadBody(io.LimitReader(resp.Body, c.maxBytes+1), resp.ContentLength, c.maxBytes)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("appsync client: %w", context.Cause(ctx))
		}
		return nil, nil, &RetryableError{StatusCode: resp.StatusCode, Err: fmt.Errorf("reading the response: %w", err)}
	}
	if int64(len(body)) > c.maxBytes {
		return nil, nil, &ResponseError{StatusCode: resp.StatusCode,
			Reason: fmt.Sprintf("body is larger than %d bytes", c.maxBytes), Err: ErrResponseTooLarge}
	}
	return body, resp, nil
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
