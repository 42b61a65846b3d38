package realtime_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/internal/serve/realtime"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync"
)

func TestHandshakeViaSubprotocol(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	ws, resp, err := websocket.Dial(testCtx(t), f.url, &websocket.DialOptions{
		Subprotocols: []string{appsync.Subprotocol, authProtocol(t, map[string]string{"host": "127.0.0.1:1", "x-api-key": "good", "Authorization": "Bearer x"})},
		HTTPHeader:   http.Header{"X-Amz-User-Agent": {"aws-amplify/6"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != appsync.Subprotocol {
		t.Fatalf("selected sub-protocol %q, want %q", got, appsync.Subprotocol)
	}
	c := &client{t: t, ws: ws}
	c.send(map[string]string{"type": "connection_init"})
	ack := c.next()
	if ack.Type != appsync.MsgConnectionAck {
		t.Fatalf("got %s, want connection_ack", ack.Type)
	}
	var p appsync.ConnectionAckPayload
	if err := json.Unmarshal(ack.Payload, &p); err != nil || p.ConnectionTimeoutMs != 300000 {
		t.Fatalf("ack payload %s: want connectionTimeoutMs 300000 (err %v)", ack.Payload, err)
	}
	if m, err := c.read(); err != nil || m.Type != appsync.MsgKeepAlive {
		t.Fatalf("frame after ack: %v %v, want ka", m, err)
	}
	h := f.backend.lastHeaders()
	for k, want := range map[string]string{"host": "127.0.0.1:1", "x-api-key": "good", "authorization": "Bearer x", "x-amz-user-agent": "aws-amplify/6"} {
		if h[k] != want {
			t.Errorf("Authenticate saw %s=%q, want %q (all: %v)", k, h[k], want, h)
		}
	}
	if _, ok := h["sec-websocket-protocol"]; ok {
		t.Error("handshake header sec-websocket-protocol passed to Authenticate")
	}
}

func TestHandshakeViaQueryParameters(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	hdr := `{"host":"example.com","x-api-key":"good"}`
	for name, enc := range map[string]string{
		"standard": stdB64(hdr),
		"url-safe": base64.RawURLEncoding.EncodeToString([]byte(hdr)),
	} {
		t.Run(name, func(t *testing.T) {
			ws, _, err := websocket.Dial(testCtx(t), f.url+"?header="+strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(enc)+"&payload=e30%3D",
				&websocket.DialOptions{Subprotocols: []string{appsync.Subprotocol}})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			c := &client{t: t, ws: ws}
			c.init()
			if got := f.backend.lastHeaders()["host"]; got != "example.com" {
				t.Fatalf("host header %q, want example.com (from the header= parameter)", got)
			}
		})
	}
}

func TestHandshakeRefusals(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	for name, tc := range map[string]struct {
		url    string
		protos []string
	}{
		"no sub-protocol":          {f.url, nil},
		"graphql-transport-ws":     {f.url, []string{"graphql-transport-ws"}},
		"undecodable header proto": {f.url, []string{appsync.Subprotocol, "header-%%%"}},
		"header param not JSON":    {f.url + "?header=" + stdB64("nope"), []string{appsync.Subprotocol}},
	} {
		t.Run(name, func(t *testing.T) {
			_, resp, err := websocket.Dial(testCtx(t), tc.url, &websocket.DialOptions{Subprotocols: tc.protos})
			if err == nil {
				t.Fatal("dial succeeded, want HTTP 400")
			}
			if resp == nil || resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("response %v, want 400", resp)
			}
		})
	}
}

func TestBadAuthGetsConnectionErrorAndClose(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	for key, wantMsg := range map[string]string{"wrong": "connection is not authorized", "custom": "API key expired"} {
		t.Run(key, func(t *testing.T) {
			c := f.dial(t, key)
			c.send(map[string]string{"type": "connection_init"})
			m := c.next()
			if m.Type != appsync.MsgConnectionError {
				t.Fatalf("got %s, want connection_error", m.Type)
			}
			var p appsync.ErrorPayload
			if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) != 1 {
				t.Fatalf("payload %s: %v", m.Payload, err)
			}
			e := p.Errors[0]
			if e.ErrorType != appsync.UnauthorizedExc || e.ErrorCode != 401 || e.Message != wantMsg {
				t.Fatalf("error %+v, want UnauthorizedException 401 %q", e, wantMsg)
			}
			if code, _ := c.closeStatus(); code != realtime.CloseUnauthorized {
				t.Fatalf("close status %d, want %d", code, realtime.CloseUnauthorized)
			}
		})
	}
}

func TestKeepAlive(t *testing.T) {
	f := newFixture(t, realtime.Options{KeepAlive: 5 * time.Millisecond, ConnectionTimeout: time.Second})
	c := f.dial(t, "good")
	c.send(map[string]string{"type": "connection_init"})
	m, err := c.read()
	if err != nil || m.Type != appsync.MsgConnectionAck || string(m.Payload) != `{"connectionTimeoutMs":1000}` {
		t.Fatalf("got %+v (%v), want connection_ack with connectionTimeoutMs 1000", m, err)
	}
	// The first ka comes at once, then the ticker keeps them coming while
	// the client says nothing.
	for i := range 4 {
		if m, err := c.read(); err != nil || m.Type != appsync.MsgKeepAlive {
			t.Fatalf("frame %d after ack: %+v %v, want ka", i, m, err)
		}
	}
}

func TestInitTimeoutCloses(t *testing.T) {
	f := newFixture(t, realtime.Options{InitTimeout: 10 * time.Millisecond})
	c := f.dial(t, "good")
	if code, reason := c.closeStatus(); code != realtime.CloseInitTimeout || reason != realtime.ReasonInitTimeout {
		t.Fatalf("close %d %q, want %d %q", code, reason, realtime.CloseInitTimeout, realtime.ReasonInitTimeout)
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (realtime.Options{}).Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	err := realtime.Options{KeepAlive: time.Minute, ConnectionTimeout: time.Minute}.Validate()
	if err == nil || !strings.Contains(err.Error(), "keep-alive interval 1m0s must be below the connection timeout 1m0s") {
		t.Fatalf("err %v, want keep-alive complaint", err)
	}
	if err := (realtime.Options{SendQueue: -1}).Validate(); err == nil {
		t.Fatal("negative send queue accepted")
	}
}

func TestStartDataStopComplete(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	c := f.ready(t)
	c.start("s1", "onCreatePost", nil)
	c.start("s2", "onUpdatePost", map[string]any{"title": "keep"})
	f.backend.mu.Lock()
	auth := f.backend.auth
	f.backend.mu.Unlock()
	if auth["authorization"] != "Bearer t" || auth["x-api-key"] != "good" {
		t.Fatalf("Subscribe saw authorization %v, want lower-cased keys", auth)
	}
	if conns, subs := f.hub.Stats(); conns != 1 || subs != 2 {
		t.Fatalf("Stats = %d, %d; want 1, 2", conns, subs)
	}

	f.hub.Publish(realtime.Event{Model: "Post", Op: "create", Item: map[string]any{"id": "p1", "title": "hello", "_version": 1}})
	it := c.data("s1", "onCreatePost")
	if it["id"] != "p1" || it["_version"] != float64(1) {
		t.Fatalf("item %v", it)
	}
	// Filtered out, then other models, then a match: only the match arrives.
	f.hub.Publish(realtime.Event{Model: "Post", Op: "update", Item: map[string]any{"id": "p1", "title": "drop"}})
	f.hub.Publish(realtime.Event{Model: "Blog", Op: "create", Item: map[string]any{"id": "b1"}})
	f.hub.Publish(realtime.Event{Model: "Post", Op: "delete", Item: map[string]any{"id": "p1"}})
	f.hub.Publish(realtime.Event{Model: "Post", Op: "update", Item: map[string]any{"id": "p1", "title": "keep"}})
	if it := c.data("s2", "onUpdatePost"); it["title"] != "keep" {
		t.Fatalf("item %v, want the matching update", it)
	}

	// A failing Render reaches the subscriber as a data frame with errors.
	f.hub.Publish(realtime.Event{Model: "Post", Op: "create", Item: map[string]any{"id": "p2", "boom": true}})
	m := c.expect(appsync.MsgData, "s1")
	var r appsync.Response
	if err := json.Unmarshal(m.Payload, &r); err != nil || len(r.Errors) != 1 || r.Errors[0].ErrorType != appsync.InternalFailure {
		t.Fatalf("payload %s, want one InternalFailure error", m.Payload)
	}

	c.send(map[string]string{"type": "stop", "id": "s1"})
	c.expect(appsync.MsgComplete, "s1")
	if _, subs := f.hub.Stats(); subs != 1 {
		t.Fatalf("subs = %d after stop, want 1", subs)
	}
	// No data for a stopped subscription: the next frame is the answer to
	// the following request.
	f.hub.Publish(realtime.Event{Model: "Post", Op: "create", Item: map[string]any{"id": "p3"}})
	c.send(map[string]string{"type": "stop", "id": "s1"})
	if errs := c.expectError("s1"); !strings.Contains(errs[0].Message, `no subscription with id "s1"`) {
		t.Fatalf("second stop: %+v", errs[0])
	}
}

func TestStartErrorsKeepConnectionUp(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	c := f.dial(t, "good")

	c.send(startMsg("early", "subscription { onCreatePost { id } }", nil))
	if errs := c.expectError("early"); !strings.Contains(errs[0].Message, "connection_init") {
		t.Fatalf("start before init: %+v", errs[0])
	}
	c.init()
	c.send(map[string]string{"type": "connection_init"})
	if errs := c.expectError(""); !strings.Contains(errs[0].Message, "already initialised") {
		t.Fatalf("second init: %+v", errs[0])
	}

	cases := []struct {
		name, frame, id, errType, msg string
	}{
		{"malformed JSON", `{"type":"start",`, "", appsync.BadRequestException, "malformed message"},
		{"not an object", `[1,2]`, "", appsync.BadRequestException, "malformed message"},
		{"no type", `{"id":"x"}`, "x", appsync.BadRequestException, "no type"},
		{"unknown type", `{"id":"x","type":"subscribe"}`, "x", appsync.UnsupportedOperation, "subscribe not supported through the realtime channel"},
		{"start without id", `{"type":"start","payload":{}}`, "", appsync.BadRequestException, "no id"},
		{"start without payload", `{"id":"a","type":"start"}`, "a", appsync.BadRequestException, "no payload"},
		{"data is an object", `{"id":"a","type":"start","payload":{"data":{"query":"x"}}}`, "a", appsync.BadRequestException, "payload.data must be a JSON string"},
		{"data is not JSON", `{"id":"a","type":"start","payload":{"data":"subscription{}"}}`, "a", appsync.BadRequestException, "not a GraphQL request"},
		{"data has no query", `{"id":"a","type":"start","payload":{"data":"{\"variables\":{}}"}}`, "a", appsync.BadRequestException, "no query"},
		{"authorization not strings", `{"id":"a","type":"start","payload":{"data":"{\"query\":\"q\"}","extensions":{"authorization":{"x":1}}}}`, "a", appsync.BadRequestException, "start payload"},
		{"backend validation", mustMarshal(startMsg("a", "subscription { nothing }", nil)), "a", appsync.ValidationError, "FieldUndefined"},
		{"backend unauthorized", mustMarshal(startMsg("a", "subscription { onCreateSecret { id } }", nil)), "a", appsync.Unauthorized, "Not Authorized to access onCreateSecret"},
		{"backend internal", mustMarshal(startMsg("a", "subscription { onCreateBroken { id } }", nil)), "a", appsync.InternalFailure, "could not be registered"},
		{"stop without id", `{"type":"stop"}`, "", appsync.BadRequestException, "no id"},
	}
	for _, tc := range cases {
		c.sendRaw(tc.frame)
		errs := c.expectError(tc.id)
		if errs[0].ErrorType != tc.errType || !strings.Contains(errs[0].Message, tc.msg) {
			t.Errorf("%s: got %s %q, want %s containing %q", tc.name, errs[0].ErrorType, errs[0].Message, tc.errType, tc.msg)
		}
	}
	c.sendRaw(mustMarshal(startMsg("a", "subscription { nothing }", nil)))
	if errs := c.expectError("a"); len(errs) != 2 {
		t.Errorf("ErrorList rendered as %d errors, want 2", len(errs))
	}
	if err := c.ws.Write(testCtx(t), websocket.MessageBinary, []byte(`{"type":"connection_init"}`)); err != nil {
		t.Fatal(err)
	}
	if errs := c.expectError(""); !strings.Contains(errs[0].Message, "binary frames are not supported") {
		t.Errorf("binary frame: %+v", errs[0])
	}

	// The connection still works, and ids are checked for duplicates.
	c.start("ok", "onCreatePost", nil)
	c.send(startMsg("ok", "subscription { onCreatePost { id } }", nil))
	if errs := c.expectError("ok"); !strings.Contains(errs[0].Message, "already in use") {
		t.Errorf("duplicate id: %+v", errs[0])
	}
	f.hub.Publish(realtime.Event{Model: "Post", Op: "create", Item: map[string]any{"id": "p"}})
	if it := c.data("ok", "onCreatePost"); it["id"] != "p" {
		t.Fatalf("item %v", it)
	}
}

func mustMarshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestEventsArriveInPublishOrder(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	c := f.ready(t)
	c.start("c", "onCreatePost", nil)
	c.start("u", "onUpdatePost", nil)
	const n = 1000
	go func() {
		for i := range n {
			op := "create"
			if i%3 == 0 {
				op = "update"
			}
			f.hub.Publish(realtime.Event{Model: "Post", Op: op, Item: map[string]any{"id": "p", "n": i}})
		}
	}()
	for i := range n {
		m := c.next()
		var p struct {
			Data map[string]map[string]any `json:"data"`
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			t.Fatal(err)
		}
		wantID, field := "c", "onCreatePost"
		if i%3 == 0 {
			wantID, field = "u", "onUpdatePost"
		}
		if m.ID != wantID || p.Data[field]["n"] != float64(i) {
			t.Fatalf("frame %d: id %s payload %s, want event %d on %s", i, m.ID, m.Payload, i, wantID)
		}
	}
}

func TestStartAckPrecedesDataUnderConcurrentPublish(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	c := f.ready(t)
	acked := map[string]bool{}
	for i := range 20 {
		id := fmt.Sprint("s", i)
		// A burst of events races each registration.
		var wg sync.WaitGroup
		wg.Go(func() {
			for j := range 200 {
				f.hub.Publish(realtime.Event{Model: "Post", Op: "create", Item: map[string]any{"n": j}})
				runtime.Gosched()
			}
		})
		c.send(startMsg(id, "subscription { onCreatePost { id } }", nil))
		for !acked[id] {
			m := c.next()
			switch m.Type {
			case appsync.MsgStartAck:
				acked[m.ID] = true
			case appsync.MsgData:
				if !acked[m.ID] {
					t.Fatalf("data for %s before its start_ack", m.ID)
				}
			default:
				t.Fatalf("unexpected %s %s", m.Type, m.Payload)
			}
		}
		wg.Wait()
	}
}

func TestSubscriptionLimit(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	c := f.ready(t)
	for i := range 100 {
		c.send(startMsg(fmt.Sprint("s", i), "subscription { onCreatePost { id } }", nil))
	}
	for i := range 100 {
		c.expect(appsync.MsgStartAck, fmt.Sprint("s", i))
	}
	c.send(startMsg("s100", "subscription { onCreatePost { id } }", nil))
	errs := c.expectError("s100")
	if errs[0].ErrorType != appsync.MaxSubscriptions || errs[0].Message != "Max number of 100 subscriptions reached" {
		t.Fatalf("101st start: %+v", errs[0])
	}
	if _, subs := f.hub.Stats(); subs != 100 {
		t.Fatalf("subs = %d, want 100", subs)
	}
	c.send(map[string]string{"type": "stop", "id": "s0"})
	c.expect(appsync.MsgComplete, "s0")
	c.start("s100", "onCreatePost", nil)
}

func TestOversizeFrameClosesWith1009(t *testing.T) {
	f := newFixture(t, realtime.Options{MaxMessageBytes: 1024})
	c := f.ready(t)
	c.sendRaw(mustMarshal(startMsg("big", "subscription { onCreatePost { id } } #"+strings.Repeat("x", 2048), nil)))
	if code, _ := c.closeStatus(); code != websocket.StatusMessageTooBig {
		t.Fatalf("close status %d, want 1009", code)
	}
	poll.Until(t, "the connection to be released", func() bool { n, _ := f.hub.Stats(); return n == 0 })
}

func TestSlowConsumerIsClosedWhileOthersKeepUp(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	slow := f.ready(t)
	slow.start("s", "onCreatePost", nil)
	fast := f.ready(t)
	fast.start("f", "onCreatePost", nil)

	const n, batch = 100_000, 1000
	received := make(chan int, n/batch)
	readErr := make(chan error, 1)
	go func() {
		// Frames are compared as bytes: the test backend renders a map,
		// whose keys encoding/json sorts, so each frame is predictable.
		var want []byte
		for i := 0; i < n; {
			_, b, err := fast.ws.Read(t.Context())
			if err != nil {
				readErr <- err
				return
			}
			if string(b) == `{"type":"ka"}` {
				continue
			}
			want = fmt.Appendf(want[:0], `{"type":"data","id":"f","payload":{"data":{"onCreatePost":{"n":%d,"pad":"`, i)
			if !bytes.HasPrefix(b, want) {
				readErr <- fmt.Errorf("frame %d: %.200s", i, b)
				return
			}
			i++
			if i%batch == 0 {
				received <- i
			}
		}
	}()

	bigPad := strings.Repeat("x", 1000) // fills the slow client's socket sooner
	for sent := 0; sent < n; {
		pad := ""
		if conns, _ := f.hub.Stats(); conns == 2 {
			pad = bigPad
		}
		for range batch {
			f.hub.Publish(realtime.Event{Model: "Post", Op: "create", Item: map[string]any{"n": sent, "pad": pad}})
			sent++
		}
		// Pace on the fast reader (not on time), so only the slow one
		// can overflow its queue.
		select {
		case got := <-received:
			if got != sent {
				t.Fatalf("fast client at %d, sent %d", got, sent)
			}
		case err := <-readErr:
			t.Fatalf("fast client: %v", err)
		}
	}
	poll.Until(t, "the slow consumer to be dropped", func() bool { n, _ := f.hub.Stats(); return n == 1 })
	// The slow client finds fewer events than were published, then the end.
	got := 0
	for {
		m, err := slow.read()
		if err != nil {
			break
		}
		if m.Type == appsync.MsgData {
			got++
		}
	}
	if got >= n {
		t.Fatalf("slow client received all %d events; it should have been cut off", got)
	}
	if _, subs := f.hub.Stats(); subs != 1 {
		t.Fatalf("subs = %d, want only the fast client's", subs)
	}
	if c := f.hub.Counters(); c.SlowConsumers != 1 || c.Published != n || c.Sent < uint64(n+got) {
		t.Errorf("counters %+v; want 1 slow consumer, %d published, at least %d sent", c, n, n+got)
	}
}

func TestShutdownClosesAllAndRefusesNew(t *testing.T) {
	before := runtime.NumGoroutine()
	b := &testBackend{}
	hub := realtime.New(b, realtime.Options{Logger: quietLogger()})
	f := &fixture{hub: hub, backend: b}
	srvMux := http.NewServeMux()
	srvMux.Handle("/graphql/realtime", hub)
	f.srv = newLocalServer(t, srvMux)
	f.url = "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/graphql/realtime"

	var clients []*client
	for i := range 5 {
		c := f.ready(t)
		c.start(fmt.Sprint("s", i), "onCreatePost", nil)
		clients = append(clients, c)
	}
	f.hub.Publish(realtime.Event{Model: "Post", Op: "create", Item: map[string]any{"id": "p"}})
	statuses := make(chan websocket.StatusCode, len(clients))
	for i, c := range clients {
		c.data(fmt.Sprint("s", i), "onCreatePost")
		go func() { code, _ := c.closeStatus(); statuses <- code }()
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := hub.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range clients {
		if code := <-statuses; code != websocket.StatusGoingAway {
			t.Fatalf("close status %d, want 1001 going away", code)
		}
	}
	if conns, subs := hub.Stats(); conns != 0 || subs != 0 {
		t.Fatalf("Stats = %d, %d after Shutdown", conns, subs)
	}
	_, resp, err := websocket.Dial(testCtx(t), f.url, &websocket.DialOptions{Subprotocols: []string{appsync.Subprotocol}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Shutdown: %v %v, want 503", resp, err)
	}
	hub.Publish(realtime.Event{Model: "Post", Op: "create"}) // a no-op, not a panic
	for _, c := range clients {
		c.ws.CloseNow()
	}
	f.srv.Close()
	poll.Until(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestShutdownDeadlineDropsConnections(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	c := f.ready(t)
	c.start("s", "onCreatePost", nil)
	// The client never reads, so it never answers the close handshake; an
	// already expired context makes Shutdown drop it at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.hub.Shutdown(ctx); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("Shutdown = %v, want the context's error", err)
	}
	poll.Until(t, "connections to be dropped", func() bool { n, _ := f.hub.Stats(); return n == 0 })
}

func TestNoGoroutineLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		b := &testBackend{}
		hub := realtime.New(b, realtime.Options{Logger: quietLogger(), KeepAlive: time.Millisecond, ConnectionTimeout: time.Second})
		srv := newLocalServer(t, hub)
		f := &fixture{hub: hub, srv: srv, backend: b, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
		for i := range 10 {
			c := f.ready(t)
			c.start("s", "onCreatePost", nil)
			f.hub.Publish(realtime.Event{Model: "Post", Op: "create", Item: map[string]any{"i": i}})
			c.data("s", "onCreatePost")
			switch i % 3 {
			case 0: // client closes normally
				c.ws.Close(websocket.StatusNormalClosure, "")
			case 1: // client vanishes
				c.ws.CloseNow()
			default: // left for Shutdown; reading, so it answers the close
				go c.closeStatus()
			}
		}
		bad := f.dial(t, "wrong")
		bad.send(map[string]string{"type": "connection_init"})
		bad.closeStatus()
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		srv.Close()
	}()
	poll.Until(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}
