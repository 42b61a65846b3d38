package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// hangGuard bounds a wait for something that must happen, so a broken
// test fails instead of hanging. It is no timing assertion: minutes, so a
// loaded machine never trips it.
const hangGuard = 5 * time.Minute

// blogSchema returns the path of the example blog schema.
func blogSchema(t *testing.T) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "examples", "blog", "schema.graphql")
}

// freshClient returns an HTTP client that opens a new connection per
// request, so each request meets the proxy's current mode.
func freshClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

const (
	createBlog = `mutation($input: CreateBlogInput!) { createBlog(input: $input) { id name _version } }`
	getBlog    = `query($id: ID!) { getBlog(id: $id) { id name _version } }`
)

// dig walks a decoded GraphQL response along keys.
func dig(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("at %q: %v is not an object", k, v)
		}
		v = m[k]
	}
	return v
}

// mustData fails the test when resp carries GraphQL errors.
func mustData(t *testing.T, resp map[string]any) map[string]any {
	t.Helper()
	if resp["errors"] != nil {
		t.Fatalf("GraphQL errors: %v", resp["errors"])
	}
	d, ok := resp["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data in %v", resp)
	}
	return d
}

// startEcho runs a TCP echo server on loopback and returns its address.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, c)
				c.Close()
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// roundTrip writes msg on c and reads the same number of bytes back.
func roundTrip(c net.Conn, msg string, timeout time.Duration) (string, error) {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

// fatalRecorder is a testing.TB whose Fatal ends only the goroutine that
// calls it and records the message, to test that bad input fails a test
// with a clear message. Everything else goes to the real test.
type fatalRecorder struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.msg = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *fatalRecorder) Fatal(args ...any) {
	r.mu.Lock()
	r.msg = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// expectFatal runs f with a fatalRecorder and returns the fatal message,
// failing the test if f returns without one.
func expectFatal(t *testing.T, f func(tb testing.TB)) string {
	t.Helper()
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.msg == "" {
		t.Fatal("expected a fatal error, got none")
	}
	return r.msg
}

func contains(t *testing.T, s, want string) {
	t.Helper()
	if !strings.Contains(s, want) {
		t.Errorf("%q does not contain %q", s, want)
	}
}
