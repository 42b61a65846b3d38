package testenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts of the server's lifecycle. They bound how long a broken server
// can hang a test; a healthy one starts and stops in well under a second.
const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	// bindRetry is how long Restart keeps retrying a port still held by the
	// previous process or the kernel.
	bindRetry = 5 * time.Second
)

// ServerOptions configures StartServer.
type ServerOptions struct {
	// Schema is the path of the schema file or directory (required).
	Schema string
	// DataDir is the server's data directory; "" uses a fresh t.TempDir().
	// Restart always reuses the directory of the first start.
	DataDir string
	// Addr is the listen address; "" means 127.0.0.1:0. Pass an earlier
	// server's Addr to come back on its port.
	Addr string
	// Store, when set, is a postgres:// URL served with --store instead of
	// DataDir (several servers may share it).
	Store string
	// APIKey is the API key the server accepts; "" means "da2-test".
	APIKey string
	// ExtraArgs are appended to the serve command line, e.g.
	// []string{"--conflict-default", "optimistic"}.
	ExtraArgs []string
}

// Server is a `dsgen serve` process started by StartServer. Its exported
// fields do not change across Restart.
type Server struct {
	// URL is the GraphQL endpoint, http://ADDR/graphql.
	URL string
	// WSURL is the real-time endpoint, ws://ADDR/graphql/realtime.
	WSURL string
	// Addr is the bound host:port.
	Addr string
	// Dir is the data directory.
	Dir string
	// APIKey is the API key the server accepts.
	APIKey string

	t      testing.TB
	bin    string
	opts   ServerOptions
	client *http.Client

	mu   sync.Mutex
	log  bytes.Buffer
	proc *serverProc // the current process; nil before the first start
}

// serverProc is one run of the server process.
type serverProc struct {
	cmd *exec.Cmd
	// exited is closed once the process has been reaped; err is its exit.
	exited chan struct{}
	err    error
	// drained is closed once stderr has been read to its end.
	drained chan struct{}
	// logStart is where this run's stderr starts in Server.log.
	logStart int
}

// StartServer builds dsgen (once per test binary), starts `dsgen serve` on
// loopback and returns once it logs its "listening" line and answers GET
// /healthz. The process is stopped when the test ends: SIGTERM, then SIGKILL
// if it is still running 10 seconds later.
func StartServer(t testing.TB, opts ServerOptions) *Server {
	t.Helper()
	if opts.Schema == "" {
		t.Fatal("testenv: StartServer: ServerOptions.Schema is empty")
	}
	if _, err := os.Stat(opts.Schema); err != nil {
		t.Fatalf("testenv: StartServer: schema: %v", err)
	}
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.APIKey == "" {
		opts.APIKey = "da2-test"
	}
	s := &Server{
		Dir:    opts.DataDir,
		APIKey: opts.APIKey,
		t:      t,
		bin:    BuildDSGen(t),
		opts:   opts,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}},
	}
	t.Cleanup(s.cleanup)
	addr, err := s.start(opts.Addr, bindRetry)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	s.Addr = addr
	s.URL = "http://" + addr + "/graphql"
	s.WSURL = "ws://" + addr + "/graphql/realtime"
	return s
}

// start runs the process on addr and waits until it is healthy, retrying
// for retry when the address is still in use. It returns the bound address.
func (s *Server) start(addr string, retry time.Duration) (string, error) {
	deadline := time.Now().Add(retry)
	for {
		bound, err := s.startOnce(addr)
		if err == nil {
			return bound, nil
		}
		if !errors.Is(err, errAddrInUse) || time.Now().After(deadline) {
			return "", err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) startOnce(addr string) (string, error) {
	args := []string{"serve", "--schema", s.opts.Schema, "--data", s.opts.DataDir,
		"--addr", addr, "--api-key", s.opts.APIKey}
	if s.opts.Store != "" {
		args[3], args[4] = "--store", s.opts.Store
	}
	args = append(args, s.opts.ExtraArgs...)
	cmd := exec.Command(s.bin, args...)
	pr, pw, err := os.Pipe()
	if err != nil {
		return "", fmt.Errorf("dsgen serve: %w", err)
	}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return "", fmt.Errorf("dsgen serve: %w", err)
	}
	pw.Close() // the child holds its own copy; EOF comes when it exits
	p := &serverProc{cmd: cmd, exited: make(chan struct{}), drained: make(chan struct{})}
	s.mu.Lock()
	p.logStart = s.log.Len()
	s.proc = p
	s.mu.Unlock()

	listening := make(chan string, 1)
	go s.readLog(pr, p, listening)
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	var bound string
	select {
	case bound = <-listening:
	case <-p.drained:
		<-p.exited
		s.mu.Lock()
		log := s.log.String()[p.logStart:]
		s.mu.Unlock()
		if strings.Contains(log, "address already in use") {
			return "", fmt.Errorf("dsgen serve on %s: %w", addr, errAddrInUse)
		}
		return "", fmt.Errorf("dsgen serve exited before listening (%v):\n%s", p.err, log)
	case <-timer.C:
		s.kill(p)
		return "", fmt.Errorf("dsgen serve did not log \"listening\" within %v:\n%s", startTimeout, s.Log())
	}
	if err := s.waitHealthy(bound, p); err != nil {
		s.kill(p)
		return "", err
	}
	return bound, nil
}

// readLog copies the process's stderr into the server's log and reports the
// address of the first "listening" line.
func (s *Server) readLog(r io.ReadCloser, p *serverProc, listening chan<- string) {
	defer close(p.drained)
	defer r.Close()
	br := bufio.NewReader(r)
	reported := false
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			s.mu.Lock()
			s.log.Write(line)
			s.mu.Unlock()
			if !reported {
				var rec struct {
					Msg  string `json:"msg"`
					Addr string `json:"addr"`
				}
				if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
					listening <- rec.Addr
					reported = true
				}
			}
		}
		if err != nil {
			return
		}
	}
}

