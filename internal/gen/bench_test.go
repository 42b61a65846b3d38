package gen

import (
	"bytes"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The synthetic schemas of ../shared/schemas/synthetic (N models with
// relations, indexes and auth), as in the Amplify generator's figures.
var benchSizes = []string{"10", "100", "500"}

// BenchmarkGenerate measures gen.Run with disk writes for 10, 100 and 500
// models:
//
//   - cold: an empty output directory and no cache;
//
//   - warm: a re-run with nothing changed (it must write nothing);
//
//   - onechange: a field added to or removed from one model in the middle,
//     after dsgen migrate moved the lock (what a user does);
//
//   - writeonly: a baseline, writing the bytes of the generated Go files
//     (each in a directory of its own) into an empty directory, on as many
//     goroutines as generate uses;
//
//   - format: a baseline, go/format.Source over every generated Go file of
//     the cold output, on as many goroutines as generate uses.
//
//     go test ./internal/gen -run '^$' -bench Generate -benchtime 5x
func BenchmarkGenerate(b *testing.B) {
	for _, n := range benchSizes {
		src, err := filepath.Abs("../../../shared/schemas/synthetic/synth" + n + ".graphql")
		if err != nil {
			b.Fatal(err)
		}
		text, err := os.ReadFile(src)
		if err != nil {
			b.Skipf("no synthetic schema: %v", err)
		}
		b.Run("models="+n+"/cold", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				opts := benchOptions(b, text)
				b.StartTimer()
				if _, err := Run(opts); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("models="+n+"/warm", func(b *testing.B) {
			opts := benchOptions(b, text)
			if _, err := Run(opts); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				res, err := Run(opts)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Written) > 0 || len(res.Removed) > 0 {
					b.Fatalf("a re-run wrote %d and removed %d files", len(res.Written), len(res.Removed))
				}
			}
		})
		b.Run("models="+n+"/onechange", func(b *testing.B) {
			opts := benchOptions(b, text)
			if _, err := Run(opts); err != nil {
				b.Fatal(err)
			}
			changed := changeOneModel(b, text, n)
			i := 0
			for b.Loop() {
				b.StopTimer()
				next := changed
				if i%2 == 1 {
					next = text
				}
				i++
				if err := os.WriteFile(opts.Schema, next, 0o644); err != nil {
					b.Fatal(err)
				}
				migrateSchema(b, opts.Schema)
				b.StartTimer()
				res, err := Run(opts)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Written) == 0 || len(res.Written) > 5 {
					b.Fatalf("one model changed, %d files written: %v", len(res.Written), res.Written)
				}
			}
		})
		b.Run("models="+n+"/writeonly", func(b *testing.B) {
			opts := benchOptions(b, text)
			if _, err := Run(opts); err != nil {
				b.Fatal(err)
			}
			files := readGoFiles(b, opts.Out)
			for b.Loop() {
				b.StopTimer()
				dir := b.TempDir()
				b.StartTimer()
				writeFiles(b, dir, files)
			}
		})
		b.Run("models="+n+"/format", func(b *testing.B) {
			opts := benchOptions(b, text)
			if _, err := Run(opts); err != nil {
				b.Fatal(err)
			}
			files := readGoFiles(b, opts.Out)
			for b.Loop() {
				formatAll(b, files)
			}
		})
	}
}

// benchOptions writes the schema into a new directory and returns the
// options of a run into it, with its own empty cache.
func benchOptions(b testing.TB, schemaText []byte) Options {
	dir := b.TempDir()
	p := filepath.Join(dir, "schema.graphql")
	if err := os.WriteFile(p, schemaText, 0o644); err != nil {
		b.Fatal(err)
	}
	return Options{
		Schema:        p,
		Out:           filepath.Join(dir, "model"),
		ImportPath:    "example.com/app/model",
		Introspection: filepath.Join(dir, "model-introspection.json"),
		CacheDir:      filepath.Join(dir, "cache"),
	}
}

// changeOneModel adds an optional field to the model in the middle of a
// synthetic schema of n models.
func changeOneModel(b testing.TB, text []byte, n string) []byte {
	name := map[string]string{"10": "M0005", "100": "M0050", "500": "M0250"}[n]
	head := []byte("type " + name + " @model")
	i := bytes.Index(text, head)
	if i < 0 {
		b.Fatalf("no model %s in the synthetic schema", name)
	}
	j := bytes.IndexByte(text[i:], '\n')
	out := append([]byte{}, text[:i+j+1]...)
	out = append(out, "  note: String\n"...)
	return append(out, text[i+j+1:]...)
}

func readGoFiles(b testing.TB, root string) [][]byte {
	var files [][]byte
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		c, err := os.ReadFile(p)
		files = append(files, c)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return files
}

// formatAll runs go/format.Source over files on GOMAXPROCS goroutines.
func formatAll(b testing.TB, files [][]byte) {
	next := make(chan []byte)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for f := range next {
				if _, err := format.Source(f); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for _, f := range files {
		next <- f
	}
	close(next)
	wg.Wait()
}

// writeFiles writes files as 0.go ... n.go into directories of 2 files
// each (as a model's file and its field package), on GOMAXPROCS goroutines.
func writeFiles(b testing.TB, dir string, files [][]byte) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				d := filepath.Join(dir, strconv.Itoa(i/2))
				if err := os.MkdirAll(d, 0o755); err != nil {
					b.Error(err)
				}
				if err := os.WriteFile(filepath.Join(d, strconv.Itoa(i)+".go"), files[i], 0o644); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
}
