package templates

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/dsgen/dsgen/runtime/meta"
)

// structFields returns the fields of a model struct.
func (g *gen) structFields(t *text, m *meta.Model) []structField {
	var out []structField
	for _, f := range storedFields(m.Fields) {
		out = append(out, structField{comment: fieldComment(m, f), name: goName(f.Name), typ: g.fieldText(t, f, ""), tag: jsonTag(f.Name)})
	}
	return out
}

// jsonTag is a struct field's tag.
func jsonTag(name string) string { return `json:"` + name + `"` }

// fieldComment explains fields a reader cannot understand from the schema
// alone.
func fieldComment(m *meta.Model, f *meta.Field) string {
	ts := m.Options.Timestamps
	stamp := f.Name == ts.CreatedAt || f.Name == ts.UpdatedAt
	if v, ok := m.Versioned(); ok && f.Name == v.Field {
		return fmt.Sprintf("%s is the server's version counter (@versioned): 1 once created, one more on every update; a sync replaces what Save stores.", goName(f.Name))
	}
	switch {
	case f.ReadOnly && !stamp:
		// @model(timestamps: {updatedAt: null}): Amplify's model
		// introspection still lists the field, but nothing sets it.
		return fmt.Sprintf("%s is always null: @model(timestamps) disables it.", goName(f.Name))
	case f.ReadOnly:
		return fmt.Sprintf("%s is kept by the store; values set by callers are ignored.", goName(f.Name))
	case stamp && f.Name == ts.CreatedAt:
		return fmt.Sprintf("%s is stamped with the time of creation when not set.", goName(f.Name))
	case stamp:
		return fmt.Sprintf("%s is stamped with the time of each save when not set (or unchanged).", goName(f.Name))
	case f.Implicit && f.Name != "id":
		return fmt.Sprintf("%s is a foreign key added for a relation.", goName(f.Name))
	case f.Default != nil:
		v := strconv.Quote(*f.Default)
		switch {
		case f.Kind == meta.KindEnum, f.Type == meta.Int, f.Type == meta.Float, f.Type == meta.Boolean, f.Type == meta.AWSTimestamp:
			v = *f.Default
		}
		return fmt.Sprintf("%s is set to %s (its @default) by Save when nil.", goName(f.Name), v)
	}
	return ""
}

// modelFile emits a model's struct, its runtime description and its
// repository.
func (g *gen) modelFile(m *meta.Model) ([]byte, error) {
	t := g.newText()
	name := goName(m.Name)
	doc := fmt.Sprintf("%s is a record of the %s model.", name, m.Name)
	if m.JoinModel {
		doc = fmt.Sprintf("%s is a join record of the many-to-many relation %s.", name, m.Name)
	}
	t.doc("", "%s", doc)
	if err := t.structDecl(name, g.structFields(t, m)); err != nil {
		return nil, err
	}
	t.s("\n")
	g.descriptor(t, m)
	t.s("\n")
	g.codecFuncs(t, m.Name, m.Fields)
	t.s("\n")
	if err := g.repository(t, m); err != nil {
		return nil, err
	}
	return t.file(g.cfg.Package, ""), nil
}

// descriptor emits the function describing the model to the runtime: its
// metadata, switch-based field access and its record codec, so the runtime
// needs no reflection.
func (g *gen) descriptor(t *text, m *meta.Model) {
	name := goName(m.Name)
	fields := storedFields(m.Fields)
	model := t.q(pkgDatastore, "Model") + "[" + name + "]"
	fn := lowerName(name) + "Model"
	t.doc("", "%s describes %s to the runtime.", fn, name)
	t.p("func %s(s *%s) *%s {\n", fn, t.q(pkgMeta, "Schema"), model)
	t.p("\treturn &%s{\n", model)
	t.p("\t\tMeta: s.Model(%s),\n", strconv.Quote(m.Name))
	t.p("\t\tGet: func(v *%s, field string) (any, bool) {\n\t\t\tswitch field {\n", name)
	for _, fd := range fields {
		id := "v." + goName(fd.Name)
		t.p("\t\t\tcase %s:\n", strconv.Quote(fd.Name))
		switch {
		case fd.IsList:
			t.p("\t\t\t\treturn %s, %s != nil\n", id, id)
		case g.ptr(fd):
			t.p("\t\t\t\tif %s == nil {\n\t\t\t\t\treturn nil, false\n\t\t\t\t}\n\t\t\t\treturn *%s, true\n", id, id)
		default:
			t.p("\t\t\t\treturn %s, true\n", id)
		}
	}
	t.s("\t\t\t}\n\t\t\treturn nil, false\n\t\t},\n")
	t.p("\t\tSet: func(v *%s, field string, value any) error {\n\t\t\tswitch field {\n", name)
	for _, fd := range fields {
		fn := "Assign"
		if g.ptr(fd) && !fd.IsList {
			fn = "AssignPtr"
		}
		t.p("\t\t\tcase %s:\n\t\t\t\treturn %s(&v.%s, value)\n", strconv.Quote(fd.Name), t.q(pkgDatastore, fn), goName(fd.Name))
	}
	t.p("\t\t\t}\n\t\t\treturn %s(%s, field)\n\t\t},\n", t.q(pkgDatastore, "UnknownField"), strconv.Quote(m.Name))
	t.p("\t\tEncode: %s,\n\t\tDecode: %s,\n\t}\n}\n", encodeFuncName(m.Name), decodeFuncName(m.Name))
}

