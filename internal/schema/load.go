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
	"regexp"
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
	for _, src := range srcs {
		if _, err := parser.ParseSchema(&ast.Source{Name: src.Name, Input: src.Input}); err != nil {
			for _, e := range fromGQL(err, src.Name) {
				if msg := nonASCIIName(src.Input, e.Pos); msg != "" {
					e.Msg = msg
				} else {
					e.Msg = "syntax error: " + e.Msg
				}
				errs = append(errs, e)
			}
		}
	}
	if len(errs) > 0 {
		// Without a syntax tree there is nothing further to check.
		return nil, errs.sorted()
	}
	// gqlparser's validator stops at its first problem and changes the
	// document it checks, so each problem it finds in a directive is
	// recorded, the directive (or argument) at its position is left out, and
	// the sources are read and checked again, until the document passes or
	// a problem cannot be set aside that way.
	var gqlErrs Errors
	drop := map[Pos]bool{}
	for {
		out, gerr, err := loadOnce(srcs, opts, drop, gqlErrs)
		if gerr == nil || len(drop) >= maxDropped {
			return out, err
		}
		gqlErrs = append(gqlErrs, gerr)
		drop[gerr.Pos] = true
	}
}

// reservedEnumValue matches gqlparser's message for an enum value named
// true, false or null.
var reservedEnumValue = regexp.MustCompile(`^ENUM (\w+): non-enum value (true|false|null)\.$`)

// maxDropped bounds the GraphQL validation rounds of one load.
const maxDropped = 50

// loadOnce reads and checks the sources once, leaving out the directives
// and directive arguments at the positions in drop; earlier holds the
// problems GraphQL validation found at those positions. When GraphQL
// validation fails at a directive or argument not yet dropped, retry is
// that problem and the caller loads again without it.
func loadOnce(srcs []Source, opts Options, drop map[Pos]bool, earlier Errors) (out *meta.Schema, retry *Error, err error) {
	user := &ast.SchemaDocument{}
	for _, src := range srcs {
		doc, err := parser.ParseSchema(&ast.Source{Name: src.Name, Input: src.Input})
		if err != nil {
			return nil, nil, fmt.Errorf("load schema: %s changed while loading: %w", src.Name, err)
		}
		user.Merge(doc)
	}
	c := &checker{opts: opts, broken: map[*ast.FieldDefinition]bool{}, dropped: map[*ast.FieldDefinition]*ast.Directive{}}
	v1, terrs := detectTransformer(user, c.custom)
	if len(terrs) > 0 {
		// Which directive set applies decides how everything else reads.
		return nil, nil, terrs
	}
	c.v1 = v1
	c.errs = append(c.errs, earlier...)
	c.dropAt(user, drop)
	c.checkNames(user)
	typeDirs := map[string]ast.DirectiveList{}
	for _, d := range append(append(ast.DefinitionList{}, user.Definitions...), user.Extensions...) {
		typeDirs[d.Name] = append(typeDirs[d.Name], d.Directives...)
	}
	c.stripCustom(user)
	c.lenientUnions(user)

	full := validator.PreludeDocument()
	amp, err := parser.ParseSchema(&ast.Source{Name: preludeName, Input: preludeFor(v1), BuiltIn: true})
	if err != nil {
		return nil, nil, fmt.Errorf("dsgen prelude: %w", err) // a bug in dsgen, not in the schema
	}
	full.Merge(amp)
	full.Merge(user)
	sch, err := validator.ValidateSchemaDocument(full)
	if err != nil {
		list := fromGQL(err, srcs[0].Name)
		for _, e := range list {
			if m := reservedEnumValue.FindStringSubmatch(e.Msg); m != nil {
				e.Msg = fmt.Sprintf("enum %s: %s cannot be an enum value: GraphQL reserves true, false and null; rename it (for example %s)", m[1], m[2], strings.ToUpper(m[2]))
			}
		}
		if len(list) == 1 && !drop[list[0].Pos] && c.droppable(user, list[0].Pos) {
			return nil, list[0], nil
		}
		return nil, nil, append(c.errs, list...).sorted()
	}
	b := newBuilder(user, sch, typeDirs, opts)
	b.errs = c.errs
	b.broken = c.broken
	b.dropped = c.dropped
	if v1 {
		b.v1 = &v1State{conn: map[*meta.Field]*ast.Directive{}}
		b.out.TransformerV1 = true
	}
	out = b.build()
	if len(b.errs) > 0 {
		return nil, nil, b.errs.sorted()
	}
	return out, nil, nil
}

