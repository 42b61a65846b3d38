package datastore

import (
	"bytes"
	"context"
	"slices"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/datastore/internal/plan"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/storage"
)

// Query is a query under construction. Methods return the query so calls
// chain; a Query is not safe for concurrent modification.
//
// Without Order, results come in the order of the access path the planner
// picks (primary key order for a scan); with Order they are sorted by it and
// then by primary key, so paging is stable.
type Query[T any] struct {
	repo   *Repo[T]
	where  []predicate.Predicate[T]
	orders []predicate.Order[T]
	limit  int
	page   int
}

// Query starts a query over all records of the model.
func (r *Repo[T]) Query() *Query[T] { return &Query[T]{repo: r} }

// Where adds predicates that must all hold.
func (q *Query[T]) Where(ps ...predicate.Predicate[T]) *Query[T] {
	q.where = append(q.where, ps...)
	return q
}

// Order sorts the results by the given orders, first one first.
func (q *Query[T]) Order(os ...predicate.Order[T]) *Query[T] {
	q.orders = append(q.orders, os...)
	return q
}

// Limit caps the number of results (the page size when paging). Zero means
// no limit.
func (q *Query[T]) Limit(n int) *Query[T] {
	q.limit = n
	return q
}

// Page selects the zero-based page of Limit results. It needs a Limit.
func (q *Query[T]) Page(n int) *Query[T] {
	q.page = n
	return q
}

// Predicate returns the conjunction of the query's predicates.
func (q *Query[T]) Predicate() predicate.Predicate[T] { return predicate.And(q.where...) }

// Plan describes how the query will run, for tests and debugging: for
// example "index byBlog: 1 range" or "scan".
func (q *Query[T]) Plan() string {
	if q.repo.table == nil {
		return "none"
	}
	return q.plan(q.Predicate()).String()
}

func (q *Query[T]) check() error {
	switch {
	case q.limit < 0 || q.page < 0:
		return errorf("query %s: negative limit %d or page %d", q.repo.model.Meta.Name, q.limit, q.page)
	case q.page > 0 && q.limit == 0:
		return errorf("query %s: page %d needs a limit", q.repo.model.Meta.Name, q.page)
	}
	return nil
}

// All returns every matching record.
func (q *Query[T]) All(ctx context.Context) ([]*T, error) {
	if err := q.repo.begin(ctx); err != nil {
		return nil, err
	}
	if err := q.check(); err != nil {
		return nil, err
	}
	var items []*T
	err := q.repo.store.view(q.repo.txn, func(txn storage.Txn) error {
		var err error
		items, err = q.run(txn)
		return err
	})
	return items, err
}

// First returns the first matching record, or an error wrapping
// ErrNotFound.
func (q *Query[T]) First(ctx context.Context) (*T, error) {
	c := *q
	c.limit, c.page = 1, 0
	items, err := c.All(ctx)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, errorf("%s where %s: %w", q.repo.model.Meta.Name, q.Predicate(), ErrNotFound)
	}
	return items[0], nil
}

// Count returns the number of matching records (ignoring Limit and Page).
func (q *Query[T]) Count(ctx context.Context) (int, error) {
	c := *q
	c.limit, c.page, c.orders = 0, 0, nil
	items, err := c.All(ctx)
	return len(items), err
}

// slab hands out records allocated in blocks: a scan of many records makes
// a few large allocations instead of one per record.
type slab[T any] struct {
	block []T
	used  int
}

func (s *slab[T]) next() *T {
	if s.used == len(s.block) {
		s.block = make([]T, min(max(2*len(s.block), 16), 1024))
		s.used = 0
	}
	s.used++
	return &s.block[s.used-1]
}

// unget returns the last record handed out, cleared, for reuse.
func (s *slab[T]) unget() {
	s.used--
	var zero T
	s.block[s.used] = zero
}

// hit is one matching record with its key, for sorting.
type hit[T any] struct {
	key []byte
	v   *T
}

