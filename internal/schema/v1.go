package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/meta"
)

// Amplify GraphQL transformer v1 schemas (@key, @connection, @versioned).
//
// A schema is v1 when it uses a v1 directive, as Amplify's generator reads
// it with transformerVersion 1; using v1 and v2 relation or key directives
// together is an error. v1 directives map onto the same metadata as their
// v2 counterparts, so the generated code, the store, the sync engine and
// `dsgen serve` need no v1 knowledge beyond Schema.TransformerV1:
//
//   - @key without a name is the primary key; named @keys are indexes.
//   - @connection becomes a relation whose Keys and RelatedKeys follow the
//     v1 transformer's resolvers: with fields, this model's fields against
//     the related model's primary key or the @key named by keyName; with a
//     name or implicit, a foreign key field the v1 transformer adds to the
//     mutation inputs (keyField, or <model><Field>Id), on the side that is
//     not a list.
//   - The introspection output is what Amplify's v1 generator writes:
//     attributes are the type directives as written, associations carry no
//     field names, and the foreign keys it drops are Hidden.

// v1Directives are the directives only transformer v1 has; v2Directives
// those only v2 has.
var (
	v1Directives = []string{"key", "connection", "versioned"}
	v2Directives = []string{"primaryKey", "index", "hasOne", "hasMany", "belongsTo", "manyToMany", "default"}
)

// v1Prelude declares the transformer v1 directive set, as
// @aws-amplify/graphql-directives defines it (directives/v1), with the AWS
// scalars and the AppSync directives.
const v1Prelude = appsync.Prelude + commonDirectives + `

directive @key(name: String, fields: [String!]!, queryField: String) repeatable on OBJECT
directive @connection(name: String, keyField: String, sortField: String, keyName: String, limit: Int, fields: [String!]) on FIELD_DEFINITION
directive @versioned(versionField: String = "version", versionInput: String = "expectedVersion") on OBJECT

directive @auth(rules: [AuthRule!]!) on OBJECT | FIELD_DEFINITION
input AuthRule {
  allow: AuthStrategy!
  identityField: String
  provider: AuthProvider
  identityClaim: String
  groupClaim: String
  ownerField: String
  groupsField: String
  groups: [String]
  operations: [ModelOperation]
  queries: [ModelQuery]
  mutations: [ModelMutation]
}
enum AuthStrategy { owner groups private public }
enum AuthProvider { apiKey iam oidc userPools }
enum ModelOperation { create update delete read }
enum ModelQuery { get list }
enum ModelMutation { create update delete }

directive @function(name: String!, region: String) repeatable on FIELD_DEFINITION
`

// preludeFor returns the directive definitions of the schema's transformer.
func preludeFor(v1 bool) string {
	if v1 {
		return v1Prelude
	}
	return prelude
}

