package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dsgen/dsgen/runtime/storage"
)

// ErrBadQuery is returned (wrapped, saying what is wrong) for a Query the
// store cannot serve: an undeclared index, key values that are not a
// prefix of the key, a value no key can hold.
var ErrBadQuery = errors.New("store: invalid query")

// Index declares a secondary index of a model: the item fields of its key,
// partition key first, then the sort key fields. A record whose item lacks
// one of them, or holds a value that is not a string, a number or a bool,
// has no entry in the index (as in a DynamoDB global secondary index).
type Index struct {
	Model string
	Name  string
	// Fields is the partition key field then the sort key fields.
	Fields []string
}

// id names the index's entries in storage: its name and fields, so an
// index whose fields change is a new index and its old entries are never
// read.
// GraphQL names hold neither ':' nor ','.
func (ix Index) id() string { return ix.Name + ":" + strings.Join(ix.Fields, ",") }

// SortCond is a condition on the key fields that follow Query.Eq, compared
// as a tuple in key order (numbers as numbers, strings bytewise, as
// DynamoDB compares keys).
type SortCond struct {
	// Op is one of eq, lt, le, gt, ge, between and beginsWith.
	Op string
	// Values are the values of the next key fields (one or more, in key
	// order): the operand, or between's lower bound. For beginsWith the
	// last one is a string prefix and the others must be equal.
	Values []any
	// To is between's upper bound (inclusive), with as many values.
	To []any
}

// Query selects the records of one model whose key, the primary key or a
// secondary index, starts with Eq and meets Sort, in key order (Desc:
// reversed). A query reads only the entries in its key range.
type Query struct {
	Model string
	// Index is the name of an index declared with Indexes; empty reads
	// the primary key.
	Index string
	// Eq holds the values of the leading key fields: at least the
	// partition key.
	Eq   []any
	Sort *SortCond
	Desc bool
}

// Indexer is implemented by both engines: the secondary indexes they keep
// and the key-range reads over them.
type Indexer interface {
	// Indexes declares the secondary indexes to keep. Entries of an index
	// not built before (or whose fields changed) are written for every
	// stored record before it returns; from then on every write keeps them
	// up to date atomically with the record. Indexes of the model no
	// longer declared are dropped. Call it at start, before serving.
	Indexes(ctx context.Context, defs []Index) error
	// Query reads the records (tombstones included) in q's key range in
	// key order, after cursor (nil: from the start), at most limit (> 0)
	// of them, resuming where the cursor's last key left off. Next is nil
	// exactly when no record follows; a cursor only resumes the same q.
	Query(ctx context.Context, q Query, cursor []byte, limit int) (Page, error)
}

// keyRange is a query's range of keys relative to the model's (or the
// index's) prefix: lo inclusive, hi exclusive (nil: no upper bound).
type keyRange struct {
	lo, hi []byte
	desc   bool
}

// appendValues appends key components for vals.
func appendValues(b []byte, vals []any) ([]byte, error) {
	for i, v := range vals {
		n, err := normKeyValue(v)
		if err != nil {
			return nil, fmt.Errorf("value %d (%#v): %v", i+1, v, err)
		}
		b = appendComponent(b, n)
	}
	return b, nil
}

// appendComponent appends the component of a normalised key value.
func appendComponent(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return storage.AppendString(b, v)
	case float64:
		return storage.AppendFloat(b, v)
	case bool:
		return storage.AppendBool(b, v)
	}
	return b
}

// successor returns the smallest byte string greater than every string
// with prefix p, or nil when there is none.
func successor(p []byte) []byte {
	s := bytes.Clone(p)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != 0xFF {
			s[i]++
			return s[:i+1]
		}
	}
	return nil
}

// pageRanges returns q's whole key range (which a page's next cursor is
// sealed against) and the part of it still to read after cursor (nil: from
// the start).
func pageRanges(q Query, nFields int, cursor []byte) (whole, rest keyRange, err error) {
	if whole, err = rangeOf(q, nFields); err != nil {
		return keyRange{}, keyRange{}, err
	}
	if cursor == nil {
		return whole, whole, nil
	}
	rest, err = whole.resume(q, cursor)
	return whole, rest, err
}

