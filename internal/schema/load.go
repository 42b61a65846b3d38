// Package schema reads Amplify GraphQL transformer v2 schemas (and v1 schemas,
// see v1.go) into schema metadata (runtime/meta) and validates them.
//
// Load parses every source, checks it and returns either a *meta.Schema or an
// Errors value listing every problem found, each with its file:line:col.
package schema

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/dsgen/dsgen/runtime/meta"
)

// Options adjust how a schema is read.
type Options struct {
	// Directives names custom transformer directives (as in Amplify's custom
	// transformers) that are accepted anywhere and otherwise ignored. Any
	// other directive that is neither Amplify's nor declared in the schema is
	// an error.
	Directives []string
	// Warn, when set, receives problems that do not stop the schema from
	// loading, such as a model-typed field without a relation directive
	// (left out, as Amplify does).
	Warn func(*Error)
}

// Source is one schema document.
type Source struct {
	Name  string // file name used in error positions
	Input string
}

// ReadPath reads a schema file, or every *.graphql file of a directory in
// name order.
func ReadPath(path string) ([]Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	files := []string{path}
	if st.IsDir() {
		files, err = filepath.Glob(filepath.Join(path, "*.graphql"))
		if err != nil {
			return nil, fmt.Errorf("read schema: %w", err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("read schema: no *.graphql files in %s", path)
		}
		sort.Strings(files)
	}
	srcs := make([]Source, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read schema: %w", err)
		}
		srcs = append(srcs, Source{Name: f, Input: string(b)})
	}
	return srcs, nil
}

// LoadPath reads and loads the schema at path (a file or a directory).
func LoadPath(path string, opts Options) (*meta.Schema, error) {
	srcs, err := ReadPath(path)
	if err != nil {
		return nil, err
	}
	return Load(srcs, opts)
}

// Load parses, checks and processes the sources as one schema. When the
// schema has problems the error is an Errors value holding all of them.
func Load(srcs []Source, opts Options) (*meta.Schema, error) {
	if len(srcs) == 0 {
		return nil, errors.New("load schema: no sources")
	}
	if err := refuseV1Custom(opts); err != nil {
		return nil, err
	}
	var errs Errors
	user := &ast.SchemaDocument{}
	for _, src := range srcs {
		doc, err := parser.ParseSchema(&ast.Source{Name: src.Name, Input: src.Input})
		if err != nil {
			for _, e := range fromGQL(err, src.Name) {
				e.Msg = "syntax error: " + e.Msg
				errs = append(errs, e)
			}
			continue
		}
		user.Merge(doc)
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	c := &checker{opts: opts}
	v1, terrs := detectTransformer(user, c.custom)
	if len(terrs) > 0 {
		return nil, terrs
	}
	c.v1 = v1
	c.checkNames(user)
	if len(c.errs) > 0 {
		return nil, c.errs.sorted()
	}
	typeDirs := map[string]ast.DirectiveList{}
	for _, d := range append(append(ast.DefinitionList{}, user.Definitions...), user.Extensions...) {
		typeDirs[d.Name] = append(typeDirs[d.Name], d.Directives...)
	}
	c.stripCustom(user)
	c.lenientUnions(user)

	full := validator.PreludeDocument()
	amp, err := parser.ParseSchema(&ast.Source{Name: preludeName, Input: preludeFor(v1), BuiltIn: true})
	if err != nil {
		return nil, fmt.Errorf("dsgen prelude: %w", err) // a bug in dsgen, not in the schema
	}
	full.Merge(amp)
	full.Merge(user)
	sch, err := validator.ValidateSchemaDocument(full)
	if err != nil {
		return nil, Errors(fromGQL(err, srcs[0].Name)).sorted()
	}
	b := newBuilder(user, sch, typeDirs, opts)
	if v1 {
		b.v1 = &v1State{conn: map[*meta.Field]*ast.Directive{}}
		b.out.TransformerV1 = true
	}
	out := b.build()
	if len(b.errs) > 0 {
		return nil, b.errs.sorted()
	}
	return out, nil
}

// fromGQL converts gqlparser errors into positioned errors.
func fromGQL(err error, file string) Errors {
	var list gqlerror.List
	var one *gqlerror.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = gqlerror.List{one}
	default:
		return Errors{{Pos: Pos{File: file, Line: 1, Col: 1}, Msg: err.Error()}}
	}
	out := make(Errors, 0, len(list))
	for _, e := range list {
		p := Pos{File: file, Line: 1, Col: 1}
		if f, ok := e.Extensions["file"].(string); ok && f != "" {
			p.File = f
		}
		if len(e.Locations) > 0 {
			p.Line, p.Col = e.Locations[0].Line, e.Locations[0].Column
		}
		out = append(out, &Error{Pos: p, Msg: e.Message})
	}
	return out
}

// posOf returns the position of an AST node.
func posOf(p *ast.Position) Pos {
	if p == nil || p.Src == nil {
		return Pos{File: "<schema>", Line: 1, Col: 1}
	}
	return Pos{File: p.Src.Name, Line: p.Line, Col: p.Column}
}

