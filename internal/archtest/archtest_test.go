package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pkg is one package of the module as `go list -json` describes it.
type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string // of the non-test files
	GoFiles    []string // the non-test files, relative to Dir
	Module     *struct{ Path, Dir string }
}

// rule is one import rule of ARCHITECTURE.md: no package that from matches
// may import a module package that deny matches (paths relative to the
// module root; "" is the root).
type rule struct {
	text string // the rule in ARCHITECTURE.md's words
	from func(p string) bool
	deny func(p, imp string) bool
}

func under(dir string) func(string) bool {
	return func(p string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
}

// generated matches the packages dsgen generates: examples/*/model/...
// and golden/*/model/....
func generated(p string) bool {
	parts := strings.Split(p, "/")
	return len(parts) >= 3 && (parts[0] == "examples" || parts[0] == "golden") && parts[2] == "model"
}

var rules = []rule{
	{
		text: "runtime/ is what apps import: it imports nothing under internal/ (its own runtime/.../internal/ packages are fine)",
		from: under("runtime"),
		deny: func(_, imp string) bool { return under("internal")(imp) },
	},
	{
		text: "templates/ imports nothing under internal/",
		from: under("templates"),
		deny: func(_, imp string) bool { return under("internal")(imp) },
	},
	{
		text: "generated code imports only runtime/ and its own generated packages",
		from: generated,
		deny: func(p, imp string) bool {
			root := strings.Join(strings.Split(p, "/")[:3], "/")
			return !under("runtime")(imp) && !under(root)(imp)
		},
	},
	{
		text: "the local store works with no network: runtime/datastore and runtime/storage import neither runtime/appsync/... nor runtime/syncengine",
		from: func(p string) bool { return under("runtime/datastore")(p) || under("runtime/storage")(p) },
		deny: func(_, imp string) bool { return under("runtime/appsync")(imp) || under("runtime/syncengine")(imp) },
	},
	{
		text: "the leaves runtime/meta, runtime/scalar, runtime/predicate, runtime/appsync (the wire types), runtime/jsonread, templates/names and internal/config import no package of the module",
		from: func(p string) bool {
			switch p {
			case "runtime/meta", "runtime/scalar", "runtime/predicate", "runtime/appsync", "runtime/jsonread", "templates/names", "internal/config":
				return true
			}
			return false
		},
		deny: func(_, imp string) bool { return true },
	},
	{
		text: "internal/serve/... shares with the client side only runtime/appsync, runtime/appsync/filter, runtime/meta, runtime/codec, runtime/scalar, runtime/jsonread and runtime/storage: never runtime/datastore, runtime/syncengine, runtime/appsync/client or rtclient",
		from: under("internal/serve"),
		deny: func(_, imp string) bool {
			if !under("runtime")(imp) {
				return false
			}
			switch imp {
			case "runtime/appsync", "runtime/appsync/filter", "runtime/meta", "runtime/codec", "runtime/scalar", "runtime/jsonread", "runtime/storage":
				return false
			}
			return true
		},
	},
	{
		text: "the server reads metadata, not schemas: in internal/serve/... only launch imports internal/schema and internal/config",
		from: func(p string) bool { return under("internal/serve")(p) && p != "internal/serve/launch" },
		deny: func(_, imp string) bool { return imp == "internal/schema" || imp == "internal/config" },
	},
	{
		text: "internal/serve/store is the server's storage engine: it imports runtime/storage and the leaf runtime/jsonread and nothing else of the module",
		from: under("internal/serve/store"),
		deny: func(_, imp string) bool { return imp != "runtime/storage" && imp != "runtime/jsonread" },
	},
	{
		text: "the workflows internal/gen and internal/serve/launch are imported only by cmd/dsgen",
		from: func(p string) bool { return p != "cmd/dsgen" },
		deny: func(_, imp string) bool { return imp == "internal/gen" || imp == "internal/serve/launch" },
	},
	{
		text: "test support (internal/testenv, internal/migratetest) is imported only by tests",
		from: func(string) bool { return true },
		deny: func(_, imp string) bool { return imp == "internal/testenv" || imp == "internal/migratetest" },
	},
	{
		text: "nothing imports a command (cmd/...)",
		from: func(string) bool { return true },
		deny: func(_, imp string) bool { return under("cmd")(imp) },
	},
	{
		text: "dsgentest (the in-process server for apps' tests) is imported only by tests",
		from: func(string) bool { return true },
		deny: func(_, imp string) bool { return imp == "dsgentest" },
	},
}

// listModule returns the module path, its root directory and its
// packages (testdata and generated example programs aside, as `go list
// ./...` leaves them).
func listModule(t *testing.T) (string, string, []pkg) {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Dir,Imports,GoFiles,Module", "./...")
	cmd.Dir = moduleRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 || pkgs[0].Module == nil {
		t.Fatalf("go list ./... in %s found no module packages", cmd.Dir)
	}
	return pkgs[0].Module.Path, cmd.Dir, pkgs
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// rel returns path relative to the module ("" for the root), and whether
// it is a package of the module.
func rel(module, path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// TestImportRules checks every non-test import of every package of the
// module against ARCHITECTURE.md's rules.
func TestImportRules(t *testing.T) {
	module, _, pkgs := listModule(t)
	for _, p := range pkgs {
		from, _ := rel(module, p.ImportPath)
		for _, full := range p.Imports {
			imp, ok := rel(module, full)
			if !ok {
				continue
			}
			for _, r := range rules {
				if r.from(from) && r.deny(from, imp) {
					t.Errorf("%s imports %s, against ARCHITECTURE.md: %s", from, imp, r.text)
				}
			}
		}
	}
}

// TestRulesBite checks that each rule refuses an import it is about, so a
// rule whose matchers went wrong cannot pass silently.
func TestRulesBite(t *testing.T) {
	bad := [][2]string{
		{"runtime/codec", "internal/schema"},
		{"templates", "internal/schema"},
		{"examples/blog/model/post", "internal/serve"},
		{"runtime/datastore", "runtime/appsync/client"},
		{"runtime/meta", "runtime/scalar"},
		{"internal/serve", "runtime/datastore"},
		{"internal/serve/sdl", "internal/schema"},
		{"internal/serve/store", "runtime/meta"},
		{"internal/migrate", "internal/gen"},
		{"runtime/syncengine", "internal/testenv"},
		{"internal/gen", "cmd/dsgen"},
		{"runtime/syncengine", "dsgentest"},
	}
	for i, r := range rules {
		if i >= len(bad) {
			t.Fatalf("rule %q has no case here", r.text)
		}
		if from, imp := bad[i][0], bad[i][1]; !r.from(from) || !r.deny(from, imp) {
			t.Errorf("rule %q lets %s import %s", r.text, from, imp)
		}
	}
	if len(bad) != len(rules) {
		t.Errorf("%d cases for %d rules", len(bad), len(rules))
	}
	// And the runtime's own internal packages stay allowed.
	if rules[0].deny("runtime/datastore", "runtime/datastore/internal/outbox") {
		t.Error("runtime/... may import its own internal packages")
	}
}

// TestPackageMap checks that ARCHITECTURE.md's package map names every
// hand-written package of the module, so it cannot fall behind the tree.
func TestPackageMap(t *testing.T) {
	module, root, pkgs := listModule(t)
	doc, err := os.ReadFile(filepath.Join(root, "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		r, _ := rel(module, p.ImportPath)
		if r == "" || generated(r) || under("golden")(r) || under("examples")(r) {
			continue
		}
		if !bytes.Contains(doc, []byte("| `"+r+"`")) {
			t.Errorf("ARCHITECTURE.md's package map has no line for %s (add a row \"| `%s` | ... |\")", r, r)
		}
	}
}
