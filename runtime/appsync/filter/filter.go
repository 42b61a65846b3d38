// Package filter evaluates AppSync model filters and conditions
// (Model<T>FilterInput, Model<T>ConditionInput and
// ModelSubscription<T>FilterInput values) on items, with the semantics
// AppSync gets from DynamoDB condition and filter expressions.
//
// Items and filters are JSON-shaped: map[string]any, []any, string, bool,
// nil and numbers of any Go numeric kind or json.Number (numbers compare by
// value whatever their kind).
//
// Semantics, and where they come from:
//   - A filter object ANDs its keys; "and" and "or" take lists of filter
//     objects, "not" one filter object. Field keys take an operator object
//     whose operators are ANDed. An empty "and" or "or" list adds no
//     condition (AppSync's filter transform emits no expression for it).
//   - eq, le, lt, ge, gt, between, beginsWith, contains, in and size
//     comparisons are false when the attribute is missing, and false across
//     types (a string never equals or orders against a number).
//   - ne is the negation of eq and notContains the negation of contains,
//     so both are true for a missing attribute and across types. DynamoDB's
//     API reference (Condition, ComparisonOperator NE: "If an item contains
//     an AttributeValue of a different type than the one provided in the
//     request, the value does not match") and the dynalite emulator
//     (db/index.js matchesFilter: NE and NOT_CONTAINS pass when the
//     attribute is absent) agree; AppSync renders notContains as
//     NOT contains(...), which is true when contains is false.
//   - A null-valued attribute exists (attributeExists: true, attributeType:
//     _null) and equals only a null operand; ordering comparisons on it are
//     false. With a null operand, eq and ne compare with null; le, lt, ge,
//     gt, between, beginsWith and contains never match; the other operators
//     are ignored, as is a null field or and/or/not value (GraphQL's
//     explicit null for an optional input).
//   - Strings order by their UTF-8 bytes, as DynamoDB orders strings.
//   - contains and notContains test substrings of strings and elements of
//     lists. size is the length of a string (in UTF-8 bytes), list or map;
//     it is undefined (so every size comparison is false) for other types.
//   - attributeType matches the type DynamoDB would store the JSON value as:
//     string, number, bool, _null, list or map. JSON has no sets or
//     binaries, so binary, binarySet, numberSet and stringSet never match.
//   - in and notIn (subscription filters) test membership with eq.
package filter

import (
	"fmt"
	"strings"

	"github.com/dsgen/dsgen/runtime/scalar"
)

// Error reports a malformed filter: Path locates the offending part, as in
// `filter.and[1].rating.between`.
type Error struct {
	Path string
	Msg  string
}

// Error implements error.
func (e *Error) Error() string { return e.Path + ": " + e.Msg }

// Filter is a compiled filter, safe for concurrent use.
type Filter struct {
	root node
}

// Match reports whether item satisfies filter (a Model<T>FilterInput,
// Model<T>ConditionInput or ModelSubscription<T>FilterInput value). A nil
// or empty filter matches everything. A malformed filter returns an *Error.
func Match(filter map[string]any, item map[string]any) (bool, error) {
	if len(filter) == 0 {
		// No condition (a mutation without one, every create of a
		// client): nothing to compile, and it matches everything.
		return true, nil
	}
	f, err := Compile(filter)
	if err != nil {
		return false, err
	}
	return f.Match(item), nil
}

// Validate checks a filter's shape (known operators, operand types, between
// has two values...) and returns an *Error naming the path of the offending
// part, e.g. `filter.and[1].rating.between: want 2 values, got 3`.
func Validate(filter map[string]any) error {
	_, err := Compile(filter)
	return err
}

// Compile validates filter and prepares it for repeated matching, as a
// subscription does for every event.
func Compile(filter map[string]any) (*Filter, error) {
	n, err := compileObject("filter", filter)
	if err != nil {
		return nil, err
	}
	return &Filter{root: n}, nil
}

// Match reports whether item satisfies the filter. A nil *Filter matches
// everything.
func (f *Filter) Match(item map[string]any) bool {
	if f == nil || f.root == nil {
		return true
	}
	return f.root.eval(item)
}

// node is a compiled boolean expression.
type node interface {
	eval(item map[string]any) bool
}

type andNode []node

func (n andNode) eval(item map[string]any) bool {
	for _, c := range n {
		if !c.eval(item) {
			return false
		}
	}
	return true
}

type orNode []node

func (n orNode) eval(item map[string]any) bool {
	for _, c := range n {
		if c.eval(item) {
			return true
		}
	}
	return false
}

type notNode struct{ n node }

