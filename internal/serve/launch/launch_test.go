package launch

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
)

func TestMetricsAccessAuto(t *testing.T) {
	for addr, want := range map[string]serve.MetricsAccess{
		"127.0.0.1:0": serve.MetricsOpen, "localhost:8080": serve.MetricsOpen, "[::1]:1": serve.MetricsOpen,
		"0.0.0.0:20002": serve.MetricsAuth, ":20002": serve.MetricsAuth, "10.1.2.3:80": serve.MetricsAuth,
	} {
		if got, err := metricsAccess("auto", addr); err != nil || got != want {
			t.Errorf("auto on %s = %q, %v; want %q", addr, got, err, want)
		}
	}
	if got, _ := metricsAccess("off", "127.0.0.1:0"); got != serve.MetricsOff {
		t.Errorf("off on loopback = %q", got)
	}
	if _, err := metricsAccess("public", "127.0.0.1:0"); err == nil {
		t.Error("an unknown mode was accepted")
	}
}

// logLines is an io.Writer that hands each JSON log line to a channel,
// dropping lines when the channel is full.
type logLines chan map[string]any

func (l logLines) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil {
			select {
			case l <- rec:
			default: // lines nobody waits for are dropped
			}
		}
	}
	return len(b), nil
}

// TestRun serves a schema in process from Options alone, on a real
// listener and an on-disk store, and stops when its context ends.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "schema.graphql")
	if err := os.WriteFile(schemaPath, []byte(`type Blog @model @auth(rules: [{allow: public}]) { id: ID! name: String! }`), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := make(logLines, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	o := Options{Schema: schemaPath, Data: filepath.Join(dir, "data"), Addr: "127.0.0.1:0", APIKeys: []string{"da2-test"},
		ConflictDefault: "automerge", LogLevel: "info", Metrics: "auto", Grace: time.Minute, MaxBody: 1 << 20, MaxLimit: 100,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: time.Minute, Stderr: logs}
	go func() { done <- Run(ctx, o) }()

	var addr string
	hang := time.After(2 * time.Minute)
	for addr == "" {
		select {
		case rec := <-logs:
			if rec["msg"] == "listening" {
				addr, _ = rec["addr"].(string)
				if rec["data"] != o.Data || rec["tls"] != false {
					t.Errorf("listening line %v", rec)
				}
			}
		case err := <-done:
			t.Fatalf("Run returned before listening: %v", err)
		case <-hang:
			t.Fatal("no listening line")
		}
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/graphql", strings.NewReader(`{"query":"{ listBlogs { items { id } } }"}`))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-api-key", "da2-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"listBlogs":{"items":[]`) {
		t.Errorf("listBlogs: HTTP %d %s", resp.StatusCode, body)
	}
	if _, err := os.Stat(filepath.Join(o.Data, "token-secret")); err != nil {
		t.Errorf("no token secret in the data directory: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}

func TestRunOptionErrors(t *testing.T) {
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "schema.graphql")
	if err := os.WriteFile(schemaPath, []byte(`type Blog @model { id: ID! }`), 0o644); err != nil {
		t.Fatal(err)
	}
	base := Options{Schema: schemaPath, ConflictDefault: "automerge", LogLevel: "info", Metrics: "auto", InMemory: true, Addr: "127.0.0.1:0"}
	for _, c := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"log level", func(o *Options) { o.LogLevel = "loud" }, "--log-level"},
		{"conflict", func(o *Options) { o.Conflicts = []string{"Blog"} }, `--conflict "Blog": want MODEL=STRATEGY`},
		{"api key expiry", func(o *Options) { o.APIKeys = []string{"da2-secret@soon"} }, `--api-key: the expiry "soon"`},
		{"data and in-memory", func(o *Options) { o.Data = dir }, "--data and --in-memory exclude each other"},
		{"tls pair", func(o *Options) { o.TLSCert = "c.pem" }, "--tls-cert and --tls-key go together"},
		{"cors origin", func(o *Options) { o.CORSOrigins = []string{"localhost:3000", "[x"} }, `--cors-origin "[x"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := base
			c.edit(&o)
			err := Run(context.Background(), o)
			var oe *OptionError
			if !errors.As(err, &oe) || !strings.Contains(oe.Msg, c.want) || strings.Contains(oe.Msg, "secret") {
				t.Errorf("error %v, want an OptionError containing %q", err, c.want)
			}
		})
	}
}
