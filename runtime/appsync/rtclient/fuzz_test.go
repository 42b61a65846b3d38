package rtclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/rtclient"
)

// FuzzFrames feeds random server frames to a connection with one pending
// subscription: lines of the input are frames, "$ID" stands for the
// subscription's id, and a line starting with "!" is sent as a binary
// frame. Whatever arrives, the client must not panic or hang: Subscribe
// returns a subscription or an error, every event it delivers is well
// formed, and Close ends the connection with an error and closes Events.
func FuzzFrames(f *testing.F) {
	seeds := []string{
		`{"type":"ka"}`,
		`{"type":"data","id":"$ID","payload":{"data":{"onCreatePost":{"id":"1"}}}}`,
		`{"type":"data","id":"$ID","payload":{"data":{"onCreatePost":null},"errors":[{"message":"x"}]}}`,
		`{"type":"data","id":"$ID","payload":{"data":{"a":1,"b":2}}}`,
		`{"type":"data","id":"$ID","payload":{}}`,
		`{"type":"data","id":"$ID"}`,
		`{"type":"error","id":"$ID","payload":{"errors":[{"errorType":"Unauthorized","message":"no"}]}}`,
		`{"type":"error","payload":{"errors":{"errorType":"LimitExceededError","message":"slow down"}}}`,
		`{"type":"error","id":"$ID","payload":{"errors":"nonsense"}}`,
		`{"type":"complete","id":"$ID"}`,
		`{"type":"start_ack","id":"$ID"}` + "\n" + `{"type":"start_ack","id":"$ID"}`,
		`{"type":"connection_error","payload":{"errors":[{"errorType":"UnauthorizedException","errorCode":401}]}}`,
		`{"type":"connection_ack","payload":{"connectionTimeoutMs":-1}}`,
		`{"type":"surprise","id":"$ID"}`,
		`not json`,
		`null`,
		`[]`,
		`!binary`,
		strings.Repeat(`{"type":"data","id":"$ID","payload":{"data":{"onCreatePost":{"id":"1"}}}}`+"\n", 12),
	}
	for _, s := range seeds {
		f.Add(s)
	}

	var (
		scripts sync.Map // case number → frames
		cases   atomic.Int64
	)
	srvURL := fuzzServer(f, &scripts)

	f.Fuzz(func(t *testing.T, input string) {
		n := cases.Add(1)
		scripts.Store(n, input)
		defer scripts.Delete(n)

		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		c, err := rtclient.Dial(ctx, fmt.Sprintf("%s?case=%d", srvURL, n), rtclient.Options{Buffer: 8, Logger: discard()})
		if err != nil {
			t.Fatalf("Dial: %v", err) // the ack precedes the fuzzed frames
		}
		s, err := c.Subscribe(ctx, jsSubscription("onCreatePost"))
		if err != nil {
			checkErr(t, "Subscribe", err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		select {
		case <-c.Done():
		default:
			t.Fatal("Done open after Close")
		}
		checkErr(t, "connection", c.Err())
		if s == nil {
			return
		}
		for ev := range s.Events() {
			if ev.Field == "" && len(ev.Errors) == 0 {
				t.Fatalf("empty event %+v", ev)
			}
			if ev.Data != nil && !json.Valid(ev.Data) {
				t.Fatalf("event data is not JSON: %q", ev.Data)
			}
			for _, e := range ev.Errors {
				if e == nil {
					t.Fatal("nil error in event")
				}
			}
		}
	})
}

// fuzzServer acks, reads the start, sends the frames stored for the
// connection's ?case= number, then a start_ack (so Subscribe need not wait
// for its timeout), and reads until the client closes.
func fuzzServer(f *testing.F, scripts *sync.Map) string {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("case"), 10, 64)
		if err != nil {
			http.Error(w, "no case", http.StatusBadRequest)
			return
		}
		v, ok := scripts.Load(n)
		if !ok {
			http.Error(w, "unknown case", http.StatusBadRequest)
			return
		}
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{appsync.Subprotocol}})
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ctx := r.Context()
		if ack(ctx, ws, 60_000) != nil {
			return
		}
		m, err := expect(ctx, ws, appsync.MsgStart)
		if err != nil {
			return
		}
		// Read concurrently so the client's stop and close frames are
		// answered while frames are still being sent.
		readDone := make(chan struct{})
		go func() {
			defer close(readDone)
			drain(ctx, ws)
		}()
		defer func() { ws.CloseNow(); <-readDone }()
		for _, line := range strings.Split(v.(string), "\n") {
			line = strings.ReplaceAll(line, "$ID", m.ID)
			typ := websocket.MessageText
			if strings.HasPrefix(line, "!") {
				typ = websocket.MessageBinary
			}
			if ws.Write(ctx, typ, []byte(line)) != nil {
				return
			}
		}
		if send(ctx, ws, `{"type":"start_ack","id":"`+m.ID+`"}`) != nil {
			return
		}
		<-readDone
	}))
	f.Cleanup(ts.Close)
	return "ws" + strings.TrimPrefix(ts.URL, "http")
}

// discard drops the client's logs: fuzzed frames make it chatty.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// checkErr fails on a nil error or a badly formatted one.
func checkErr(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: nil error", what)
	}
	if strings.Contains(err.Error(), "%!") {
		t.Fatalf("%s: malformed error message %q", what, err)
	}
	var se *rtclient.SubscribeError
	if errors.As(err, &se) && len(se.Errors) == 0 {
		t.Fatalf("%s: SubscribeError without errors", what)
	}
}
