package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// Encoder appends one record to a byte slice. The zero Encoder writes to a
// new slice; Reset reuses one. Field numbers must be between 1 and MaxField;
// an Encoder panics on others, which are programming errors.
//
// Encoders write fields in the order they are called; callers write them in
// a fixed order (declaration order) so that equal records encode to equal bytes.
type Encoder struct {
	buf   []byte
	nulls []int // the null elements of the list being written by List
}

// Reset starts a new record that is appended to buf.
func (e *Encoder) Reset(buf []byte) { e.buf = buf }

// Bytes returns the buffer given to Reset with the record appended.
func (e *Encoder) Bytes() []byte { return e.buf }

// tag appends the tag of a field.
func (e *Encoder) tag(field int, w wireType) {
	if field < 1 || field > MaxField {
		panic(fmt.Sprintf("codec: field number %d out of range", field))
	}
	e.buf = appendUvarint(e.buf, uint64(field)<<3|uint64(w))
}

// String writes a text field: ID, String, enum values and AWS scalars.
func (e *Encoder) String(field int, s string) {
	e.tag(field, wireBytes)
	e.buf = appendUvarint(e.buf, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// Int writes an integer field (Int, AWSTimestamp), zigzag-encoded.
func (e *Encoder) Int(field int, v int64) {
	e.tag(field, wireVarint)
	e.buf = appendUvarint(e.buf, zigzag(v))
}

// Float writes a Float field.
func (e *Encoder) Float(field int, v float64) {
	e.tag(field, wireFixed64)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v))
}

// Bool writes a Boolean field.
func (e *Encoder) Bool(field int, v bool) {
	e.tag(field, wireVarint)
	e.buf = append(e.buf, b2u(v))
}

