package dynamo

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/meta"
)

// The attributes AppSync keeps beside a model's fields (versioned data
// sources) and the ones of its delta sync table.
const (
	attrTypename    = "__typename"
	attrVersion     = "_version"
	attrLastChanged = "_lastChangedAt"
	attrDeleted     = "_deleted"
	attrTTL         = "_ttl"
	attrDeltaPK     = "ds_pk"
	attrDeltaSK     = "ds_sk"
)

// converter turns DynamoDB items of one model into stored records and
// back.
type converter struct {
	schema *meta.Schema
	model  *meta.Model
	stored []*meta.Field
	// extra are attributes kept although the model does not declare them:
	// the owner and groups fields of its @auth rules.
	extra map[string]bool
	// composites are the attributes the Amplify transformer derives from
	// several sort key fields of the primary key or an @index
	// ("status#createdAt" = "PUBLISHED#2026-..."), by name: import skips
	// them, export writes them back.
	composites map[string][]string
	// dropUnknown drops attributes the model does not know instead of
	// failing.
	dropUnknown bool
}

func newConverter(s *meta.Schema, m *meta.Model, dropUnknown bool) *converter {
	c := &converter{schema: s, model: m, extra: map[string]bool{}, dropUnknown: dropUnknown}
	for _, f := range m.Fields {
		if f.Stored() {
			c.stored = append(c.stored, f)
		}
	}
	c.composites = map[string][]string{}
	if len(m.PrimaryKey.SortKeys) > 1 {
		c.composites[strings.Join(m.PrimaryKey.SortKeys, "#")] = m.PrimaryKey.SortKeys
	}
	for _, ix := range m.Indexes {
		if len(ix.Fields) > 2 {
			c.composites[strings.Join(ix.Fields[1:], "#")] = ix.Fields[1:]
		}
	}
	for _, r := range m.Auth {
		switch {
		case r.Allow == "owner" && r.OwnerField != "":
			c.extra[r.OwnerField] = true
		case r.Allow == "owner":
			c.extra["owner"] = true
		case r.Allow == "groups" && r.GroupsField != "":
			c.extra[r.GroupsField] = true
		}
	}
	return c
}

// record converts one item. Errors are *attrError or plain (whole item).
func (c *converter) record(item map[string]av) (store.Loaded, error) {
	var rec store.Loaded
	rec.Model = c.model.Name
	if _, ok := item[attrDeltaPK]; ok {
		return rec, errors.New("the item has ds_pk: this is AppSync's delta sync table (AmplifyDataStore), not a model table; import the model tables only")
	}
	var err error
	if rec.Version, err = intAttr(item, attrVersion, true); err != nil {
		return rec, err
	}
	if rec.Version < 1 {
		return rec, attrErr(attrVersion, "want >= 1, got %d", rec.Version)
	}
	if rec.LastChangedAt, err = intAttr(item, attrLastChanged, true); err != nil {
		return rec, err
	}
	if a, ok := item[attrDeleted]; ok {
		v, err := generic(attrDeleted, a)
		if err != nil {
			return rec, err
		}
		b, isBool := v.(bool)
		if v != nil && !isBool {
			return rec, attrErr(attrDeleted, "want BOOL, got %s", a.typ)
		}
		rec.Deleted = b
	}
	ttl, err := intAttr(item, attrTTL, false)
	if err != nil {
		return rec, err
	}
	if rec.Deleted && ttl > 0 {
		rec.ExpireAt = ttl * 1000
	}
	if a, ok := item[attrTypename]; ok {
		if v, err := generic(attrTypename, a); err != nil || v != c.model.Name {
			return rec, attrErr(attrTypename, "the item is a %v, not a %s: is it in the right table?", v, c.model.Name)
		}
	}

	rec.Item = make(map[string]any, len(item))
	for _, name := range slices.Sorted(maps.Keys(item)) {
		switch name {
		case attrTypename, attrVersion, attrLastChanged, attrDeleted, attrTTL, attrDeltaSK:
			continue
		}
		if _, ok := c.composites[name]; ok {
			continue // derived from the fields, which are stored
		}
		var v any
		switch f := fieldOf(c.stored, name); {
		case f != nil:
			v, err = c.value(name, f, item[name], false)
		case c.extra[name]:
			v, err = generic(name, item[name])
		case c.model.Field(name) != nil:
			return rec, attrErr(name, "%s.%s is a relation (it holds other records), which is not stored", c.model.Name, name)
		case c.dropUnknown:
			continue
		default:
			return rec, attrErr(name, "%s has no field %s (a field since removed from the schema? --drop-unknown drops such attributes)", c.model.Name, name)
		}
		if err != nil {
			return rec, err
		}
		rec.Item[name] = v
	}
	known := make(map[string]any, len(rec.Item))
	for k, v := range rec.Item {
		if fieldOf(c.stored, k) != nil {
			known[k] = v
		}
	}
	if _, err := codec.EncodeMap(c.schema, c.stored, known, nil); err != nil {
		var me *codec.MapError
		if errors.As(err, &me) {
			return rec, &attrError{path: me.Path, err: me.Err}
		}
		return rec, err
	}
	for _, k := range c.model.PrimaryKey.Fields() {
		v, ok := rec.Item[k]
		if !ok || v == nil {
			return rec, attrErr(k, "the key attribute is missing")
		}
		if n, isNum := v.(json.Number); isNum {
			rec.Key = append(rec.Key, n)
		} else {
			rec.Key = append(rec.Key, v)
		}
	}
	return rec, nil
}

