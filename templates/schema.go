package templates

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
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

// schemaText is schemaFile written as text (see text), or nil when the
// metadata holds a shape it does not lay out as gofmt does (a lone
// multi-line field, long map keys): then schemaFile renders the file.
func (g *gen) schemaText() []byte {
	lit, ok := literalText(reflect.ValueOf(g.s), "\t")
	if !ok {
		return nil
	}
	t := g.newText()
	t.q(pkgMeta, "Schema")
	t.doc("", "%s", "SchemaVersion identifies the stored shape of this schema; it changes exactly\nwhen models, fields, keys, indexes or enum values change.")
	t.s("const SchemaVersion = ", strconv.Quote(g.s.Version), "\n\n")
	t.doc("", "%s", "Schema returns the metadata of this schema: models, fields, keys, indexes,\nrelations, auth rules, enums and non-model types. Each call returns a new\nvalue that the caller may keep.")
	t.s("func Schema() *meta.Schema {\n\treturn ", lit, "\n}\n")
	return t.file(g.cfg.Package, "")
}

// literalText is literal as text, laid out as gofmt lays out what literal
// renders; indent is the indentation of the line the literal starts on.
// ok is false for shapes it does not handle.
func literalText(v reflect.Value, indent string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "nil", true
		}
		if v.Elem().Kind() == reflect.String {
			return "meta.Ptr(" + strconv.Quote(v.Elem().String()) + ")", true
		}
		s, ok := literalText(v.Elem(), indent)
		return "&" + s, ok
	case reflect.Struct:
		s, ok := structText(v, indent)
		return "meta." + v.Type().Name() + s, ok
	case reflect.Slice:
		if v.IsNil() {
			return "nil", true
		}
		items := make([]string, v.Len())
		for i := range items {
			var ok bool
			if items[i], ok = elemText(v.Index(i), indent+"\t"); !ok {
				return "", false
			}
		}
		if v.Type().Elem().Kind() == reflect.String && v.Len() <= 4 {
			return "[]string{" + strings.Join(items, ", ") + "}", true
		}
		typ := typeText(v.Type().Elem())
		if len(items) == 0 {
			return "[]" + typ + "{}", true
		}
		var b strings.Builder
		b.WriteString("[]" + typ + "{\n")
		for _, it := range items {
			b.WriteString(indent + "\t" + it + ",\n")
		}
		b.WriteString(indent + "}")
		return b.String(), true
	case reflect.Map:
		return mapText(v, indent)
	case reflect.String:
		switch v.Type() {
		case reflect.TypeFor[meta.StepKind](), reflect.TypeFor[meta.Effect]():
			c := v.String()
			return "meta." + strings.ToUpper(c[:1]) + c[1:], true
		}
		return strconv.Quote(v.String()), true
	case reflect.Int:
		return strconv.Itoa(int(v.Int())), true
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), true
	case reflect.Uint8:
		switch k := v.Interface().(type) {
		case meta.TypeKind:
			return "meta." + map[meta.TypeKind]string{meta.KindScalar: "KindScalar", meta.KindEnum: "KindEnum", meta.KindNonModel: "KindNonModel", meta.KindModel: "KindModel", meta.KindInput: "KindInput"}[k], true
		case meta.RelationKind:
			return "meta." + map[meta.RelationKind]string{meta.HasOne: "HasOne", meta.HasMany: "HasMany", meta.BelongsTo: "BelongsTo"}[k], true
		}
		return strconv.Itoa(int(v.Uint())), true
	}
	return "", false // anything literal does not render either
}

// mapText is a map[string]string literal as text: one entry on the line,
// several one per line in key order, their values aligned.
func mapText(v reflect.Value, indent string) (string, bool) {
	keys := make([]string, 0, v.Len())
	vals := map[string]string{}
	for _, k := range v.MapKeys() {
		q := strconv.Quote(k.String())
		if len(q) > 40 {
			return "", false // gofmt stops aligning long keys by a rule not copied here
		}
		keys = append(keys, q)
		vals[q] = strconv.Quote(v.MapIndex(k).String())
	}
	sort.Strings(keys)
	switch len(keys) {
	case 0:
		return "map[string]string{}", true
	case 1:
		return "map[string]string{" + keys[0] + ": " + vals[keys[0]] + "}", true
	}
	width := 0
	for _, k := range keys {
		width = max(width, len(k))
	}
	var b strings.Builder
	b.WriteString("map[string]string{\n")
	for _, k := range keys {
		b.WriteString(indent + "\t" + k + ":" + strings.Repeat(" ", width-len(k)+1) + vals[k] + ",\n")
	}
	b.WriteString(indent + "}")
	return b.String(), true
}

// elemText is elemLiteral as text.
func elemText(v reflect.Value, indent string) (string, bool) {
	switch {
	case v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Struct:
		return structText(v.Elem(), indent)
	case v.Kind() == reflect.Struct:
		return structText(v, indent)
	}
	return literalText(v, indent)
}

// typeText is typeCode as text.
func typeText(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + typeText(t.Elem())
	case reflect.String:
		return "string"
	}
	return "meta." + t.Name()
}

// structText is the braces of structDict as text. Several fields go one
// per line, and gofmt aligns the values of consecutive one-line fields.
func structText(v reflect.Value, indent string) (string, bool) {
	type kv struct{ key, val string }
	var out []kv
	for i := 0; i < v.NumField(); i++ {
		fv := v.Field(i)
		if fv.Kind() == reflect.Func {
			continue
		}
		if !fv.IsZero() && v.Type().Field(i).IsExported() {
			s, ok := literalText(fv, indent+"\t")
			if !ok {
				return "", false
			}
			out = append(out, kv{v.Type().Field(i).Name, s})
		}
	}
	if st, ok := v.Interface().(meta.MigrationStep); ok && st.Func != "" {
		out = append(out, kv{"Convert", st.Func})
	}
	if len(out) <= 1 || flat(v) {
		parts := make([]string, len(out))
		for i, f := range out {
			if strings.Contains(f.val, "\n") {
				return "", false // gofmt's layout of a lone multi-line field: not needed so far
			}
			parts[i] = f.key + ": " + f.val
		}
		return "{" + strings.Join(parts, ", ") + "}", true
	}
	var b strings.Builder
	b.WriteString("{\n")
	for i := 0; i < len(out); {
		// A run of one-line fields shares a value column.
		j, width := i, 0
		for ; j < len(out) && !strings.Contains(out[j].val, "\n"); j++ {
			width = max(width, len(out[j].key))
		}
		if j == i { // a multi-line field stands alone
			b.WriteString(indent + "\t" + out[i].key + ": " + out[i].val + ",\n")
			i++
			continue
		}
		for ; i < j; i++ {
			b.WriteString(indent + "\t" + out[i].key + ":" + strings.Repeat(" ", width-len(out[i].key)+1) + out[i].val + ",\n")
		}
	}
	b.WriteString(indent + "}")
	return b.String(), true
}
