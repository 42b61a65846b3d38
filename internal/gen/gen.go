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
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dsgen/dsgen/internal/migrate"
	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/templates"
)

// ConfigFile is the optional configuration file found up the directory tree.
const ConfigFile = "dsgen.yml"

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
}

// Config is the content of dsgen.yml. Relative paths are relative to the
// file's directory. The file may also hold a serve: section, which
// `dsgen serve` reads (see ConfigSection); generate ignores it.
type Config struct {
	Schema        string   `yaml:"schema"`
	Out           string   `yaml:"out"`
	Package       string   `yaml:"package"`
	ImportPath    string   `yaml:"importPath"`
	Introspection string   `yaml:"introspection"`
	Directives    []string `yaml:"directives"`
}

// configKeys are the top-level keys of dsgen.yml: Config's and the
// sections other commands read.
var configKeys = []string{"schema", "out", "package", "importPath", "introspection", "directives", "serve"}

// FindConfig looks for dsgen.yml in dir and its parents and returns its
// path, or "" when there is none.
func FindConfig(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, ConfigFile)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil
		}
		dir = parent
	}
}

// ConfigError is a problem at a line of a configuration file.
type ConfigError struct {
	File string
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// ReadConfig parses a dsgen.yml into its top-level mapping, checking that
// every key is known. It returns nil for an empty file.
func ReadConfig(path string) (*yaml.Node, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		// yaml.v3 errors read "yaml: line N: ..."; keep them whole.
		return nil, &ConfigError{File: path, Msg: err.Error()}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &ConfigError{File: path, Line: root.Line, Msg: "want a mapping of settings (key: value)"}
	}
	if err := CheckKeys(path, root, "", configKeys); err != nil {
		return nil, err
	}
	return root, nil
}

// CheckKeys reports the first key of mapping m that is not in valid, with
// its line, the section it is in ("" for the top level), a suggestion when
// the key is close to a valid one (apiKey, api_key, srve) and the valid
// keys.
func CheckKeys(file string, m *yaml.Node, section string, valid []string) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind == yaml.ScalarNode && slices.Contains(valid, k.Value) {
			continue
		}
		where := ""
		if section != "" {
			where = " in " + section
		}
		msg := fmt.Sprintf("unknown key %q%s", k.Value, where)
		if v := suggest(k.Value, valid); v != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", v)
		}
		sorted := slices.Sorted(slices.Values(valid))
		msg += "; valid keys: " + strings.Join(sorted, ", ")
		return &ConfigError{File: file, Line: k.Line, Msg: msg}
	}
	return nil
}

// suggest returns the valid key that key most likely meant: the same but
// for spelling style, else one within two edits; "" when none is close.
func suggest(key string, valid []string) string {
	best, bestDist := "", 3
	for _, v := range valid {
		d := editDistance(foldKey(key), foldKey(v))
		if d < bestDist && d < len(v) {
			best, bestDist = v, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// foldKey drops case, dashes and underscores, so that api-key, apiKey and
// API_KEY compare equal.
func foldKey(s string) string {
	return strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(s))
}

// Lookup returns the value under key in mapping m, or nil.
func Lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// LoadConfig reads a dsgen.yml into options, resolving relative paths.
// Unknown keys and values of the wrong shape are errors naming the line.
func LoadConfig(path string) (Options, error) {
	root, err := ReadConfig(path)
	if err != nil || root == nil {
		return Options{}, err
	}
	var c Config
	str := func(key string, dst *string) error {
		v := Lookup(root, key)
		if v == nil || v.Tag == "!!null" {
			return nil
		}
		if v.Kind != yaml.ScalarNode {
			return &ConfigError{File: path, Line: v.Line, Msg: fmt.Sprintf("%s: want a single value", key)}
		}
		*dst = v.Value
		return nil
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"schema", &c.Schema}, {"out", &c.Out}, {"package", &c.Package}, {"importPath", &c.ImportPath}, {"introspection", &c.Introspection}} {
		if err := str(f.key, f.dst); err != nil {
			return Options{}, err
		}
	}
	if v := Lookup(root, "directives"); v != nil && v.Tag != "!!null" {
		if c.Directives, err = Strings(path, "directives", v); err != nil {
			return Options{}, err
		}
	}
	base := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	return Options{
		Schema: rel(c.Schema), Out: rel(c.Out), Package: c.Package, ImportPath: c.ImportPath,
		Introspection: rel(c.Introspection), Directives: c.Directives,
	}, nil
}

// Strings reads a list of scalars, or one scalar as a list of one.
func Strings(file, key string, v *yaml.Node) ([]string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		return []string{v.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(v.Content))
		for _, e := range v.Content {
			if e.Kind != yaml.ScalarNode {
				return nil, &ConfigError{File: file, Line: e.Line, Msg: fmt.Sprintf("%s: want a list of single values", key)}
			}
			out = append(out, e.Value)
		}
		return out, nil
	}
	return nil, &ConfigError{File: file, Line: v.Line, Msg: fmt.Sprintf("%s: want a value or a list of values", key)}
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
		pkg = PackageName(out)
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

// PackageName is the Go package name generate gives the package in
// directory out when none is configured: its base name, lower-cased, less
// '-', '.' and '_'.
func PackageName(out string) string {
	return strings.ToLower(strings.NewReplacer("-", "", ".", "", "_", "").Replace(filepath.Base(out)))
}

// Paths returns the lock file and the migrations directory of opts, with
// their defaults next to the schema.
func Paths(opts Options) (lock, migrations string) {
	base := filepath.Dir(opts.Schema)
	if st, err := os.Stat(opts.Schema); err == nil && st.IsDir() {
		base = opts.Schema
	}
	lock, migrations = opts.Lock, opts.Migrations
	if lock == "" {
		lock = filepath.Join(base, migrate.LockFile)
	}
	if migrations == "" {
		migrations = filepath.Join(base, migrate.MigrationsDir)
	}
	return lock, migrations
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
