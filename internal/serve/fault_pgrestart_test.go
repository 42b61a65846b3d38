package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
	"github.com/dsgen/dsgen/internal/testenv"
)

// ownCluster starts a throwaway PostgreSQL cluster for t alone (one it may
// restart), with scripts/pg-test.sh and its own state file, stopped when t
// ends. It runs where the shared test server does (pgtest.Server decides
// whether to skip).
type ownCluster struct {
	script, state, URL string
}

func startOwnCluster(t *testing.T) *ownCluster {
	t.Helper()
	pgtest.Server(t)
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	c := &ownCluster{script: filepath.Join(root, "scripts", "pg-test.sh"), state: filepath.Join(t.TempDir(), "pg-test.state")}
	out, err := c.run("start")
	if err != nil {
		t.Fatalf("start a PostgreSQL cluster: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := c.run("stop"); err != nil {
			t.Errorf("stop the PostgreSQL cluster: %v\n%s", err, out)
		}
	})
	c.URL = strings.TrimSpace(out)
	return c
}

func (c *ownCluster) run(cmd string) (string, error) {
	x := exec.Command(c.script, cmd)
	x.Env = append(os.Environ(), "PG_TEST_STATE="+c.state)
	var stderr strings.Builder
	x.Stderr = &stderr
	out, err := x.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

// goSyncClient is dsgen's sync engine in its own process
// (runtime/syncengine/testdata/client) on a Badger directory.
type goSyncClient struct{ p *testenv.Proc }

func startGoSyncClient(t *testing.T, s *testenv.Server) *goSyncClient {
	t.Helper()
	c := &goSyncClient{p: testenv.RunGoProgram(t, "./runtime/syncengine/testdata/client", "-dir", t.TempDir(), "-url", s.URL, "-key", s.APIKey)}
	c.await(t, "ready")
	return c
}

func (c *goSyncClient) await(t *testing.T, key string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(frameWait)
	for time.Now().Before(deadline) {
		line := c.p.NextLine(t, time.Until(deadline))
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			if _, ok := m[key]; ok {
				return m
			}
		}
	}
	t.Fatalf("sync client: no %q line; stderr:\n%s", key, c.p.Stderr())
	return nil
}

func (c *goSyncClient) do(t *testing.T, cmd map[string]any, key string) map[string]any {
	t.Helper()
	if err := c.p.Send(cmd); err != nil {
		t.Fatal(err)
	}
	return c.await(t, key)
}

// versions lists the client's posts as id → _version.
func (c *goSyncClient) versions(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, p := range c.do(t, map[string]any{"op": "list"}, "posts")["posts"].([]any) {
		m := p.(map[string]any)
		v, _ := m["_version"].(float64)
		out[m["id"].(string)] = int64(v)
	}
	return out
}

// serverVersions lists the server's live posts as id → _version.
func serverVersions(t *testing.T, s *testenv.Server) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	var token any
	for {
		r := s.Do(t, `query($t: String) { listPosts(limit: 1000, nextToken: $t) { items { id _version _deleted } nextToken } }`, map[string]any{"t": token})
		if r["errors"] != nil {
			t.Fatalf("listPosts: %v", r["errors"])
		}
		conn := r["data"].(map[string]any)["listPosts"].(map[string]any)
		for _, it := range conn["items"].([]any) {
			m := it.(map[string]any)
			if m["_deleted"] != true {
				out[m["id"].(string)] = int64(m["_version"].(float64))
			}
		}
		if conn["nextToken"] == nil {
			return out
		}
		token = conn["nextToken"]
	}
}

// diff describes how got differs from want, "" when equal.
func diff(got, want map[string]int64) string {
	var b strings.Builder
	n := 0
	for id, v := range want {
		if got[id] != v && n < 5 {
			fmt.Fprintf(&b, "%s: v%d, want v%d; ", id, got[id], v)
			n++
		} else if got[id] != v {
			n++
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			n++
			if n <= 5 {
				fmt.Fprintf(&b, "%s: not on the server; ", id)
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d differences: %s", n, b.String())
}

// TestPostgresRestartUnderLoad: two `dsgen serve` processes on a cluster
// of the test's own, six HTTP writers and a Go sync-engine client on each
// instance writing too. PostgreSQL is restarted (pg_ctl restart -m fast:
// every connection dropped) mid-load. Both instances serve writes again
// without being restarted, every acknowledged create is stored, and both
// clients converge on the server's posts and versions.
func TestPostgresRestartUnderLoad(t *testing.T) {
	cluster := startOwnCluster(t)
	schema := blogSchemaFile(t)
	s1 := testenv.StartServer(t, testenv.ServerOptions{Schema: schema, Store: cluster.URL})
	s2 := testenv.StartServer(t, testenv.ServerOptions{Schema: schema, Store: cluster.URL})
	c1 := startGoSyncClient(t, s1)
	c2 := startGoSyncClient(t, s2)

	wl := startWriters(t, 6, func(i int) []*testenv.Server {
		if i%2 == 0 {
			return []*testenv.Server{s1, s2}
		}
		return []*testenv.Server{s2, s1}
	})
	wl.waitAcked(t, 40)
	c1.do(t, map[string]any{"op": "save", "id": "c1-before", "title": "before"}, "ok")
	c2.do(t, map[string]any{"op": "save", "id": "c2-before", "title": "before"}, "ok")
	if out, err := cluster.run("restart"); err != nil {
		t.Fatalf("restart PostgreSQL: %v\n%s", err, out)
	}
	// Local writes during and after the outage queue in the clients'
	// outboxes and must get through.
	c1.do(t, map[string]any{"op": "save", "id": "c1-after", "title": "after"}, "ok")
	c2.do(t, map[string]any{"op": "save", "id": "c2-after", "title": "after"}, "ok")
	before, _ := wl.snapshot()
	wl.waitAcked(t, len(before)+40)
	wl.halt()
	acked, failed := wl.snapshot()
	t.Logf("%d creates acknowledged (%d before the restart), %d failed or in doubt", len(acked), len(before), failed)

	// Both instances recovered on their own: each serves a write.
	for i, s := range []*testenv.Server{s1, s2} {
		out := s.Do(t, procCreatePost, map[string]any{"input": map[string]any{"id": fmt.Sprintf("probe-%d", i), "title": "probe"}})
		if out["errors"] != nil {
			t.Fatalf("instance %d after the restart: %v", i+1, out["errors"])
		}
	}
	assertStored(t, s1, acked)

	// Convergence: both clients end with exactly the server's posts.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The clients' outboxes drain in the background (retrying while the
	// database was down): wait for their posts to reach the server.
	var want map[string]int64
	for {
		want = serverVersions(t, s2)
		missing := 0
		for _, id := range []string{"c1-before", "c2-before", "c1-after", "c2-after"} {
			if want[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d of the clients' posts never reached the server (%v); client 1: %v %v; client 2: %v %v", missing, want,
				c1.do(t, map[string]any{"op": "outbox"}, "outbox"), c1.do(t, map[string]any{"op": "report"}, "failed"),
				c2.do(t, map[string]any{"op": "outbox"}, "outbox"), c2.do(t, map[string]any{"op": "report"}, "failed"))
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond): // polling: no event to wait on
		}
	}
	for name, c := range map[string]*goSyncClient{"client 1": c1, "client 2": c2} {
		for {
			d := diff(c.versions(t), want)
			if d == "" {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s did not converge: %s\nstderr:\n%s", name, d, c.p.Stderr())
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond): // polling a process: no event to wait on
			}
		}
	}
}
