package launch

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startDevRun runs o until the test ends and returns its address.
func startDevRun(t *testing.T, o Options) string {
	t.Helper()
	logs := make(logLines, 64)
	o.Stderr = logs
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	hang := time.After(2 * time.Minute)
	for {
		select {
		case rec := <-logs:
			if rec["msg"] == "listening" {
				return rec["addr"].(string)
			}
		case err := <-done:
			done <- err
			t.Fatalf("Run returned before listening: %v", err)
		case <-hang:
			t.Fatal("no listening line")
		}
	}
}

func devTokenFrom(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/console/api/dev-token", "application/json", strings.NewReader(`{"username":"alice","groups":["editors"]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Token
}

func listNotes(t *testing.T, addr, tok string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/graphql", strings.NewReader(`{"query":"{ listNotes { items { id } } }"}`))
	req.Header.Set("Authorization", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRunDevAuth: with --dev-auth and no JWT secret, serve keeps a dev
// secret in the data directory, verifies its dev tokens, and accepts them
// after a restart; without the flag the endpoint does not exist.
func TestRunDevAuth(t *testing.T) {
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "schema.graphql")
	if err := os.WriteFile(schemaPath, []byte(`type Note @model @auth(rules: [{allow: owner}]) { id: ID! title: String }`), 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{Schema: schemaPath, Data: filepath.Join(dir, "data"), Addr: "127.0.0.1:0", DevAuth: true,
		ConflictDefault: "automerge", LogLevel: "info", Metrics: "auto", Grace: time.Minute, MaxBody: 1 << 20, MaxLimit: 100,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: time.Minute}

	var tok string
	t.Run("first start", func(t *testing.T) {
		addr := startDevRun(t, o)
		st, tk := devTokenFrom(t, addr)
		if st != http.StatusOK || tk == "" {
			t.Fatalf("dev-token: HTTP %d", st)
		}
		tok = tk
		if st := listNotes(t, addr, tok); st != http.StatusOK {
			t.Errorf("listNotes with a dev token: HTTP %d", st)
		}
		if st := listNotes(t, addr, "not-a-token"); st != http.StatusUnauthorized {
			t.Errorf("listNotes with a bad token: HTTP %d, want 401", st)
		}
	})
	if _, err := os.Stat(filepath.Join(o.Data, DevSecretFile)); err != nil {
		t.Fatalf("no dev secret kept: %v", err)
	}
	t.Run("restart", func(t *testing.T) {
		addr := startDevRun(t, o)
		if st := listNotes(t, addr, tok); st != http.StatusOK {
			t.Errorf("the first run's dev token after a restart: HTTP %d", st)
		}
	})
	t.Run("without the flag", func(t *testing.T) {
		off := o
		off.DevAuth = false
		off.JWTHS256Secret = "some-secret-of-the-operator"
		addr := startDevRun(t, off)
		if st, _ := devTokenFrom(t, addr); st != http.StatusNotFound {
			t.Errorf("dev-token without --dev-auth: HTTP %d, want 404", st)
		}
		if st := listNotes(t, addr, tok); st != http.StatusUnauthorized {
			t.Errorf("a dev token on a server without --dev-auth (another secret): HTTP %d, want 401", st)
		}
	})
}
