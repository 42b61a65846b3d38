package codec

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Decoder reads the fields of one record:
//
//	var d codec.Decoder
//	d.Reset(data)
//	for d.Next() {
//		switch d.Field() {
//		case 1:
//			v.ID = d.String()
//		default:
//			d.Skip()
//		}
//	}
//	return d.Err()
//
// Next checks each field's encoding as it reaches it; the methods that read
// the value check that its wire type is the one they expect. After the
// first problem Next returns false and Err reports it; value methods then
// return zero values. The zero Decoder holds an empty record.
type Decoder struct {
	data  []byte // unread input
	field int
	wire  wireType
	num   uint64 // the value of a varint or fixed64 field
	bytes []byte // the value of a bytes field
	err   error
}

// Reset starts decoding data. The Decoder keeps data: Raw and Message return
// parts of it.
func (d *Decoder) Reset(data []byte) { *d = Decoder{data: data} }

// Next advances to the next field. It returns false at the end of the
// record or on error; check Err afterwards.
func (d *Decoder) Next() bool {
	if d.err != nil || len(d.data) == 0 {
		return false
	}
	tag, n := uvarint(d.data)
	if n <= 0 {
		d.fail(0, "bad field tag")
		return false
	}
	d.data = d.data[n:]
	if f := tag >> 3; f == 0 || f > MaxField {
		d.fail(0, fmt.Sprintf("bad field number %d", f))
		return false
	}
	d.field, d.wire = int(tag>>3), wireType(tag&7)
	switch d.wire {
	case wireVarint:
		v, n := uvarint(d.data)
		if n <= 0 {
			d.fail(d.field, "bad varint")
			return false
		}
		d.num, d.data = v, d.data[n:]
	case wireFixed64:
		if len(d.data) < 8 {
			d.fail(d.field, "truncated fixed64")
			return false
		}
		d.num, d.data = binary.LittleEndian.Uint64(d.data), d.data[8:]
	case wireBytes:
		size, n := uvarint(d.data)
		if n <= 0 {
			d.fail(d.field, "bad length")
			return false
		}
		rest := d.data[n:]
		if size > uint64(len(rest)) {
			d.fail(d.field, fmt.Sprintf("length %d exceeds the %d bytes left", size, len(rest)))
			return false
		}
		d.bytes, d.data = rest[:size:size], rest[size:]
	default:
		d.fail(d.field, "unknown "+d.wire.String())
		return false
	}
	return true
}

// Field returns the number of the current field.
func (d *Decoder) Field() int { return d.field }

// Skip passes over the current field. Next skips whatever the caller did not
// read, so Skip only states the intent, in the default case of a switch.
func (d *Decoder) Skip() {}

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// fail records the first error.
func (d *Decoder) fail(field int, reason string) {
	if d.err == nil {
		d.err = &FormatError{Field: field, Reason: reason}
	}
}

// want reports whether the current field has wire type w, recording an
// error if not.
func (d *Decoder) want(w wireType) bool {
	if d.err != nil {
		return false
	}
	if d.wire != w {
		d.fail(d.field, "want "+w.String()+", got "+d.wire.String())
		return false
	}
	return true
}

// String returns the current field as text.
func (d *Decoder) String() string {
	if !d.want(wireBytes) {
		return ""
	}
	return string(d.bytes)
}

// Int returns the current field as a (zigzag-encoded) integer.
func (d *Decoder) Int() int64 {
	if !d.want(wireVarint) {
		return 0
	}
	return unzigzag(d.num)
}

// Float returns the current field as a Float.
func (d *Decoder) Float() float64 {
	if !d.want(wireFixed64) {
		return 0
	}
	return math.Float64frombits(d.num)
}

// Bool returns the current field as a Boolean; varints other than 0 and 1
// are an error.
func (d *Decoder) Bool() bool {
	if !d.want(wireVarint) {
		return false
	}
	if d.num > 1 {
		d.fail(d.field, fmt.Sprintf("bad Boolean %d", d.num))
		return false
	}
	return d.num == 1
}

