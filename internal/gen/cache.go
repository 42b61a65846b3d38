package gen

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dsgen/dsgen/internal/schema"
)

// The generate cache lets a re-run with unchanged inputs skip the work: a
// manifest per output directory records the hash of every input of the
// last successful run (the generator's own build, the options, the schema
// files, the lock and the migrations) and the hash of every file it left.
// When the inputs hash the same and every file still holds what was
// written (its content is hashed, not its modification time), nothing is
// generated or written. Anything else runs the whole generator, which
// writes only the files whose content changed.
//
// The manifest lives in the user's cache directory, not in the output
// directory, which is often checked in: the generator's build id in it
// would change with every build of dsgen.

// cache is the manifest file of one output directory.
type cache struct {
	path string // the manifest's file
	gen  string // the generator's identity (its build id)
}

// manifest is what a successful run leaves for the next one.
type manifest struct {
	Key      string            // hash of every input of the run
	Files    map[string]string // path -> sha256 of the content it was left with
	Package  []string          // the generated package's files, for removeStale
	Warnings []string          // the schema's warnings, given again on a skipped run
}

// openCache returns the cache of the output directory out, or nil when
// opts turn it off or the generator cannot identify its own build.
func openCache(opts Options, out string) *cache {
	dir := opts.CacheDir
	switch dir {
	case "off":
		return nil
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return nil
		}
		dir = filepath.Join(base, "dsgen", "generate")
	}
	id, err := generatorID()
	if err != nil {
		return nil
	}
	intro := ""
	if opts.Introspection != "" {
		intro, _ = filepath.Abs(opts.Introspection)
	}
	name := sha256.Sum256([]byte(out + "\x00" + intro))
	return &cache{path: filepath.Join(dir, hex.EncodeToString(name[:12])+".json"), gen: id}
}

// generatorID identifies the running generator's build: the Go build id
// that the toolchain writes into every executable (it changes whenever any
// input of the build does), or else a hash of the whole executable.
func generatorID() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	// ELF (Linux): the id is a note section.
	if f, err := elf.Open(exe); err == nil {
		defer f.Close()
		if sec := f.Section(".note.go.buildid"); sec != nil {
			if b, err := sec.Data(); err == nil && len(b) > 16 {
				return "build:" + string(b[16:]), nil
			}
		}
	}
	// Mach-O and PE: it starts the text, near the start of the file.
	f, err := os.Open(exe)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", err
	}
	head = head[:n]
	marker := []byte("\xff Go build ID: \"")
	if i := bytes.Index(head, marker); i >= 0 {
		rest := head[i+len(marker):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			return "build:" + string(rest[:j]), nil
		}
	}
	h := sha256.New()
	h.Write(head)
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// inputs hashes what a run's output depends on, besides the lock: the
// generator, the options as resolved, the schema files and the migration
// files.
func (c *cache) inputs(opts Options, out, pkg, imp string, srcs []schema.Source) (hash.Hash, error) {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s", len(s), s) }
	field(c.gen)
	field(out)
	field(pkg)
	field(imp)
	field(opts.Introspection)
	field(strings.Join(opts.Directives, ","))
	lock, migDir := Paths(opts)
	field(lock)
	field(migDir)
	for _, s := range srcs {
		field(s.Name)
		field(s.Input)
	}
	ents, err := os.ReadDir(migDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(migDir, e.Name()))
		if err != nil {
			return nil, err
		}
		field(e.Name())
		field(string(b))
	}
	return h, nil
}

// key completes the inputs' hash with the lock file as it is on disk.
func key(inputs hash.Hash, lockPath string) (string, error) {
	h := sha256.New()
	h.Write(inputs.Sum(nil))
	b, err := os.ReadFile(lockPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		h.Write([]byte("no lock"))
	case err != nil:
		return "", err
	default:
		h.Write([]byte("lock:"))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// load reads the manifest; a missing or unreadable one is an empty cache.
func (c *cache) load() *manifest {
	b, err := os.ReadFile(c.path)
	if err != nil {
		return nil
	}
	var m manifest
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return &m
}

// upToDate reports whether the last run had the inputs of key and every
// file it left still holds what it wrote.
func (m *manifest) upToDate(key string) bool {
	if m == nil || m.Key != key || len(m.Files) == 0 {
		return false
	}
	// Reading and hashing a thousand files is most of a skipped run: it
	// runs on all cores.
	paths := make(chan string)
	var stale atomic.Bool
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for p := range paths {
				if !stale.Load() && fileSum(p) != m.Files[p] {
					stale.Store(true)
				}
			}
		})
	}
	for p := range m.Files {
		paths <- p
	}
	close(paths)
	wg.Wait()
	return !stale.Load()
}

// fileSum returns the hex sha256 of a file's content, "" when it cannot be
// read.
func fileSum(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return sum(b)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// save writes the manifest, replacing the previous one atomically. A cache
// that cannot be written only costs the next run its shortcut.
func (c *cache) save(m *manifest) {
	sort.Strings(m.Package)
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".manifest-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), c.path) != nil {
		os.Remove(tmp.Name())
	}
}

// forget removes the manifest, so that a failed run is never skipped next
// time.
func (c *cache) forget() { os.Remove(c.path) }
