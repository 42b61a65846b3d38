package predicate

import (
	"cmp"
	"slices"
	"strings"
)

// StringField is a field of model T whose type S has underlying type string:
// String, ID, enums, AWSEmail and the like.
type StringField[T any, S ~string] struct {
	name string
	get  func(*T) (S, bool)
}

// String returns a handle on the field called name, read by get.
func String[T any, S ~string](name string, get func(*T) (S, bool)) StringField[T, S] {
	return StringField[T, S]{name, get}
}

// Name returns the field's name.
func (f StringField[T, S]) Name() string { return f.name }

// ordered returns f as an OrderedField, which has the same representation.
func (f StringField[T, S]) ordered() OrderedField[T, S] { return OrderedField[T, S](f) }

// Eq matches values whose field equals x.
func (f StringField[T, S]) Eq(x S) Predicate[T] { return f.ordered().Eq(x) }

// Ne matches values whose field is null or differs from x.
func (f StringField[T, S]) Ne(x S) Predicate[T] { return f.ordered().Ne(x) }

// Gt matches values whose field is greater than x, comparing bytewise.
func (f StringField[T, S]) Gt(x S) Predicate[T] { return f.ordered().Gt(x) }

// Ge matches values whose field is greater than or equal to x.
func (f StringField[T, S]) Ge(x S) Predicate[T] { return f.ordered().Ge(x) }

// Lt matches values whose field is less than x.
func (f StringField[T, S]) Lt(x S) Predicate[T] { return f.ordered().Lt(x) }

// Le matches values whose field is less than or equal to x.
func (f StringField[T, S]) Le(x S) Predicate[T] { return f.ordered().Le(x) }

// Between matches values whose field is at least lo and at most hi.
func (f StringField[T, S]) Between(lo, hi S) Predicate[T] { return f.ordered().Between(lo, hi) }

// In matches values whose field equals one of xs.
func (f StringField[T, S]) In(xs ...S) Predicate[T] { return f.ordered().In(xs...) }

// NotIn matches values whose field is null or equals none of xs.
func (f StringField[T, S]) NotIn(xs ...S) Predicate[T] { return f.ordered().NotIn(xs...) }

// Exists matches values whose field is not null.
func (f StringField[T, S]) Exists() Predicate[T] { return exists(f.name, f.get) }

// NotExists matches values whose field is null.
func (f StringField[T, S]) NotExists() Predicate[T] { return notExists(f.name, f.get) }

// BeginsWith matches values whose field starts with prefix.
func (f StringField[T, S]) BeginsWith(prefix string) Predicate[T] {
	get := f.get
	return cond(f.name, OpBeginsWith, []any{prefix}, func(t *T) bool {
		v, ok := get(t)
		return ok && strings.HasPrefix(string(v), prefix)
	})
}

// Contains matches values whose field contains the substring s.
func (f StringField[T, S]) Contains(s string) Predicate[T] {
	get := f.get
	return cond(f.name, OpContains, []any{s}, func(t *T) bool {
		v, ok := get(t)
		return ok && strings.Contains(string(v), s)
	})
}

// NotContains matches values whose field is null or does not contain the
// substring s.
func (f StringField[T, S]) NotContains(s string) Predicate[T] {
	get := f.get
	return cond(f.name, OpNotContains, []any{s}, func(t *T) bool {
		v, ok := get(t)
		return !ok || !strings.Contains(string(v), s)
	})
}

// Asc orders by the field, nulls first, then bytewise.
func (f StringField[T, S]) Asc() Order[T] { return f.ordered().Asc() }

// Desc orders by the field, bytewise descending, nulls last.
func (f StringField[T, S]) Desc() Order[T] { return f.ordered().Desc() }

// OrderedField is a field of model T whose type V has Go's < operator:
// Int, Float, AWSTimestamp and the like.
type OrderedField[T any, V cmp.Ordered] struct {
	name string
	get  func(*T) (V, bool)
}

// Ordered returns a handle on the field called name, read by get.
func Ordered[T any, V cmp.Ordered](name string, get func(*T) (V, bool)) OrderedField[T, V] {
	return OrderedField[T, V]{name, get}
}

// Name returns the field's name.
func (f OrderedField[T, V]) Name() string { return f.name }

// Eq matches values whose field equals x.
func (f OrderedField[T, V]) Eq(x V) Predicate[T] { return eq(f.name, f.get, x) }