// Raw returns the bytes of the current field. The slice aliases the data
// given to Reset: copy it to keep it beyond that data's lifetime.
func (d *Decoder) Raw() []byte {
	if !d.want(wireBytes) {
		return nil
	}
	return d.bytes
}

// Message returns a Decoder for the nested record in the current field.
// Errors inside the nested record are reported by its own Err.
func (d *Decoder) Message() Decoder {
	if !d.want(wireBytes) {
		return Decoder{}
	}
	return Decoder{data: d.bytes}
}

// List returns a reader for the list in the current field. A bad count or
// wire type is an error of d; errors in the elements are the ListDecoder's.
func (d *Decoder) List() ListDecoder {
	if !d.want(wireBytes) {
		return ListDecoder{}
	}
	n, k := uvarint(d.bytes)
	if k <= 0 {
		d.fail(d.field, "bad list count")
		return ListDecoder{}
	}
	rest := d.bytes[k:]
	// Every element takes at least one byte, which bounds what callers
	// allocate for the list by the size of the input.
	if n > uint64(len(rest)) {
		d.fail(d.field, fmt.Sprintf("list of %d elements in %d bytes", n, len(rest)))
		return ListDecoder{}
	}
	if n == 0 && len(rest) > 0 {
		d.fail(d.field, "bytes after the end of an empty list")
		return ListDecoder{}
	}
	return ListDecoder{field: d.field, data: rest, len: int(n), left: int(n)}
}

// ListDecoder reads the elements of a list, in order, with the methods that
// match their type. Reading past the last element, a truncated element, or
// bytes left after the last one are errors, reported by Err (and by the Err
// of the Decoder Message returns); the methods then return zero values.
//
// A ListDecoder holds no reference to the Decoder it came from, so that
// nested Decoders stay on the stack.
type ListDecoder struct {
	field int
	data  []byte
	len   int
	left  int
	err   error
	nulls []bool // which elements are null, once the last one is read
}

// Len returns the number of elements of the list (0 after an error).
func (l *ListDecoder) Len() int { return l.len }

// Err returns the first error met reading elements, or nil.
func (l *ListDecoder) Err() error { return l.err }

func (l *ListDecoder) fail(reason string) {
	if l.err == nil {
		l.err = &FormatError{Field: l.field, Reason: reason}
	}
}

// next reports whether another element can be read.
func (l *ListDecoder) next() bool {
	if l.err != nil {
		return false
	}
	if l.left == 0 {
		l.fail(fmt.Sprintf("reading past the end of a list of %d elements", l.len))
		return false
	}
	l.left--
	return true
}

// done checks, after an element, that the list holds nothing more than its
// elements.
func (l *ListDecoder) done() {
	if l.left == 0 && len(l.data) > 0 {
		l.readNulls()
	}
}

// truncated records a truncated element.
func (l *ListDecoder) truncated() {
	l.fail(fmt.Sprintf("list element %d truncated", l.len-l.left-1))
}

// Raw returns the next element as bytes, aliasing the input.
func (l *ListDecoder) Raw() []byte {
	if !l.next() {
		return nil
	}
	size, n := uvarint(l.data)
	if n <= 0 || size > uint64(len(l.data)-n) {
		l.truncated()
		return nil
	}
	b := l.data[n : n+int(size) : n+int(size)]
	l.data = l.data[n+int(size):]
	l.done()
	return b
}

// String returns the next element as text.
func (l *ListDecoder) String() string { return string(l.Raw()) }

// Int returns the next element as a (zigzag-encoded) integer.
func (l *ListDecoder) Int() int64 {
	if !l.next() {
		return 0
	}
	u, n := uvarint(l.data)
	if n <= 0 {
		l.truncated()
		return 0
	}
	l.data = l.data[n:]
	l.done()
	return unzigzag(u)
}