// Raw writes b as a bytes field, such as the text of an AWSJSON value.
func (e *Encoder) Raw(field int, b []byte) {
	e.tag(field, wireBytes)
	e.buf = appendUvarint(e.buf, uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// Message writes a nested record (a non-model value): fn writes its fields
// to e, with the nested type's own field numbers.
func (e *Encoder) Message(field int, fn func(e *Encoder)) {
	e.tag(field, wireBytes)
	start := e.open()
	fn(e)
	e.close(start)
}

// List writes a list of n elements as one field; fn writes element i with
// exactly one call of a method of l. List always writes the field: callers
// leave out null (nil) lists themselves. WriteStrings and its siblings
// handle the common cases.
//
// A null element is written as the zero value of its type, followed by a
// call of l.Null(i).
func (e *Encoder) List(field, n int, fn func(l *ListEncoder, i int)) {
	e.tag(field, wireBytes)
	start := e.open()
	e.buf = appendUvarint(e.buf, uint64(n))
	l := (*ListEncoder)(e)
	outer := e.nulls // lists nest inside non-model elements
	e.nulls = nil
	for i := range n {
		fn(l, i)
	}
	e.buf = appendNulls(e.buf, e.nulls)
	e.nulls = outer
	e.close(start)
}

// open reserves one byte for the length of a value that is about to be
// written and returns its position for close.
func (e *Encoder) open() int {
	e.buf = append(e.buf, 0)
	return len(e.buf) - 1
}

// close writes the length of the value that starts after the byte reserved
// at start. Values of 128 bytes or more need a longer varint, so the value
// moves up to make room; nothing is allocated beyond growing the buffer.
func (e *Encoder) close(start int) {
	n := len(e.buf) - start - 1
	if n < 0x80 {
		e.buf[start] = byte(n)
		return
	}
	k := uvarintLen(uint64(n))
	e.buf = append(e.buf, make([]byte, k-1)...)
	copy(e.buf[start+k:], e.buf[start+1:start+1+n])
	putUvarint(e.buf[start:start+k], uint64(n))
}

// ListEncoder writes the elements of a list inside Encoder.List. Elements
// have no tags; the reader must know their type.
type ListEncoder Encoder

// String writes a text element.
func (l *ListEncoder) String(s string) {
	l.buf = appendUvarint(l.buf, uint64(len(s)))
	l.buf = append(l.buf, s...)
}

// Int writes an integer element, zigzag-encoded.
func (l *ListEncoder) Int(v int64) { l.buf = appendUvarint(l.buf, zigzag(v)) }

// Float writes a Float element.
func (l *ListEncoder) Float(v float64) {
	l.buf = binary.LittleEndian.AppendUint64(l.buf, math.Float64bits(v))
}

// Bool writes a Boolean element.
func (l *ListEncoder) Bool(v bool) { l.buf = append(l.buf, b2u(v)) }

// Raw writes a bytes element.
func (l *ListEncoder) Raw(b []byte) {
	l.buf = appendUvarint(l.buf, uint64(len(b)))
	l.buf = append(l.buf, b...)
}

// Message writes a nested record element; fn writes its fields.
func (l *ListEncoder) Message(fn func(e *Encoder)) {
	e := (*Encoder)(l)
	start := e.open()
	fn(e)
	e.close(start)
}

func b2u(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// Integer is the set of integer types WriteInts and ReadInts handle.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64
}

// The packed-list writers below are functions rather than Encoder methods
// because Go methods cannot have type parameters. Each writes nothing for a
// nil list (null) and a count of 0 for an empty one.

// WriteStrings writes a list of texts: IDs, Strings, enum values and the
// string-based AWS scalars (AWSEmail, AWSURL, AWSPhone, AWSIPAddress).
func WriteStrings[S ~string](e *Encoder, field int, list []S) {
	if list == nil {
		return
	}
	size := uvarintLen(uint64(len(list)))
	for _, s := range list {
		size += uvarintLen(uint64(len(s))) + len(s)
	}
	e.packed(field, size, len(list))
	for _, s := range list {
		e.buf = appendUvarint(e.buf, uint64(len(s)))
		e.buf = append(e.buf, s...)
	}
}

// WriteBytes writes a list of byte strings, such as AWSJSON values.
func WriteBytes[B ~[]byte](e *Encoder, field int, list []B) {
	if list == nil {
		return
	}
	size := uvarintLen(uint64(len(list)))
	for _, b := range list {
		size += uvarintLen(uint64(len(b))) + len(b)
	}
	e.packed(field, size, len(list))
	for _, b := range list {
		e.buf = appendUvarint(e.buf, uint64(len(b)))
		e.buf = append(e.buf, b...)
	}
}

// WriteTexts writes a list of values as the texts their String methods
// return: the AWS temporal scalars (AWSDate, AWSTime, AWSDateTime).
func WriteTexts[T interface{ String() string }](e *Encoder, field int, list []T) {
	if list == nil {
		return
	}
	size := uvarintLen(uint64(len(list)))
	for _, v := range list {
		n := len(v.String())
		size += uvarintLen(uint64(n)) + n
	}
	e.packed(field, size, len(list))
	for _, v := range list {
		s := v.String()
		e.buf = appendUvarint(e.buf, uint64(len(s)))
		e.buf = append(e.buf, s...)
	}
}

// WriteInts writes a list of integers (Int, AWSTimestamp).
func WriteInts[I Integer](e *Encoder, field int, list []I) {
	if list == nil {
		return
	}
	size := uvarintLen(uint64(len(list)))
	for _, v := range list {
		size += uvarintLen(zigzag(int64(v)))
	}
	e.packed(field, size, len(list))
	for _, v := range list {
		e.buf = appendUvarint(e.buf, zigzag(int64(v)))
	}
}

// WriteFloats writes a list of Floats.
func WriteFloats[F ~float64](e *Encoder, field int, list []F) {
	if list == nil {
		return
	}
	e.packed(field, uvarintLen(uint64(len(list)))+8*len(list), len(list))
	for _, v := range list {
		e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(float64(v)))
	}
}

// WriteBools writes a list of Booleans.
func WriteBools[B ~bool](e *Encoder, field int, list []B) {
	if list == nil {
		return
	}
	e.packed(field, uvarintLen(uint64(len(list)))+len(list), len(list))
	for _, v := range list {
		e.buf = append(e.buf, b2u(bool(v)))
	}
}

// WriteMessage writes *v as a nested record with enc, or nothing when v is
// nil (null).
func WriteMessage[T any](e *Encoder, field int, v *T, enc func(*Encoder, *T)) {
	if v == nil {
		return
	}
	e.tag(field, wireBytes)
	start := e.open()
	enc(e, v)
	e.close(start)
}

// WriteMessages writes a list of nested records, each element with enc.
func WriteMessages[T any](e *Encoder, field int, list []T, enc func(*Encoder, *T)) {
	if list == nil {
		return
	}
	e.tag(field, wireBytes)
	start := e.open()
	e.buf = appendUvarint(e.buf, uint64(len(list)))
	for i := range list {
		s := e.open()
		enc(e, &list[i])
		e.close(s)
	}
	e.close(start)
}

// packed starts a list field whose payload (count and elements) is size
// bytes, growing the buffer once for all of it.
func (e *Encoder) packed(field, size, n int) {
	e.buf = slices.Grow(e.buf, 5+binary.MaxVarintLen64+size)
	e.tag(field, wireBytes)
	e.buf = appendUvarint(e.buf, uint64(size))
	e.buf = appendUvarint(e.buf, uint64(n))
}
