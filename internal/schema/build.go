package schema

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dsgen/dsgen/runtime/meta"
)

// builder turns the validated GraphQL document into metadata, recording every
// semantic problem it meets. It follows the steps of Amplify's model
// generator (appsync-modelgen-plugin) in the same order, because the order
// decides the names and positions of the fields and models it adds:
//
//  1. types in source order; each @model gets its primary key (an `id: ID!`
//     when there is no @primaryKey), its timestamps and `id` moved first;
//  2. @primaryKey and @index become key attributes;
//  3. @manyToMany pairs become join models, appended after the models, and
//     their fields become @hasMany relations to the join model;
//  4. relations are resolved model by model, field by field, adding the
//     implicit foreign keys as they are met;
//  5. model-typed fields without a relation directive are dropped.
type builder struct {
	user *ast.SchemaDocument
	sch  *ast.Schema
	opts Options
	errs Errors
	out  *meta.Schema

	// typeDirs holds the type-level directives of each definition as
	// written, including custom transformer directives that were stripped
	// before GraphQL validation.
	typeDirs map[string]ast.DirectiveList

	// Positions of the metadata, for errors raised after construction.
	modelDef map[*meta.Model]*ast.Definition
	modelPos map[*meta.Model]*ast.Position // also join models: their first @manyToMany
	pkDir    map[*meta.Model]*ast.Directive
	indexDir map[*meta.Index]*ast.Directive
	fieldDef map[*meta.Field]*ast.FieldDefinition
	// rel holds the relation directive of each model field that has one;
	// m2m the @manyToMany directives.
	rel map[*meta.Field]*relArgs
	m2m map[*meta.Field]*ast.Directive
	// m2mOther names the model on the other side of a @manyToMany field.
	m2mOther map[*meta.Field]string
	// failed marks relation fields already reported as unusable.
	failed map[*meta.Field]bool
	ops    map[string]bool // root operation type names
	// broken holds fields already reported as unusable before building
	// (unknown type); nothing more is reported about them.
	broken map[*ast.FieldDefinition]bool
	// dropped holds relation directives GraphQL validation rejected: the
	// field stays a failed relation, so its other side still finds it.
	dropped map[*ast.FieldDefinition]*ast.Directive
	// v1 is set for a transformer v1 schema (see v1.go).
	v1 *v1State
}

func newBuilder(user *ast.SchemaDocument, sch *ast.Schema, typeDirs map[string]ast.DirectiveList, opts Options) *builder {
	b := &builder{
		user:     user,
		sch:      sch,
		opts:     opts,
		out:      &meta.Schema{},
		typeDirs: typeDirs,
		modelDef: map[*meta.Model]*ast.Definition{},
		modelPos: map[*meta.Model]*ast.Position{},
		pkDir:    map[*meta.Model]*ast.Directive{},
		indexDir: map[*meta.Index]*ast.Directive{},
		fieldDef: map[*meta.Field]*ast.FieldDefinition{},
		rel:      map[*meta.Field]*relArgs{},
		m2m:      map[*meta.Field]*ast.Directive{},
		m2mOther: map[*meta.Field]string{},
		ops:      map[string]bool{"Query": true, "Mutation": true, "Subscription": true},
	}
	for _, s := range append(append([]*ast.SchemaDefinition{}, user.Schema...), user.SchemaExtension...) {
		for _, op := range s.OperationTypes {
			b.ops[op.Type] = true
		}
	}
	return b
}

func (b *builder) errorf(p *ast.Position, format string, args ...any) {
	b.errs = append(b.errs, &Error{Pos: posOf(p), Msg: fmt.Sprintf(format, args...)})
}

func (b *builder) warnf(p *ast.Position, format string, args ...any) {
	if b.opts.Warn != nil {
		b.opts.Warn(&Error{Pos: posOf(p), Msg: fmt.Sprintf(format, args...)})
	}
}

// skipTypes are types Amplify's generator never outputs: `input AMPLIFY`
// holds global settings such as the sandbox auth rule.
var skipTypes = map[string]bool{"AMPLIFY": true}

// defs returns the user's definitions in source order, with extensions
// folded in by gqlparser (sch holds the merged definition).
func (b *builder) defs() []*ast.Definition {
	seen := map[string]bool{}
	var out []*ast.Definition
	for _, d := range b.user.Definitions {
		if seen[d.Name] || skipTypes[d.Name] {
			continue
		}
		seen[d.Name] = true
		if full := b.sch.Types[d.Name]; full != nil {
			out = append(out, full)
		}
	}
	return out
}

