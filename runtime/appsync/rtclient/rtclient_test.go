package rtclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/rtclient"
)

// Mutations made over HTTP arrive on the matching subscriptions, in commit
// order, with the fields the JS client asks for.
func TestSubscriptionsReceiveMutationsInOrder(t *testing.T) {
	e := newEnv(t, false)
	c := e.dial(t, rtclient.Options{})
	if got := c.ConnectionTimeout(); got != 5*time.Minute {
		t.Errorf("ConnectionTimeout = %v, want dsgen serve's 5m", got)
	}
	creates := subscribe(t, c, "onCreatePost")
	updates := subscribe(t, c, "onUpdatePost")
	if creates.ID() == updates.ID() || len(creates.ID()) != 36 {
		t.Fatalf("subscription ids %q and %q are not distinct UUIDs", creates.ID(), updates.ID())
	}

	const n = 20
	for i := range n {
		e.mutate(t, "createPost", map[string]any{"id": fmt.Sprintf("p%02d", i), "title": fmt.Sprintf("post %d", i), "rating": i})
	}
	for i := range n {
		e.mutate(t, "updatePost", map[string]any{"id": fmt.Sprintf("p%02d", i), "title": fmt.Sprintf("post %d v2", i), "_version": 1})
	}
	for i := range n {
		ev := next(t, creates)
		if ev.Field != "onCreatePost" {
			t.Fatalf("event field %q, want onCreatePost", ev.Field)
		}
		it := item(t, ev)
		if it["id"] != fmt.Sprintf("p%02d", i) || it["title"] != fmt.Sprintf("post %d", i) || it["_version"] != 1.0 {
			t.Fatalf("create event %d = %v", i, it)
		}
		if _, ok := it["_lastChangedAt"]; !ok {
			t.Fatalf("create event %d has no _lastChangedAt: %v", i, it)
		}
	}
	for i := range n {
		it := item(t, next(t, updates))
		if it["id"] != fmt.Sprintf("p%02d", i) || it["title"] != fmt.Sprintf("post %d v2", i) || it["_version"] != 2.0 {
			t.Fatalf("update event %d = %v", i, it)
		}
	}
}