// Ne matches values whose field is null or differs from x.
func (f OrderedField[T, V]) Ne(x V) Predicate[T] { return ne(f.name, f.get, x) }

// Gt matches values whose field is greater than x.
func (f OrderedField[T, V]) Gt(x V) Predicate[T] {
	get := f.get
	return cond(f.name, OpGt, []any{x}, func(t *T) bool {
		v, ok := get(t)
		return ok && v > x
	})
}

// Ge matches values whose field is greater than or equal to x.
func (f OrderedField[T, V]) Ge(x V) Predicate[T] {
	get := f.get
	return cond(f.name, OpGe, []any{x}, func(t *T) bool {
		v, ok := get(t)
		return ok && v >= x
	})
}

// Lt matches values whose field is less than x.
func (f OrderedField[T, V]) Lt(x V) Predicate[T] {
	get := f.get
	return cond(f.name, OpLt, []any{x}, func(t *T) bool {
		v, ok := get(t)
		return ok && v < x
	})
}

// Le matches values whose field is less than or equal to x.
func (f OrderedField[T, V]) Le(x V) Predicate[T] {
	get := f.get
	return cond(f.name, OpLe, []any{x}, func(t *T) bool {
		v, ok := get(t)
		return ok && v <= x
	})
}

// Between matches values whose field is at least lo and at most hi.
func (f OrderedField[T, V]) Between(lo, hi V) Predicate[T] {
	get := f.get
	return cond(f.name, OpBetween, []any{lo, hi}, func(t *T) bool {
		v, ok := get(t)
		return ok && lo <= v && v <= hi
	})
}

// In matches values whose field equals one of xs.
func (f OrderedField[T, V]) In(xs ...V) Predicate[T] { return in(f.name, f.get, xs) }

// NotIn matches values whose field is null or equals none of xs.
func (f OrderedField[T, V]) NotIn(xs ...V) Predicate[T] { return notIn(f.name, f.get, xs) }

// Exists matches values whose field is not null.
func (f OrderedField[T, V]) Exists() Predicate[T] { return exists(f.name, f.get) }

// NotExists matches values whose field is null.
func (f OrderedField[T, V]) NotExists() Predicate[T] { return notExists(f.name, f.get) }

// Asc orders by the field, nulls first, then ascending.
func (f OrderedField[T, V]) Asc() Order[T] { return orderBy(f.name, f.get, cmp.Compare[V], false) }

// Desc orders by the field descending, nulls last.
func (f OrderedField[T, V]) Desc() Order[T] { return orderBy(f.name, f.get, cmp.Compare[V], true) }

// CompareField is a field of model T whose type V is ordered by a compare
// function, such as the AWS date and time scalars. Eq, In and the other
// operators all use that function: two values are equal when it returns 0.
type CompareField[T, V any] struct {
	name    string
	get     func(*T) (V, bool)
	compare func(a, b V) int
}

// Compared returns a handle on the field called name, read by get and
// ordered by compare, which returns a negative number, zero or a positive
// number when a < b, a == b or a > b.
func Compared[T, V any](name string, get func(*T) (V, bool), compare func(a, b V) int) CompareField[T, V] {
	return CompareField[T, V]{name, get, compare}
}

// Name returns the field's name.
func (f CompareField[T, V]) Name() string { return f.name }

// test returns a condition true when the field is present and keep accepts
// the field compared with x.
func (f CompareField[T, V]) test(op Op, x V, keep func(c int) bool) Predicate[T] {
	get, compare := f.get, f.compare
	return cond(f.name, op, []any{x}, func(t *T) bool {
		v, ok := get(t)
		return ok && keep(compare(v, x))
	})
}

// Eq matches values whose field equals x.
func (f CompareField[T, V]) Eq(x V) Predicate[T] {
	return f.test(OpEq, x, func(c int) bool { return c == 0 })
}

// Ne matches values whose field is null or differs from x.
func (f CompareField[T, V]) Ne(x V) Predicate[T] {
	get, compare := f.get, f.compare
	return cond(f.name, OpNe, []any{x}, func(t *T) bool {
		v, ok := get(t)
		return !ok || compare(v, x) != 0
	})
}

