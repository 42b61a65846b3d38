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
	n := m.defaultOperations()
	o := m.Options
	if raw := m.rawArgs(); raw != nil {
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
	n.finish(o.SubscriptionLevel)
	return n
}

// defaultOperations are m's root field names without @model arguments.
func (m *Model) defaultOperations() Operations {
	return Operations{
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
}

// rawArgs is the @model argument object as written (Options.Raw), or nil.
func (m *Model) rawArgs() map[string]json.RawMessage {
	var raw map[string]json.RawMessage
	if m.Options.Raw == "" || json.Unmarshal([]byte(m.Options.Raw), &raw) != nil {
		return nil
	}
	return raw
}

// finish applies subscriptions.level and drops the subscriptions of
// mutations that do not exist.
func (n *Operations) finish(level string) {
	switch level {
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
}

// Operations resolves the root field names of m, a model of s. A v2 API
// follows Model.Operations. A transformer v1 API (s.TransformerV1) follows
// the v1 transformer (graphql-dynamodb-transformer's
// DynamoDBModelTransformer), which does not merge with the defaults:
//
//   - queries (and likewise mutations): absent gives every default; null
//     none; an object, even {}, only the fields it names, under those
//     names (queries: {get: "fetchPost"} has no list query). A key set to
//     null or "" drops its field.
//   - The sync query exists whatever queries says: the v1 transformer adds
//     it to every model once conflict detection is on (DataStore's APIs),
//     queries: null included, and DataStore clients sync every model
//     through it.
//   - subscriptions: absent gives the defaults; null or level off none.
//     An object naming onCreate, onUpdate or onDelete (a list, even an
//     empty one) gives only the subscriptions it lists, the others none
//     (subscriptions: {onCreate: ["postAdded"]} has no update or delete
//     subscription); an object with neither (level public or on alone)
//     gives the defaults. Level public drops the owner arguments, as in
//     v2.
//
// As in v2, a subscription exists only with its mutation: the v1
// transformer would still declare a listed subscription whose mutation is
// off, subscribed to no mutation (it never fires); dsgen leaves it out.
func (s *Schema) Operations(m *Model) Operations {
	if !s.TransformerV1 {
		return m.Operations()
	}
	n := m.defaultOperations()
	o := m.Options
	if raw := m.rawArgs(); raw != nil {
		v1Names(raw["queries"], map[string]*string{"get": &n.Get, "list": &n.List})
		v1Names(raw["mutations"], map[string]*string{"create": &n.Create, "update": &n.Update, "delete": &n.Delete})
		v1Subscriptions(raw["subscriptions"], &n)
	} else {
		// Metadata built without Options.Raw: the maps say which
		// arguments were objects (non-nil) and which names they give.
		v1NamesFromMap(o.Queries, o.QueriesDisabled, map[string]*string{"get": &n.Get, "list": &n.List})
		v1NamesFromMap(o.Mutations, o.MutationsDisabled, map[string]*string{"create": &n.Create, "update": &n.Update, "delete": &n.Delete})
		if o.SubscriptionsDisabled {
			n.OnCreate, n.OnUpdate, n.OnDelete = nil, nil, nil
		}
	}
	n.Sync = "sync" + upperFirst(m.PluralName)
	n.finish(o.SubscriptionLevel)
	return n
}

// v1Names applies a v1 queries or mutations argument to dst: absent keeps
// the defaults, null or an object replaces them (a field exists only when
// the object gives it a non-empty name).
func v1Names(msg json.RawMessage, dst map[string]*string) {
	if msg == nil {
		return
	}
	var obj map[string]json.RawMessage
	_ = json.Unmarshal(msg, &obj) // null (or anything but an object) names nothing
	for k, p := range dst {
		*p = ""
		if v, ok := obj[k]; ok {
			_ = json.Unmarshal(v, p) // null or a non-string leaves ""
		}
	}
}

// v1NamesFromMap is v1Names over ModelOptions' maps.
func v1NamesFromMap(names map[string]string, disabled bool, dst map[string]*string) {
	if names == nil && !disabled {
		return
	}
	for k, p := range dst {
		*p = names[k]
	}
}

// v1Subscriptions applies a v1 subscriptions argument to n (level is
// applied by finish).
func v1Subscriptions(msg json.RawMessage, n *Operations) {
	if msg == nil {
		return
	}
	var obj map[string]json.RawMessage
	if string(msg) == "null" || json.Unmarshal(msg, &obj) != nil {
		n.OnCreate, n.OnUpdate, n.OnDelete = nil, nil, nil
		return
	}
	lists := map[string]*[]string{"onCreate": &n.OnCreate, "onUpdate": &n.OnUpdate, "onDelete": &n.OnDelete}
	custom := false
	for k := range lists {
		if v1Truthy(obj[k]) {
			custom = true
		}
	}
	if !custom {
		return // the defaults
	}
	for _, p := range lists {
		*p = nil
	}
	mergeLists(msg, lists)
}

// v1Truthy reports whether a JSON value is truthy as JavaScript has it,
// which is how the v1 transformer tests its arguments: absent, null, false,
// 0 and "" are not; every array and object is.
func v1Truthy(v json.RawMessage) bool {
	switch string(v) {
	case "", "null", "false", "0", `""`:
		return false
	}
	return true
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
