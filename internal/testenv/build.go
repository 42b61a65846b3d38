// Package testenv runs the parts of an end-to-end sync test as the real
// thing: `dsgen serve` as a separate process on loopback, Go client programs
// as separate processes that can be killed with SIGKILL, and a TCP proxy
// between them that refuses, stalls and cuts connections on command or at
// seeded random moments.
//
// It is test-support code: its functions take a testing.TB, fail the test on
// setup errors and register their own cleanup. A typical test:
//
//	srv := testenv.StartServer(t, testenv.ServerOptions{Schema: "examples/blog/schema.graphql"})
//	net := testenv.NewProxy(t, srv.Addr)
//	stop := net.Chaos(seed, 50*time.Millisecond)
//	client := testenv.RunGoProgram(t, "./internal/testenv/testdata/x", "--endpoint", net.URL("/graphql"))
//	... drive the client with client.Send, read client.Lines() ...
//	srv.Kill(t); srv.Restart(t) // same port, same data
//	stop()
package testenv

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// builds memoises `go build` per test binary. It is the package's only
// mutable state: a binary is built at most once per process (so a test binary
// always runs the code it was started with, whatever other test binaries
// running at the same time built), and the result, error included, is shared
// by every caller.
var builds buildCache

type buildCache struct {
	mu sync.Mutex
	m  map[string]*buildResult
}

type buildResult struct {
	once sync.Once
	path string
	err  error
}

// BuildDSGen builds ./cmd/dsgen of the enclosing module once per test binary
// and returns the path of the executable.
func BuildDSGen(t testing.TB) string {
	t.Helper()
	return buildPackage(t, "./cmd/dsgen")
}

// buildPackage builds pkg, a package path resolved from the module root
// ("./cmd/dsgen", "./internal/testenv/testdata/echo" or a full import path),
// and returns the executable's path. It fails the test when the module root
// cannot be found or the build fails.
func buildPackage(t testing.TB, pkg string) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	key := root + "\x00" + pkg
	builds.mu.Lock()
	if builds.m == nil {
		builds.m = make(map[string]*buildResult)
	}
	r := builds.m[key]
	if r == nil {
		r = &buildResult{}
		builds.m[key] = r
	}
	builds.mu.Unlock()
	r.once.Do(func() { r.path, r.err = goBuild(root, pkg) })
	if r.err != nil {
		t.Fatalf("testenv: %v", r.err)
	}
	return r.path
}

// goBuild builds pkg into a directory of os.TempDir named after the module
// root, under a name carrying a hash of the executable's content. Go builds
// are reproducible, so an unchanged tree lands on the same file again instead
// of leaving a new one per run, while a test binary never runs an executable
// that another test binary, built from newer sources, put in its place.
// Executables unused for a day are removed.
func goBuild(root, pkg string) (string, error) {
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "dsgen-testenv-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	pruneBuilds(dir, 24*time.Hour)
	name := filepath.Base(strings.TrimRight(pkg, "/"))
	if name == "." || name == "" {
		name = "prog"
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, name+".tmp-"+hex.EncodeToString(rnd[:]))
	defer os.Remove(tmp) // a no-op once renamed
	cmd := exec.Command("go", "build", "-o", tmp, pkg)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s (in %s): %w\n%s", pkg, root, err, out.Bytes())
	}
	h, err := hashFile(tmp)
	if err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	final := filepath.Join(dir, name+"-"+h)
	// Renaming over an identical file is harmless, and a process running it
	// keeps its inode.
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	now := time.Now()
	_ = os.Chtimes(final, now, now) // mark it used, for pruneBuilds
	return final, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}

// pruneBuilds removes files of dir not touched for maxAge. Errors are
// ignored: pruning is housekeeping, and another test binary may be pruning
// the same directory.
func pruneBuilds(dir string, maxAge time.Duration) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && e.Type().IsRegular() && time.Since(info.ModTime()) > maxAge {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// ModuleRoot returns the directory holding the go.mod that encloses the
// working directory (a package's directory, under go test).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("module root: %w", err)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("module root: no go.mod in %s or any parent", dir)
		}
		d = parent
	}
}
