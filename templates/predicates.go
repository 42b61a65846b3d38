package templates

import (
	"fmt"
	"strconv"

	"github.com/dsgen/dsgen/runtime/meta"
)

// predicatesFile emits the per-model package of typed field handles, used
// to build predicates and sort orders:
//
//	ds.Post.Query().Where(post.Rating.Gt(3)).Order(post.Title.Asc())
func (g *gen) predicatesFile(m *meta.Model) []byte {
	pkg := g.fieldPackage(m)
	t := g.newText()
	pk := goName(m.PrimaryKey.Field)
	pkgDoc := fmt.Sprintf("/*\nPackage %s holds the typed fields of %s.%s, for predicates and sort orders:\n\n\tds.%s.Query().Where(%s.%s.Eq(x)).Order(%s.%s.Asc())\n*/\n",
		pkg, g.cfg.Package, goName(m.Name), goName(m.Name), pkg, pk, pkg, pk)

	t.doc("", "The fields of %s.%s.", g.cfg.Package, goName(m.Name))
	t.s("var (")
	n := 0
	for _, fd := range storedFields(m.Fields) {
		h := g.handle(t, fd, goName(m.Name))
		if h == "" {
			continue
		}
		if n == 0 {
			t.s("\n")
		}
		n++
		t.p("\t// %s is the %s field.\n\t%s = %s\n", goName(fd.Name), fd.Name, goName(fd.Name), h)
	}
	t.s(")\n")
	return t.file(pkg, pkgDoc)
}

// handle returns the constructor call of a field handle, or "" for fields
// that have no operators (non-model values, lists of JSON).
func (g *gen) handle(t *text, fd *meta.Field, model string) string {
	field := "v." + goName(fd.Name)
	call := func(fn, ret, body, extra string) string {
		param := "func(v *" + t.q(g.cfg.ImportPath, model) + ") "
		return t.q(pkgPredicate, fn) + "(" + strconv.Quote(fd.Name) + ", " + param + ret + " {\n\t\treturn " + body + "\n\t}" + extra + ")"
	}

	if fd.IsList {
		if fd.Kind == meta.KindNonModel || fd.Type == meta.AWSJSON {
			return ""
		}
		elem := g.elemText(t, fd, g.cfg.ImportPath)
		if nullElems(fd) {
			return call("NullableList", "[]*"+elem, field, "")
		}
		return call("List", "[]"+elem, field, "")
	}
	if fd.Kind == meta.KindNonModel || (fd.Kind == meta.KindScalar && fd.Type == meta.AWSJSON) {
		return ""
	}
	elem := g.elemText(t, fd, g.cfg.ImportPath)
	ret := "(" + elem + ", bool)"
	body := field + ", true"
	if g.ptr(fd) {
		body = t.q(pkgPredicate, "Deref") + "(" + field + ")"
	}
	switch {
	case fd.Kind == meta.KindEnum || stringLike(fd.Type):
		return call("String", ret, body, "")
	case fd.Type == meta.Boolean:
		return call("Bool", ret, body, "")
	case ordered(fd.Type) || fd.Type == meta.AWSTimestamp:
		return call("Ordered", ret, body, "")
	default:
		// Temporal scalars order by instant, not by text.
		return call("Compared", ret, body, ", "+t.q(pkgScalar, scalarGoName(fd.Type))+".Compare")
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