func (s *Server) waitHealthy(addr string, p *serverProc) error {
	url := "http://" + addr + "/healthz"
	deadline := time.Now().Add(startTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("dsgen serve exited while starting (%v):\n%s", p.err, s.Log())
		default:
		}
		resp, err := s.client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("dsgen serve: GET %s not healthy within %v: %v", url, startTimeout, last)
}

func (s *Server) current() *serverProc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// running reports whether p is still running.
func (p *serverProc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits until the process is reaped and its stderr
// read, so its port, files and log are settled when it returns.
func (s *Server) kill(p *serverProc) {
	_ = p.cmd.Process.Kill()
	<-p.exited
	<-p.drained
	s.client.CloseIdleConnections()
}

// Stop sends SIGTERM, waits for the process to exit and fails the test
// unless it exits with status 0 within 10 seconds.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	p := s.current()
	if p == nil || !p.running() {
		t.Fatal("testenv: Stop: the server is not running")
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("testenv: Stop: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		s.kill(p)
		t.Fatalf("testenv: Stop: dsgen serve still running %v after SIGTERM; killed:\n%s", stopTimeout, s.Log())
	}
	<-p.drained
	// Pooled connections died with the process; a POST is not retried on
	// them, so Do after Restart would fail.
	s.client.CloseIdleConnections()
	if p.err != nil {
		t.Fatalf("testenv: Stop: dsgen serve exited with %v:\n%s", p.err, s.Log())
	}
}

// Kill sends SIGKILL and waits until the process is gone.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	p := s.current()
	if p == nil || !p.running() {
		t.Fatal("testenv: Kill: the server is not running")
	}
	s.kill(p)
}

// Restart starts the server again on the same data directory and port,
// after Stop or Kill (or, if it is still running, after killing it). It
// retries for a few seconds while the port is still in use.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if p := s.current(); p != nil && p.running() {
		s.kill(p)
	}
	s.mu.Lock()
	s.log.WriteString("--- testenv: restart ---\n")
	s.mu.Unlock()
	bound, err := s.start(s.Addr, bindRetry)
	if err != nil {
		t.Fatalf("testenv: Restart: %v", err)
	}
	if bound != s.Addr {
		t.Fatalf("testenv: Restart: bound %s, want %s", bound, s.Addr)
	}
}

// Running reports whether the server process is running.
func (s *Server) Running() bool {
	p := s.current()
	return p != nil && p.running()
}

// Log returns everything the server wrote to stderr so far, across
// restarts (each marked by a "--- testenv: restart ---" line).
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Do posts a GraphQL request to the server with its API key and returns the
// decoded response, "errors" included. Transport failures and non-JSON
// answers fail the test.
func (s *Server) Do(t testing.TB, query string, vars map[string]any) map[string]any {
	t.Helper()
	out, err := PostGraphQL(context.Background(), s.client, s.URL, s.APIKey, query, vars)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return out
}

// cleanup stops the process at the end of the test: SIGTERM, then SIGKILL.
func (s *Server) cleanup() {
	defer s.client.CloseIdleConnections()
	p := s.current()
	if p == nil || !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		<-p.drained
	case <-time.After(stopTimeout):
		s.kill(p)
		s.t.Errorf("testenv: dsgen serve ignored SIGTERM for %v and was killed:\n%s", stopTimeout, s.Log())
	}
}

// PostGraphQL posts one GraphQL request to url with the API key in
// x-api-key, and returns the decoded JSON response, "errors" included. It
// fails on transport errors and on answers that are not a JSON object; the
// error says which, and the status and body for the latter. A nil client
// means http.DefaultClient.
func PostGraphQL(ctx context.Context, client *http.Client, url, apiKey, query string, vars map[string]any) (map[string]any, error) {
	if client == nil {
		client = http.DefaultClient
	}
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return nil, fmt.Errorf("graphql: encode variables: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("graphql: %w", err)
	}
	req.Header.Set("content-type", "application/json")
	if apiKey != "" {
		req.Header.Set("x-api-key", apiKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("graphql: POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("graphql: POST %s: reading the response: %w", url, err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil || out == nil {
		return nil, fmt.Errorf("graphql: POST %s: %s answered with no JSON object: %q", url, resp.Status, truncate(raw, 500))
	}
	return out, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
