package client

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dsgen/dsgen/runtime/meta"
)

// ModelDocs are the GraphQL documents the sync engine sends for one model,
// written exactly as the Amplify JS DataStore client writes them (and
// printed as graphql-js prints them), so a server sees the same requests
// from a Go client as from a JS one.
//
// The selection set lists, in this order: the model's scalar and enum
// fields in schema order (timestamps and foreign keys included), the
// implicit "owner" field under an owner rule that uses it without declaring
// it, non-model fields with their sub-selections, "_version _lastChangedAt
// _deleted", and every belongsTo field as "<field> { <related key fields>
// _deleted }". hasOne and hasMany fields are not selected, as in the JS
// client.
//
// An operation the model's @model arguments disable has an empty document
// and field name.
type ModelDocs struct {
	// Model is the model the documents are for.
	Model *meta.Model

	// Sync takes $limit, $nextToken, $lastSync and $filter.
	Sync string
	// Get takes the primary key fields as variables of the same names.
	Get string
	// Create takes $input; Update and Delete take $input and $condition.
	Create, Update, Delete string
	// OnCreate, OnUpdate and OnDelete take no arguments.
	OnCreate, OnUpdate, OnDelete string
	// OnCreateOwner, OnUpdateOwner and OnDeleteOwner take the owner as the
	// variable named by OwnerField, as the JS client sends them under owner
	// auth; they are empty when OwnerField is.
	OnCreateOwner, OnUpdateOwner, OnDeleteOwner string

	// Root field names, honouring PluralName and @model renames
	// ("syncPosts", "createPost", "onCreatePost", ...).
	SyncField, GetField, CreateField, UpdateField, DeleteField string
	OnCreateField, OnUpdateField, OnDeleteField                string

	// OwnerField is the owner field the JS client passes to subscriptions
	// of this model: that of the first owner rule that guards reads, when
	// the field holds one owner (not a list) and subscriptions are not
	// public. Whether the caller must pass it depends on its identity (a
	// member of an allowed group need not), so the engine picks between
	// OnCreate and OnCreateOwner.
	OwnerField string

	selection []node
}

// Documents builds the documents of model m of schema s.
func Documents(s *meta.Schema, m *meta.Model) (*ModelDocs, error) {
	if s == nil || m == nil {
		return nil, fmt.Errorf("appsync client: Documents needs a schema and a model")
	}
	if s.Model(m.Name) != m {
		return nil, fmt.Errorf("appsync client: model %q is not a model of the schema", m.Name)
	}
	sel, err := selection(s, m)
	if err != nil {
		return nil, err
	}
	d := &ModelDocs{Model: m, selection: sel}
	n := opNames(s, m)
	d.SyncField, d.GetField = n.sync, n.get
	d.CreateField, d.UpdateField, d.DeleteField = n.create, n.update, n.delete
	d.OnCreateField, d.OnUpdateField, d.OnDeleteField = n.onCreate, n.onUpdate, n.onDelete
	if !n.subsPublic {
		d.OwnerField = subscriptionOwner(m)
	}

	if n.sync != "" {
		d.Sync = printOp("query", []string{"$limit: Int", "$nextToken: String", "$lastSync: AWSTimestamp",
			"$filter: Model" + m.Name + "FilterInput"},
			node{name: n.sync, args: []string{"limit: $limit", "nextToken: $nextToken", "lastSync: $lastSync", "filter: $filter"},
				sel: []node{{name: "items", sel: sel}, {name: "nextToken"}, {name: "startedAt"}}})
	}
	if n.get != "" {
		var vars, args []string
		for _, k := range m.PrimaryKey.Fields() {
			f := m.Field(k)
			if f == nil {
				return nil, fmt.Errorf("appsync client: model %s: primary key field %q is not a field of the model", m.Name, k)
			}
			vars = append(vars, "$"+k+": "+f.Type+"!")
			args = append(args, k+": $"+k)
		}
		d.Get = printOp("query", vars, node{name: n.get, args: args, sel: sel})
	}
	if n.create != "" {
		d.Create = printOp("mutation", []string{"$input: Create" + m.Name + "Input!"},
			node{name: n.create, args: []string{"input: $input"}, sel: sel})
	}
	for _, mu := range []struct {
		field, input string
		dst          *string
	}{{n.update, "Update", &d.Update}, {n.delete, "Delete", &d.Delete}} {
		if mu.field == "" {
			continue
		}
		*mu.dst = printOp("mutation", []string{"$input: " + mu.input + m.Name + "Input!", "$condition: Model" + m.Name + "ConditionInput"},
			node{name: mu.field, args: []string{"input: $input", "condition: $condition"}, sel: sel})
	}
	for _, su := range []struct {
		field       string
		plain, ownr *string
	}{{n.onCreate, &d.OnCreate, &d.OnCreateOwner}, {n.onUpdate, &d.OnUpdate, &d.OnUpdateOwner}, {n.onDelete, &d.OnDelete, &d.OnDeleteOwner}} {
		if su.field == "" {
			continue
		}
		*su.plain = d.Subscription(su.field, false, "")
		if d.OwnerField != "" {
			*su.ownr = d.Subscription(su.field, false, d.OwnerField)
		}
	}
	return d, nil
}

