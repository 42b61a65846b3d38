package templates

import (
	"fmt"
	"go/types"
	"strconv"
	"strings"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/meta"
)

// The generated record codec: one encode and one decode function per model
// and per non-model type that records hold, in straight-line code over
// package codec. Field numbers follow codec's rule: 1 + the index of the
// field in the type's Fields, relation fields included.

// codecKind says how the record codec stores a field's values.
type codecKind uint8

const (
	ckString    codecKind = iota // ID, String
	ckEnum                       // enum: the value's name
	ckInt                        // Int (Go int)
	ckTimestamp                  // AWSTimestamp (scalar.Timestamp, an int64)
	ckFloat                      // Float
	ckBool                       // Boolean
	ckTemporal                   // AWSDate, AWSTime, AWSDateTime: structs with IsZero and String
	ckText                       // AWSEmail, AWSURL, AWSPhone, AWSIPAddress: validated strings
	ckJSON                       // AWSJSON: raw JSON bytes
	ckNonModel                   // a nested record
)

func codecKindOf(f *meta.Field) codecKind {
	switch f.Kind {
	case meta.KindEnum:
		return ckEnum
	case meta.KindNonModel:
		return ckNonModel
	}
	switch f.Type {
	case meta.ID, meta.String:
		return ckString
	case meta.Int:
		return ckInt
	case meta.AWSTimestamp:
		return ckTimestamp
	case meta.Float:
		return ckFloat
	case meta.Boolean:
		return ckBool
	case meta.AWSDate, meta.AWSTime, meta.AWSDateTime:
		return ckTemporal
	case meta.AWSJSON:
		return ckJSON
	case meta.AWSEmail, meta.AWSURL, meta.AWSPhone, meta.AWSIPAddress:
		return ckText
	}
	panic("templates: no record encoding for " + f.Type) // the schema package admits only the types above
}

// encoded reports whether the record codec stores f: relation fields (and
// the models non-model types may hold) are not stored.
func encoded(f *meta.Field) bool {
	return f.Kind == meta.KindScalar || f.Kind == meta.KindEnum || f.Kind == meta.KindNonModel
}

// codecNonModels returns the names of the non-model types that records
// hold, directly or nested: those get encode and decode functions.
func (g *gen) codecNonModels() map[string]bool {
	if g.nonModelCodecs != nil {
		return g.nonModelCodecs
	}
	seen := map[string]bool{}
	var visit func(fields []*meta.Field)
	visit = func(fields []*meta.Field) {
		for _, f := range fields {
			if f.Kind != meta.KindNonModel || seen[f.Type] {
				continue
			}
			seen[f.Type] = true
			if n := g.s.NonModel(f.Type); n != nil {
				visit(n.Fields)
			}
		}
	}
	for _, m := range g.s.Models {
		visit(m.Fields)
	}
	g.nonModelCodecs = seen
	return seen
}

func encodeFuncName(typ string) string { return "encode" + goName(typ) }
func decodeFuncName(typ string) string { return "decode" + goName(typ) }

// codecFuncs emits the encode and decode functions of a model or non-model
// type called typ with the given fields.
func (g *gen) codecFuncs(t *text, typ string, fields []*meta.Field) {
	name := goName(typ)
	enc, dec := encodeFuncName(typ), decodeFuncName(typ)

	t.doc("", "%s", g.encodeDoc(enc, fields))
	t.p("func %s(e *%s, v *%s) {", enc, t.q(pkgCodec, "Encoder"), name)
	var any bool
	for _, fd := range fields {
		any = any || encoded(fd)
	}
	if any {
		t.s("\n")
		for i, fd := range fields {
			if encoded(fd) {
				g.encodeField(t, fd, codec.Number(fields, i))
			}
		}
	}
	t.s("}\n\n")

	t.doc("", "%s reads a record written by %s into v. Fields the record\nlacks are left as they are; fields it holds that %s lacks are skipped.", dec, enc, name)
	t.p("func %s(d *%s, v *%s) error {\n\tfor d.Next() {\n\t\tswitch d.Field() {\n", dec, t.q(pkgCodec, "Decoder"), name)
	for i, fd := range fields {
		if !encoded(fd) {
			continue
		}
		t.p("\t\tcase %d: // %s\n", codec.Number(fields, i), fd.Name)
		g.decodeField(t, typ, fd)
	}
	t.s("\t\tdefault:\n\t\t\td.Skip()\n\t\t}\n\t}\n\treturn d.Err()\n}\n")
}

