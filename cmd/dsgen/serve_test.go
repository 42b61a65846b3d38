package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hangGuard bounds a wait for something that must happen, so a broken
// test fails instead of hanging. It is no timing assertion: minutes, so a
// loaded machine never trips it.
const hangGuard = 5 * time.Minute

// serveProc is a running `dsgen serve` process.
type serveProc struct {
	cmd     *exec.Cmd
	addr    string
	devCert string
	done    chan error
	// scanned is closed once every line of stderr has been read.
	scanned chan struct{}

	mu     sync.Mutex
	stderr bytes.Buffer
}

// log returns what the process wrote to stderr so far.
func (p *serveProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// startServe runs dsgen serve and waits for its "listening" log line.
func startServe(t *testing.T, bin string, args ...string) *serveProc {
	t.Helper()
	return startServeCmd(t, exec.Command(bin, append([]string{"serve"}, args...)...))
}

// startServeCmd runs a prepared dsgen serve command (its Dir and Env set)
// and waits for its "listening" log line.
func startServeCmd(t *testing.T, cmd *exec.Cmd) *serveProc {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, done: make(chan error, 1), scanned: make(chan struct{})}
	lines := make(chan map[string]any, 16)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.Write(append(sc.Bytes(), '\n'))
			p.mu.Unlock()
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				select {
				case lines <- rec:
				default:
				}
			}
		}
		close(lines)
		close(p.scanned)
	}()
	go func() { p.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.After(hangGuard)
	for {
		select {
		case rec, ok := <-lines:
			if !ok {
				t.Fatalf("dsgen serve exited before listening:\n%s", p.log())
			}
			if rec["msg"] == "listening" {
				p.addr, _ = rec["addr"].(string)
				p.devCert, _ = rec["devCert"].(string)
				return p
			}
		case <-deadline:
			t.Fatalf("dsgen serve did not log a listening line withbefore the hang guard:\n%s", p.log())
		}
	}
}

// stop sends SIGTERM and returns the exit code.
func (p *serveProc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(hangGuard):
		t.Fatal("dsgen serve did not stop withbefore the hang guard of SIGTERM")
	}
	<-p.scanned
	return p.cmd.ProcessState.ExitCode()
}

func gql(t *testing.T, client *http.Client, url, key, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("x-api-key", key)
	req.Header.Set("content-type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("response is not JSON: %v", err)
	}
	if out["errors"] != nil {
		t.Fatalf("%s: errors %v", query, out["errors"])
	}
	return out["data"].(map[string]any)
}

func TestServe(t *testing.T) {
	bin := dsgenBinary(t)
	dir := newProject(t, twoModels)

	t.Run("print-schema", func(t *testing.T) {
		r := runIn(t, bin, dir, "serve", "--schema", "schema.graphql", "--print-schema")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for _, want := range []string{
			"syncPosts(filter: ModelPostFilterInput, limit: Int, nextToken: String, lastSync: AWSTimestamp): ModelPostConnection",
			"_version: Int!", "onCreateBlog(filter: ModelSubscriptionBlogFilterInput): Blog @aws_subscribe(mutations: [\"createBlog\"])",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("printed schema lacks %q", want)
			}
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"serve"},
			{"serve", "--schema", "schema.graphql", "--conflict", "Post"},
			{"serve", "--schema", "schema.graphql", "--conflict-default", "fancy"},
			{"serve", "--schema", "schema.graphql", "--in-memory", "--data", "x"},
			{"serve", "--schema", "schema.graphql", "--tls-cert", "a.pem"},
			{"serve", "--schema", "schema.graphql", "--api-key", "k@tomorrow"},
		} {
			if r := runIn(t, bin, dir, args...); r.code != 2 || r.stderr == "" {
				t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, r.code, r.stderr)
			}
		}
		r := runIn(t, bin, dir, "serve", "--schema", "missing.graphql")
		if r.code != 1 || !strings.Contains(r.stderr, "missing.graphql") {
			t.Errorf("missing schema: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("restart keeps data and tokens; TLS on the same port", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		args := []string{"--schema", filepath.Join(dir, "schema.graphql"), "--data", data,
			"--addr", "127.0.0.1:0", "--api-key", "da2-test", "--dev-tls"}
		p := startServe(t, bin, args...)
		plain := &http.Client{Timeout: hangGuard}
		url := "http://" + p.addr + "/graphql"
		for _, name := range []string{"a", "b", "c"} {
			gql(t, plain, url, "da2-test", `mutation($i: CreateBlogInput!) { createBlog(input: $i) { id } }`,
				map[string]any{"i": map[string]any{"id": name, "name": "blog " + name}})
		}
		page := gql(t, plain, url, "da2-test", `{ syncBlogs(limit: 2) { items { id } nextToken startedAt } }`, nil)["syncBlogs"].(map[string]any)
		token, _ := page["nextToken"].(string)
		if token == "" {
			t.Fatalf("first page of 2 of 3 has no nextToken: %v", page)
		}

		// The same port answers HTTPS with the dev certificate.
		pem, err := os.ReadFile(p.devCert)
		if err != nil {
			t.Fatalf("dev certificate: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatal("dev certificate is not PEM")
		}
		secure := &http.Client{Timeout: hangGuard, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		got := gql(t, secure, "https://"+p.addr+"/graphql", "da2-test", `{ getBlog(id: "a") { name _version } }`, nil)
		if b := got["getBlog"].(map[string]any); b["name"] != "blog a" || b["_version"] != float64(1) {
			t.Fatalf("getBlog over HTTPS = %v", b)
		}

		// A second server on the same data directory is refused.
		r := runIn(t, bin, dir, append([]string{"serve"}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "data store") {
			t.Errorf("second server on the same data: exit %d, stderr %q", r.code, r.stderr)
		}

		if code := p.stop(t); code != 0 {
			t.Fatalf("exit code after SIGTERM = %d\n%s", code, p.log())
		}
		if !strings.Contains(p.log(), `"msg":"stopped"`) {
			t.Errorf("no stopped log line:\n%s", p.log())
		}

		p = startServe(t, bin, args...)
		url = "http://" + p.addr + "/graphql"
		rest := gql(t, plain, url, "da2-test", `query($t: String) { syncBlogs(limit: 2, nextToken: $t) { items { id } nextToken startedAt } }`,
			map[string]any{"t": token})["syncBlogs"].(map[string]any)
		if items := rest["items"].([]any); len(items) != 1 || rest["startedAt"] != page["startedAt"] {
			t.Fatalf("second page after restart = %v (first page %v)", rest, page)
		}
		p.stop(t)
	})

	t.Run("unsafe-no-fsync warns and still serves", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		p := startServe(t, bin, "--schema", filepath.Join(dir, "schema.graphql"), "--data", data,
			"--addr", "127.0.0.1:0", "--api-key", "da2-test", "--unsafe-no-fsync")
		if !strings.Contains(p.log(), `"level":"WARN","msg":"--unsafe-no-fsync`) {
			t.Errorf("no warning about --unsafe-no-fsync at start:\n%s", p.log())
		}
		client := &http.Client{}
		gql(t, client, "http://"+p.addr+"/graphql", "da2-test", `mutation($i: CreateBlogInput!) { createBlog(input: $i) { id } }`,
			map[string]any{"i": map[string]any{"id": "a", "name": "blog a"}})
		if code := p.stop(t); code != 0 {
			t.Fatalf("exit code after SIGTERM = %d\n%s", code, p.log())
		}
	})
}
