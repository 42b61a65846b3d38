package filter

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/dsgen/dsgen/runtime/scalar"
)

// attributeTypes are the values of the ModelAttributeTypes enum.
func isAttributeType(s string) bool {
	switch s {
	case "binary", "binarySet", "bool", "list", "map", "number", "numberSet", "string", "stringSet", "_null":
		return true
	}
	return false
}

func errorf(path, format string, args ...any) error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// sortedKeys returns m's keys in order, so that errors and evaluation
// order do not depend on map iteration.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// compileObject compiles a filter object: its keys are ANDed. It returns
// nil for an object that adds no condition.
func compileObject(path string, obj map[string]any) (node, error) {
	var and andNode
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		p := path + "." + k
		if v == nil {
			// An explicit null input field is the same as an absent one.
			continue
		}
		switch k {
		case "and", "or":
			list, err := objectList(p, v)
			if err != nil {
				return nil, err
			}
			var kids []node
			for i, o := range list {
				n, err := compileObject(p+"["+strconv.Itoa(i)+"]", o)
				if err != nil {
					return nil, err
				}
				if n == nil {
					n = andNode(nil) // an empty object is true
				}
				kids = append(kids, n)
			}
			switch {
			case len(kids) == 0:
				// Adds no condition.
			case k == "and":
				and = append(and, andNode(kids))
			default:
				and = append(and, orNode(kids))
			}
		case "not":
			o, ok := v.(map[string]any)
			if !ok {
				return nil, errorf(p, "want a filter object, got %s", describe(v))
			}
			n, err := compileObject(p, o)
			if err != nil {
				return nil, err
			}
			if n == nil {
				n = andNode(nil)
			}
			and = append(and, notNode{n})
		default:
			o, ok := v.(map[string]any)
			if !ok {
				return nil, errorf(p, "want an operator object, got %s", describe(v))
			}
			ops, err := compileOps(p, o, false)
			if err != nil {
				return nil, err
			}
			if len(ops) > 0 {
				and = append(and, fieldNode{name: k, ops: ops})
			}
		}
	}
	if len(and) == 0 {
		return nil, nil
	}
	if len(and) == 1 {
		return and[0], nil
	}
	return and, nil
}

// objectList accepts the list forms a coerced input can take.
func objectList(path string, v any) ([]map[string]any, error) {
	switch t := v.(type) {
	case []map[string]any:
		return t, nil
	case []any:
		out := make([]map[string]any, 0, len(t))
		for i, e := range t {
			o, ok := e.(map[string]any)
			if !ok {
				return nil, errorf(path+"["+strconv.Itoa(i)+"]", "want a filter object, got %s", describe(e))
			}
			out = append(out, o)
		}
		return out, nil
	}
	return nil, errorf(path, "want a list of filter objects, got %s", describe(v))
}

