package schema

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dsgen/dsgen/runtime/meta"
)

// relDirective is a relation directive found on a model field.
type relDirective struct {
	model *meta.Model
	field *meta.Field
	fd    *ast.FieldDefinition
	d     *ast.Directive
}

func (r relDirective) fields() []string     { return stringsArg(r.d, "fields") }
func (r relDirective) references() []string { return stringsArg(r.d, "references") }
func (r relDirective) has(arg string) bool  { return r.d.Arguments.ForName(arg) != nil }
func (r relDirective) where() string        { return r.model.Name + "." + r.field.Name }

// implicit reports whether the directive names no fields, references or index.
func (r relDirective) implicit() bool {
	return !r.has("fields") && !r.has("references") && !r.has("indexName")
}

// resolveRelations fills Relation on every relational field, adds the
// implicit foreign key fields and the join models of @manyToMany, in the
// order Amplify's model generator adds them.
func (b *builder) resolveRelations() {
	var rels []relDirective
	for _, m := range b.out.Models {
		for _, f := range m.Fields {
			fd := b.fieldDef[f]
			if fd == nil {
				continue
			}
			var found []*ast.Directive
			for _, name := range []string{"hasOne", "hasMany", "belongsTo", "manyToMany"} {
				found = append(found, fd.Directives.ForNames(name)...)
			}
			if len(found) > 1 {
				b.errorf(found[1].Position, "%s.%s: a field takes one relation directive, found @%s and @%s", m.Name, f.Name, found[0].Name, found[1].Name)
			}
			if len(found) == 0 {
				if f.Kind == meta.KindModel {
					b.errorf(fd.Position, "%s.%s: field of model type %s needs a relation directive (@hasOne, @hasMany, @belongsTo or @manyToMany)", m.Name, f.Name, f.Type)
				}
				continue
			}
			r := relDirective{model: m, field: f, fd: fd, d: found[0]}
			if f.Kind != meta.KindModel {
				b.errorf(r.d.Position, "%s: @%s needs a field whose type is a @model type, and %s is not a model", r.where(), r.d.Name, f.Type)
				continue
			}
			if r.has("fields") && r.has("references") {
				b.errorf(r.d.Position, "%s: @%s: 'fields' and 'references' cannot be used together", r.where(), r.d.Name)
				continue
			}
			rels = append(rels, r)
		}
	}
	b.manyToMany(rels)
	for _, r := range rels {
		switch r.d.Name {
		case "hasMany":
			b.hasMany(r, rels)
		case "hasOne":
			b.hasOne(r)
		case "belongsTo":
			b.belongsTo(r, rels)
		}
	}
}

// keyFKNames names the foreign keys that point from prefix to target's
// primary key: prefix+Id for the default id, prefix+Field for each field.
func keyFKNames(prefix string, target *meta.Model) []string {
	var out []string
	for _, k := range target.PrimaryKey.Fields() {
		out = append(out, prefix+upperFirst(k))
	}
	return out
}

// ensureFKs adds nullable foreign key fields to m, typed like target's key
// fields, unless m already has them.
func ensureFKs(m *meta.Model, names []string, target *meta.Model) {
	for i, k := range target.PrimaryKey.Fields() {
		if m.Field(names[i]) != nil {
			continue
		}
		kf := target.Field(k)
		typ, kind := meta.ID, meta.KindScalar
		if kf != nil {
			typ, kind = kf.Type, kf.Kind
		}
		m.Fields = append(m.Fields, &meta.Field{Name: names[i], Kind: kind, Type: typ, Implicit: true})
	}
}

