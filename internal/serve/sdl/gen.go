package sdl

import (
	"slices"
	"strconv"
	"strings"

	"github.com/dsgen/dsgen/runtime/meta"
)

// gen accumulates the definitions and root fields of one API.
type gen struct {
	s *meta.Schema
	// models, shared and roots are printed in that order: per-model
	// definitions, then shared inputs and enums, then root types.
	models, shared                document
	query, mutation, subscription []field
	ops                           []Op
}

func newGen(s *meta.Schema) *gen { return &gen{s: s} }

// syncFields returns the sync metadata fields every model type carries
// with conflict detection on.
func syncFields() []field {
	return []field{
		{name: "_version", typ: "Int!"},
		{name: "_deleted", typ: "Boolean"},
		{name: "_lastChangedAt", typ: "AWSTimestamp!"},
	}
}

func (g *gen) build() error {
	g.sharedInputs()
	for _, m := range g.s.Models {
		if err := g.model(m); err != nil {
			return err
		}
	}
	for _, e := range g.s.Enums {
		g.models.add(&def{kind: kindEnum, name: e.Name, values: slices.Clone(e.Values)})
	}
	for _, n := range g.s.NonModels {
		g.nonModel(n)
	}
	return nil
}

// document returns everything in print order.
func (g *gen) document() *document {
	var d document
	for _, df := range g.models.defs {
		d.add(df)
	}
	for _, df := range g.shared.defs {
		d.add(df)
	}
	for _, r := range []struct {
		name   string
		fields []field
	}{{Query, g.query}, {Mutation, g.mutation}, {Subscription, g.subscription}} {
		if len(r.fields) > 0 {
			d.add(&def{kind: kindType, name: r.name, fields: r.fields})
		}
	}
	return &d
}

// scalarBase maps a scalar to the GraphQL scalar its filter and key
// condition inputs are named after, as the transformer's DEFAULT_SCALARS
// does: AWS string-like scalars are String, AWSTimestamp is Int.
func scalarBase(t string) string {
	switch t {
	case meta.ID, meta.String, meta.Int, meta.Float, meta.Boolean:
		return t
	case meta.AWSTimestamp:
		return meta.Int
	}
	return meta.String
}

// typeRef prints a field's type with named as the base type name.
func typeRef(f *meta.Field, named string) string {
	t := named
	if f.Required {
		t += "!"
	}
	if f.IsList {
		t = "[" + t + "]"
		if f.ListRequired {
			t += "!"
		}
	}
	return t
}

// nullable drops the outermost "!".
func nullable(t string) string { return strings.TrimSuffix(t, "!") }

// sharedInputs adds the scalar filter, condition and subscription filter
// inputs the transformer always emits.
func (g *gen) sharedInputs() {
	for _, sc := range []string{meta.String, meta.Int, meta.Float, meta.Boolean, meta.ID} {
		g.shared.add(&def{kind: kindInput, name: "Model" + sc + "Input", inputs: scalarConditions(sc, false)})
	}
	for _, sc := range []string{meta.String, meta.Int, meta.Float, meta.Boolean, meta.ID} {
		g.shared.add(&def{kind: kindInput, name: "ModelSubscription" + sc + "Input", inputs: scalarConditions(sc, true)})
	}
	g.shared.add(&def{kind: kindEnum, name: "ModelAttributeTypes", values: []string{
		"binary", "binarySet", "bool", "list", "map", "number", "numberSet", "string", "stringSet", "_null"}})
	size := []arg{}
	for _, op := range []string{"ne", "eq", "le", "lt", "ge", "gt"} {
		size = append(size, arg{op, "Int"})
	}
	size = append(size, arg{"between", "[Int]"})
	g.shared.add(&def{kind: kindInput, name: "ModelSizeInput", inputs: size})
	g.shared.add(&def{kind: kindEnum, name: "ModelSortDirection", values: []string{"ASC", "DESC"}})
}

