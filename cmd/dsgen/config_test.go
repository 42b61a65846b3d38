package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
)

// testFlags is a flag set shaped like serve's: a string, a repeatable list,
// a duration, a bool and path flags.
type testFlags struct {
	fs        *flag.FlagSet
	addr      *string
	data      *string
	schema    *string
	grace     *time.Duration
	inMemory  *bool
	apiKeys   listFlag
	conflicts listFlag
}

func newTestFlags(t *testing.T, args ...string) *testFlags {
	t.Helper()
	f := &testFlags{fs: flag.NewFlagSet("serve", flag.ContinueOnError)}
	f.fs.SetOutput(io.Discard)
	f.addr = f.fs.String("addr", "127.0.0.1:20002", "listen `address`")
	f.data = f.fs.String("data", "", "data `directory`")
	f.schema = f.fs.String("schema", "", "schema `file` or directory")
	f.grace = f.fs.Duration("grace", 10*time.Second, "grace")
	f.inMemory = f.fs.Bool("in-memory", false, "in memory")
	f.fs.String("config", "", "settings `file`")
	f.fs.Var(&f.apiKeys, "api-key", "API `key`")
	f.fs.Var(&f.conflicts, "conflict", "`MODEL=STRATEGY`")
	if err := f.fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

// envOf is a getenv over a fixed map.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func TestApplySettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "conf", "dsgen.yml"), `schema: schema.graphql
serve:
  addr: file:1
  data: data-dir
  grace: 3s
  in-memory: true
  api-key: [file-a, file-b]
  conflict: {Post: optimistic, Blog: none}
`)
	f := newTestFlags(t, "--addr", "flag:1", "--api-key", "flag-a")
	src, err := applySettings(f.fs, envOf(map[string]string{
		"DSGEN_SERVE_ADDR":    "env:1",
		"DSGEN_SERVE_API_KEY": "env-a",
		"DSGEN_SERVE_GRACE":   "7s",
		"DSGEN_SERVE_DATA":    "", // empty is unset
	}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	confDir := filepath.Join(dir, "conf")
	for _, c := range []struct{ name, got, want string }{
		{"addr (flag over env and file)", *f.addr, "flag:1"},
		{"api-key (flag over env and file, not merged)", f.apiKeys.String(), "flag-a"},
		{"grace (env over file)", f.grace.String(), "7s"},
		{"data (file, relative to the file)", *f.data, filepath.Join(confDir, "data-dir")},
		{"schema (the file's top-level schema)", *f.schema, filepath.Join(confDir, "schema.graphql")},
		{"conflict (mapping)", f.conflicts.String(), "Blog=none,Post=optimistic"},
	} {
		got := c.got
		if c.name == "conflict (mapping)" {
			// YAML mappings keep file order; compare as a set.
			parts := strings.Split(got, ",")
			if len(parts) == 2 && parts[0] > parts[1] {
				parts[0], parts[1] = parts[1], parts[0]
			}
			got = strings.Join(parts, ",")
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.name, got, c.want)
		}
	}
	if !*f.inMemory {
		t.Error("in-memory: true in the file was not applied")
	}
	if strings.Join(src.FromEnv, ",") != "grace" {
		t.Errorf("FromEnv = %v, want [grace]", src.FromEnv)
	}

	// Env lists are comma-separated; without a file only env applies.
	f = newTestFlags(t)
	if _, err := applySettings(f.fs, envOf(map[string]string{"DSGEN_SERVE_API_KEY": "k1, k2", "DSGEN_SERVE_IN_MEMORY": "true"}), ""); err != nil {
		t.Fatal(err)
	}
	if f.apiKeys.String() != "k1,k2" || !*f.inMemory || *f.addr != "127.0.0.1:20002" {
		t.Errorf("env only: api-key %q, in-memory %v, addr %q", f.apiKeys.String(), *f.inMemory, *f.addr)
	}
}

func TestApplySettingsErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, yml string
		env       map[string]string
		want      []string
	}{
		{"unknown key", "schema: s.graphql\nserve:\n  addr: x\n  apiKey: secret\n", nil,
			[]string{"dsgen.yml:4: unknown key \"apiKey\" in serve (did you mean \"api-key\"?)", "valid keys: addr, api-key,"}},
		{"unknown top-level key", "schema: s.graphql\nsrve:\n  addr: x\n", nil,
			[]string{"dsgen.yml:2: unknown key \"srve\" (did you mean \"serve\"?)", "valid keys: directives, importPath, introspection, out, package, schema, serve"}},
		{"a command-line-only flag", "serve:\n  config: other.yml\n", nil,
			[]string{"dsgen.yml:2: unknown key \"config\" in serve"}},
		{"bad value", "serve:\n  grace: soon\n", nil,
			[]string{"dsgen.yml:2: serve: grace: "}},
		{"list for a single value", "serve:\n  addr: [a, b]\n", nil,
			[]string{"dsgen.yml:2: serve: addr: want a single value"}},
		{"serve not a mapping", "serve: yes\n", nil,
			[]string{"dsgen.yml:1: serve: want a mapping"}},
		{"bad env value", "", map[string]string{"DSGEN_SERVE_GRACE": "soon"},
			[]string{"DSGEN_SERVE_GRACE: "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := writeFile(t, filepath.Join(dir, c.name, "dsgen.yml"), c.yml)
			_, err := applySettings(newTestFlags(t).fs, envOf(c.env), cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "gen.Config") {
				t.Errorf("error %q shows a value or a Go type", err)
			}
		})
	}
}

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

// cleanEnv is the test's environment without DSGEN_SERVE_ variables.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPrefix) {
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
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
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
		if r.code != 1 || !strings.Contains(r.stderr, `dsgen.yml:5: unknown key "output"; valid keys: directives, importPath, introspection, out, package, schema, serve`) ||
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
