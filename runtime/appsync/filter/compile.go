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
		p := path + "." + name
		if inSize {
			switch name {
			case "ne", "eq", "le", "lt", "ge", "gt", "between":
			default:
				return nil, errorf(p, "unknown size operator %q (want ne, eq, le, lt, ge, gt or between)", name)
			}
		}
		o, keep, err := compileOp(p, name, obj[name], inSize)
		if err != nil {
			return nil, err
		}
		if keep {
			ops = append(ops, o)
		}
	}
	return ops, nil
}

// compileOp compiles operator name with operand v at path p; keep is false
// for an operator that tests nothing (a null operand that DynamoDB leaves
// out of the expression).
func compileOp(p, name string, v any, inSize bool) (o op, keep bool, err error) {
	switch name {
	case "eq", "ne", "le", "lt", "ge", "gt", "between":
		return compileComparison(p, name, v, inSize)
	case "beginsWith":
		if v == nil {
			return op{name: "never"}, true, nil
		}
		if _, ok := v.(string); !ok {
			return op{}, false, errorf(p, "want a string, got %s", describe(v))
		}
		return op{name: name, val: v}, true, nil
	case "contains", "notContains":
		if !isScalar(v) {
			return op{}, false, errorf(p, "want a scalar, got %s", describe(v))
		}
		if v == nil {
			return op{name: "never"}, name == "contains", nil
		}
		return op{name: name, val: v}, true, nil
	case "in", "notIn":
		if v == nil {
			return op{}, false, nil
		}
		l, ok := anyList(v)
		if !ok {
			return op{}, false, errorf(p, "want a list, got %s", describe(v))
		}
		if err := scalarList(p, l); err != nil {
			return op{}, false, err
		}
		return op{name: name, vals: l}, true, nil
	case "attributeExists":
		if v == nil {
			return op{}, false, nil
		}
		b, ok := v.(bool)
		if !ok {
			return op{}, false, errorf(p, "want a boolean, got %s", describe(v))
		}
		return op{name: name, val: b}, true, nil
	case "attributeType":
		if v == nil {
			return op{}, false, nil
		}
		s, ok := v.(string)
		if !ok || !isAttributeType(s) {
			return op{}, false, errorf(p, "want one of binary, binarySet, bool, list, map, number, numberSet, string, stringSet, _null; got %v", v)
		}
		return op{name: name, val: s}, true, nil
	case "size":
		if v == nil {
			return op{}, false, nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return op{}, false, errorf(p, "want a size operator object, got %s", describe(v))
		}
		sub, err := compileOps(p, obj, true)
		if err != nil {
			return op{}, false, err
		}
		return op{name: name, size: sub}, true, nil
	}
	return op{}, false, errorf(p, "unknown operator %q", name)
}

// compileComparison compiles eq, ne, le, lt, ge, gt and between.
func compileComparison(p, name string, v any, inSize bool) (op, bool, error) {
	switch name {
	case "eq", "ne":
		if l, ok := anyList(v); ok {
			if err := scalarList(p, l); err != nil {
				return op{}, false, err
			}
			v = l
		} else if !isScalar(v) {
			return op{}, false, errorf(p, "want a scalar or a list, got %s", describe(v))
		}
		if inSize && v != nil && !isNumber(v) {
			return op{}, false, errorf(p, "want a number, got %s", describe(v))
		}
		return op{name: name, val: v}, true, nil
	case "between":
		if v == nil {
			return op{name: "never"}, true, nil
		}
		l, ok := anyList(v)
		if !ok {
			return op{}, false, errorf(p, "want a list of 2 values, got %s", describe(v))
		}
		if len(l) != 2 {
			return op{}, false, errorf(p, "want 2 values, got %d", len(l))
		}
		for i, e := range l {
			if !isOrdered(e) || (inSize && !isNumber(e)) {
				return op{}, false, errorf(p+"["+strconv.Itoa(i)+"]", "want a %s, got %s", orderedWord(inSize), describe(e))
			}
		}
		c, ok := compare(l[0], l[1])
		if !ok {
			return op{}, false, errorf(p, "bounds of different types (%s and %s)", describe(l[0]), describe(l[1]))
		}
		if c > 0 {
			// DynamoDB rejects BETWEEN with a lower bound above the upper one.
			return op{}, false, errorf(p, "lower bound %v is greater than upper bound %v", l[0], l[1])
		}
		return op{name: name, vals: l}, true, nil
	}
	// le, lt, ge, gt
	if v == nil {
		return op{name: "never"}, true, nil
	}
	if !isOrdered(v) || (inSize && !isNumber(v)) {
		return op{}, false, errorf(p, "want a %s, got %s", orderedWord(inSize), describe(v))
	}
	return op{name: name, val: v}, true, nil
}

// scalarList checks that every element of the list at p is a scalar.
func scalarList(p string, l []any) error {
	for i, e := range l {
		if !isScalar(e) {
			return errorf(p+"["+strconv.Itoa(i)+"]", "want a scalar, got %s", describe(e))
		}
	}
	return nil
}

func isNumber(v any) bool { _, ok := scalar.NumberOf(v); return ok }

func orderedWord(inSize bool) string {
	if inSize {
		return "number"
	}
	return "string or number"
}
