package schema

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dsgen/dsgen/runtime/meta"
)

// validate checks what GraphQL validation cannot: keys, indexes, defaults and
// names that would clash in generated Go code.
func (b *builder) validate() {
	typeNames := map[string]string{} // Go-visible name -> GraphQL type that takes it
	claim := func(goName, owner string, pos *ast.Position) {
		if prev, ok := typeNames[goName]; ok && prev != owner {
			b.errorf(pos, "%s: generated Go name %s clashes with %s; rename one of them", owner, goName, prev)
			return
		}
		typeNames[goName] = owner
	}
	for _, m := range b.out.Models {
		pos := b.defPos(m)
		claim(m.Name, m.Name, pos)
		claim(m.Name+"Repo", m.Name, pos)
		if r := reservedTypeName(m.Name); r != "" {
			b.errorf(pos, "model name %s is reserved: %s", m.Name, r)
		}
		if strings.HasSuffix(m.Name, "Repo") && b.out.Model(strings.TrimSuffix(m.Name, "Repo")) != nil {
			b.errorf(pos, "model name %s clashes with the repository generated for %s", m.Name, strings.TrimSuffix(m.Name, "Repo"))
		}
		pkg := strings.ToLower(m.Name)
		if prev, ok := typeNames["package "+pkg]; ok {
			b.errorf(pos, "models %s and %s would both generate the Go package %q; rename one of them", prev, m.Name, pkg)
		} else {
			typeNames["package "+pkg] = m.Name
		}
		b.checkFields(m.Name, m.Fields, pos)
		b.checkKey(m)
	}
	for _, e := range b.out.Enums {
		pos := b.sch.Types[e.Name].Position
		claim(e.Name, e.Name, pos)
		if r := reservedTypeName(e.Name); r != "" {
			b.errorf(pos, "enum name %s is reserved: %s", e.Name, r)
		}
		for _, v := range e.Values {
			claim(e.Name+GoName(v), e.Name+"."+v, pos)
		}
	}
	for _, n := range b.out.NonModels {
		pos := b.sch.Types[n.Name].Position
		claim(n.Name, n.Name, pos)
		if r := reservedTypeName(n.Name); r != "" {
			b.errorf(pos, "type name %s is reserved: %s", n.Name, r)
		}
		b.checkFields(n.Name, n.Fields, pos)
	}
}

func (b *builder) defPos(m *meta.Model) *ast.Position {
	if d := b.modelDef[m]; d != nil {
		return d.Position
	}
	return nil
}

func (b *builder) fieldPos(f *meta.Field, fallback *ast.Position) *ast.Position {
	if fd := b.fieldDef[f]; fd != nil {
		return fd.Position
	}
	return fallback
}

// reservedTypeName explains why a type name cannot be used, or returns "".
func reservedTypeName(name string) string {
	switch name {
	case "DataStore", "Tx", "Schema", "Option":
		return "the generated package declares it"
	}
	return ""
}

// checkFields checks field names and @default values of one type.
func (b *builder) checkFields(owner string, fields []*meta.Field, fallback *ast.Position) {
	seen := map[string]string{}
	for _, f := range fields {
		pos := b.fieldPos(f, fallback)
		if strings.HasPrefix(f.Name, "_") {
			b.errorf(pos, "%s.%s: field names starting with _ are reserved for sync metadata (_version, _deleted, _lastChangedAt)", owner, f.Name)
		}
		g := GoName(f.Name)
		if prev, ok := seen[g]; ok {
			b.errorf(pos, "%s.%s: generated Go field name %s clashes with field %s; rename one of them", owner, f.Name, g, prev)
		}
		seen[g] = f.Name
		if f.Default != nil {
			b.checkDefault(owner, f, pos)
		}
	}
}