// intAttr reads an integer N attribute.
func intAttr(item map[string]av, name string, required bool) (int64, error) {
	a, ok := item[name]
	if !ok {
		if required {
			return 0, attrErr(name, "missing: every item of an AppSync versioned table has it (was conflict detection on?)")
		}
		return 0, nil
	}
	if a.typ != "N" {
		return 0, attrErr(name, "want N, got %s", a.typ)
	}
	n, err := number(name, a.raw)
	if err != nil {
		return 0, err
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, attrErr(name, "want an integer, got %s", n)
	}
	return i, nil
}

// item writes a stored record as a DynamoDB JSON item, with the
// attributes AppSync keeps beside the fields.
func (c *converter) item(r store.Loaded) (map[string]any, error) {
	out := make(map[string]any, len(r.Item)+5)
	for k, v := range r.Item {
		a, err := attrOf(fieldOf(c.stored, k), v, false, c.schema)
		if err != nil {
			return nil, err
		}
		out[k] = a
	}
	for name, fields := range c.composites {
		if v, ok := composite(r.Item, fields); ok {
			out[name] = map[string]any{"S": v}
		}
	}
	out[attrTypename] = map[string]any{"S": c.model.Name}
	out[attrVersion] = map[string]any{"N": strconv.FormatInt(r.Version, 10)}
	out[attrLastChanged] = map[string]any{"N": strconv.FormatInt(r.LastChangedAt, 10)}
	if r.Deleted {
		out[attrDeleted] = map[string]any{"BOOL": true}
		if r.ExpireAt > 0 {
			// AppSync's _ttl is in seconds; a time that is not a whole
			// second (not from AppSync) rounds up, never expiring earlier.
			out[attrTTL] = map[string]any{"N": strconv.FormatInt((r.ExpireAt+999)/1000, 10)}
		}
	}
	return out, nil
}

// composite joins the values of fields with '#', as the transformer's
// resolvers build a composite sort key; false when one is missing.
func composite(item map[string]any, fields []string) (string, bool) {
	parts := make([]string, len(fields))
	for i, f := range fields {
		switch v := item[f].(type) {
		case string:
			parts[i] = v
		case float64:
			parts[i] = strconv.FormatFloat(v, 'f', -1, 64)
		case json.Number:
			parts[i] = string(v)
		case bool:
			parts[i] = strconv.FormatBool(v)
		default:
			return "", false
		}
	}
	return strings.Join(parts, "#"), true
}