// scalarConditions lists the operators of Model<sc>Input or, for
// subscriptions, ModelSubscription<sc>Input.
func scalarConditions(sc string, sub bool) []arg {
	var ops []string
	switch sc {
	case meta.String, meta.ID:
		ops = []string{"ne", "eq", "le", "lt", "ge", "gt", "contains", "notContains", "between", "beginsWith"}
	case meta.Int, meta.Float:
		ops = []string{"ne", "eq", "le", "lt", "ge", "gt", "between"}
	case meta.Boolean:
		ops = []string{"ne", "eq"}
	}
	var out []arg
	for _, op := range ops {
		t := sc
		if op == "between" {
			t = "[" + sc + "]"
		}
		out = append(out, arg{op, t})
	}
	if sub {
		if sc != meta.Boolean {
			out = append(out, arg{"in", "[" + sc + "]"}, arg{"notIn", "[" + sc + "]"})
		}
		return out
	}
	out = append(out, arg{"attributeExists", "Boolean"}, arg{"attributeType", "ModelAttributeTypes"})
	if sc == meta.String || sc == meta.ID {
		out = append(out, arg{"size", "ModelSizeInput"})
	}
	return out
}

// filterType returns the filter/condition input of a stored field, or ""
// for fields that cannot be filtered (non-model values).
func (g *gen) filterType(f *meta.Field) string {
	switch f.Kind {
	case meta.KindScalar:
		return "Model" + scalarBase(f.Type) + "Input"
	case meta.KindEnum:
		if f.IsList {
			return g.enumListInput("Model", f)
		}
		name := "Model" + f.Type + "Input"
		g.shared.add(&def{kind: kindInput, name: name, inputs: []arg{{"eq", f.Type}, {"ne", f.Type}}})
		return name
	}
	return ""
}

// enumListInput declares the filter input of the enum list field f, named
// with prefix, and returns its name.
func (g *gen) enumListInput(prefix string, f *meta.Field) string {
	name := prefix + f.Type + "ListInput"
	g.shared.add(&def{kind: kindInput, name: name, inputs: []arg{
		{"eq", "[" + f.Type + "]"}, {"ne", "[" + f.Type + "]"}, {"contains", f.Type}, {"notContains", f.Type}}})
	return name
}

// subFilterType is filterType for subscription filters: enums filter as
// strings, and there are no attribute functions.
func (g *gen) subFilterType(f *meta.Field) string {
	switch f.Kind {
	case meta.KindScalar:
		return "ModelSubscription" + scalarBase(f.Type) + "Input"
	case meta.KindEnum:
		if f.IsList {
			return g.enumListInput("ModelSubscription", f)
		}
		return "ModelSubscriptionStringInput"
	}
	return ""
}

// inputType names the input form of a stored field's type.
func inputType(f *meta.Field) string {
	if f.Kind == meta.KindNonModel {
		return upperFirst(f.Type) + "Input"
	}
	return f.Type
}

// ownerFields returns the owner fields of m's owner rules, in rule order,
// and which of them the model does not declare (Amplify adds those as
// `owner: String`).
func ownerFields(m *meta.Model) (all, missing []string) {
	for _, r := range m.Auth {
		if r.Allow != "owner" {
			continue
		}
		of := r.OwnerField
		if of == "" {
			of = "owner"
		}
		if slices.Contains(all, of) {
			continue
		}
		all = append(all, of)
		if m.Field(of) == nil {
			missing = append(missing, of)
		}
	}
	return all, missing
}

// ownerArgs returns the owner fields that become subscription arguments:
// those of owner rules that allow reading.
func ownerArgs(m *meta.Model) []string {
	var out []string
	for _, r := range m.Auth {
		if r.Allow != "owner" {
			continue
		}
		if len(r.Operations) > 0 && !slices.Contains(r.Operations, "read") && !slices.Contains(r.Operations, "listen") {
			continue
		}
		of := r.OwnerField
		if of == "" {
			of = "owner"
		}
		if !slices.Contains(out, of) {
			out = append(out, of)
		}
	}
	return out
}

// isTimestamp reports whether f is one of m's automatic timestamps.
func isTimestamp(m *meta.Model, f *meta.Field) bool {
	ts := m.Options.Timestamps
	return f.Name != "" && (f.Name == ts.CreatedAt || f.Name == ts.UpdatedAt)
}

// modelTypes are the names of the types the API declares for one model.
type modelTypes struct {
	name, conn, filter, cond, subFilter string
}