// Subscription returns the document of subscription field (OnCreateField,
// OnUpdateField or OnDeleteField) with a $filter argument of type
// ModelSubscription<Model>FilterInput when filter is true (selective sync)
// and a required $<ownerField> argument when ownerField is not empty, in
// the JS client's order.
func (d *ModelDocs) Subscription(field string, filter bool, ownerField string) string {
	var vars, args []string
	if filter {
		vars = append(vars, "$filter: ModelSubscription"+d.Model.Name+"FilterInput")
		args = append(args, "filter: $filter")
	}
	if ownerField != "" {
		vars = append(vars, "$"+ownerField+": String!")
		args = append(args, ownerField+": $"+ownerField)
	}
	return printOp("subscription", vars, node{name: field, args: args, sel: d.selection})
}

// node is one field of a selection set.
type node struct {
	name string
	args []string
	sel  []node
}

// maxLineLength is graphql-js print's limit for a field's argument list on
// one line.
const maxLineLength = 80

// printOp writes an operation named "operation" as graphql-js print does:
// two-space indentation, arguments on one line unless that line would be
// longer than 80 characters, and a trailing newline.
func printOp(op string, vars []string, root node) string {
	var b strings.Builder
	b.WriteString(op)
	b.WriteString(" operation")
	if len(vars) > 0 {
		b.WriteString("(" + strings.Join(vars, ", ") + ")")
	}
	b.WriteString(" {\n")
	writeNode(&b, root, "  ")
	b.WriteString("\n}\n")
	return b.String()
}

func writeNode(b *strings.Builder, n node, indent string) {
	b.WriteString(indent)
	b.WriteString(n.name)
	if len(n.args) > 0 {
		if line := n.name + "(" + strings.Join(n.args, ", ") + ")"; len(line) <= maxLineLength {
			b.WriteString(line[len(n.name):])
		} else {
			b.WriteString("(\n")
			for _, a := range n.args {
				b.WriteString(indent + "  " + a + "\n")
			}
			b.WriteString(indent + ")")
		}
	}
	if len(n.sel) == 0 {
		return
	}
	b.WriteString(" {\n")
	for i, c := range n.sel {
		if i > 0 {
			b.WriteString("\n")
		}
		writeNode(b, c, indent+"  ")
	}
	b.WriteString("\n" + indent + "}")
}

