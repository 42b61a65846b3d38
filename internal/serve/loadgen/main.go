// Command loadgen measures `dsgen serve` mutation throughput from a process
// of its own: N clients, each on one kept-alive HTTP connection, send
// `createPost` (the Amplify client's document) one after another, and it
// prints mutations/s with the p50, p99 and max latency of one mutation, and
// the CPU time per mutation of the server (when it started it) and of
// itself. Each client speaks a minimal HTTP/1.1 (one write per request,
// pre-rendered body, reused buffers; on Linux all clients are driven from
// one thread and one epoll set) so that the load generator takes little of
// the machine from the server, and reads and checks every answer.
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
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
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
	rawURL := o.url
	srvPID := ""
	if o.dsgen != "" {
		srv, err := start(ctx, o)
		if err != nil {
			return err
		}
		defer srv.stop()
		rawURL, srvPID = srv.url, strconv.Itoa(srv.cmd.Process.Pid)
	}
	target, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	for i, c := range o.clients {
		// Each run writes ids of its own, so every mutation is a create.
		prefix := fmt.Sprintf("load-%d-%d-", time.Now().UnixNano(), i)
		if _, err := load(ctx, target, o.apiKey, prefix+"w", c, o.warmup); err != nil {
			return fmt.Errorf("warm-up, %d clients: %w", c, err)
		}
		srv0, self0 := cpuTime(srvPID), cpuTime("self")
		r, err := load(ctx, target, o.apiKey, prefix, c, o.n)
		if err != nil {
			return fmt.Errorf("%d clients: %w", c, err)
		}
		// CPU per mutation depends far less on other load on the machine
		// than mutations/s does. The load generator's own is printed so
		// that what it takes from the server's cores is known.
		perN := func(d time.Duration) time.Duration { return (d / time.Duration(o.n)).Round(time.Microsecond) }
		cpu := fmt.Sprintf(" loadgen-cpu/mutation=%v", perN(cpuTime("self")-self0))
		if srvPID != "" {
			cpu = fmt.Sprintf(" server-cpu/mutation=%v%s", perN(cpuTime(srvPID)-srv0), cpu)
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

// The body is bodyStart + id + bodyEnd, the JSON the Amplify client sends.
var (
	bodyStart = `{"query":` + strconv.Quote(createPost) + `,"variables":{"input":{"id":"`
	bodyEnd   = `","title":"Hello wire","rating":4,"status":"DRAFT"}}}`
)

// answerStart is how the answer to a create must start, before the id
// (the server writes fields in selection order, id first).
const answerStart = `{"data":{"createPost":{"id":"`

// hostPort is target's host with the port made explicit.
func hostPort(target *url.URL) string {
	if target.Port() == "" {
		return net.JoinHostPort(target.Hostname(), "80")
	}
	return target.Host
}

// requestHead is the request line and headers of every request to target,
// up to Content-Length's value.
func requestHead(target *url.URL, apiKey string) []byte {
	return fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Api-Key: %s\r\nContent-Length: ",
		target.RequestURI(), target.Host, apiKey)
}

// appendRequest appends to req the request creating post prefix+i, and to
// want the start its answer must have; id is the post id, inside want.
func appendRequest(req, want, head []byte, prefix string, i int64) (reqOut, wantOut, id []byte) {
	want = append(append(want, answerStart...), prefix...)
	want = strconv.AppendInt(want, i, 10)
	want = append(want, '"')
	id = want[len(answerStart) : len(want)-1]
	size := len(bodyStart) + len(id) + len(bodyEnd)
	req = strconv.AppendInt(append(req, head...), int64(size), 10)
	req = append(req, "\r\n\r\n"...)
	req = append(append(append(req, bodyStart...), id...), bodyEnd...)
	return req, want, id
}

// check checks one answer: status 200, a JSON body with no errors whose
// createPost is the post with the id sent.
func check(status int, body, want, id []byte) error {
	if status != 200 || !bytes.HasPrefix(body, want) || bytes.Contains(body, []byte(`"errors":`)) || !json.Valid(body) {
		return fmt.Errorf("createPost %s answered HTTP %d: %.300s", id, status, body)
	}
	return nil
}

// cpuTime is the user plus system CPU time process pid has used, from
// /proc (Linux; 0 elsewhere); pid "self" is this process.
func cpuTime(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
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
