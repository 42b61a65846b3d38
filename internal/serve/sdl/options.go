package sdl

import (
	"encoding/json"

	"github.com/dsgen/dsgen/runtime/meta"
)

// opNames are a model's root field names after @model(queries, mutations,
// subscriptions); an empty name means the field is not generated.
type opNames struct {
	get, list, sync              string
	create, update, delete       string
	onCreate, onUpdate, onDelete []string
	// subsPublic is true for subscriptions.level "public": no auth
	// arguments on subscriptions.
	subsPublic bool
}

// modelOps resolves the root field names of m. Amplify v2 deep-merges the
// @model arguments into its defaults (transform parameter
// shouldDeepMergeDirectiveConfigDefaults, on by default): a key left out
// keeps its default name and a key set to null disables that field.
//
// meta.ModelOptions drops null entries and list values from its maps, so
// the argument object is re-read from Options.Raw when present.
func modelOps(m *meta.Model) opNames {
	n := opNames{
		get:      "get" + upperFirst(m.Name),
		list:     "list" + upperFirst(m.PluralName),
		sync:     "sync" + upperFirst(m.PluralName),
		create:   "create" + upperFirst(m.Name),
		update:   "update" + upperFirst(m.Name),
		delete:   "delete" + upperFirst(m.Name),
		onCreate: []string{"onCreate" + upperFirst(m.Name)},
		onUpdate: []string{"onUpdate" + upperFirst(m.Name)},
		onDelete: []string{"onDelete" + upperFirst(m.Name)},
	}
	o := m.Options
	var raw map[string]json.RawMessage
	if o.Raw != "" && json.Unmarshal([]byte(o.Raw), &raw) != nil {
		raw = nil
	}
	if raw != nil {
		applyStrings(raw["queries"], map[string]*string{"get": &n.get, "list": &n.list, "sync": &n.sync})
		applyStrings(raw["mutations"], map[string]*string{"create": &n.create, "update": &n.update, "delete": &n.delete})
		applyLists(raw["subscriptions"], map[string]*[]string{"onCreate": &n.onCreate, "onUpdate": &n.onUpdate, "onDelete": &n.onDelete})
	} else {
		if o.QueriesDisabled {
			n.get, n.list, n.sync = "", "", ""
		}
		for k, p := range map[string]*string{"get": &n.get, "list": &n.list} {
			if v, ok := o.Queries[k]; ok && !o.QueriesDisabled {
				*p = v
			}
		}
		if o.MutationsDisabled {
			n.create, n.update, n.delete = "", "", ""
		}
		for k, p := range map[string]*string{"create": &n.create, "update": &n.update, "delete": &n.delete} {
			if v, ok := o.Mutations[k]; ok && !o.MutationsDisabled {
				*p = v
			}
		}
		if o.SubscriptionsDisabled {
			n.onCreate, n.onUpdate, n.onDelete = nil, nil, nil
		}
	}
	switch o.SubscriptionLevel {
	case "off":
		n.onCreate, n.onUpdate, n.onDelete = nil, nil, nil
	case "public":
		n.subsPublic = true
	}
	// A subscription needs its mutation.
	if n.create == "" {
		n.onCreate = nil
	}
	if n.update == "" {
		n.onUpdate = nil
	}
	if n.delete == "" {
		n.onDelete = nil
	}
	return n
}

// applyStrings merges a JSON object of names (or null) into dst.
func applyStrings(msg json.RawMessage, dst map[string]*string) {
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

// applyLists merges a JSON object of name lists (or null) into dst. A
// single string is taken as a one-name list.
func applyLists(msg json.RawMessage, dst map[string]*[]string) {
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
			*p = nonEmpty(list)
		case json.Unmarshal(v, &one) == nil:
			*p = nonEmpty([]string{one})
		}
	}
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// upperFirst upper-cases the first ASCII letter, as Amplify's toUpper does.
func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// lowerFirst lower-cases the first ASCII letter.
func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]-'A'+'a') + s[1:]
}

// camelJoin joins key field names as Amplify's toCamelCase does:
// ["kind", "other"] -> "kindOther".
func camelJoin(words []string) string {
	out := ""
	for i, w := range words {
		if i == 0 {
			out += lowerFirst(w)
		} else {
			out += upperFirst(w)
		}
	}
	return out
}