// eachDirectiveList calls fn with a pointer to every directive list of the
// user's document, and the field definition that holds it (nil for others).
func eachDirectiveList(user *ast.SchemaDocument, fn func(list *ast.DirectiveList, fd *ast.FieldDefinition)) {
	for _, d := range append(append(ast.DefinitionList{}, user.Definitions...), user.Extensions...) {
		fn(&d.Directives, nil)
		for _, f := range d.Fields {
			fn(&f.Directives, f)
			for _, a := range f.Arguments {
				fn(&a.Directives, nil)
			}
		}
		for _, v := range d.EnumValues {
			fn(&v.Directives, nil)
		}
	}
}

// droppable reports whether a directive or directive argument of the
// user's document is at p.
func (c *checker) droppable(user *ast.SchemaDocument, p Pos) bool {
	found := false
	eachDirectiveList(user, func(list *ast.DirectiveList, _ *ast.FieldDefinition) {
		for _, d := range *list {
			if posOf(d.Position) == p {
				found = true
			}
			for _, a := range d.Arguments {
				if posOf(a.Position) == p {
					found = true
				}
			}
		}
	})
	return found
}

// dropAt leaves out the directives and directive arguments at the
// positions in drop (problems GraphQL validation reported). A field that
// loses a relation directive keeps it as a failed relation, so its other
// side is not reported missing.
func (c *checker) dropAt(user *ast.SchemaDocument, drop map[Pos]bool) {
	if len(drop) == 0 {
		return
	}
	eachDirectiveList(user, func(list *ast.DirectiveList, fd *ast.FieldDefinition) {
		out := (*list)[:0]
		for _, d := range *list {
			if drop[posOf(d.Position)] {
				if fd != nil && isRelationDirective(d.Name) && relationDirective(fd) == d {
					c.dropped[fd] = d
				}
				continue
			}
			args := d.Arguments[:0]
			for _, a := range d.Arguments {
				if !drop[posOf(a.Position)] {
					args = append(args, a)
				}
			}
			d.Arguments = args
			out = append(out, d)
		}
		*list = out
	})
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
	// broken holds the fields whose type is unknown (or an unsupported
	// custom scalar); they are given type String so checking can go on, and
	// the builder reports nothing further about them.
	broken map[*ast.FieldDefinition]bool
	// dropped holds the relation directives left out of fields because
	// GraphQL validation rejected them.
	dropped map[*ast.FieldDefinition]*ast.Directive
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
	custom := map[string]bool{} // reported custom scalars
	for _, d := range append(append(ast.DefinitionList{}, user.Definitions...), user.Extensions...) {
		if d.Kind == ast.Scalar && !known[d.Name] {
			c.errorf(d.Position, "custom scalar %s is not supported: AppSync accepts only the built-in and AWS scalars (%s)", d.Name, strings.Join(meta.Scalars(), ", "))
			custom[d.Name] = true
			continue
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
	// checkType reports an unknown type and gives the reference type String,
	// so the rest of the schema can still be checked; it returns false then.
	checkType := func(where string, t *ast.Type) bool {
		for t.Elem != nil {
			t = t.Elem
		}
		if known[t.NamedType] {
			return true
		}
		if !custom[t.NamedType] {
			c.errorf(t.Position, "%s: unknown type %q: it is not a built-in or AWS scalar, and the schema defines no type, enum or input of that name", where, t.NamedType)
		}
		t.NamedType = "String"
		return false
	}
	// checkDirectives reports unknown directives and leaves them out.
	checkDirectives := func(list *ast.DirectiveList) {
		out := (*list)[:0]
		for _, d := range *list {
			if directives[d.Name] || c.custom(d.Name) {
				out = append(out, d)
				continue
			}
			c.errorf(d.Position, "unknown directive @%s (declare it with `directive @%s on ...` or list it under directives in dsgen.yml)", d.Name, d.Name)
		}
		*list = out
	}
	for _, d := range append(append(ast.DefinitionList{}, user.Definitions...), user.Extensions...) {
		checkDirectives(&d.Directives)
		for _, f := range d.Fields {
			if !checkType(d.Name+"."+f.Name, f.Type) {
				c.broken[f] = true
			}
			checkDirectives(&f.Directives)
			for _, a := range f.Arguments {
				checkType(d.Name+"."+f.Name+"("+a.Name+")", a.Type)
				checkDirectives(&a.Directives)
			}
		}
		for _, v := range d.EnumValues {
			checkDirectives(&v.Directives)
		}
		var members []string
		for _, t := range d.Types {
			if !known[t] {
				c.errorf(d.Position, "union %s: unknown member type %q", d.Name, t)
				continue
			}
			members = append(members, t)
		}
		if len(members) < len(d.Types) {
			d.Types, d.TypePositions = members, nil
		}
	}
	// Custom scalar definitions are reported; GraphQL validation need not
	// see them.
	defs := user.Definitions[:0]
	for _, d := range user.Definitions {
		if !custom[d.Name] {
			defs = append(defs, d)
		}
	}
	user.Definitions = defs
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
