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
		models = append(models, kv{m.Name, introModel(m)})
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
	var typ any = f.Type
	switch f.Kind {
	case meta.KindEnum:
		typ = orderedObject{{"enum", f.Type}}
	case meta.KindNonModel:
		typ = orderedObject{{"nonModel", f.Type}}
	case meta.KindModel:
		typ = orderedObject{{"model", f.Type}}
	}
	o = append(o, kv{"isArray", f.IsList}, kv{"type", typ}, kv{"isRequired", f.Required})
	if f.IsList {
		o = append(o, kv{"isArrayNullable", !f.ListRequired})
	}
	return o
}

func introFields(fields []*meta.Field) orderedObject {
	out := orderedObject{}
	for _, f := range fields {
		o := orderedObject{{"name", f.Name}, {"isArray", f.IsList}}
		t := introType(f, nil)
		o = append(o, t[1:3]...) // type, isRequired
		o = append(o, kv{"attributes", []any{}})
		if f.IsList {
			o = append(o, kv{"isArrayNullable", !f.ListRequired})
		}
		if f.ReadOnly {
			o = append(o, kv{"isReadOnly", true})
		}
		if r := f.Relation; r != nil {
			assoc := orderedObject{{"connectionType", r.Kind.String()}}
			if len(r.AssociatedWith) > 0 {
				assoc = append(assoc, kv{"associatedWith", r.AssociatedWith})
			}
			if len(r.TargetNames) > 0 {
				assoc = append(assoc, kv{"targetNames", r.TargetNames})
			}
			o = append(o, kv{"association", assoc})
		}
		out = append(out, kv{f.Name, o})
	}
	return out
}

func introModel(m *meta.Model) orderedObject {
	attrs := []any{orderedObject{{"type", "model"}, {"properties", rawOrEmpty(m.Options.Raw)}}}
	if m.PrimaryKey.Custom {
		attrs = append(attrs, orderedObject{{"type", "key"}, {"properties", orderedObject{{"fields", m.PrimaryKey.Fields()}}}})
	}
	for _, ix := range m.Indexes {
		props := orderedObject{{"name", ix.Name}, {"fields", ix.Fields}}
		if ix.QueryField != "" {
			props = append(props, kv{"queryField", ix.QueryField})
		}
		attrs = append(attrs, orderedObject{{"type", "key"}, {"properties", props}})
	}
	if len(m.Auth) > 0 {
		attrs = append(attrs, orderedObject{{"type", "auth"}, {"properties", orderedObject{{"rules", introAuth(m.Auth)}}}})
	}
	sk := m.PrimaryKey.SortKeys
	if sk == nil {
		sk = []string{}
	}
	return orderedObject{
		{"name", m.Name},
		{"fields", introFields(m.Fields)},
		{"syncable", true},
		{"pluralName", m.PluralName},
		{"attributes", attrs},
		{"primaryKeyInfo", orderedObject{
			{"isCustomPrimaryKey", m.PrimaryKey.Custom},
			{"primaryKeyFieldName", m.PrimaryKey.Field},
			{"sortKeyFieldNames", sk},
		}},
	}
}

func introAuth(rules []meta.AuthRule) []any {
	var out []any
	for _, r := range rules {
		o := orderedObject{}
		add := func(k, v string) {
			if v != "" {
				o = append(o, kv{k, v})
			}
		}
		add("provider", r.Provider)
		add("ownerField", r.OwnerField)
		add("allow", r.Allow)
		add("identityClaim", r.IdentityClaim)
		add("groupClaim", r.GroupClaim)
		if len(r.Groups) > 0 {
			o = append(o, kv{"groups", r.Groups})
		}
		add("groupsField", r.GroupsField)
		o = append(o, kv{"operations", r.Operations})
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
