// Package jsonread decodes JSON into exactly the values encoding/json gives
// an any (map[string]any, []any, string, bool, nil, and json.Number with
// UseNumber or float64 without), with no reflection and with object keys
// interned, which is several times faster on the hot paths that read whole
// records: sync pages (client and server) and GraphQL request bodies.
//
// It decodes only what it can decode exactly as encoding/json would: ok is
// false for anything else (invalid JSON, invalid UTF-8, control characters
// in strings, \u escapes of surrogates, which encoding/json may replace,
// nesting deeper than MaxDepth, numbers out of float64's range), and the
// caller then decodes the input with encoding/json, which also words the
// errors. AppendString is the matching writer of JSON strings (server
// responses and stored records). It imports nothing of the module.
package jsonread

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Options tune a Reader. The zero value interns nothing, gives json.Number
// and follows nesting to DefaultMaxDepth.
type Options struct {
	// Keys interns object keys: a key that is in it is decoded as its
	// value, saving an allocation per key. Nil interns nothing.
	Keys map[string]string
	// MaxKeys is how many entries Keys may grow to by adding the keys read;
	// 0 keeps Keys as given (a fixed set of names).
	MaxKeys int
	// Float64 gives numbers as float64, as json.Unmarshal into an any does,
	// instead of json.Number (a Decoder with UseNumber).
	Float64 bool
	// MaxDepth bounds the nesting of objects and arrays followed; deeper
	// input is left to encoding/json. 0 means DefaultMaxDepth.
	MaxDepth int
	// TopObjectSize is how many entries the map of the first top-level
	// object (one not nested in another value) is made with room for: its
	// own fields and any the caller adds to it afterwards. A Go map that
	// outgrows its first 8 entries moves them into a new table, so a
	// caller that knows the final size (a stored record's fields plus the
	// metadata added to it) saves that copy. 0 starts the map empty. Every
	// later object, nested or not, is made as large as the last one read at
	// its depth ended (records of a list share their shape).
	TopObjectSize int
}

// DefaultMaxDepth is far above the nesting of records and requests, and
// low enough that the recursion stays small.
const DefaultMaxDepth = 64

// Parse decodes the one JSON value that fills b, space around it aside.
func Parse(b []byte, o Options) (any, bool) {
	r := NewReader(b, o)
	v, ok := r.Value()
	if !ok || !r.End() {
		return nil, false
	}
	return v, true
}

// Reader reads JSON values from one input in turn, for callers that walk
// an envelope themselves (a GraphQL request's fields). Every method skips
// the space before what it reads.
type Reader struct {
	b       []byte
	i       int
	depth   int
	max     int
	keys    map[string]string
	maxKeys int
	float   bool
	// scratch holds unescaped string bytes, reused between strings.
	scratch []byte
	// top is how large the next top-level object's map is made, and
	// sizes[d] how many keys the last object at depth d+2 had: the next
	// one there is made that large, since records of a list share their
	// shape (a map grown field by field rehashes several times). Depth 1
	// has a field of its own so that reading a flat object allocates no
	// sizes.
	top   int
	sizes []int
}

// NewReader returns a Reader of b.
func NewReader(b []byte, o Options) Reader {
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	return Reader{b: b, max: o.MaxDepth, keys: o.Keys, maxKeys: o.MaxKeys, float: o.Float64, top: max(o.TopObjectSize, 0)}
}

// size is where the size of the last object at the current depth is kept.
// It may move when a deeper object is read.
func (r *Reader) size() *int {
	if r.depth == 1 {
		return &r.top
	}
	for len(r.sizes) < r.depth-1 {
		r.sizes = append(r.sizes, 0)
	}
	return &r.sizes[r.depth-2]
}

