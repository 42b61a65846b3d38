package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeLimitFlags runs dsgen serve with small limits and timeouts and
// wants each to reach the server.
func TestServeLimitFlags(t *testing.T) {
	bin := dsgenBinary(t)
	dir := newProject(t, twoModels)
	p := startServe(t, bin, "--schema", filepath.Join(dir, "schema.graphql"), "--in-memory",
		"--addr", "127.0.0.1:0", "--api-key", "da2-test",
		"--max-root-fields", "1", "--max-response", "300", "--read-timeout", "200ms")
	url := "http://" + p.addr + "/graphql"
	client := &http.Client{Timeout: time.Minute}
	post := func(query string) (int, string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query})
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("x-api-key", "da2-test")
		req.Header.Set("content-type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	for i := range 5 {
		gql(t, client, url, "da2-test", `mutation($i: CreateBlogInput!) { createBlog(input: $i) { id } }`,
			map[string]any{"i": map[string]any{"id": fmt.Sprint(i), "name": strings.Repeat("n", 100)}})
	}
	if status, raw := post(`{ a: getBlog(id: "0") { id } b: getBlog(id: "1") { id } }`); status != http.StatusBadRequest || !strings.Contains(raw, "the maximum is 1") {
		t.Errorf("--max-root-fields 1: HTTP %d %s", status, raw)
	}
	if status, raw := post(`{ listBlogs { items { id name } } }`); status != http.StatusOK || !strings.Contains(raw, "LimitExceededError") || !strings.Contains(raw, "larger than 300 bytes") {
		t.Errorf("--max-response 300: HTTP %d %s", status, raw)
	}

	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST /graphql HTTP/1.1\r\nHost: x\r\nX-Api-Key: da2-test\r\nContent-Length: 100\r\n\r\n{")
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("--read-timeout 200ms: the connection stayed open: %v (read %q)", err, got)
	}
	if !strings.HasPrefix(string(got), "HTTP/1.1 408") {
		t.Errorf("--read-timeout 200ms: got %q, want a 408", got)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}
}

// TestServeMaxConnections runs dsgen serve with DSGEN_SERVE_MAX_CONNECTIONS=1
// (the --max-connections flag's variable) and wants a second connection,
// while a first is open, answered 503 with Retry-After and closed.
func TestServeMaxConnections(t *testing.T) {
	bin := dsgenBinary(t)
	dir := newProject(t, twoModels)
	cmd := exec.Command(bin, "serve", "--schema", filepath.Join(dir, "schema.graphql"), "--in-memory",
		"--addr", "127.0.0.1:0", "--api-key", "da2-test")
	cmd.Dir, cmd.Env = dir, cleanEnv("DSGEN_SERVE_MAX_CONNECTIONS=1")
	p := startServeCmd(t, cmd)
	if !strings.Contains(p.log(), `"maxConnections":1`) {
		t.Errorf("the listening line does not say maxConnections 1:\n%s", p.log())
	}
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil { // hang guard
			t.Fatal(err)
		}
		return c, bufio.NewReader(c)
	}
	health := "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	first, br := dial()
	defer first.Close()
	fmt.Fprint(first, health)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first connection: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	second, br := dial()
	defer second.Close()
	fmt.Fprint(second, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err = http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second connection: %v %v", resp, err)
	}
	if rest, err := io.ReadAll(br); err != nil || !strings.Contains(string(rest), "ServiceUnavailable") {
		t.Errorf("second connection: %q %v, want the error and the connection closed", rest, err)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}
}
