package schema

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dsgen/dsgen/runtime/meta"
)

// relArgs is a @hasOne, @hasMany or @belongsTo directive of a model field:
// written in the schema, or made by the generator for @manyToMany.
type relArgs struct {
	name       string // hasOne, hasMany or belongsTo
	fields     []string
	hasFields  bool // fields given, possibly empty
	references []string
	indexName  string
	pos        *ast.Position
}

func parseRelArgs(d *ast.Directive) *relArgs {
	r := &relArgs{name: d.Name, pos: d.Position}
	r.fields = stringsArg(d, "fields")
	r.hasFields = r.fields != nil
	r.references = stringsArg(d, "references")
	r.indexName, _ = stringArg(d, "indexName")
	return r
}

// resolveRelations fills Relation on every relational field, adds the
// implicit foreign key fields, the join models of @manyToMany and the
// indexes of unidirectional @hasMany, in the order Amplify's model
// generator adds them (process-connections-v2 with custom primary keys
// enabled, as `amplify codegen models` runs it).
func (b *builder) resolveRelations() {
	// Problems that make a relation unusable are reported here, before
	// anything is derived from it.
	failed := map[*meta.Field]bool{}
	for _, m := range b.out.Models {
		for _, f := range m.Fields {
			fd := b.fieldDef[f]
			if fd == nil {
				continue
			}
			if b.isBroken(f) {
				// Reported already; known to its other side, not resolved.
				failed[f] = true
				continue
			}
			var found []*ast.Directive
			for _, d := range fd.Directives {
				switch d.Name {
				case "hasOne", "hasMany", "belongsTo", "manyToMany":
					found = append(found, d)
				}
			}
			if len(found) == 0 {
				continue
			}
			where := m.Name + "." + f.Name
			if len(found) > 1 {
				b.errorf(found[1].Position, "%s: a field takes one relation directive, found @%s and @%s", where, found[0].Name, found[1].Name)
				failed[f] = true
			}
			d := found[0]
			if f.Kind != meta.KindModel {
				b.errorf(d.Position, "%s: @%s needs a field whose type is a @model type, and %s is %s", where, d.Name, f.Type, describeType(f, b.sch))
				failed[f] = true
				continue
			}
			switch {
			case (d.Name == "hasMany" || d.Name == "manyToMany") && !f.IsList:
				b.errorf(d.Position, "%s: @%s needs a list field ([%s]), found %s", where, d.Name, f.Type, f.Type)
				failed[f] = true
			case (d.Name == "hasOne" || d.Name == "belongsTo") && f.IsList:
				hint := ""
				if d.Name == "hasOne" {
					hint = "; use @hasMany for lists"
				}
				b.errorf(d.Position, "%s: @%s needs a single-valued field (%s), found a list%s", where, d.Name, f.Type, hint)
				failed[f] = true
			}
			if d.Arguments.ForName("fields") != nil && d.Arguments.ForName("references") != nil {
				b.errorf(d.Position, "%s: @%s: 'fields' and 'references' cannot be used together; use references (Gen 2) on both sides, or fields", where, d.Name)
				failed[f] = true
			}
		}
	}
	// Failed relations stay known (so their counterparts do not report
	// them missing) but are not resolved.
	b.failed = failed

	b.manyToMany()

	for mi := 0; mi < len(b.out.Models); mi++ {
		m := b.out.Models[mi]
		n := len(m.Fields) // fields added while resolving are not relations
		for i := 0; i < n; i++ {
			f := m.Fields[i]
			r := b.rel[f]
			if r == nil || failed[f] {
				continue
			}
			switch r.name {
			case "hasOne":
				b.hasOne(m, f, r)
			case "hasMany":
				b.hasMany(m, f, r)
			case "belongsTo":
				b.belongsTo(m, f, r)
			}
			if f.Relation == nil {
				failed[f] = true // reported; kept so it is not reported again
			}
		}
		// Amplify drops model-typed fields that are not connected.
		kept := m.Fields[:0]
		for _, f := range m.Fields {
			if f.Kind == meta.KindModel && f.Relation == nil && !failed[f] {
				if _, known := b.rel[f]; !known {
					b.warnf(b.fieldPos(f, b.defPos(m)), "%s.%s: field of model type %s has no relation directive (@hasOne, @hasMany, @belongsTo or @manyToMany) and is left out", m.Name, f.Name, f.Type)
				}
				continue
			}
			kept = append(kept, f)
		}
		m.Fields = kept
	}
}