// run executes the query in txn.
func (q *Query[T]) run(txn storage.Txn) ([]*T, error) {
	need := 0
	if q.limit > 0 {
		need = (q.page + 1) * q.limit
	}
	pred := q.Predicate()
	p := q.plan(pred)
	var hits []hit[T]
	var lastOrder []byte
	var slab slab[T]
	sorted := len(q.orders) > 0
	pf := plan.NewPrefilter(q.repo.table, pred.Expr(), p)
	// Sorted, limited and not read in sort order: select the top hits as
	// they come instead of sorting them all.
	topK := sorted && need > 0 && !p.Ordered
	var d codec.Decoder
	err := p.Walk(txn, q.repo.table, func(key, entry, data []byte) (bool, error) {
		if need > 0 && len(hits) >= need {
			if !sorted {
				return false, nil
			}
			// Sorted path: keep going while the sort value ties with the
			// last hit, so that the final sort sees every tie.
			if p.Ordered && !bytes.Equal(p.OrderComponent(entry), lastOrder) {
				return false, nil
			}
		}
		if pf != nil && !pf.Pass(data) {
			return true, nil
		}
		v := slab.next()
		d.Reset(data)
		if err := q.repo.model.Decode(&d, v); err != nil {
			return false, errorf("reading %s: %w", q.repo.table.Model.Name, err)
		}
		if !pred.Match(v) {
			slab.unget()
			return true, nil
		}
		if topK {
			// Keep only the best need hits: a bounded max-heap.
			if len(hits) == need {
				if compareHits(hit[T]{key: key, v: v}, hits[0], q.orders) >= 0 {
					slab.unget()
					return true, nil
				}
				hits[0] = hit[T]{key: bytes.Clone(key), v: v}
				siftDown(hits, q.orders)
				return true, nil
			}
			hits = append(hits, hit[T]{key: bytes.Clone(key), v: v})
			siftUp(hits, q.orders)
			return true, nil
		}
		h := hit[T]{v: v}
		if sorted {
			h.key = bytes.Clone(key) // the tie-breaker
		}
		hits = append(hits, h)
		if p.Ordered {
			lastOrder = bytes.Clone(p.OrderComponent(entry))
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if len(q.orders) > 0 {
		slices.SortFunc(hits, func(a, b hit[T]) int { return compareHits(a, b, q.orders) })
	}
	lo := min(q.page*q.limit, len(hits))
	hi := len(hits)
	if need > 0 {
		hi = min(need, len(hits))
	}
	out := make([]*T, 0, hi-lo)
	for _, h := range hits[lo:hi] {
		out = append(out, h.v)
	}
	return out, nil
}

// compareHits orders hits by the query's orders, then by primary key.
func compareHits[T any](a, b hit[T], orders []predicate.Order[T]) int {
	if c := predicate.Compare(a.v, b.v, orders...); c != 0 {
		return c
	}
	return bytes.Compare(a.key, b.key)
}

// siftUp restores the max-heap order of h after an append.
func siftUp[T any](h []hit[T], orders []predicate.Order[T]) {
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if compareHits(h[i], h[parent], orders) <= 0 {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

// siftDown restores the max-heap order of h after its root changed.
func siftDown[T any](h []hit[T], orders []predicate.Order[T]) {
	for i := 0; ; {
		largest := i
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < len(h) && compareHits(h[c], h[largest], orders) > 0 {
				largest = c
			}
		}
		if largest == i {
			return
		}
		h[i], h[largest] = h[largest], h[i]
		i = largest
	}
}

// scan calls fn with every record matching the query's predicate, in path
// order, until fn returns false. data is valid only during the call.
func (q *Query[T]) scan(txn storage.Txn, fn func(key, data []byte, v *T) (bool, error)) error {
	pred := q.Predicate()
	return q.plan(pred).Walk(txn, q.repo.table, func(key, _, data []byte) (bool, error) {
		v, err := q.repo.decode(data)
		if err != nil {
			return false, err
		}
		if !pred.Match(v) {
			return true, nil
		}
		return fn(key, bytes.Clone(data), v)
	})
}

// plan asks the planner (internal/plan) how to read the records pred
// selects, in the query's first sort order when an index gives it.
func (q *Query[T]) plan(pred predicate.Predicate[T]) *plan.Plan {
	var o plan.Order
	if len(q.orders) > 0 {
		o = plan.Order{Field: q.orders[0].Field(), Descending: q.orders[0].Descending()}
	}
	o.Limited = q.limit > 0
	return plan.Choose(q.repo.table, pred.Expr(), o)
}
