package serve_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// blogSchemaFile is the blog example's schema, for server processes.
func blogSchemaFile(t testing.TB) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "examples", "blog", "schema.graphql")
}

// procSubscriber subscribes to onCreatePost on a server process and
// collects the ids it receives until its socket ends.
type procSubscriber struct {
	mu     sync.Mutex
	ids    map[string]bool
	ended  error
	change chan struct{} // signalled on every event and at the end
}

func subscribeProc(t *testing.T, s *testenv.Server) *procSubscriber {
	t.Helper()
	hdrs := map[string]string{"host": s.Addr, "x-amz-date": "20260301T120000Z", "x-api-key": s.APIKey}
	hp, err := appsync.EncodeHeaderProtocol(hdrs)
	if err != nil {
		t.Fatal(err)
	}
	var e env // dialRaw uses no field of env
	w, _, err := e.dialRaw(t, s.WSURL, []string{appsync.Subprotocol, hp})
	if err != nil {
		t.Fatalf("dial %s: %v", s.WSURL, err)
	}
	w.init()
	w.subscribe("c", wireOnCreatePost, nil, hdrs)
	ps := &procSubscriber{ids: make(map[string]bool), change: make(chan struct{}, 1)}
	done := make(chan struct{})
	t.Cleanup(func() { w.c.CloseNow(); <-done })
	go func() {
		defer close(done)
		for {
			m, err := w.read()
			ps.mu.Lock()
			if err != nil {
				ps.ended = err
			} else if m.Type == appsync.MsgData {
				r := decodeResult(t, 200, m.Payload)
				if p := r.field("onCreatePost"); p != nil {
					ps.ids[p["id"].(string)] = true
				}
			}
			ps.mu.Unlock()
			select {
			case ps.change <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return ps
}

// waitAll waits until the subscriber has received every id in want, or
// its socket ended, and returns the ids it lacks and how it ended.
func (ps *procSubscriber) waitAll(want []string) (missing []string, ended error) {
	guard := time.After(frameWait)
	for {
		ps.mu.Lock()
		missing = missing[:0]
		for _, id := range want {
			if !ps.ids[id] {
				missing = append(missing, id)
			}
		}
		ended = ps.ended
		ps.mu.Unlock()
		if len(missing) == 0 || ended != nil {
			return missing, ended
		}
		select {
		case <-ps.change:
		case <-guard:
			return missing, fmt.Errorf("still waiting after %v", frameWait)
		}
	}
}

const procCreatePost = `mutation ($input: CreatePostInput!) { createPost(input: $input) { id _version } }`

// writerLoad runs writers goroutines creating posts, each through its own
// server of targets (writer i uses targets[i%len]); a writer whose server
// fails moves on to the next one, as behind a load balancer. Every create
// answered with the record is acknowledged.
type writerLoad struct {
	mu     sync.Mutex
	acked  []string
	failed int
	notify chan struct{}
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

func startWriters(t *testing.T, writers int, targets func(i int) []*testenv.Server) *writerLoad {
	ctx, cancel := context.WithCancel(context.Background())
	wl := &writerLoad{stop: cancel, notify: make(chan struct{}, 1)}
	client := &http.Client{Timeout: 30 * time.Second}
	for i := range writers {
		wl.wg.Go(func() {
			ts := targets(i)
			cur := 0
			for n := 0; ctx.Err() == nil; n++ {
				id := fmt.Sprintf("w%d-%d", i, n)
				s := ts[cur%len(ts)]
				out, err := testenv.PostGraphQL(ctx, client, s.URL, s.APIKey, procCreatePost,
					map[string]any{"input": map[string]any{"id": id, "title": "load"}})
				ok := err == nil && out["errors"] == nil
				if ok {
					p, _ := out["data"].(map[string]any)["createPost"].(map[string]any)
					ok = p != nil && p["id"] == id
				}
				wl.mu.Lock()
				if ok {
					wl.acked = append(wl.acked, id)
				} else {
					wl.failed++
					cur++ // in doubt: never acknowledged; try the next server
				}
				wl.mu.Unlock()
				if !ok && ctx.Err() == nil {
					// A client's retry pause, so a server or database that is
					// down is not hammered; not a wait for a condition.
					time.Sleep(20 * time.Millisecond)
				}
				select {
				case wl.notify <- struct{}{}:
				default:
				}
			}
		})
	}
	t.Cleanup(wl.halt)
	return wl
}

func (wl *writerLoad) halt() { wl.stop(); wl.wg.Wait() }

// waitAcked waits until at least n creates are acknowledged.
func (wl *writerLoad) waitAcked(t *testing.T, n int) {
	t.Helper()
	guard := time.After(frameWait)
	for {
		wl.mu.Lock()
		got := len(wl.acked)
		wl.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-wl.notify:
		case <-guard:
			t.Fatalf("only %d of %d creates acknowledged after %v", got, n, frameWait)
		}
	}
}

func (wl *writerLoad) snapshot() (acked []string, failed int) {
	wl.mu.Lock()
	defer wl.mu.Unlock()
	return append([]string(nil), wl.acked...), wl.failed
}

// assertStored fails t for every id that s does not return.
func assertStored(t *testing.T, s *testenv.Server, ids []string) {
	t.Helper()
	var lost []string
	for _, id := range ids {
		out := s.Do(t, `query ($id: ID!) { getPost(id: $id) { id } }`, map[string]any{"id": id})
		p, _ := out["data"].(map[string]any)["getPost"].(map[string]any)
		if p == nil || p["id"] != id {
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d of %d acknowledged creates are not in the store: %v", len(lost), len(ids), lost)
	}
}

// TestPostgresKill9OneInstance: two `dsgen serve` processes on one
// database, six writers (three per instance) creating posts, a subscriber
// on the second instance. Instance 1 is killed with SIGKILL mid-load; its
// writers move to instance 2. Every acknowledged create is in the store,
// and the subscriber on instance 2 received every acknowledged create,
// from either instance, without its socket closing.
func TestPostgresKill9OneInstance(t *testing.T) {
	url := pgtest.Schema(t)
	schema := blogSchemaFile(t)
	s1 := testenv.StartServer(t, testenv.ServerOptions{Schema: schema, Store: url})
	s2 := testenv.StartServer(t, testenv.ServerOptions{Schema: schema, Store: url})
	sub := subscribeProc(t, s2)

	wl := startWriters(t, 6, func(i int) []*testenv.Server {
		if i%2 == 0 {
			return []*testenv.Server{s1, s2}
		}
		return []*testenv.Server{s2}
	})
	wl.waitAcked(t, 60)
	s1.Kill(t)
	before, _ := wl.snapshot()
	wl.waitAcked(t, len(before)+60)
	wl.halt()
	acked, failed := wl.snapshot()
	t.Logf("%d creates acknowledged (%d before the kill), %d failed or in doubt", len(acked), len(before), failed)

	assertStored(t, s2, acked)
	if missing, ended := sub.waitAll(acked); len(missing) > 0 {
		t.Fatalf("the subscriber on instance 2 lacks %d acknowledged creates (socket: %v): %v", len(missing), ended, missing)
	}
}
