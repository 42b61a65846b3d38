package gen

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ConfigFile)
	write(t, path, `schema: api/schema.graphql
out: /abs/model
importPath: example.com/app/model
directives: aws_cognito_user_pools
serve:
  anything: the serve section is serve's to check
`)
	opts, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Schema != filepath.Join(dir, "api/schema.graphql") || opts.Out != "/abs/model" ||
		opts.ImportPath != "example.com/app/model" || !slices.Equal(opts.Directives, []string{"aws_cognito_user_pools"}) {
		t.Errorf("LoadConfig = %+v", opts)
	}

	write(t, path, "")
	if opts, err := LoadConfig(path); err != nil || opts.Schema != "" {
		t.Errorf("empty file: %+v, %v", opts, err)
	}

	for _, c := range []struct{ yml, want string }{
		{"schema: s\nimport_path: x\n", `:2: unknown key "import_path" (did you mean "importPath"?); valid keys: directives, importPath, introspection, out, package, schema, serve`},
		{"schema: s\nouput: x\n", `:2: unknown key "ouput" (did you mean "out"?)`},
		{"schema: [a, b]\n", `:1: schema: want a single value`},
		{"directives:\n  - a\n  - {b: c}\n", `:3: directives: want a list of single values`},
		{"- schema\n", `:1: want a mapping of settings`},
	} {
		write(t, path, c.yml)
		_, err := LoadConfig(path)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), ConfigFile+c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.yml, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "gen.Config") {
			t.Errorf("%q: error %v names a Go type", c.yml, err)
		}
	}
}