// lowerName lower-cases the first letter (or leading initialism) of a Go
// name, for unexported identifiers.
func lowerName(s string) string { return paramName(s) }

// enumsFile emits every enum as a typed string with its constants.
func (g *gen) enumsFile() *jen.File {
	f := g.newFile()
	for _, e := range g.s.Enums {
		name := goName(e.Name)
		doc(f, "%s is the %s enum.", name, e.Name)
		f.Type().Id(name).String()
		f.Line()
		var consts []jen.Code
		var vals []jen.Code
		var cases []jen.Code
		for _, v := range e.Values {
			c := name + goName(v)
			consts = append(consts, jen.Comment(fmt.Sprintf("%s is %s %s.", c, e.Name, v)).Line().Id(c).Id(name).Op("=").Lit(v))
			vals = append(vals, jen.Id(c))
			cases = append(cases, jen.Id(c))
		}
		doc(f, "The values of %s.", name)
		f.Const().Defs(consts...)
		f.Line()
		doc(f, "%sValues returns every value of %s in schema order.", name, name)
		f.Func().Id(name + "Values").Params().Index().Id(name).Block(
			jen.Return(jen.Index().Id(name).Values(vals...)),
		)
		f.Line()
		doc(f, "Valid reports whether e is one of the values of %s.", name)
		validBody := []jen.Code{jen.Return(jen.False())}
		if len(cases) > 0 {
			validBody = []jen.Code{
				jen.Switch(jen.Id("e")).Block(jen.Case(cases...).Block(jen.Return(jen.True()))),
				jen.Return(jen.False()),
			}
		}
		f.Func().Params(jen.Id("e").Id(name)).Id("Valid").Params().Bool().Block(validBody...)
		f.Line()
		doc(f, "Parse%s returns the %s value named s, or an error naming the valid values.", name, name)
		f.Func().Id("Parse"+name).Params(jen.Id("s").String()).Params(jen.Id(name), jen.Error()).Block(
			jen.If(jen.Id("e").Op(":=").Id(name).Call(jen.Id("s")), jen.Id("e").Dot("Valid").Call()).Block(
				jen.Return(jen.Id("e"), jen.Nil()),
			),
			jen.Return(jen.Lit(""), jen.Qual(pkgDatastore, "InvalidEnum").Call(jen.Lit(e.Name), jen.Id("s"), jen.Lit(strings.Join(e.Values, ", ")))),
		)
		f.Line()
	}
	return f
}

// nonModelsFile emits the non-model types as plain structs, each followed by
// its record codec when records hold it.
func (g *gen) nonModelsFile() ([]byte, error) {
	t := g.newText()
	for i, n := range g.s.NonModels {
		if i > 0 {
			t.s("\n")
		}
		name := goName(n.Name)
		t.doc("", "%s is the %s type, stored inside the records that hold it.", name, n.Name)
		var fields []structField
		for _, fd := range n.Fields {
			// Non-model types may hold models (e.g. connection types of
			// custom queries); those are kept as values too.
			fields = append(fields, structField{name: goName(fd.Name), typ: g.fieldText(t, fd, ""), tag: jsonTag(fd.Name)})
		}
		if err := t.structDecl(name, fields); err != nil {
			return nil, err
		}
		if g.codecNonModels()[n.Name] {
			t.s("\n")
			g.codecFuncs(t, n.Name, n.Fields)
		}
	}
	return t.file(g.cfg.Package, ""), nil
}
