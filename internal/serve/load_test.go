package serve_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// received is what one subscriber saw: per post, the versions in arrival
// order.
type received struct {
	versions map[string][]int64
	frames   int
}

// collect reads data frames from c until it has want of them, recording
// the post id and _version of each; it runs in its own goroutine.
func collect(c *wsClient, want int) (received, error) {
	r := received{versions: map[string][]int64{}}
	for r.frames < want {
		m, err := c.read()
		if err != nil {
			return r, fmt.Errorf("after %d frames: %w", r.frames, err)
		}
		switch m.Type {
		case appsync.MsgKeepAlive:
			continue
		case appsync.MsgData:
		default:
			return r, fmt.Errorf("unexpected %s frame: %s", m.Type, m.Payload)
		}
		var p struct {
			Data map[string]struct {
				ID      string `json:"id"`
				Version int64  `json:"_version"`
			} `json:"data"`
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Data) != 1 {
			return r, fmt.Errorf("data frame %s: %v", m.Payload, err)
		}
		for _, item := range p.Data {
			r.versions[item.ID] = append(r.versions[item.ID], item.Version)
		}
		r.frames++
	}
	return r, nil
}

// TestLoadEveryEventOnceInOrder has 20 clients write 50 times each while 10
// WebSocket subscribers listen: every subscriber gets every event exactly
// once, and per record in strictly increasing _version order.
func TestLoadEveryEventOnceInOrder(t *testing.T) {
	const clients, writes, subscribers = 20, 50, 10
	e := newEnv(t, envOptions{})
	subs := make([]*wsClient, subscribers)
	for i := range subs {
		c := e.dialWS(t, nil)
		c.init()
		for _, q := range []struct{ id, doc string }{{"c", wireOnCreatePost}, {"u", wireOnUpdatePost}, {"d", wireOnDeletePost}} {
			c.subscribe(q.id, q.doc, nil, e.authHeaders())
		}
		subs[i] = c
	}

	results := make([]received, subscribers)
	readErrs := make([]error, subscribers)
	var readers sync.WaitGroup
	for i, c := range subs {
		readers.Go(func() { results[i], readErrs[i] = collect(c, clients*writes) })
	}

	writeErrs := make(chan error, clients)
	var writers sync.WaitGroup
	for w := range clients {
		writers.Go(func() {
			id := fmt.Sprint("load-", w)
			if _, err := e.tryDo(wireCreatePost, map[string]any{"input": map[string]any{"id": id, "title": "v1"}}, "createPost"); err != nil {
				writeErrs <- err
				return
			}
			for v := 1; v < writes-1; v++ {
				in := map[string]any{"id": id, "title": fmt.Sprint("v", v+1), "_version": v}
				if _, err := e.tryDo(wireUpdatePost, map[string]any{"input": in, "condition": nil}, "updatePost"); err != nil {
					writeErrs <- err
					return
				}
			}
			in := map[string]any{"id": id, "_version": writes - 1}
			if _, err := e.tryDo(wireDeletePost, map[string]any{"input": in, "condition": nil}, "deletePost"); err != nil {
				writeErrs <- err
			}
		})
	}
	writers.Wait()
	close(writeErrs)
	for err := range writeErrs {
		t.Fatal(err)
	}
	readers.Wait()
	for i, err := range readErrs {
		if err != nil {
			t.Fatalf("subscriber %d: %v", i, err)
		}
	}
	// Frames arrive in order: a last create shows nothing else was queued.
	e.createPost(t, map[string]any{"id": "sentinel", "title": "end"})
	for i, c := range subs {
		if got := c.data("c", "onCreatePost"); got["id"] != "sentinel" {
			t.Errorf("subscriber %d: an extra event %v after the %d expected", i, got["id"], clients*writes)
		}
		for w := range clients {
			id := fmt.Sprint("load-", w)
			vs := results[i].versions[id]
			if len(vs) != writes {
				t.Errorf("subscriber %d, %s: %d events, want %d: %v", i, id, len(vs), writes, vs)
				continue
			}
			for j, v := range vs {
				if v != int64(j+1) {
					t.Errorf("subscriber %d, %s: versions %v, want 1..%d in order", i, id, vs, writes)
					break
				}
			}
		}
	}
}
