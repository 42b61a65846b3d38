package gqlexec

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dsgen/dsgen/runtime/scalar"
)

// Input values reach resolvers with one Go type per GraphQL type: Int is
// int64, Float float64, ID and String string, Boolean bool, enums string,
// input objects map[string]any, lists []any. Custom scalars pass as decoded.

// normaliseInput converts a variable value that gqlparser has accepted for
// typ into the canonical Go types, and fills in input object field defaults.
func normaliseInput(schema *ast.Schema, typ *ast.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if typ.Elem != nil {
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice {
			x, err := normaliseInput(schema, typ.Elem, v)
			if err != nil {
				return nil, err
			}
			return []any{x}, nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			x, err := normaliseInput(schema, typ.Elem, rv.Index(i).Interface())
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = x
		}
		return out, nil
	}
	def := schema.Types[typ.NamedType]
	if def == nil {
		return nil, fmt.Errorf("unknown type %s", typ.NamedType)
	}
	switch def.Kind {
	case ast.InputObject:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("must be an object of type %s", def.Name)
		}
		out := make(map[string]any, len(m))
		for _, f := range def.Fields {
			x, present := m[f.Name]
			if !present {
				if f.DefaultValue != nil {
					d, _, err := coerceLiteral(schema, f.Type, f.DefaultValue, nil)
					if err != nil {
						return nil, fmt.Errorf("%s: default: %w", f.Name, err)
					}
					out[f.Name] = d
				}
				continue
			}
			nx, err := normaliseInput(schema, f.Type, x)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			out[f.Name] = nx
		}
		return out, nil
	case ast.Enum:
		// gqlparser matches enum names case-insensitively; GraphQL does not.
		s, ok := v.(string)
		if !ok || def.EnumValues.ForName(s) == nil {
			return nil, fmt.Errorf("%v is not a value of enum %s", v, def.Name)
		}
		return s, nil
	case ast.Scalar:
		switch def.Name {
		case "Int":
			i, err := toInt64(v)
			if err == nil && (i < math.MinInt32 || i > math.MaxInt32) {
				return nil, errIntRange(strconv.FormatInt(i, 10))
			}
			return i, err
		case "Float":
			return toFloat64(v)
		case "ID":
			return toID(v)
		}
	}
	return v, nil
}

// coerceLiteral returns the value of a literal (or variable reference) in
// the document for an input of type typ. present is false when val is a
// variable the request did not supply, so the input's default applies.
func coerceLiteral(schema *ast.Schema, typ *ast.Type, val *ast.Value, vars map[string]any) (v any, present bool, err error) {
	if val == nil {
		return nil, false, nil
	}
	switch val.Kind {
	case ast.Variable:
		v, present = vars[val.Raw]
		return v, present, nil
	case ast.NullValue:
		return nil, true, nil
	}
	if typ.Elem != nil {
		if val.Kind != ast.ListValue {
			x, _, err := coerceLiteral(schema, typ.Elem, val, vars)
			if err != nil {
				return nil, false, err
			}
			return []any{x}, true, nil
		}
		out := make([]any, len(val.Children))
		for i, c := range val.Children {
			x, _, err := coerceLiteral(schema, typ.Elem, c.Value, vars)
			if err != nil {
				return nil, false, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = x
		}
		return out, true, nil
	}
	def := schema.Types[typ.NamedType]
	if def == nil {
		return nil, false, fmt.Errorf("unknown type %s", typ.NamedType)
	}
	switch def.Kind {
	case ast.InputObject:
		if val.Kind != ast.ObjectValue {
			return nil, false, fmt.Errorf("expected an object of type %s, got %s", def.Name, val.String())
		}
		out := make(map[string]any, len(def.Fields))
		for _, f := range def.Fields {
			x, ok, err := coerceLiteral(schema, f.Type, val.Children.ForName(f.Name), vars)
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", f.Name, err)
			}
			if !ok && f.DefaultValue != nil {
				x, ok, err = coerceLiteral(schema, f.Type, f.DefaultValue, nil)
				if err != nil {
					return nil, false, fmt.Errorf("%s: default: %w", f.Name, err)
				}
			}
			if ok {
				out[f.Name] = x
			}
		}
		return out, true, nil
	case ast.Enum:
		return val.Raw, true, nil
	}
	switch def.Name {
	case "Int":
		n, err := strconv.ParseInt(val.Raw, 10, 64)
		if err != nil {
			return nil, false, fmt.Errorf("Int cannot represent %s", val.Raw)
		}
		return n, true, nil
	case "Float":
		f, err := strconv.ParseFloat(val.Raw, 64)
		if err != nil {
			return nil, false, fmt.Errorf("Float cannot represent %s", val.Raw)
		}
		return f, true, nil
	case "Boolean":
		return val.Raw == "true", true, nil
	case "String", "ID":
		return val.Raw, true, nil
	}
	// A custom scalar takes any literal; lists and objects keep their shape.
	v, err = val.Value(vars)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", def.Name, err)
	}
	return v, true, nil
}