func describeType(f *meta.Field, sch *ast.Schema) string {
	switch f.Kind {
	case meta.KindScalar:
		return "a scalar"
	case meta.KindEnum:
		return "an enum"
	case meta.KindNonModel:
		return "a type without @model"
	case meta.KindInput:
		return "an input type"
	}
	if d := sch.Types[f.Type]; d != nil {
		return article(strings.ToLower(string(d.Kind))) + " " + strings.ToLower(string(d.Kind)) + " type"
	}
	return "not a model"
}

// keyFields returns the model's primary key fields.
func keyFields(m *meta.Model) []*meta.Field {
	var out []*meta.Field
	for _, k := range m.PrimaryKey.Fields() {
		if f := m.Field(k); f != nil {
			out = append(out, f)
		}
	}
	return out
}

// addField appends f to m unless m has a field of that name.
func addField(m *meta.Model, f *meta.Field) {
	if m.Field(f.Name) == nil {
		m.Fields = append(m.Fields, f)
	}
}

// fkField is an implicit foreign key field holding key field k.
func fkField(name string, k *meta.Field, required bool) *meta.Field {
	typ, kind := meta.ID, meta.KindScalar
	if k != nil {
		typ, kind = k.Type, k.Kind
	}
	return &meta.Field{Name: name, Kind: kind, Type: typ, Required: required, Implicit: true}
}

// backBelongsTo returns the first field of other that points at model with
// @belongsTo.
func (b *builder) backBelongsTo(model string, other *meta.Model) *meta.Field {
	for _, f := range other.Fields {
		if r := b.rel[f]; r != nil && r.name == "belongsTo" && f.Type == model {
			return f
		}
	}
	return nil
}

// belongsToCounterparts returns the fields of parent that a @belongsTo on
// child can pair with: @hasOne (single) or @hasMany (list) fields whose
// type is child.
func (b *builder) belongsToCounterparts(child string, parent *meta.Model) []*meta.Field {
	var out []*meta.Field
	for _, f := range parent.Fields {
		r := b.rel[f]
		if r == nil || f.Type != child {
			continue
		}
		if (r.name == "hasOne" && !f.IsList) || (r.name == "hasMany" && f.IsList) || (b.failed[f] && r.name != "belongsTo") {
			out = append(out, f)
		}
	}
	return out
}

// declaredIndex returns the @index called name of m.
func declaredIndex(m *meta.Model, name string) *meta.Index {
	for _, ix := range m.Indexes {
		if ix.Name == name && !ix.Implicit {
			return ix
		}
	}
	return nil
}

