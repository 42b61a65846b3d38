package templates

import (
	"bytes"
	"fmt"
	"go/format"
	"path"
	"sort"
	"strconv"
	"strings"
)

// text builds a generated file as Go source that is already gofmt-clean,
// so that it needs no go/format pass: formatting the output took half of
// generate's run time (issue 16). The per-model files (model, fields,
// non-model types) are written this way; only struct type declarations,
// whose columns gofmt aligns, go through go/format, one declaration at a
// time. TestGeneratedIsGofmtClean holds every generated file to gofmt and
// the goldens hold them to the bytes.
type text struct {
	body    bytes.Buffer
	imports map[string]string // import path -> package name, of the paths used
	local   map[string]string // import path -> package name, for paths whose name is not path.Base
}

func newText(local map[string]string) *text {
	return &text{imports: map[string]string{}, local: local}
}

// q returns name qualified with the package of importPath, and records the
// import.
func (t *text) q(importPath, name string) string {
	pkg, ok := t.imports[importPath]
	if !ok {
		pkg = t.local[importPath]
		if pkg == "" {
			pkg = path.Base(importPath)
		}
		t.imports[importPath] = pkg
	}
	return pkg + "." + name
}

// p appends formatted text.
func (t *text) p(format string, args ...any) { fmt.Fprintf(&t.body, format, args...) }

// s appends text.
func (t *text) s(parts ...string) {
	for _, p := range parts {
		t.body.WriteString(p)
	}
}

// doc appends a comment, one // line per line of text, at the given
// indentation.
func (t *text) doc(indent, format string, args ...any) {
	for _, line := range strings.Split(fmt.Sprintf(format, args...), "\n") {
		t.body.WriteString(indent)
		if line == "" {
			t.body.WriteString("//\n")
			continue
		}
		t.body.WriteString("// ")
		t.body.WriteString(line)
		t.body.WriteByte('\n')
	}
}

// structField is one field of a struct type declaration.
type structField struct {
	comment, name, typ, tag string
}

// structDecl appends a struct type declaration, gofmt'ed: its name, type
// and tag columns are aligned by gofmt's rules, which go/format applies to
// this declaration alone (a small input, unlike the whole file).
func (t *text) structDecl(name string, fields []structField) error {
	if len(fields) == 0 {
		t.s("type ", name, " struct{}\n")
		return nil
	}
	var b strings.Builder
	b.WriteString("package p\n\ntype ")
	b.WriteString(name)
	b.WriteString(" struct {\n")
	for _, f := range fields {
		if f.comment != "" {
			b.WriteString("// ")
			b.WriteString(f.comment)
			b.WriteByte('\n')
		}
		b.WriteString(f.name)
		b.WriteByte(' ')
		b.WriteString(f.typ)
		if f.tag != "" {
			b.WriteString(" `")
			b.WriteString(f.tag)
			b.WriteByte('`')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	out, err := format.Source([]byte(b.String()))
	if err != nil {
		return fmt.Errorf("generate: struct %s: %w", name, err)
	}
	t.body.Write(bytes.TrimPrefix(out, []byte("package p\n\n")))
	return nil
}

// file returns the whole file: header, package comment, package clause,
// imports (standard library first, as goimports groups them) and body.
func (t *text) file(pkg, pkgComment string) []byte {
	var b bytes.Buffer
	b.Grow(t.body.Len() + 512)
	b.WriteString("// " + Header + "\n\n")
	if pkgComment != "" {
		b.WriteString(pkgComment)
	}
	b.WriteString("package " + pkg + "\n\n")
	paths := make([]string, 0, len(t.imports))
	for p := range t.imports {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	switch len(paths) {
	case 0:
	case 1:
		b.WriteString("import " + strconv.Quote(paths[0]) + "\n\n")
	default:
		var std, other []string
		for _, p := range paths {
			if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") {
				other = append(other, p)
			} else {
				std = append(std, p)
			}
		}
		b.WriteString("import (\n")
		for _, p := range std {
			b.WriteString("\t" + strconv.Quote(p) + "\n")
		}
		if len(std) > 0 && len(other) > 0 {
			b.WriteString("\n")
		}
		for _, p := range other {
			b.WriteString("\t" + strconv.Quote(p) + "\n")
		}
		b.WriteString(")\n\n")
	}
	b.Write(t.body.Bytes())
	return b.Bytes()
}
