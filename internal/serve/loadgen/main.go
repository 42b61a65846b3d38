// Command loadgen measures `dsgen serve` mutation throughput from a process
// of its own: N clients, each on one kept-alive HTTP connection, send
// `createPost` (the Amplify client's document) one after another, and it
// prints mutations/s with the p50, p99 and max latency of one mutation.
//
// It either starts a server (-dsgen, a built dsgen binary, serving the blog
// example over Badger in a fresh temporary directory, fsync on unless
// -no-fsync) or targets one already running (-url, -api-key):
//
//	go build -o /tmp/dsgen ./cmd/dsgen
//	go run ./internal/serve/loadgen -dsgen /tmp/dsgen -clients 1,8,32 -n 20000
//	go run ./internal/serve/loadgen -url http://127.0.0.1:20002/graphql -api-key KEY
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// createPost is the document the Amplify DataStore client sends for a Post
// create (../shared/wire, 02-create-post.json).
const createPost = "mutation operation($input: CreatePostInput!) {\n  createPost(input: $input) {\n    id\n    title\n    rating\n    status\n    createdAt\n    updatedAt\n    blogPostsId\n    _version\n    _lastChangedAt\n    _deleted\n    blog {\n      id\n      _deleted\n    }\n  }\n}\n"

const loadAPIKey = "da2-loadgen"

type options struct {
	dsgen, schema, url, apiKey string
	clients                    []int
	n, warmup                  int
	noFsync                    bool
}

func main() {
	var o options
	var clients string
	flag.StringVar(&o.dsgen, "dsgen", "", "start this dsgen `binary` as the server (Badger in a temporary directory)")
	flag.StringVar(&o.schema, "schema", "examples/blog/schema.graphql", "schema `file` the started server serves (needs a Post model as the blog example's)")
	flag.BoolVar(&o.noFsync, "no-fsync", false, "start the server with --unsafe-no-fsync")
	flag.StringVar(&o.url, "url", "", "target a running server's GraphQL `URL` instead of starting one")
	flag.StringVar(&o.apiKey, "api-key", loadAPIKey, "API `key` sent in x-api-key")
	flag.StringVar(&clients, "clients", "1,8,32", "comma-separated concurrent client `counts`, one run each")
	flag.IntVar(&o.n, "n", 20000, "mutations per run")
	flag.IntVar(&o.warmup, "warmup", 500, "mutations sent before each run, not measured")
	flag.Parse()
	for _, c := range strings.Split(clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "loadgen: -clients: %q is not a positive count\n", c)
			os.Exit(2)
		}
		o.clients = append(o.clients, n)
	}
	if (o.dsgen == "") == (o.url == "") {
		fmt.Fprintln(os.Stderr, "loadgen: give exactly one of -dsgen BINARY and -url URL")
		os.Exit(2)
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	url := o.url
	srvPID := 0
	if o.dsgen != "" {
		srv, err := start(ctx, o)
		if err != nil {
			return err
		}
		defer srv.stop()
		url, srvPID = srv.url, srv.cmd.Process.Pid
	}
	for i, c := range o.clients {
		// Each run writes ids of its own, so every mutation is a create.
		prefix := fmt.Sprintf("load-%d-%d-", time.Now().UnixNano(), i)
		if _, err := load(ctx, url, o.apiKey, prefix+"w", c, o.warmup); err != nil {
			return fmt.Errorf("warm-up, %d clients: %w", c, err)
		}
		cpu0 := serverCPU(srvPID)
		r, err := load(ctx, url, o.apiKey, prefix, c, o.n)
		if err != nil {
			return fmt.Errorf("%d clients: %w", c, err)
		}
		cpu := ""
		if srvPID != 0 {
			// CPU per mutation depends far less on other load on the
			// machine than mutations/s does.
			cpu = fmt.Sprintf(" server-cpu/mutation=%v", ((serverCPU(srvPID) - cpu0) / time.Duration(o.n)).Round(time.Microsecond))
		}
		fmt.Printf("clients=%d mutations=%d elapsed=%v mutations/s=%.0f p50=%v p99=%v max=%v%s\n",
			c, o.n, r.elapsed.Round(time.Millisecond), float64(o.n)/r.elapsed.Seconds(),
			r.pct(0.50), r.pct(0.99), r.pct(1), cpu)
	}
	return nil
}

