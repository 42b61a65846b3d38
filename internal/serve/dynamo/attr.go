package dynamo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/dsgen/dsgen/runtime/meta"
)

// av is one DynamoDB JSON attribute value: an object with exactly one of
// the type keys S, N, B, BOOL, NULL, M, L, SS, NS, BS.
type av struct {
	typ string
	raw json.RawMessage
}

// avWire is an attribute value as decoded: a struct rather than a map, to
// spare an allocation per attribute (encoding/json matches the keys
// case-insensitively; a value with none of them is refused below).
type avWire struct {
	S, N, B, BOOL, NULL, M, L, SS, NS, BS json.RawMessage
}

// UnmarshalJSON reads {"TYPE": value}, refusing any other shape.
func (a *av) UnmarshalJSON(b []byte) error {
	var w avWire
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("an attribute value must be an object like {\"S\": \"text\"}: %v", err)
	}
	n := 0
	for _, c := range [...]struct {
		typ string
		raw json.RawMessage
	}{{"S", w.S}, {"N", w.N}, {"B", w.B}, {"BOOL", w.BOOL}, {"NULL", w.NULL}, {"M", w.M}, {"L", w.L}, {"SS", w.SS}, {"NS", w.NS}, {"BS", w.BS}} {
		if c.raw != nil {
			a.typ, a.raw = c.typ, c.raw
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("an attribute value must have exactly one type key (S, N, BOOL, NULL, M, L, SS, NS), got %d in %s", n, b)
	}
	return nil
}

// decodeItem parses one DynamoDB JSON item: attribute name to value.
func decodeItem(raw []byte) (map[string]av, error) {
	var item map[string]av
	if err := json.Unmarshal(raw, &item); err != nil {
		return nil, err
	}
	if item == nil {
		return nil, errors.New("the item is null")
	}
	return item, nil
}

// generic converts an attribute value to a JSON-shaped value with no
// schema to guide it: S string, N json.Number, BOOL bool, NULL nil, M map,
// L list, SS and NS lists. Binary values have no GraphQL type.
func generic(path string, a av) (any, error) {
	switch a.typ {
	case "S":
		var s string
		if err := json.Unmarshal(a.raw, &s); err != nil {
			return nil, attrErr(path, "S must hold a string: %v", err)
		}
		return s, nil
	case "N":
		return number(path, a.raw)
	case "BOOL":
		var b bool
		if err := json.Unmarshal(a.raw, &b); err != nil {
			return nil, attrErr(path, "BOOL must hold true or false: %v", err)
		}
		return b, nil
	case "NULL":
		var b bool
		if err := json.Unmarshal(a.raw, &b); err != nil || !b {
			return nil, attrErr(path, "NULL must hold true, got %s", a.raw)
		}
		return nil, nil
	case "M":
		var m map[string]av
		if err := json.Unmarshal(a.raw, &m); err != nil {
			return nil, attrErr(path, "M must hold an object of attribute values: %v", err)
		}
		out := make(map[string]any, len(m))
		for k, v := range m {
			g, err := generic(path+"."+k, v)
			if err != nil {
				return nil, err
			}
			out[k] = g
		}
		return out, nil
	case "L":
		var l []av
		if err := json.Unmarshal(a.raw, &l); err != nil {
			return nil, attrErr(path, "L must hold a list of attribute values: %v", err)
		}
		out := make([]any, len(l))
		for i, v := range l {
			g, err := generic(fmt.Sprintf("%s[%d]", path, i), v)
			if err != nil {
				return nil, err
			}
			out[i] = g
		}
		return out, nil
	case "SS", "NS":
		var l []json.RawMessage
		if err := json.Unmarshal(a.raw, &l); err != nil {
			return nil, attrErr(path, "%s must hold a list: %v", a.typ, err)
		}
		out := make([]any, len(l))
		for i, e := range l {
			g, err := generic(fmt.Sprintf("%s[%d]", path, i), av{typ: a.typ[:1], raw: e})
			if err != nil {
				return nil, err
			}
			out[i] = g
		}
		return out, nil
	case "B", "BS":
		return nil, attrErr(path, "binary (%s) values have no GraphQL type; the schema cannot hold them", a.typ)
	}
	return nil, attrErr(path, "unknown DynamoDB type %q", a.typ)
}

// number reads an N value: DynamoDB JSON writes it as a string ("42"); a
// bare JSON number is accepted too.
func number(path string, raw json.RawMessage) (json.Number, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(bytes.TrimSpace(raw))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return "", attrErr(path, "N must hold a number, got %s", raw)
	}
	return json.Number(s), nil
}

