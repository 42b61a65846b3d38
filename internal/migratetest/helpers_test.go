package migratetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/testenv"
)

// lineTimeout bounds the wait for one line of an app's output, so a hung
// app fails the test with its stderr instead of hanging it.
const lineTimeout = 2 * time.Minute

// app is a Go module in a temp directory that uses this checkout of dsgen,
// as a developer's app does: dsgen.yml, schema.graphql, the generated
// package in model/, programs under cmd/.
type app struct {
	dir   string
	dsgen string
}

// newApp makes the module, with the schema testdata/<schema> (or schema,
// when absolute) and the
// testdata/appkit package.
func newApp(t *testing.T, schema string) *app {
	t.Helper()
	if testing.Short() {
		t.Skip("builds generated apps and runs them")
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	a := &app{dir: t.TempDir(), dsgen: testenv.BuildDSGen(t)}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	// The repository's requirements, so the module graph (and go.sum) is
	// the same and nothing is downloaded.
	mod := strings.Replace(string(gomod), "module github.com/dsgen/dsgen", "module example.com/app", 1) +
		"\nrequire github.com/dsgen/dsgen v0.0.0\n\nreplace github.com/dsgen/dsgen => " + root + "\n"
	a.write(t, "go.mod", mod)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	a.write(t, "go.sum", string(sum))
	a.write(t, "dsgen.yml", "schema: schema.graphql\nout: model\n")
	a.copy(t, "appkit/appkit.go", "appkit/appkit.go")
	a.copy(t, schema, "schema.graphql")
	return a
}

// write writes a file of the app.
func (a *app) write(t *testing.T, name, content string) {
	t.Helper()
	path := filepath.Join(a.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// read returns a file of the app.
func (a *app) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(a.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// copy copies testdata/<from> (or from, when absolute) to the app's <to>.
func (a *app) copy(t *testing.T, from, to string) {
	t.Helper()
	if !filepath.IsAbs(from) {
		from = filepath.Join("testdata", from)
	}
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	a.write(t, to, string(b))
}

// run runs dsgen with args in the app directory and returns its output,
// failing the test unless it exits 0.
func (a *app) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(a.dsgen, args...)
	cmd.Dir = a.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dsgen %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// convert replaces the placeholder body of migration NNNN's conversion
// function fn with body, as the developer does after dsgen migrate.
func (a *app) convert(t *testing.T, number int, fn, body string) {
	t.Helper()
	name := fmt.Sprintf("model/migration_%04d.go", number)
	src := a.read(t, name)
	start := strings.Index(src, "func "+fn+"(v any) (any, error) {")
	if start < 0 {
		t.Fatalf("%s has no func %s:\n%s", name, fn, src)
	}
	end := strings.Index(src[start:], "\n}\n")
	if end < 0 || !strings.Contains(src[start:start+end], "TODO_dsgen_") {
		t.Fatalf("%s: %s is not a placeholder:\n%s", name, fn, src)
	}
	src = src[:start] + "func " + fn + "(v any) (any, error) {\n" + body + src[start+end:]
	a.write(t, name, src)
}

// migrate moves the app to the schema testdata/<schema> (or schema, when
// absolute): dsgen generate
// must refuse it, dsgen migrate writes migration number, the developer's
// conversions are written (func name -> body), then dsgen generate.
func (a *app) migrate(t *testing.T, schema string, number int, convs map[string]string) {
	t.Helper()
	a.copy(t, schema, "schema.graphql")
	cmd := exec.Command(a.dsgen, "generate")
	cmd.Dir = a.dir
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "dsgen migrate") {
		t.Fatalf("dsgen generate of a changed schema before dsgen migrate: %v\n%s", err, out)
	}
	a.run(t, "migrate")
	if m, _ := filepath.Glob(filepath.Join(a.dir, "migrations", fmt.Sprintf("%04d_*.json", number))); len(m) != 1 {
		t.Fatalf("dsgen migrate wrote migrations %v, want one numbered %04d", m, number)
	}
	for fn, body := range convs {
		a.convert(t, number, fn, body)
	}
	a.run(t, "generate")
}

// build copies testdata/<src> to cmd/<name>/main.go and builds it offline,
// returning the executable's path. Linking is most of a build whose
// packages but the app's own are in the build cache: the executable goes
// without the symbol table and DWARF (-s -w), which nothing reads, and
// links a quarter faster.
func (a *app) build(t *testing.T, src, name string) string {
	t.Helper()
	a.copy(t, src, filepath.Join("cmd", name, "main.go"))
	bin := filepath.Join(a.dir, "bin", name)
	cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", bin, "./cmd/"+name)
	cmd.Dir = a.dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, out)
	}
	return bin
}

// proc is a running app: its stdout as lines, its stderr kept.
type proc struct {
	cmd    *exec.Cmd
	lines  chan string
	exited chan struct{}
	err    error

	mu     sync.Mutex
	stderr bytes.Buffer
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

func (p *proc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// start starts bin with args. It is killed, if still running, when the
// test ends.
func start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), lines: make(chan string, 1024), exited: make(chan struct{})}
	p.cmd.Stderr = p
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	go func(r io.Reader) {
		defer close(read)
		defer close(p.lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}(out)
	go func() {
		<-read // Wait closes the pipe: read it to its end first
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		for range p.lines {
		}
		<-p.exited
	})
	return p
}

