package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Command says how one command's flags are set from the environment and
// the settings file.
type Command struct {
	// Name is the command's name: its environment variables are
	// DSGEN_<NAME>_<FLAG>, upper-cased, dashes as underscores.
	Name string
	// Section is the file's section keyed by this command's flag names
	// ("serve"); "" when the command has none.
	Section string
	// CLIOnly lists flags that only the command line sets: actions rather
	// than settings (--check, --print-schema). --config, -h and --help
	// always are.
	CLIOnly []string
	// Needs lists the flags the command cannot run without. When the
	// command line and the environment set them all and --config names no
	// file, the nearest dsgen.yml is not read: it may describe another
	// package than the one named. Empty: the file is always read.
	Needs []string
}

// EnvName returns the environment variable of flag name:
// --jwt-hs256-secret of serve is DSGEN_SERVE_JWT_HS256_SECRET.
func (c Command) EnvName(name string) string {
	return "DSGEN_" + strings.ToUpper(c.Name) + "_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// settable reports whether flag name may come from the environment or
// the file.
func (c Command) settable(name string) bool {
	switch name {
	case "config", "help", "h":
		return false
	}
	return !slices.Contains(c.CLIOnly, name)
}

// Sources records where settings came from, by flag name (never values:
// some are secrets).
type Sources struct {
	// File is the settings file read, "" when none.
	File string
	// FromEnv lists the settings taken from the environment.
	FromEnv []string
	// FromFile lists the settings taken from the file.
	FromFile []string
}

// Getenv looks up an environment variable, as os.LookupEnv does.
type Getenv func(key string) (string, bool)

// Load fills every flag of fs that the command line did not set, from the
// environment (getenv; see Command.EnvName), else from the settings file:
// the one --config (or its environment variable) names, else the nearest
// dsgen.yml in the current directory or above, unless cmd.Needs says the
// command line and environment already describe the package. Precedence
// is flag, environment, file.
func Load(fs *flag.FlagSet, cmd Command, getenv Getenv) (Sources, error) {
	named := ""
	if f := fs.Lookup("config"); f != nil {
		named = f.Value.String()
	}
	if named == "" {
		named, _ = getenv(cmd.EnvName("config"))
	}
	if named != "" {
		if _, err := os.Stat(named); err != nil {
			return Sources{}, fmt.Errorf("config file: %w", err)
		}
		return Apply(fs, cmd, getenv, named)
	}
	set := setOnCLI(fs)
	var src Sources
	var err error
	if src.FromEnv, err = applyEnv(fs, cmd, getenv, set); err != nil {
		return src, err
	}
	if len(cmd.Needs) > 0 && !slices.ContainsFunc(cmd.Needs, func(n string) bool { return !set[n] }) {
		return src, nil
	}
	path, err := Find(".")
	if err != nil || path == "" {
		return src, err
	}
	src.File = path
	src.FromFile, err = applyFile(fs, cmd, path, set)
	return src, err
}

// Apply fills every flag of fs that the command line did not set from the
// environment, else from the settings file at path ("" for none).
func Apply(fs *flag.FlagSet, cmd Command, getenv Getenv, path string) (Sources, error) {
	set := setOnCLI(fs)
	src := Sources{}
	var err error
	if src.FromEnv, err = applyEnv(fs, cmd, getenv, set); err != nil || path == "" {
		return src, err
	}
	if path, err = filepath.Abs(path); err != nil {
		return src, err
	}
	src.File = path
	src.FromFile, err = applyFile(fs, cmd, path, set)
	return src, err
}

// setOnCLI returns the flags the command line set.
func setOnCLI(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// applyEnv sets the flags not in set from their environment variables
// (an empty one is unset), adds them to set and returns their names.
func applyEnv(fs *flag.FlagSet, cmd Command, getenv Getenv, set map[string]bool) ([]string, error) {
	var names []string
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || !cmd.settable(f.Name) {
			return
		}
		v, ok := getenv(cmd.EnvName(f.Name))
		if !ok || v == "" {
			return
		}
		if err := setFromEnv(f, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", cmd.EnvName(f.Name), err))
			return
		}
		set[f.Name] = true
		names = append(names, f.Name)
	})
	return names, errors.Join(errs...)
}