func (b *builder) hasOne(m *meta.Model, f *meta.Field, r *relArgs) {
	where := m.Name + "." + f.Name
	other := b.out.Model(f.Type)
	if bt := b.backBelongsTo(m.Name, other); bt != nil && bt.IsList {
		return // reported on the @belongsTo side
	}
	rel := &meta.Relation{Kind: meta.HasOne, Model: other.Name}
	if len(r.references) > 0 {
		if !b.referencesMatch(m, f, r, other, nil) {
			return
		}
		if !b.fieldsExist(where, r, other, r.references, "references") {
			return
		}
		rel.References = true
		rel.AssociatedWith = r.references
		rel.TargetNames = []string{}
		rel.Keys = m.PrimaryKey.Fields()
		rel.RelatedKeys = r.references
		if len(rel.Keys) != len(rel.RelatedKeys) {
			b.errorf(r.pos, "%s: @hasOne(references: [%s]) names %s, but the primary key of %s has %d (%s); name one reference per key field",
				where, quoteList(r.references), count(len(r.references), "field"), m.Name, len(rel.Keys), strings.Join(rel.Keys, ", "))
			return
		}
		f.Relation = rel
		return
	}
	keys := keyFields(other)
	rel.AssociatedWith = other.PrimaryKey.Fields()
	if len(r.fields) > 0 {
		rel.TargetNames = r.fields
	} else {
		for _, k := range keys {
			rel.TargetNames = append(rel.TargetNames, joinCamel(m.Name, f.Name, k.Name))
		}
	}
	if len(rel.TargetNames) > len(keys) {
		b.errorf(r.pos, "%s: @hasOne(fields: [%s]) names %s, but the primary key of %s has %d (%s)",
			where, quoteList(r.fields), count(len(r.fields), "field"), other.Name, len(keys), strings.Join(other.PrimaryKey.Fields(), ", "))
		return
	}
	if r.hasFields && !b.fieldsExist(where, r, m, r.fields, "fields") {
		return
	}
	for i, t := range rel.TargetNames {
		addField(m, fkField(t, keys[i], f.Required))
	}
	rel.Keys = rel.TargetNames
	rel.RelatedKeys = other.PrimaryKey.Fields()[:len(rel.TargetNames)]
	f.Relation = rel
}

func (b *builder) belongsTo(m *meta.Model, f *meta.Field, r *relArgs) {
	where := m.Name + "." + f.Name
	parent := b.out.Model(f.Type)
	counter := b.belongsToCounterparts(m.Name, parent)
	if len(counter) == 0 {
		b.errorf(r.pos, "%s: @belongsTo needs a @hasOne or @hasMany field on %s that points back at %s, and there is none", where, parent.Name, m.Name)
		return
	}
	if len(r.references) > 0 && !b.referencesMatch(m, f, r, parent, counter) {
		return
	}
	keys := keyFields(parent)
	rel := &meta.Relation{Kind: meta.BelongsTo, Model: parent.Name, References: len(r.references) > 0}
	rel.TargetNames = append(append([]string{}, r.fields...), r.references...)
	if len(rel.TargetNames) == 0 {
		prefix := []string{m.Name, f.Name}
		if c := counter[0]; c.IsList {
			prefix = []string{parent.Name, c.Name}
		}
		for _, k := range keys {
			rel.TargetNames = append(rel.TargetNames, joinCamel(append(prefix, k.Name)...))
		}
	}
	arg := "fields"
	if rel.References {
		arg = "references"
	}
	switch {
	case len(rel.TargetNames) > len(keys):
		b.errorf(r.pos, "%s: @belongsTo(%s: [%s]) names %s, but the primary key of %s has %d (%s)",
			where, arg, quoteList(rel.TargetNames), count(len(rel.TargetNames), "field"), parent.Name, len(keys), strings.Join(parent.PrimaryKey.Fields(), ", "))
		return
	case rel.References && len(rel.TargetNames) != len(keys):
		b.errorf(r.pos, "%s: @belongsTo(references: [%s]) names %s, but the primary key of %s has %d (%s); name one reference per key field",
			where, quoteList(rel.TargetNames), count(len(rel.TargetNames), "field"), parent.Name, len(keys), strings.Join(parent.PrimaryKey.Fields(), ", "))
		return
	}
	if (r.hasFields || rel.References) && !b.fieldsExist(where, r, m, rel.TargetNames, arg) {
		return
	}
	for i, t := range rel.TargetNames {
		addField(m, fkField(t, keys[i], f.Required))
	}
	rel.Keys = rel.TargetNames
	rel.RelatedKeys = parent.PrimaryKey.Fields()[:len(rel.TargetNames)]
	f.Relation = rel
}

