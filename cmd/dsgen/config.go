package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dsgen/dsgen/internal/gen"
)

// envPrefix starts the environment variable of every serve flag:
// --jwt-hs256-secret is DSGEN_SERVE_JWT_HS256_SECRET.
const envPrefix = "DSGEN_SERVE_"

// cliOnly are serve flags that only the command line sets: they choose the
// file itself or an action, not a setting.
var cliOnly = []string{"config", "print-schema", "help", "h"}

// repeatable marks flag values that take several values: from a YAML list
// in dsgen.yml and from a comma-separated environment variable.
type repeatable interface{ repeatable() }

func (*listFlag) repeatable() {}

// envName returns the environment variable of flag name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// isPathFlag reports whether a flag takes a path: its usage names the value
// `file` or `directory`. Such values in dsgen.yml are relative to the file.
func isPathFlag(f *flag.Flag) bool {
	name, _ := flag.UnquoteUsage(f)
	return name == "file" || name == "directory"
}

// settingSources records where each serve setting came from, by flag name
// (never values: some are secrets).
type settingSources struct {
	// File is the dsgen.yml read, "" when none.
	File    string
	FromEnv []string
	// FromFile lists the settings taken from the file.
	FromFile []string
}

// applySettings fills every flag of fs not set on the command line from
// the environment (getenv; see envName), else from the serve: section of
// the dsgen.yml at cfgPath ("" for none). Precedence is flag, environment,
// file. Besides serve's own keys, the file's top-level schema and
// directives apply when the serve section does not set them. Keys of the
// serve section that name no flag are errors with the key's line.
func applySettings(fs *flag.FlagSet, getenv func(string) (string, bool), cfgPath string) (settingSources, error) {
	src := settingSources{File: cfgPath}
	onCLI := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCLI[f.Name] = true })

	var section *yaml.Node
	var top gen.Options
	if cfgPath != "" {
		root, err := gen.ReadConfig(cfgPath)
		if err != nil {
			return src, err
		}
		if root != nil {
			if top, err = gen.LoadConfig(cfgPath); err != nil {
				return src, err
			}
		}
		if section = gen.Lookup(root, "serve"); section != nil {
			switch {
			case section.Tag == "!!null":
				section = nil
			case section.Kind != yaml.MappingNode:
				return src, &gen.ConfigError{File: cfgPath, Line: section.Line, Msg: "serve: want a mapping of settings (flag-name: value)"}
			}
		}
		if section != nil {
			var valid []string
			fs.VisitAll(func(f *flag.Flag) {
				if !slices.Contains(cliOnly, f.Name) {
					valid = append(valid, f.Name)
				}
			})
			if err := gen.CheckKeys(cfgPath, section, "serve", valid); err != nil {
				return src, err
			}
		}
	}

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if onCLI[f.Name] || slices.Contains(cliOnly, f.Name) {
			return
		}
		if v, ok := getenv(envName(f.Name)); ok && v != "" {
			if err := setFromEnv(f, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", envName(f.Name), err))
				return
			}
			src.FromEnv = append(src.FromEnv, f.Name)
			return
		}
		if v := gen.Lookup(section, f.Name); v != nil && v.Tag != "!!null" {
			if err := setFromFile(f, cfgPath, v); err != nil {
				errs = append(errs, err)
				return
			}
			src.FromFile = append(src.FromFile, f.Name)
			return
		}
		// The generate settings name the same schema.
		var fallback []string
		switch f.Name {
		case "schema":
			if top.Schema != "" {
				fallback = []string{top.Schema}
			}
		case "directive":
			fallback = top.Directives
		}
		for _, v := range fallback {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, &gen.ConfigError{File: cfgPath, Msg: fmt.Sprintf("%s: %v", f.Name, err)})
				return
			}
		}
		if len(fallback) > 0 {
			src.FromFile = append(src.FromFile, f.Name)
		}
	})
	return src, errors.Join(errs...)
}

// setFromEnv sets f from an environment value; a repeatable flag takes a
// comma-separated list.
func setFromEnv(f *flag.Flag, v string) error {
	if _, ok := f.Value.(repeatable); ok {
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

// setFromFile sets f from its dsgen.yml value: a scalar; for a repeatable
// flag also a list, or a mapping read as KEY=VALUE elements (conflict:
// {Post: optimistic}). Paths are made relative to the file's directory.
func setFromFile(f *flag.Flag, file string, v *yaml.Node) error {
	bad := func(n *yaml.Node, format string, args ...any) error {
		return &gen.ConfigError{File: file, Line: n.Line, Msg: "serve: " + f.Name + ": " + fmt.Sprintf(format, args...)}
	}
	set := func(n *yaml.Node, s string) error {
		if isPathFlag(f) && s != "" && !filepath.IsAbs(s) {
			s = filepath.Join(filepath.Dir(file), s)
		}
		if err := f.Value.Set(s); err != nil {
			return bad(n, "%v", err)
		}
		return nil
	}
	_, multi := f.Value.(repeatable)
	switch {
	case v.Kind == yaml.ScalarNode:
		return set(v, v.Value)
	case v.Kind == yaml.SequenceNode && multi:
		for _, e := range v.Content {
			if e.Kind != yaml.ScalarNode {
				return bad(e, "want a list of single values")
			}
			if err := set(e, e.Value); err != nil {
				return err
			}
		}
		return nil
	case v.Kind == yaml.MappingNode && multi:
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, e := v.Content[i], v.Content[i+1]
			if e.Kind != yaml.ScalarNode {
				return bad(e, "want KEY: value pairs")
			}
			if err := set(k, k.Value+"="+e.Value); err != nil {
				return err
			}
		}
		return nil
	case multi:
		return bad(v, "want a value or a list of values")
	}
	return bad(v, "want a single value")
}

// findServeConfig returns the dsgen.yml serve reads: --config, else
// DSGEN_SERVE_CONFIG, else the nearest one in the current directory or
// above; "" when there is none.
func findServeConfig(flagValue string, getenv func(string) (string, bool)) (string, error) {
	if flagValue == "" {
		flagValue, _ = getenv(envName("config"))
	}
	if flagValue != "" {
		if _, err := os.Stat(flagValue); err != nil {
			return "", fmt.Errorf("config file: %w", err)
		}
		return filepath.Abs(flagValue)
	}
	return gen.FindConfig(".")
}
