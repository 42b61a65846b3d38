package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/client"
)

// canned answers every request with one status, headers and body; the
// answers are what is under test here, the client's reading of them.
func canned(t *testing.T, status int, header map[string]string, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	return ts, &hits
}

const okBody = `{"data":{"syncPosts":{"items":[],"nextToken":null,"startedAt":1}}}`

func TestErrorClassification(t *testing.T) {
	httpDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		retryable  bool
		retryAfter time.Duration // lower bound
		check      func(t *testing.T, err error)
	}{
		{name: "500", status: 500, body: "oops", retryable: true},
		{name: "502 HTML", status: 502, body: "<html>bad gateway</html>", retryable: true},
		{name: "503 Retry-After seconds", status: 503, header: map[string]string{"Retry-After": "7"}, retryable: true, retryAfter: 7 * time.Second},
		{name: "429 Retry-After date", status: 429, header: map[string]string{"Retry-After": httpDate},
			body: `{"errors":[{"errorType":"TooManyRequestsException","message":"slow down"}]}`, retryable: true, retryAfter: 80 * time.Second,
			check: func(t *testing.T, err error) {
				r, _ := client.IsRetryable(err)
				if len(r.Errors) != 1 || r.Errors[0].ErrorType != "TooManyRequestsException" || !strings.Contains(err.Error(), "slow down") {
					t.Errorf("429 error %v lost the server's errors", err)
				}
			}},
		{name: "throttling errorType", status: 200,
			body: `{"data":{"syncPosts":null},"errors":[{"errorType":"DynamoDB:ProvisionedThroughputExceededException","message":"throughput"}]}`, retryable: true},
		{name: "malformed JSON", status: 200, body: `{"data":{"syncPosts":{"items":[`, check: func(t *testing.T, err error) {
			var re *client.ResponseError
			if !errors.As(err, &re) || re.StatusCode != 200 || !strings.Contains(err.Error(), "not a sync query response") || !strings.Contains(err.Error(), "unexpected EOF") {
				t.Errorf("malformed body: %v", err)
			}
		}},
		{name: "trailing garbage", status: 200, body: okBody + `{}`, check: func(t *testing.T, err error) {
			if !strings.Contains(err.Error(), "data after the JSON value") {
				t.Errorf("trailing data: %v", err)
			}
		}},
		{name: "404 HTML", status: 404, body: "<html>not found</html>", check: func(t *testing.T, err error) {
			var re *client.ResponseError
			if !errors.As(err, &re) || re.StatusCode != 404 {
				t.Errorf("404: %v", err)
			}
		}},
		{name: "missing field", status: 200, body: `{"data":{"other":{}}}`, check: func(t *testing.T, err error) {
			if !strings.Contains(err.Error(), "no data.syncPosts") {
				t.Errorf("missing root field: %v", err)
			}
		}},
		{name: "missing startedAt", status: 200, body: `{"data":{"syncPosts":{"items":[],"nextToken":null}}}`, check: func(t *testing.T, err error) {
			if !strings.Contains(err.Error(), "startedAt") {
				t.Errorf("missing startedAt: %v", err)
			}
		}},
		{name: "403", status: 403, body: `{"errors":[{"errorType":"UnauthorizedException","message":"You are not authorized"}]}`, check: func(t *testing.T, err error) {
			if !errors.Is(err, client.ErrUnauthorized) || !strings.Contains(err.Error(), "You are not authorized") {
				t.Errorf("403: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, hits := canned(t, tc.status, tc.header, tc.body)
			c, err := client.New(ts.URL+"/graphql", client.APIKey("k"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Sync(ctxT(t), docsFor(t, testenv.BlogSchema(t), "Post"), client.SyncArgs{})
			if err == nil {
				t.Fatal("no error")
			}
			r, ok := client.IsRetryable(err)
			if ok != tc.retryable {
				t.Errorf("retryable = %v, want %v (%v)", ok, tc.retryable, err)
			}
			if ok && r.RetryAfter < tc.retryAfter {
				t.Errorf("RetryAfter %v, want at least %v", r.RetryAfter, tc.retryAfter)
			}
			if ok && tc.status >= 400 && r.StatusCode != tc.status {
				t.Errorf("StatusCode %d, want %d", r.StatusCode, tc.status)
			}
			if tc.check != nil {
				tc.check(t, err)
			}
			if n := hits.Load(); n != 1 {
				t.Errorf("%d requests, want 1: the client must not retry", n)
			}
		})
	}
}

func TestPartialSyncPage(t *testing.T) {
	ts, _ := canned(t, 200, nil, `{"data":{"syncPosts":{"items":[{"id":"a","rating":12345678901234567890},null],"nextToken":"n","startedAt":5}},`+
		`"errors":[{"errorType":"Unauthorized","message":"Not Authorized to access blog","path":["syncPosts","items",1]}]}`)
	c, err := client.New(ts.URL+"/graphql", client.APIKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.Sync(ctxT(t), docsFor(t, testenv.BlogSchema(t), "Post"), client.SyncArgs{})
	if err != nil {
		t.Fatalf("partial page: %v", err)
	}
	if len(page.Items) != 1 || page.NextToken != "n" || page.StartedAt != 5 || len(page.Errors) != 1 {
		t.Fatalf("partial page %+v: want the one item, the token and the error", page)
	}
	if got := page.Items[0]["rating"]; got == nil || got.(interface{ String() string }).String() != "12345678901234567890" {
		t.Errorf("a 20-digit number became %v", got)
	}
}

func TestResponseLimit(t *testing.T) {
	ts, _ := canned(t, 200, nil, `{"data":{"syncPosts":{"items":[`+strings.Repeat(`{"id":"xxxxxxxx"},`, 100)+`{}],"nextToken":null,"startedAt":1}}}`)
	c, err := client.New(ts.URL+"/graphql", client.APIKey("k"), client.WithMaxResponseBytes(1000))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Sync(ctxT(t), docsFor(t, testenv.BlogSchema(t), "Post"), client.SyncArgs{})
	if !errors.Is(err, client.ErrResponseTooLarge) || !strings.Contains(err.Error(), "1000 bytes") {
		t.Errorf("oversize response: %v", err)
	}
	big, err := client.New(ts.URL+"/graphql", client.APIKey("k"), client.WithMaxResponseBytes(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if page, err := big.Sync(ctxT(t), docsFor(t, testenv.BlogSchema(t), "Post"), client.SyncArgs{}); err != nil || len(page.Items) != 101 {
		t.Errorf("same response under a larger limit: %d items, %v", len(page.Items), err)
	}
}

func TestNetworkErrors(t *testing.T) {
	ts, _ := canned(t, 200, nil, okBody)
	url := ts.URL + "/graphql"
	ts.Close()
	c, err := client.New(url, client.APIKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	d := docsFor(t, testenv.BlogSchema(t), "Post")
	_, err = c.Sync(ctxT(t), d, client.SyncArgs{})
	if r, ok := client.IsRetryable(err); !ok || r.StatusCode != 0 || r.Err == nil {
		t.Errorf("connection refused: %v, want a retryable network error", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Sync(ctx, d, client.SyncArgs{})
	if _, ok := client.IsRetryable(err); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v, want context.Canceled, not retryable", err)
	}
}

func TestHookAuth(t *testing.T) {
	var sawSig, sawBody atomic.Value
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawSig.Store(r.Header.Get("X-Signature"))
		_, _ = w.Write([]byte(okBody))
	}))
	t.Cleanup(ts.Close)
	hook := client.Hook(func(ctx context.Context, r *http.Request) error {
		body, err := r.GetBody()
		if err != nil {
			return err
		}
		var b strings.Builder
		buf := make([]byte, 64)
		for {
			n, err := body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		sawBody.Store(b.String())
		r.Header.Set("X-Signature", "signed:"+r.URL.Path)
		return nil
	})
	c, err := client.New(ts.URL+"/graphql", hook)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync(ctxT(t), docsFor(t, testenv.BlogSchema(t), "Post"), client.SyncArgs{}); err != nil {
		t.Fatal(err)
	}
	if sawSig.Load() != "signed:/graphql" || !strings.Contains(sawBody.Load().(string), "syncPosts") {
		t.Errorf("hook signature %v over body %v", sawSig.Load(), sawBody.Load())
	}
	h, err := c.RealtimeHeaders(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if h["X-Signature"] != "signed:/graphql/connect" || h["host"] != strings.TrimPrefix(ts.URL, "http://") || sawBody.Load() != "{}" {
		t.Errorf("hook real-time headers %v (signed body %v), want a signature of POST /graphql/connect {}", h, sawBody.Load())
	}

	failing := client.Hook(func(context.Context, *http.Request) error { return errors.New("no credentials") })
	fc, _ := client.New(ts.URL+"/graphql", failing)
	if _, err := fc.Do(ctxT(t), appsync.Request{Query: "{x}"}, "x"); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Errorf("failing hook: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	lo := client.Backoff{Base: 100 * time.Millisecond, Max: 10 * time.Second, Rand: func() float64 { return 0 }}
	hi := lo
	hi.Rand = func() float64 { return 0.9999999 }
	for attempt := -1; attempt < 200; attempt++ {
		nominal := 10 * time.Second
		if a := max(attempt, 0); a < 7 {
			nominal = 100 * time.Millisecond << a
		}
		if got := lo.Delay(attempt); got != nominal/2 {
			t.Errorf("attempt %d lowest delay %v, want %v", attempt, got, nominal/2)
		}
		if got := hi.Delay(attempt); got > nominal || got < nominal-time.Millisecond {
			t.Errorf("attempt %d highest delay %v, want just under %v", attempt, got, nominal)
		}
	}
	var zero client.Backoff
	for attempt := range 100 {
		if d := zero.Delay(attempt); d < 50*time.Millisecond || d > 5*time.Minute {
			t.Errorf("default backoff attempt %d: %v outside [50ms, 5m]", attempt, d)
		}
	}
	// Jitter spreads clients that fail together.
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[zero.Delay(5)] = true
	}
	if len(seen) < 10 {
		t.Errorf("50 default delays took only %d values: no jitter", len(seen))
	}
	slow := &client.RetryableError{StatusCode: 429, RetryAfter: time.Minute}
	if d := lo.DelayFor(0, slow); d != time.Minute {
		t.Errorf("DelayFor with Retry-After 1m: %v", d)
	}
	if d := lo.DelayFor(0, errors.New("other")); d != 50*time.Millisecond {
		t.Errorf("DelayFor without Retry-After: %v", d)
	}
}