// encodeDoc documents an encode function, saying what it leaves out.
func (g *gen) encodeDoc(enc string, fields []*meta.Field) string {
	var nullable, zero bool
	for _, f := range fields {
		if !encoded(f) {
			continue
		}
		nullable = nullable || g.ptr(f) || f.IsList
		switch codecKindOf(f) {
		case ckTemporal, ckText, ckJSON:
			zero = zero || !f.IsList
		}
	}
	switch {
	case zero:
		return enc + " writes v as a record of package codec. Null fields, and AWS\nscalars holding their zero value (no value), are left out."
	case nullable:
		return enc + " writes v as a record of package codec, leaving out null\nfields."
	}
	return enc + " writes v as a record of package codec."
}

// encodeField emits the statement writing field fd, number n, of v.
func (g *gen) encodeField(t *text, fd *meta.Field, n int) {
	x := "v." + goName(fd.Name)
	kind := codecKindOf(fd)

	if fd.IsList {
		fn := map[codecKind]string{
			ckString: "WriteStrings", ckEnum: "WriteStrings", ckText: "WriteStrings",
			ckInt: "WriteInts", ckTimestamp: "WriteInts", ckFloat: "WriteFloats", ckBool: "WriteBools",
			ckTemporal: "WriteTexts", ckJSON: "WriteBytes", ckNonModel: "WriteMessages",
		}[kind]
		if nullElems(fd) {
			fn = strings.TrimSuffix(fn, "s") + "Ptrs"
		}
		extra := ""
		if kind == ckNonModel {
			extra = ", " + encodeFuncName(fd.Type)
		}
		t.p("\t%s(e, %d, %s%s)\n", t.q(pkgCodec, fn), n, x, extra)
		return
	}

	if kind == ckNonModel {
		ptr := x
		if !g.ptr(fd) {
			ptr = "&" + x
		}
		t.p("\t%s(e, %d, %s, %s)\n", t.q(pkgCodec, "WriteMessage"), n, ptr, encodeFuncName(fd.Type))
		return
	}

	// val is the field's value: v.F, or *v.F for nullable fields.
	val := x
	if g.ptr(fd) {
		val = "*" + x
	}
	var write, cond string // cond: when to write, beyond non-nil
	switch kind {
	case ckString:
		write = fmt.Sprintf("e.String(%d, %s)", n, val)
	case ckEnum, ckText:
		write = fmt.Sprintf("e.String(%d, string(%s))", n, val)
		if kind == ckText {
			cond = val + ` != ""`
		}
	case ckInt, ckTimestamp:
		write = fmt.Sprintf("e.Int(%d, int64(%s))", n, val)
	case ckFloat:
		write = fmt.Sprintf("e.Float(%d, %s)", n, val)
	case ckBool:
		write = fmt.Sprintf("e.Bool(%d, %s)", n, val)
	case ckTemporal:
		write = fmt.Sprintf("e.String(%d, %s.String())", n, x)
		cond = "!" + x + ".IsZero()"
	case ckJSON:
		write = fmt.Sprintf("e.Raw(%d, %s)", n, val)
		cond = "!" + x + ".IsZero()"
	}
	switch {
	case !g.ptr(fd) && cond == "":
		t.s("\t", write, "\n")
	case !g.ptr(fd):
		t.s("\tif ", cond, " {\n\t\t", write, "\n\t}\n")
	case cond == "":
		t.s("\tif ", x, " != nil {\n\t\t", write, "\n\t}\n")
	default:
		t.s("\tif ", x, " != nil && ", cond, " {\n\t\t", write, "\n\t}\n")
	}
}

