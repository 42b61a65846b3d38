package meta

import (
	"encoding/json"
	"slices"
)

// Operations are a model's root GraphQL field names after its @model
// arguments; an empty name (or an empty list) means the field is not
// generated. dsgen serve builds its API from them and the sync client its
// documents, so both agree on every name.
type Operations struct {
	Get, List, Sync              string
	Create, Update, Delete       string
	OnCreate, OnUpdate, OnDelete []string
	// SubscriptionsPublic is true for subscriptions.level "public": the
	// subscriptions take no auth (owner) arguments.
	SubscriptionsPublic bool
}

// Operations resolves the root field names of m as the Amplify v2
// transformer does: the @model arguments are deep-merged into the defaults
// (transform parameter shouldDeepMergeDirectiveConfigDefaults, on by
// default), so a key left out keeps its default name and a key set to null
// disables that field. A subscription exists only with its mutation.
//
// ModelOptions' maps drop null entries and list values, so the argument
// object is re-read from Options.Raw when present.
func (m *Model) Operations() Operations {
	n := Operations{
		Get:      "get" + upperFirst(m.Name),
		List:     "list" + upperFirst(m.PluralName),
		Sync:     "sync" + upperFirst(m.PluralName),
		Create:   "create" + upperFirst(m.Name),
		Update:   "update" + upperFirst(m.Name),
		Delete:   "delete" + upperFirst(m.Name),
		OnCreate: []string{"onCreate" + upperFirst(m.Name)},
		OnUpdate: []string{"onUpdate" + upperFirst(m.Name)},
		OnDelete: []string{"onDelete" + upperFirst(m.Name)},
	}
	o := m.Options
	var raw map[string]json.RawMessage
	if o.Raw != "" && json.Unmarshal([]byte(o.Raw), &raw) != nil {
		raw = nil
	}
	if raw != nil {
		mergeNames(raw["queries"], map[string]*string{"get": &n.Get, "list": &n.List, "sync": &n.Sync})
		mergeNames(raw["mutations"], map[string]*string{"create": &n.Create, "update": &n.Update, "delete": &n.Delete})
		mergeLists(raw["subscriptions"], map[string]*[]string{"onCreate": &n.OnCreate, "onUpdate": &n.OnUpdate, "onDelete": &n.OnDelete})
	} else {
		if o.QueriesDisabled {
			n.Get, n.List, n.Sync = "", "", ""
		}
		for k, p := range map[string]*string{"get": &n.Get, "list": &n.List} {
			if v, ok := o.Queries[k]; ok && !o.QueriesDisabled {
				*p = v
			}
		}
		if o.MutationsDisabled {
			n.Create, n.Update, n.Delete = "", "", ""
		}
		for k, p := range map[string]*string{"create": &n.Create, "update": &n.Update, "delete": &n.Delete} {
			if v, ok := o.Mutations[k]; ok && !o.MutationsDisabled {
				*p = v
			}
		}
		if o.SubscriptionsDisabled {
			n.OnCreate, n.OnUpdate, n.OnDelete = nil, nil, nil
		}
	}
	switch o.SubscriptionLevel {
	case "off":
		n.OnCreate, n.OnUpdate, n.OnDelete = nil, nil, nil
	case "public":
		n.SubscriptionsPublic = true
	}
	if n.Create == "" {
		n.OnCreate = nil
	}
	if n.Update == "" {
		n.OnUpdate = nil
	}
	if n.Delete == "" {
		n.OnDelete = nil
	}
	return n
}

// Operations resolves the root field names of m, a model of s: as
// Model.Operations does, except that a transformer v1 API (s.TransformerV1)
// has the sync query whatever the queries argument says. The v1
// transformer adds it for every model once conflict detection is on,
// @model(queries: null) included, and DataStore clients sync every model
// through it.
func (s *Schema) Operations(m *Model) Operations {
	n := m.Operations()
	if s.TransformerV1 {
		n.Sync = "sync" + upperFirst(m.PluralName)
	}
	return n
}

// mergeNames merges a JSON object of names (or null) into dst.
func mergeNames(msg json.RawMessage, dst map[string]*string) {
	if msg == nil {
		return
	}
	if string(msg) == "null" {
		for _, p := range dst {
			*p = ""
		}
		return
	}
	var obj map[string]*string
	if json.Unmarshal(msg, &obj) != nil {
		return
	}
	for k, v := range obj {
		if p, ok := dst[k]; ok {
			if v == nil {
				*p = ""
			} else {
				*p = *v
			}
		}
	}
}

// mergeLists merges a JSON object of name lists (or null) into dst. A
// single string is taken as a one-name list.
func mergeLists(msg json.RawMessage, dst map[string]*[]string) {
	if msg == nil {
		return
	}
	if string(msg) == "null" {
		for _, p := range dst {
			*p = nil
		}
		return
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(msg, &obj) != nil {
		return
	}
	for k, v := range obj {
		p, ok := dst[k]
		if !ok {
			continue
		}
		var list []string
		var one string
		switch {
		case string(v) == "null":
			*p = nil
		case json.Unmarshal(v, &list) == nil:
			*p = slices.DeleteFunc(list, func(s string) bool { return s == "" })
		case json.Unmarshal(v, &one) == nil:
			*p = nil
			if one != "" {
				*p = []string{one}
			}
		}
	}
}

// upperFirst upper-cases the first ASCII letter, as Amplify's toUpper does.
func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
