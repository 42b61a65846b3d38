// Package plan is the query planner under package datastore: it picks the
// access path (primary key or a secondary index) and the key ranges on it
// that read the fewest records for a predicate and a sort order, and walks
// them. It works from the engine's tables and the predicate's expression
// tree alone; matching records against the predicate and sorting stay with
// the typed query.
package plan

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/storage"
)

// Plan is how a query runs: the access path, the key ranges to read on it
// and whether reading them yields the first sort order.
type Plan struct {
	Path    engine.Path
	Ranges  []Range
	Reverse bool
	// Ordered is true when the path yields records in the order of the
	// query's first sort order; OrderPos is the position of that field's
	// component in path entries.
	Ordered  bool
	OrderPos int
	Prefix   int // length of the path prefix in entries
	// None is set when the ranges are empty: nothing can match.
	None bool
	// EqFields are the fields whose eq conditions the ranges hold: every
	// entry read has their values (the eq prefix of a path).
	EqFields []string
	Desc     string
}

// Range is [Start, End) on a path; End nil means to the path's end.
type Range struct {
	Start, End []byte
	Point      bool // Start is a whole record key
}

// String describes the plan, for example "index byBlog: 1 eq" or "scan".
func (p *Plan) String() string { return p.Desc }

// OrderComponent returns the sort field's component of a path entry.
func (p *Plan) OrderComponent(entry []byte) []byte {
	rest, ok := storage.SkipComponents(entry[p.Prefix:], p.OrderPos)
	if !ok {
		return nil
	}
	c, _, _ := storage.SplitComponent(rest)
	return c
}

