package gqlexec

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
)

// fastVariables coerces the request's variables for def without
// reflection, giving exactly what the general path of coerceVariables
// (wholeInts, gqlparser's VariableValues, normaliseInput) gives for them.
// It takes the values a JSON request decoded with UseNumber holds (strings,
// json.Number, bools, maps, []any, nil) when they are valid; ok is false
// for anything else — an invalid value, a variable left to its default, a
// value of another Go type — and the general path then coerces them and
// words the error as it always has.
//
// The result holds new maps and lists: the request's are not modified, and
// a custom scalar's object or list value is copied as the general path
// copies it.
func (e *Executor) fastVariables(def *ast.OperationDefinition, in map[string]any) (map[string]any, bool) {
	out := make(map[string]any, len(def.VariableDefinitions))
	for _, vd := range def.VariableDefinitions {
		v, present := in[vd.Variable]
		switch {
		case !present:
			if vd.DefaultValue != nil || vd.Type.NonNull {
				return nil, false
			}
		case v == nil:
			if vd.Type.NonNull {
				return nil, false
			}
			out[vd.Variable] = nil
		default:
			nv, ok := e.fastValue(vd.Type, v, true)
			if !ok {
				return nil, false
			}
			out[vd.Variable] = nv
		}
	}
	return out, true
}

// fastValue coerces a non-null value v for typ; top is true for a
// variable's own value (gqlparser reads a top-level Float's json.Number
// with Float64, nested ones as numeric strings).
func (e *Executor) fastValue(typ *ast.Type, v any, top bool) (any, bool) {
	if typ.Elem != nil {
		list, isList := v.([]any)
		if !isList {
			x, ok := e.fastValue(typ.Elem, v, false) // a single value for a list
			if !ok {
				return nil, false
			}
			return []any{x}, true
		}
		out := make([]any, len(list))
		for i, x := range list {
			if x == nil {
				if typ.Elem.NonNull {
					return nil, false
				}
				continue
			}
			nx, ok := e.fastValue(typ.Elem, x, false)
			if !ok {
				return nil, false
			}
			out[i] = nx
		}
		return out, true
	}
	def := e.schema.Types[typ.NamedType]
	if def == nil {
		return nil, false
	}
	switch def.Kind {
	case ast.InputObject:
		return e.fastObject(def, v)
	case ast.Enum:
		s, ok := v.(string)
		if !ok || def.EnumValues.ForName(s) == nil {
			return nil, false
		}
		return s, true
	case ast.Scalar:
		return fastScalar(def.Name, v, top)
	}
	return nil, false
}

// fastObject coerces an input object: unknown fields (but __typename,
// which is dropped) and missing or null required fields are left to the
// general path; absent fields with a default get it.
func (e *Executor) fastObject(def *ast.Definition, v any) (any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	for k := range m {
		if k != "__typename" && def.Fields.ForName(k) == nil {
			return nil, false
		}
	}
	out := make(map[string]any, len(def.Fields))
	for _, f := range def.Fields {
		x, present := m[f.Name]
		switch {
		case !present:
			if f.DefaultValue == nil {
				if f.Type.NonNull {
					return nil, false
				}
				continue
			}
			if _, err := f.DefaultValue.Value(nil); err != nil {
				return nil, false
			}
			d, _, err := coerceLiteral(e.schema, f.Type, f.DefaultValue, nil)
			if err != nil {
				return nil, false
			}
			out[f.Name] = d
		case x == nil:
			if f.Type.NonNull {
				return nil, false
			}
			out[f.Name] = nil
		default:
			nx, ok := e.fastValue(f.Type, x, false)
			if !ok {
				return nil, false
			}
			out[f.Name] = nx
		}
	}
	return out, true
}

// fastScalar coerces a built-in scalar's value as wholeInts, VariableValues
// and normaliseInput do in turn; custom scalars pass (objects and lists
// copied).
func fastScalar(name string, v any, top bool) (any, bool) {
	switch name {
	case "Int":
		switch x := v.(type) {
		case json.Number:
			i, err := intFromNumber(string(x))
			return i, err == nil
		case string:
			i, err := strconv.ParseInt(x, 10, 64)
			return i, err == nil && i >= math.MinInt32 && i <= math.MaxInt32
		}
		return nil, false
	case "Float":
		var text string
		switch x := v.(type) {
		case json.Number:
			text = string(x)
		case string:
			text = x
		default:
			return nil, false
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, false
		}
		if n, isNumber := v.(json.Number); isNumber && !top {
			if f, err = toFloat64(n); err != nil {
				return nil, false
			}
		}
		return f, !math.IsNaN(f) && !math.IsInf(f, 0)
	case "String":
		switch v.(type) {
		case string, json.Number: // gqlparser takes a number's text for a String
			return v, true
		}
		return nil, false
	case "Boolean":
		b, ok := v.(bool)
		return b, ok
	case "ID":
		switch x := v.(type) {
		case string:
			return x, true
		case json.Number:
			if _, err := x.Int64(); err == nil {
				return string(x), true
			}
		}
		return nil, false
	}
	switch v.(type) {
	case string, json.Number, bool:
		return v, true
	case map[string]any, []any:
		return deepCopy(v), true
	}
	return nil, false
}