// Gt matches values whose field is greater than x.
func (f CompareField[T, V]) Gt(x V) Predicate[T] {
	return f.test(OpGt, x, func(c int) bool { return c > 0 })
}

// Ge matches values whose field is greater than or equal to x.
func (f CompareField[T, V]) Ge(x V) Predicate[T] {
	return f.test(OpGe, x, func(c int) bool { return c >= 0 })
}

// Lt matches values whose field is less than x.
func (f CompareField[T, V]) Lt(x V) Predicate[T] {
	return f.test(OpLt, x, func(c int) bool { return c < 0 })
}

// Le matches values whose field is less than or equal to x.
func (f CompareField[T, V]) Le(x V) Predicate[T] {
	return f.test(OpLe, x, func(c int) bool { return c <= 0 })
}

// Between matches values whose field is at least lo and at most hi.
func (f CompareField[T, V]) Between(lo, hi V) Predicate[T] {
	get, compare := f.get, f.compare
	return cond(f.name, OpBetween, []any{lo, hi}, func(t *T) bool {
		v, ok := get(t)
		return ok && compare(lo, v) <= 0 && compare(v, hi) <= 0
	})
}

// In matches values whose field equals one of xs.
func (f CompareField[T, V]) In(xs ...V) Predicate[T] {
	get, member := f.get, setFunc(xs, f.compare)
	return cond(f.name, OpIn, anys(xs), func(t *T) bool {
		v, ok := get(t)
		return ok && member(v)
	})
}

// NotIn matches values whose field is null or equals none of xs.
func (f CompareField[T, V]) NotIn(xs ...V) Predicate[T] {
	get, member := f.get, setFunc(xs, f.compare)
	return cond(f.name, OpNotIn, anys(xs), func(t *T) bool {
		v, ok := get(t)
		return !ok || !member(v)
	})
}

// Exists matches values whose field is not null.
func (f CompareField[T, V]) Exists() Predicate[T] { return exists(f.name, f.get) }

// NotExists matches values whose field is null.
func (f CompareField[T, V]) NotExists() Predicate[T] { return notExists(f.name, f.get) }

// Asc orders by the field, nulls first, then ascending.
func (f CompareField[T, V]) Asc() Order[T] { return orderBy(f.name, f.get, f.compare, false) }

// Desc orders by the field descending, nulls last.
func (f CompareField[T, V]) Desc() Order[T] { return orderBy(f.name, f.get, f.compare, true) }

// BoolField is a Boolean field of model T.
type BoolField[T any] struct {
	name string
	get  func(*T) (bool, bool)
}

// Bool returns a handle on the field called name, read by get.
func Bool[T any](name string, get func(*T) (value, present bool)) BoolField[T] {
	return BoolField[T]{name, get}
}

// Name returns the field's name.
func (f BoolField[T]) Name() string { return f.name }

// Eq matches values whose field equals x.
func (f BoolField[T]) Eq(x bool) Predicate[T] { return eq(f.name, f.get, x) }

// Ne matches values whose field is null or differs from x.
func (f BoolField[T]) Ne(x bool) Predicate[T] { return ne(f.name, f.get, x) }

// Exists matches values whose field is not null.
func (f BoolField[T]) Exists() Predicate[T] { return exists(f.name, f.get) }

// NotExists matches values whose field is null.
func (f BoolField[T]) NotExists() Predicate[T] { return notExists(f.name, f.get) }

// Asc orders by the field: nulls, then false, then true.
func (f BoolField[T]) Asc() Order[T] { return orderBy(f.name, f.get, compareBool, false) }

// Desc orders by the field: true, then false, then nulls.
func (f BoolField[T]) Desc() Order[T] { return orderBy(f.name, f.get, compareBool, true) }

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// ListField is a list field of model T with elements of type V. A nil list
// is null.
type ListField[T any, V comparable] struct {
	name string
	// has reports whether t's list holds x; null reports whether the list
	// is null.
	has  func(t *T, x V) bool
	null func(t *T) bool
}

// List returns a handle on the list field called name, read by get.
func List[T any, V comparable](name string, get func(*T) []V) ListField[T, V] {
	return ListField[T, V]{
		name: name,
		has:  func(t *T, x V) bool { return slices.Contains(get(t), x) },
		null: func(t *T) bool { return get(t) == nil },
	}
}

