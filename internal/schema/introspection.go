package schema

import (
	"bytes"
	"encoding/json"

	"github.com/dsgen/dsgen/runtime/meta"
)

// Introspection renders the schema in Amplify's model introspection JSON
// format (version 1), as `amplify codegen models --target introspection`
// writes it: keys in the generator's order, four-space indentation.
func Introspection(s *meta.Schema) ([]byte, error) {
	root := orderedObject{{"version", 1}}
	models := orderedObject{}
	for _, m := range s.Models {
		models = append(models, kv{m.Name, introModel(m, s.TransformerV1)})
	}
	root = append(root, kv{"models", models})
	enums := orderedObject{}
	for _, e := range s.Enums {
		vals := e.Values
		if vals == nil {
			vals = []string{}
		}
		enums = append(enums, kv{e.Name, orderedObject{{"name", e.Name}, {"values", vals}}})
	}
	root = append(root, kv{"enums", enums})
	nonModels := orderedObject{}
	for _, n := range s.NonModels {
		nonModels = append(nonModels, kv{n.Name, orderedObject{{"name", n.Name}, {"fields", introFields(n.Fields)}}})
	}
	root = append(root, kv{"nonModels", nonModels})
	for _, ops := range []struct {
		key  string
		list []*meta.Operation
	}{{"queries", s.Queries}, {"mutations", s.Mutations}, {"subscriptions", s.Subscriptions}} {
		if len(ops.list) == 0 {
			continue
		}
		obj := orderedObject{}
		for _, op := range ops.list {
			o := introType(op.Result, orderedObject{{"name", op.Name}})
			if len(op.Arguments) > 0 {
				args := orderedObject{}
				for _, a := range op.Arguments {
					args = append(args, kv{a.Name, introType(a, orderedObject{{"name", a.Name}})})
				}
				o = append(o, kv{"arguments", args})
			}
			obj = append(obj, kv{op.Name, o})
		}
		root = append(root, kv{ops.key, obj})
	}
	if len(s.Inputs) > 0 {
		obj := orderedObject{}
		for _, in := range s.Inputs {
			attrs := orderedObject{}
			for _, f := range in.Fields {
				attrs = append(attrs, kv{f.Name, introType(f, orderedObject{{"name", f.Name}})})
			}
			obj = append(obj, kv{in.Name, orderedObject{{"name", in.Name}, {"attributes", attrs}}})
		}
		root = append(root, kv{"inputs", obj})
	}
	raw, err := json.Marshal(root)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "    "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// introType writes isArray, type, isRequired (and isArrayNullable for lists)
// after the given leading keys.
func introType(f *meta.Field, o orderedObject) orderedObject {
	o = append(o, kv{"isArray", f.IsList}, kv{"type", introTypeName(f)}, kv{"isRequired", f.Required})
	if f.IsList {
		o = append(o, kv{"isArrayNullable", !f.ListRequired})
	}
	return o
}

func introTypeName(f *meta.Field) any {
	switch f.Kind {
	case meta.KindEnum:
		return orderedObject{{"enum", f.Type}}
	case meta.KindNonModel:
		return orderedObject{{"nonModel", f.Type}}
	case meta.KindModel:
		return orderedObject{{"model", f.Type}}
	case meta.KindInput:
		return orderedObject{{"input", f.Type}}
	}
	return f.Type
}

func introFields(fields []*meta.Field) orderedObject {
	out := orderedObject{}
	for _, f := range fields {
		if f.Hidden {
			continue
		}
		o := orderedObject{{"name", f.Name}, {"isArray", f.IsList}, {"type", introTypeName(f)}, {"isRequired", f.Required}, {"attributes", []any{}}}
		if f.IsList {
			o = append(o, kv{"isArrayNullable", !f.ListRequired})
		}
		if f.ReadOnly {
			o = append(o, kv{"isReadOnly", true})
		}
		if r := f.Relation; r != nil {
			assoc := orderedObject{{"connectionType", r.Kind.String()}}
			switch r.Kind {
			case meta.HasMany:
				assoc = append(assoc, kv{"associatedWith", nonNil(r.AssociatedWith)})
			case meta.HasOne:
				assoc = append(assoc, kv{"associatedWith", nonNil(r.AssociatedWith)}, kv{"targetNames", nonNil(r.TargetNames)})
			case meta.BelongsTo:
				assoc = append(assoc, kv{"targetNames", nonNil(r.TargetNames)})
			}
			o = append(o, kv{"association", assoc})
		}
		out = append(out, kv{f.Name, o})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// introModel writes a model. Its attributes follow Amplify's order: the
// type-level directives as written (@model first unless another precedes
// it), the primary key, the indexes (declared, then implicit), the auth
// rules. With transformer v1 the attributes are the type's directives
// alone: @key is one of them, and @auth comes last.
func introModel(m *meta.Model, v1 bool) orderedObject {
	var attrs []any
	for _, d := range m.Directives {
		attrs = append(attrs, orderedObject{{"type", d.Name}, {"properties", rawOrEmpty(d.Args)}})
	}
	if len(m.Directives) == 0 {
		attrs = append(attrs, orderedObject{{"type", "model"}, {"properties", rawOrEmpty(m.Options.Raw)}})
	}
	if m.PrimaryKey.Custom && !v1 {
		attrs = append(attrs, orderedObject{{"type", "key"}, {"properties", orderedObject{{"fields", m.PrimaryKey.Fields()}}}})
	}
	for _, implicit := range []bool{false, true} {
		if v1 {
			break
		}
		for _, ix := range m.Indexes {
			if ix.Implicit != implicit {
				continue
			}
			props := orderedObject{{"name", ix.Name}}
			if ix.QueryField != "" {
				props = append(props, kv{"queryField", ix.QueryField})
			}
			props = append(props, kv{"fields", ix.Fields})
			attrs = append(attrs, orderedObject{{"type", "key"}, {"properties", props}})
		}
	}
	if len(m.Auth) > 0 && !v1 {
		attrs = append(attrs, orderedObject{{"type", "auth"}, {"properties", orderedObject{{"rules", introAuth(m.Auth)}}}})
	}
	// Amplify counts an @primaryKey on id without sort keys as managed.
	custom := m.PrimaryKey.Custom && (m.PrimaryKey.Field != "id" || len(m.PrimaryKey.SortKeys) > 0)
	return orderedObject{
		{"name", m.Name},
		{"fields", introFields(m.Fields)},
		{"syncable", true},
		{"pluralName", m.PluralName},
		{"attributes", attrs},
		{"primaryKeyInfo", orderedObject{
			{"isCustomPrimaryKey", custom},
			{"primaryKeyFieldName", m.PrimaryKey.Field},
			{"sortKeyFieldNames", nonNil(m.PrimaryKey.SortKeys)},
		}},
	}
}

// introAuth writes auth rules with the keys Amplify's generator writes. A
// groups rule without a groups list also gets groupField "groups" (the
// generator's default for dynamic groups, under the transformer v1 name).
func introAuth(rules []meta.AuthRule) []any {
	var out []any
	for _, r := range rules {
		o := orderedObject{}
		add := func(k, v string) {
			if v != "" {
				o = append(o, kv{k, v})
			}
		}
		switch r.Allow {
		case "owner":
			add("provider", r.Provider)
			add("ownerField", r.OwnerField)
			add("allow", r.Allow)
			add("identityClaim", r.IdentityClaim)
			add("groupClaim", r.GroupClaim)
		case "groups":
			add("groupClaim", r.GroupClaim)
			add("provider", r.Provider)
			add("allow", r.Allow)
			add("ownerField", r.OwnerField)
			add("identityClaim", r.IdentityClaim)
		default:
			add("allow", r.Allow)
			add("provider", r.Provider)
			add("ownerField", r.OwnerField)
			add("identityClaim", r.IdentityClaim)
			add("groupClaim", r.GroupClaim)
		}
		if r.Groups != nil {
			o = append(o, kv{"groups", r.Groups})
		}
		add("groupsField", r.GroupsField)
		if r.Allow == "groups" && r.Groups == nil {
			o = append(o, kv{"groupField", "groups"})
		}
		o = append(o, kv{"operations", nonNil(r.Operations)})
		out = append(out, o)
	}
	return out
}

func rawOrEmpty(raw string) any {
	if raw == "" {
		return orderedObject{}
	}
	return json.RawMessage(raw)
}
