package templates

import (
	"fmt"

	"github.com/dave/jennifer/jen"

	"github.com/dsgen/dsgen/runtime/meta"
)

// predicatesFile emits the per-model package of typed field handles, used
// to build predicates and sort orders:
//
//	ds.Post.Query().Where(post.Rating.Gt(3)).Order(post.Title.Asc())
func (g *gen) predicatesFile(m *meta.Model) *jen.File {
	pkg := g.fieldPackage(m)
	f := newFile(pkg)
	f.ImportName(g.cfg.ImportPath, g.cfg.Package)
	model := jen.Qual(g.cfg.ImportPath, goName(m.Name))
	f.PackageComment(fmt.Sprintf("Package %s holds the typed fields of %s.%s, for predicates and sort orders:\n\n\tds.%s.Query().Where(%s.%s.Eq(x)).Order(%s.%s.Asc())",
		pkg, g.cfg.Package, goName(m.Name), goName(m.Name), pkg, goName(m.PrimaryKey.Field), pkg, goName(m.PrimaryKey.Field)))

	var defs []jen.Code
	for _, fd := range storedFields(m.Fields) {
		h := g.handle(fd, model)
		if h == nil {
			continue
		}
		defs = append(defs, jen.Comment(fmt.Sprintf("%s is the %s field.", goName(fd.Name), fd.Name)).Line().Id(goName(fd.Name)).Op("=").Add(h))
	}
	doc(f, "The fields of %s.%s.", g.cfg.Package, goName(m.Name))
	f.Var().Defs(defs...)
	return f
}

// handle returns the constructor call of a field handle, or nil for fields
// that have no operators (non-model values, lists of JSON).
func (g *gen) handle(fd *meta.Field, model *jen.Statement) jen.Code {
	v := jen.Id("v")
	param := jen.Params(v.Clone().Op("*").Add(model.Clone()))
	elem := g.elemType(fd, g.cfg.ImportPath)
	name := jen.Lit(fd.Name)
	field := v.Clone().Dot(goName(fd.Name))

	if fd.IsList {
		if fd.Kind == meta.KindNonModel || fd.Type == meta.AWSJSON {
			return nil
		}
		if nullElems(fd) {
			return jen.Qual(pkgPredicate, "NullableList").Call(name,
				jen.Func().Add(param).Index().Op("*").Add(elem).Block(jen.Return(field)))
		}
		return jen.Qual(pkgPredicate, "List").Call(name,
			jen.Func().Add(param).Index().Add(elem).Block(jen.Return(field)))
	}
	if fd.Kind == meta.KindNonModel {
		return nil
	}
	getter := func() jen.Code {
		ret := jen.Return(field.Clone(), jen.True())
		if g.ptr(fd) {
			ret = jen.Return(jen.Qual(pkgPredicate, "Deref").Call(field.Clone()))
		}
		return jen.Func().Add(param).Params(elem.Clone(), jen.Bool()).Block(ret)
	}
	switch {
	case fd.Kind == meta.KindEnum || stringLike(fd.Type):
		return jen.Qual(pkgPredicate, "String").Call(name, getter())
	case fd.Type == meta.Boolean:
		return jen.Qual(pkgPredicate, "Bool").Call(name, getter())
	case ordered(fd.Type) || fd.Type == meta.AWSTimestamp:
		return jen.Qual(pkgPredicate, "Ordered").Call(name, getter())
	case fd.Type == meta.AWSJSON:
		return nil
	default:
		// Temporal scalars order by instant, not by text.
		return jen.Qual(pkgPredicate, "Compared").Call(name, getter(), jen.Qual(pkgScalar, scalarGoName(fd.Type)).Dot("Compare"))
	}
}

// scalarGoName is the scalar package's type name for an AWS scalar.
func scalarGoName(typ string) string {
	switch typ {
	case meta.AWSDate:
		return "Date"
	case meta.AWSTime:
		return "Time"
	case meta.AWSDateTime:
		return "DateTime"
	}
	return typ
}