// refuseV1Custom rejects v1 directives named as custom directives: they
// would be ignored, leaving a model whose key and relations disagree with
// the schema (and with its own introspection).
func refuseV1Custom(opts Options) error {
	var errs []string
	for _, d := range opts.Directives {
		if slices.Contains(v1Directives, d) {
			errs = append(errs, fmt.Sprintf("custom directive %q: @%s is an Amplify transformer v1 directive, which dsgen reads itself; remove it from --directive (or directives in dsgen.yml)", d, d))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("load schema: %s", strings.Join(errs, "; "))
	}
	return nil
}

// detectTransformer reports whether the document uses transformer v1
// directives, and reports an error when it mixes them with v2 ones.
// Directives the schema declares itself are the schema's own, not
// Amplify's.
func detectTransformer(user *ast.SchemaDocument, custom func(string) bool) (v1 bool, errs Errors) {
	var first1, first2 *ast.Directive
	see := func(list ast.DirectiveList) {
		for _, d := range list {
			if user.Directives.ForName(d.Name) != nil || custom(d.Name) {
				continue
			}
			switch {
			case first1 == nil && slices.Contains(v1Directives, d.Name):
				first1 = d
			case first2 == nil && slices.Contains(v2Directives, d.Name):
				first2 = d
			}
		}
	}
	for _, d := range append(append(ast.DefinitionList{}, user.Definitions...), user.Extensions...) {
		see(d.Directives)
		for _, f := range d.Fields {
			see(f.Directives)
		}
	}
	if first1 != nil && first2 != nil {
		// Reported at the later of the two, naming the earlier.
		later, lv, earlier, ev := first2, "v2", first1, "v1"
		if posLess(first2.Position, first1.Position) {
			later, lv, earlier, ev = first1, "v1", first2, "v2"
		}
		return true, Errors{{Pos: posOf(later.Position), Msg: fmt.Sprintf(
			"the schema mixes Amplify transformer v1 and v2 directives: @%s (%s) and @%s (%s, at %s); use one set: v1 @key/@connection/@versioned, or v2 @primaryKey/@index/@hasOne/@hasMany/@belongsTo/@manyToMany",
			later.Name, lv, earlier.Name, ev, posOf(earlier.Position))}}
	}
	return first1 != nil, nil
}

// v1State is the builder's state for a v1 schema.
type v1State struct {
	// conn holds the @connection directive of each model field that has one.
	conn map[*meta.Field]*ast.Directive
}

// modelV1 converts a v1 @model type. It reuses the v2 conversion (fields,
// options, timestamps) and replaces what v1 declares differently: the
// primary key and indexes come from @key, auth rules follow the v1 forms.
func (b *builder) modelV1(d *ast.Definition) *meta.Model {
	m := b.model(d)
	for _, f := range m.Fields {
		if fd := b.fieldDef[f]; fd != nil {
			if cd := fd.Directives.ForName("connection"); cd != nil {
				b.v1.conn[f] = cd
			}
		}
	}

	// @key: the one without a name is the primary key, the others indexes.
	var pk *ast.Directive
	m.Indexes = nil
	for _, kd := range b.typeDirs[d.Name] {
		if kd.Name != "key" {
			continue
		}
		fields := stringsArg(kd, "fields")
		name, named := stringArg(kd, "name")
		if len(fields) == 0 {
			b.errorf(kd.Position, "%s: @key needs fields", d.Name)
			continue
		}
		if !named {
			if pk != nil {
				b.errorf(kd.Position, "%s: a second @key without a name (the first is at %s); a model has one primary key, give secondary keys a name", d.Name, posOf(pk.Position))
				continue
			}
			pk = kd
			continue
		}
		qf, _ := stringArg(kd, "queryField")
		ix := &meta.Index{Name: name, Fields: fields, QueryField: qf}
		b.indexDir[ix] = kd
		m.Indexes = append(m.Indexes, ix)
	}
	if pk != nil {
		fields := stringsArg(pk, "fields")
		b.pkDir[m] = pk
		m.PrimaryKey = meta.PrimaryKey{Field: fields[0], SortKeys: fields[1:], Custom: true}
		if len(m.PrimaryKey.SortKeys) == 0 {
			m.PrimaryKey.SortKeys = nil
		}
		// Amplify adds id (and makes it non-null) only for models keyed by
		// id: undo what the v2 conversion did for a model without one.
		if id := m.Field("id"); id != nil {
			if id.Implicit {
				m.Fields = slices.DeleteFunc(m.Fields, func(f *meta.Field) bool { return f == id })
			} else if fd := b.fieldDef[id]; fd != nil {
				id.Required = fd.Type.NonNull
			}
		}
	}

	b.versioned(d, m)

	// Auth: the v1 rule forms, and the attribute Amplify's generator writes.
	m.Auth = nil
	for _, ad := range d.Directives.ForNames("auth") {
		rules, attr := v1Auth(ad)
		m.Auth = append(m.Auth, rules...)
		m.Directives = append(m.Directives, attr)
	}
	for _, f := range m.Fields {
		if fd := b.fieldDef[f]; fd != nil && fd.Directives.ForName("auth") != nil {
			f.Auth = nil
			for _, ad := range fd.Directives.ForNames("auth") {
				rules, _ := v1Auth(ad)
				f.Auth = append(f.Auth, rules...)
			}
		}
	}
	return m
}

// v1Auth normalises a v1 @auth directive the way Amplify's generator does
// (process-auth): operations default to mutations, then to all four;
// identityField is the old name of identityClaim; groups rules with a
// groupField are dropped. It returns the rules and the model attribute,
// whose keys keep the order the generator's object spreads give them.
func v1Auth(d *ast.Directive) ([]meta.AuthRule, meta.Directive) {
	args := orderedObject{}
	var rules []any
	var out []meta.AuthRule
	for _, a := range d.Arguments {
		if a.Name != "rules" {
			args = append(args, kv{a.Name, untyped(a.Value)})
			continue
		}
		items := a.Value.Children
		if a.Value.Kind == ast.ObjectValue {
			items = ast.ChildValueList{{Value: a.Value}}
		}
		for _, item := range items {
			rule, ok := untyped(item.Value).(orderedObject)
			if !ok {
				continue
			}
			allow, _ := rule.get("allow").(string)
			if allow == "groups" && truthy(rule.get("groupField")) {
				continue
			}
			ops := rule.get("operations")
			if !truthy(ops) {
				ops = rule.get("mutations")
			}
			if !truthy(ops) {
				ops = []any{"create", "update", "delete", "read"}
			}
			claim := rule.get("identityClaim")
			if !truthy(claim) {
				claim = rule.get("identityField")
			}
			if !truthy(claim) {
				claim = "username"
			}
			var o orderedObject
			switch allow {
			case "owner":
				owner := rule.get("ownerField")
				if !truthy(owner) {
					owner = "owner"
				}
				o = orderedObject{{"provider", "userPools"}, {"ownerField", owner}}
				o = o.spread(rule)
				if claim == "username" {
					claim = "cognito:username"
				}
				o = o.set("identityClaim", claim)
				o = o.set("operations", ops)
			case "groups":
				o = orderedObject{{"groupClaim", "cognito:groups"}, {"provider", "userPools"}}
				o = o.spread(rule)
				if truthy(rule.get("groups")) {
					o = o.del("groupField")
				} else {
					gf := rule.get("groupField")
					if !truthy(gf) {
						gf = "groups"
					}
					o = o.set("groupField", gf)
				}
				o = o.set("operations", ops)
			default:
				o = orderedObject{}.spread(rule)
				o = o.set("operations", ops)
			}
			rules = append(rules, o)
			out = append(out, authRuleOf(o))
		}
		args = append(args, kv{"rules", rulesOrEmpty(rules)})
	}
	raw, err := json.Marshal(args)
	if err != nil {
		raw = []byte("{}")
	}
	return out, meta.Directive{Name: "auth", Args: string(raw)}
}

func rulesOrEmpty(r []any) []any {
	if r == nil {
		return []any{}
	}
	return r
}

// authRuleOf reads a normalised rule into metadata.
func authRuleOf(o orderedObject) meta.AuthRule {
	str := func(k string) string { s, _ := o.get(k).(string); return s }
	strs := func(k string) []string {
		l, ok := o.get(k).([]any)
		if !ok {
			return nil
		}
		out := []string{}
		for _, v := range l {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	r := meta.AuthRule{Allow: str("allow"), Provider: str("provider"), OwnerField: str("ownerField"),
		IdentityClaim: str("identityClaim"), GroupClaim: str("groupClaim"), GroupsField: str("groupsField"),
		Groups: strs("groups"), Operations: strs("operations")}
	if r.Allow != "owner" && r.IdentityClaim == "username" {
		r.IdentityClaim = ""
	}
	return r
}

// truthy is JavaScript's truthiness of a JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case bool:
		return x
	case float64:
		return x != 0
	case int64:
		return x != 0
	}
	return true
}

func (o orderedObject) get(k string) any {
	for _, e := range o {
		if e.k == k {
			return e.v
		}
	}
	return nil
}

// set replaces k's value in place, or appends k (JavaScript property
// assignment order).
func (o orderedObject) set(k string, v any) orderedObject {
	for i, e := range o {
		if e.k == k {
			o[i].v = v
			return o
		}
	}
	return append(o, kv{k, v})
}

func (o orderedObject) del(k string) orderedObject {
	return slices.DeleteFunc(o, func(e kv) bool { return e.k == k })
}

// spread is {...o, ...src}.
func (o orderedObject) spread(src orderedObject) orderedObject {
	for _, e := range src {
		o = o.set(e.k, e.v)
	}
	return o
}

// connArgs are the arguments of a @connection directive.
type connArgs struct {
	name, keyName, keyField, sortField string
	fields                             []string
	hasFields                          bool
}

func parseConnArgs(d *ast.Directive) connArgs {
	var c connArgs
	c.name, _ = stringArg(d, "name")
	c.keyName, _ = stringArg(d, "keyName")
	c.keyField, _ = stringArg(d, "keyField")
	c.sortField, _ = stringArg(d, "sortField")
	c.fields = stringsArg(d, "fields")
	c.hasFields = c.fields != nil
	return c
}

// resolveConnections resolves the @connection fields model by model, field
// by field, as Amplify's v1 generator does (process-connections), and
// drops model-typed fields without one.
func (b *builder) resolveConnections() {
	for _, m := range b.out.Models {
		for _, f := range slices.Clone(m.Fields) {
			if d := b.v1.conn[f]; d != nil {
				b.connection(m, f, d)
			}
		}
		kept := m.Fields[:0]
		for _, f := range m.Fields {
			if f.Kind == meta.KindModel && f.Relation == nil {
				if b.v1.conn[f] == nil {
					b.warnf(b.fieldPos(f, b.defPos(m)), "%s.%s: field of model type %s has no @connection and is left out", m.Name, f.Name, f.Type)
				}
				continue
			}
			kept = append(kept, f)
		}
		m.Fields = kept
	}
}

// visible returns the field of m called name that Amplify's generator
// still lists.
func visible(m *meta.Model, name string) *meta.Field {
	if f := m.Field(name); f != nil && !f.Hidden {
		return f
	}
	return nil
}

// connection resolves one @connection field.
func (b *builder) connection(m *meta.Model, f *meta.Field, d *ast.Directive) {
	where := m.Name + "." + f.Name
	if b.isBroken(f) {
		return // its type is unknown, reported already
	}
	if f.Kind != meta.KindModel {
		b.errorf(d.Position, "%s: @connection needs a field whose type is a @model type, and %s is %s", where, f.Type, describeType(f, b.sch))
		return
	}
	x := &v1Conn{m: m, f: f, d: d, other: b.out.Model(f.Type), c: parseConnArgs(d), where: where, implicit: joinCamel(m.Name, f.Name, "id")}
	var ok bool
	if x.oth, x.keyIx, ok = b.connectedField(x); !ok {
		return
	}
	rel, ok := b.connKind(x)
	if !ok || !b.connKeys(x, rel) {
		return
	}
	f.Relation = rel
	connListing(x, rel)
}

// v1Conn is one @connection field being resolved.
type v1Conn struct {
	m     *meta.Model // the model of the field
	f     *meta.Field // the field
	d     *ast.Directive
	other *meta.Model // the connected model
	c     connArgs
	where string // "Model.field", for errors
	// implicit is the foreign key's name when the directive names none.
	implicit string
	oth      *meta.Field // the other side's field, nil when it has none
	keyIx    *meta.Index // the related key the fields match
}

// connectedField finds the other side of the connection as the generator
// does (getConnectedField), with the related key its fields match.
func (b *builder) connectedField(x *v1Conn) (oth *meta.Field, keyIx *meta.Index, ok bool) {
	f, d, c, other, where, implicit := x.f, x.d, x.c, x.other, x.where, x.implicit
	switch {
	case c.hasFields:
		var keyFields []string
		if c.keyName != "" {
			keyIx = declaredIndex(other, c.keyName)
			if keyIx == nil {
				b.errorf(d.Position, "%s: @connection(keyName: %q): %s has no @key named %q", where, c.keyName, other.Name, c.keyName)
				return nil, nil, false
			}
			keyFields = keyIx.Fields
		} else if other.PrimaryKey.Custom {
			keyFields = other.PrimaryKey.Fields()
		}
		connected := "id"
		if len(keyFields) > 0 {
			connected = keyFields[0]
		}
		for _, g := range other.Fields {
			if gd := b.v1.conn[g]; gd != nil {
				if gc := parseConnArgs(gd); len(gc.fields) > 0 && gc.fields[0] == connected {
					oth = g
					break
				}
			}
		}
		if oth == nil {
			oth = visible(other, connected)
		}
		if oth == nil {
			b.errorf(d.Position, "%s: @connection(fields: [%s]): %s has no field %q to connect to", where, quoteList(c.fields), other.Name, connected)
			return nil, nil, false
		}
	case c.name != "":
		for _, g := range other.Fields {
			if gd := b.v1.conn[g]; gd != nil && g != f {
				if n, _ := stringArg(gd, "name"); n == c.name {
					oth = g
					break
				}
			}
		}
		if oth == nil {
			b.errorf(d.Position, "%s: @connection(name: %q) has no other side: %s needs a field with @connection(name: %q)", where, c.name, other.Name, c.name)
			return nil, nil, false
		}
	default:
		oth = visible(other, implicit)
	}
	return oth, keyIx, true
}

// connKind tells the relation's kind from the list-ness and nullability of
// both sides.
func (b *builder) connKind(x *v1Conn) (*meta.Relation, bool) {
	f, d, c, other, oth, where := x.f, x.d, x.c, x.other, x.oth, x.where
	rel := &meta.Relation{Model: other.Name}
	switch {
	case oth == nil && f.IsList, oth != nil && f.IsList && !oth.IsList:
		rel.Kind = meta.HasMany
	case oth == nil, !f.IsList && oth.IsList:
		rel.Kind = meta.BelongsTo
	case !f.IsList && !oth.IsList:
		if f.Required && !oth.Required {
			rel.Kind = meta.BelongsTo
		} else {
			rel.Kind = meta.HasOne
		}
	default:
		b.errorf(d.Position, "%s: @connection between two list fields (%s and %s.%s) is a many-to-many relation, which transformer v1 does not support; connect both models to a join model with one-to-many connections", where, f.Name, other.Name, oth.Name)
		return nil, false
	}
	if rel.Kind == meta.BelongsTo && len(c.fields) > 1 && (oth == nil || oth.IsList) {
		b.errorf(d.Position, "%s: @connection(fields: [%s]) on the single side of a one-to-many connection takes one field", where, quoteList(c.fields))
		return nil, false
	}
	return rel, true
}

// connKeys sets the relation's keys as the v1 transformer's resolvers join
// the records, adding implicit foreign keys and indexes.
func (b *builder) connKeys(x *v1Conn, rel *meta.Relation) bool {
	m, f, d, c, other, oth, keyIx, where, implicit := x.m, x.f, x.d, x.c, x.other, x.oth, x.keyIx, x.where, x.implicit
	switch {
	case c.hasFields:
		if !b.connFieldsExist(where, d.Position, m, c.fields) {
			return false
		}
		related := other.PrimaryKey.Fields()
		if keyIx != nil {
			related = keyIx.Fields
			if f.IsList {
				rel.IndexName = keyIx.Name
			}
		}
		if len(c.fields) == 0 || len(c.fields) > len(related) {
			b.errorf(d.Position, "%s: @connection(fields: [%s]) names %s, but the key of %s it queries has %d (%s)",
				where, quoteList(c.fields), count(len(c.fields), "field"), other.Name, len(related), strings.Join(related, ", "))
			return false
		}
		rel.Keys, rel.RelatedKeys = c.fields, related[:len(c.fields)]
	case f.IsList:
		// One-to-many: the foreign key is on the other (single) side.
		fk := c.keyField
		required := false
		if fk == "" && oth != nil && c.name != "" {
			if oc := parseConnArgs(b.v1.conn[oth]); oc.keyField != "" {
				fk = oc.keyField
			} else {
				fk = joinCamel(other.Name, oth.Name, "id")
			}
			required = oth.Required
		}
		if fk == "" {
			fk = implicit
		}
		b.addForeignKey(other, fk, m, required)
		rel.Keys, rel.RelatedKeys = []string{m.PrimaryKey.Field}, []string{fk}
		ixName := "gsi-" + m.Name + upperFirst(f.Name)
		if c.name != "" {
			ixName = "gsi-" + c.name
		}
		ix := &meta.Index{Name: ixName, Fields: []string{fk}, Implicit: true}
		if c.sortField != "" && other.Field(c.sortField) != nil {
			ix.Fields = append(ix.Fields, c.sortField)
		}
		if other.Index(ixName) == nil {
			other.Indexes = append(other.Indexes, ix)
		}
	default:
		// Single-valued: the foreign key is on this side.
		fk := c.keyField
		if fk == "" {
			fk = implicit
		}
		b.addForeignKey(m, fk, other, f.Required)
		rel.Keys, rel.RelatedKeys = []string{fk}, []string{other.PrimaryKey.Field}
	}
	return true
}

// connListing sets what the generator lists: it adds the other side's
// field of a has-many or has-one (the implicit foreign key of a list), and
// drops this model's target field of a belongs-to unless it is the key.
func connListing(x *v1Conn, rel *meta.Relation) {
	m, c, other, oth, implicit := x.m, x.c, x.other, x.oth, x.implicit
	switch rel.Kind {
	case meta.HasMany, meta.HasOne:
		if oth == nil {
			if g := other.Field(implicit); g != nil {
				g.Hidden = false
			} else {
				other.Fields = append(other.Fields, &meta.Field{Name: implicit, Kind: meta.KindScalar, Type: meta.ID, Implicit: true})
			}
		} else {
			oth.Hidden = false
		}
	case meta.BelongsTo:
		target := implicit
		if len(c.fields) > 0 {
			target = c.fields[0]
		}
		if g := m.Field(target); g != nil && target != m.PrimaryKey.Field {
			g.Hidden = true
		}
	}
}

// addForeignKey adds a v1 connection's foreign key field to m unless m has
// it. The v1 transformer types it ID and adds it to the mutation inputs
// only, so Amplify's generator does not list it.
func (b *builder) addForeignKey(m *meta.Model, name string, related *meta.Model, required bool) {
	if m.Field(name) != nil {
		return
	}
	typ, kind := meta.ID, meta.KindScalar
	if k := related.Field(related.PrimaryKey.Field); k != nil {
		typ, kind = k.Type, k.Kind
	}
	m.Fields = append(m.Fields, &meta.Field{Name: name, Kind: kind, Type: typ, Required: required, Implicit: true, Hidden: true})
}

func (b *builder) connFieldsExist(where string, pos *ast.Position, m *meta.Model, names []string) bool {
	ok := true
	for _, n := range names {
		if m.Field(n) == nil {
			b.errorf(pos, "%s: @connection(fields: [%s]): %s has no field %q", where, quoteList(names), m.Name, n)
			ok = false
		}
	}
	return ok
}

// versioned applies @versioned to m as graphql-versioned-transformer does
// to the API: the version field (versionField, "version" by default) must
// be an Int, and is added as a non-null Int when the type does not declare
// it. Amplify's generator reads the schema as written, so an added field is
// Hidden from the introspection; it is stored, so the generated type and
// the sync engine carry the server's version.
func (b *builder) versioned(d *ast.Definition, m *meta.Model) {
	vd := d.Directives.ForName("versioned")
	if vd == nil {
		return
	}
	name, ok := stringArg(vd, "versionField")
	if !ok {
		name = meta.DefaultVersionField
	}
	input, ok := stringArg(vd, "versionInput")
	if !ok {
		input = meta.DefaultVersionInput
	}
	if name == "" || input == "" {
		b.errorf(vd.Position, "%s: @versioned needs a non-empty versionField and versionInput", d.Name)
		return
	}
	if m.Field(input) != nil {
		b.errorf(vd.Position, "%s: @versioned(versionInput: %q) is also a field of %s; the update and delete inputs cannot hold both", d.Name, input, d.Name)
	}
	f := m.Field(name)
	if f == nil {
		m.Fields = append(m.Fields, &meta.Field{Name: name, Kind: meta.KindScalar, Type: meta.Int, Required: true, Implicit: true, Hidden: true})
		return
	}
	if f.Kind != meta.KindScalar || f.Type != meta.Int || f.IsList {
		pos := vd.Position
		if fd := b.fieldDef[f]; fd != nil {
			pos = fd.Position
		}
		b.errorf(pos, "%s.%s: the @versioned version field must be of type Int (the server counts versions in it)", d.Name, name)
	}
	if slices.Contains(m.PrimaryKey.Fields(), name) {
		b.errorf(vd.Position, "%s: @versioned version field %q is part of the primary key; the server changes it on every write", d.Name, name)
	}
}
