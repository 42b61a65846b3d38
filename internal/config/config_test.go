package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var serveCmd = Command{Name: "serve", Section: "serve", CLIOnly: []string{"print-schema"}}

// testFlags is a flag set shaped like serve's: a string, a repeatable list,
// a duration, a bool and path flags.
type testFlags struct {
	fs        *flag.FlagSet
	addr      *string
	data      *string
	schema    *string
	grace     *time.Duration
	inMemory  *bool
	apiKeys   List
	conflicts List
}

func newTestFlags(t *testing.T, args ...string) *testFlags {
	t.Helper()
	f := &testFlags{fs: flag.NewFlagSet("serve", flag.ContinueOnError)}
	f.fs.SetOutput(io.Discard)
	f.addr = f.fs.String("addr", "127.0.0.1:20002", "listen `address`")
	f.data = f.fs.String("data", "", "data `directory`")
	f.schema = f.fs.String("schema", "", "schema `file` or directory")
	f.grace = f.fs.Duration("grace", 10*time.Second, "grace")
	f.inMemory = f.fs.Bool("in-memory", false, "in memory")
	f.fs.Bool("print-schema", false, "print the SDL")
	f.fs.String("config", "", "settings `file`")
	f.fs.Var(&f.apiKeys, "api-key", "API `key`")
	f.fs.Var(&f.conflicts, "conflict", "`MODEL=STRATEGY`")
	if err := f.fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

// envOf is a getenv over a fixed map.
func envOf(m map[string]string) Getenv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestApplyPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "conf", FileName), `schema: schema.graphql
serve:
  addr: file:1
  data: data-dir
  grace: 3s
  in-memory: true
  api-key: [file-a, file-b]
  conflict: {Post: optimistic, Blog: none}
`)
	f := newTestFlags(t, "--addr", "flag:1", "--api-key", "flag-a")
	src, err := Apply(f.fs, serveCmd, envOf(map[string]string{
		"DSGEN_SERVE_ADDR":    "env:1",
		"DSGEN_SERVE_API_KEY": "env-a",
		"DSGEN_SERVE_GRACE":   "7s",
		"DSGEN_SERVE_DATA":    "", // empty is unset
	}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	confDir := filepath.Join(dir, "conf")
	for _, c := range []struct{ name, got, want string }{
		{"addr (flag over env and file)", *f.addr, "flag:1"},
		{"api-key (flag over env and file, not merged)", f.apiKeys.String(), "flag-a"},
		{"grace (env over file)", f.grace.String(), "7s"},
		{"data (file, relative to the file)", *f.data, filepath.Join(confDir, "data-dir")},
		{"schema (the file's top-level schema)", *f.schema, filepath.Join(confDir, "schema.graphql")},
		{"conflict (mapping)", f.conflicts.String(), "Blog=none,Post=optimistic"},
	} {
		got := c.got
		if c.name == "conflict (mapping)" {
			// YAML mappings keep file order; compare as a set.
			parts := strings.Split(got, ",")
			slices.Sort(parts)
			got = strings.Join(parts, ",")
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.name, got, c.want)
		}
	}
	if !*f.inMemory {
		t.Error("in-memory: true in the file was not applied")
	}
	if strings.Join(src.FromEnv, ",") != "grace" {
		t.Errorf("FromEnv = %v, want [grace]", src.FromEnv)
	}
	slices.Sort(src.FromFile)
	if strings.Join(src.FromFile, ",") != "conflict,data,in-memory,schema" || src.File != cfg {
		t.Errorf("FromFile = %v, File = %q", src.FromFile, src.File)
	}

	// Env lists are comma-separated; without a file only env applies.
	f = newTestFlags(t)
	if _, err := Apply(f.fs, serveCmd, envOf(map[string]string{"DSGEN_SERVE_API_KEY": "k1, k2", "DSGEN_SERVE_IN_MEMORY": "true"}), ""); err != nil {
		t.Fatal(err)
	}
	if f.apiKeys.String() != "k1,k2" || !*f.inMemory || *f.addr != "127.0.0.1:20002" {
		t.Errorf("env only: api-key %q, in-memory %v, addr %q", f.apiKeys.String(), *f.inMemory, *f.addr)
	}
}

func TestApplyErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, yml string
		env       map[string]string
		want      []string
	}{
		{"unknown key", "schema: s.graphql\nserve:\n  addr: x\n  apiKey: secret\n", nil,
			[]string{"dsgen.yml:4: unknown key \"apiKey\" in serve (did you mean \"api-key\"?)", "valid keys: addr, api-key,"}},
		{"unknown top-level key", "schema: s.graphql\nsrve:\n  addr: x\n", nil,
			[]string{"dsgen.yml:2: unknown key \"srve\" (did you mean \"serve\"?)", "valid keys: directives, importPath, introspection, lock, out, package, schema, serve"}},
		{"a command-line-only flag", "serve:\n  config: other.yml\n", nil,
			[]string{"dsgen.yml:2: unknown key \"config\" in serve"}},
		{"an action", "serve:\n  print-schema: true\n", nil,
			[]string{"dsgen.yml:2: unknown key \"print-schema\" in serve"}},
		{"bad value", "serve:\n  grace: soon\n", nil,
			[]string{"dsgen.yml:2: serve: grace: "}},
		{"list for a single value", "serve:\n  addr: [a, b]\n", nil,
			[]string{"dsgen.yml:2: serve: addr: want a single value"}},
		{"serve not a mapping", "serve: yes\n", nil,
			[]string{"dsgen.yml:1: serve: want a mapping"}},
		{"bad env value", "", map[string]string{"DSGEN_SERVE_GRACE": "soon"},
			[]string{"DSGEN_SERVE_GRACE: "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := writeFile(t, filepath.Join(dir, c.name, FileName), c.yml)
			_, err := Apply(newTestFlags(t).fs, serveCmd, envOf(c.env), cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "config.") {
				t.Errorf("error %q shows a value or a Go type", err)
			}
		})
	}
}