// selection builds a model's selection set (see ModelDocs).
func selection(s *meta.Schema, m *meta.Model) ([]node, error) {
	var out []node
	for _, f := range m.Fields {
		if f.Kind == meta.KindScalar || f.Kind == meta.KindEnum {
			out = append(out, node{name: f.Name})
		}
	}
	if m.Field("owner") == nil && slices.Contains(firstOwnerFields(m), "owner") {
		out = append(out, node{name: "owner"})
	}
	for _, f := range m.Fields {
		if f.Kind != meta.KindNonModel {
			continue
		}
		sub, err := nonModelSelection(s, m.Name+"."+f.Name, f.Type, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, node{name: f.Name, sel: sub})
	}
	out = append(out, node{name: "_version"}, node{name: "_lastChangedAt"}, node{name: "_deleted"})
	for _, f := range m.Fields {
		r := f.Relation
		if f.Kind != meta.KindModel || r == nil || r.Kind != meta.BelongsTo || len(r.TargetNames) == 0 {
			continue
		}
		rel := s.Model(r.Model)
		if rel == nil {
			return nil, fmt.Errorf("appsync client: %s.%s: belongsTo names model %q, which the schema does not have", m.Name, f.Name, r.Model)
		}
		var sub []node
		for _, k := range rel.PrimaryKey.Fields() {
			sub = append(sub, node{name: k})
		}
		out = append(out, node{name: f.Name, sel: append(sub, node{name: "_deleted"})})
	}
	return out, nil
}

// nonModelSelection selects a non-model type's scalar and enum fields, then
// its non-model fields recursively. seen guards against a type that
// contains itself, which no finite selection set can cover.
func nonModelSelection(s *meta.Schema, where, typ string, seen []string) ([]node, error) {
	nm := s.NonModel(typ)
	if nm == nil {
		return nil, fmt.Errorf("appsync client: %s: non-model type %q is not in the schema", where, typ)
	}
	if slices.Contains(seen, typ) {
		return nil, fmt.Errorf("appsync client: %s: non-model type %q contains itself; no selection set can cover it", where, typ)
	}
	seen = append(seen, typ)
	var out []node
	for _, f := range nm.Fields {
		if f.Kind == meta.KindScalar || f.Kind == meta.KindEnum {
			out = append(out, node{name: f.Name})
		}
	}
	for _, f := range nm.Fields {
		if f.Kind != meta.KindNonModel {
			continue
		}
		sub, err := nonModelSelection(s, where+"."+f.Name, f.Type, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, node{name: f.Name, sel: sub})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("appsync client: %s: non-model type %q has no fields to select", where, typ)
	}
	return out, nil
}

// firstOwnerFields returns the owner field of the model's first owner rule,
// as the JS client's getOwnerFields does with the one @auth attribute.
func firstOwnerFields(m *meta.Model) []string {
	for _, r := range m.Auth {
		if r.Allow == "owner" {
			return []string{ownerFieldOf(r)}
		}
	}
	return nil
}

func ownerFieldOf(r meta.AuthRule) string {
	if r.OwnerField == "" {
		return "owner"
	}
	return r.OwnerField
}

// subscriptionOwner returns the owner argument the JS client passes to m's
// subscriptions, or "". Rules without read leave subscriptions public.
func subscriptionOwner(m *meta.Model) string {
	for _, r := range m.Auth {
		if r.Allow != "owner" {
			continue
		}
		if len(r.Operations) > 0 && !slices.Contains(r.Operations, "read") && !slices.Contains(r.Operations, "listen") {
			continue
		}
		of := ownerFieldOf(r)
		if f := m.Field(of); f != nil && f.IsList {
			continue
		}
		return of
	}
	return ""
}

// names are a model's root field names; "" means not generated.
type names struct {
	get, sync, create, update, delete string
	onCreate, onUpdate, onDelete      string
	subsPublic                        bool
}

// opNames takes the root field names of m, a model of s, from the
// metadata (the rules dsgen serve builds its API with); a subscription
// renamed to a list of names uses the first.
func opNames(s *meta.Schema, m *meta.Model) names {
	o := s.Operations(m)
	first := func(l []string) string {
		if len(l) == 0 {
			return ""
		}
		return l[0]
	}
	return names{
		get: o.Get, sync: o.Sync, create: o.Create, update: o.Update, delete: o.Delete,
		onCreate: first(o.OnCreate), onUpdate: first(o.OnUpdate), onDelete: first(o.OnDelete),
		subsPublic: o.SubscriptionsPublic,
	}
}
