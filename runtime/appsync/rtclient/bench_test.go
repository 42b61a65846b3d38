package rtclient_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/rtclient"
)

// BenchmarkEvents measures events/s through one subscription: a server on
// loopback writes ?n= data frames (an onCreatePost item the size the blog
// schema's JS client selects) as fast as it can after start_ack, and the
// benchmark receives every one from Events.
func BenchmarkEvents(b *testing.B) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
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
		if send(ctx, ws, `{"type":"start_ack","id":"`+m.ID+`"}`) != nil {
			return
		}
		frame := []byte(`{"id":"` + m.ID + `","type":"data","payload":{"data":{"onCreatePost":{"id":"6f1c9a52-3b0e-4c8e-9f7a-2d5b1e0c4a11","title":"Hello wire","rating":4,"status":"DRAFT","createdAt":"2026-03-01T12:00:00.000Z","updatedAt":"2026-03-01T12:00:00.000Z","blogPostsId":null,"_version":1,"_lastChangedAt":1772366400000,"_deleted":null,"blog":null}}}}`)
		for range n {
			if ws.Write(ctx, websocket.MessageText, frame) != nil {
				return
			}
		}
		drain(ctx, ws)
	}))
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")

	ctx := context.Background()
	c, err := rtclient.Dial(ctx, fmt.Sprintf("%s?n=%d", url, b.N), rtclient.Options{Buffer: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	b.ResetTimer()
	s, err := c.Subscribe(ctx, jsSubscription("onCreatePost"))
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		ev, ok := <-s.Events()
		if !ok {
			b.Fatalf("subscription ended after %d events: %v", i, s.Err())
		}
		if len(ev.Data) == 0 {
			b.Fatalf("event %d has no data", i)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
