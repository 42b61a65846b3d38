package schema

import (
	"sort"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dsgen/dsgen/runtime/meta"
)

// validate checks what GraphQL validation and relation resolution cannot:
// keys, indexes, defaults, relation key types, and names that would clash in
// generated Go code.
func (b *builder) validate() {
	b.checkTypeNames()
	for _, m := range b.out.Models {
		b.checkFields(m.Name, m.Fields, b.defPos(m))
		b.checkKey(m)
		b.checkRelationTypes(m)
		b.checkTimestamps(m)
	}
	for _, n := range b.out.NonModels {
		b.checkFields(n.Name, n.Fields, b.typePos(n.Name))
	}
}

// goClaim is a Go identifier a schema type makes the generator declare.
type goClaim struct {
	what string // e.g. "model Post", "the repository type PostRepo of model Post"
	pos  *ast.Position
}

// checkTypeNames rejects type names the generated package cannot hold:
// reserved names, two types with the same Go name (including a model's
// repository type), two models whose per-model packages would share a
// name.
func (b *builder) checkTypeNames() {
	type entry struct {
		goName string
		claim  goClaim
	}
	var entries []entry
	add := func(goName, what string, pos *ast.Position) {
		entries = append(entries, entry{goName, goClaim{what, pos}})
	}
	reserved := func(kind, name string, pos *ast.Position) {
		if r := reservedTypeName(GoName(name)); r != "" {
			b.errorf(pos, "%s %s: the name is reserved: %s; rename the %s", kind, name, r, kind)
		}
	}
	packages := map[string]goClaim{}
	pkgGo := map[string]string{}
	for _, m := range b.out.Models {
		pos := b.defPos(m)
		what := "model " + m.Name
		if m.JoinModel {
			what = "join model " + m.Name + " (generated for @manyToMany)"
		}
		reserved("model", m.Name, pos)
		switch GoName(m.Name) {
		case "Start", "Stop", "Clear", "Close", "Batch", "Store":
			// DataStore embeds a field per model beside these methods.
			b.errorf(pos, "model %s: the name is reserved: the generated DataStore has a method %s; rename the model", m.Name, GoName(m.Name))
		}
		add(GoName(m.Name), what, pos)
		add(GoName(m.Name)+"Repo", "the repository type "+GoName(m.Name)+"Repo of "+what, pos)
		pkg := strings.ToLower(GoName(m.Name))
		if prev, ok := packages[pkg]; ok && pkgGo[pkg] != GoName(m.Name) {
			first, second := prev, goClaim{what, pos}
			if posLess(second.pos, first.pos) {
				first, second = second, first
			}
			b.errorf(second.pos, "%s: %s and %s would both generate the Go package %q (package names are lower-cased model names); rename one of them", second.what, first.what, second.what, pkg)
		} else if !ok {
			packages[pkg] = goClaim{what, pos}
			pkgGo[pkg] = GoName(m.Name)
		}
	}
	for _, e := range b.out.Enums {
		pos := b.typePos(e.Name)
		reserved("enum", e.Name, pos)
		add(GoName(e.Name), "enum "+e.Name, pos)
		for _, v := range e.Values {
			add(GoName(e.Name)+GoName(v), "the constant "+GoName(e.Name)+GoName(v)+" of enum value "+e.Name+"."+v, pos)
		}
	}
	for _, n := range b.out.NonModels {
		pos := b.typePos(n.Name)
		reserved("type", n.Name, pos)
		add(GoName(n.Name), "type "+n.Name, pos)
	}
	// Report each clash once, at the later declaration.
	sort.SliceStable(entries, func(i, j int) bool { return posLess(entries[i].claim.pos, entries[j].claim.pos) })
	seen := map[string]goClaim{}
	for _, e := range entries {
		if prev, ok := seen[e.goName]; ok {
			if prev.what != e.claim.what {
				b.errorf(e.claim.pos, "%s: its Go name %s clashes with %s; rename one of them", e.claim.what, e.goName, prev.what)
			}
			continue
		}
		seen[e.goName] = e.claim
	}
}

func posLess(a, b *ast.Position) bool {
	pa, pb := posOf(a), posOf(b)
	if pa.File != pb.File {
		return pa.File < pb.File
	}
	if pa.Line != pb.Line {
		return pa.Line < pb.Line
	}
	return pa.Col < pb.Col
}