// generateFlags is a flag set shaped like generate's.
type generateFlags struct {
	fs                                                *flag.FlagSet
	schema, out, pkg, importPath, introspection, lock *string
	directives                                        List
}

var generateCmd = Command{Name: "generate", Needs: []string{"schema", "out"}}

func newGenerateFlags(t *testing.T, args ...string) *generateFlags {
	t.Helper()
	f := &generateFlags{fs: flag.NewFlagSet("generate", flag.ContinueOnError)}
	f.fs.SetOutput(io.Discard)
	f.schema = f.fs.String("schema", "", "schema `file` or directory")
	f.out = f.fs.String("out", "", "output `directory`")
	f.pkg = f.fs.String("package", "", "Go package `name`")
	f.importPath = f.fs.String("import-path", "", "import `path`")
	f.introspection = f.fs.String("introspection", "", "introspection `file`")
	f.lock = f.fs.String("lock", "", "lock `file`")
	f.fs.Var(&f.directives, "directive", "directive `name`")
	f.fs.String("config", "", "settings `file`")
	if err := f.fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestTopLevel reads the generated package's settings at the top of the
// file, as generate and migrate do.
func TestTopLevel(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	writeFile(t, path, `schema: api/schema.graphql
out: /abs/model
importPath: example.com/app/model
introspection: model.json
lock: api/dsgen.lock.json
directives: aws_cognito_user_pools
serve:
  anything: the serve section is serve's to check
`)
	f := newGenerateFlags(t)
	if _, err := Apply(f.fs, generateCmd, envOf(nil), path); err != nil {
		t.Fatal(err)
	}
	if *f.schema != filepath.Join(dir, "api/schema.graphql") || *f.out != "/abs/model" || *f.pkg != "" ||
		*f.importPath != "example.com/app/model" || *f.introspection != filepath.Join(dir, "model.json") ||
		*f.lock != filepath.Join(dir, "api/dsgen.lock.json") || !slices.Equal(f.directives, List{"aws_cognito_user_pools"}) {
		t.Errorf("settings: schema %q out %q package %q import-path %q introspection %q directives %q",
			*f.schema, *f.out, *f.pkg, *f.importPath, *f.introspection, f.directives)
	}

	writeFile(t, path, "")
	f = newGenerateFlags(t)
	if _, err := Apply(f.fs, generateCmd, envOf(nil), path); err != nil || *f.schema != "" {
		t.Errorf("empty file: schema %q, %v", *f.schema, err)
	}

	for _, c := range []struct{ yml, want string }{
		{"schema: s\nimport_path: x\n", `:2: unknown key "import_path" (did you mean "importPath"?); valid keys: directives, importPath, introspection, lock, out, package, schema, serve`},
		{"schema: s\nouput: x\n", `:2: unknown key "ouput" (did you mean "out"?)`},
		{"schema: [a, b]\n", `:1: schema: want a single value`},
		{"directives:\n  - a\n  - {b: c}\n", `:3: directives: want a list of single values`},
		{"directives: {a: b}\n", `:1: directives: want a value or a list of values`},
		{"- schema\n", `:1: want a mapping of settings`},
	} {
		writeFile(t, path, c.yml)
		_, err := Apply(newGenerateFlags(t).fs, generateCmd, envOf(nil), path)
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), FileName+c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.yml, err, c.want)
		}
	}
}

// TestLoad finds the file up the tree, honours --config and
// DSGEN_<CMD>_CONFIG, and leaves the file unread when the command line
// and environment name everything the command needs.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, FileName), "schema: s.graphql\nout: model\npackage: store\n")
	other := writeFile(t, filepath.Join(dir, "other.yml"), "schema: other.graphql\nout: other\n")
	sub := filepath.Join(dir, "cmd", "app")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)

	f := newGenerateFlags(t, "--out", "flag-out")
	src, err := Load(f.fs, generateCmd, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if *f.schema != filepath.Join(dir, "s.graphql") || *f.out != "flag-out" || *f.pkg != "store" || src.File != filepath.Join(dir, FileName) {
		t.Errorf("up the tree: schema %q out %q package %q file %q", *f.schema, *f.out, *f.pkg, src.File)
	}

	// Schema and out given: another package than the file's.
	f = newGenerateFlags(t, "--out", "flag-out")
	src, err = Load(f.fs, generateCmd, envOf(map[string]string{"DSGEN_GENERATE_SCHEMA": "env.graphql"}))
	if err != nil {
		t.Fatal(err)
	}
	if *f.schema != "env.graphql" || *f.pkg != "" || src.File != "" || !slices.Equal(src.FromEnv, []string{"schema"}) {
		t.Errorf("all needs given: schema %q package %q file %q from env %v", *f.schema, *f.pkg, src.File, src.FromEnv)
	}

	// A file named is always read.
	for _, c := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--schema", "x", "--out", "y", "--config", other}, nil},
		{[]string{"--schema", "x", "--out", "y"}, map[string]string{"DSGEN_GENERATE_CONFIG": other}},
	} {
		f = newGenerateFlags(t, c.args...)
		if src, err := Load(f.fs, generateCmd, envOf(c.env)); err != nil || src.File != other {
			t.Errorf("%v %v: file %q, %v", c.args, c.env, src.File, err)
		}
	}
	f = newGenerateFlags(t, "--config", "missing.yml")
	if _, err := Load(f.fs, generateCmd, envOf(nil)); err == nil || !strings.Contains(err.Error(), "missing.yml") {
		t.Errorf("missing --config: %v", err)
	}
}