func isModel(d *ast.Definition) bool {
	return d != nil && d.Kind == ast.Object && d.Directives.ForName("model") != nil
}

func (b *builder) build() *meta.Schema {
	for _, d := range b.defs() {
		switch {
		case d.Kind == ast.Enum:
			e := &meta.Enum{Name: d.Name}
			for _, v := range d.EnumValues {
				e.Values = append(e.Values, v.Name)
			}
			b.out.Enums = append(b.out.Enums, e)
		case d.Kind == ast.InputObject:
			in := &meta.Input{Name: d.Name}
			for _, f := range d.Fields {
				in.Fields = append(in.Fields, b.field(d, f))
			}
			b.out.Inputs = append(b.out.Inputs, in)
		case d.Kind == ast.Object && b.ops[d.Name]:
			b.operations(d)
		case isModel(d) && b.v1 != nil:
			b.out.Models = append(b.out.Models, b.modelV1(d))
		case isModel(d):
			b.out.Models = append(b.out.Models, b.model(d))
		case d.Kind == ast.Object:
			nm := &meta.NonModel{Name: d.Name}
			if vd := d.Directives.ForName("versioned"); vd != nil && b.v1 != nil {
				b.errorf(vd.Position, "%s: @versioned is only allowed on @model types, and %s has no @model", d.Name, d.Name)
			}
			for _, f := range d.Fields {
				fld := b.field(d, f)
				if rd := relationDirective(f); rd != nil {
					b.errorf(rd.Position, "%s.%s: @%s is only allowed on @model types, and %s has no @model", d.Name, f.Name, rd.Name, d.Name)
				}
				nm.Fields = append(nm.Fields, fld)
			}
			b.out.NonModels = append(b.out.NonModels, nm)
		}
	}
	if b.v1 != nil {
		b.resolveConnections()
	} else {
		b.resolveRelations()
	}
	b.validate()
	b.out.Version = version(b.out)
	return b.out
}

// operations reads the fields of a root operation type as custom
// operations. Like Amplify, operations returning a union or an interface
// are left out.
func (b *builder) operations(d *ast.Definition) {
	var list *[]*meta.Operation
	switch d.Name {
	case b.opName(ast.Mutation):
		list = &b.out.Mutations
	case b.opName(ast.Subscription):
		list = &b.out.Subscriptions
	default:
		list = &b.out.Queries
	}
	for _, f := range d.Fields {
		if strings.HasPrefix(f.Name, "__") {
			continue // __schema and __type, added by GraphQL itself
		}
		if def := b.sch.Types[f.Type.Name()]; def != nil && (def.Kind == ast.Union || def.Kind == ast.Interface) {
			continue
		}
		op := &meta.Operation{Name: f.Name, Result: b.field(d, f)}
		for _, a := range f.Arguments {
			op.Arguments = append(op.Arguments, b.typeRef(d.Name+"."+f.Name+"("+a.Name+")", a.Name, a.Type, true))
		}
		*list = append(*list, op)
	}
}

func (b *builder) opName(op ast.Operation) string {
	switch op {
	case ast.Mutation:
		if b.sch.Mutation != nil {
			return b.sch.Mutation.Name
		}
		return "Mutation"
	case ast.Subscription:
		if b.sch.Subscription != nil {
			return b.sch.Subscription.Name
		}
		return "Subscription"
	}
	if b.sch.Query != nil {
		return b.sch.Query.Name
	}
	return "Query"
}

// typeRef converts a GraphQL type reference into a field without
// directives. where names the field in messages; inputs allows input types.
func (b *builder) typeRef(where, name string, t *ast.Type, inputs bool) *meta.Field {
	f := &meta.Field{Name: name}
	if t.Elem != nil {
		f.IsList = true
		f.ListRequired = t.NonNull
		if t.Elem.Elem != nil {
			b.errorf(t.Position, "%s: nested lists (%s) are not supported", where, t.String())
		}
		t = t.Elem
		for t.Elem != nil {
			t = t.Elem
		}
	}
	f.Required = t.NonNull
	f.Type = t.NamedType
	def := b.sch.Types[t.NamedType]
	switch {
	case isScalar(t.NamedType):
		f.Kind = meta.KindScalar
	case def != nil && def.Kind == ast.Enum:
		f.Kind = meta.KindEnum
	case isModel(def):
		f.Kind = meta.KindModel
	case def != nil && def.Kind == ast.Object:
		f.Kind = meta.KindNonModel
	case def != nil && def.Kind == ast.InputObject:
		f.Kind = meta.KindInput
		if !inputs {
			b.errorf(t.Position, "%s: input type %s cannot be the type of an object field", where, t.NamedType)
		}
	default:
		kind := "unknown"
		if def != nil {
			kind = strings.ToLower(string(def.Kind))
		}
		b.errorf(t.Position, "%s: type %s is %s %s type, which a stored field cannot hold (use a scalar, enum, non-model type or model)", where, t.NamedType, article(kind), kind)
	}
	return f
}

