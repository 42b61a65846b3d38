package templates

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/dsgen/dsgen/runtime/meta"
)

func ctxParam() jen.Code { return jen.Id("ctx").Qual("context", "Context") }

// recv returns the variable name used for a model value in methods.
func recv(m *meta.Model) string {
	v := strings.ToLower(goName(m.Name)[:1])
	if v == "r" {
		return "v"
	}
	return v
}

// keyParams returns the typed parameters of a model's primary key and
// their names.
func (g *gen) keyParams(t *text, m *meta.Model) (params, names []string) {
	for _, k := range m.PrimaryKey.Fields() {
		p := paramName(k)
		params = append(params, p+" "+g.elemText(t, m.Field(k), ""))
		names = append(names, p)
	}
	return params, names
}

// saveDoc documents a model's Save: what the store fills in is said only
// when the model has it.
func saveDoc(m *meta.Model, v string) string {
	var fills []string
	if pk := m.PrimaryKey; pk.Field == "id" && len(pk.SortKeys) == 0 {
		if f := m.Field("id"); f != nil && (f.Type == meta.ID || f.Type == meta.String) {
			fills = append(fills, "An empty id is generated.")
		}
	}
	var implicit, declared []string
	for _, name := range []string{m.Options.Timestamps.CreatedAt, m.Options.Timestamps.UpdatedAt} {
		f := m.Field(name)
		switch {
		case f == nil:
		case f.ReadOnly:
			implicit = append(implicit, goName(name))
		default:
			declared = append(declared, goName(name))
		}
	}
	switch len(implicit) {
	case 1:
		fills = append(fills, implicit[0]+" is kept by the store.")
	case 2:
		fills = append(fills, implicit[0]+" and "+implicit[1]+" are kept by the store.")
	}
	switch len(declared) {
	case 1:
		fills = append(fills, declared[0]+" is stamped when not set.")
	case 2:
		fills = append(fills, declared[0]+" and "+declared[1]+" are stamped when not set.")
	}
	for _, f := range m.Fields {
		if f.Default != nil && f.Stored() && !f.IsList {
			fills = append(fills, "Fields with a @default get it when nil.")
			break
		}
	}
	text := fmt.Sprintf("Save creates or updates %s.", v)
	if len(fills) > 0 {
		text += " " + strings.Join(fills, " ")
	}
	text += " With datastore.If the save happens only when the condition holds for the stored record."
	return wrap(text, 77)
}

