package codec

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Null list elements.
//
// A list whose element type is nullable ([T] rather than [T!]) may hold
// null elements. Each is written in its place as the zero value of its type
// (empty text, 0, false, an empty record), and the list ends with a null
// trailer after its last element: the number of null elements k >= 1 as a
// varint, then their indexes, ascending, as k varints. A list without null
// elements has no trailer, so it is written exactly as before null elements
// existed, and lists written then read as lists without nulls.

// appendNulls appends the null trailer of the list elements at indexes
// nulls (ascending), or nothing when there are none.
func appendNulls(b []byte, nulls []int) []byte {
	if len(nulls) == 0 {
		return b
	}
	b = appendUvarint(b, uint64(len(nulls)))
	for _, i := range nulls {
		b = appendUvarint(b, uint64(i))
	}
	return b
}

// nullsLen returns the size of the null trailer of list, and the number of
// nil elements.
func nullsLen[P any](list []*P) (size, n int) {
	for i, p := range list {
		if p == nil {
			size += uvarintLen(uint64(i))
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return size + uvarintLen(uint64(n)), n
}

// appendNullsOf appends the null trailer of list.
func appendNullsOf[P any](b []byte, list []*P) []byte {
	if _, n := nullsLen(list); n == 0 {
		return b
	}
	var nulls []int
	for i, p := range list {
		if p == nil {
			nulls = append(nulls, i)
		}
	}
	return appendNulls(b, nulls)
}

// readNulls reads the null trailer that follows the last element of l.
func (l *ListDecoder) readNulls() {
	data := l.data
	bad := func() {
		l.fail(fmt.Sprintf("%d bytes after the last list element are not a null-element trailer", len(l.data)))
	}
	k, n := uvarint(data)
	if n <= 0 || k == 0 || k > uint64(l.len) {
		bad()
		return
	}
	data = data[n:]
	nulls := make([]bool, l.len)
	prev := -1
	for range k {
		i, n := uvarint(data)
		if n <= 0 || i >= uint64(l.len) || int(i) <= prev {
			bad()
			return
		}
		nulls[i] = true
		prev = int(i)
		data = data[n:]
	}
	if len(data) > 0 {
		bad()
		return
	}
	l.data = nil
	l.nulls = nulls
}

// Null reports whether element i is null. It is known once the last element
// has been read.
func (l *ListDecoder) Null(i int) bool { return i < len(l.nulls) && l.nulls[i] }

// ListEncoder.Null marks an element null; see Encoder.List.

// Null marks element i, just written as the zero value of its type, as null.
func (l *ListEncoder) Null(i int) { l.nulls = append(l.nulls, i) }

// The writers of lists with nullable elements, []*T: each writes nothing for
// a nil list, and a nil element as a null element.

// WriteStringPtrs writes a list of nullable texts (see WriteStrings).
func WriteStringPtrs[S ~string](e *Encoder, field int, list []*S) {
	if list == nil {
		return
	}
	tsize, _ := nullsLen(list)
	size := uvarintLen(uint64(len(list))) + tsize
	for _, s := range list {
		if s == nil {
			size++
			continue
		}
		size += uvarintLen(uint64(len(*s))) + len(*s)
	}
	e.packed(field, size, len(list))
	for _, s := range list {
		if s == nil {
			e.buf = append(e.buf, 0)
			continue
		}
		e.buf = appendUvarint(e.buf, uint64(len(*s)))
		e.buf = append(e.buf, *s...)
	}
	e.buf = appendNullsOf(e.buf, list)
}

// WriteBytePtrs writes a list of nullable byte strings (see WriteBytes).
func WriteBytePtrs[B ~[]byte](e *Encoder, field int, list []*B) {
	if list == nil {
		return
	}
	tsize, _ := nullsLen(list)
	size := uvarintLen(uint64(len(list))) + tsize
	for _, b := range list {
		if b == nil {
			size++
			continue
		}
		size += uvarintLen(uint64(len(*b))) + len(*b)
	}
	e.packed(field, size, len(list))
	for _, b := range list {
		if b == nil {
			e.buf = append(e.buf, 0)
			continue
		}
		e.buf = appendUvarint(e.buf, uint64(len(*b)))
		e.buf = append(e.buf, *b...)
	}
	e.buf = appendNullsOf(e.buf, list)
}

// WriteTextPtrs writes a list of nullable values as their String texts
// (see WriteTexts).
func WriteTextPtrs[T interface{ String() string }](e *Encoder, field int, list []*T) {
	if list == nil {
		return
	}
	tsize, _ := nullsLen(list)
	size := uvarintLen(uint64(len(list))) + tsize
	for _, v := range list {
		if v == nil {
			size++
			continue
		}
		n := len((*v).String())
		size += uvarintLen(uint64(n)) + n
	}
	e.packed(field, size, len(list))
	for _, v := range list {
		if v == nil {
			e.buf = append(e.buf, 0)
			continue
		}
		s := (*v).String()
		e.buf = appendUvarint(e.buf, uint64(len(s)))
		e.buf = append(e.buf, s...)
	}
	e.buf = appendNullsOf(e.buf, list)
}

// WriteIntPtrs writes a list of nullable integers (see WriteInts).
func WriteIntPtrs[I Integer](e *Encoder, field int, list []*I) {
	if list == nil {
		return
	}
	tsize, _ := nullsLen(list)
	size := uvarintLen(uint64(len(list))) + tsize
	for _, v := range list {
		if v == nil {
			size++
			continue
		}
		size += uvarintLen(zigzag(int64(*v)))
	}
	e.packed(field, size, len(list))
	for _, v := range list {
		if v == nil {
			e.buf = append(e.buf, 0)
			continue
		}
		e.buf = appendUvarint(e.buf, zigzag(int64(*v)))
	}
	e.buf = appendNullsOf(e.buf, list)
}

// WriteFloatPtrs writes a list of nullable Floats (see WriteFloats).
func WriteFloatPtrs[F ~float64](e *Encoder, field int, list []*F) {
	if list == nil {
		return
	}
	tsize, _ := nullsLen(list)
	e.packed(field, uvarintLen(uint64(len(list)))+8*len(list)+tsize, len(list))
	for _, v := range list {
		var x float64
		if v != nil {
			x = float64(*v)
		}
		e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(x))
	}
	e.buf = appendNullsOf(e.buf, list)
}

// WriteBoolPtrs writes a list of nullable Booleans (see WriteBools).
func WriteBoolPtrs[B ~bool](e *Encoder, field int, list []*B) {
	if list == nil {
		return
	}
	tsize, _ := nullsLen(list)
	e.packed(field, uvarintLen(uint64(len(list)))+len(list)+tsize, len(list))
	for _, v := range list {
		e.buf = append(e.buf, b2u(v != nil && bool(*v)))
	}
	e.buf = appendNullsOf(e.buf, list)
}

// WriteMessagePtrs writes a list of nullable nested records, each non-nil
// element with enc (see WriteMessages).
func WriteMessagePtrs[T any](e *Encoder, field int, list []*T, enc func(*Encoder, *T)) {
	if list == nil {
		return
	}
	e.tag(field, wireBytes)
	start := e.open()
	e.buf = appendUvarint(e.buf, uint64(len(list)))
	for _, v := range list {
		s := e.open()
		if v != nil {
			enc(e, v)
		}
		e.close(s)
	}
	e.buf = appendNullsOf(e.buf, list)
	e.close(start)
}

// The readers of lists with nullable elements return []*T, with nil for
// null elements. Like their siblings they return nil (and leave the error
// in d) on error, and an empty non-nil slice for an empty list.

// ptrs returns vals as pointers, nil where l says an element is null.
func ptrs[T any](l *ListDecoder, vals []T) []*T {
	if vals == nil {
		return nil
	}
	out := make([]*T, len(vals))
	for i := range vals {
		if !l.Null(i) {
			out[i] = &vals[i]
		}
	}
	return out
}

// ReadStringPtrs reads a list of nullable texts.
func ReadStringPtrs[S ~string](d *Decoder) []*S {
	l := d.List()
	out := make([]S, l.Len())
	for i := range out {
		out[i] = S(l.String())
	}
	return ptrs(&l, ok(d, &l, out))
}

// ReadIntPtrs reads a list of nullable integers.
func ReadIntPtrs[I Integer](d *Decoder) []*I {
	l := d.List()
	out := make([]I, l.Len())
	for i := range out {
		v := l.Int()
		out[i] = I(v)
		if int64(out[i]) != v {
			l.fail(fmt.Sprintf("list element %d: %d overflows %T", i, v, out[i]))
		}
	}
	return ptrs(&l, ok(d, &l, out))
}

// ReadFloatPtrs reads a list of nullable Floats.
func ReadFloatPtrs[F ~float64](d *Decoder) []*F {
	l := d.List()
	out := make([]F, l.Len())
	for i := range out {
		out[i] = F(l.Float())
	}
	return ptrs(&l, ok(d, &l, out))
}

// ReadBoolPtrs reads a list of nullable Booleans.
func ReadBoolPtrs[B ~bool](d *Decoder) []*B {
	l := d.List()
	out := make([]B, l.Len())
	for i := range out {
		out[i] = B(l.Bool())
	}
	return ptrs(&l, ok(d, &l, out))
}

// ParseListPtrs reads a list of nullable texts and converts each non-null
// one with parse (see ParseList). Empty text is a null element too, as
// lists written before null trailers existed hold them.
func ParseListPtrs[T any](d *Decoder, parse func(string) (T, error)) ([]*T, error) {
	l := d.List()
	texts := make([]string, l.Len())
	for i := range texts {
		texts[i] = l.String()
	}
	if ok(d, &l, texts) == nil {
		return nil, d.err
	}
	out := make([]*T, len(texts))
	for i, s := range texts {
		if s == "" || l.Null(i) {
			continue
		}
		v, err := parse(s)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = &v
	}
	return out, nil
}

// ReadMessagePtrs reads a list of nullable nested records, each non-null
// one with dec.
func ReadMessagePtrs[T any](d *Decoder, dec func(*Decoder, *T) error) ([]*T, error) {
	l := d.List()
	out := make([]*T, l.Len())
	for i := range out {
		m := l.Message()
		out[i] = new(T)
		if err := dec(&m, out[i]); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
	}
	if ok(d, &l, out) == nil {
		return nil, d.err
	}
	for i := range out {
		if l.Null(i) {
			out[i] = nil
		}
	}
	return out, nil
}