// Order is the first sort order of a query: its field and direction, and
// whether the query has a limit (so a read in that order can stop early).
type Order struct {
	Field      string
	Descending bool
	Limited    bool
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

// Choose picks the access path of t that reads the fewest records for the
// predicate e: the longest run of eq conditions on a path's leading fields,
// then a range (gt, ge, lt, le, between, beginsWith) or set (in) on the next
// field. Without a usable condition it scans, in the order of an index on
// the first sort field when a limit lets it stop early.
func Choose(t *engine.Table, e predicate.Expr, o Order) *Plan {
	cs := conds(e)
	best := &Plan{Path: t.Paths()[0], Ranges: []Range{{Start: t.Prefix, End: storage.Successor(t.Prefix)}}, Desc: "scan"}
	bestScore := 0
	if o.Field != "" && o.Field == t.Slots[t.PK[0]].Field.Name {
		best.Ordered, best.Reverse = true, o.Descending
	}
	for _, p := range t.Paths() {
		cand, score := candidate(t, p, cs, o)
		if score > bestScore {
			best, bestScore = cand, score
		}
	}
	if best.Ordered {
		best.Reverse = o.Descending
		if o.Descending {
			slices.Reverse(best.Ranges)
		}
	}
	if best.Desc == "scan" {
		best.Prefix = len(t.Prefix)
		if best.Ordered {
			best.Desc = "scan, ordered"
		}
	}
	for _, r := range best.Ranges {
		if r.End != nil && !r.Point && bytes.Compare(r.Start, r.End) >= 0 {
			continue
		}
		return best
	}
	best.None = true // empty ranges: nothing can match
	best.Desc += " (empty)"
	return best
}

// candidate is the plan reading path p of t for the conditions cs, and its
// score: 4 per eq condition on the path's leading fields, 2 more for a
// range or set on the next, 1000 for a get by primary key, 1 for a read in
// sort order that a limit can stop early; 0 when it does no better than a
// scan.
func candidate(t *engine.Table, p engine.Path, cs []predicate.Expr, o Order) (*Plan, int) {
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
	eqFields := make([]string, eqs)
	for i, s := range p.Slots[:eqs] {
		eqFields[i] = t.Slots[s].Field.Name
	}
	var ranges []Range
	kind := ""
	if eqs < len(p.Slots) {
		ranges, kind = boundRanges(cs, t.Slots[p.Slots[eqs]].Field, base)
	}
	if ranges == nil {
		ranges = []Range{{Start: base, End: storage.Successor(base)}}
	}
	point := p.Index == nil && eqs == len(p.Slots)
	score := eqs * 4
	if kind != "" {
		score += 2
	}
	if point {
		score = 1000
		ranges = []Range{{Start: base, Point: true}}
	}
	ordered := eqs < len(p.Slots) && o.Field == t.Slots[p.Slots[eqs]].Field.Name
	if score == 0 && ordered && o.Limited {
		score = 1 // a sorted read that can stop early beats a scan and sort
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
	return &Plan{Path: p, Ranges: ranges, Ordered: ordered, OrderPos: eqs, Prefix: len(prefix), EqFields: eqFields, Desc: d}, score
}

// Walk reads the plan's ranges of t and calls fn with each record's key,
// the path entry it was found by and its data, until fn returns false.
// key, entry and data are valid only during the call.
func (p *Plan) Walk(txn storage.Txn, t *engine.Table, fn func(key, entry, data []byte) (bool, error)) error {
	if p.None {
		return nil
	}
	// No value prefetch: Badger starts a goroutine per item for it, and
	// records are small enough to live in the LSM tree, read in place.
	opts := storage.IterOptions{Prefix: t.PathPrefix(p.Path), Reverse: p.Reverse}
	if p.Reverse {
		// A reverse Seek to a range's exclusive end may land past the
		// prefix; the range checks below bound the walk instead.
		opts.Prefix = nil
	}
	if len(p.Ranges) == 1 && p.Ranges[0].Point {
		err := txn.Value(p.Ranges[0].Start, func(data []byte) error {
			_, err := fn(p.Ranges[0].Start, p.Ranges[0].Start, data)
			return err
		})
		if err == storage.ErrNotFound {
			return nil
		}
		return err
	}
	it := txn.Iterate(opts)
	defer it.Close()
	var rk []byte // the record key of an index entry, reused
	for _, rg := range p.Ranges {
		if p.Reverse {
			it.Seek(rg.End) // the last key <= end; end itself is excluded below
		} else {
			it.Seek(rg.Start)
		}
		for ; it.Valid(); it.Next() {
			key := it.Key()
			if (!p.Reverse && rg.End != nil && bytes.Compare(key, rg.End) >= 0) ||
				(p.Reverse && bytes.Compare(key, rg.Start) < 0) {
				break
			}
			if p.Reverse && rg.End != nil && bytes.Compare(key, rg.End) >= 0 {
				continue
			}
			var more bool
			var err error
			if p.Path.Index == nil {
				err = it.Value(func(data []byte) error {
					more, err = fn(key, key, data)
					return err
				})
			} else {
				more, err = p.fetch(txn, t, key, &rk, fn)
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
// The record key is built in *buf, which fn must not keep (it copies what
// it keeps, as it does data).
func (p *Plan) fetch(txn storage.Txn, t *engine.Table, entry []byte, buf *[]byte, fn func(key, entry, data []byte) (bool, error)) (bool, error) {
	rk, err := t.AppendRecordKeyFromEntry(*buf, p.Path, entry)
	if err != nil {
		return false, err
	}
	*buf = rk
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
func boundRanges(cs []predicate.Expr, f *meta.Field, base []byte) ([]Range, string) {
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
		return []Range{{Start: start, End: end}}, strings.Join(kinds, "+")
	}
	// A set: one range per value inside the bounds, in key order.
	slices.SortFunc(sets, bytes.Compare)
	sets = slices.CompactFunc(sets, bytes.Equal)
	out := []Range{}
	for _, b := range sets {
		if bytes.Compare(b, start) >= 0 && bytes.Compare(b, end) < 0 {
			out = append(out, Range{Start: b, End: storage.Successor(b)})
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