// decodeField emits the statements of the switch case reading field fd of
// a record of type typ into v.
func (g *gen) decodeField(t *text, typ string, fd *meta.Field) {
	const in = "\t\t\t"
	x := "v." + goName(fd.Name)
	failText := func(indent string) string {
		return indent + "\treturn " + t.q("fmt", "Errorf") + "(" + strconv.Quote(fmt.Sprintf("%s.%s: %%w", typ, fd.Name)) + ", err)\n" + indent + "}\n"
	}
	kind := codecKindOf(fd)

	if kind == ckNonModel {
		decode := decodeFuncName(fd.Type)
		elem := g.elemText(t, fd, "")
		switch {
		case nullElems(fd):
			local := localName(fd.Name)
			t.p(in+"%s, err := %s(d, %s)\n", local, t.q(pkgCodec, "ReadMessagePtrs"), decode)
			t.s(in+"if err != nil {\n", failText(in))
			t.p(in+"%s = %s\n", x, local)
		case fd.IsList:
			t.p(in+"l := d.List()\n"+in+"%s = make([]%s, l.Len())\n", x, elem)
			t.p(in+"for i := range %s {\n", x)
			t.p(in+"\tm := l.Message()\n"+in+"\tif err := %s(&m, &%s[i]); err != nil {\n", decode, x)
			t.s(failText(in+"\t"), in+"}\n")
		default:
			reset, target := x+" = "+elem+"{}", "&"+x
			if g.ptr(fd) {
				reset, target = x+" = new("+elem+")", x
			}
			t.s(in+"m := d.Message()\n", in, reset, "\n")
			t.p(in+"if err := %s(&m, %s); err != nil {\n", decode, target)
			t.s(failText(in))
		}
		return
	}

	// Texts that need checking go through their scalar's Parse function.
	if kind == ckTemporal || kind == ckJSON || kind == ckText {
		local := localName(fd.Name)
		parse := t.q(pkgScalar, "Parse"+strings.TrimPrefix(fd.Type, "AWS"))
		fn, assign := "Parse", local
		switch {
		case nullElems(fd):
			fn = "ParseListPtrs"
		case fd.IsList:
			fn = "ParseList"
		case g.ptr(fd):
			assign = "&" + local
		}
		t.p(in+"%s, err := %s(d, %s)\n", local, t.q(pkgCodec, fn), parse)
		t.s(in+"if err != nil {\n", failText(in))
		t.p(in+"%s = %s\n", x, assign)
		return
	}

	elem := g.elemText(t, fd, "")
	if fd.IsList {
		fn := map[codecKind]string{
			ckString: "ReadStrings", ckEnum: "ReadStrings", ckInt: "ReadInts", ckTimestamp: "ReadInts",
			ckFloat: "ReadFloats", ckBool: "ReadBools",
		}[kind]
		if nullElems(fd) {
			fn = strings.TrimSuffix(fn, "s") + "Ptrs"
		}
		t.p(in+"%s = %s[%s](d)\n", x, t.q(pkgCodec, fn), elem)
		return
	}
	var val string
	switch kind {
	case ckString:
		val = "d.String()"
	case ckEnum:
		val = elem + "(d.String())"
	case ckInt, ckTimestamp:
		val = elem + "(d.Int())"
	case ckFloat:
		val = "d.Float()"
	case ckBool:
		val = "d.Bool()"
	}
	if g.ptr(fd) {
		val = "new(" + val + ")"
	}
	t.p(in+"%s = %s\n", x, val)
}

// localName is the name of a local variable holding a decoded field: the
// parameter name, unless that would shadow something the decoder uses.
func localName(field string) string {
	n := paramName(field)
	switch {
	case n == "d", n == "v", n == "e", n == "l", n == "m", n == "i", n == "err",
		n == "fmt", n == "codec", n == "scalar",
		types.Universe.Lookup(n) != nil,
		strings.HasPrefix(n, "encode"), strings.HasPrefix(n, "decode"):
		return n + "Value"
	}
	return n
}
