package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Key components. Each value in a key is one self-delimiting component whose
// bytes sort the way the values do, so Badger's byte order is the query
// order. A component starts with a tag that orders the kinds: null first
// (a null sorts before every value, as predicate.Order defines), then
// booleans, numbers, instants and strings. A field holds one kind, so the
// order between kinds only matters for null.
const (
	tagNull    = 0x01
	tagFalse   = 0x02
	tagTrue    = 0x03
	tagInt     = 0x10
	tagFloat   = 0x11
	tagInstant = 0x18
	tagString  = 0x20
)

// AppendNull appends a null component.
func AppendNull(b []byte) []byte { return append(b, tagNull) }

// IsNull reports whether the key component comp is null.
func IsNull(comp []byte) bool { return len(comp) > 0 && comp[0] == tagNull }

// AppendBool appends a boolean component; false sorts first.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, tagTrue)
	}
	return append(b, tagFalse)
}

// AppendInt appends an integer component: big-endian with the sign bit
// flipped, so negative numbers sort first.
func AppendInt(b []byte, v int64) []byte {
	b = append(b, tagInt)
	return binary.BigEndian.AppendUint64(b, uint64(v)^(1<<63))
}

// AppendFloat appends a float component. Positive numbers get the sign bit
// set and negative numbers all bits flipped, which orders the IEEE 754 bits
// as the numbers.
func AppendFloat(b []byte, v float64) []byte {
	u := math.Float64bits(v)
	if v == 0 {
		u = 0 // -0 and +0 are equal
	}
	if u&(1<<63) != 0 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	b = append(b, tagFloat)
	return binary.BigEndian.AppendUint64(b, u)
}

// AppendInstant appends an AWS temporal value: the instant it denotes, as
// seconds and nanoseconds since the Unix epoch, then its text. The scalars
// compare by instant and break ties by text, and so do these components.
func AppendInstant(b []byte, sec int64, nsec int32, text string) []byte {
	b = append(b, tagInstant)
	b = binary.BigEndian.AppendUint64(b, uint64(sec)^(1<<63))
	b = binary.BigEndian.AppendUint32(b, uint32(nsec))
	return AppendString(b, text)
}

// AppendString appends a string component: the bytes with 0x00 escaped as
// 0x00 0xFF, then the terminator 0x00 0x01. The encoding keeps byte order
// (Go's string order) and a string's encoding without its terminator is a
// prefix of the encoding of every string it is a prefix of, which is what
// beginsWith scans use (see AppendStringPrefix).
func AppendString(b []byte, s string) []byte {
	b = slices.Grow(b, len(s)+3) // tag, s and terminator in one growth
	b = AppendStringPrefix(b, s)
	return append(b, 0x00, 0x01)
}

// AppendStringBytes is AppendString of the text in s, without converting
// it to a string in the common case of nothing to escape.
func AppendStringBytes(b, s []byte) []byte {
	if bytes.IndexByte(s, 0) >= 0 {
		return AppendString(b, string(s)) // rare: a NUL to escape
	}
	b = slices.Grow(b, len(s)+3)
	b = append(b, tagString)
	b = append(b, s...)
	return append(b, 0x00, 0x01)
}

// AppendStringPrefix appends the start of a string component for s without
// its terminator: every string beginning with s encodes to bytes beginning
// with the result.
func AppendStringPrefix(b []byte, s string) []byte {
	b = append(b, tagString)
	if strings.IndexByte(s, 0) < 0 {
		return append(b, s...) // the common case: nothing to escape
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		b = append(b, c)
		if c == 0 {
			b = append(b, 0xFF)
		}
	}
	return b
}

// SplitComponent returns the first component of key and the rest. ok is
// false when key does not start with a whole component.
func SplitComponent(key []byte) (comp, rest []byte, ok bool) {
	if len(key) == 0 {
		return nil, nil, false
	}
	n := 0
	switch key[0] {
	case tagNull, tagFalse, tagTrue:
		n = 1
	case tagInt, tagFloat:
		n = 9
	case tagInstant:
		if len(key) < 13 {
			return nil, nil, false
		}
		_, rest, ok := SplitComponent(key[13:])
		if !ok || len(rest) == len(key)-13 || key[13] != tagString {
			return nil, nil, false
		}
		n = len(key) - len(rest)
	case tagString:
		i := 1
		for {
			if i+1 >= len(key) {
				return nil, nil, false
			}
			if key[i] == 0 {
				if key[i+1] == 0x01 {
					n = i + 2
					break
				}
				i += 2
				continue
			}
			i++
		}
	default:
		return nil, nil, false
	}
	if len(key) < n {
		return nil, nil, false
	}
	return key[:n], key[n:], true
}

// SkipComponents returns key without its first n components.
func SkipComponents(key []byte, n int) ([]byte, bool) {
	for range n {
		var ok bool
		if _, key, ok = SplitComponent(key); !ok {
			return nil, false
		}
	}
	return key, true
}

// DecodeString returns the string of a string component.
func DecodeString(comp []byte) (string, bool) {
	if len(comp) < 3 || comp[0] != tagString {
		return "", false
	}
	body := comp[1 : len(comp)-2]
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		out = append(out, body[i])
		if body[i] == 0 {
			i++
		}
	}
	return string(out), true
}

// Successor returns the smallest key greater than every key that has p as
// a prefix, or nil when there is none (p is all 0xFF). It is the exclusive
// end of a prefix scan.
func Successor(p []byte) []byte {
	s := append([]byte(nil), p...)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != 0xFF {
			s[i]++
			return s[:i+1]
		}
	}
	return nil
}

// DescribeComponent renders a key component for messages: null, true,
// false, a number, or a string (an instant shows as its text), quoted.
func DescribeComponent(comp []byte) string {
	if len(comp) == 0 {
		return "?"
	}
	switch comp[0] {
	case tagNull:
		return "null"
	case tagFalse:
		return "false"
	case tagTrue:
		return "true"
	case tagInt:
		if len(comp) == 9 {
			return strconv.FormatInt(int64(binary.BigEndian.Uint64(comp[1:])^(1<<63)), 10)
		}
	case tagFloat:
		if len(comp) == 9 {
			u := binary.BigEndian.Uint64(comp[1:])
			if u&(1<<63) != 0 {
				u &^= 1 << 63
			} else {
				u = ^u
			}
			return strconv.FormatFloat(math.Float64frombits(u), 'g', -1, 64)
		}
	case tagInstant:
		if len(comp) > 13 {
			return DescribeComponent(comp[13:])
		}
	case tagString:
		if str, ok := DecodeString(comp); ok {
			return strconv.Quote(str)
		}
	}
	return fmt.Sprintf("%x", comp)
}