// rangeOf turns q into a key range over keys of nFields components (-1:
// not checked).
func rangeOf(q Query, nFields int) (keyRange, error) {
	bad := func(format string, args ...any) (keyRange, error) {
		return keyRange{}, fmt.Errorf("%w: %s %s: %s", ErrBadQuery, q.Model, indexLabel(q.Index), fmt.Sprintf(format, args...))
	}
	if len(q.Eq) == 0 {
		return bad("no partition key value")
	}
	n := len(q.Eq)
	if q.Sort != nil {
		n += len(q.Sort.Values)
	}
	if nFields >= 0 && n > nFields {
		return bad("%d key values for a key of %d fields", n, nFields)
	}
	p, err := appendValues(nil, q.Eq)
	if err != nil {
		return bad("key %v", err)
	}
	r := keyRange{desc: q.Desc}
	c := q.Sort
	if c == nil {
		r.lo, r.hi = p, successor(p)
		return r, nil
	}
	if len(c.Values) == 0 {
		return bad("%s condition without a value", c.Op)
	}
	if c.Op == "beginsWith" {
		last, ok := c.Values[len(c.Values)-1].(string)
		if !ok {
			return bad("beginsWith needs a string, got %#v", c.Values[len(c.Values)-1])
		}
		v, err := appendValues(bytes.Clone(p), c.Values[:len(c.Values)-1])
		if err != nil {
			return bad("beginsWith %v", err)
		}
		v = storage.AppendStringPrefix(v, last)
		r.lo, r.hi = v, successor(v)
		return r, nil
	}
	v, err := appendValues(bytes.Clone(p), c.Values)
	if err != nil {
		return bad("%s %v", c.Op, err)
	}
	switch c.Op {
	case "eq":
		r.lo, r.hi = v, successor(v)
	case "lt":
		r.lo, r.hi = p, v
	case "le":
		r.lo, r.hi = p, successor(v)
	case "gt":
		r.lo, r.hi = successor(v), successor(p)
	case "ge":
		r.lo, r.hi = v, successor(p)
	case "between":
		if len(c.To) != len(c.Values) {
			return bad("between bounds of %d and %d values", len(c.Values), len(c.To))
		}
		to, err := appendValues(bytes.Clone(p), c.To)
		if err != nil {
			return bad("between upper bound %v", err)
		}
		r.lo, r.hi = v, successor(to)
	default:
		return bad("unknown key condition %q", c.Op)
	}
	return r, nil
}

func indexLabel(name string) string {
	if name == "" {
		return "primary key"
	}
	return "index " + name
}

// empty reports whether no key lies in r.
func (r keyRange) empty() bool { return r.hi != nil && bytes.Compare(r.lo, r.hi) >= 0 }

// contains reports whether k lies in r.
func (r keyRange) contains(k []byte) bool {
	return bytes.Compare(k, r.lo) >= 0 && (r.hi == nil || bytes.Compare(k, r.hi) < 0)
}

// fingerprint binds a cursor to the query: model, index and range.
func (r keyRange) fingerprint(q Query) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %t %x %x %t", q.Model, q.Index, r.desc, r.lo, r.hi, r.hi == nil)
	return h.Sum(nil)[:8]
}

const cursorQuery = 'q'

// queryCursor seals the last key a page returned (relative, as the range).
func (r keyRange) cursor(q Query, last []byte) []byte {
	return sealCursor(cursorQuery, append(r.fingerprint(q), last...))
}

// resume returns the range left after the cursor's key.
func (r keyRange) resume(q Query, c []byte) (keyRange, error) {
	p, ok := openCursor(cursorQuery, c)
	if !ok || len(p) < 8 || !bytes.Equal(p[:8], r.fingerprint(q)) || !r.contains(p[8:]) {
		return keyRange{}, fmt.Errorf("%w: query of %s %s", ErrBadCursor, q.Model, indexLabel(q.Index))
	}
	last := p[8:]
	if r.desc {
		r.hi = bytes.Clone(last)
	} else {
		r.lo = append(bytes.Clone(last), 0) // the smallest key after last
	}
	return r, nil
}

// entryKey returns the index key of item under ix (the index fields'
// components; the caller appends the primary key), or false when the
// item has no entry: a field missing, null or not a key value.
func entryKey(ix Index, item map[string]any) ([]byte, bool) {
	var b []byte
	for _, f := range ix.Fields {
		v, ok := item[f]
		if !ok || v == nil {
			return nil, false
		}
		n, err := normKeyValue(v)
		if err != nil {
			return nil, false
		}
		b = appendComponent(b, n)
	}
	return b, true
}

// validIndexes checks defs: names and fields present, one definition per
// model and name.
func validIndexes(defs []Index) error {
	seen := map[[2]string]bool{}
	for _, d := range defs {
		if d.Model == "" || d.Name == "" || len(d.Fields) == 0 || slices.Contains(d.Fields, "") {
			return fmt.Errorf("%w: index %q of %q: a model, a name and fields are required", ErrBadQuery, d.Name, d.Model)
		}
		k := [2]string{d.Model, d.Name}
		if seen[k] {
			return fmt.Errorf("%w: index %q of %q declared twice", ErrBadQuery, d.Name, d.Model)
		}
		seen[k] = true
	}
	return nil
}

// indexSet is the declared indexes by model, then by name.
type indexSet map[string]map[string]Index

func newIndexSet(defs []Index) indexSet {
	s := indexSet{}
	for _, d := range defs {
		if s[d.Model] == nil {
			s[d.Model] = map[string]Index{}
		}
		d.Fields = slices.Clone(d.Fields)
		s[d.Model][d.Name] = d
	}
	return s
}

// sorted returns model's indexes in name order.
func (s indexSet) sorted(model string) []Index {
	out := make([]Index, 0, len(s[model]))
	for _, ix := range s[model] {
		out = append(out, ix)
	}
	slices.SortFunc(out, func(a, b Index) int { return strings.Compare(a.Name, b.Name) })
	return out
}
