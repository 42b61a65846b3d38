// Package golden holds schema inputs and the exact output dsgen generates
// for them. Each case is a folder with schema.graphql and either model/
// (the generated package) or error.txt (the exact error text). Files ending
// in _test.go inside model/ are hand-written tests of the generated code:
// they are not compared, and -update keeps them.
//
//	go test ./golden            compare
//	go test ./golden -update    rewrite the expected output
package golden

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/gen"
	"github.com/dsgen/dsgen/internal/schema"
)

var update = flag.Bool("update", false, "rewrite the expected output")

const module = "github.com/dsgen/dsgen/golden"

func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("*/schema.graphql")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, c := range cases {
		dir := filepath.Dir(c)
		t.Run(dir, func(t *testing.T) { runCase(t, dir) })
	}
	if !*update && !t.Failed() {
		// Every expected package must build and pass vet as users get it.
		cmd := exec.Command("go", "vet", "./...")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go vet ./golden/...: %v\n%s", err, out)
		}
	}
}

func runCase(t *testing.T, dir string) {
	tmp := t.TempDir()
	out := filepath.Join(tmp, "model")
	_, err := gen.Run(gen.Options{
		Schema:     filepath.Join(dir, "schema.graphql"),
		Out:        out,
		Package:    "model",
		ImportPath: module + "/" + dir + "/model",
		// A first lock each time, kept out of the case folder: the
		// goldens show what a schema generates before any migration.
		Lock:     filepath.Join(tmp, "dsgen.lock.json"),
		CacheDir: filepath.Join(tmp, "cache"),
	})
	errFile := filepath.Join(dir, "error.txt")
	var schemaErrs schema.Errors
	switch {
	case errors.As(err, &schemaErrs):
		got := strings.ReplaceAll(schemaErrs.Error(), filepath.Join(dir, "schema.graphql"), "schema.graphql") + "\n"
		if *update {
			write(t, errFile, []byte(got))
			os.RemoveAll(filepath.Join(dir, "model"))
			return
		}
		want, rerr := os.ReadFile(errFile)
		if rerr != nil {
			t.Fatalf("schema rejected but no error.txt:\n%s", got)
		}
		if got != string(want) {
			t.Errorf("error text differs\n--- got\n%s--- want\n%s", got, want)
		}
		return
	case err != nil:
		t.Fatalf("generate: %v", err)
	}
	got := readTree(t, out, false)
	wantDir := filepath.Join(dir, "model")
	if *update {
		tests := readTree(t, wantDir, true)
		os.RemoveAll(wantDir)
		os.Remove(errFile)
		for _, files := range []map[string][]byte{got, tests} {
			for p, b := range files {
				write(t, filepath.Join(wantDir, p), b)
			}
		}
		return
	}
	want := readTree(t, wantDir, false)
	for _, p := range sortedKeys(got, want) {
		g, okG := got[p]
		w, okW := want[p]
		switch {
		case !okW:
			t.Errorf("%s: generated but not expected", p)
		case !okG:
			t.Errorf("%s: expected but not generated", p)
		case !bytes.Equal(g, w):
			t.Errorf("%s differs from the golden file; run go test ./golden -update and review the diff\n%s", p, firstDiff(g, w))
		}
	}
}

// readTree reads the files under root: the generated ones, or with tests
// set the hand-written _test.go files.
func readTree(t *testing.T, root string, tests bool) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") != tests {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return files
}

func write(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sortedKeys(a, b map[string][]byte) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string][]byte{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// firstDiff shows the first differing line.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n  got:  " + gl + "\n  want: " + wl
		}
	}
	return ""
}
