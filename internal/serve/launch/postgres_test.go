package launch

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
)

// startRun runs o in process and returns its address once it listens.
func startRun(t *testing.T, o Options) string {
	t.Helper()
	logs := make(logLines, 64)
	o.Stderr = logs
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	})
	hang := time.After(2 * time.Minute)
	for {
		select {
		case rec := <-logs:
			if rec["msg"] == "listening" {
				if d, _ := rec["data"].(string); !strings.HasPrefix(d, "postgres ") || strings.Contains(d, "secret-pw") {
					t.Errorf("listening line names the data as %q", d)
				}
				return rec["addr"].(string)
			}
		case err := <-done:
			t.Fatalf("Run returned before listening: %v", err)
		case <-hang:
			t.Fatal("no listening line")
		}
	}
}

func gql(t *testing.T, addr, query string) map[string]any {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/graphql", strings.NewReader(string(b)))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-api-key", "da2-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil || out["errors"] != nil {
		t.Fatalf("%s: HTTP %d %s", query, resp.StatusCode, body)
	}
	return out["data"].(map[string]any)
}

// TestRunPostgres serves one schema from two processes' worth of Run on
// one PostgreSQL schema: a write through one is read through the other,
// and a nextToken of one pages on the other.
func TestRunPostgres(t *testing.T) {
	url := pgtest.Schema(t)
	// A password in the URL must not reach the log (trust auth ignores it).
	url = strings.Replace(url, "postgres@", "postgres:secret-pw@", 1)
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "schema.graphql")
	if err := os.WriteFile(schemaPath, []byte(`type Blog @model @auth(rules: [{allow: public}]) { id: ID! name: String! }`), 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{Schema: schemaPath, Store: url, Addr: "127.0.0.1:0", APIKeys: []string{"da2-test"},
		ConflictDefault: "automerge", LogLevel: "info", Metrics: "auto", Grace: time.Minute, MaxBody: 1 << 20, MaxLimit: 100,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: time.Minute}
	a, b := startRun(t, o), startRun(t, o)
	for _, id := range []string{"b1", "b2", "b3"} {
		gql(t, a, `mutation { createBlog(input: {id: "`+id+`", name: "n"}) { id _version } }`)
	}
	first := gql(t, b, `{ syncBlogs(limit: 2) { items { id _version } nextToken startedAt } }`)["syncBlogs"].(map[string]any)
	if n := len(first["items"].([]any)); n != 2 || first["nextToken"] == nil {
		t.Fatalf("first page through b: %v", first)
	}
	tok, _ := json.Marshal(first["nextToken"])
	rest := gql(t, a, `{ syncBlogs(limit: 2, nextToken: `+string(tok)+`) { items { id } nextToken startedAt } }`)["syncBlogs"].(map[string]any)
	if n := len(rest["items"].([]any)); n != 1 || rest["nextToken"] != nil || rest["startedAt"] != first["startedAt"] {
		t.Fatalf("second page through a with b's token: %v (first %v)", rest, first)
	}
}

func TestRunStoreOptionErrors(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Store: "postgres://x/db", InMemory: true}, "--store and --data/--in-memory exclude each other"},
		{Options{Store: "postgres://x/db", Data: "d"}, "--store and --data/--in-memory exclude each other"},
		{Options{Store: "mysql://x/db"}, "--store: want a postgres:// URL"},
	} {
		err := c.o.checkStorage()
		if err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}
