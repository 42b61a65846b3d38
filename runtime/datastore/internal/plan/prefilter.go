package plan

import (
	"bytes"
	"cmp"
	"reflect"
	"slices"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/predicate"
)

// A Prefilter tests the simple conditions of a query on a record's encoded
// bytes, before the record is decoded: a scan skips the records that fail
// without allocating anything. Records that pass are decoded and checked
// against the whole predicate, so the prefilter only has to be right when
// it rejects.
type Prefilter struct {
	conds []rawCond
}

// rawCond is a condition on one field, with operands in the field's wire
// form.
type rawCond struct {
	num  int
	kind byte // 's' bytes, 'i' varint int, 'f' float, 'b' bool
	op   predicate.Op
	strs [][]byte
	ints []int64
	flts []float64
	bl   bool
}

// NewPrefilter keeps the top-level conditions of e that it can test on
// encoded values, except the eq conditions plan p already holds by reading
// only the entries with those values (an index read by eq); it returns nil
// when there are none.
func NewPrefilter(t *engine.Table, e predicate.Expr, p *Plan) *Prefilter {
	var pf Prefilter
	for _, c := range conds(e) {
		if c.Op == predicate.OpEq && slices.Contains(p.EqFields, c.Field) {
			continue // every entry read has the value: testing it again only costs
		}
		f := t.Model.Field(c.Field)
		if f == nil || !f.Stored() || f.IsList || f.Kind == meta.KindNonModel {
			continue
		}
		rc, ok := newRawCond(f, c)
		if !ok {
			continue
		}
		rc.num = codec.FieldNumber(t.Model.Fields, f.Name)
		pf.conds = append(pf.conds, rc)
	}
	if len(pf.conds) == 0 {
		return nil
	}
	return &pf
}

func newRawCond(f *meta.Field, c predicate.Expr) (rawCond, bool) {
	rc := rawCond{op: c.Op}
	switch c.Op {
	case predicate.OpEq, predicate.OpNe, predicate.OpGt, predicate.OpGe, predicate.OpLt, predicate.OpLe,
		predicate.OpBetween, predicate.OpIn, predicate.OpNotIn:
	case predicate.OpBeginsWith, predicate.OpContains, predicate.OpNotContains:
		if !plainString(f) {
			return rc, false
		}
	default:
		return rc, false
	}
	switch {
	case plainString(f) && f.Type != meta.AWSJSON:
		rc.kind = 's'
		for _, a := range c.Args {
			rv := reflect.ValueOf(a)
			if rv.Kind() != reflect.String {
				return rc, false
			}
			rc.strs = append(rc.strs, []byte(rv.String()))
		}
	case f.Type == meta.Int || f.Type == meta.AWSTimestamp:
		rc.kind = 'i'
		for _, a := range c.Args {
			rv := reflect.ValueOf(a)
			if !rv.CanInt() {
				return rc, false
			}
			rc.ints = append(rc.ints, rv.Int())
		}
	case f.Type == meta.Float:
		rc.kind = 'f'
		for _, a := range c.Args {
			x, ok := a.(float64)
			if !ok {
				return rc, false
			}
			rc.flts = append(rc.flts, x)
		}
	case f.Type == meta.Boolean && (c.Op == predicate.OpEq || c.Op == predicate.OpNe):
		rc.kind = 'b'
		x, ok := c.Args[0].(bool)
		if !ok {
			return rc, false
		}
		rc.bl = x
	default:
		return rc, false
	}
	if c.Op != predicate.OpIn && c.Op != predicate.OpNotIn && len(c.Args) == 0 {
		return rc, false
	}
	return rc, true
}

// Pass reports whether the record data may satisfy every condition.
func (pf *Prefilter) Pass(data []byte) bool {
	var seen uint64 // conditions whose field is present (first 64)
	var d codec.Decoder
	d.Reset(data)
	for d.Next() {
		hit := false
		for i := range pf.conds {
			c := &pf.conds[i]
			if c.num != d.Field() {
				continue
			}
			hit = true
			if i < 64 {
				seen |= 1 << i
			}
			if !c.test(&d) {
				return false
			}
		}
		if !hit {
			d.Skip()
		}
	}
	if d.Err() != nil {
		return true // let the decoder report it
	}
	for i := range pf.conds {
		if i < 64 && seen&(1<<i) == 0 && !pf.conds[i].passesNull() {
			return false
		}
	}
	return true
}

// passesNull applies the null semantics: only the negative operators hold
// for a null field.
func (c *rawCond) passesNull() bool {
	return c.op == predicate.OpNe || c.op == predicate.OpNotIn || c.op == predicate.OpNotContains
}

// test evaluates c on the decoder's current field. Reading a value does not
// consume it, so several conditions can test the same field.
func (c *rawCond) test(d *codec.Decoder) bool {
	switch c.kind {
	case 's':
		v := d.Raw()
		switch c.op {
		case predicate.OpBeginsWith:
			return bytes.HasPrefix(v, c.strs[0])
		case predicate.OpContains:
			return bytes.Contains(v, c.strs[0])
		case predicate.OpNotContains:
			return !bytes.Contains(v, c.strs[0])
		}
		return ordered(c.op, func(i int) int { return bytes.Compare(v, c.strs[i]) }, len(c.strs))
	case 'i':
		v := d.Int()
		return ordered(c.op, func(i int) int { return cmp.Compare(v, c.ints[i]) }, len(c.ints))
	case 'f':
		v := d.Float()
		return ordered(c.op, func(i int) int { return cmp.Compare(v, c.flts[i]) }, len(c.flts))
	case 'b':
		v := d.Bool()
		return (v == c.bl) == (c.op == predicate.OpEq)
	}
	return true
}

// ordered evaluates a comparison operator given the comparison of the
// value with operand i.
func ordered(op predicate.Op, compare func(i int) int, n int) bool {
	switch op {
	case predicate.OpEq:
		return compare(0) == 0
	case predicate.OpNe:
		return compare(0) != 0
	case predicate.OpGt:
		return compare(0) > 0
	case predicate.OpGe:
		return compare(0) >= 0
	case predicate.OpLt:
		return compare(0) < 0
	case predicate.OpLe:
		return compare(0) <= 0
	case predicate.OpBetween:
		return compare(0) >= 0 && compare(1) <= 0
	case predicate.OpIn, predicate.OpNotIn:
		in := false
		for i := range n {
			if compare(i) == 0 {
				in = true
				break
			}
		}
		return in == (op == predicate.OpIn)
	}
	return true
}