// model declares m's types (object, connection, filter, condition and
// mutation inputs) and its root fields (queries, mutations, subscriptions).
func (g *gen) model(m *meta.Model) error {
	name := m.Name
	t := modelTypes{
		name:      name,
		conn:      "Model" + name + "Connection",
		filter:    "Model" + name + "FilterInput",
		cond:      "Model" + name + "ConditionInput",
		subFilter: "ModelSubscription" + name + "FilterInput",
	}
	_, missingOwners := ownerFields(m)

	if err := g.objectType(m, missingOwners); err != nil {
		return err
	}
	g.models.add(&def{kind: kindType, name: t.conn, fields: []field{
		{name: "items", typ: "[" + name + "]!"},
		{name: "nextToken", typ: "String"},
		{name: "startedAt", typ: "AWSTimestamp"},
	}})
	subFilter := g.filterInputs(m, t, missingOwners)
	names := g.s.Operations(m)
	create, update, del, err := mutationInputs(m, missingOwners)
	if err != nil {
		return err
	}
	if names.Create != "" {
		g.models.add(create)
	}
	if names.Update != "" {
		g.models.add(update)
	}
	if names.Delete != "" {
		g.models.add(del)
	}
	if len(names.OnCreate)+len(names.OnUpdate)+len(names.OnDelete) > 0 {
		g.models.add(subFilter)
	}

	if err := g.queries(m, names, t); err != nil {
		return err
	}
	for _, mu := range []struct {
		field string
		kind  OpKind
		input *def
	}{{names.Create, OpCreate, create}, {names.Update, OpUpdate, update}, {names.Delete, OpDelete, del}} {
		if mu.field == "" {
			continue
		}
		g.addRoot(Mutation, field{name: mu.field, typ: name, args: []arg{{"input", mu.input.name + "!"}, {"condition", t.cond}}},
			Op{Kind: mu.kind, Model: m})
	}
	g.subscriptions(m, names, t)
	return nil
}

// objectType declares m's object type: its fields, owner fields the schema
// leaves implicit, and the sync metadata.
func (g *gen) objectType(m *meta.Model, missingOwners []string) error {
	obj := &def{kind: kindType, name: m.Name}
	for _, f := range m.Fields {
		if f.Kind == meta.KindModel {
			rf, err := g.relationField(m, f)
			if err != nil {
				return err
			}
			obj.fields = append(obj.fields, rf)
			continue
		}
		t := typeRef(f, f.Type)
		if f.ReadOnly && isTimestamp(m, f) {
			t = "AWSDateTime!"
		}
		if v, ok := m.Versioned(); ok && f.Name == v.Field {
			t = "Int!" // the server always sets it
		}
		obj.fields = append(obj.fields, field{name: f.Name, typ: t})
	}
	for _, o := range missingOwners {
		obj.fields = append(obj.fields, field{name: o, typ: "String"})
	}
	obj.fields = append(obj.fields, syncFields()...)
	g.models.add(obj)
	return nil
}

// filterInputs declares m's filter and condition inputs and returns its
// subscription filter input, which the caller declares only when m has
// subscriptions.
func (g *gen) filterInputs(m *meta.Model, t modelTypes, missingOwners []string) *def {
	keyFields := m.PrimaryKey.Fields()
	fi := &def{kind: kindInput, name: t.filter}
	ci := &def{kind: kindInput, name: t.cond}
	si := &def{kind: kindInput, name: t.subFilter}
	for _, f := range m.Fields {
		if ft := g.filterType(f); ft != "" {
			fi.inputs = append(fi.inputs, arg{f.Name, ft})
			if f.Name != "id" && !slices.Contains(keyFields, f.Name) {
				ci.inputs = append(ci.inputs, arg{f.Name, ft})
			}
		}
		if st := g.subFilterType(f); st != "" {
			si.inputs = append(si.inputs, arg{f.Name, st})
		}
	}
	for _, o := range missingOwners {
		fi.inputs = append(fi.inputs, arg{o, "ModelStringInput"})
		ci.inputs = append(ci.inputs, arg{o, "ModelStringInput"})
		si.inputs = append(si.inputs, arg{o, "ModelSubscriptionStringInput"})
	}
	fi.inputs = append(fi.inputs, arg{"and", "[" + t.filter + "]"}, arg{"or", "[" + t.filter + "]"}, arg{"not", t.filter}, arg{"_deleted", "ModelBooleanInput"})
	ci.inputs = append(ci.inputs, arg{"and", "[" + t.cond + "]"}, arg{"or", "[" + t.cond + "]"}, arg{"not", t.cond}, arg{"_deleted", "ModelBooleanInput"})
	si.inputs = append(si.inputs, arg{"and", "[" + t.subFilter + "]"}, arg{"or", "[" + t.subFilter + "]"}, arg{"_deleted", "ModelBooleanInput"})
	g.models.add(fi)
	g.models.add(ci)
	return si
}