// wrap breaks text into lines of at most width characters.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(text) {
		switch {
		case i == 0:
		case n+1+len(w) > width:
			b.WriteByte('\n')
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// repository emits the typed repository of a model.
func (g *gen) repository(t *text, m *meta.Model) error {
	name := goName(m.Name)
	repo := name + "Repo"
	v := recv(m)
	self := "func (r *" + repo + ") "
	ctx := "ctx " + t.q("context", "Context")
	ds := func(n string) string { return t.q(pkgDatastore, n) + "[" + name + "]" }
	opts := "opts ..." + ds("WriteOption")

	t.doc("", "%s reads and writes %s records. Use DataStore.%s, or Tx.%s inside a batch.", repo, name, name, name)
	t.p("type %s struct {\n\trepo *%s\n\tset  *repos\n}\n\n", repo, ds("Repo"))

	t.doc("", "%s", saveDoc(m, v))
	t.p("%sSave(%s, %s *%s, %s) error {\n\treturn r.repo.Save(ctx, %s, opts...)\n}\n\n", self, ctx, v, name, opts, v)

	params, names := g.keyParams(t, m)
	t.doc("", "Get returns the %s with the given %s, or datastore.ErrNotFound.", name, keyDoc(names))
	t.p("%sGet(%s) (*%s, error) {\n\treturn r.repo.Get(%s)\n}\n\n", self, strings.Join(append([]string{ctx}, params...), ", "), name, strings.Join(append([]string{"ctx"}, names...), ", "))

	t.doc("", "Query starts a query over %s records.", name)
	t.p("%sQuery() *%s {\n\treturn r.repo.Query()\n}\n\n", self, ds("Query"))

	t.doc("", "Delete deletes %s%s.", v, cascadeDoc(g.s, m))
	t.p("%sDelete(%s, %s *%s, %s) error {\n\treturn r.repo.Delete(ctx, %s, opts...)\n}\n\n", self, ctx, v, name, opts, v)

	t.doc("", "DeleteKey deletes the %s with the given %s.", name, keyDoc(names))
	t.p("%sDeleteKey(%s) error {\n\treturn r.repo.DeleteKey(ctx, []any{%s}, opts...)\n}\n\n", self, strings.Join(append(append([]string{ctx}, params...), opts), ", "), strings.Join(names, ", "))

	pred := t.q(pkgPredicate, "Predicate") + "[" + name + "]"
	t.doc("", "DeleteWhere deletes every %s matching p and returns how many it deleted.", name)
	t.p("%sDeleteWhere(%s, p %s) (int, error) {\n\treturn r.repo.DeleteWhere(ctx, p)\n}\n\n", self, ctx, pred)

	t.doc("", "Observe delivers every change to %s records matching all of ps until ctx\nends; then the channel is closed.", name)
	t.p("%sObserve(%s, ps ...%s) <-chan %s {\n\treturn r.repo.Observe(ctx, ps...)\n}\n\n", self, ctx, pred, ds("Change"))

	t.doc("", "ObserveQuery delivers a snapshot of q's results, then a new snapshot as\nchanges arrive, until ctx ends.")
	t.p("%sObserveQuery(%s, q *%s) <-chan %s {\n\treturn r.repo.ObserveQuery(ctx, q)\n}\n\n", self, ctx, ds("Query"), ds("Snapshot"))

	t.doc("", "Repo returns the generic repository behind r, for code that works across\nmodels.")
	t.p("%sRepo() *%s {\n\treturn r.repo\n}\n", self, ds("Repo"))

	seen := map[string]string{}
	for _, base := range []string{"Save", "Get", "Query", "Delete", "DeleteKey", "DeleteWhere", "Observe", "ObserveQuery", "Repo"} {
		seen[base] = "the built-in method " + base
	}
	return errors.Join(g.relations(t, m, seen), g.indexes(t, m, seen))
}

func keyDoc(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return "key (" + strings.Join(names, ", ") + ")"
}

// cascadeDoc says which related records a delete removes too.
func cascadeDoc(s *meta.Schema, m *meta.Model) string {
	var kids []string
	for _, f := range m.Fields {
		if r := f.Relation; r != nil && (r.Kind == meta.HasMany || r.Kind == meta.HasOne) {
			kids = append(kids, f.Name)
		}
	}
	if len(kids) == 0 {
		return ""
	}
	return ", with its related " + strings.Join(kids, " and ") + " records (cascade, as Amplify DataStore does)"
}

// relations emits lazy accessors for relational fields.
func (g *gen) relations(t *text, m *meta.Model, seen map[string]string) error {
	name := goName(m.Name)
	v := recv(m)
	self := "func (r *" + name + "Repo) "
	var errs []error
	for _, fd := range m.Fields {
		r := fd.Relation
		if r == nil {
			continue
		}
		target := goName(r.Model)
		method := "Query" + goName(fd.Name)
		errs = append(errs, claimMethod(seen, method, m.Name+"."+fd.Name))
		var doc string
		switch r.Kind {
		case meta.BelongsTo:
			doc = fmt.Sprintf("%s returns a query for the %s that %s belongs to (its %s field).", method, target, v, fd.Name)
		case meta.HasOne:
			doc = fmt.Sprintf("%s returns a query for the %s of %s (its %s field).", method, target, v, fd.Name)
		case meta.HasMany:
			doc = fmt.Sprintf("%s returns a query over the %s records of %s (its %s field).", method, target, v, fd.Name)
		}
		t.s("\n")
		t.doc("", "%s", doc)
		t.p("%s%s(%s *%s) *%s[%s] {\n\treturn %s(r.repo, %s, %s, r.set.%s)\n}\n",
			self, method, v, name, t.q(pkgDatastore, "Query"), target, t.q(pkgDatastore, "Related"), v, strconv.Quote(fd.Name), lowerName(target))
		if r.ManyToMany != "" {
			far := goName(r.ManyToMany)
			method := goName(fd.Name)
			errs = append(errs, claimMethod(seen, method, m.Name+"."+fd.Name))
			t.s("\n")
			t.doc("", "%s returns the %s records related to %s through %s.", method, far, v, target)
			t.p("%s%s(ctx %s, %s *%s) ([]*%s, error) {\n\treturn %s(ctx, r.repo, %s, %s, r.set.%s, r.set.%s)\n}\n",
				self, method, t.q("context", "Context"), v, name, far, t.q(pkgDatastore, "Through"), v, strconv.Quote(fd.Name), lowerName(target), lowerName(far))
		}
	}
	return errors.Join(errs...)
}

// indexes emits a query method per secondary index.
func (g *gen) indexes(t *text, m *meta.Model, seen map[string]string) error {
	name := goName(m.Name)
	var errs []error
	for _, ix := range m.Indexes {
		pk := m.Field(ix.Fields[0])
		if pk == nil {
			continue
		}
		p := paramName(pk.Name)
		method := "Query" + goName(ix.Name)
		errs = append(errs, claimMethod(seen, method, m.Name+" index "+ix.Name))
		t.s("\n")
		t.doc("", "%s returns a query over %s records whose %s equals %s, served by\nthe %s index.", method, name, pk.Name, p, ix.Name)
		t.p("func (r *%sRepo) %s(%s %s) *%s[%s] {\n\treturn %s(r.repo, %s, %s)\n}\n",
			name, method, p, g.elemText(t, pk, ""), t.q(pkgDatastore, "Query"), name, t.q(pkgDatastore, "ByIndex"), strconv.Quote(ix.Name), p)
	}
	return errors.Join(errs...)
}

// datastoreFile emits DataStore, Tx and the wiring of all repositories.
func (g *gen) datastoreFile() *jen.File {
	f := g.newFile()

	var repoFields, setFields, modelFields, bind, models []jen.Code
	for _, m := range g.s.Models {
		name := goName(m.Name)
		low := lowerName(name)
		repoFields = append(repoFields, jen.Id(name).Op("*").Id(name+"Repo"))
		setFields = append(setFields, jen.Id(low).Op("*").Qual(pkgDatastore, "Repo").Types(jen.Id(name)))
		modelFields = append(modelFields, jen.Id(low).Op("*").Qual(pkgDatastore, "Model").Types(jen.Id(name)))
		bind = append(bind, jen.Id(low).Op(":").Qual(pkgDatastore, "Bind").Call(jen.Id("s"), jen.Id("t"), jen.Id("m").Dot(low)).Op(","))
		models = append(models, jen.Id(low).Op(":").Id(low+"Model").Call(jen.Id("s")).Op(","))
	}

	doc(f, "DataStore is the local store of this schema's models: typed repositories\nover an embedded store that works offline. Open one with Open; it starts\non first use.")
	f.Type().Id("DataStore").Struct(
		jen.Id("Repositories"),
		jen.Line().Id("store").Op("*").Qual(pkgDatastore, "Store"),
		jen.Id("models").Op("*").Id("models"),
	)
	f.Line()
	doc(f, "Repositories holds one repository per model. DataStore and Tx embed it.")
	f.Type().Id("Repositories").Struct(repoFields...)
	f.Line()
	doc(f, "Tx is a transaction of DataStore.Batch: writes through its repositories\nhappen together or not at all.")
	f.Type().Id("Tx").Struct(jen.Id("Repositories"))
	f.Line()

	doc(f, "Open opens the DataStore kept in dir. Options (sync, encryption, ...)\nare in the datastore package; Open(ctx, \"\", datastore.InMemory())\nopens a store without files.")
	f.Func().Id("Open").Params(ctxParam(), jen.Id("dir").String(), jen.Id("opts").Op("...").Qual(pkgDatastore, "Option")).Params(jen.Op("*").Id("DataStore"), jen.Error()).Block(
		jen.List(jen.Id("st"), jen.Err()).Op(":=").Qual(pkgDatastore, "Open").Call(jen.Id("ctx"), jen.Id("Schema").Call(), jen.Id("dir"), jen.Id("opts").Op("...")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Id("m").Op(":=").Id("newModels").Call(jen.Id("st").Dot("Schema").Call()),
		jen.Return(jen.Op("&").Id("DataStore").Values(jen.Dict{
			jen.Id("Repositories"): jen.Id("m").Dot("bind").Call(jen.Id("st"), jen.Nil()),
			jen.Id("store"):        jen.Id("st"),
			jen.Id("models"):       jen.Id("m"),
		}), jen.Nil()),
	)
	f.Line()

	for _, lc := range []struct{ name, doc string }{
		{"Start", "Start brings the store up. Operations start it on demand, so calling\nStart is optional."},
		{"Stop", "Stop stops background work; the next operation starts the store again."},
		{"Close", "Close stops the store and releases its files."},
	} {
		doc(f, "%s", lc.doc)
		f.Func().Params(jen.Id("ds").Op("*").Id("DataStore")).Id(lc.name).Params(ctxParam()).Error().Block(
			jen.Return(jen.Id("ds").Dot("store").Dot(lc.name).Call(jen.Id("ctx"))),
		)
		f.Line()
	}

	doc(f, "Clear deletes all local data and sync state. While the outbox holds\nmutations not yet sent it refuses with datastore.ErrPendingMutations,\nunless called with datastore.Force().")
	f.Func().Params(jen.Id("ds").Op("*").Id("DataStore")).Id("Clear").Params(ctxParam(), jen.Id("opts").Op("...").Qual(pkgDatastore, "ClearOption")).Error().Block(
		jen.Return(jen.Id("ds").Dot("store").Dot("Clear").Call(jen.Id("ctx"), jen.Id("opts").Op("..."))),
	)
	f.Line()

	doc(f, "Store returns the untyped store underneath, for the sync engine\n(syncengine.New) and tools.")
	f.Func().Params(jen.Id("ds").Op("*").Id("DataStore")).Id("Store").Params().Op("*").Qual(pkgDatastore, "Store").Block(
		jen.Return(jen.Id("ds").Dot("store")),
	)
	f.Line()

	doc(f, "Observe delivers every committed change to every model, in commit\norder, as Amplify's DataStore.observe() does; each change's Element is\nthe record as its generated type (a pointer; switch on its type). See\ndatastore.Store.Observe for when the channel ends.")
	f.Func().Params(jen.Id("ds").Op("*").Id("DataStore")).Id("Observe").Params(ctxParam()).Op("<-").Chan().Qual(pkgDatastore, "StoreChange").Block(
		jen.Return(jen.Id("ds").Dot("store").Dot("Observe").Call(jen.Id("ctx"))),
	)
	f.Line()

	doc(f, "Batch runs fn in one transaction: its writes all happen, or, when fn\nreturns an error, none do.")
	f.Func().Params(jen.Id("ds").Op("*").Id("DataStore")).Id("Batch").Params(ctxParam(), jen.Id("fn").Func().Params(jen.Id("tx").Op("*").Id("Tx")).Error()).Error().Block(
		jen.Return(jen.Id("ds").Dot("store").Dot("Batch").Call(jen.Id("ctx"), jen.Func().Params(jen.Id("t").Op("*").Qual(pkgDatastore, "Txn")).Error().Block(
			jen.Return(jen.Id("fn").Call(jen.Op("&").Id("Tx").Values(jen.Id("ds").Dot("models").Dot("bind").Call(jen.Id("ds").Dot("store"), jen.Id("t"))))),
		))),
	)
	f.Line()

	doc(f, "models holds the runtime description of every model.")
	f.Type().Id("models").Struct(modelFields...)
	f.Line()
	f.Func().Id("newModels").Params(jen.Id("s").Op("*").Qual(pkgMeta, "Schema")).Op("*").Id("models").Block(
		jen.Return(jen.Op("&").Id("models").Block(models...)),
	)
	f.Line()
	doc(f, "repos holds the generic repositories behind the typed ones, for\nrelation accessors.")
	f.Type().Id("repos").Struct(setFields...)
	f.Line()
	doc(f, "bind returns the repositories of the store, or of transaction t when it\nis not nil.")
	var typed []jen.Code
	for _, m := range g.s.Models {
		name := goName(m.Name)
		typed = append(typed, jen.Id(name).Op(":").Op("&").Id(name+"Repo").Values(jen.Id("repo").Op(":").Id("set").Dot(lowerName(name)), jen.Id("set").Op(":").Id("set")).Op(","))
	}
	f.Func().Params(jen.Id("m").Op("*").Id("models")).Id("bind").Params(jen.Id("s").Op("*").Qual(pkgDatastore, "Store"), jen.Id("t").Op("*").Qual(pkgDatastore, "Txn")).Id("Repositories").Block(
		jen.Id("set").Op(":=").Op("&").Id("repos").Block(bind...),
		jen.Return(jen.Id("Repositories").Block(typed...)),
	)
	return f
}

// claimMethod records a generated method name of a model's repository and
// reports a clash (a relation or index whose name collides with another
// method) as an error, rather than emitting code that cannot compile.
func claimMethod(seen map[string]string, name, from string) error {
	if prev, ok := seen[name]; ok {
		return fmt.Errorf("generate: %s and %s both need the method name %s; rename one of them", prev, from, name)
	}
	seen[name] = from
	return nil
}