func (b *builder) hasMany(r relDirective, rels []relDirective) {
	child := b.out.Model(r.field.Type)
	if !r.field.IsList {
		b.errorf(r.d.Position, "%s: @hasMany needs a list field ([%s]), found %s", r.where(), r.field.Type, r.field.Type)
		return
	}
	rel := &meta.Relation{Kind: meta.HasMany, Model: child.Name, IndexName: optArg(r.d, "indexName")}
	r.field.Relation = rel
	switch {
	case r.has("references"):
		rel.References = true
		rel.AssociatedWith = r.references()
		b.checkFieldsExist(r, child, rel.AssociatedWith, "references")
		b.checkReferencesCounterpart(r, child, rels, "belongsTo")
	case r.implicit():
		fks := keyFKNames(lowerFirst(r.model.Name)+upperFirst(r.field.Name), r.model)
		ensureFKs(child, fks, r.model)
		rel.AssociatedWith = fks
		if counterpart(r, child, rels, "belongsTo") == nil {
			// No belongsTo reads these keys, so Amplify adds an index for them.
			child.Indexes = append(child.Indexes, &meta.Index{Name: "gsi-" + r.model.Name + "." + r.field.Name, Fields: fks})
		}
	default:
		var connected []string
		if rel.IndexName != "" {
			ix := child.Index(rel.IndexName)
			if ix == nil {
				b.errorf(r.d.Position, "%s: @hasMany(indexName: %q): %s has no index named %q", r.where(), rel.IndexName, child.Name, rel.IndexName)
				return
			}
			connected = ix.Fields
		} else {
			connected = child.PrimaryKey.Fields()
		}
		fields := r.fields()
		if len(fields) == 0 {
			fields = r.model.PrimaryKey.Fields()
		}
		b.checkFieldsExist(r, r.model, fields, "fields")
		if len(fields) > len(connected) {
			b.errorf(r.d.Position, "%s: @hasMany names %d fields but the connected key of %s has %d (%s)", r.where(), len(fields), child.Name, len(connected), strings.Join(connected, ", "))
			return
		}
		rel.AssociatedWith = []string{connected[0]}
		for _, o := range rels {
			if o.model == child && o.d.Name == "belongsTo" && o.field.Type == r.model.Name && slices.Contains(o.fields(), connected[0]) {
				rel.AssociatedWith = []string{o.field.Name}
				break
			}
		}
	}
}

func (b *builder) hasOne(r relDirective) {
	target := b.out.Model(r.field.Type)
	if r.field.IsList {
		b.errorf(r.d.Position, "%s: @hasOne needs a single-valued field (%s), found a list", r.where(), r.field.Type)
		return
	}
	rel := &meta.Relation{Kind: meta.HasOne, Model: target.Name}
	r.field.Relation = rel
	switch {
	case r.has("references"):
		rel.References = true
		rel.AssociatedWith = r.references()
		rel.TargetNames = r.model.PrimaryKey.Fields()
		b.checkFieldsExist(r, target, rel.AssociatedWith, "references")
	case r.has("fields"):
		rel.TargetNames = r.fields()
		rel.AssociatedWith = target.PrimaryKey.Fields()
		b.checkFieldsExist(r, r.model, rel.TargetNames, "fields")
	default:
		fks := keyFKNames(lowerFirst(r.model.Name)+upperFirst(r.field.Name), target)
		ensureFKs(r.model, fks, target)
		rel.TargetNames = fks
		rel.AssociatedWith = target.PrimaryKey.Fields()
	}
}

func (b *builder) belongsTo(r relDirective, rels []relDirective) {
	parent := b.out.Model(r.field.Type)
	if r.field.IsList {
		b.errorf(r.d.Position, "%s: @belongsTo needs a single-valued field (%s), found a list", r.where(), r.field.Type)
		return
	}
	rel := &meta.Relation{Kind: meta.BelongsTo, Model: parent.Name}
	r.field.Relation = rel
	switch {
	case r.has("references"):
		rel.References = true
		rel.TargetNames = r.references()
		b.checkFieldsExist(r, r.model, rel.TargetNames, "references")
		b.checkReferencesCounterpart(r, parent, rels, "hasOne", "hasMany")
	case r.has("fields"):
		rel.TargetNames = r.fields()
		b.checkFieldsExist(r, r.model, rel.TargetNames, "fields")
	default:
		if c := counterpart(r, parent, rels, "hasMany"); c != nil && c.implicit() {
			fks := keyFKNames(lowerFirst(parent.Name)+upperFirst(c.field.Name), parent)
			ensureFKs(r.model, fks, parent)
			rel.TargetNames = fks
			return
		}
		fks := keyFKNames(lowerFirst(r.model.Name)+upperFirst(r.field.Name), parent)
		ensureFKs(r.model, fks, parent)
		rel.TargetNames = fks
	}
}

// counterpart finds the relation on other that points back at r's model
// with one of the given directives.
func counterpart(r relDirective, other *meta.Model, rels []relDirective, kinds ...string) *relDirective {
	for i, o := range rels {
		if o.model == other && o.field.Type == r.model.Name && slices.Contains(kinds, o.d.Name) {
			return &rels[i]
		}
	}
	return nil
}

// checkReferencesCounterpart requires that a references-style relation is
// declared on both sides with the same references.
func (b *builder) checkReferencesCounterpart(r relDirective, other *meta.Model, rels []relDirective, kinds ...string) {
	refs := r.references()
	for _, o := range rels {
		if o.model == other && o.field.Type == r.model.Name && slices.Contains(kinds, o.d.Name) && slices.Equal(o.references(), refs) {
			return
		}
	}
	want := "@" + strings.Join(kinds, " or @")
	b.errorf(r.d.Position, "%s: @%s(references: [%s]) needs a matching %s(references: [%s]) field on %s, and there is none",
		r.where(), r.d.Name, quoteList(refs), want, quoteList(refs), other.Name)
}

