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
	"strings"

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

// Run generates the package described by opts.
func Run(opts Options) (*Result, error) {
	if opts.Schema == "" || opts.Out == "" {
		return nil, errors.New("generate: a schema and an output directory are required")
	}
	sopts := schema.Options{Directives: opts.Directives}
	if opts.Warn != nil {
		sopts.Warn = func(e *schema.Error) { opts.Warn(e) }
	}
	srcs, err := schema.ReadPath(opts.Schema)
	if err != nil {
		return nil, err
	}
	s, err := schema.Load(srcs, sopts)
	if err != nil {
		return nil, err
	}
	out, err := filepath.Abs(opts.Out)
	if err != nil {
		return nil, err
	}
	lockPath, first, err := useLock(opts, srcs, s)
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
			return nil, err
		}
	}
	files, err := templates.Generate(s, templates.Config{Package: pkg, ImportPath: imp})
	if err != nil {
		return nil, err
	}
	res := &Result{}
	keep := map[string]bool{}
	for _, f := range files {
		p := filepath.Join(out, filepath.FromSlash(f.Path))
		keep[p] = true
		changed, err := writeIfChanged(p, f.Content)
		if err != nil {
			return nil, err
		}
		if changed {
			res.Written = append(res.Written, p)
		} else {
			res.Unchanged++
		}
	}
	if res.Removed, err = removeStale(out, keep); err != nil {
		return nil, err
	}
	if opts.Introspection != "" {
		js, err := schema.Introspection(s)
		if err != nil {
			return nil, err
		}
		changed, err := writeIfChanged(opts.Introspection, js)
		if err != nil {
			return nil, err
		}
		if changed {
			res.Written = append(res.Written, opts.Introspection)
		}
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

// writeIfChanged writes content to p unless p already holds it, so that
// unchanged files keep their modification times and builds stay cached.
func writeIfChanged(p string, content []byte) (bool, error) {
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, content) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return false, err
	}
	return true, os.WriteFile(p, content, 0o644)
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
