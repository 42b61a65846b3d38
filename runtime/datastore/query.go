package datastore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/meta"
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
	return q.plan().String()
}

func (q *Query[T]) check() error {
	switch {
	case q.limit < 0 || q.page < 0:
		return fmt.Errorf("datastore: query %s: negative limit %d or page %d", q.repo.model.Meta.Name, q.limit, q.page)
	case q.page > 0 && q.limit == 0:
		return fmt.Errorf("datastore: query %s: page %d needs a limit", q.repo.model.Meta.Name, q.page)
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
		return nil, fmt.Errorf("datastore: %s where %s: %w", q.repo.model.Meta.Name, q.Predicate(), ErrNotFound)
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
	p := q.plan()
	var hits []hit[T]
	var lastOrder []byte
	var slab slab[T]
	sorted := len(q.orders) > 0
	pf := newPrefilter(q.repo.table, p.pred.Expr())
	// Sorted, limited and not read in sort order: select the top hits as
	// they come instead of sorting them all.
	topK := sorted && need > 0 && !p.ordered
	var d codec.Decoder
	err := q.iterate(txn, p, func(key, entry, data []byte) (bool, error) {
		if need > 0 && len(hits) >= need {
			if !sorted {
				return false, nil
			}
			// Sorted path: keep going while the sort value ties with the
			// last hit, so that the final sort sees every tie.
			if p.ordered && !bytes.Equal(p.orderComponent(entry), lastOrder) {
				return false, nil
			}
		}
		if pf != nil && !pf.pass(data) {
			return true, nil
		}
		v := slab.next()
		d.Reset(data)
		if err := q.repo.model.Decode(&d, v); err != nil {
			return false, fmt.Errorf("datastore: reading %s: %w", q.repo.table.Model.Name, err)
		}
		if !p.pred.Match(v) {
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
		if p.ordered {
			lastOrder = bytes.Clone(p.orderComponent(entry))
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
	p := q.plan()
	return q.iterate(txn, p, func(key, _, data []byte) (bool, error) {
		v, err := q.repo.decode(data)
		if err != nil {
			return false, err
		}
		if !p.pred.Match(v) {
			return true, nil
		}
		return fn(key, bytes.Clone(data), v)
	})
}

// iterate walks the plan's ranges and calls fn with each record's key, the
// path entry it was found by and its data, until fn returns false.
func (q *Query[T]) iterate(txn storage.Txn, p *plan[T], fn func(key, entry, data []byte) (bool, error)) error {
	t := q.repo.table
	if p.none {
		return nil
	}
	// No value prefetch: Badger starts a goroutine per item for it, and
	// records are small enough to live in the LSM tree, read in place.
	opts := storage.IterOptions{Prefix: t.PathPrefix(p.path), Reverse: p.reverse}
	if p.reverse {
		// A reverse Seek to a range's exclusive end may land past the
		// prefix; the range checks below bound the walk instead.
		opts.Prefix = nil
	}
	if len(p.ranges) == 1 && p.ranges[0].point {
		err := txn.Value(p.ranges[0].start, func(data []byte) error {
			_, err := fn(p.ranges[0].start, p.ranges[0].start, data)
			return err
		})
		if err == storage.ErrNotFound {
			return nil
		}
		return err
	}
	it := txn.Iterate(opts)
	defer it.Close()
	for _, rg := range p.ranges {
		if p.reverse {
			it.Seek(rg.end) // the last key <= end; end itself is excluded below
		} else {
			it.Seek(rg.start)
		}
		for ; it.Valid(); it.Next() {
			key := it.Key()
			if (!p.reverse && rg.end != nil && bytes.Compare(key, rg.end) >= 0) ||
				(p.reverse && bytes.Compare(key, rg.start) < 0) {
				break
			}
			if p.reverse && rg.end != nil && bytes.Compare(key, rg.end) >= 0 {
				continue
			}
			var more bool
			var err error
			if p.path.Index == nil {
				err = it.Value(func(data []byte) error {
					more, err = fn(key, key, data)
					return err
				})
			} else {
				more, err = q.fetch(txn, p, key, fn)
			}
			if err != nil {
				return err
			}
			if !more {
				return nil
			}
		}
	}
	return nil
}

// fetch reads the record an index entry points at and passes it to fn.
func (q *Query[T]) fetch(txn storage.Txn, p *plan[T], entry []byte, fn func(key, entry, data []byte) (bool, error)) (bool, error) {
	rk, err := q.repo.table.RecordKeyFromEntry(p.path, entry)
	if err != nil {
		return false, err
	}
	more := true
	err = txn.Value(rk, func(data []byte) error {
		more, err = fn(rk, entry, data)
		return err
	})
	if err == storage.ErrNotFound {
		return true, nil // an entry without its record cannot happen; skip it
	}
	return more, err
}

// plan is how a query runs: the access path, the key ranges to read on it
// and whether reading them yields the first sort order.
type plan[T any] struct {
	pred    predicate.Predicate[T]
	path    engine.Path
	ranges  []keyRange
	reverse bool
	// ordered is true when the path yields records in the order of the
	// query's first sort order; orderPos is the position of that field's
	// component in path entries.
	ordered  bool
	orderPos int
	prefix   int // length of the path prefix in entries
	none     bool
	desc     string
}

// keyRange is [start, end) on a path; end nil means to the path's end.
type keyRange struct {
	start, end []byte
	point      bool // start is a whole record key
}

func (p *plan[T]) String() string { return p.desc }

// orderComponent returns the sort field's component of a path entry.
func (p *plan[T]) orderComponent(entry []byte) []byte {
	rest, ok := storage.SkipComponents(entry[p.prefix:], p.orderPos)
	if !ok {
		return nil
	}
	c, _, _ := storage.SplitComponent(rest)
	return c
}

// conds returns the conditions of a conjunction: the top-level conditions
// of e when e is a condition or an And of them (other children are left to
// the predicate, which is always checked on every record read).
func conds(e predicate.Expr) []predicate.Expr {
	switch e.Kind {
	case predicate.KindCond:
		return []predicate.Expr{e}
	case predicate.KindAnd:
		var out []predicate.Expr
		for _, c := range e.Children {
			if c.Kind == predicate.KindCond {
				out = append(out, c)
			}
		}
		return out
	}
	return nil
}

// plan picks the access path that reads the fewest records: the longest
// run of eq conditions on a path's leading fields, then a range (gt, ge, lt,
// le, between, beginsWith) or set (in) on the next field. Without a usable
// condition it scans, in the order of an index on the first sort field when
// a limit lets it stop early.
func (q *Query[T]) plan() *plan[T] {
	t := q.repo.table
	pred := q.Predicate()
	cs := conds(pred.Expr())
	var orderField string
	var desc bool
	if len(q.orders) > 0 {
		orderField, desc = q.orders[0].Field(), q.orders[0].Descending()
	}
	best := &plan[T]{pred: pred, path: t.Paths()[0], ranges: []keyRange{{start: t.Prefix, end: storage.Successor(t.Prefix)}}, desc: "scan"}
	bestScore := 0
	if orderField != "" && orderField == t.Slots[t.PK[0]].Field.Name {
		best.ordered, best.reverse = true, desc
	}
	for _, p := range t.Paths() {
		prefix := t.PathPrefix(p)
		base := bytes.Clone(prefix)
		eqs := 0
		for _, s := range p.Slots {
			c, ok := findEq(cs, t.Slots[s].Field)
			if !ok {
				break
			}
			base = append(base, c...)
			eqs++
		}
		var ranges []keyRange
		kind := ""
		if eqs < len(p.Slots) {
			ranges, kind = boundRanges(cs, t.Slots[p.Slots[eqs]].Field, base)
		}
		if ranges == nil {
			ranges = []keyRange{{start: base, end: storage.Successor(base)}}
		}
		point := p.Index == nil && eqs == len(p.Slots)
		score := eqs * 4
		if kind != "" {
			score += 2
		}
		if point {
			score = 1000
			ranges = []keyRange{{start: base, point: true}}
		}
		ordered := eqs < len(p.Slots) && orderField == t.Slots[p.Slots[eqs]].Field.Name
		if score == 0 && ordered && q.limit > 0 {
			score = 1 // a sorted read that can stop early beats a scan and sort
		}
		if score <= bestScore {
			continue
		}
		name := "primary key"
		if p.Index != nil {
			name = "index " + p.Index.Name
		}
		d := fmt.Sprintf("%s: %d eq", name, eqs)
		if kind != "" {
			d += ", " + kind
		}
		if point {
			d = "get by primary key"
		}
		if ordered {
			d += ", ordered"
		}
		best = &plan[T]{pred: pred, path: p, ranges: ranges, ordered: ordered, orderPos: eqs, prefix: len(prefix), desc: d}
		bestScore = score
	}
	if best.ordered {
		best.reverse = desc
		if desc {
			slices.Reverse(best.ranges)
		}
	}
	if best.desc == "scan" {
		best.prefix = len(t.Prefix)
		if best.ordered {
			best.desc = "scan, ordered"
		}
	}
	for _, r := range best.ranges {
		if r.end != nil && !r.point && bytes.Compare(r.start, r.end) >= 0 {
			continue
		}
		return best
	}
	best.none = true // empty ranges: nothing can match
	best.desc += " (empty)"
	return best
}

// findEq returns the component of an eq condition on f.
func findEq(cs []predicate.Expr, f *meta.Field) ([]byte, bool) {
	for _, c := range cs {
		if c.Field == f.Name && c.Op == predicate.OpEq && len(c.Args) == 1 {
			if b, ok := engine.ValueComponent(nil, f, c.Args[0]); ok && !storage.IsNull(b) {
				return b, true
			}
		}
	}
	return nil, false
}

// firstValue is the smallest component that is not null: ranges start
// there so that null fields, which fail every range condition, are skipped.
var firstValue = []byte{storage.AppendNull(nil)[0] + 1}

// boundRanges turns the range and set conditions on f into key ranges under
// base, or returns nil when there are none.
func boundRanges(cs []predicate.Expr, f *meta.Field, base []byte) ([]keyRange, string) {
	var start, end []byte
	var kinds []string
	tighten := func(s, e []byte) {
		if s != nil && (start == nil || bytes.Compare(s, start) > 0) {
			start = s
		}
		if e != nil && (end == nil || bytes.Compare(e, end) < 0) {
			end = e
		}
	}
	comp := func(v any) ([]byte, bool) {
		b, ok := engine.ValueComponent(bytes.Clone(base), f, v)
		return b, ok && v != nil
	}
	var sets [][]byte
	for _, c := range cs {
		if c.Field != f.Name {
			continue
		}
		switch c.Op {
		case predicate.OpGt, predicate.OpGe, predicate.OpLt, predicate.OpLe:
			b, ok := comp(c.Args[0])
			if !ok {
				continue
			}
			switch c.Op {
			case predicate.OpGt:
				tighten(storage.Successor(b), nil)
			case predicate.OpGe:
				tighten(b, nil)
			case predicate.OpLt:
				tighten(nil, b)
			case predicate.OpLe:
				tighten(nil, storage.Successor(b))
			}
		case predicate.OpBetween:
			lo, ok1 := comp(c.Args[0])
			hi, ok2 := comp(c.Args[1])
			if !ok1 || !ok2 {
				continue
			}
			tighten(lo, storage.Successor(hi))
		case predicate.OpBeginsWith:
			if !plainString(f) {
				continue
			}
			s, ok := c.Args[0].(string)
			if !ok {
				continue
			}
			b := storage.AppendStringPrefix(bytes.Clone(base), s)
			tighten(b, storage.Successor(b))
		case predicate.OpIn:
			if sets != nil {
				continue
			}
			sets = [][]byte{}
			for _, a := range c.Args {
				if b, ok := comp(a); ok {
					sets = append(sets, b)
				}
			}
		default:
			continue
		}
		kinds = append(kinds, string(c.Op))
	}
	if len(kinds) == 0 {
		return nil, ""
	}
	if start == nil {
		start = append(bytes.Clone(base), firstValue...)
	}
	if end == nil {
		end = storage.Successor(base)
	}
	if sets == nil {
		return []keyRange{{start: start, end: end}}, strings.Join(kinds, "+")
	}
	// A set: one range per value inside the bounds, in key order.
	slices.SortFunc(sets, bytes.Compare)
	sets = slices.CompactFunc(sets, bytes.Equal)
	out := []keyRange{}
	for _, b := range sets {
		if bytes.Compare(b, start) >= 0 && bytes.Compare(b, end) < 0 {
			out = append(out, keyRange{start: b, end: storage.Successor(b)})
		}
	}
	return out, strings.Join(kinds, "+")
}

// plainString reports whether f's key components are plain strings, which
// beginsWith ranges need.
func plainString(f *meta.Field) bool {
	if f.Kind == meta.KindEnum {
		return true
	}
	switch f.Type {
	case meta.ID, meta.String, meta.AWSEmail, meta.AWSURL, meta.AWSPhone, meta.AWSIPAddress, meta.AWSJSON:
		return true
	}
	return false
}