// mutationInputs returns m's create, update and delete inputs.
func mutationInputs(m *meta.Model, missingOwners []string) (create, update, del *def, _ error) {
	name := m.Name
	keyFields := m.PrimaryKey.Fields()
	versioning, versioned := m.Versioned()
	create = &def{kind: kindInput, name: "Create" + upperFirst(name) + "Input"}
	update = &def{kind: kindInput, name: "Update" + upperFirst(name) + "Input"}
	del = &def{kind: kindInput, name: "Delete" + upperFirst(name) + "Input"}
	for _, f := range m.Fields {
		if f.Kind == meta.KindModel || f.ReadOnly {
			continue
		}
		t := typeRef(f, inputType(f))
		isKey := slices.Contains(keyFields, f.Name)
		ct := t
		if f.Name == "id" || isTimestamp(m, f) || f.Default != nil {
			// Generated by the server when absent (an id, a timestamp,
			// a @default value, as Amplify's create inputs have them).
			ct = nullable(t)
		}
		if versioned && f.Name == versioning.Field {
			// The server sets it: graphql-versioned-transformer strips
			// it from the create input, and it is in the update input
			// only when the type declares it (the value is replaced).
			if !f.Hidden {
				update.inputs = append(update.inputs, arg{f.Name, nullable(t)})
			}
			continue
		}
		create.inputs = append(create.inputs, arg{f.Name, ct})
		ut := nullable(t)
		if isKey {
			ut = f.Type + "!"
		}
		update.inputs = append(update.inputs, arg{f.Name, ut})
	}
	for _, k := range keyFields {
		f := m.Field(k)
		if f == nil {
			return nil, nil, nil, &Error{Model: name, Field: k, Msg: "primary key field is not a field of the model"}
		}
		del.inputs = append(del.inputs, arg{k, f.Type + "!"})
	}
	for _, o := range missingOwners {
		create.inputs = append(create.inputs, arg{o, "String"})
		update.inputs = append(update.inputs, arg{o, "String"})
	}
	if versioned {
		update.inputs = append(update.inputs, arg{versioning.Input, "Int!"})
		del.inputs = append(del.inputs, arg{versioning.Input, "Int!"})
	}
	for _, in := range []*def{create, update, del} {
		in.inputs = append(in.inputs, arg{"_version", "Int"})
	}
	return create, update, del, nil
}