// NullableList returns a handle on the list field called name whose
// elements may be null ([T] in GraphQL, []*T in Go), read by get. A null
// element equals no value.
func NullableList[T any, V comparable](name string, get func(*T) []*V) ListField[T, V] {
	return ListField[T, V]{
		name: name,
		has: func(t *T, x V) bool {
			return slices.ContainsFunc(get(t), func(p *V) bool { return p != nil && *p == x })
		},
		null: func(t *T) bool { return get(t) == nil },
	}
}

// Name returns the field's name.
func (f ListField[T, V]) Name() string { return f.name }

// Contains matches values whose list has an element equal to x.
func (f ListField[T, V]) Contains(x V) Predicate[T] {
	has := f.has
	return cond(f.name, OpContains, []any{x}, func(t *T) bool { return has(t, x) })
}

// NotContains matches values whose list is null or has no element equal to
// x.
func (f ListField[T, V]) NotContains(x V) Predicate[T] {
	has := f.has
	return cond(f.name, OpNotContains, []any{x}, func(t *T) bool { return !has(t, x) })
}

// Exists matches values whose list is not nil.
func (f ListField[T, V]) Exists() Predicate[T] {
	null := f.null
	return cond(f.name, OpAttributeExists, []any{true}, func(t *T) bool { return !null(t) })
}

// NotExists matches values whose list is nil.
func (f ListField[T, V]) NotExists() Predicate[T] {
	null := f.null
	return cond(f.name, OpAttributeExists, []any{false}, func(t *T) bool { return null(t) })
}

// Conditions shared by several field kinds.

func eq[T any, V comparable](name string, get func(*T) (V, bool), x V) Predicate[T] {
	return cond(name, OpEq, []any{x}, func(t *T) bool {
		v, ok := get(t)
		return ok && v == x
	})
}

func ne[T any, V comparable](name string, get func(*T) (V, bool), x V) Predicate[T] {
	return cond(name, OpNe, []any{x}, func(t *T) bool {
		v, ok := get(t)
		return !ok || v != x
	})
}

func in[T any, V comparable](name string, get func(*T) (V, bool), xs []V) Predicate[T] {
	member := set(xs)
	return cond(name, OpIn, anys(xs), func(t *T) bool {
		v, ok := get(t)
		return ok && member(v)
	})
}

func notIn[T any, V comparable](name string, get func(*T) (V, bool), xs []V) Predicate[T] {
	member := set(xs)
	return cond(name, OpNotIn, anys(xs), func(t *T) bool {
		v, ok := get(t)
		return !ok || !member(v)
	})
}

func exists[T, V any](name string, get func(*T) (V, bool)) Predicate[T] {
	return cond(name, OpAttributeExists, []any{true}, func(t *T) bool {
		_, ok := get(t)
		return ok
	})
}

func notExists[T, V any](name string, get func(*T) (V, bool)) Predicate[T] {
	return cond(name, OpAttributeExists, []any{false}, func(t *T) bool {
		_, ok := get(t)
		return !ok
	})
}

// smallSet is the largest set In and NotIn search linearly.
const smallSet = 8

// set returns a membership test for a copy of xs.
func set[V comparable](xs []V) func(V) bool {
	if len(xs) <= smallSet {
		xs = slices.Clone(xs)
		return func(v V) bool { return slices.Contains(xs, v) }
	}
	m := make(map[V]struct{}, len(xs))
	for _, x := range xs {
		m[x] = struct{}{}
	}
	return func(v V) bool {
		_, ok := m[v]
		return ok
	}
}

// setFunc returns a membership test for a copy of xs, where compare decides
// equality.
func setFunc[V any](xs []V, compare func(a, b V) int) func(V) bool {
	xs = slices.Clone(xs)
	if len(xs) <= smallSet {
		return func(v V) bool {
			for _, x := range xs {
				if compare(x, v) == 0 {
					return true
				}
			}
			return false
		}
	}
	slices.SortFunc(xs, compare)
	return func(v V) bool {
		_, found := slices.BinarySearchFunc(xs, v, compare)
		return found
	}
}

// anys returns xs as a []any.
func anys[V any](xs []V) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// Deref returns *p and true, or the zero value and false when p is nil. It
// adapts nullable struct fields to the (value, present) getters of field
// handles.
func Deref[V any](p *V) (V, bool) {
	if p == nil {
		var zero V
		return zero, false
	}
	return *p, true
}