// coerceArgs returns the arguments of a field or directive: the literals and
// variables given, with the definitions' defaults for the rest.
func coerceArgs(schema *ast.Schema, defs ast.ArgumentDefinitionList, args ast.ArgumentList, vars map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(defs))
	for _, d := range defs {
		var given *ast.Value
		if a := args.ForName(d.Name); a != nil {
			given = a.Value
		}
		v, ok, err := coerceLiteral(schema, d.Type, given, vars)
		if err != nil {
			return nil, fmt.Errorf("argument %s: %w", d.Name, err)
		}
		if !ok && d.DefaultValue != nil {
			v, ok, err = coerceLiteral(schema, d.Type, d.DefaultValue, nil)
			if err != nil {
				return nil, fmt.Errorf("argument %s: default: %w", d.Name, err)
			}
		}
		if ok {
			out[d.Name] = v
		}
	}
	return out, nil
}

// toInt64 accepts the integral numbers a resolver or a JSON decoder yields,
// and numeric strings (gqlparser accepts one for an Int variable).
func toInt64(v any) (int64, error) {
	if s, ok := v.(string); ok {
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("Int cannot represent %q", s)
		}
		return i, nil
	}
	n, ok := scalar.NumberOf(v)
	switch {
	case !ok:
		return 0, cannotRepresent("Int", v)
	case n.IsInt:
		return n.Int, nil
	case n.Float == math.Trunc(n.Float):
		return 0, fmt.Errorf("Int cannot represent %v", v)
	}
	return 0, fmt.Errorf("Int cannot represent non-integer value %v", v)
}

// toFloat64 accepts any finite number, and numeric strings.
func toFloat64(v any) (float64, error) {
	var f float64
	if s, ok := v.(string); ok {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("Float cannot represent %q", s)
		}
		f = x
	} else if n, ok := scalar.NumberOf(v); ok {
		f = n.Float64()
	} else {
		return 0, cannotRepresent("Float", v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("Float cannot represent %v", f)
	}
	return f, nil
}

// cannotRepresent is the error for a value that is no number at all.
func cannotRepresent(typ string, v any) error {
	if n, ok := v.(json.Number); ok {
		return fmt.Errorf("%s cannot represent %q", typ, string(n))
	}
	return fmt.Errorf("%s cannot represent a %T", typ, v)
}

// toID accepts a string or an integer, as the spec allows for ID.
func toID(v any) (string, error) {
	switch s := v.(type) {
	case string:
		return s, nil
	case json.Number:
		if _, err := s.Int64(); err == nil {
			return string(s), nil
		}
	}
	if i, err := toInt64(v); err == nil {
		return strconv.FormatInt(i, 10), nil
	}
	return "", fmt.Errorf("ID cannot represent a %T", v)
}