// checkDefault checks that a @default value fits the field's type.
func (b *builder) checkDefault(owner string, f *meta.Field, pos *ast.Position) {
	if fd := b.fieldDef[f]; fd != nil {
		if d := fd.Directives.ForName("default"); d != nil {
			pos = d.Position
		}
	}
	v := *f.Default
	bad := func(reason string) {
		b.errorf(pos, "%s.%s: @default(value: %q) %s", owner, f.Name, v, reason)
	}
	if f.IsList || f.Kind == meta.KindModel || f.Kind == meta.KindNonModel {
		bad("is only allowed on scalar and enum fields")
		return
	}
	if f.Kind == meta.KindEnum {
		if e := b.out.Enum(f.Type); e != nil && !e.Has(v) {
			bad("is not a value of enum " + f.Type + " (" + strings.Join(e.Values, ", ") + ")")
		}
		return
	}
	var err error
	switch f.Type {
	case meta.Int:
		_, err = strconv.ParseInt(v, 10, 32)
	case meta.Float:
		_, err = strconv.ParseFloat(v, 64)
	case meta.Boolean:
		if v != "true" && v != "false" {
			bad("is not a Boolean (true or false)")
		}
		return
	case meta.AWSTimestamp:
		_, err = strconv.ParseInt(v, 10, 64)
	default:
		err = validateScalar(f.Type, v)
	}
	if err != nil {
		bad("does not fit type " + f.Type + ": " + err.Error())
	}
}

// checkKey checks the primary key and the secondary indexes of a model.
func (b *builder) checkKey(m *meta.Model) {
	pos := b.defPos(m)
	keyField := func(what, name string, required bool) {
		f := m.Field(name)
		if f == nil {
			b.errorf(pos, "%s: %s names field %q, which %s does not have", m.Name, what, name, m.Name)
			return
		}
		fp := b.fieldPos(f, pos)
		switch {
		case f.IsList || f.Kind == meta.KindModel || f.Kind == meta.KindNonModel:
			b.errorf(fp, "%s.%s: %s fields must be scalars or enums, not %s", m.Name, name, what, describe(f))
		case required && !f.Required:
			b.errorf(fp, "%s.%s: %s fields must be non-null (%s!)", m.Name, name, what, f.Type)
		case f.Type == meta.AWSJSON || f.Type == meta.Boolean:
			b.errorf(fp, "%s.%s: %s fields cannot be %s", m.Name, name, what, f.Type)
		}
	}
	keyField("primary key", m.PrimaryKey.Field, true)
	for _, sk := range m.PrimaryKey.SortKeys {
		keyField("primary key sort key", sk, true)
	}
	names := map[string]bool{}
	for _, ix := range m.Indexes {
		if names[ix.Name] {
			b.errorf(pos, "%s: duplicate index name %q", m.Name, ix.Name)
		}
		names[ix.Name] = true
		for _, f := range ix.Fields {
			keyField("index "+strconv.Quote(ix.Name), f, false)
		}
	}
}

func describe(f *meta.Field) string {
	if f.IsList {
		return "a list"
	}
	return "a " + f.Kind.String() + " type"
}

// GoName converts a GraphQL field, type or enum value name into an exported Go
// identifier: the first letter upper-cased, underscores and dashes dropped
// with the next letter upper-cased, and common initialisms (ID, URL, JSON...)
// upper-cased as Go style asks: blogPostsId -> BlogPostsID, SCREAMING_CASE ->
// ScreamingCase.
func GoName(s string) string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	allUpper := strings.ToUpper(s) == s
	for i, r := range rs {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ' ':
			flush()
		case unicode.IsUpper(r) && !allUpper && i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
			(i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	var out strings.Builder
	for _, w := range words {
		up := strings.ToUpper(w)
		if initialism(up) {
			out.WriteString(up)
			continue
		}
		lw := []rune(strings.ToLower(w))
		if !allUpper {
			lw = []rune(w)
		}
		lw[0] = unicode.ToUpper(lw[0])
		out.WriteString(string(lw))
	}
	res := out.String()
	if res == "" || !unicode.IsLetter([]rune(res)[0]) {
		res = "X" + res
	}
	return res
}

func initialism(w string) bool {
	switch w {
	case "ID", "URL", "URI", "JSON", "HTTP", "HTTPS", "IP", "API", "UUID", "SQL", "HTML", "XML", "SSN", "CPU", "DNS", "TTL", "UI", "UID":
		return true
	}
	return false
}