func article(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an"
	}
	return "a"
}

func isScalar(name string) bool {
	for _, s := range meta.Scalars() {
		if s == name {
			return true
		}
	}
	return false
}

// relationDirective returns the first relation directive of a field.
func relationDirective(fd *ast.FieldDefinition) *ast.Directive {
	for _, d := range fd.Directives {
		if isRelationDirective(d.Name) {
			return d
		}
	}
	return nil
}

func isRelationDirective(name string) bool {
	switch name {
	case "hasOne", "hasMany", "belongsTo", "manyToMany":
		return true
	}
	return false
}

// isBroken reports whether f was already reported as unusable, so checks
// that depend on it would only repeat that problem.
func (b *builder) isBroken(f *meta.Field) bool {
	fd := b.fieldDef[f]
	return fd != nil && (b.broken[fd] || b.dropped[fd] != nil)
}

// field converts a field definition of an object or input type.
func (b *builder) field(parent *ast.Definition, fd *ast.FieldDefinition) *meta.Field {
	where := parent.Name + "." + fd.Name
	f := b.typeRef(where, fd.Name, fd.Type, parent.Kind == ast.InputObject)
	b.fieldDef[f] = fd
	if d := fd.Directives.ForName("default"); d != nil {
		v, ok := stringArg(d, "value")
		if !ok {
			b.errorf(d.Position, "%s: @default needs a value", where)
		} else {
			f.Default = &v
		}
	}
	for _, d := range fd.Directives.ForNames("auth") {
		f.Auth = append(f.Auth, b.authRules(d)...)
	}
	return f
}

// model converts a @model type: fields as declared, the primary key (adding
// `id: ID!` when needed), timestamps and indexes. Relations are resolved
// later, once every model exists.
func (b *builder) model(d *ast.Definition) *meta.Model {
	m := &meta.Model{Name: d.Name, PluralName: plural(d.Name)}
	b.modelDef[m] = d
	b.modelPos[m] = d.Position
	for _, fd := range d.Fields {
		f := b.field(d, fd)
		m.Fields = append(m.Fields, f)
		rd := relationDirective(fd)
		if rd == nil {
			rd = b.dropped[fd]
		}
		if rd != nil {
			if rd.Name == "manyToMany" {
				b.m2m[f] = rd
			} else {
				b.rel[f] = parseRelArgs(rd)
			}
		}
	}
	b.modelOptions(m, d.Directives.ForName("model"))
	for _, td := range b.typeDirs[d.Name] {
		// @renamedFrom is dsgen's own (read by internal/migrate): Amplify's
		// introspection must not list it.
		if td.Name == "auth" || td.Name == "renamedFrom" {
			continue
		}
		m.Directives = append(m.Directives, meta.Directive{Name: td.Name, Args: argsJSON(td.Arguments)})
	}

	// Primary key: the first @primaryKey, else id (added when missing, and
	// made non-null when declared nullable, as Amplify does).
	var pkDef *ast.FieldDefinition
	for _, fd := range d.Fields {
		for _, pd := range fd.Directives.ForNames("primaryKey") {
			if pkDef != nil {
				b.errorf(pd.Position, "%s.%s: a second @primaryKey (the first is on %s); a model has exactly one primary key, use sortKeyFields for a composite key", d.Name, fd.Name, pkDef.Name)
				continue
			}
			pkDef = fd
			b.pkDir[m] = pd
			m.PrimaryKey = meta.PrimaryKey{Field: fd.Name, SortKeys: stringsArg(pd, "sortKeyFields"), Custom: true}
		}
	}
	if pkDef == nil {
		if id := m.Field("id"); id != nil {
			id.Required = true
		} else {
			m.Fields = append([]*meta.Field{{Name: "id", Kind: meta.KindScalar, Type: meta.ID, Required: true, Implicit: true}}, m.Fields...)
		}
		m.PrimaryKey = meta.PrimaryKey{Field: "id"}
	}

	// Timestamps go after the declared fields unless the schema declares
	// them; only the added ones are read-only.
	addTimestamps(m, d.Directives.ForName("model"))

	// id always comes first.
	for i, f := range m.Fields {
		if f.Name == "id" && i > 0 {
			copy(m.Fields[1:i+1], m.Fields[:i])
			m.Fields[0] = f
			break
		}
	}

	// Secondary indexes, in field order.
	for _, fd := range d.Fields {
		for _, id := range fd.Directives.ForNames("index") {
			fields := append([]string{fd.Name}, stringsArg(id, "sortKeyFields")...)
			name, ok := stringArg(id, "name")
			if !ok {
				name = defaultIndexName(d.Name, fields)
			}
			qf, _ := stringArg(id, "queryField")
			ix := &meta.Index{Name: name, Fields: fields, QueryField: qf}
			b.indexDir[ix] = id
			m.Indexes = append(m.Indexes, ix)
		}
	}

	for _, ad := range d.Directives.ForNames("auth") {
		m.Auth = append(m.Auth, b.authRules(ad)...)
	}
	return m
}

