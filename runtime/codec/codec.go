// Package codec is the binary record format of dsgen stores: compact, fast
// to write and read, and readable without generated code.
//
// Generated model packages encode and decode their structs with the
// Encoder and Decoder of this package in straight-line code, without
// reflection. EncodeMap and DecodeMap read and write the same bytes from
// schema metadata alone, for code that has no generated types (dsgen serve,
// migrations).
//
// # Records
//
// A record is a sequence of fields. Each field is a tag, a varint holding
// fieldNumber<<3 | wireType, followed by the value:
//
//	wire type 0, varint   unsigned LEB128 varint (as in protocol buffers):
//	                      Int and AWSTimestamp zigzag-encoded, Boolean 0 or 1
//	wire type 1, fixed64  8 bytes, little endian: Float (IEEE 754 bits)
//	wire type 2, bytes    varint length, then that many bytes: ID, String,
//	                      enum values (their names), AWS scalars (their text),
//	                      AWSJSON (the JSON text), non-model values (a nested
//	                      record) and lists
//
// The wire types are numbered as in protocol buffers, so a record without
// lists reads as a protocol buffer message. Null fields are absent. Fields
// are written in declaration order, but readers accept any order; when a
// field occurs twice the last occurrence wins. Readers skip fields whose
// numbers they do not know, so records written by a newer schema stay
// readable.
//
// # Field numbers
//
// The number of a field is its meta.Field.Number, the stable id the schema
// lock (dsgen.lock.json) gives it, which renames and reordering keep. A
// field without one (a schema never locked) has 1 + its index in
// meta.Model.Fields (or meta.NonModel.Fields), counting every field,
// including relation fields (KindModel) that hold other models: those are
// not stored and their numbers are never written. A first lock gives every
// field that same number, so locking a schema moves no data. FieldNumber
// and Number compute it.
//
// # Lists
//
// A list is one bytes field holding the element count as a varint, followed
// by the elements encoded as their wire type says but without tags: strings
// and other texts length-prefixed, integers as zigzag varints, floats as 8
// little-endian bytes, booleans as one varint, non-model values as
// length-prefixed nested records. A nil slice is null, so absent; an empty
// slice is present with count 0, so the two round-trip distinctly. A null
// element (of a list of nullable elements, [T]) is written as the zero value
// of its type (empty text, 0, false, an empty record), and the list ends
// with a trailer naming the null elements' indexes (see nulls.go); a list
// without null elements has no trailer.
//
// # AWS scalars
//
// The zero value of the AWS scalar types held as text (AWSDate, AWSTime,
// AWSDateTime, AWSEmail, AWSURL, AWSPhone, AWSIPAddress, AWSJSON) means "no
// value" (see package scalar), so a field holding it is null and not
// written. Readers reject empty text for such a field, as the scalar's Parse
// function does. Inside a list the zero value is written as empty text and
// read back as the zero value. AWSTimestamp is an integer; its zero value is
// the Unix epoch and is written like any other.
//
// # Errors and safety
//
// A Decoder never panics, whatever its input, and allocates only the
// strings and slices it returns. It stops at the first problem (truncated
// data, a bad varint, a field read with the wrong wire type, a bad list) and
// reports it, as a *FormatError, from Err. An Encoder allocates only to grow
// its buffer. Generated decoders and DecodeMap copy whatever they keep, so
// the input may be reused as soon as they return.
//
// Packed lists of basic values are written and read by generic functions
// (WriteStrings, ReadStrings, ...) rather than methods, since Go methods
// cannot have type parameters; AWS scalar texts are read through their
// Parse functions with Parse and ParseList.
package codec

import (
	"fmt"

	"github.com/dsgen/dsgen/runtime/meta"
)

// MaxField is the largest field number a record can hold.
const MaxField = 1<<29 - 1

// FieldNumber returns the field number of the field called name in fields
// (the fields of a model or non-model type), or 0 if there is none.
func FieldNumber(fields []*meta.Field, name string) int {
	for i, f := range fields {
		if f.Name == name {
			return Number(fields, i)
		}
	}
	return 0
}

// Number returns the field number of fields[i].
func Number(fields []*meta.Field, i int) int {
	if n := fields[i].Number; n != 0 {
		return n
	}
	return i + 1
}

// wireType says how a field's value is encoded.
type wireType uint8

// The wire types.
const (
	wireVarint  wireType = 0
	wireFixed64 wireType = 1
	wireBytes   wireType = 2
)

func (w wireType) String() string {
	switch w {
	case wireVarint:
		return "varint"
	case wireFixed64:
		return "fixed64"
	case wireBytes:
		return "bytes"
	}
	return fmt.Sprintf("wire type %d", uint8(w))
}

// FormatError reports data that is not a well-formed record, or a field
// whose encoding is not what the reader expects.
type FormatError struct {
	// Field is the number of the field at fault, or 0 when the problem is
	// not in a field's value (a bad tag, for example).
	Field int
	// Reason says what is wrong.
	Reason string
}

// Error returns a message such as "codec: field 3: want bytes, got varint".
func (e *FormatError) Error() string {
	if e.Field == 0 {
		return "codec: " + e.Reason
	}
	return fmt.Sprintf("codec: field %d: %s", e.Field, e.Reason)
}

// zigzag maps signed integers to unsigned ones so that small magnitudes
// encode in few bytes: 0, -1, 1, -2 ... become 0, 1, 2, 3 ...
func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

// unzigzag is the inverse of zigzag.
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// appendUvarint appends u as a varint.
func appendUvarint(b []byte, u uint64) []byte {
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

// putUvarint writes u as a varint to b, which has exactly the room.
func putUvarint(b []byte, u uint64) {
	i := 0
	for u >= 0x80 {
		b[i] = byte(u) | 0x80
		u >>= 7
		i++
	}
	b[i] = byte(u)
}

// uvarintLen returns the number of bytes of u as a varint.
func uvarintLen(u uint64) int {
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

// uvarint reads a varint from the start of b. It returns the value and the
// number of bytes read, 0 if b ends inside the varint, or -1 if the varint
// is longer than 10 bytes or overflows 64 bits.
func uvarint(b []byte) (uint64, int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	var u uint64
	for i := 0; i < len(b); i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, -1
		}
		u |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return u, i + 1
		}
	}
	return 0, 0
}