type result struct {
	elapsed time.Duration
	lat     []time.Duration // sorted
}

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[int(p*float64(len(r.lat)-1))].Round(10 * time.Microsecond)
}

// load sends n creates from clients concurrent clients, each waiting for
// its answer before the next, and fails on the first refused mutation.
func load(ctx context.Context, url, apiKey, prefix string, clients, n int) (result, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			var body bytes.Buffer
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				body.Reset()
				req := map[string]any{"query": createPost, "variables": map[string]any{"input": map[string]any{
					"id": fmt.Sprint(prefix, i), "title": "Hello wire", "rating": 4, "status": "DRAFT"}}}
				if err := json.NewEncoder(&body).Encode(req); err != nil {
					errs[c] = err
					return
				}
				t := time.Now()
				if err := post(ctx, hc, url, apiKey, body.Bytes()); err != nil {
					errs[c] = err
					next.Store(int64(n)) // stop the others
					return
				}
				lat[c] = append(lat[c], time.Since(t))
			}
		})
	}
	wg.Wait()
	r := result{elapsed: time.Since(start), lat: slices.Concat(lat...)}
	slices.Sort(r.lat)
	return r, errors.Join(errs...)
}

// post sends one mutation and checks that it was answered without errors.
func post(ctx context.Context, hc *http.Client, url, apiKey string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", apiKey)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	var out struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []json.RawMessage          `json:"errors"`
	}
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != http.StatusOK || len(out.Errors) > 0 ||
		len(out.Data["createPost"]) < 2 || string(out.Data["createPost"]) == "null" {
		return fmt.Errorf("createPost answered %s: %.300s", resp.Status, b)
	}
	return nil
}

// serverCPU is the user plus system CPU time process pid has used, from
// /proc (Linux; 0 elsewhere or for pid 0).
func serverCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name in parentheses may hold spaces: count fields after it.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// server is a dsgen serve process loadgen started.
type server struct {
	cmd  *exec.Cmd
	dir  string
	url  string
	done chan struct{}
}

// listeningURL finds the GraphQL URL in the "listening" log line (JSON or
// text).
var listeningURL = regexp.MustCompile(`"?graphql"?[=:]"?(http://[^"\s]+/graphql)`)

// start runs `dsgen serve` on a free loopback port over a fresh data
// directory and waits for its "listening" line.
func start(ctx context.Context, o options) (*server, error) {
	dir, err := os.MkdirTemp("", "dsgen-loadgen-")
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--schema", o.schema, "--data", filepath.Join(dir, "data"), "--addr", "127.0.0.1:0",
		"--api-key", o.apiKey, "--migrate", "off", "--metrics", "off", "--log-level", "info"}
	if o.noFsync {
		args = append(args, "--unsafe-no-fsync")
	}
	cmd := exec.CommandContext(ctx, o.dsgen, args...)
	cmd.Dir, _ = os.Getwd()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = os.Stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", o.dsgen, err)
	}
	s := &server{cmd: cmd, dir: dir, done: make(chan struct{})}
	found := make(chan string, 1)
	// The reader owns stderr until the process ends; it forwards warnings
	// and errors and hands over the address once.
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if m := listeningURL.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
				continue
			}
			if strings.Contains(line, "WARN") || strings.Contains(line, "ERROR") {
				fmt.Fprintln(os.Stderr, "server:", line)
			}
		}
	}()
	select {
	case s.url = <-found:
		fmt.Fprintf(os.Stderr, "loadgen: %s serving %s at %s (fsync %v)\n", o.dsgen, o.schema, s.url, !o.noFsync)
		return s, nil
	case <-s.done:
		_ = cmd.Wait()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%s serve exited before listening", o.dsgen)
	case <-time.After(2 * time.Minute):
		s.stop()
		return nil, errors.New("the server did not log its listening line within 2 minutes")
	}
}

// stop interrupts the server, waits for it and removes its data.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	<-s.done
	_ = s.cmd.Wait()
	os.RemoveAll(s.dir)
}
