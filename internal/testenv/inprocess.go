package testenv

import (
	"context"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/meta"
)

// shutdownGuard bounds an in-process server's shutdown at the end of a
// test, so a server that cannot stop fails the test instead of hanging it.
// It is minutes: no timing assertion.
const shutdownGuard = 5 * time.Minute

// BlogSchema loads the module's example blog schema
// (examples/blog/schema.graphql).
func BlogSchema(t testing.TB) *meta.Schema {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	s, err := schema.LoadPath(filepath.Join(root, "examples", "blog", "schema.graphql"), schema.Options{})
	if err != nil {
		t.Fatalf("load blog schema: %v", err)
	}
	return s
}

// LoadSchema loads a schema written in the test, named after the test.
func LoadSchema(t testing.TB, src string) *meta.Schema {
	t.Helper()
	s, err := schema.Load([]schema.Source{{Name: t.Name() + ".graphql", Input: src}}, schema.Options{})
	if err != nil {
		t.Fatalf("load schema: %v", err)
	}
	return s
}

// OpenStore opens the store of `dsgen serve` (Badger) in a fresh
// t.TempDir(), whatever opts.Dir says, and closes it when the test ends,
// after every server started on it later has stopped.
func OpenStore(t testing.TB, opts store.Options) *store.Badger {
	t.Helper()
	opts.Dir = t.TempDir()
	st, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return st
}

// Serve runs `dsgen serve` in this process: serve.New(cfg) behind an
// httptest server on a loopback port, with a test certificate when tls.
// When the test ends the server shuts down first (its WebSockets close
// and its writes finish), then the listener closes.
func Serve(t testing.TB, cfg serve.Config, tls bool) (*serve.Server, *httptest.Server) {
	t.Helper()
	srv, err := serve.New(cfg)
	if err != nil {
		t.Fatalf("serve.New: %v", err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	if tls {
		// Tests of clients that refuse the test certificate make the
		// server log the failed handshakes: expected, so not printed.
		ts.Config.ErrorLog = log.New(io.Discard, "", 0)
		ts.StartTLS()
	} else {
		ts.Start()
	}
	// Cleanups run last-registered first.
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGuard)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv, ts
}

// ServeListener runs srv.Serve (the whole front end: the HTTP fast path,
// then net/http) on a new loopback port and returns its host:port. When
// the test ends Serve is stopped, with a minute's grace, and the test
// fails if it does not return cleanly.
func ServeListener(t testing.TB, srv *serve.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ServeOn(t, srv, ln)
	return ln.Addr().String()
}

// ServeOn runs srv.Serve on ln (a listener the test made, e.g. wrapped in
// serve.SniffTLS) until the test ends, as ServeListener does.
func ServeOn(t testing.TB, srv *serve.Server, ln net.Listener) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, time.Minute) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}