// addTimestamps adds the createdAt and updatedAt fields (or their
// @model(timestamps) names) that the model does not declare. Like Amplify,
// `timestamps: null` adds none, and a name given as null or "" falls back
// to the default name.
func addTimestamps(m *meta.Model, d *ast.Directive) {
	created, updated := "createdAt", "updatedAt"
	if d != nil {
		if a := d.Arguments.ForName("timestamps"); a != nil {
			if a.Value == nil || a.Value.Kind == ast.NullValue {
				return
			}
			if c := a.Value.Children.ForName("createdAt"); c != nil && c.Kind == ast.StringValue && c.Raw != "" {
				created = c.Raw
			}
			if u := a.Value.Children.ForName("updatedAt"); u != nil && u.Kind == ast.StringValue && u.Raw != "" {
				updated = u.Raw
			}
		}
	}
	for _, ts := range []string{created, updated} {
		if m.Field(ts) == nil {
			m.Fields = append(m.Fields, &meta.Field{Name: ts, Kind: meta.KindScalar, Type: meta.AWSDateTime, ReadOnly: true, Implicit: true})
		}
	}
}

// modelOptions reads the @model arguments.
func (b *builder) modelOptions(m *meta.Model, d *ast.Directive) {
	opts := &m.Options
	opts.Timestamps = meta.Timestamps{CreatedAt: "createdAt", UpdatedAt: "updatedAt"}
	if d == nil || len(d.Arguments) == 0 {
		return
	}
	for _, a := range d.Arguments {
		v, err := a.Value.Value(nil)
		if err != nil {
			b.errorf(a.Position, "%s: @model(%s): %v", m.Name, a.Name, err)
			continue
		}
		obj, _ := v.(map[string]any)
		switch a.Name {
		case "timestamps":
			if v == nil {
				opts.Timestamps = meta.Timestamps{}
				continue
			}
			opts.Timestamps = meta.Timestamps{CreatedAt: optString(obj, "createdAt", "createdAt"), UpdatedAt: optString(obj, "updatedAt", "updatedAt")}
		case "queries":
			opts.QueriesDisabled = v == nil
			opts.Queries = stringMap(obj)
		case "mutations":
			opts.MutationsDisabled = v == nil
			opts.Mutations = stringMap(obj)
		case "subscriptions":
			opts.SubscriptionsDisabled = v == nil
			opts.Subscriptions = stringMap(obj)
			if lvl, ok := obj["level"].(string); ok {
				opts.SubscriptionLevel = lvl
			}
		}
	}
	// Arguments are kept as written for the introspection output.
	opts.Raw = argsJSON(d.Arguments)
}

// optString reads obj[key]: absent keeps def, null disables (""), else the string.
func optString(obj map[string]any, key, def string) string {
	v, ok := obj[key]
	if !ok {
		return def
	}
	s, _ := v.(string)
	return s
}

