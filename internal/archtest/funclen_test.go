package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is the length past which a function needs a doc comment
// saying why it is long (PREAMBLE's standard, issue 13).
const maxFuncLines = 120

// TestFunctionLength fails on a hand-written function over maxFuncLines
// lines whose doc comment does not say why it is long (it must use the
// word "long"). Tests and generated code are left out.
func TestFunctionLength(t *testing.T) {
	module, _, pkgs := listModule(t)
	fset := token.NewFileSet()
	for _, p := range pkgs {
		path, ok := rel(module, p.ImportPath)
		if !ok || generated(path) {
			continue
		}
		for _, name := range p.GoFiles {
			file := filepath.Join(p.Dir, name)
			f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if ast.IsGenerated(f) {
				continue
			}
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				start, end := fset.Position(fd.Pos()), fset.Position(fd.End())
				n := end.Line - start.Line + 1
				if n > maxFuncLines && (fd.Doc == nil || !strings.Contains(fd.Doc.Text(), "long")) {
					t.Errorf("%s:%d: %s is %d lines; split it, or say in its doc comment why it is long", filepath.Join(path, name), start.Line, fd.Name.Name, n)
				}
			}
		}
	}
}