// queries declares m's get, list, sync and index query fields.
func (g *gen) queries(m *meta.Model, names meta.Operations, t modelTypes) error {
	keyFields := m.PrimaryKey.Fields()
	if names.Get != "" {
		var args []arg
		for _, k := range keyFields {
			args = append(args, arg{k, m.Field(k).Type + "!"})
		}
		g.addRoot(Query, field{name: names.Get, args: args, typ: t.name}, Op{Kind: OpGet, Model: m})
	}
	if names.List != "" {
		var args []arg
		sortArg := ""
		if m.PrimaryKey.Custom {
			args = append(args, arg{m.PrimaryKey.Field, m.Field(m.PrimaryKey.Field).Type})
			sa, err := g.sortKeyArg(m, "Primary", m.PrimaryKey.SortKeys)
			if err != nil {
				return err
			}
			if sa.name != "" {
				args = append(args, sa)
				sortArg = sa.name
			}
		}
		args = append(args, arg{"filter", t.filter}, arg{"limit", "Int"}, arg{"nextToken", "String"})
		if m.PrimaryKey.Custom {
			args = append(args, arg{"sortDirection", "ModelSortDirection"})
		}
		g.addRoot(Query, field{name: names.List, args: args, typ: t.conn}, Op{Kind: OpList, Model: m, SortKeyArg: sortArg})
	}
	if names.Sync != "" {
		g.addRoot(Query, field{name: names.Sync, typ: t.conn, args: []arg{
			{"filter", t.filter}, {"limit", "Int"}, {"nextToken", "String"}, {"lastSync", "AWSTimestamp"}}},
			Op{Kind: OpSync, Model: m})
	}
	for _, ix := range m.Indexes {
		if ix.QueryField == "" {
			continue
		}
		pk := m.Field(ix.Fields[0])
		if pk == nil {
			return &Error{Model: m.Name, Field: ix.Fields[0], Msg: "index " + strconv.Quote(ix.Name) + " names a field the model does not have"}
		}
		args := []arg{{pk.Name, pk.Type + "!"}}
		sa, err := g.sortKeyArg(m, upperFirst(ix.Name), ix.Fields[1:])
		if err != nil {
			return err
		}
		if sa.name != "" {
			args = append(args, sa)
		}
		args = append(args, arg{"sortDirection", "ModelSortDirection"}, arg{"filter", t.filter}, arg{"limit", "Int"}, arg{"nextToken", "String"})
		g.addRoot(Query, field{name: ix.QueryField, args: args, typ: t.conn}, Op{Kind: OpIndexQuery, Model: m, Index: ix, SortKeyArg: sa.name})
	}
	return nil
}

// subscriptions declares m's subscription fields, with the owner arguments
// that owner auth requires.
func (g *gen) subscriptions(m *meta.Model, names meta.Operations, t modelTypes) {
	var owners []string
	ownerType := "String"
	if !names.SubscriptionsPublic {
		owners = ownerArgs(m)
		if g.s.TransformerV1 {
			owners, ownerType = v1OwnerArgs(m)
		}
	}
	for _, su := range []struct {
		fields   []string
		kind     OpKind
		mutation string
	}{{names.OnCreate, OpOnCreate, names.Create}, {names.OnUpdate, OpOnUpdate, names.Update}, {names.OnDelete, OpOnDelete, names.Delete}} {
		for _, fname := range su.fields {
			args := []arg{{"filter", t.subFilter}}
			for _, o := range owners {
				args = append(args, arg{o, ownerType})
			}
			g.addRoot(Subscription, field{name: fname, typ: t.name, args: args,
				directive: "@aws_subscribe(mutations: [" + strconv.Quote(su.mutation) + "])"},
				Op{Kind: su.kind, Model: m, OwnerArgs: slices.Clone(owners), Mutation: su.mutation})
		}
	}
}

// addRoot adds a root field unless one of that name exists (a renamed
// operation may collide with another model's default name; the first wins
// and gqlparser would reject the duplicate).
func (g *gen) addRoot(root string, f field, op Op) {
	list := map[string]*[]field{Query: &g.query, Mutation: &g.mutation, Subscription: &g.subscription}[root]
	for _, have := range *list {
		if have.name == f.name {
			return
		}
	}
	*list = append(*list, f)
	op.Root, op.Field = root, f.name
	g.ops = append(g.ops, op)
}