func (n notNode) eval(item map[string]any) bool { return !n.n.eval(item) }

// fieldNode applies operators (ANDed) to one attribute.
type fieldNode struct {
	name string
	ops  []op
}

func (n fieldNode) eval(item map[string]any) bool {
	v, ok := item[n.name]
	for _, o := range n.ops {
		if !o.test(v, ok) {
			return false
		}
	}
	return true
}

// op is one compiled operator with its normalised operands.
type op struct {
	name string
	val  any   // eq ne le lt ge gt beginsWith contains notContains attributeType; attributeExists (bool)
	vals []any // between (2), in, notIn
	size []op  // size
}

// test applies the operator to an attribute value; present is false for
// a missing attribute.
func (o op) test(v any, present bool) bool {
	switch o.name {
	case "attributeExists":
		return o.val.(bool) == present
	case "ne":
		return !present || !equal(v, o.val)
	case "notContains":
		return !present || !contains(v, o.val)
	case "notIn":
		return !present || !in(v, o.vals)
	}
	if !present {
		return false
	}
	switch o.name {
	case "eq":
		return equal(v, o.val)
	case "le", "lt", "ge", "gt":
		c, ok := compare(v, o.val)
		return ok && cmpOK(o.name, c)
	case "between":
		lo, ok1 := compare(v, o.vals[0])
		hi, ok2 := compare(v, o.vals[1])
		return ok1 && ok2 && lo >= 0 && hi <= 0
	case "beginsWith":
		s, ok := v.(string)
		p, ok2 := o.val.(string)
		return ok && ok2 && strings.HasPrefix(s, p)
	case "contains":
		return contains(v, o.val)
	case "in":
		return in(v, o.vals)
	case "attributeType":
		return typeName(v) == o.val
	case "size":
		n, ok := size(v)
		if !ok {
			return false
		}
		for _, s := range o.size {
			if !s.test(n, true) {
				return false
			}
		}
		return true
	}
	return false
}

func cmpOK(name string, c int) bool {
	switch name {
	case "le":
		return c <= 0
	case "lt":
		return c < 0
	case "ge":
		return c >= 0
	case "gt":
		return c > 0
	}
	return false
}

func in(v any, vals []any) bool {
	for _, x := range vals {
		if equal(v, x) {
			return true
		}
	}
	return false
}

// contains tests a substring of a string or an element of a list.
func contains(v, operand any) bool {
	switch t := v.(type) {
	case string:
		s, ok := operand.(string)
		return ok && strings.Contains(t, s)
	case []any:
		for _, e := range t {
			if equal(e, operand) {
				return true
			}
		}
	}
	return false
}

// size returns the DynamoDB size of a string, list or map.
func size(v any) (int64, bool) {
	switch t := v.(type) {
	case string:
		return int64(len(t)), true
	case []any:
		return int64(len(t)), true
	case map[string]any:
		return int64(len(t)), true
	}
	return 0, false
}

// typeName returns the ModelAttributeTypes value of a JSON value.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "_null"
	case string:
		return "string"
	case bool:
		return "bool"
	case []any:
		return "list"
	case map[string]any:
		return "map"
	}
	if _, ok := scalar.NumberOf(v); ok {
		return "number"
	}
	return ""
}

// compare orders two strings (by bytes) or two numbers; ok is false for
// any other pair.
func compare(a, b any) (int, bool) {
	if as, ok := a.(string); ok {
		bs, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(as, bs), true
	}
	an, ok := scalar.NumberOf(a)
	if !ok {
		return 0, false
	}
	bn, ok := scalar.NumberOf(b)
	if !ok {
		return 0, false
	}
	return an.Compare(bn)
}

// equal is DynamoDB equality: same type and value; lists element by
// element, maps key by key.
func equal(a, b any) bool {
	switch at := a.(type) {
	case nil:
		return b == nil
	case string:
		bt, ok := b.(string)
		return ok && at == bt
	case bool:
		bt, ok := b.(bool)
		return ok && at == bt
	case []any:
		bt, ok := b.([]any)
		if !ok || len(at) != len(bt) {
			return false
		}
		for i := range at {
			if !equal(at[i], bt[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		bt, ok := b.(map[string]any)
		if !ok || len(at) != len(bt) {
			return false
		}
		for k, v := range at {
			w, ok := bt[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	}
	c, ok := compare(a, b)
	return ok && c == 0
}

// describe names a value's JSON type for error messages.
func describe(v any) string {
	switch t := typeName(v); t {
	case "_null":
		return "null"
	case "":
		return fmt.Sprintf("%T", v)
	default:
		return t
	}
}