func (b *builder) typePos(name string) *ast.Position {
	if d := b.sch.Types[name]; d != nil {
		return d.Position
	}
	return nil
}

func (b *builder) defPos(m *meta.Model) *ast.Position {
	return b.modelPos[m]
}

func (b *builder) fieldPos(f *meta.Field, fallback *ast.Position) *ast.Position {
	if fd := b.fieldDef[f]; fd != nil {
		return fd.Position
	}
	return fallback
}

// reservedTypeName explains why a type name cannot be used, or returns "".
func reservedTypeName(goName string) string {
	switch goName {
	case "DataStore", "Tx", "Schema", "SchemaVersion", "Option", "Open", "Repositories":
		return "the generated package declares " + goName
	}
	return ""
}

// checkFields checks field names and @default values of one type.
func (b *builder) checkFields(owner string, fields []*meta.Field, fallback *ast.Position) {
	seen := map[string]*meta.Field{}
	for _, f := range fields {
		pos := b.fieldPos(f, fallback)
		switch f.Name {
		case "_version", "_deleted", "_lastChangedAt":
			// As Amplify: only the sync metadata names are taken; other
			// names starting with _ are fine. GraphQL itself refuses names
			// starting with __ (such as __typename).
			b.errorf(pos, "%s.%s: the name is reserved for sync metadata (_version, _deleted, _lastChangedAt), which the server adds to every model; rename the field", owner, f.Name)
		}
		g := GoName(f.Name)
		if prev, ok := seen[g]; ok {
			why := ""
			if f.Implicit {
				why = " (" + f.Name + " is generated for a relation or as a timestamp)"
			} else if prev.Implicit {
				why = " (" + prev.Name + " is generated for a relation or as a timestamp)"
			}
			b.errorf(pos, "%s.%s: its Go field name %s clashes with field %s%s; rename one of them", owner, f.Name, g, prev.Name, why)
		} else {
			seen[g] = f
		}
		if f.Default != nil && !b.isBroken(f) {
			b.checkDefault(owner, f, pos)
		}
	}
}

// checkTimestamps rejects a declared createdAt or updatedAt (or their
// @model(timestamps) names) that cannot hold a time: the store and the
// server stamp them on every create and update.
func (b *builder) checkTimestamps(m *meta.Model) {
	for _, name := range []string{m.Options.Timestamps.CreatedAt, m.Options.Timestamps.UpdatedAt} {
		f := m.Field(name)
		if name == "" || f == nil || f.ReadOnly || b.isBroken(f) {
			continue
		}
		switch {
		case f.IsList || f.Kind != meta.KindScalar:
		case f.Type == meta.AWSDateTime, f.Type == meta.AWSDate, f.Type == meta.AWSTime, f.Type == meta.AWSTimestamp, f.Type == meta.String:
			continue
		}
		b.errorf(b.fieldPos(f, b.defPos(m)), "%s.%s: a timestamp field must be AWSDateTime, AWSDate, AWSTime, AWSTimestamp or String, and %s is %s; change its type, or give the timestamp another name with @model(timestamps: {...})", m.Name, name, name, describe(f))
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
		bad("is only allowed on scalar and enum fields, and " + f.Name + " is " + describe(f))
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
		if _, e := strconv.ParseInt(v, 10, 32); e != nil {
			bad("does not fit type Int (a 32-bit integer)")
		}
		return
	case meta.Float:
		if _, e := strconv.ParseFloat(v, 64); e != nil {
			bad("does not fit type Float (a number)")
		}
		return
	case meta.Boolean:
		if v != "true" && v != "false" {
			bad("does not fit type Boolean (true or false)")
		}
		return
	case meta.AWSTimestamp:
		if _, e := strconv.ParseInt(v, 10, 64); e != nil {
			bad("does not fit type AWSTimestamp (seconds since the epoch, an integer)")
		}
		return
	case meta.ID, meta.String:
		return
	default:
		err = validateScalar(f.Type, v)
	}
	if err != nil {
		bad("does not fit type " + f.Type + ": " + err.Error())
	}
}

