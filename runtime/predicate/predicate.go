package predicate

// Predicate is a condition on values of model type T, built from field
// handles and combined with [And], [Or] and [Not]. The zero Predicate matches
// every value.
type Predicate[T any] struct {
	// match and expr are both nil for the zero Predicate, and both set
	// otherwise.
	match func(*T) bool
	expr  *Expr
}

// All returns the predicate that matches every value: the zero Predicate.
func All[T any]() Predicate[T] {
	return Predicate[T]{}
}

// Match reports whether v satisfies p. v must not be nil.
func (p Predicate[T]) Match(v *T) bool {
	return p.match == nil || p.match(v)
}

// Expr returns p as an untyped expression tree; the zero Predicate yields
// the zero Expr, of kind [KindTrue]. The tree shares memory with p and must
// not be modified.
func (p Predicate[T]) Expr() Expr {
	if p.expr == nil {
		return Expr{}
	}
	return *p.expr
}

// String describes p, as [Expr.String] does.
func (p Predicate[T]) String() string {
	return p.Expr().String()
}

// And returns a predicate matching the values that match every one of ps.
// And of no predicates matches every value.
func And[T any](ps ...Predicate[T]) Predicate[T] {
	return group(KindAnd, ps)
}

// Or returns a predicate matching the values that match at least one of ps.
// As in Amplify DataStore, Or of no predicates matches every value.
func Or[T any](ps ...Predicate[T]) Predicate[T] {
	return group(KindOr, ps)
}

// Not returns a predicate matching the values that p does not match.
func Not[T any](p Predicate[T]) Predicate[T] {
	m := p.match
	return Predicate[T]{
		match: func(v *T) bool { return m != nil && !m(v) },
		expr:  &Expr{Kind: KindNot, Children: []Expr{p.Expr()}},
	}
}

// group builds And and Or. Predicates matching everything are dropped from
// an And and make an Or match everything; nested groups of the same kind are
// flattened in the expression, and a group of one is that predicate.
func group[T any](kind ExprKind, ps []Predicate[T]) Predicate[T] {
	var (
		matches  []func(*T) bool
		children []Expr
		last     Predicate[T]
	)
	for _, p := range ps {
		if p.match == nil {
			if kind == KindOr {
				return Predicate[T]{}
			}
			continue
		}
		last = p
		matches = append(matches, p.match)
		if p.expr.Kind == kind {
			children = append(children, p.expr.Children...)
		} else {
			children = append(children, *p.expr)
		}
	}
	switch len(matches) {
	case 0:
		return Predicate[T]{}
	case 1:
		return last
	}
	match := func(v *T) bool {
		for _, m := range matches {
			if !m(v) {
				return false
			}
		}
		return true
	}
	if kind == KindOr {
		match = func(v *T) bool {
			for _, m := range matches {
				if m(v) {
					return true
				}
			}
			return false
		}
	}
	return Predicate[T]{match: match, expr: &Expr{Kind: kind, Children: children}}
}

// cond returns a predicate of kind [KindCond].
func cond[T any](field string, op Op, args []any, match func(*T) bool) Predicate[T] {
	return Predicate[T]{
		match: match,
		expr:  &Expr{Kind: KindCond, Field: field, Op: op, Args: args},
	}
}
