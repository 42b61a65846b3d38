// Package config gives every dsgen command its settings from one place:
// a setting not given on the command line is read from the environment as
// DSGEN_<COMMAND>_<FLAG> (--api-key of serve: DSGEN_SERVE_API_KEY), else
// from dsgen.yml, the nearest one in the current directory or above (or the
// file --config names).
//
// The file's top level describes the generated package (schema, out,
// package, importPath, introspection, lock, directives): every command that has
// the matching flag reads it, so generate, migrate and serve agree on the
// schema. A section per command (serve:) holds that command's own settings
// keyed by flag name. Unknown keys and values of the wrong shape are errors
// naming the file, line and key.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// FileName is the settings file found up the directory tree.
const FileName = "dsgen.yml"

// Error is a problem at a line of a settings file.
type Error struct {
	File string
	Line int // 0 when the problem has no line
	Msg  string
}

// Error formats the problem as file:line: message.
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// setting is a top-level key of dsgen.yml and the flag it sets.
type setting struct {
	key, flag string
	path      bool // a path, relative to the file
	list      bool // one value or a list
}

// topLevel are the generated package's settings at the top of the file.
var topLevel = []setting{
	{key: "schema", flag: "schema", path: true},
	{key: "out", flag: "out", path: true},
	{key: "package", flag: "package"},
	{key: "importPath", flag: "import-path"},
	{key: "introspection", flag: "introspection", path: true},
	// The schema's lock: generate, migrate and serve must agree on it.
	{key: "lock", flag: "lock", path: true},
	{key: "directives", flag: "directive", list: true},
}

// sections are the top-level keys holding one command's settings.
var sections = []string{"serve"}

// File is a parsed dsgen.yml whose top-level keys and values are checked.
type File struct {
	// Path is the file's absolute path.
	Path string
	// root is the top-level mapping; nil for an empty file.
	root *yaml.Node
}

// Find looks for dsgen.yml in dir and its parents and returns its absolute
// path, or "" when there is none.
func Find(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, FileName)
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

// Read parses the settings file at path, checking that every top-level key
// is known and every top-level setting has the right shape.
func Read(path string) (*File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, err
	}
	f := &File{Path: abs}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		// yaml.v3 errors read "yaml: line N: ...": keep them whole.
		return nil, &Error{File: abs, Msg: err.Error()}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return f, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return f, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: abs, Line: root.Line, Msg: "want a mapping of settings (key: value)"}
	}
	valid := slices.Clone(sections)
	for _, s := range topLevel {
		valid = append(valid, s.key)
	}
	if err := CheckKeys(abs, root, "", valid); err != nil {
		return nil, err
	}
	f.root = root
	for _, s := range topLevel {
		if _, err := f.values(s); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// values returns the values of top-level setting s: none when unset, one,
// or for a list setting several. Paths are made relative to the file.
func (f *File) values(s setting) ([]*yaml.Node, error) {
	v := lookup(f.root, s.key)
	if v == nil || v.Tag == "!!null" {
		return nil, nil
	}
	switch {
	case v.Kind == yaml.ScalarNode:
		return []*yaml.Node{v}, nil
	case v.Kind == yaml.SequenceNode && s.list:
		for _, e := range v.Content {
			if e.Kind != yaml.ScalarNode {
				return nil, &Error{File: f.Path, Line: e.Line, Msg: s.key + ": want a list of single values"}
			}
		}
		return v.Content, nil
	case s.list:
		return nil, &Error{File: f.Path, Line: v.Line, Msg: s.key + ": want a value or a list of values"}
	}
	return nil, &Error{File: f.Path, Line: v.Line, Msg: s.key + ": want a single value"}
}

// section returns the mapping of section name, nil when the file has none.
func (f *File) section(name string) (*yaml.Node, error) {
	v := lookup(f.root, name)
	switch {
	case v == nil || v.Tag == "!!null":
		return nil, nil
	case v.Kind != yaml.MappingNode:
		return nil, &Error{File: f.Path, Line: v.Line, Msg: name + ": want a mapping of settings (flag-name: value)"}
	}
	return v, nil
}

// resolve makes a path value relative to the file's directory.
func (f *File) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(f.Path), p)
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
		return &Error{File: file, Line: k.Line, Msg: msg}
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

// lookup returns the value under key in mapping m, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
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
