// Package gen runs `dsgen generate`: it loads a schema, keeps its lock
// (dsgen.lock.json, see internal/migrate), renders the Go package and the
// optional introspection JSON, writes what changed and removes generated
// files that no longer belong to the schema.
package gen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/dsgen/dsgen/internal/migrate"
	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/templates"
	"github.com/dsgen/dsgen/templates/names"
)

// Options are the inputs of one generate run.
type Options struct {
	Schema        string   // schema file or directory
	Out           string   // output directory of the model package
	Package       string   // Go package name; default: the output directory's base name
	ImportPath    string   // import path of Out; default: derived from the enclosing go.mod
	Introspection string   // where to write introspection JSON; "" for none
	Directives    []string // custom directives accepted and ignored
	// Lock is the schema lock's path; "" means migrate.LockFile next to
	// the schema (in the schema's directory, or in Schema itself when it
	// is a directory). The first run writes it; later runs refuse a schema
	// that changed since it (see migrate.PendingError).
	Lock string
	// Migrations is the directory of the migration files; "" means
	// migrate.MigrationsDir next to the schema.
	Migrations string
	// Warn receives problems that do not stop generation; nil drops them.
	Warn func(error)
	// CacheDir holds what a run needs to skip unchanged work on the next
	// one; "" means dsgen's directory in the user cache directory
	// (os.UserCacheDir), "off" disables the cache.
	CacheDir string
}

// Result says what a run changed.
type Result struct {
	Written   []string // files created or changed
	Unchanged int      // files already up to date
	Removed   []string // stale generated files deleted
	// Lock is the path of the lock this run wrote: the schema's first.
	// It is "" when the lock already existed.
	Lock string
}

// Run generates the package described by opts. When the cache (see
// Options.CacheDir) shows that nothing changed since the last run into the
// same directory, it checks the files and returns without generating.
func Run(opts Options) (*Result, error) {
	if opts.Schema == "" || opts.Out == "" {
		return nil, errors.New("generate: a schema and an output directory are required")
	}
	srcs, err := schema.ReadPath(opts.Schema)
	if err != nil {
		return nil, err
	}
	out, err := filepath.Abs(opts.Out)
	if err != nil {
		return nil, err
	}
	pkg := opts.Package
	if pkg == "" {
		pkg = names.Package(out)
	}
	imp := opts.ImportPath
	if imp == "" {
		if imp, err = importPath(out); err != nil {
			return nil, checkFirst(opts, srcs, err)
		}
	}
	lockPath, _ := Paths(opts)
	c := openCache(opts, out)
	if c == nil {
		return generate(opts, srcs, out, pkg, imp, nil)
	}
	inputs, err := c.inputs(opts, out, pkg, imp, srcs)
	if err != nil {
		return nil, err
	}
	k, err := key(inputs, lockPath)
	if err != nil {
		return nil, err
	}
	if m := c.load(); m.upToDate(k) {
		return skip(opts, out, m)
	}
	c.forget()
	var warnings []string
	warn := opts.Warn
	opts.Warn = func(e error) {
		warnings = append(warnings, e.Error())
		if warn != nil {
			warn(e)
		}
	}
	m := &manifest{Files: map[string]string{}}
	res, err := generate(opts, srcs, out, pkg, imp, m)
	if err != nil {
		return nil, err
	}
	// The key again, with the lock this run may have written.
	if m.Key, err = key(inputs, lockPath); err != nil {
		return nil, err
	}
	m.Warnings = warnings
	c.save(m)
	return res, nil
}

// checkFirst returns the schema's errors, else the lock's, else err: the
// order in which a run reports them.
func checkFirst(opts Options, srcs []schema.Source, err error) error {
	sopts := schema.Options{Directives: opts.Directives}
	if opts.Warn != nil {
		sopts.Warn = func(e *schema.Error) { opts.Warn(e) }
	}
	s, lerr := schema.Load(srcs, sopts)
	if lerr != nil {
		return lerr
	}
	if _, _, lerr := useLock(opts, srcs, s); lerr != nil {
		return lerr
	}
	return err
}

// skip finishes a run whose inputs and outputs are those of the last one:
// it gives the schema's warnings again and removes stray generated files.
func skip(opts Options, out string, m *manifest) (*Result, error) {
	if opts.Warn != nil {
		for _, w := range m.Warnings {
			opts.Warn(errors.New(w))
		}
	}
	keep := make(map[string]bool, len(m.Package))
	for _, p := range m.Package {
		keep[p] = true
	}
	removed, err := removeStale(out, keep)
	if err != nil {
		return nil, err
	}
	return &Result{Unchanged: len(m.Package), Removed: removed}, nil
}