func stringMap(obj map[string]any) map[string]string {
	if obj == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range obj {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// argsJSON renders directive arguments as a JSON object that keeps the
// source order of keys, with values as written (enum values as strings).
func argsJSON(args ast.ArgumentList) string {
	o := orderedObject{}
	for _, a := range args {
		o = append(o, kv{a.Name, untyped(a.Value)})
	}
	raw, err := json.Marshal(o)
	if err != nil {
		return "{}"
	}
	return string(raw)
}

// untyped converts a literal to plain JSON values, objects keeping their
// key order (GraphQL's valueFromASTUntyped).
func untyped(v *ast.Value) any {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case ast.ObjectValue:
		o := orderedObject{}
		for _, c := range v.Children {
			o = append(o, kv{c.Name, untyped(c.Value)})
		}
		return o
	case ast.ListValue:
		out := []any{}
		for _, c := range v.Children {
			out = append(out, untyped(c.Value))
		}
		return out
	}
	x, err := v.Value(nil)
	if err != nil {
		return v.Raw
	}
	return x
}

type kv struct {
	k string
	v any
}

// orderedObject is a JSON object whose keys keep insertion order.
type orderedObject []kv

// MarshalJSON writes the object with its keys in order.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	buf := []byte{'{'}
	for i, e := range o {
		if i > 0 {
			buf = append(buf, ',')
		}
		k, _ := json.Marshal(e.k)
		buf = append(buf, k...)
		buf = append(buf, ':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		buf = append(buf, v...)
	}
	return append(buf, '}'), nil
}

// authRules normalises the rules of one @auth directive the way Amplify's
// model generator does (process-auth): operations default to all four,
// owner rules get provider, ownerField and identityClaim, groups rules get
// provider and groupClaim.
func (b *builder) authRules(d *ast.Directive) []meta.AuthRule {
	a := d.Arguments.ForName("rules")
	if a == nil || a.Value == nil {
		return nil
	}
	items := a.Value.Children
	if a.Value.Kind == ast.ObjectValue {
		items = ast.ChildValueList{{Value: a.Value}} // a single rule coerced to a list
	}
	var out []meta.AuthRule
	for _, item := range items {
		if item.Value == nil || item.Value.Kind != ast.ObjectValue {
			continue
		}
		var rule meta.AuthRule
		opsGiven := false
		for _, c := range item.Value.Children {
			switch c.Name {
			case "allow":
				rule.Allow = c.Value.Raw
			case "provider":
				rule.Provider = c.Value.Raw
			case "ownerField":
				rule.OwnerField = c.Value.Raw
			case "identityClaim":
				rule.IdentityClaim = c.Value.Raw
			case "groupClaim":
				rule.GroupClaim = c.Value.Raw
			case "groupsField":
				rule.GroupsField = c.Value.Raw
			case "groups":
				if c.Value.Kind != ast.NullValue {
					rule.Groups = valueStrings(c.Value)
				}
			case "operations":
				if c.Value.Kind != ast.NullValue {
					opsGiven = true
					rule.Operations = valueStrings(c.Value)
				}
			}
		}
		if !opsGiven {
			rule.Operations = []string{"create", "update", "delete", "read"}
		}
		switch rule.Allow {
		case "owner":
			if rule.Provider == "" {
				rule.Provider = "userPools"
			}
			if rule.OwnerField == "" {
				rule.OwnerField = "owner"
			}
			if rule.IdentityClaim == "" || rule.IdentityClaim == "username" {
				rule.IdentityClaim = "cognito:username"
			}
		case "groups":
			if rule.Provider == "" {
				rule.Provider = "userPools"
			}
			if rule.GroupClaim == "" {
				rule.GroupClaim = "cognito:groups"
			}
		}
		out = append(out, rule)
	}
	return out
}

// valueStrings reads a list (or a single value coerced to a list) of
// strings or enum values; the result is never nil.
func valueStrings(v *ast.Value) []string {
	out := []string{}
	if v.Kind != ast.ListValue {
		return append(out, v.Raw)
	}
	for _, c := range v.Children {
		out = append(out, c.Value.Raw)
	}
	return out
}

// stringArg returns a directive's string argument.
func stringArg(d *ast.Directive, name string) (string, bool) {
	a := d.Arguments.ForName(name)
	if a == nil || a.Value == nil || a.Value.Kind == ast.NullValue {
		return "", false
	}
	v, err := a.Value.Value(nil)
	if err != nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// stringsArg returns a directive's list-of-strings argument (nil when the
// argument is absent or null).
func stringsArg(d *ast.Directive, name string) []string {
	a := d.Arguments.ForName(name)
	if a == nil || a.Value == nil || a.Value.Kind == ast.NullValue {
		return nil
	}
	return valueStrings(a.Value)
}