func (b *builder) hasMany(m *meta.Model, f *meta.Field, r *relArgs) {
	where := m.Name + "." + f.Name
	child := b.out.Model(f.Type)
	rel := &meta.Relation{Kind: meta.HasMany, Model: child.Name, IndexName: r.indexName, ManyToMany: b.m2mOther[f]}
	switch {
	case len(r.references) > 0:
		if !b.referencesMatch(m, f, r, child, nil) || !b.fieldsExist(where, r, child, r.references, "references") {
			return
		}
		rel.References = true
		rel.AssociatedWith = r.references
		rel.Keys = m.PrimaryKey.Fields()
		rel.RelatedKeys = r.references
		if len(rel.Keys) != len(rel.RelatedKeys) {
			b.errorf(r.pos, "%s: @hasMany(references: [%s]) names %s, but the primary key of %s has %d (%s); name one reference per key field",
				where, quoteList(r.references), count(len(r.references), "field"), m.Name, len(rel.Keys), strings.Join(rel.Keys, ", "))
			return
		}
	case r.hasFields:
		// The child's fields the parent's fields match: the index named by
		// indexName, else the child's primary key.
		var connected []string
		keyField := ""
		if r.indexName != "" {
			ix := declaredIndex(child, r.indexName)
			if ix == nil {
				b.errorf(r.pos, "%s: @hasMany(indexName: %q): %s has no @index named %q", where, r.indexName, child.Name, r.indexName)
				return
			}
			connected, keyField = ix.Fields, ix.Fields[0]
		} else {
			connected = child.PrimaryKey.Fields()
			if child.PrimaryKey.Custom {
				keyField = child.PrimaryKey.Field
			} else if bt := b.backBelongsTo(m.Name, child); bt != nil {
				keyField = bt.Name
			} else {
				keyField = "id"
			}
		}
		if len(r.fields) == 0 {
			b.errorf(r.pos, "%s: @hasMany(fields: []) names no fields; name the fields of %s that hold the key, or leave fields out", where, m.Name)
			return
		}
		if !b.fieldsExist(where, r, m, r.fields, "fields") {
			return
		}
		if len(r.fields) > len(connected) {
			b.errorf(r.pos, "%s: @hasMany(fields: [%s]) names %s, but the key of %s it queries has %d (%s)",
				where, quoteList(r.fields), count(len(r.fields), "field"), child.Name, len(connected), strings.Join(connected, ", "))
			return
		}
		// Amplify names the child's @belongsTo field whose fields start
		// with the connected key field, else the key field itself.
		for _, cf := range child.Fields {
			if cr := b.rel[cf]; cr != nil && cr.name == "belongsTo" && cf.Type == m.Name && cr.hasFields && len(cr.fields) > 0 && cr.fields[0] == keyField {
				rel.AssociatedWith = []string{cf.Name}
				break
			}
		}
		if rel.AssociatedWith == nil {
			if child.Field(keyField) == nil {
				b.errorf(r.pos, "%s: @hasMany(fields: [%s]): %s has no field %q to match them", where, quoteList(r.fields), child.Name, keyField)
				return
			}
			rel.AssociatedWith = []string{keyField}
		}
		rel.Keys = r.fields
		rel.RelatedKeys = connected[:len(r.fields)]
	default:
		for _, k := range keyFields(m) {
			name := joinCamel(m.Name, f.Name, k.Name)
			addField(child, fkField(name, k, false))
			rel.AssociatedWith = append(rel.AssociatedWith, name)
		}
		rel.Keys = m.PrimaryKey.Fields()
		rel.RelatedKeys = rel.AssociatedWith
	}
	f.Relation = rel

	// Without an indexName or a @belongsTo counterpart (judged on the
	// child's first field of this model's type), Amplify gives the child an
	// index on the associated fields.
	if r.indexName != "" {
		return
	}
	for _, cf := range child.Fields {
		if cf.Type == m.Name {
			if cr := b.rel[cf]; cr != nil && cr.name == "belongsTo" {
				return
			}
			break
		}
	}
	fields := rel.AssociatedWith
	for _, a := range fields {
		if af := child.Field(a); af == nil || !af.Stored() {
			fields = rel.RelatedKeys // an index needs stored fields
			break
		}
	}
	child.Indexes = append(child.Indexes, &meta.Index{Name: "gsi-" + m.Name + "." + f.Name, Fields: fields, Implicit: true})
}

