package syncengine_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/testenv"
)

// clientProc drives testdata/client, a sync client in its own process.
type clientProc struct {
	p *testenv.Proc
}

func startClientProc(t *testing.T, dir, url, key string) *clientProc {
	t.Helper()
	return &clientProc{p: testenv.RunGoProgram(t, "./runtime/syncengine/testdata/client", "-dir", dir, "-url", url, "-key", key)}
}

// await reads lines until one holds key, skipping the others.
func (c *clientProc) await(t *testing.T, key string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		line := c.p.NextLine(t, time.Until(deadline))
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			if _, ok := m[key]; ok {
				return m
			}
		}
	}
	t.Fatalf("client process: no %q line before the hang guard; stderr:\n%s", key, c.p.Stderr())
	return nil
}

func (c *clientProc) save(t *testing.T, id, title string) {
	t.Helper()
	if err := c.p.Send(map[string]any{"op": "save", "id": id, "title": title}); err != nil {
		t.Fatal(err)
	}
	if got := c.await(t, "ok"); got["ok"] != id {
		t.Fatalf("save %s acknowledged %v", id, got)
	}
}

// serverPosts lists the server's posts by id.
func serverPosts(t *testing.T, s *testenv.Server) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	token := any(nil)
	for {
		r := s.Do(t, `query($t: String) { listPosts(limit: 1000, nextToken: $t) { items { id title _version _deleted } nextToken } }`, map[string]any{"t": token})
		if r["errors"] != nil {
			t.Fatalf("listPosts: %v", r["errors"])
		}
		conn := r["data"].(map[string]any)["listPosts"].(map[string]any)
		for _, it := range conn["items"].([]any) {
			m := it.(map[string]any)
			out[m["id"].(string)] = m
		}
		if conn["nextToken"] == nil {
			return out
		}
		token = conn["nextToken"]
	}
}

// TestKilledDuringDrain kills the client process (SIGKILL) while its outbox
// drains, restarts it on the same directory, and checks that every write it
// acknowledged reaches the server exactly once.
func TestKilledDuringDrain(t *testing.T) {
	t.Parallel()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	srv := testenv.StartServer(t, testenv.ServerOptions{Schema: filepath.Join(root, "examples", "blog", "schema.graphql")})
	proxy := testenv.NewProxy(t, srv.Addr)
	dir := t.TempDir()
	url := proxy.URL("/graphql")

	c := startClientProc(t, dir, url, srv.APIKey)
	c.await(t, "ready")
	const n = 100
	for i := range n {
		c.save(t, fmt.Sprintf("p%03d", i), "v1")
	}
	waitServer(t, srv, "all creates on the server", func(posts map[string]map[string]any) bool { return len(posts) == n })

	// Offline, every post gets an update, acknowledged locally.
	proxy.SetMode(testenv.Refuse)
	proxy.CutAll()
	for i := range n {
		c.save(t, fmt.Sprintf("p%03d", i), "v2")
	}
	// Back online: kill the client as soon as some updates have landed.
	proxy.SetMode(testenv.Pass)
	waitServer(t, srv, "some updates on the server", func(posts map[string]map[string]any) bool { return countTitle(posts, "v2") >= 5 })
	if err := c.p.Kill(); err != nil {
		t.Fatal(err)
	}
	landed := countTitle(serverPosts(t, srv), "v2")
	t.Logf("killed with %d of %d updates on the server", landed, n)

	c = startClientProc(t, dir, url, srv.APIKey)
	c.await(t, "ready")
	waitServer(t, srv, "every update on the server", func(posts map[string]map[string]any) bool { return countTitle(posts, "v2") == n })
	for id, p := range serverPosts(t, srv) {
		if v := p["_version"]; v != float64(2) {
			t.Errorf("%s: _version %v, want 2 (one create, one update: nothing applied twice)", id, v)
		}
	}
	if err := c.p.Send(map[string]any{"op": "outbox"}); err != nil {
		t.Fatal(err)
	}
	if got := c.await(t, "outbox"); got["outbox"] != float64(0) {
		t.Fatalf("outbox after the drain = %v", got["outbox"])
	}
}

func countTitle(posts map[string]map[string]any, title string) int {
	n := 0
	for _, p := range posts {
		if p["title"] == title {
			n++
		}
	}
	return n
}

func waitServer(t *testing.T, s *testenv.Server, what string, ok func(map[string]map[string]any) bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		posts := serverPosts(t, s)
		if ok(posts) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not before the hang guard: %s (server has %d posts); server log tail:\n%s", what, len(posts), tail(s.Log(), 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