func (b *builder) checkFieldsExist(r relDirective, m *meta.Model, names []string, arg string) {
	for _, n := range names {
		if m.Field(n) == nil {
			b.errorf(r.d.Position, "%s: @%s(%s): %s has no field %q", r.where(), r.d.Name, arg, m.Name, n)
		}
	}
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

func optArg(d *ast.Directive, name string) string {
	s, _ := stringArg(d, name)
	return s
}

// manyToMany pairs @manyToMany fields by relationName and generates the join
// model for each pair, appended after the declared models.
func (b *builder) manyToMany(rels []relDirective) {
	var order []string
	pairs := map[string][]relDirective{}
	for _, r := range rels {
		if r.d.Name != "manyToMany" {
			continue
		}
		name := optArg(r.d, "relationName")
		if _, ok := pairs[name]; !ok {
			order = append(order, name)
		}
		pairs[name] = append(pairs[name], r)
	}
	for _, name := range order {
		p := pairs[name]
		if len(p) != 2 {
			if len(p) == 1 {
				b.errorf(p[0].d.Position, "%s: @manyToMany(relationName: %q) has no other side: the related model %s needs a field with @manyToMany(relationName: %q)", p[0].where(), name, p[0].field.Type, name)
			} else {
				b.errorf(p[2].d.Position, "%s: @manyToMany(relationName: %q) is used %d times; a relation joins exactly two fields", p[2].where(), name, len(p))
			}
			continue
		}
		a, c := p[0], p[1]
		if a.field.Type != c.model.Name || c.field.Type != a.model.Name {
			b.errorf(c.d.Position, "%s: @manyToMany(relationName: %q) must point back at %s, the model of the other side (%s)", c.where(), name, a.model.Name, a.where())
			continue
		}
		if !a.field.IsList || !c.field.IsList {
			r := a
			if a.field.IsList {
				r = c
			}
			b.errorf(r.d.Position, "%s: @manyToMany needs a list field", r.where())
			continue
		}
		if b.sch.Types[name] != nil {
			b.errorf(a.d.Position, "%s: @manyToMany(relationName: %q) would generate a join model named %s, which clashes with the type %s", a.where(), name, name, name)
			continue
		}
		if a.model == c.model {
			b.errorf(c.d.Position, "%s: @manyToMany relating a model to itself is not supported yet", c.where())
			continue
		}
		join := &meta.Model{Name: name, PluralName: plural(name), JoinModel: true,
			PrimaryKey: meta.PrimaryKey{Field: "id"},
			Options:    meta.ModelOptions{Timestamps: meta.Timestamps{CreatedAt: "createdAt", UpdatedAt: "updatedAt"}}}
		join.Fields = append(join.Fields, &meta.Field{Name: "id", Kind: meta.KindScalar, Type: meta.ID, Required: true, Implicit: true})
		var belongs []*meta.Field
		for _, side := range []relDirective{a, c} {
			m := side.model
			lf := lowerFirst(m.Name)
			var fks []string
			for i, k := range m.PrimaryKey.Fields() {
				n := lf + k // sort key names are appended as written, e.g. posttitle
				if i == 0 {
					n = lf + upperFirst(k)
				}
				fks = append(fks, n)
				kf := m.Field(k)
				join.Fields = append(join.Fields, &meta.Field{Name: n, Kind: kf.Kind, Type: kf.Type, Implicit: true})
			}
			join.Indexes = append(join.Indexes, &meta.Index{Name: "by" + m.Name, Fields: fks})
			belongs = append(belongs, &meta.Field{Name: lf, Kind: meta.KindModel, Type: m.Name, Required: true, Implicit: true,
				Relation: &meta.Relation{Kind: meta.BelongsTo, Model: m.Name, TargetNames: fks}})
			other := c
			if side.model == c.model {
				other = a
			}
			side.field.Type = name
			side.field.Relation = &meta.Relation{Kind: meta.HasMany, Model: name, AssociatedWith: []string{lf}, ManyToMany: other.model.Name}
		}
		join.Fields = append(join.Fields, belongs...)
		join.Fields = append(join.Fields,
			&meta.Field{Name: "createdAt", Kind: meta.KindScalar, Type: meta.AWSDateTime, ReadOnly: true, Implicit: true},
			&meta.Field{Name: "updatedAt", Kind: meta.KindScalar, Type: meta.AWSDateTime, ReadOnly: true, Implicit: true})
		join.Auth = append(append([]meta.AuthRule{}, a.model.Auth...), c.model.Auth...)
		b.out.Models = append(b.out.Models, join)
	}
}
