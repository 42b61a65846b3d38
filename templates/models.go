package templates

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/dsgen/dsgen/runtime/meta"
)

// structFields emits the fields of a model struct.
func (g *gen) structFields(m *meta.Model) []jen.Code {
	var out []jen.Code
	for _, f := range storedFields(m.Fields) {
		st := jen.Id(goName(f.Name)).Add(g.fieldType(f, "")).Tag(map[string]string{"json": f.Name})
		if c := fieldComment(m, f); c != "" {
			st = jen.Comment(c).Line().Add(st)
		}
		out = append(out, st)
	}
	return out
}

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
func (g *gen) modelFile(m *meta.Model) *jen.File {
	f := g.newFile()
	name := goName(m.Name)
	text := fmt.Sprintf("%s is a record of the %s model.", name, m.Name)
	if m.JoinModel {
		text = fmt.Sprintf("%s is a join record of the many-to-many relation %s.", name, m.Name)
	}
	doc(f, "%s", text)
	f.Type().Id(name).Struct(g.structFields(m)...)
	f.Line()
	g.descriptor(f, m)
	f.Line()
	g.codecFuncs(f, m.Name, m.Fields)
	f.Line()
	g.repository(f, m)
	return f
}

// descriptor emits the function describing the model to the runtime: its
// metadata, switch-based field access and its record codec, so the runtime
// needs no reflection.
func (g *gen) descriptor(f *jen.File, m *meta.Model) {
	name := goName(m.Name)
	fields := storedFields(m.Fields)

	var get []jen.Code
	for _, fd := range fields {
		id := jen.Id("v").Dot(goName(fd.Name))
		var body []jen.Code
		switch {
		case fd.IsList:
			body = []jen.Code{jen.Return(id.Clone(), id.Clone().Op("!=").Nil())}
		case g.ptr(fd):
			body = []jen.Code{
				jen.If(id.Clone().Op("==").Nil()).Block(jen.Return(jen.Nil(), jen.False())),
				jen.Return(jen.Op("*").Add(id.Clone()), jen.True()),
			}
		default:
			body = []jen.Code{jen.Return(id.Clone(), jen.True())}
		}
		get = append(get, jen.Case(jen.Lit(fd.Name)).Block(body...))
	}
	var set []jen.Code
	for _, fd := range fields {
		fn := "Assign"
		if g.ptr(fd) && !fd.IsList {
			fn = "AssignPtr"
		}
		set = append(set, jen.Case(jen.Lit(fd.Name)).Block(
			jen.Return(jen.Qual(pkgDatastore, fn).Call(jen.Op("&").Id("v").Dot(goName(fd.Name)), jen.Id("value"))),
		))
	}

	fn := lowerName(name) + "Model"
	doc(f, "%s describes %s to the runtime.", fn, name)
	f.Func().Id(fn).Params(jen.Id("s").Op("*").Qual(pkgMeta, "Schema")).Op("*").Qual(pkgDatastore, "Model").Types(jen.Id(name)).Block(
		jen.Return(jen.Op("&").Qual(pkgDatastore, "Model").Types(jen.Id(name)).Values(
			jen.Line().Id("Meta").Op(":").Id("s").Dot("Model").Call(jen.Lit(m.Name)),
			jen.Line().Id("Get").Op(":").Func().Params(jen.Id("v").Op("*").Id(name), jen.Id("field").String()).Params(jen.Any(), jen.Bool()).Block(
				jen.Switch(jen.Id("field")).Block(get...),
				jen.Return(jen.Nil(), jen.False()),
			),
			jen.Line().Id("Set").Op(":").Func().Params(jen.Id("v").Op("*").Id(name), jen.Id("field").String(), jen.Id("value").Any()).Error().Block(
				jen.Switch(jen.Id("field")).Block(set...),
				jen.Return(jen.Qual(pkgDatastore, "UnknownField").Call(jen.Lit(m.Name), jen.Id("field"))),
			),
			jen.Line().Id("Encode").Op(":").Id(encodeFuncName(m.Name)),
			jen.Line().Id("Decode").Op(":").Id(decodeFuncName(m.Name)),
			jen.Line(),
		)),
	)
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
func (g *gen) nonModelsFile() *jen.File {
	f := g.newFile()
	for _, n := range g.s.NonModels {
		name := goName(n.Name)
		doc(f, "%s is the %s type, stored inside the records that hold it.", name, n.Name)
		var fields []jen.Code
		for _, fd := range n.Fields {
			// Non-model types may hold models (e.g. connection types of
			// custom queries); those are kept as values too.
			fields = append(fields, jen.Id(goName(fd.Name)).Add(g.fieldType(fd, "")).Tag(map[string]string{"json": fd.Name}))
		}
		f.Type().Id(name).Struct(fields...)
		f.Line()
		if g.codecNonModels()[n.Name] {
			g.codecFuncs(f, n.Name, n.Fields)
			f.Line()
		}
	}
	return f
}