// sortKeyArg returns the sort key condition argument for a key with the
// given sort key fields (none: a zero arg), adding the inputs it needs.
// One sort key field filters with Model<Scalar>KeyConditionInput; several
// with Model<T><Key>CompositeKeyConditionInput over
// Model<T><Key>CompositeKeyInput.
func (g *gen) sortKeyArg(m *meta.Model, keyName string, sortKeys []string) (arg, error) {
	var fields []*meta.Field
	for _, k := range sortKeys {
		f := m.Field(k)
		if f == nil {
			return arg{}, &Error{Model: m.Name, Field: k, Msg: "sort key field is not a field of the model"}
		}
		if f.IsList || (f.Kind != meta.KindScalar && f.Kind != meta.KindEnum) {
			return arg{}, &Error{Model: m.Name, Field: k, Msg: "a sort key must be a scalar or enum field"}
		}
		fields = append(fields, f)
	}
	switch len(fields) {
	case 0:
		return arg{}, nil
	case 1:
		base := meta.String
		if fields[0].Kind == meta.KindScalar {
			base = scalarBase(fields[0].Type)
		}
		if base == meta.Boolean {
			return arg{}, &Error{Model: m.Name, Field: fields[0].Name, Msg: "a Boolean field cannot be a sort key"}
		}
		name := "Model" + base + "KeyConditionInput"
		g.shared.add(&def{kind: kindInput, name: name, inputs: keyConditions(base)})
		return arg{fields[0].Name, name}, nil
	}
	keyInput := "Model" + m.Name + keyName + "CompositeKeyInput"
	condInput := "Model" + m.Name + keyName + "CompositeKeyConditionInput"
	ki := &def{kind: kindInput, name: keyInput}
	for i, f := range fields {
		t := f.Type
		// The transformer maps only the last key part to its base scalar.
		if i == len(fields)-1 && f.Kind == meta.KindScalar {
			t = scalarBase(f.Type)
		}
		ki.inputs = append(ki.inputs, arg{f.Name, t})
	}
	g.models.add(ki)
	var ops []arg
	for _, op := range []string{"eq", "le", "lt", "ge", "gt", "between", "beginsWith"} {
		t := keyInput
		if op == "between" {
			t = "[" + keyInput + "]"
		}
		ops = append(ops, arg{op, t})
	}
	g.models.add(&def{kind: kindInput, name: condInput, inputs: ops})
	return arg{camelJoin(sortKeys), condInput}, nil
}

// keyConditions lists the operators of Model<base>KeyConditionInput.
func keyConditions(base string) []arg {
	ops := []string{"eq", "le", "lt", "ge", "gt", "between"}
	if base == meta.String || base == meta.ID {
		ops = append(ops, "beginsWith")
	}
	var out []arg
	for _, op := range ops {
		t := base
		if op == "between" {
			t = "[" + base + "]"
		}
		out = append(out, arg{op, t})
	}
	return out
}

// relationField returns the object field of a relation: the related type
// for belongsTo and hasOne, a connection with paging arguments for hasMany.
func (g *gen) relationField(m *meta.Model, f *meta.Field) (field, error) {
	rel := f.Relation
	related := g.s.Model(f.Type)
	if rel == nil || related == nil {
		return field{}, &Error{Model: m.Name, Field: f.Name, Msg: "field of model type " + strconv.Quote(f.Type) + " has no relation"}
	}
	if rel.Kind != meta.HasMany {
		t := f.Type
		if f.Required {
			t += "!"
		}
		return field{name: f.Name, typ: t}, nil
	}
	var args []arg
	// A hasMany through an index with sort keys beyond the matched ones
	// takes a condition on them, as the transformer's connection field does.
	if ix := related.Index(rel.IndexName); ix != nil && len(rel.RelatedKeys) > 0 && len(ix.Fields) > len(rel.RelatedKeys) {
		sa, err := g.sortKeyArg(related, upperFirst(ix.Name), ix.Fields[len(rel.RelatedKeys):])
		if err != nil {
			return field{}, err
		}
		args = append(args, sa)
	}
	args = append(args, arg{"filter", "Model" + related.Name + "FilterInput"}, arg{"sortDirection", "ModelSortDirection"},
		arg{"limit", "Int"}, arg{"nextToken", "String"})
	t := "Model" + related.Name + "Connection"
	if f.IsList && f.ListRequired {
		t += "!"
	}
	return field{name: f.Name, args: args, typ: t}, nil
}

// nonModel adds a non-model object type and its <Name>Input.
func (g *gen) nonModel(n *meta.NonModel) {
	obj := &def{kind: kindType, name: n.Name}
	in := &def{kind: kindInput, name: upperFirst(n.Name) + "Input"}
	for _, f := range n.Fields {
		obj.fields = append(obj.fields, field{name: f.Name, typ: typeRef(f, f.Type)})
		if f.Kind != meta.KindModel {
			in.inputs = append(in.inputs, arg{f.Name, typeRef(f, inputType(f))})
		}
	}
	g.models.add(obj)
	if len(in.inputs) > 0 {
		g.models.add(in)
	}
}