// setFromEnv sets f from an environment value; a list flag takes a
// comma-separated list.
func setFromEnv(f *flag.Flag, v string) error {
	if _, ok := f.Value.(*List); ok {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				if err := f.Value.Set(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return f.Value.Set(v)
}

// applyFile sets the flags not in set from the file at path: from the
// command's section, else from the top-level setting of the same flag. It
// returns the names of the flags it set.
func applyFile(fs *flag.FlagSet, cmd Command, path string, set map[string]bool) ([]string, error) {
	file, err := Read(path)
	if err != nil {
		return nil, err
	}
	var section *yaml.Node
	if cmd.Section != "" {
		if section, err = file.section(cmd.Section); err != nil {
			return nil, err
		}
		if section != nil {
			var valid []string
			fs.VisitAll(func(f *flag.Flag) {
				if cmd.settable(f.Name) {
					valid = append(valid, f.Name)
				}
			})
			if err := CheckKeys(file.Path, section, cmd.Section, valid); err != nil {
				return nil, err
			}
		}
	}
	var names []string
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || !cmd.settable(f.Name) {
			return
		}
		ok, err := setFromSection(file, f, cmd.Section, lookup(section, f.Name))
		if err == nil && !ok {
			ok, err = setFromTop(file, f)
		}
		switch {
		case err != nil:
			errs = append(errs, err)
		case ok:
			names = append(names, f.Name)
		}
	})
	return names, errors.Join(errs...)
}

// setFromTop sets f from the top-level setting for it, if the file has one.
func setFromTop(file *File, f *flag.Flag) (bool, error) {
	i := slices.IndexFunc(topLevel, func(s setting) bool { return s.flag == f.Name })
	if i < 0 {
		return false, nil
	}
	s := topLevel[i]
	vs, err := file.values(s)
	if err != nil {
		return false, err
	}
	for _, v := range vs {
		val := v.Value
		if s.path {
			val = file.resolve(val)
		}
		if err := f.Value.Set(val); err != nil {
			return false, &Error{File: file.Path, Line: v.Line, Msg: fmt.Sprintf("%s: %v", s.key, err)}
		}
	}
	return len(vs) > 0, nil
}

// setFromSection sets f from its value v in section: a scalar; for a list
// flag also a list, or a mapping read as KEY=VALUE elements (conflict:
// {Post: optimistic}). Values of path flags (see isPathFlag) are made
// relative to the file's directory. A nil or null v sets nothing.
func setFromSection(file *File, f *flag.Flag, section string, v *yaml.Node) (bool, error) {
	if v == nil || v.Tag == "!!null" {
		return false, nil
	}
	bad := func(n *yaml.Node, format string, args ...any) error {
		return &Error{File: file.Path, Line: n.Line, Msg: section + ": " + f.Name + ": " + fmt.Sprintf(format, args...)}
	}
	set := func(n *yaml.Node, s string) error {
		if isPathFlag(f) {
			s = file.resolve(s)
		}
		if err := f.Value.Set(s); err != nil {
			return bad(n, "%v", err)
		}
		return nil
	}
	_, multi := f.Value.(*List)
	switch {
	case v.Kind == yaml.ScalarNode:
		return true, set(v, v.Value)
	case v.Kind == yaml.SequenceNode && multi:
		for _, e := range v.Content {
			if e.Kind != yaml.ScalarNode {
				return false, bad(e, "want a list of single values")
			}
			if err := set(e, e.Value); err != nil {
				return false, err
			}
		}
		return true, nil
	case v.Kind == yaml.MappingNode && multi:
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, e := v.Content[i], v.Content[i+1]
			if e.Kind != yaml.ScalarNode {
				return false, bad(e, "want KEY: value pairs")
			}
			if err := set(k, k.Value+"="+e.Value); err != nil {
				return false, err
			}
		}
		return true, nil
	case multi:
		return false, bad(v, "want a value or a list of values")
	}
	return false, bad(v, "want a single value")
}

// isPathFlag reports whether a flag takes a path: its usage names the value
// `file` or `directory`. Such values in dsgen.yml are relative to the file.
func isPathFlag(f *flag.Flag) bool {
	name, _ := flag.UnquoteUsage(f)
	return name == "file" || name == "directory"
}

// List is the value of a repeatable flag: each use adds values, and one
// use may give several separated by commas (--directive a,b). In dsgen.yml
// it takes a YAML list; in the environment, a comma-separated one.
type List []string

// String returns the values joined by commas.
func (l *List) String() string { return strings.Join(*l, ",") }

// Set adds the comma-separated values of v.
func (l *List) Set(v string) error {
	*l = append(*l, strings.Split(v, ",")...)
	return nil
}
