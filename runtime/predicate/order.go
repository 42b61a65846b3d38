package predicate

import "slices"

// Order is a sort order on one field of model T, made by a field handle's
// Asc or Desc method. A null field sorts before every value in ascending
// order and after every value in descending order. The zero Order considers
// all values equal.
type Order[T any] struct {
	field string
	desc  bool
	asc   func(a, b *T) int
}

// Field returns the name of the field o sorts by.
func (o Order[T]) Field() string { return o.field }

// Descending reports whether o sorts in descending order.
func (o Order[T]) Descending() bool { return o.desc }

// Compare returns a negative number when a sorts before b, a positive number
// when a sorts after b, and 0 when o does not tell them apart. a and b must
// not be nil.
func (o Order[T]) Compare(a, b *T) int {
	if o.asc == nil {
		return 0
	}
	if o.desc {
		return o.asc(b, a)
	}
	return o.asc(a, b)
}

// orderBy returns the order on the field read by get, with nulls first and
// values ordered by compare, reversed if desc.
func orderBy[T, V any](field string, get func(*T) (V, bool), compare func(a, b V) int, desc bool) Order[T] {
	return Order[T]{field: field, desc: desc, asc: func(a, b *T) int {
		av, aok := get(a)
		bv, bok := get(b)
		switch {
		case aok && bok:
			return compare(av, bv)
		case aok:
			return 1
		case bok:
			return -1
		}
		return 0
	}}
}

// Compare compares a and b by the first of orders that tells them apart, as
// [Order.Compare] does, and returns 0 if none does.
func Compare[T any](a, b *T, orders ...Order[T]) int {
	for _, o := range orders {
		if c := o.Compare(a, b); c != 0 {
			return c
		}
	}
	return 0
}

// Sort sorts items by orders, as [Compare] does. The sort is stable: items
// that no order tells apart keep their relative positions. The items must not
// be nil.
func Sort[T any](items []*T, orders ...Order[T]) {
	if len(orders) == 0 {
		return
	}
	slices.SortStableFunc(items, func(a, b *T) int { return Compare(a, b, orders...) })
}
