package templates

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/dsgen/dsgen/runtime/meta"
)

// schemaFile emits Schema(), which returns the schema metadata as a Go
// literal, and the version hash.
func (g *gen) schemaFile() *jen.File {
	f := g.newFile()
	doc(f, "%s", "SchemaVersion identifies the stored shape of this schema; it changes exactly\nwhen models, fields, keys, indexes or enum values change.")
	f.Const().Id("SchemaVersion").Op("=").Lit(g.s.Version)
	f.Line()
	doc(f, "%s", "Schema returns the metadata of this schema: models, fields, keys, indexes,\nrelations, auth rules, enums and non-model types. Each call returns a new\nvalue that the caller may keep.")
	f.Func().Id("Schema").Params().Op("*").Qual(pkgMeta, "Schema").Block(
		jen.Return(literal(reflect.ValueOf(g.s))),
	)
	return f
}

// literal renders a metadata value as a Go composite literal, leaving out
// zero fields so the code reads like hand-written metadata.
func literal(v reflect.Value) jen.Code {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return jen.Nil()
		}
		if v.Elem().Kind() == reflect.String {
			return jen.Qual(pkgMeta, "Ptr").Call(jen.Lit(v.Elem().String()))
		}
		return jen.Op("&").Add(literal(v.Elem()))
	case reflect.Struct:
		return jen.Qual(pkgMeta, v.Type().Name()).Values(structDict(v)...)
	case reflect.Slice:
		if v.IsNil() {
			return jen.Nil()
		}
		items := make([]jen.Code, v.Len())
		for i := range items {
			items[i] = elemLiteral(v.Index(i))
		}
		if v.Type().Elem().Kind() == reflect.String && v.Len() <= 4 {
			return jen.Index().String().Values(items...)
		}
		return jen.Index().Add(typeCode(v.Type().Elem())).ValuesFunc(func(gr *jen.Group) {
			for _, it := range items {
				gr.Line().Add(it)
			}
			if len(items) > 0 {
				gr.Line()
			}
		})
	case reflect.Map:
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		d := jen.Dict{}
		for _, k := range keys {
			d[jen.Lit(k)] = jen.Lit(v.MapIndex(reflect.ValueOf(k)).String())
		}
		return jen.Map(jen.String()).String().Values(d)
	case reflect.String:
		switch v.Type() {
		case reflect.TypeFor[meta.StepKind](), reflect.TypeFor[meta.Effect]():
			// The constants are the values with an upper-case first letter.
			c := v.String()
			return jen.Qual(pkgMeta, strings.ToUpper(c[:1])+c[1:])
		}
		return jen.Lit(v.String())
	case reflect.Int:
		return jen.Lit(int(v.Int()))
	case reflect.Bool:
		return jen.Lit(v.Bool())
	case reflect.Uint8:
		return enumConst(v)
	}
	panic(fmt.Sprintf("templates: cannot render %s as a literal", v.Type()))
}

// elemLiteral renders a slice element, eliding the type as Go allows.
func elemLiteral(v reflect.Value) jen.Code {
	switch {
	case v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Struct:
		return jen.Values(structDict(v.Elem())...)
	case v.Kind() == reflect.Struct:
		return jen.Values(structDict(v)...)
	}
	return literal(v)
}

// structDict lists a struct's non-zero fields in declaration order, one per
// line when there are several.
func structDict(v reflect.Value) []jen.Code {
	var out []jen.Code
	for i := 0; i < v.NumField(); i++ {
		fv := v.Field(i)
		if fv.Kind() == reflect.Func {
			continue // a Converter: named by its step's Func, below
		}
		if !fv.IsZero() && v.Type().Field(i).IsExported() {
			out = append(out, jen.Id(v.Type().Field(i).Name).Op(":").Add(literal(fv)))
		}
	}
	if st, ok := v.Interface().(meta.MigrationStep); ok && st.Func != "" {
		// The developer writes the function in the model package
		// (dsgen migrate leaves a placeholder that does not compile).
		out = append(out, jen.Id("Convert").Op(":").Id(st.Func))
	}
	if len(out) > 1 && !flat(v) {
		for i := range out {
			out[i] = jen.Line().Add(out[i])
		}
		out = append(out, jen.Line())
	}
	return out
}

// typeCode names a metadata type for slice literals.
func typeCode(t reflect.Type) jen.Code {
	switch t.Kind() {
	case reflect.Pointer:
		return jen.Op("*").Add(typeCode(t.Elem()))
	case reflect.String:
		return jen.String()
	}
	return jen.Qual(pkgMeta, t.Name())
}

// enumConst names the meta constant of a kind value.
func enumConst(v reflect.Value) jen.Code {
	switch k := v.Interface().(type) {
	case meta.TypeKind:
		names := map[meta.TypeKind]string{meta.KindScalar: "KindScalar", meta.KindEnum: "KindEnum", meta.KindNonModel: "KindNonModel", meta.KindModel: "KindModel", meta.KindInput: "KindInput"}
		return jen.Qual(pkgMeta, names[k])
	case meta.RelationKind:
		names := map[meta.RelationKind]string{meta.HasOne: "HasOne", meta.HasMany: "HasMany", meta.BelongsTo: "BelongsTo"}
		return jen.Qual(pkgMeta, names[k])
	}
	return jen.Lit(int(v.Uint()))
}

// flat reports whether a struct literal reads well on one line: a few
// fields holding no nested structs and no long lists.
func flat(v reflect.Value) bool {
	n := 0
	for i := 0; i < v.NumField(); i++ {
		fv := v.Field(i)
		if fv.IsZero() {
			continue
		}
		n++
		switch fv.Kind() {
		case reflect.Pointer:
			if fv.Elem().Kind() != reflect.String {
				return false
			}
		case reflect.Struct, reflect.Map:
			return false
		case reflect.Slice:
			if fv.Len() > 4 || fv.Type().Elem().Kind() != reflect.String {
				return false
			}
		}
	}
	return n <= 6
}