// appendLeaf writes the output value of a scalar or enum of type def.
func appendLeaf(buf []byte, def *ast.Definition, v any) ([]byte, error) {
	if def.Kind == ast.Enum {
		s, ok := v.(string)
		if !ok {
			if st, isStringer := v.(fmt.Stringer); isStringer {
				s = st.String()
			} else {
				return buf, fmt.Errorf("enum %s cannot represent a %T", def.Name, v)
			}
		}
		if def.EnumValues.ForName(s) == nil {
			return buf, fmt.Errorf("enum %s has no value %q", def.Name, s)
		}
		return appendString(buf, s), nil
	}
	switch def.Name {
	case "Int":
		i, err := toInt64(v)
		if err != nil {
			return buf, err
		}
		return strconv.AppendInt(buf, i, 10), nil
	case "Float":
		f, err := toFloat64(v)
		if err != nil {
			return buf, err
		}
		return appendFloat(buf, f), nil
	case "Boolean":
		b, ok := v.(bool)
		if !ok {
			return buf, fmt.Errorf("Boolean cannot represent a %T", v)
		}
		return strconv.AppendBool(buf, b), nil
	case "ID":
		s, err := toID(v)
		if err != nil {
			return buf, err
		}
		return appendString(buf, s), nil
	case "String":
		switch s := v.(type) {
		case string:
			return appendString(buf, s), nil
		case bool:
			return appendString(buf, strconv.FormatBool(s)), nil
		}
		if i, err := toInt64(v); err == nil {
			return appendString(buf, strconv.FormatInt(i, 10)), nil
		}
		if f, err := toFloat64(v); err == nil {
			return appendString(buf, strconv.FormatFloat(f, 'g', -1, 64)), nil
		}
		return buf, fmt.Errorf("String cannot represent a %T", v)
	}
	// Custom scalars (AWSDateTime, AWSJSON, AWSTimestamp...) pass as they are.
	return appendAny(buf, v)
}

// wholeInts checks the numbers a variable gives for Int inputs and turns
// them into int64, so a fraction or an integer beyond Int's 32-bit range is
// refused with a message that names it and where it is (gqlparser would
// say "cannot use string as Int" for a JSON number in an input object).
// where names the value, e.g. $input.rating; other values pass unchanged.
func wholeInts(schema *ast.Schema, typ *ast.Type, v any, where string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if typ.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			return wholeInts(schema, typ.Elem, v, where) // a single value for a list
		}
		for i, x := range list {
			nx, err := wholeInts(schema, typ.Elem, x, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, err
			}
			list[i] = nx
		}
		return list, nil
	}
	def := schema.Types[typ.NamedType]
	if def == nil {
		return v, nil
	}
	switch {
	case def.Kind == ast.InputObject:
		obj, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		for _, f := range def.Fields {
			x, ok := obj[f.Name]
			if !ok {
				continue
			}
			nx, err := wholeInts(schema, f.Type, x, where+"."+f.Name)
			if err != nil {
				return nil, err
			}
			obj[f.Name] = nx
		}
		return obj, nil
	case def.Kind == ast.Scalar && def.Name == "Int":
		var text string
		switch n := v.(type) {
		case json.Number:
			text = string(n)
		case float64:
			// A JSON decoder without UseNumber (the WebSocket's payload)
			// gives float64: whole numbers are written without an exponent.
			text = strconv.FormatFloat(n, 'g', -1, 64)
			if n == math.Trunc(n) && math.Abs(n) < 1e21 {
				text = strconv.FormatFloat(n, 'f', -1, 64)
			}
		case float32:
			text = strconv.FormatFloat(float64(n), 'g', -1, 32)
		default:
			return v, nil // not a number: gqlparser reports it
		}
		i, err := intFromNumber(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return i, nil
	}
	return v, nil
}

// intFromNumber reads a JSON number as an Int: integers written with an
// exponent or a zero fraction (1e3, 2.0) are accepted.
func intFromNumber(text string) (int64, error) {
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		if i < math.MinInt32 || i > math.MaxInt32 {
			return 0, errIntRange(text)
		}
		return i, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("%s is not a number", text)
	case !math.IsInf(f, 0) && f != math.Trunc(f):
		return 0, fmt.Errorf("%s is not an integer (Int)", text)
	case math.IsInf(f, 0) || f < math.MinInt32 || f > math.MaxInt32:
		return 0, errIntRange(text)
	}
	return int64(f), nil
}

// errIntRange is the error for an integer an Int cannot hold: AppSync's
// Int, as GraphQL's, is a 32-bit signed integer.
func errIntRange(text string) error {
	return fmt.Errorf("%s is out of range for Int (a 32-bit signed integer, -2147483648 to 2147483647)", text)
}
