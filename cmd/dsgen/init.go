package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dsgen/dsgen/templates/names"
)

const initSummary = `Starts a dsgen project in the current directory, which must be inside a Go
module: writes dsgen.yml (schema and out), a starter schema.graphql and
generate.go holding the //go:generate line, then says what to run next.
Nothing is overwritten: if one of the files exists, init writes none.

The //go:generate line runs "go tool dsgen generate": go.mod must list
dsgen as a tool (go get -tool github.com/dsgen/dsgen/cmd/dsgen; for a local
checkout, see dsgen's README).`

const starterSchema = `# The app's data model: Amplify GraphQL transformer v2 directives.
# After editing, run: go generate ./...
# (once data is stored, run dsgen migrate first: see the dsgen README).

type Todo @model {
  id: ID!
  name: String!
  description: String
  done: Boolean @default(value: "false")
  priority: Priority
}

enum Priority {
  LOW
  NORMAL
  HIGH
}
`

const dsgenModule = "github.com/dsgen/dsgen"

func initCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", initSummary, stderr)
	schemaName := fs.String("schema", "schema.graphql", "the starter schema's `file` name")
	out := fs.String("out", "model", "the generated package's `directory`")
	if err := parse(fs, args); err != nil {
		return err
	}
	gomod, err := findGoMod(".")
	if err != nil {
		return err
	}
	modBytes, err := os.ReadFile(gomod)
	if err != nil {
		return err
	}
	pkg, err := dirPackage(".")
	if err != nil {
		return err
	}
	files := []struct{ name, body string }{
		{"dsgen.yml", fmt.Sprintf("# dsgen settings: read by dsgen generate, migrate, serve and inspect.\nschema: %s\nout: %s\n", *schemaName, *out)},
		{*schemaName, starterSchema},
		{"generate.go", fmt.Sprintf("package %s\n\n// Generates ./%s from %s with the settings in dsgen.yml.\n//go:generate go tool dsgen generate\n", pkg, filepath.ToSlash(*out), *schemaName)},
	}
	var exist []string
	for _, f := range files {
		if _, err := os.Stat(f.name); err == nil {
			exist = append(exist, f.name)
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if len(exist) > 0 {
		return fmt.Errorf("init: %s already exist(s); nothing was written (move them aside to start over)", strings.Join(exist, ", "))
	}
	for _, f := range files {
		// O_EXCL: a file that appeared meanwhile is not overwritten either.
		fh, err := os.OpenFile(f.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
		_, err = fh.WriteString(f.body)
		if err = errors.Join(err, fh.Close()); err != nil {
			return fmt.Errorf("init: %w", err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", f.name)
	}
	fmt.Fprintln(stdout, "\nnext:")
	if !hasTool(modBytes) {
		fmt.Fprintf(stdout, "  go get -tool %s/cmd/dsgen   # go.mod lists no dsgen tool yet; for a local checkout see dsgen's README\n", dsgenModule)
	}
	fmt.Fprintf(stdout, "  go generate ./...   # writes ./%s and the schema lock dsgen.lock.json (commit it)\n", filepath.ToSlash(*out))
	return nil
}

// findGoMod returns the go.mod of the module holding dir.
func findGoMod(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "go.mod")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("init: %s is not inside a Go module: run go mod init first", abs)
		}
	}
}

// dirPackage is the package of the Go files in dir, or one named after
// dir when it has none.
func dirPackage(dir string) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, m := range matches {
		if strings.HasSuffix(m, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), m, nil, parser.PackageClauseOnly)
		if err != nil {
			return "", fmt.Errorf("init: %w", err)
		}
		return f.Name.Name, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return names.Package(abs), nil
}

// hasTool reports whether go.mod declares dsgen's command as a tool.
func hasTool(gomod []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	inBlock := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "tool (":
			inBlock = true
		case inBlock && line == ")":
			inBlock = false
		case inBlock && line == dsgenModule+"/cmd/dsgen",
			line == "tool "+dsgenModule+"/cmd/dsgen":
			return true
		}
	}
	return false
}
