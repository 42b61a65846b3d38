package templates

import (
	"fmt"
	"go/types"
	"strings"

	"github.com/dave/jennifer/jen"

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
func (g *gen) codecFuncs(f *jen.File, typ string, fields []*meta.Field) {
	name := goName(typ)
	enc, dec := encodeFuncName(typ), decodeFuncName(typ)

	var writes []jen.Code
	var cases []jen.Code
	for i, fd := range fields {
		if !encoded(fd) {
			continue
		}
		n := codec.Number(fields, i)
		writes = append(writes, g.encodeField(fd, n))
		cases = append(cases, jen.Case(jen.Lit(n)).Comment(fd.Name))
		cases = append(cases, g.decodeField(typ, fd)...)
	}
	cases = append(cases, jen.Default(), jen.Id("d").Dot("Skip").Call())

	doc(f, "%s", g.encodeDoc(enc, fields))
	f.Func().Id(enc).Params(jen.Id("e").Op("*").Qual(pkgCodec, "Encoder"), jen.Id("v").Op("*").Id(name)).Block(writes...)
	f.Line()
	doc(f, "%s reads a record written by %s into v. Fields the record\nlacks are left as they are; fields it holds that %s lacks are skipped.", dec, enc, name)
	f.Func().Id(dec).Params(jen.Id("d").Op("*").Qual(pkgCodec, "Decoder"), jen.Id("v").Op("*").Id(name)).Error().Block(
		jen.For(jen.Id("d").Dot("Next").Call()).Block(
			jen.Switch(jen.Id("d").Dot("Field").Call()).Block(cases...),
		),
		jen.Return(jen.Id("d").Dot("Err").Call()),
	)
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

// encodeField returns the statement writing field fd, number n, of v.
func (g *gen) encodeField(fd *meta.Field, n int) jen.Code {
	x := jen.Id("v").Dot(goName(fd.Name))
	num := jen.Lit(n)
	e := func(method string, args ...jen.Code) *jen.Statement {
		return jen.Id("e").Dot(method).Call(append([]jen.Code{num.Clone()}, args...)...)
	}
	kind := codecKindOf(fd)

	if fd.IsList {
		fn := map[codecKind]string{
			ckString: "WriteStrings", ckEnum: "WriteStrings", ckText: "WriteStrings",
			ckInt: "WriteInts", ckTimestamp: "WriteInts", ckFloat: "WriteFloats", ckBool: "WriteBools",
			ckTemporal: "WriteTexts", ckJSON: "WriteBytes", ckNonModel: "WriteMessages",
		}[kind]
		args := []jen.Code{jen.Id("e"), num, x}
		if kind == ckNonModel {
			args = append(args, jen.Id(encodeFuncName(fd.Type)))
		}
		if nullElems(fd) {
			fn = strings.TrimSuffix(fn, "s") + "Ptrs"
		}
		return jen.Qual(pkgCodec, fn).Call(args...)
	}

	if kind == ckNonModel {
		ptr := x.Clone()
		if !g.ptr(fd) {
			ptr = jen.Op("&").Add(x.Clone())
		}
		return jen.Qual(pkgCodec, "WriteMessage").Call(jen.Id("e"), num, ptr, jen.Id(encodeFuncName(fd.Type)))
	}

	// val is the field's value: v.F, or *v.F for nullable fields.
	val := x.Clone()
	if g.ptr(fd) {
		val = jen.Op("*").Add(x.Clone())
	}
	var write *jen.Statement
	var cond jen.Code // when to write, beyond non-nil
	switch kind {
	case ckString:
		write = e("String", val)
	case ckEnum, ckText:
		write = e("String", jen.String().Call(val))
		if kind == ckText {
			cond = val.Clone().Op("!=").Lit("")
		}
	case ckInt, ckTimestamp:
		write = e("Int", jen.Int64().Call(val))
	case ckFloat:
		write = e("Float", val)
	case ckBool:
		write = e("Bool", val)
	case ckTemporal:
		write = e("String", x.Clone().Dot("String").Call())
		cond = jen.Op("!").Add(x.Clone()).Dot("IsZero").Call()
	case ckJSON:
		write = e("Raw", val)
		cond = jen.Op("!").Add(x.Clone()).Dot("IsZero").Call()
	}
	switch {
	case !g.ptr(fd) && cond == nil:
		return write
	case !g.ptr(fd):
		return jen.If(cond).Block(write)
	case cond == nil:
		return jen.If(x.Clone().Op("!=").Nil()).Block(write)
	}
	return jen.If(x.Clone().Op("!=").Nil().Op("&&").Add(cond)).Block(write)
}

// decodeField returns the statements of the switch case reading field fd
// of a record of type typ into v.
func (g *gen) decodeField(typ string, fd *meta.Field) []jen.Code {
	x := jen.Id("v").Dot(goName(fd.Name))
	d := func(method string) *jen.Statement { return jen.Id("d").Dot(method).Call() }
	fail := func() jen.Code {
		return jen.If(jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(fmt.Sprintf("%s.%s: %%w", typ, fd.Name)), jen.Err())),
		)
	}
	kind := codecKindOf(fd)
	elem := g.elemType(fd, "")

	if kind == ckNonModel {
		decode := jen.Id(decodeFuncName(fd.Type))
		if nullElems(fd) {
			local := localName(fd.Name)
			return []jen.Code{
				jen.List(jen.Id(local), jen.Err()).Op(":=").Qual(pkgCodec, "ReadMessagePtrs").Call(jen.Id("d"), decode),
				fail(),
				x.Clone().Op("=").Id(local),
			}
		}
		if fd.IsList {
			return []jen.Code{
				jen.Id("l").Op(":=").Add(d("List")),
				x.Clone().Op("=").Make(jen.Index().Add(elem), jen.Id("l").Dot("Len").Call()),
				jen.For(jen.Id("i").Op(":=").Range().Add(x.Clone())).Block(
					jen.Id("m").Op(":=").Id("l").Dot("Message").Call(),
					jen.If(jen.Err().Op(":=").Add(decode).Call(jen.Op("&").Id("m"), jen.Op("&").Add(x.Clone()).Index(jen.Id("i"))), jen.Err().Op("!=").Nil()).Block(
						jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(fmt.Sprintf("%s.%s: %%w", typ, fd.Name)), jen.Err())),
					),
				),
			}
		}
		var reset, target jen.Code
		if !g.ptr(fd) {
			reset = x.Clone().Op("=").Add(elem).Values()
			target = jen.Op("&").Add(x.Clone())
		} else {
			reset = x.Clone().Op("=").New(elem)
			target = x.Clone()
		}
		return []jen.Code{
			jen.Id("m").Op(":=").Add(d("Message")),
			reset,
			jen.If(jen.Err().Op(":=").Add(decode).Call(jen.Op("&").Id("m"), target), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(fmt.Sprintf("%s.%s: %%w", typ, fd.Name)), jen.Err())),
			),
		}
	}

	// Texts that need checking go through their scalar's Parse function.
	if kind == ckTemporal || kind == ckJSON || kind == ckText {
		local := localName(fd.Name)
		parse := jen.Qual(pkgScalar, "Parse"+strings.TrimPrefix(fd.Type, "AWS"))
		fn, assign := "Parse", jen.Id(local)
		switch {
		case nullElems(fd):
			fn = "ParseListPtrs"
		case fd.IsList:
			fn = "ParseList"
		case g.ptr(fd):
			assign = jen.Op("&").Id(local)
		}
		return []jen.Code{
			jen.List(jen.Id(local), jen.Err()).Op(":=").Qual(pkgCodec, fn).Call(jen.Id("d"), parse),
			fail(),
			x.Clone().Op("=").Add(assign),
		}
	}

	if fd.IsList {
		fn := map[codecKind]string{
			ckString: "ReadStrings", ckEnum: "ReadStrings", ckInt: "ReadInts", ckTimestamp: "ReadInts",
			ckFloat: "ReadFloats", ckBool: "ReadBools",
		}[kind]
		if nullElems(fd) {
			fn = strings.TrimSuffix(fn, "s") + "Ptrs"
		}
		return []jen.Code{x.Clone().Op("=").Qual(pkgCodec, fn).Types(elem).Call(jen.Id("d"))}
	}
	var val *jen.Statement
	switch kind {
	case ckString:
		val = d("String")
	case ckEnum:
		val = elem.Call(d("String"))
	case ckInt, ckTimestamp:
		val = elem.Call(d("Int"))
	case ckFloat:
		val = d("Float")
	case ckBool:
		val = d("Bool")
	}
	if g.ptr(fd) {
		val = jen.New(val)
	}
	return []jen.Code{x.Clone().Op("=").Add(val)}
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
