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
// semantic problem it meets.
type builder struct {
	user *ast.SchemaDocument
	sch  *ast.Schema
	errs Errors
	out  *meta.Schema

	// Positions of the metadata, for errors raised after construction.
	modelDef map[*meta.Model]*ast.Definition
	fieldDef map[*meta.Field]*ast.FieldDefinition
	ops      map[string]bool // root operation type names
}

func newBuilder(user *ast.SchemaDocument, sch *ast.Schema) *builder {
	b := &builder{
		user:     user,
		sch:      sch,
		out:      &meta.Schema{},
		modelDef: map[*meta.Model]*ast.Definition{},
		fieldDef: map[*meta.Field]*ast.FieldDefinition{},
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

// defs returns the user's definitions in source order, with extensions
// folded in by gqlparser (sch holds the merged definition).
func (b *builder) defs() []*ast.Definition {
	seen := map[string]bool{}
	var out []*ast.Definition
	for _, d := range b.user.Definitions {
		if seen[d.Name] {
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
	defs := b.defs()
	for _, d := range defs {
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
				op := &meta.Operation{Name: f.Name, Result: b.field(d, f)}
				for _, a := range f.Arguments {
					op.Arguments = append(op.Arguments, b.typeRef(a.Name, a.Type, a.Position))
				}
				*list = append(*list, op)
			}
		case isModel(d):
			b.out.Models = append(b.out.Models, b.model(d))
		case d.Kind == ast.Object:
			nm := &meta.NonModel{Name: d.Name}
			for _, f := range d.Fields {
				fld := b.field(d, f)
				if fld.Relation != nil {
					b.errorf(f.Position, "%s.%s: relation directives are only allowed on @model types, and %s has no @model", d.Name, f.Name, d.Name)
				}
				nm.Fields = append(nm.Fields, fld)
			}
			b.out.NonModels = append(b.out.NonModels, nm)
		}
	}
	b.resolveRelations()
	b.validate()
	b.out.Version = version(b.out)
	return b.out
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

// typeRef converts a GraphQL type reference into a field without directives.
func (b *builder) typeRef(name string, t *ast.Type, pos *ast.Position) *meta.Field {
	f := &meta.Field{Name: name}
	if t.Elem != nil {
		f.IsList = true
		f.ListRequired = t.NonNull
		if t.Elem.Elem != nil {
			b.errorf(t.Position, "field %s: nested lists (%s) are not supported", name, t.String())
		}
		t = t.Elem
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
		f.Kind = meta.KindNonModel // only valid in arguments and inputs; checked by field()
	default:
		kind := "unknown"
		if def != nil {
			kind = strings.ToLower(string(def.Kind))
		}
		b.errorf(t.Position, "field %s: type %s is a %s type, which a model field cannot hold (use a scalar, enum, non-model type or model)", name, t.NamedType, kind)
	}
	return f
}

func isScalar(name string) bool {
	for _, s := range meta.Scalars() {
		if s == name {
			return true
		}
	}
	return false
}

// field converts a field definition of an object or input type.
func (b *builder) field(parent *ast.Definition, fd *ast.FieldDefinition) *meta.Field {
	f := b.typeRef(fd.Name, fd.Type, fd.Position)
	b.fieldDef[f] = fd
	def := b.sch.Types[f.Type]
	if parent.Kind != ast.InputObject && def != nil && def.Kind == ast.InputObject {
		b.errorf(fd.Type.Position, "%s.%s: input type %s cannot be the type of an object field", parent.Name, fd.Name, f.Type)
	}
	if d := fd.Directives.ForName("default"); d != nil {
		v, ok := stringArg(d, "value")
		if !ok {
			b.errorf(d.Position, "%s.%s: @default needs a value", parent.Name, fd.Name)
		} else {
			f.Default = &v
		}
	}
	for _, d := range fd.Directives.ForNames("auth") {
		f.Auth = append(f.Auth, b.authRules(d)...)
	}
	return f
}

// model converts a @model type: fields as declared, then the implicit id,
// timestamps, primary key and indexes. Relations are resolved later, once
// every model exists.
func (b *builder) model(d *ast.Definition) *meta.Model {
	m := &meta.Model{Name: d.Name, PluralName: plural(d.Name)}
	b.modelDef[m] = d
	for _, fd := range d.Fields {
		m.Fields = append(m.Fields, b.field(d, fd))
	}
	b.modelOptions(m, d.Directives.ForName("model"))

	// Primary key.
	var pkDef *ast.FieldDefinition
	for _, fd := range d.Fields {
		if pd := fd.Directives.ForName("primaryKey"); pd != nil {
			if pkDef != nil {
				b.errorf(pd.Position, "%s: more than one @primaryKey (%s and %s); a model has exactly one primary key", d.Name, pkDef.Name, fd.Name)
				continue
			}
			pkDef = fd
			m.PrimaryKey = meta.PrimaryKey{Field: fd.Name, SortKeys: stringsArg(pd, "sortKeyFields"), Custom: true}
		}
	}
	if pkDef == nil {
		if m.Field("id") == nil {
			id := &meta.Field{Name: "id", Kind: meta.KindScalar, Type: meta.ID, Required: true, Implicit: true}
			m.Fields = append([]*meta.Field{id}, m.Fields...)
		}
		m.PrimaryKey = meta.PrimaryKey{Field: "id"}
	}

	// Secondary indexes, in field order.
	for _, fd := range d.Fields {
		for _, id := range fd.Directives.ForNames("index") {
			name, _ := stringArg(id, "name")
			qf, _ := stringArg(id, "queryField")
			if name == "" {
				name = "by" + upperFirst(fd.Name) // TODO: confirm Amplify's generated index name
			}
			m.Indexes = append(m.Indexes, &meta.Index{
				Name:       name,
				Fields:     append([]string{fd.Name}, stringsArg(id, "sortKeyFields")...),
				QueryField: qf,
			})
		}
	}

	// Timestamps go after the declared fields unless declared by the user.
	for _, ts := range []string{m.Options.Timestamps.CreatedAt, m.Options.Timestamps.UpdatedAt} {
		if ts == "" {
			continue
		}
		if f := m.Field(ts); f != nil {
			f.ReadOnly = true
			continue
		}
		m.Fields = append(m.Fields, &meta.Field{Name: ts, Kind: meta.KindScalar, Type: meta.AWSDateTime, ReadOnly: true, Implicit: true})
	}

	for _, ad := range d.Directives.ForNames("auth") {
		m.Auth = append(m.Auth, b.authRules(ad)...)
	}
	return m
}

// modelOptions reads the @model arguments.
func (b *builder) modelOptions(m *meta.Model, d *ast.Directive) {
	opts := &m.Options
	opts.Timestamps = meta.Timestamps{CreatedAt: "createdAt", UpdatedAt: "updatedAt"}
	if d == nil || len(d.Arguments) == 0 {
		return
	}
	raw := map[string]any{}
	for _, a := range d.Arguments {
		v, err := a.Value.Value(nil)
		if err != nil {
			b.errorf(a.Position, "%s: @model(%s): %v", m.Name, a.Name, err)
			continue
		}
		raw[a.Name] = v
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
	rawJSON, err := json.Marshal(orderedArgs(d.Arguments, raw))
	if err == nil {
		opts.Raw = string(rawJSON)
	}
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

// orderedArgs returns the directive arguments as a JSON object that keeps the
// source order of keys.
func orderedArgs(args ast.ArgumentList, vals map[string]any) json.Marshaler {
	o := orderedObject{}
	for _, a := range args {
		o = append(o, kv{a.Name, orderValue(a.Value, vals[a.Name])})
	}
	return o
}

func orderValue(v *ast.Value, plain any) any {
	if v == nil || v.Kind != ast.ObjectValue {
		return plain
	}
	o := orderedObject{}
	m, _ := plain.(map[string]any)
	for _, c := range v.Children {
		o = append(o, kv{c.Name, orderValue(c.Value, m[c.Name])})
	}
	return o
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
// model generator does: provider, ownerField, identityClaim and groupClaim
// defaulted, operations expanded.
func (b *builder) authRules(d *ast.Directive) []meta.AuthRule {
	a := d.Arguments.ForName("rules")
	if a == nil {
		return nil
	}
	v, err := a.Value.Value(nil)
	if err != nil {
		b.errorf(a.Position, "@auth: %v", err)
		return nil
	}
	list, _ := v.([]any)
	var out []meta.AuthRule
	for _, item := range list {
		r, _ := item.(map[string]any)
		rule := meta.AuthRule{
			Allow:         str(r["allow"]),
			Provider:      str(r["provider"]),
			OwnerField:    str(r["ownerField"]),
			IdentityClaim: str(r["identityClaim"]),
			GroupClaim:    str(r["groupClaim"]),
			GroupsField:   str(r["groupsField"]),
		}
		for _, g := range asList(r["groups"]) {
			rule.Groups = append(rule.Groups, str(g))
		}
		for _, o := range asList(r["operations"]) {
			rule.Operations = append(rule.Operations, str(o))
		}
		normaliseAuth(&rule)
		out = append(out, rule)
	}
	return out
}

func normaliseAuth(r *meta.AuthRule) {
	switch r.Allow {
	case "owner":
		if r.Provider == "" {
			r.Provider = "userPools"
		}
		if r.OwnerField == "" {
			r.OwnerField = "owner"
		}
		if r.IdentityClaim == "" {
			r.IdentityClaim = "cognito:username"
		}
	case "groups":
		if r.Provider == "" {
			r.Provider = "userPools"
		}
		if r.GroupClaim == "" {
			r.GroupClaim = "cognito:groups"
		}
	case "private":
		if r.Provider == "" {
			r.Provider = "userPools"
		}
	case "public":
		if r.Provider == "" {
			r.Provider = "apiKey"
		}
	case "custom":
		if r.Provider == "" {
			r.Provider = "function"
		}
	}
	if len(r.Operations) == 0 {
		r.Operations = []string{"create", "update", "delete", "read"}
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	default:
		return []any{x} // GraphQL input coercion: a single value is a one-element list
	}
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

// stringsArg returns a directive's list-of-strings argument.
func stringsArg(d *ast.Directive, name string) []string {
	a := d.Arguments.ForName(name)
	if a == nil {
		return nil
	}
	v, err := a.Value.Value(nil)
	if err != nil {
		return nil
	}
	var out []string
	for _, x := range asList(v) {
		out = append(out, str(x))
	}
	return out
}

// plural is Amplify's pluralisation with improvePluralization=false.
func plural(name string) string {
	switch {
	case strings.HasSuffix(name, "s") || strings.HasSuffix(name, "x") || strings.HasSuffix(name, "z") ||
		strings.HasSuffix(name, "ch") || strings.HasSuffix(name, "sh"):
		return name + "es"
	case strings.HasSuffix(name, "y") && len(name) > 1 && !strings.ContainsRune("aeiou", rune(name[len(name)-2])):
		return name[:len(name)-1] + "ies"
	}
	return name + "s"
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