// anyList accepts a list operand as []any or []string.
func anyList(v any) ([]any, bool) {
	switch t := v.(type) {
	case []any:
		return t, true
	case []string:
		out := make([]any, len(t))
		for i, s := range t {
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

func isScalar(v any) bool {
	switch v.(type) {
	case nil, string, bool:
		return true
	}
	_, ok := scalar.NumberOf(v)
	return ok
}

func isOrdered(v any) bool {
	if _, ok := v.(string); ok {
		return true
	}
	_, ok := scalar.NumberOf(v)
	return ok
}

// compileOps compiles an operator object. inSize restricts it to the
// operators of ModelSizeInput, whose operands are numbers.
func compileOps(path string, obj map[string]any, inSize bool) ([]op, error) {
	var ops []op
	for _, name := range sortedKeys(obj) {
		v := obj[name]
		p := path + "." + name
		if inSize {
			switch name {
			case "ne", "eq", "le", "lt", "ge", "gt", "between":
			default:
				return nil, errorf(p, "unknown size operator %q (want ne, eq, le, lt, ge, gt or between)", name)
			}
		}
		switch name {
		case "eq", "ne":
			if l, ok := anyList(v); ok {
				for i, e := range l {
					if !isScalar(e) {
						return nil, errorf(p+"["+strconv.Itoa(i)+"]", "want a scalar, got %s", describe(e))
					}
				}
				v = l
			} else if !isScalar(v) {
				return nil, errorf(p, "want a scalar or a list, got %s", describe(v))
			}
			if inSize && v != nil {
				if _, ok := scalar.NumberOf(v); !ok {
					return nil, errorf(p, "want a number, got %s", describe(v))
				}
			}
			ops = append(ops, op{name: name, val: v})
		case "le", "lt", "ge", "gt":
			if v == nil {
				ops = append(ops, op{name: "never"})
				continue
			}
			if !isOrdered(v) || (inSize && !isNumber(v)) {
				return nil, errorf(p, "want a %s, got %s", orderedWord(inSize), describe(v))
			}
			ops = append(ops, op{name: name, val: v})
		case "between":
			if v == nil {
				ops = append(ops, op{name: "never"})
				continue
			}
			l, ok := anyList(v)
			if !ok {
				return nil, errorf(p, "want a list of 2 values, got %s", describe(v))
			}
			if len(l) != 2 {
				return nil, errorf(p, "want 2 values, got %d", len(l))
			}
			for i, e := range l {
				if !isOrdered(e) || (inSize && !isNumber(e)) {
					return nil, errorf(p+"["+strconv.Itoa(i)+"]", "want a %s, got %s", orderedWord(inSize), describe(e))
				}
			}
			c, ok := compare(l[0], l[1])
			if !ok {
				return nil, errorf(p, "bounds of different types (%s and %s)", describe(l[0]), describe(l[1]))
			}
			if c > 0 {
				// DynamoDB rejects BETWEEN with a lower bound above the upper one.
				return nil, errorf(p, "lower bound %v is greater than upper bound %v", l[0], l[1])
			}
			ops = append(ops, op{name: name, vals: l})
		case "beginsWith":
			if v == nil {
				ops = append(ops, op{name: "never"})
				continue
			}
			if _, ok := v.(string); !ok {
				return nil, errorf(p, "want a string, got %s", describe(v))
			}
			ops = append(ops, op{name: name, val: v})
		case "contains", "notContains":
			if !isScalar(v) {
				return nil, errorf(p, "want a scalar, got %s", describe(v))
			}
			if v == nil {
				if name == "contains" {
					ops = append(ops, op{name: "never"})
				}
				continue
			}
			ops = append(ops, op{name: name, val: v})
		case "in", "notIn":
			if v == nil {
				continue
			}
			l, ok := anyList(v)
			if !ok {
				return nil, errorf(p, "want a list, got %s", describe(v))
			}
			for i, e := range l {
				if !isScalar(e) {
					return nil, errorf(p+"["+strconv.Itoa(i)+"]", "want a scalar, got %s", describe(e))
				}
			}
			ops = append(ops, op{name: name, vals: l})
		case "attributeExists":
			if v == nil {
				continue
			}
			b, ok := v.(bool)
			if !ok {
				return nil, errorf(p, "want a boolean, got %s", describe(v))
			}
			ops = append(ops, op{name: name, val: b})
		case "attributeType":
			if v == nil {
				continue
			}
			s, ok := v.(string)
			if !ok || !isAttributeType(s) {
				return nil, errorf(p, "want one of binary, binarySet, bool, list, map, number, numberSet, string, stringSet, _null; got %v", v)
			}
			ops = append(ops, op{name: name, val: s})
		case "size":
			if v == nil {
				continue
			}
			o, ok := v.(map[string]any)
			if !ok {
				return nil, errorf(p, "want a size operator object, got %s", describe(v))
			}
			sub, err := compileOps(p, o, true)
			if err != nil {
				return nil, err
			}
			ops = append(ops, op{name: name, size: sub})
		default:
			return nil, errorf(p, "unknown operator %q", name)
		}
	}
	return ops, nil
}

func isNumber(v any) bool { _, ok := scalar.NumberOf(v); return ok }

func orderedWord(inSize bool) string {
	if inSize {
		return "number"
	}
	return "string or number"
}