// Float returns the next element as a Float.
func (l *ListDecoder) Float() float64 {
	if !l.next() {
		return 0
	}
	if len(l.data) < 8 {
		l.truncated()
		return 0
	}
	u := binary.LittleEndian.Uint64(l.data)
	l.data = l.data[8:]
	l.done()
	return math.Float64frombits(u)
}

// Bool returns the next element as a Boolean.
func (l *ListDecoder) Bool() bool {
	if !l.next() {
		return false
	}
	u, n := uvarint(l.data)
	switch {
	case n <= 0:
		l.truncated()
		return false
	case u > 1:
		l.fail(fmt.Sprintf("bad Boolean %d in list element %d", u, l.len-l.left-1))
		return false
	}
	l.data = l.data[n:]
	l.done()
	return u == 1
}

// Message returns a Decoder for the next element, a nested record. An error
// reading the element is also the returned Decoder's error, so decoding
// the element reports it.
func (l *ListDecoder) Message() Decoder {
	b := l.Raw()
	return Decoder{data: b, err: l.err}
}

// The packed-list readers below are functions rather than Decoder methods
// because Go methods cannot have type parameters. Each reads the list in d's
// current field; on error it returns nil, and d's Err reports the error.
// An empty list is returned as an empty, non-nil slice.

// ReadStrings reads a list of texts: IDs, Strings, enum values.
func ReadStrings[S ~string](d *Decoder) []S {
	l := d.List()
	out := make([]S, l.Len())
	for i := range out {
		out[i] = S(l.String())
	}
	return ok(d, &l, out)
}

// ReadInts reads a list of integers. A value that does not fit I is an
// error.
func ReadInts[I Integer](d *Decoder) []I {
	l := d.List()
	out := make([]I, l.Len())
	for i := range out {
		v := l.Int()
		out[i] = I(v)
		if int64(out[i]) != v {
			l.fail(fmt.Sprintf("list element %d: %d overflows %T", i, v, out[i]))
		}
	}
	return ok(d, &l, out)
}

// ReadFloats reads a list of Floats.
func ReadFloats[F ~float64](d *Decoder) []F {
	l := d.List()
	if len(l.data) < 8*l.len {
		d.fail(d.field, fmt.Sprintf("list of %d Floats in %d bytes", l.len, len(l.data)))
		return nil
	}
	out := make([]F, l.Len())
	for i := range out {
		out[i] = F(l.Float())
	}
	return ok(d, &l, out)
}

// ReadBools reads a list of Booleans.
func ReadBools[B ~bool](d *Decoder) []B {
	l := d.List()
	out := make([]B, l.Len())
	for i := range out {
		out[i] = B(l.Bool())
	}
	return ok(d, &l, out)
}

// ok returns out, or nil after an error of d or l, which becomes d's.
func ok[T any](d *Decoder, l *ListDecoder, out []T) []T {
	if l.err != nil && d.err == nil {
		d.err = l.err
	}
	if d.err != nil {
		return nil
	}
	return out
}

// Parse reads the current field as text and converts it with parse, one of
// package scalar's Parse functions: codec.Parse(d, scalar.ParseDateTime).
// It returns the Decoder's error when the field is not text, and parse's
// error when the text is not valid (empty text included).
func Parse[T any](d *Decoder, parse func(string) (T, error)) (T, error) {
	s := d.String()
	if d.err != nil {
		var zero T
		return zero, d.err
	}
	return parse(s)
}

// ParseList reads the current field as a list of texts and converts each
// with parse. Empty text is a null element and reads as the zero value of
// T; it is not given to parse.
func ParseList[T any](d *Decoder, parse func(string) (T, error)) ([]T, error) {
	l := d.List()
	out := make([]T, l.Len())
	for i := range out {
		s := l.String()
		if s == "" {
			continue
		}
		v, err := parse(s)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = v
	}
	if ok(d, &l, out) == nil {
		return nil, d.err
	}
	return out, nil
}
