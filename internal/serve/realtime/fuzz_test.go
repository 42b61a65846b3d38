package realtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/internal/serve/realtime"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// FuzzMessageLoop sends a random frame into a live connection, then a
// sentinel start. The server must answer the sentinel (start_ack or an
// error frame for its id) after any number of well-formed frames, or close
// the connection with a status that says why; it must never panic or send
// a frame that is not an AppSync message.
func FuzzMessageLoop(f *testing.F) {
	for _, s := range []string{
		`{"type":"connection_init"}`,
		`{"type":"connection_init","payload":{}}`,
		mustMarshal(startMsg("a", "subscription { onCreatePost { id } }", nil)),
		mustMarshal(startMsg("a", "subscription { onCreateSecret { id } }", nil)),
		`{"type":"start","id":"a","payload":{"data":"{\"query\":\"x\"}","extensions":{"authorization":null}}}`,
		`{"type":"start","id":"a","payload":{"data":"\"just a string\""}}`,
		`{"type":"start","id":"a","payload":null}`,
		`{"type":"stop","id":"a"}`,
		`{"type":"ka"}`,
		`{"type":"data","id":"a","payload":{}}`,
		`{"id":7,"type":"start"}`,
		`{"type":"start","id":"` + strings.Repeat("é", 40) + `"}`,
		`null`, `"x"`, `{`, ``, "\xff\xfe",
	} {
		f.Add([]byte(s), false, true)
		f.Add([]byte(s), true, false)
	}

	b := &testBackend{}
	hub := realtime.New(b, realtime.Options{Logger: quietLogger(), MaxMessageBytes: 4096})
	var panicked atomic.Value
	srv := newLocalServer(f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				panicked.Store(fmt.Sprint(p))
				panic(p)
			}
		}()
		hub.ServeHTTP(w, r)
	}))
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			f.Errorf("Shutdown: %v", err)
		}
	})
	fx := &fixture{hub: hub, srv: srv, backend: b, url: "ws" + strings.TrimPrefix(srv.URL, "http")}

	f.Fuzz(func(t *testing.T, frame []byte, binary, initFirst bool) {
		c := fx.dial(t, "good")
		defer c.ws.CloseNow()
		if initFirst {
			c.init()
		}
		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		if err := c.ws.Write(t.Context(), typ, frame); err != nil {
			t.Fatalf("write fuzz frame: %v", err)
		}
		const sentinel = "zz-sentinel"
		// The server may already have closed (oversize frame); the
		// outcome is judged by what is read.
		_ = c.ws.Write(t.Context(), websocket.MessageText, []byte(mustMarshal(startMsg(sentinel, "subscription { onCreatePost { id } }", nil))))
		for {
			_, b, err := c.ws.Read(t.Context())
			if err != nil {
				var ce websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != websocket.StatusMessageTooBig || len(frame) <= 4096 {
					t.Fatalf("connection ended with %v after frame %q", err, frame)
				}
				break
			}
			var m appsync.Message
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("server sent %q: %v", b, err)
			}
			switch m.Type {
			case appsync.MsgConnectionAck, appsync.MsgKeepAlive, appsync.MsgStartAck, appsync.MsgComplete, appsync.MsgError:
			default:
				t.Fatalf("server sent unexpected %q", b)
			}
			if m.ID == sentinel && (m.Type == appsync.MsgStartAck || m.Type == appsync.MsgError) {
				break
			}
		}
		if p := panicked.Load(); p != nil {
			t.Fatalf("handler panicked: %v", p)
		}
	})
}
