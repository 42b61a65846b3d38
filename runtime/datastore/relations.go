package datastore

import (
	"bytes"
	"context"
	"errors"

	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/predicate"
)

// Related returns a query over the target records related to v through
// its relational field: the target records whose key fields equal v's
// (see meta.Schema.RelationKeys). When one of v's key values is null the
// query matches nothing.
func Related[S, T any](src *Repo[S], v *S, field string, target *Repo[T]) *Query[T] {
	q := target.Query()
	m := src.model.Meta
	f := m.Field(field)
	if f == nil {
		return q.Where(never[T]())
	}
	from, to := src.store.schema.RelationKeys(m, f)
	if len(from) == 0 {
		return q.Where(never[T]())
	}
	for i := range from {
		val, ok := src.model.Get(v, from[i])
		if !ok {
			return q.Where(never[T]())
		}
		q.Where(fieldEq(target.model, to[i], val))
	}
	return q
}

// ByIndex returns a query over records whose index partition key equals
// value.
func ByIndex[T any](r *Repo[T], index string, value any) *Query[T] {
	ix := r.model.Meta.Index(index)
	if ix == nil {
		return r.Query().Where(never[T]())
	}
	return r.Query().Where(fieldEq(r.model, ix.Fields[0], value))
}

// Through returns the far-side records of a many-to-many relation: the join
// rows related to v through field, then for each row the record of far it
// points at.
func Through[S, J, T any](ctx context.Context, src *Repo[S], v *S, field string, join *Repo[J], far *Repo[T]) ([]*T, error) {
	rows, err := Related(src, v, field, join).All(ctx)
	if err != nil {
		return nil, err
	}
	var link *meta.Field
	for _, f := range join.model.Meta.Fields {
		if f.Relation != nil && f.Relation.Kind == meta.BelongsTo && f.Relation.Model == far.model.Meta.Name {
			link = f
		}
	}
	if link == nil {
		return nil, errorf("%s has no relation to %s", join.model.Meta.Name, far.model.Meta.Name)
	}
	out := make([]*T, 0, len(rows))
	for _, row := range rows {
		t, err := Related(join, row, link.Name, far).First(ctx)
		if errors.Is(err, ErrNotFound) {
			continue // a join row whose far record has not synced yet
		}
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// never returns a predicate that matches nothing.
func never[T any]() predicate.Predicate[T] {
	return predicate.Ordered("", func(*T) (int, bool) { return 0, false }).Eq(0)
}

// fieldEq returns the predicate field == value over model m, for values
// whose type is only known at run time. Values compare by their key
// encoding, which orders every stored scalar type as its own Compare does.
func fieldEq[T any](m *Model[T], field string, value any) predicate.Predicate[T] {
	f := m.Meta.Field(field)
	if f == nil {
		return never[T]()
	}
	get := func(v *T) (any, bool) { return m.Get(v, field) }
	compare := func(a, b any) int {
		ka, _ := engine.ValueComponent(nil, f, a)
		kb, _ := engine.ValueComponent(nil, f, b)
		return bytes.Compare(ka, kb)
	}
	return predicate.Compared(field, get, compare).Eq(value)
}