// checker finds unknown types and directives across the whole user document
// before gqlparser's validator runs, because that validator stops at the
// first problem and users should see all of them at once.
type checker struct {
	opts Options
	errs Errors
	v1   bool // the schema uses the transformer v1 directive set
}

func (c *checker) errorf(p *ast.Position, format string, args ...any) {
	c.errs = append(c.errs, &Error{Pos: posOf(p), Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) custom(name string) bool {
	for _, d := range c.opts.Directives {
		if d == name {
			return true
		}
	}
	return false
}

func (c *checker) checkNames(user *ast.SchemaDocument) {
	known := map[string]bool{}
	for _, s := range []string{"String", "Int", "Float", "Boolean", "ID"} {
		known[s] = true
	}
	for _, s := range meta.Scalars() {
		known[s] = true
	}
	for _, s := range []string{"AuthRule", "AuthStrategy", "AuthProvider", "ModelOperation"} {
		known[s] = true // prelude types users may reference, e.g. input AMPLIFY { globalAuthRule: AuthRule }
	}
	for _, d := range append(append(ast.DefinitionList{}, user.Definitions...), user.Extensions...) {
		if d.Kind == ast.Scalar && !known[d.Name] {
			c.errorf(d.Position, "custom scalar %s is not supported: AppSync accepts only the built-in and AWS scalars (%s)", d.Name, strings.Join(meta.Scalars(), ", "))
		}
		known[d.Name] = true
	}
	directives := map[string]bool{"deprecated": true, "skip": true, "include": true, "specifiedBy": true, "oneOf": true}
	amp, err := parser.ParseSchema(&ast.Source{Name: preludeName, Input: preludeFor(c.v1)})
	if err == nil {
		for _, d := range amp.Directives {
			directives[d.Name] = true
		}
	}
	for _, d := range user.Directives {
		directives[d.Name] = true
	}
	checkType := func(where string, t *ast.Type) {
		for t.Elem != nil {
			t = t.Elem
		}
		if !known[t.NamedType] {
			c.errorf(t.Position, "%s: unknown type %q: it is not a built-in or AWS scalar, and the schema defines no type, enum or input of that name", where, t.NamedType)
		}
	}
	checkDirectives := func(list ast.DirectiveList) {
		for _, d := range list {
			switch {
			case directives[d.Name] || c.custom(d.Name):
			default:
				c.errorf(d.Position, "unknown directive @%s (declare it with `directive @%s on ...` or list it under directives in dsgen.yml)", d.Name, d.Name)
			}
		}
	}
	for _, d := range append(append(ast.DefinitionList{}, user.Definitions...), user.Extensions...) {
		checkDirectives(d.Directives)
		for _, f := range d.Fields {
			checkType(d.Name+"."+f.Name, f.Type)
			checkDirectives(f.Directives)
			for _, a := range f.Arguments {
				checkType(d.Name+"."+f.Name+"("+a.Name+")", a.Type)
				checkDirectives(a.Directives)
			}
		}
		for _, v := range d.EnumValues {
			checkDirectives(v.Directives)
		}
		for _, t := range d.Types {
			if !known[t] {
				c.errorf(d.Position, "union %s: unknown member type %q", d.Name, t)
			}
		}
	}
}

// stripCustom removes uses of custom transformer directives named in
// Options.Directives, so the GraphQL validator does not need their
// definitions.
func (c *checker) stripCustom(user *ast.SchemaDocument) {
	if len(c.opts.Directives) == 0 {
		return
	}
	strip := func(list ast.DirectiveList) ast.DirectiveList {
		out := list[:0]
		for _, d := range list {
			if !c.custom(d.Name) || user.Directives.ForName(d.Name) != nil {
				out = append(out, d)
			}
		}
		return out
	}
	for _, d := range append(append(ast.DefinitionList{}, user.Definitions...), user.Extensions...) {
		d.Directives = strip(d.Directives)
		for _, f := range d.Fields {
			f.Directives = strip(f.Directives)
		}
	}
}

// lenientUnions drops union members that are not object types before GraphQL
// validation, with a warning. GraphQL forbids them, but Amplify's generator
// accepts them and unions play no part in the metadata: Amplify leaves
// fields and operations of union type out of its output.
func (c *checker) lenientUnions(user *ast.SchemaDocument) {
	kinds := map[string]ast.DefinitionKind{}
	for _, d := range user.Definitions {
		kinds[d.Name] = d.Kind
	}
	for _, d := range append(append(ast.DefinitionList{}, user.Definitions...), user.Extensions...) {
		if d.Kind != ast.Union {
			continue
		}
		var keep []string
		for _, t := range d.Types {
			if k, ok := kinds[t]; ok && k != ast.Object {
				if c.opts.Warn != nil {
					c.opts.Warn(&Error{Pos: posOf(d.Position), Msg: fmt.Sprintf("union %s: member %s is %s %s type, but union members must be object types; it is ignored", d.Name, t, article(strings.ToLower(string(k))), strings.ToLower(string(k)))})
				}
				continue
			}
			keep = append(keep, t)
		}
		if len(keep) > 0 {
			d.Types = keep
			d.TypePositions = nil
		}
	}
}
