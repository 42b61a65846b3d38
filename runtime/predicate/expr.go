package predicate

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Op is a condition operator. Its value is the operator's name in Amplify
// DataStore and in AppSync filters.
type Op string

// The operators. A condition [Expr] holds these Args for each:
//
//	OpBetween          [lo, hi]
//	OpIn, OpNotIn      the values, possibly none
//	OpAttributeExists  [true] for Exists, [false] for NotExists
//	any other          [operand]
const (
	OpEq              Op = "eq"
	OpNe              Op = "ne"
	OpGt              Op = "gt"
	OpGe              Op = "ge"
	OpLt              Op = "lt"
	OpLe              Op = "le"
	OpBetween         Op = "between"
	OpBeginsWith      Op = "beginsWith"
	OpContains        Op = "contains"
	OpNotContains     Op = "notContains"
	OpIn              Op = "in"
	OpNotIn           Op = "notIn"
	OpAttributeExists Op = "attributeExists"
)

// ExprKind is the kind of an [Expr] node.
type ExprKind uint8

// The kinds of Expr nodes.
const (
	// KindTrue matches every value; it is the zero ExprKind.
	KindTrue ExprKind = iota
	// KindCond is a condition on one field: Field Op Args.
	KindCond
	// KindAnd matches when all Children match (or there are none).
	KindAnd
	// KindOr matches when any of Children matches (or there are none).
	KindOr
	// KindNot matches when its single child does not.
	KindNot
)

// String returns "true", "cond", "and", "or" or "not".
func (k ExprKind) String() string {
	switch k {
	case KindTrue:
		return "true"
	case KindCond:
		return "cond"
	case KindAnd:
		return "and"
	case KindOr:
		return "or"
	case KindNot:
		return "not"
	}
	return "ExprKind(" + strconv.Itoa(int(k)) + ")"
}

// Expr is the untyped form of a [Predicate]: a tree of conditions. The zero
// Expr matches every value.
//
// Trees built by this package have no KindTrue node below the root except
// under a KindNot, no And or Or with fewer than two children, and no And
// directly under an And (or Or under an Or).
type Expr struct {
	Kind ExprKind
	// Field, Op and Args describe a KindCond node. Field is the field's name
	// as given to its handle; Args hold the operands as the Go values given,
	// laid out as documented on [Op].
	Field string
	Op    Op
	Args  []any
	// Children are the operands of KindAnd and KindOr, and the single
	// operand of KindNot.
	Children []Expr
}

// String describes e for humans, for example
//
//	rating > 3 AND (title beginsWith "T" OR status in ["DRAFT", "PUBLISHED"])
//
// Eq, Ne, Gt, Ge, Lt and Le print as =, !=, >, >=, <, <=; other operators
// by name, attribute existence as "exists" and "notExists". Strings are
// quoted.
func (e Expr) String() string {
	var b strings.Builder
	e.write(&b, false)
	return b.String()
}

func (e Expr) write(b *strings.Builder, nested bool) {
	switch e.Kind {
	case KindCond:
		e.writeCond(b)
	case KindNot:
		b.WriteString("NOT (")
		for _, c := range e.Children {
			c.write(b, false)
		}
		b.WriteString(")")
	case KindAnd, KindOr:
		if len(e.Children) == 0 {
			b.WriteString("TRUE")
			return
		}
		sep := " AND "
		if e.Kind == KindOr {
			sep = " OR "
		}
		if nested {
			b.WriteString("(")
		}
		for i, c := range e.Children {
			if i > 0 {
				b.WriteString(sep)
			}
			c.write(b, true)
		}
		if nested {
			b.WriteString(")")
		}
	default:
		b.WriteString("TRUE")
	}
}

// symbol returns the symbol String prints for op, or op's name.
func symbol(op Op) string {
	switch op {
	case OpEq:
		return "="
	case OpNe:
		return "!="
	case OpGt:
		return ">"
	case OpGe:
		return ">="
	case OpLt:
		return "<"
	case OpLe:
		return "<="
	}
	return string(op)
}

func (e Expr) writeCond(b *strings.Builder) {
	b.WriteString(e.Field)
	b.WriteString(" ")
	if e.Op == OpAttributeExists {
		if len(e.Args) == 1 && e.Args[0] == false {
			b.WriteString("notExists")
		} else {
			b.WriteString("exists")
		}
		return
	}
	b.WriteString(symbol(e.Op))
	b.WriteString(" ")
	if len(e.Args) == 1 && e.Op != OpIn && e.Op != OpNotIn {
		b.WriteString(formatArg(e.Args[0]))
		return
	}
	b.WriteString("[")
	for i, a := range e.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(formatArg(a))
	}
	b.WriteString("]")
}

// formatArg quotes values of string kind and prints the others with fmt.
func formatArg(a any) string {
	if v := reflect.ValueOf(a); v.Kind() == reflect.String {
		return strconv.Quote(v.String())
	}
	return fmt.Sprint(a)
}

// GraphQLFilter returns e as an AppSync filter or condition input, ready for
// encoding/json:
//
//	{"and": [{"rating": {"gt": 3}}, {"title": {"beginsWith": "T"}}]}
//	{"or": [...]}  {"not": {...}}
//	{"rating": {"between": [1, 5]}}  {"rating": {"attributeExists": true}}
//
// AppSync has no in operator: In becomes an "or" of "eq"s and NotIn an "and"
// of "ne"s (a single value needs no group). In and NotIn of no values become
// a contradiction and a tautology on the field's existence. Lists inside the
// result are []any.
//
// An Expr matching every value (KindTrue) yields an empty map, which AppSync
// reads as no filter; callers may also omit it.
func (e Expr) GraphQLFilter() map[string]any {
	switch e.Kind {
	case KindCond:
		return e.condFilter()
	case KindAnd, KindOr:
		list := make([]any, len(e.Children))
		for i, c := range e.Children {
			list[i] = c.GraphQLFilter()
		}
		return map[string]any{e.Kind.String(): list}
	case KindNot:
		child := map[string]any{}
		if len(e.Children) > 0 {
			child = e.Children[0].GraphQLFilter()
		}
		return map[string]any{"not": child}
	}
	return map[string]any{}
}

func (e Expr) condFilter() map[string]any {
	field := func(op Op, arg any) map[string]any {
		return map[string]any{e.Field: map[string]any{string(op): arg}}
	}
	switch e.Op {
	case OpBetween:
		return field(OpBetween, slices.Clone(e.Args))
	case OpIn, OpNotIn:
		op, group := OpEq, "or"
		if e.Op == OpNotIn {
			op, group = OpNe, "and"
		}
		switch len(e.Args) {
		case 0:
			// In() matches nothing and NotIn() everything, which an empty
			// "or" or "and" would not say.
			exists := []any{field(OpAttributeExists, true), field(OpAttributeExists, false)}
			if e.Op == OpIn {
				return map[string]any{"and": exists}
			}
			return map[string]any{"or": exists}
		case 1:
			return field(op, e.Args[0])
		}
		list := make([]any, len(e.Args))
		for i, a := range e.Args {
			list[i] = field(op, a)
		}
		return map[string]any{group: list}
	}
	var arg any
	if len(e.Args) > 0 {
		arg = e.Args[0]
	}
	return field(e.Op, arg)
}