// next returns the next event line of p decoded, or nil once p's stdout
// ended.
func (p *proc) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			return nil
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("%s printed %q, not a JSON object: %v", filepath.Base(p.cmd.Path), l, err)
		}
		return ev
	case <-time.After(lineTimeout):
		t.Fatalf("%s printed nothing for %v; stderr:\n%s", filepath.Base(p.cmd.Path), lineTimeout, p.errText())
	}
	return nil
}

// kill sends SIGKILL and waits until the process is gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for range p.lines {
	}
	<-p.exited
}

// runApp runs bin to its end and returns its events; a non-zero exit fails
// the test.
func runApp(t *testing.T, bin string, args ...string) []map[string]any {
	t.Helper()
	evs, stderr, err := runAppErr(t, bin, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr)
	}
	return evs
}

// runAppErr runs bin to its end and returns its events, stderr and exit
// error.
func runAppErr(t *testing.T, bin string, args ...string) ([]map[string]any, string, error) {
	t.Helper()
	p := start(t, bin, args...)
	var evs []map[string]any
	for ev := p.next(t); ev != nil; ev = p.next(t) {
		evs = append(evs, ev)
	}
	<-p.exited
	return evs, p.errText(), p.err
}

// event returns the one event of evs named name.
func event(t *testing.T, evs []map[string]any, name string) map[string]any {
	t.Helper()
	var found map[string]any
	for _, ev := range evs {
		if ev["event"] == name {
			if found != nil {
				t.Fatalf("two %q events in %v", name, evs)
			}
			found = ev
		}
	}
	if found == nil {
		t.Fatalf("no %q event in %v", name, evs)
	}
	return found
}

// progress returns the migration progress reports among evs.
func progress(evs []map[string]any) []map[string]any {
	var out []map[string]any
	for _, ev := range evs {
		if ev["event"] == "progress" {
			out = append(out, ev["progress"].(map[string]any))
		}
	}
	return out
}

// gql runs a GraphQL request against srv and returns its data, failing on
// errors.
func gql(t *testing.T, srv *testenv.Server, query string, vars map[string]any) map[string]any {
	t.Helper()
	resp := srv.Do(t, query, vars)
	if resp["errors"] != nil {
		t.Fatalf("GraphQL %s: errors %v", query, resp["errors"])
	}
	data, ok := resp["data"].(map[string]any)
	if !ok {
		t.Fatalf("GraphQL %s: no data in %v", query, resp)
	}
	return data
}

// items returns the items of a list query's answer, by id.
func items(t *testing.T, data map[string]any, field string) map[string]map[string]any {
	t.Helper()
	list, ok := data[field].(map[string]any)
	if !ok {
		t.Fatalf("%s: %v", field, data)
	}
	out := map[string]map[string]any{}
	for _, it := range list["items"].([]any) {
		m := it.(map[string]any)
		out[m["id"].(string)] = m
	}
	return out
}

// jsonText renders v for failure messages.
func jsonText(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