// referencesMatch checks that a references-style relation has its
// counterpart on the other model with the same references, as Amplify
// requires. For @belongsTo the counterpart is one of counter (the @hasOne and
// @hasMany fields pointing back); for @hasOne and @hasMany it is any
// relation directive of other.
func (b *builder) referencesMatch(m *meta.Model, f *meta.Field, r *relArgs, other *meta.Model, counter []*meta.Field) bool {
	where := m.Name + "." + f.Name
	if r.name == "belongsTo" {
		for _, c := range counter {
			if cr := b.rel[c]; cr != nil && slices.Equal(cr.references, r.references) {
				return true
			}
		}
		b.errorf(r.pos, "%s: @belongsTo(references: [%s]) needs a matching @hasOne or @hasMany(references: [%s]) field on %s pointing back at %s, and there is none",
			where, quoteList(r.references), quoteList(r.references), other.Name, m.Name)
		return false
	}
	for _, of := range other.Fields {
		if or := b.rel[of]; or != nil && slices.Equal(or.references, r.references) {
			return true
		}
	}
	b.errorf(r.pos, "%s: @%s(references: [%s]) needs a matching @belongsTo(references: [%s]) field on %s, and there is none",
		where, r.name, quoteList(r.references), quoteList(r.references), other.Name)
	return false
}