// generate runs the generator and writes what changed, recording what it
// left in m when m is not nil.
func generate(opts Options, srcs []schema.Source, out, pkg, imp string, m *manifest) (*Result, error) {
	sopts := schema.Options{Directives: opts.Directives}
	if opts.Warn != nil {
		sopts.Warn = func(e *schema.Error) { opts.Warn(e) }
	}
	s, err := schema.Load(srcs, sopts)
	if err != nil {
		return nil, err
	}
	lockPath, first, err := useLock(opts, srcs, s)
	if err != nil {
		return nil, err
	}
	// The introspection JSON is rendered while the package is.
	var js []byte
	jsErr := make(chan error, 1)
	if opts.Introspection != "" {
		go func() {
			var err error
			js, err = schema.Introspection(s)
			jsErr <- err
		}()
	} else {
		jsErr <- nil
	}
	files, err := templates.Generate(s, templates.Config{Package: pkg, ImportPath: imp})
	if jerr := <-jsErr; err == nil {
		err = jerr
	}
	if err != nil {
		return nil, err
	}
	res := &Result{}
	keep := map[string]bool{}
	record := func(p string, content []byte) {
		if m != nil {
			m.Files[p] = sum(content)
		}
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(out, filepath.FromSlash(f.Path))
		keep[paths[i]] = true
	}
	changed, err := writeAll(paths, files)
	if err != nil {
		return nil, err
	}
	for i, f := range files {
		if changed[i] {
			res.Written = append(res.Written, paths[i])
		} else {
			res.Unchanged++
		}
		record(paths[i], f.Content)
		if m != nil {
			m.Package = append(m.Package, paths[i])
		}
	}
	if res.Removed, err = removeStale(out, keep); err != nil {
		return nil, err
	}
	if opts.Introspection != "" {
		changed, err := writeIfChanged(opts.Introspection, js)
		if err != nil {
			return nil, err
		}
		if changed {
			res.Written = append(res.Written, opts.Introspection)
		}
		p, _ := filepath.Abs(opts.Introspection)
		record(p, js)
	}
	if first != nil {
		// Written last, so a failed run leaves no lock behind.
		if err := first.Write(lockPath); err != nil {
			return nil, err
		}
		res.Lock = lockPath
	}
	return res, nil
}

// Paths returns the lock file and the migrations directory of opts, with
// their defaults next to the schema (see migrate.Paths).
func Paths(opts Options) (lock, migrations string) {
	return migrate.Paths(opts.Schema, opts.Lock, opts.Migrations)
}

// useLock finds the schema's lock. With none it returns the first lock, to
// write once the run succeeds; otherwise it checks s against the lock and
// gives s its lock ids and migrations.
func useLock(opts Options, srcs []schema.Source, s *meta.Schema) (lockPath string, first *migrate.Lock, err error) {
	lockPath, migDir := Paths(opts)
	lock, err := migrate.LoadLock(lockPath)
	if err != nil {
		return "", nil, err
	}
	if lock == nil {
		// The first lock's ids are the codec's position numbers: the
		// output is what it was before the schema had a lock.
		first, err = migrate.NewLock(s, nil)
		return lockPath, first, err
	}
	renames, err := migrate.ReadRenames(srcs)
	if err != nil {
		return "", nil, err
	}
	renamed, err := lock.ApplyRenames(renames)
	if err != nil {
		return "", nil, err
	}
	plan, err := migrate.Diff(renamed, s)
	if err != nil {
		return "", nil, fmt.Errorf("generate: compare with %s: %w", lockPath, err)
	}
	if !plan.Unchanged() {
		return "", nil, &migrate.PendingError{Lock: lockPath, Steps: plan.Steps}
	}
	if err := lock.Apply(s); err != nil {
		return "", nil, fmt.Errorf("generate: %s: %w", lockPath, err)
	}
	if s.Migrations, err = migrate.LoadMigrations(migDir, lock.Migration); err != nil {
		return "", nil, fmt.Errorf("generate: %w", err)
	}
	return lockPath, nil, nil
}

// writeAll writes every file whose content changed (see writeIfChanged),
// on all cores: creating a thousand files costs as much as generating
// them. changed[i] says whether files[i] was written.
func writeAll(paths []string, files []templates.File) (changed []bool, err error) {
	changed = make([]bool, len(files))
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				changed[i], errs[i] = writeIfChanged(paths[i], files[i].Content)
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	return changed, errors.Join(errs...)
}

// writeIfChanged writes content to p unless p already holds it, so that
// unchanged files keep their modification times and builds stay cached.
func writeIfChanged(p string, content []byte) (bool, error) {
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, content) {
		return false, nil
	}
	err := os.WriteFile(p, content, 0o644)
	if errors.Is(err, fs.ErrNotExist) {
		// The directory is missing (checking it first would cost a
		// system call per file of a thousand-file package).
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return false, err
		}
		err = os.WriteFile(p, content, 0o644)
	}
	return true, err
}

// removeStale deletes generated Go files under out that this run did not
// produce (for models removed from the schema), and then empty directories.
// Files without the generated-code header are never touched.
func removeStale(out string, keep map[string]bool) ([]string, error) {
	var removed []string
	var dirs []string
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != out {
				dirs = append(dirs, p)
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || keep[p] {
			return nil
		}
		gen, err := isGenerated(p)
		if err != nil || !gen {
			return err
		}
		removed = append(removed, p)
		return os.Remove(p)
	})
	if err != nil {
		return nil, err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if entries, err := os.ReadDir(dirs[i]); err == nil && len(entries) == 0 {
			_ = os.Remove(dirs[i]) // best effort: an empty directory is harmless
		}
	}
	return removed, nil
}

// isGenerated reports whether the file starts with dsgen's header.
func isGenerated(p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	return strings.TrimSpace(line) == "// "+templates.Header, nil
}

// importPath derives the import path of dir from the enclosing go.mod.
func importPath(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			mod := modulePath(b)
			if mod == "" {
				return "", fmt.Errorf("generate: %s has no module line", filepath.Join(d, "go.mod"))
			}
			rel, err := filepath.Rel(d, dir)
			if err != nil {
				return "", err
			}
			if rel == "." {
				return mod, nil
			}
			return mod + "/" + filepath.ToSlash(rel), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("generate: no go.mod above %s; pass --import-path", dir)
		}
	}
}

func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