func (r *Reader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// Peek returns the next byte, or 0 at the end.
func (r *Reader) Peek() byte {
	r.space()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// Byte consumes c when it is next.
func (r *Reader) Byte(c byte) bool {
	r.space()
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// End reports whether only space is left.
func (r *Reader) End() bool {
	r.space()
	return r.i == len(r.b)
}

// Null consumes null when it is next.
func (r *Reader) Null() bool {
	r.space()
	return r.lit("null")
}

func (r *Reader) lit(word string) bool {
	if len(r.b)-r.i >= len(word) && string(r.b[r.i:r.i+len(word)]) == word {
		r.i += len(word)
		return true
	}
	return false
}

// Value reads any JSON value.
func (r *Reader) Value() (any, bool) {
	switch c := r.Peek(); {
	case c == '"':
		return r.Str()
	case c == '{':
		return r.object()
	case c == '[':
		if a, ok := r.array(); ok {
			return a, true
		}
		return nil, false
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number()
	case r.lit("true"):
		return true, true
	case r.lit("false"):
		return false, true
	case r.lit("null"):
		return nil, true
	}
	return nil, false
}

func (r *Reader) object() (any, bool) {
	if r.depth++; r.depth > r.max {
		return nil, false
	}
	defer func() { r.depth-- }()
	r.i++ // '{'
	m := make(map[string]any, *r.size())
	if r.Byte('}') {
		return m, true
	}
	defer func() { *r.size() = len(m) }() // after a deeper object's, which may move it
	for {
		r.space()
		k, ok := r.key()
		if !ok || !r.Byte(':') {
			return nil, false
		}
		v, ok := r.Value()
		if !ok {
			return nil, false
		}
		m[k] = v // a repeated key: the last wins, as in encoding/json
		if r.Byte('}') {
			return m, true
		}
		if !r.Byte(',') {
			return nil, false
		}
	}
}

// Array reads an array as Value does, given as the slice itself: Value's
// any holding it costs an allocation more.
func (r *Reader) Array() ([]any, bool) {
	if r.Peek() != '[' {
		return nil, false
	}
	return r.array()
}

func (r *Reader) array() ([]any, bool) {
	if r.depth++; r.depth > r.max {
		return nil, false
	}
	defer func() { r.depth-- }()
	r.i++ // '['
	if r.Byte(']') {
		return []any{}, true
	}
	var list []any
	for {
		v, ok := r.Value()
		if !ok {
			return nil, false
		}
		if list == nil {
			list = []any{v} // one allocation where append's growth takes longer
		} else {
			list = append(list, v)
		}
		if r.Byte(']') {
			return list, true
		}
		if !r.Byte(',') {
			return nil, false
		}
	}
}

// number reads a number as Value does.
func (r *Reader) number() (any, bool) {
	text, ok := r.numberText()
	if !ok {
		return nil, false
	}
	if !r.float {
		return json.Number(text), true
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return nil, false // out of range: encoding/json reports it as an error
	}
	return f, true
}

// numberText reads a number by JSON's grammar and returns its text:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *Reader) numberText() ([]byte, bool) {
	b, i := r.b, r.i
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	text := b[r.i:i]
	r.i = i
	return text, true
}

// key reads an object key, interned in r.keys.
func (r *Reader) key() (string, bool) {
	s, ok := r.strBytes()
	if !ok {
		return "", false
	}
	if k, ok := r.keys[string(s)]; ok {
		return k, true
	}
	k := string(s)
	if r.keys != nil && len(r.keys) < r.maxKeys {
		r.keys[k] = k
	}
	return k, true
}

// Str reads a string.
func (r *Reader) Str() (string, bool) {
	r.space()
	s, ok := r.strBytes()
	if !ok {
		return "", false
	}
	return string(s), true
}

// StrBytes reads a string without converting it: the bytes are the
// input's own when it has no escapes, else a buffer the next string read
// reuses.
func (r *Reader) StrBytes() ([]byte, bool) {
	r.space()
	return r.strBytes()
}

// NumberText reads a number and returns its text, as json.Number holds it.
func (r *Reader) NumberText() ([]byte, bool) {
	r.space()
	if r.i >= len(r.b) {
		return nil, false
	}
	return r.numberText()
}

// Skip reads past one value without building it. It accepts exactly the
// values Value accepts at the same depth.
func (r *Reader) Skip() bool {
	switch c := r.Peek(); {
	case c == '"':
		_, ok := r.strBytes()
		return ok
	case c == '{' || c == '[':
		return r.skipNested(c)
	case c == '-' || (c >= '0' && c <= '9'):
		if r.float {
			_, ok := r.number() // range checked
			return ok
		}
		_, ok := r.numberText()
		return ok
	}
	return r.lit("true") || r.lit("false") || r.lit("null")
}

// RawValue is Skip returning the value's text.
func (r *Reader) RawValue() ([]byte, bool) {
	r.space()
	start := r.i
	if !r.Skip() {
		return nil, false
	}
	return r.b[start:r.i], true
}

// skipNested skips an object or array opening with c, as object and array
// read them.
func (r *Reader) skipNested(c byte) bool {
	if r.depth++; r.depth > r.max {
		return false
	}
	defer func() { r.depth-- }()
	r.i++
	end := byte(']')
	if c == '{' {
		end = '}'
	}
	if r.Byte(end) {
		return true
	}
	for {
		if c == '{' {
			r.space()
			if _, ok := r.strBytes(); !ok || !r.Byte(':') {
				return false
			}
		}
		if !r.Skip() {
			return false
		}
		if r.Byte(end) {
			return true
		}
		if !r.Byte(',') {
			return false
		}
	}
}

// strBytes reads a string at r.i: b's own bytes when it has no escapes,
// else r.scratch's (valid until the next string).
func (r *Reader) strBytes() ([]byte, bool) {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return nil, false
	}
	start := r.i + 1
	ascii := true
	for j := start; j < len(r.b); j++ {
		switch c := r.b[j]; {
		case c == '"':
			s := r.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			r.i = j + 1
			return s, true
		case c == '\\':
			r.i = j
			return r.escaped(start)
		case c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// escaped continues strBytes at the string's first backslash; start is the
// string's first byte.
func (r *Reader) escaped(start int) ([]byte, bool) {
	out := append(r.scratch[:0], r.b[start:r.i]...)
	defer func() { r.scratch = out[:0] }()
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return out, utf8.Valid(out)
		case c < 0x20:
			return nil, false
		case c != '\\':
			out = append(out, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.b) {
			return nil, false
		}
		e := r.b[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			c, ok := r.hex4()
			if !ok || utf8.RuneLen(c) < 0 { // RuneLen is -1 for surrogates
				return nil, false
			}
			out = utf8.AppendRune(out, c)
		default:
			return nil, false
		}
	}
	return nil, false
}

// hex4 reads the four hex digits of a \u escape.
func (r *Reader) hex4() (rune, bool) {
	if len(r.b)-r.i < 4 {
		return 0, false
	}
	var v rune
	for _, c := range r.b[r.i : r.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	r.i += 4
	return v, true
}