// fieldsExist checks that m has every named field.
func (b *builder) fieldsExist(where string, r *relArgs, m *meta.Model, names []string, arg string) bool {
	ok := true
	for _, n := range names {
		if m.Field(n) == nil {
			b.errorf(r.pos, "%s: @%s(%s: [%s]): %s has no field %q", where, r.name, arg, quoteList(names), m.Name, n)
			ok = false
		}
	}
	return ok
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// manyToMany pairs @manyToMany fields by relation name and generates the
// join model of each pair, appended after the declared models. Each side
// becomes a @hasMany to the join model through its by<Model> index.
func (b *builder) manyToMany() {
	type side struct {
		m *meta.Model
		f *meta.Field
		d *ast.Directive
	}
	var order []string
	pairs := map[string][]side{}
	for _, m := range b.out.Models {
		for _, f := range m.Fields {
			d := b.m2m[f]
			if d == nil {
				continue
			}
			rn, _ := stringArg(d, "relationName")
			name := joinModelName(rn)
			if _, ok := pairs[name]; !ok {
				order = append(order, name)
			}
			pairs[name] = append(pairs[name], side{m, f, d})
		}
	}
	for _, name := range order {
		p := pairs[name]
		rn, _ := stringArg(p[0].d, "relationName")
		where := func(s side) string { return s.m.Name + "." + s.f.Name }
		if len(p) != 2 {
			if len(p) == 1 && b.isBroken(p[0].f) {
				continue // its type is unknown, so its other side cannot exist
			}
			if len(p) == 1 {
				b.errorf(p[0].d.Position, "%s: @manyToMany(relationName: %q) has no other side: %s needs a field with @manyToMany(relationName: %q) pointing back at %s",
					where(p[0]), rn, p[0].f.Type, rn, p[0].m.Name)
			} else {
				b.errorf(p[2].d.Position, "%s: @manyToMany(relationName: %q) is used %d times (also on %s and %s); a relation joins exactly two fields",
					where(p[2]), rn, len(p), where(p[0]), where(p[1]))
			}
			continue
		}
		a, c := p[0], p[1]
		if b.failed[a.f] || b.failed[c.f] {
			continue
		}
		switch {
		case a.f.Type != c.m.Name || c.f.Type != a.m.Name:
			b.errorf(c.d.Position, "%s: @manyToMany(relationName: %q) must point back at %s, the model of the other side (%s)", where(c), rn, a.m.Name, where(a))
			continue
		case b.sch.Types[name] != nil:
			b.errorf(a.d.Position, "%s: @manyToMany(relationName: %q) generates a join model named %s, which clashes with the type %s", where(a), rn, name, name)
			continue
		case a.m == c.m:
			b.errorf(c.d.Position, "%s: @manyToMany relating a model to itself is not supported", where(c))
			continue
		}

		join := &meta.Model{Name: name, PluralName: plural(name), JoinModel: true,
			PrimaryKey: meta.PrimaryKey{Field: "id"},
			Options:    meta.ModelOptions{Timestamps: meta.Timestamps{CreatedAt: "createdAt", UpdatedAt: "updatedAt"}},
			Directives: []meta.Directive{{Name: "model", Args: "{}"}}}
		join.Fields = append(join.Fields, &meta.Field{Name: "id", Kind: meta.KindScalar, Type: meta.ID, Required: true, Implicit: true})
		var belongs []*meta.Field
		for _, s := range []side{a, c} {
			m := s.m
			// The key field is always typed ID; sort key fields keep their
			// type and are named model+field without changing case.
			keyName := joinCamel(m.Name, m.PrimaryKey.Field)
			fks := []string{keyName}
			join.Fields = append(join.Fields, &meta.Field{Name: keyName, Kind: meta.KindScalar, Type: meta.ID, Implicit: true})
			for _, sk := range m.PrimaryKey.SortKeys {
				n := lowerFirst(m.Name) + sk
				fks = append(fks, n)
				f := &meta.Field{Name: n, Kind: meta.KindScalar, Type: meta.String, Implicit: true}
				if kf := m.Field(sk); kf != nil {
					f.Kind, f.Type, f.IsList = kf.Kind, kf.Type, kf.IsList
				}
				join.Fields = append(join.Fields, f)
			}
			join.Indexes = append(join.Indexes, &meta.Index{Name: "by" + m.Name, Fields: fks})
			bf := &meta.Field{Name: camelCase(m.Name), Kind: meta.KindModel, Type: m.Name, Required: true, Implicit: true}
			b.rel[bf] = &relArgs{name: "belongsTo", fields: fks, hasFields: true, pos: s.d.Position}
			belongs = append(belongs, bf)
		}
		join.Fields = append(join.Fields, belongs...)
		join.Fields = append(join.Fields,
			&meta.Field{Name: "createdAt", Kind: meta.KindScalar, Type: meta.AWSDateTime, ReadOnly: true, Implicit: true},
			&meta.Field{Name: "updatedAt", Kind: meta.KindScalar, Type: meta.AWSDateTime, ReadOnly: true, Implicit: true})
		join.Auth = append(join.Auth, a.m.Auth...)
		if !slices.EqualFunc(a.m.Auth, c.m.Auth, authEqual) {
			join.Auth = append(join.Auth, c.m.Auth...)
		}
		b.out.Models = append(b.out.Models, join)
		b.modelPos[join] = a.d.Position

		for _, s := range []side{a, c} {
			other := c.m
			if s.m == c.m {
				other = a.m
			}
			s.f.Type = name
			b.rel[s.f] = &relArgs{name: "hasMany", indexName: "by" + s.m.Name, fields: s.m.PrimaryKey.Fields(), hasFields: true, pos: s.d.Position}
			b.m2mOther[s.f] = other.Name
		}
	}
}

func authEqual(a, b meta.AuthRule) bool {
	return a.Allow == b.Allow && a.Provider == b.Provider && a.OwnerField == b.OwnerField &&
		a.IdentityClaim == b.IdentityClaim && a.GroupClaim == b.GroupClaim && a.GroupsField == b.GroupsField &&
		slices.Equal(a.Groups, b.Groups) && slices.Equal(a.Operations, b.Operations)
}

// count writes n and the noun, plural when n != 1.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