// checkKey checks the primary key and the secondary indexes of a model.
func (b *builder) checkKey(m *meta.Model) {
	mpos := b.defPos(m)
	pkPos := mpos
	if d := b.pkDir[m]; d != nil {
		pkPos = d.Position
	}
	keyField := func(what, arg, name string, required bool, dirPos *ast.Position) {
		f := m.Field(name)
		if f == nil {
			b.errorf(dirPos, "%s: %s names field %q, which %s does not have", m.Name, arg, name, m.Name)
			return
		}
		if b.isBroken(f) {
			return
		}
		fp := b.fieldPos(f, dirPos)
		switch {
		case f.IsList || f.Kind == meta.KindModel || f.Kind == meta.KindNonModel:
			b.errorf(fp, "%s.%s: %s fields must be scalars or enums, and %s is %s", m.Name, name, what, name, describe(f))
		case required && !f.Required:
			b.errorf(fp, "%s.%s: %s fields must be non-null: declare it as %s!", m.Name, name, what, f.Type)
		case f.Type == meta.AWSJSON || f.Type == meta.Boolean:
			b.errorf(fp, "%s.%s: %s fields cannot be %s (DynamoDB keys are strings or numbers)", m.Name, name, what, f.Type)
		}
	}
	keyField("primary key", "@primaryKey", m.PrimaryKey.Field, true, pkPos)
	seen := map[string]bool{m.PrimaryKey.Field: true}
	for _, sk := range m.PrimaryKey.SortKeys {
		if seen[sk] {
			b.errorf(pkPos, "%s: @primaryKey(sortKeyFields) names %q twice or repeats the key field", m.Name, sk)
			continue
		}
		seen[sk] = true
		keyField("primary key sort key", "@primaryKey(sortKeyFields)", sk, true, pkPos)
	}
	names := map[string]bool{}
	for _, ix := range m.Indexes {
		pos := mpos
		if d := b.indexDir[ix]; d != nil {
			pos = d.Position
		}
		if names[ix.Name] {
			b.errorf(pos, "%s: duplicate index name %q; index names must be unique within a model", m.Name, ix.Name)
		}
		names[ix.Name] = true
		seen := map[string]bool{}
		for _, f := range ix.Fields {
			if seen[f] {
				b.errorf(pos, "%s: index %q names field %q twice", m.Name, ix.Name, f)
				continue
			}
			seen[f] = true
			arg := "@index(name: " + strconv.Quote(ix.Name) + ")"
			if ix.Implicit {
				arg = "the index " + strconv.Quote(ix.Name) + " generated for a @hasMany"
			}
			keyField("index "+strconv.Quote(ix.Name), arg, f, false, pos)
		}
	}
}

// checkRelationTypes checks that the fields a relation pairs hold values
// of the same kind, so related records can be found.
func (b *builder) checkRelationTypes(m *meta.Model) {
	if m.JoinModel {
		return // Amplify types the join model's key fields ID whatever the key type
	}
	for _, f := range m.Fields {
		r := f.Relation
		if r == nil || r.ManyToMany != "" {
			continue
		}
		other := b.out.Model(r.Model)
		ra := b.rel[f]
		if other == nil || ra == nil {
			continue
		}
		for i := range r.Keys {
			lf, rf := m.Field(r.Keys[i]), other.Field(r.RelatedKeys[i])
			if lf == nil || rf == nil || b.isBroken(lf) || b.isBroken(rf) {
				continue
			}
			if keyClass(lf) != keyClass(rf) {
				b.errorf(ra.pos, "%s.%s: @%s pairs %s.%s (%s) with %s.%s (%s), which cannot hold the same values",
					m.Name, f.Name, ra.name, m.Name, lf.Name, lf.Type, other.Name, rf.Name, rf.Type)
			}
		}
	}
}

// keyClass groups types whose values can match as keys.
func keyClass(f *meta.Field) string {
	switch {
	case f.Kind == meta.KindEnum:
		return "enum " + f.Type
	case f.Type == meta.Int || f.Type == meta.Float || f.Type == meta.AWSTimestamp:
		return "number"
	case f.Type == meta.Boolean:
		return "bool"
	}
	return "string"
}

func describe(f *meta.Field) string {
	switch {
	case f.IsList:
		return "a list"
	case f.Kind == meta.KindModel:
		return "a model (" + f.Type + ")"
	case f.Kind == meta.KindNonModel:
		return "a non-model type (" + f.Type + ")"
	}
	return "a " + f.Kind.String()
}