// value converts attribute a to the stored value of field f (an element
// of it when elem is set), as the schema types it.
func (c *converter) value(path string, f *meta.Field, a av, elem bool) (any, error) {
	if a.typ == "NULL" {
		return generic(path, a)
	}
	if f.IsList && !elem {
		switch a.typ {
		case "L":
			var l []av
			if err := json.Unmarshal(a.raw, &l); err != nil {
				return nil, attrErr(path, "L must hold a list of attribute values: %v", err)
			}
			out := make([]any, len(l))
			for i, e := range l {
				v, err := c.value(fmt.Sprintf("%s[%d]", path, i), f, e, true)
				if err != nil {
					return nil, err
				}
				out[i] = v
			}
			return out, nil
		case "SS", "NS":
			g, err := generic(path, a)
			if err != nil {
				return nil, err
			}
			out := g.([]any)
			for i, e := range out {
				if err := c.checkScalar(fmt.Sprintf("%s[%d]", path, i), f, e); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		return nil, attrErr(path, "the field is a list [%s]: want L, SS or NS, got %s", f.Type, a.typ)
	}
	switch f.Kind {
	case meta.KindNonModel:
		nm := c.schema.NonModel(f.Type)
		if nm == nil {
			return nil, attrErr(path, "the schema has no type %s", f.Type)
		}
		if a.typ != "M" {
			return nil, attrErr(path, "the field is a %s object: want M, got %s", f.Type, a.typ)
		}
		var m map[string]av
		if err := json.Unmarshal(a.raw, &m); err != nil {
			return nil, attrErr(path, "M must hold an object of attribute values: %v", err)
		}
		out := make(map[string]any, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			sub := fieldOf(nm.Fields, k)
			if sub == nil {
				return nil, attrErr(path+"."+k, "%s has no field %s", f.Type, k)
			}
			v, err := c.value(path+"."+k, sub, m[k], false)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case meta.KindScalar:
		if f.Type == meta.AWSJSON {
			// AppSync parses AWSJSON input and stores the value; dsgen
			// keeps its JSON text.
			g, err := generic(path, a)
			if err != nil {
				return nil, err
			}
			text, err := json.Marshal(g)
			if err != nil {
				return nil, attrErr(path, "%v", err)
			}
			return string(text), nil
		}
	}
	g, err := generic(path, a)
	if err != nil {
		return nil, err
	}
	return g, c.checkScalar(path, f, g)
}

// checkScalar checks that v, converted from DynamoDB, has the JSON type
// field f's (element) type needs; the record codec checks the rest.
func (c *converter) checkScalar(path string, f *meta.Field, v any) error {
	want := "S"
	ok := false
	switch {
	case f.Kind == meta.KindEnum:
		_, ok = v.(string)
		if e := c.schema.Enum(f.Type); ok && e != nil && !slices.Contains(e.Values, v.(string)) {
			return attrErr(path, "%q is not a value of enum %s", v, f.Type)
		}
	case f.Type == meta.Int || f.Type == meta.Float || f.Type == meta.AWSTimestamp:
		want = "N"
		_, ok = v.(json.Number)
	case f.Type == meta.Boolean:
		want = "BOOL"
		_, ok = v.(bool)
	default:
		_, ok = v.(string)
	}
	if v == nil || ok {
		return nil
	}
	return attrErr(path, "the field is %s: want %s", f.Type, want)
}

func fieldOf(fields []*meta.Field, name string) *meta.Field {
	for _, f := range fields {
		if f.Name == name && f.Stored() {
			return f
		}
	}
	return nil
}

// attrOf writes a stored value as a DynamoDB JSON attribute value; f (may
// be nil: no schema guidance) types AWSJSON texts and non-model fields.
func attrOf(f *meta.Field, v any, elem bool, s *meta.Schema) (any, error) {
	switch x := v.(type) {
	case nil:
		return map[string]any{"NULL": true}, nil
	case string:
		if f != nil && f.Kind == meta.KindScalar && f.Type == meta.AWSJSON && (elem || !f.IsList) {
			d := json.NewDecoder(bytes.NewReader([]byte(x)))
			d.UseNumber()
			var g any
			if err := d.Decode(&g); err != nil {
				return nil, fmt.Errorf("%s: stored AWSJSON is not JSON: %w", f.Name, err)
			}
			return attrOf(nil, g, false, s)
		}
		return map[string]any{"S": x}, nil
	case json.Number:
		return map[string]any{"N": string(x)}, nil
	case float64:
		return map[string]any{"N": strconv.FormatFloat(x, 'f', -1, 64)}, nil
	case int64:
		return map[string]any{"N": strconv.FormatInt(x, 10)}, nil
	case bool:
		return map[string]any{"BOOL": x}, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			a, err := attrOf(f, e, true, s)
			if err != nil {
				return nil, err
			}
			out[i] = a
		}
		return map[string]any{"L": out}, nil
	case map[string]any:
		var fields []*meta.Field
		if f != nil && f.Kind == meta.KindNonModel {
			if nm := s.NonModel(f.Type); nm != nil {
				fields = nm.Fields
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			var sub *meta.Field
			if fields != nil {
				sub = fieldOf(fields, k)
			}
			a, err := attrOf(sub, e, false, s)
			if err != nil {
				return nil, err
			}
			out[k] = a
		}
		return map[string]any{"M": out}, nil
	}
	return nil, fmt.Errorf("unsupported stored value %T", v)
}