// Stop gets the server's complete: Events closes with no error, and the
// server no longer holds the subscription.
func TestStopCompletes(t *testing.T) {
	e := newEnv(t, false)
	c := e.dial(t, rtclient.Options{})
	s := subscribe(t, c, "onCreatePost")
	other := subscribe(t, c, "onUpdatePost")
	if _, subs := e.srv.Hub().Stats(); subs != 2 {
		t.Fatalf("server holds %d subscriptions, want 2", subs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if n := drained(t, s); n != 0 {
		t.Errorf("%d events after Stop, want 0", n)
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err after Stop = %v, want nil", err)
	}
	if _, subs := e.srv.Hub().Stats(); subs != 1 {
		t.Errorf("server holds %d subscriptions after Stop, want 1", subs)
	}
	if err := s.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	// The connection and the other subscription carry on.
	e.mutate(t, "createPost", map[string]any{"id": "a", "title": "a"})
	e.mutate(t, "updatePost", map[string]any{"id": "a", "title": "b", "_version": 1})
	if it := item(t, next(t, other)); it["title"] != "b" {
		t.Errorf("update after the other's Stop = %v", it)
	}
	if err := c.Err(); err != nil {
		t.Errorf("connection Err = %v", err)
	}
}

// A wrong API key is refused in connection_error, which reads as
// ErrUnauthorized and is not retryable.
func TestBadAPIKeyIsUnauthorized(t *testing.T) {
	e := newEnv(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := rtclient.Dial(ctx, e.wsURL, rtclient.Options{Header: keyHeader("da2-wrong")})
	if err == nil {
		c.Close()
		t.Fatal("Dial with a wrong key succeeded")
	}
	if !errors.Is(err, rtclient.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	var ce *rtclient.ConnectionError
	if !errors.As(err, &ce) || ce.Retryable() {
		t.Fatalf("err = %#v, want a non-retryable *ConnectionError", err)
	}
	if ae, ok := appsync.AsError(err); !ok || ae.ErrorCode != 401 {
		t.Errorf("appsync error = %+v, want errorCode 401", ae)
	}
}

// A subscription the server rejects comes back as a *SubscribeError with
// the server's errors; the connection stays usable.
func TestInvalidSubscriptionIsTypedError(t *testing.T) {
	e := newEnv(t, false)
	c := e.dial(t, rtclient.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := c.Subscribe(ctx, appsync.Request{Query: "subscription { onCreateNothing { id } }"})
	var se *rtclient.SubscribeError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *SubscribeError", err)
	}
	if len(se.Errors) == 0 || !strings.Contains(se.Error(), "onCreateNothing") {
		t.Errorf("errors = %v, want the server's complaint about onCreateNothing", se)
	}
	if errors.Is(err, rtclient.ErrUnauthorized) {
		t.Errorf("a validation error reads as ErrUnauthorized: %v", err)
	}
	if _, err := c.Subscribe(ctx, appsync.Request{}); err == nil || !strings.Contains(err.Error(), "no query") {
		t.Errorf("empty request: err = %v, want a no-query error", err)
	}
	s := subscribe(t, c, "onCreatePost")
	e.mutate(t, "createPost", map[string]any{"id": "x", "title": "still works"})
	if it := item(t, next(t, s)); it["id"] != "x" {
		t.Errorf("event = %v", it)
	}
}

// When the server shuts down, Done closes with a *CloseError carrying the
// server's status and reason, and every Events channel closes after the
// events that had arrived.
func TestServerShutdownEndsConnection(t *testing.T) {
	e := newEnv(t, false)
	c := e.dial(t, rtclient.Options{})
	s := subscribe(t, c, "onCreatePost")
	e.mutate(t, "createPost", map[string]any{"id": "before", "title": "before shutdown"})
	// Read one; leave a second one in the buffer.
	if it := item(t, next(t, s)); it["id"] != "before" {
		t.Fatalf("event = %v", it)
	}
	e.mutate(t, "createPost", map[string]any{"id": "buffered", "title": "left in the buffer"})
	// The hub queues the frame before Shutdown's close; wait until the
	// client holds it so the assertion below is about delivery, not racing.
	deadline := time.Now().Add(wait)
	for len(s.Events()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	waitDone(t, c)
	var ce *rtclient.CloseError
	if err := c.Err(); !errors.As(err, &ce) || ce.Code != int(websocket.StatusGoingAway) {
		t.Fatalf("Err = %v, want a *CloseError with status 1001", err)
	}
	if ce.Reason != "server shutting down" {
		t.Errorf("close reason %q", ce.Reason)
	}
	ev, ok := <-s.Events()
	if !ok || item(t, ev)["id"] != "buffered" {
		t.Fatalf("buffered event lost: %v %v", ev, ok)
	}
	if n := drained(t, s); n != 0 {
		t.Errorf("%d unexpected events", n)
	}
	if !errors.As(s.Err(), &ce) {
		t.Errorf("subscription Err = %v, want the connection's *CloseError", s.Err())
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after the server closed: %v", err)
	}
	if _, err := c.Subscribe(ctx, jsSubscription("onCreatePost")); !errors.As(err, &ce) {
		t.Errorf("Subscribe on an ended connection: err = %v, want its *CloseError", err)
	}
}

// A server that acks with connectionTimeoutMs=200 and then says nothing is
// given up with ErrKeepAliveTimeout.
func TestKeepAliveTimeout(t *testing.T) {
	url := fakeServer(t, func(ctx context.Context, ws *websocket.Conn) {
		if ack(ctx, ws, 200) != nil {
			return
		}
		drain(ctx, ws)
	})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := rtclient.Dial(ctx, url, rtclient.Options{Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.ConnectionTimeout() != 200*time.Millisecond {
		t.Fatalf("ConnectionTimeout = %v", c.ConnectionTimeout())
	}
	waitDone(t, c)
	if !errors.Is(c.Err(), rtclient.ErrKeepAliveTimeout) {
		t.Fatalf("Err = %v, want ErrKeepAliveTimeout", c.Err())
	}
}

// A server that never acks fails Dial with ErrTimeout after AckTimeout.
func TestAckTimeout(t *testing.T) {
	url := fakeServer(t, func(ctx context.Context, ws *websocket.Conn) { drain(ctx, ws) })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := rtclient.Dial(ctx, url, rtclient.Options{AckTimeout: 100 * time.Millisecond})
	if !errors.Is(err, rtclient.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
}

// A subscriber that does not read fails the connection with
// ErrSlowConsumer once its buffer is full, after keeping what fitted.
func TestSlowConsumerFailsConnection(t *testing.T) {
	e := newEnv(t, false)
	const buffer = 4
	c := e.dial(t, rtclient.Options{Buffer: buffer})
	s := subscribe(t, c, "onCreatePost")
	for i := range buffer + 1 {
		e.mutate(t, "createPost", map[string]any{"id": fmt.Sprint(i), "title": "t"})
	}
	waitDone(t, c)
	if !errors.Is(c.Err(), rtclient.ErrSlowConsumer) {
		t.Fatalf("Err = %v, want ErrSlowConsumer", c.Err())
	}
	for i := range buffer {
		if it := item(t, next(t, s)); it["id"] != fmt.Sprint(i) {
			t.Fatalf("buffered event %d = %v", i, it)
		}
	}
	if n := drained(t, s); n != 0 {
		t.Errorf("%d events beyond the buffer", n)
	}
	if !errors.Is(s.Err(), rtclient.ErrSlowConsumer) {
		t.Errorf("subscription Err = %v", s.Err())
	}
}

// Over TLS the client trusts the server through Options.HTTPClient; without
// it the certificate is refused.
func TestTLS(t *testing.T) {
	e := newEnv(t, true)
	if !strings.HasPrefix(e.wsURL, "wss://") {
		t.Fatalf("realtime URL %q", e.wsURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if c, err := rtclient.Dial(ctx, e.wsURL, rtclient.Options{Header: keyHeader(apiKey), HTTPClient: &http.Client{}}); err == nil {
		c.Close()
		t.Fatal("Dial trusted an unknown certificate")
	}
	c := e.dial(t, rtclient.Options{}) // the test server's client
	s := subscribe(t, c, "onCreatePost")
	e.mutate(t, "createPost", map[string]any{"id": "tls", "title": "over TLS"})
	if it := item(t, next(t, s)); it["id"] != "tls" {
		t.Errorf("event = %v", it)
	}
}

// Close stops the subscriptions, closes the connection and leaves no
// goroutine behind, on the client or on the server.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	e := newEnv(t, false)
	// Warm up the HTTP client and server so their lasting goroutines are
	// in the baseline.
	e.mutate(t, "createPost", map[string]any{"id": "warm", "title": "up"})
	before := runtime.NumGoroutine()

	c := e.dial(t, rtclient.Options{})
	subs := []*rtclient.Subscription{subscribe(t, c, "onCreatePost"), subscribe(t, c, "onUpdatePost"), subscribe(t, c, "onDeletePost")}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done open after Close returned")
	}
	if !errors.Is(c.Err(), rtclient.ErrClosed) {
		t.Errorf("Err = %v, want ErrClosed", c.Err())
	}
	for _, s := range subs {
		if n := drained(t, s); n != 0 {
			t.Errorf("%d events", n)
		}
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	deadline := time.Now().Add(wait)
	for {
		conns, _ := e.srv.Hub().Stats()
		n := runtime.NumGoroutine()
		if conns == 0 && n <= before {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines (was %d), server connections %d:\n%s", n, before, conns, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Data frames that carry errors reach the subscriber as events with
// Errors; an error frame for an active subscription ends only that one;
// id-less error frames (AppSync's throttling, errors as an object) end
// nothing.
func TestErrorFrames(t *testing.T) {
	url := fakeServer(t, func(ctx context.Context, ws *websocket.Conn) {
		if ack(ctx, ws, 60_000) != nil {
			return
		}
		var ids []string
		for range 2 {
			m, err := expect(ctx, ws, appsync.MsgStart)
			if err != nil {
				return
			}
			ids = append(ids, m.ID)
			send(ctx, ws, `{"type":"start_ack","id":"`+m.ID+`"}`)
		}
		send(ctx, ws, `{"type":"error","payload":{"errors":{"errorType":"LimitExceededError","message":"Rate limit exceeded"}}}`)
		send(ctx, ws, `{"type":"data","id":"`+ids[0]+`","payload":{"data":{"onCreatePost":null},"errors":[{"errorType":"Unauthorized","message":"no"}]}}`)
		send(ctx, ws, `{"type":"error","id":"`+ids[1]+`","payload":{"errors":[{"errorType":"InternalFailure","message":"gone"}]}}`)
		send(ctx, ws, `{"type":"data","id":"`+ids[0]+`","payload":{"data":{"onCreatePost":{"id":"ok"}}}}`)
		drain(ctx, ws)
	})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := rtclient.Dial(ctx, url, rtclient.Options{Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := c.Subscribe(ctx, jsSubscription("onCreatePost"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Subscribe(ctx, jsSubscription("onUpdatePost"))
	if err != nil {
		t.Fatal(err)
	}
	ev := next(t, a)
	if ev.Data != nil || len(ev.Errors) != 1 || ev.Errors[0].ErrorType != appsync.Unauthorized || ev.Field != "onCreatePost" {
		t.Fatalf("error event = %+v", ev)
	}
	if n := drained(t, b); n != 0 {
		t.Errorf("%d events on the ended subscription", n)
	}
	var se *rtclient.SubscribeError
	if !errors.As(b.Err(), &se) || se.Errors[0].Message != "gone" {
		t.Errorf("ended subscription Err = %v", b.Err())
	}
	if it := item(t, next(t, a)); it["id"] != "ok" {
		t.Errorf("event after errors = %v", it)
	}
	if err := c.Err(); err != nil {
		t.Errorf("connection Err = %v", err)
	}
}

// A start_ack that never comes fails Subscribe with ErrTimeout, and the
// client tells the server to stop the subscription it gave up on.
func TestStartTimeout(t *testing.T) {
	stopped := make(chan string, 1)
	url := fakeServer(t, func(ctx context.Context, ws *websocket.Conn) {
		if ack(ctx, ws, 60_000) != nil {
			return
		}
		if _, err := expect(ctx, ws, appsync.MsgStart); err != nil {
			return
		}
		if m, err := expect(ctx, ws, appsync.MsgStop); err == nil {
			stopped <- m.ID
		}
		drain(ctx, ws)
	})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := rtclient.Dial(ctx, url, rtclient.Options{StartTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Subscribe(ctx, jsSubscription("onCreatePost")); !errors.Is(err, rtclient.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	select {
	case <-stopped:
	case <-time.After(wait):
		t.Fatal("no stop for the abandoned subscription")
	}
}

// The connection's auth travels as the header- sub-protocol (with host
// added) and each start repeats the headers Header returns at that time.
func TestAuthHeaders(t *testing.T) {
	startAuth := make(chan map[string]string, 1)
	url := fakeServer(t, func(ctx context.Context, ws *websocket.Conn) {
		if ack(ctx, ws, 60_000) != nil {
			return
		}
		m, err := expect(ctx, ws, appsync.MsgStart)
		if err != nil {
			return
		}
		var p appsync.StartPayload
		if json.Unmarshal(m.Payload, &p) == nil {
			startAuth <- p.Extensions.Authorization
		}
		send(ctx, ws, `{"type":"start_ack","id":"`+m.ID+`"}`)
		drain(ctx, ws)
	})
	var mu sync.Mutex
	calls := 0
	header := func(context.Context) (map[string]string, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return map[string]string{"Authorization": fmt.Sprintf("token-%d", calls)}, nil
	}
	var protos []string
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		protos = strings.Split(r.Header.Get("Sec-WebSocket-Protocol"), ",")
		return http.DefaultTransport.RoundTrip(r)
	})}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := rtclient.Dial(ctx, url, rtclient.Options{Header: header, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(protos) != 2 || strings.TrimSpace(protos[0]) != appsync.Subprotocol {
		t.Fatalf("sub-protocols %q", protos)
	}
	h, err := appsync.DecodeAuthHeaders(strings.TrimPrefix(strings.TrimSpace(protos[1]), appsync.HeaderProtocolPrefix))
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(url, "ws://")
	if h["Authorization"] != "token-1" || h["host"] != host {
		t.Errorf("connection headers %v, want token-1 and host %s", h, host)
	}
	if _, err := c.Subscribe(ctx, jsSubscription("onCreatePost")); err != nil {
		t.Fatal(err)
	}
	if a := <-startAuth; a["Authorization"] != "token-2" || a["host"] != host {
		t.Errorf("start authorization %v, want token-2 and host %s", a, host)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Bad arguments are refused before any network use, saying what is wrong.
func TestDialBadInput(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		url  string
		opts rtclient.Options
		want string
	}{
		{"ftp://127.0.0.1/graphql/realtime", rtclient.Options{}, `scheme "ftp" is not ws or wss`},
		{"ws://127.0.0.1:1/graphql/realtime", rtclient.Options{Buffer: -1}, "Buffer -1"},
		{"ws://127.0.0.1:1/graphql/realtime", rtclient.Options{Header: func(context.Context) (map[string]string, error) {
			return nil, errors.New("token expired")
		}}, "auth headers: token expired"},
	} {
		_, err := rtclient.Dial(ctx, tc.url, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Dial(%s): err = %v, want it to say %q", tc.url, err, tc.want)
		}
	}
}
