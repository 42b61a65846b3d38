package sdl

import "strings"

// defKind is the kind of a printed definition.
type defKind uint8

const (
	kindType defKind = iota
	kindInput
	kindEnum
)

// arg is an argument or input field: a name and a GraphQL type reference
// as written ("ID!", "[String]").
type arg struct {
	name, typ string
}

// field is an object type field.
type field struct {
	name      string
	args      []arg
	typ       string
	directive string // printed after the type, e.g. `@aws_subscribe(mutations: ["createPost"])`
}

// def is one type, input or enum definition.
type def struct {
	kind   defKind
	name   string
	fields []field // kindType
	inputs []arg   // kindInput
	values []string
}

// document is an ordered set of definitions; the first definition of a
// name wins, so shared inputs can be requested many times.
type document struct {
	defs  []*def
	index map[string]*def
}

func (d *document) has(name string) bool { _, ok := d.index[name]; return ok }

// add appends df unless a definition of that name exists; it reports
// whether df was added.
func (d *document) add(df *def) bool {
	if d.index == nil {
		d.index = map[string]*def{}
	}
	if d.has(df.name) {
		return false
	}
	d.index[df.name] = df
	d.defs = append(d.defs, df)
	return true
}

// print renders the document as SDL, two-space indented, one blank line
// between definitions.
func (d *document) print() string {
	var b strings.Builder
	for i, df := range d.defs {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch df.kind {
		case kindType:
			b.WriteString("type " + df.name + " {\n")
			for _, f := range df.fields {
				b.WriteString("  " + f.name)
				if len(f.args) > 0 {
					b.WriteByte('(')
					for j, a := range f.args {
						if j > 0 {
							b.WriteString(", ")
						}
						b.WriteString(a.name + ": " + a.typ)
					}
					b.WriteByte(')')
				}
				b.WriteString(": " + f.typ)
				if f.directive != "" {
					b.WriteString(" " + f.directive)
				}
				b.WriteByte('\n')
			}
		case kindInput:
			b.WriteString("input " + df.name + " {\n")
			for _, a := range df.inputs {
				b.WriteString("  " + a.name + ": " + a.typ + "\n")
			}
		case kindEnum:
			b.WriteString("enum " + df.name + " {\n")
			for _, v := range df.values {
				b.WriteString("  " + v + "\n")
			}
		}
		b.WriteString("}\n")
	}
	return b.String()
}
