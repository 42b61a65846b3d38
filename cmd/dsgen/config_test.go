package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve/auth"
)

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

// cleanEnv is the test's environment without DSGEN_ variables.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DSGEN_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// status posts a query to url with header name: value and returns the
// HTTP status, or 299 for a 200 that carries GraphQL errors.
func status(t *testing.T, url, name, value string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": `{ listBlogs { items { id } } }`})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("content-type", "application/json")
	req.Header.Set(name, value)
	resp, err := (&http.Client{Timeout: hangGuard}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Errors []any }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("response is not JSON: %v", err)
	}
	if resp.StatusCode == http.StatusOK && len(out.Errors) > 0 {
		t.Logf("HTTP 200 with errors %v", out.Errors)
		return 299
	}
	return resp.StatusCode
}

func TestServeSettings(t *testing.T) {
	bin := dsgenBinary(t)
	dir := newProject(t, twoModels)
	writeFile(t, filepath.Join(dir, "dsgen.yml"), `schema: schema.graphql
out: model
serve:
  addr: 127.0.0.1:0
  in-memory: true
  api-key: [file-key]
`)
	// Run from a subdirectory: the file is found up the tree and its
	// schema path is relative to it.
	sub := filepath.Join(dir, "cmd", "app")
	must(t, os.MkdirAll(sub, 0o755))

	t.Run("flag over env over file", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			env    []string
			args   []string
			accept string
			refuse []string
		}{
			{"file", nil, nil, "file-key", []string{"env-key"}},
			{"env", []string{"DSGEN_SERVE_API_KEY=env-key"}, nil, "env-key", []string{"file-key"}},
			{"flag", []string{"DSGEN_SERVE_API_KEY=env-key"}, []string{"--api-key", "flag-key"}, "flag-key", []string{"env-key", "file-key"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				cmd := exec.Command(bin, append([]string{"serve"}, c.args...)...)
				cmd.Dir, cmd.Env = sub, cleanEnv(c.env...)
				p := startServeCmd(t, cmd)
				url := "http://" + p.addr + "/graphql"
				if got := status(t, url, "x-api-key", c.accept); got != http.StatusOK {
					t.Errorf("%s: HTTP %d, want 200", c.accept, got)
				}
				for _, k := range c.refuse {
					if got := status(t, url, "x-api-key", k); got != http.StatusUnauthorized {
						t.Errorf("%s: HTTP %d, want 401", k, got)
					}
				}
				p.stop(t)
			})
		}
	})

	t.Run("secrets by environment only", func(t *testing.T) {
		const apiKey = "da2-env-only-api-key-0123456789"
		secret := []byte("hs256-env-only-secret-0123456789")
		// Blogs are readable with an API key (public) and a token (private).
		pdir := newProject(t, `type Blog @model @auth(rules: [{allow: public}, {allow: private}]) { id: ID! name: String! }`)
		writeFile(t, filepath.Join(pdir, "dsgen.yml"), "schema: schema.graphql\nserve:\n  addr: 127.0.0.1:0\n  in-memory: true\n")
		cmd := exec.Command(bin, "serve", "--log-level", "debug")
		cmd.Dir = pdir
		cmd.Env = cleanEnv("DSGEN_SERVE_API_KEY="+apiKey, "DSGEN_SERVE_JWT_HS256_SECRET="+string(secret))
		p := startServeCmd(t, cmd)
		if b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "cmdline")); err == nil {
			if bytes.Contains(b, []byte(apiKey)) || bytes.Contains(b, secret) {
				t.Errorf("a secret is in the process list: %q", b)
			}
		}
		url := "http://" + p.addr + "/graphql"
		if got := status(t, url, "x-api-key", apiKey); got != http.StatusOK {
			t.Errorf("API key from the environment: HTTP %d", got)
		}
		now := time.Now()
		tok, err := auth.SignHS256(secret, map[string]any{"sub": "u1", "username": "u1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		must(t, err)
		if got := status(t, url, "authorization", tok); got != http.StatusOK {
			t.Errorf("JWT signed with the secret from the environment: HTTP %d", got)
		}
		if got := status(t, url, "x-api-key", "da2-wrong"); got != http.StatusUnauthorized {
			t.Errorf("wrong key: HTTP %d", got)
		}
		resp, err := http.Get("http://" + p.addr + "/metrics")
		must(t, err)
		metrics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(metrics), `dsgen_graphql_requests_total{operation="listBlogs",outcome="ok"} 2`) {
			t.Errorf("/metrics on loopback: HTTP %d\n%s", resp.StatusCode, metrics)
		}
		p.stop(t)
		logs := p.log()
		if strings.Contains(logs, apiKey) || strings.Contains(logs, string(secret)) {
			t.Errorf("a secret is in the log:\n%s", logs)
		}
		if !strings.Contains(logs, `"fromEnv":["api-key","jwt-hs256-secret"]`) {
			t.Errorf("the listening line does not name the settings taken from the environment:\n%s", logs)
		}
	})

	t.Run("errors name the file, line and key", func(t *testing.T) {
		bad := newProject(t, twoModels)
		writeFile(t, filepath.Join(bad, "dsgen.yml"), "schema: schema.graphql\nserve:\n  in-memory: true\n  api_key: k\n")
		r := runIn(t, bin, bad, "serve")
		if r.code != 1 || !strings.Contains(r.stderr, `dsgen.yml:4: unknown key "api_key" in serve (did you mean "api-key"?)`) {
			t.Errorf("serve: exit %d, %q", r.code, r.stderr)
		}
		// generate reads the same file: its serve section is no error,
		// but an unknown key is, with its line and not a Go type.
		writeFile(t, filepath.Join(bad, "dsgen.yml"), "schema: schema.graphql\nout: model\nserve:\n  addr: 127.0.0.1:0\noutput: x\n")
		r = runIn(t, bin, bad, "generate")
		if r.code != 1 || !strings.Contains(r.stderr, `dsgen.yml:5: unknown key "output"; valid keys: directives, importPath, introspection, lock, out, package, schema, serve`) ||
			strings.Contains(r.stderr, "gen.Config") {
			t.Errorf("generate: exit %d, %q", r.code, r.stderr)
		}
		writeFile(t, filepath.Join(bad, "dsgen.yml"), "schema: schema.graphql\nout: model\nserve:\n  addr: 127.0.0.1:0\n")
		if r := runIn(t, bin, bad, "generate", "-q"); r.code != 0 {
			t.Errorf("generate with a serve section: exit %d, %q", r.code, r.stderr)
		}
		// A bad expiry is reported without the key, a secret.
		cmd := exec.Command(bin, "serve")
		cmd.Dir, cmd.Env = bad, cleanEnv("DSGEN_SERVE_API_KEY=da2-topsecret@tomorrow")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); cmd.ProcessState.ExitCode() != 2 || !strings.Contains(stderr.String(), `"tomorrow"`) || strings.Contains(stderr.String(), "topsecret") {
			t.Errorf("bad API key expiry: %v, %q", err, stderr.String())
		}
		r = runIn(t, bin, bad, "serve", "--config", "missing.yml")
		if r.code != 1 || !strings.Contains(r.stderr, "missing.yml") {
			t.Errorf("--config missing.yml: exit %d, %q", r.code, r.stderr)
		}
	})
}

func TestVersionSpellings(t *testing.T) {
	bin := dsgenBinary(t)
	want := runIn(t, bin, t.TempDir(), "version")
	if want.code != 0 || !strings.HasPrefix(want.stdout, "dsgen ") {
		t.Fatalf("dsgen version: exit %d, %q", want.code, want.stdout)
	}
	for _, arg := range []string{"--version", "-v", "-version"} {
		if r := runIn(t, bin, t.TempDir(), arg); r.code != 0 || r.stdout != want.stdout {
			t.Errorf("dsgen %s: exit %d, %q; want %q", arg, r.code, r.stdout, want.stdout)
		}
	}
}
