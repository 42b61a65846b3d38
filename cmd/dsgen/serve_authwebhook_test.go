package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

const customNotes = `
type Note @model @auth(rules: [{allow: custom}]) { id: ID! content: String }
`

// TestServeAuthWebhook runs dsgen serve with its Lambda authorizer webhook
// named by DSGEN_SERVE_AUTH_WEBHOOK and --auth-webhook-ttl 0 (no caching):
// the token the webhook accepts creates and lists notes, each request asks
// the webhook, a refused token gets 401, and a plain http webhook off
// loopback, from the flag or dsgen.yml, keeps the server from starting.
func TestServeAuthWebhook(t *testing.T) {
	bin := dsgenBinary(t)
	dir := newProject(t, customNotes)
	schema := filepath.Join(dir, "schema.graphql")
	var calls atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var ev struct {
			Token string `json:"authorizationToken"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		io.WriteString(w, `{"isAuthorized": `+map[bool]string{true: "true", false: "false"}[ev.Token == "letmein"]+`}`)
	}))
	defer hook.Close()

	cmd := exec.Command(bin, "serve", "--schema", schema, "--in-memory", "--addr", "127.0.0.1:0", "--auth-webhook-ttl", "0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DSGEN_SERVE_AUTH_WEBHOOK="+hook.URL)
	p := startServeCmd(t, cmd)
	url := "http://" + p.addr + "/graphql"
	ok := map[string]string{"authorization": "letmein"}
	if status, out := gqlAs(t, url, ok, `mutation { createNote(input: {id: "n1", content: "hi"}) { id } }`, nil); status != http.StatusOK || out["errors"] != nil {
		t.Fatalf("createNote with the accepted token: %d %v\n%s", status, out, p.log())
	}
	if status, out := gqlAs(t, url, ok, `{ listNotes { items { id } } }`, nil); status != http.StatusOK || !strings.Contains(toJSON(out), `"n1"`) {
		t.Fatalf("listNotes with the accepted token: %d %v", status, out)
	}
	if status, out := gqlAs(t, url, map[string]string{"authorization": "nope"}, `{ listNotes { items { id } } }`, nil); status != http.StatusUnauthorized || !strings.Contains(toJSON(out), "UnauthorizedException") {
		t.Errorf("refused token: %d %v, want 401 UnauthorizedException", status, out)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("webhook calls = %d, want 3 (--auth-webhook-ttl 0 keeps no decision)", n)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d\n%s", code, p.log())
	}

	r := runIn(t, bin, dir, "serve", "--schema", schema, "--in-memory", "--addr", "127.0.0.1:0", "--auth-webhook", "http://auth.example.com/")
	if r.code != 1 || !strings.Contains(r.stderr, "must use https") {
		t.Errorf("plain http webhook off loopback: exit %d, stderr %q; want 1 and \"must use https\"", r.code, r.stderr)
	}
	// The same from dsgen.yml: the key is known and reaches the server.
	must(t, os.WriteFile(filepath.Join(dir, "dsgen.yml"), []byte("schema: schema.graphql\nserve:\n  in-memory: true\n  addr: 127.0.0.1:0\n  auth-webhook: http://auth.example.com/\n"), 0o644))
	r = runIn(t, bin, dir, "serve")
	if r.code != 1 || !strings.Contains(r.stderr, "auth.example.com") || !strings.Contains(r.stderr, "must use https") {
		t.Errorf("auth-webhook in dsgen.yml: exit %d, stderr %q; want 1 and \"must use https\"", r.code, r.stderr)
	}
}
