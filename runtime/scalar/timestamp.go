package scalar

import (
	"cmp"
	"strconv"
	"time"
)

// Timestamp is an AWSTimestamp: whole seconds before or after the Unix epoch,
// 1970-01-01T00:00:00Z. In JSON it is a number.
//
// Only the canonical decimal form is accepted: no sign on positive values, no
// leading zeros, no "-0", no fraction or exponent. Every accepted text is the
// one String returns, so values round-trip byte for byte. Unlike the other
// types, the zero Timestamp is a real value, the epoch, and encodes as 0.
type Timestamp int64

// ParseTimestamp parses the decimal text of an AWSTimestamp, such as
// "1704164645".
func ParseTimestamp(s string) (Timestamp, error) {
	v, reason := parseInt(s)
	if reason != "" {
		return 0, &ParseError{Type: typeTimestamp, Value: s, Reason: reason}
	}
	return Timestamp(v), nil
}

// MustParseTimestamp is like ParseTimestamp but panics if s is invalid. It is
// meant for tests and literals.
func MustParseTimestamp(s string) Timestamp {
	t, err := ParseTimestamp(s)
	if err != nil {
		panic(err)
	}
	return t
}

// NewTimestamp returns t truncated to whole seconds since the epoch.
func NewTimestamp(t time.Time) Timestamp { return Timestamp(t.Unix()) }

// Time returns the instant t denotes, in UTC.
func (t Timestamp) Time() time.Time { return time.Unix(int64(t), 0).UTC() }

// String returns t in decimal.
func (t Timestamp) String() string { return strconv.FormatInt(int64(t), 10) }

// Compare returns -1, 0 or +1 as t is before, the same as, or after u.
func (t Timestamp) Compare(u Timestamp) int { return cmp.Compare(t, u) }

// MarshalJSON encodes t as a JSON number.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(make([]byte, 0, 20), int64(t), 10), nil
}

// UnmarshalJSON decodes a JSON integer. JSON null leaves t unchanged.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	data = trimJSONSpace(data)
	if string(data) == "null" {
		return nil
	}
	v, reason := parseInt(data)
	if reason != "" {
		return &ParseError{Type: typeTimestamp, Value: string(data), Reason: reason}
	}
	*t = Timestamp(v)
	return nil
}

// MarshalText returns t in decimal.
func (t Timestamp) MarshalText() ([]byte, error) {
	return strconv.AppendInt(make([]byte, 0, 20), int64(t), 10), nil
}

// UnmarshalText parses the decimal text of an AWSTimestamp.
func (t *Timestamp) UnmarshalText(text []byte) error {
	v, reason := parseInt(text)
	if reason != "" {
		return &ParseError{Type: typeTimestamp, Value: string(text), Reason: reason}
	}
	*t = Timestamp(v)
	return nil
}

// parseInt parses a canonical decimal int64, the form strconv.FormatInt
// writes. It takes a string or bytes so that UnmarshalJSON does not copy.
func parseInt[T ~string | ~[]byte](s T) (int64, string) {
	if len(s) == 0 {
		return 0, reasonEmpty
	}
	i := 0
	neg := s[0] == '-'
	if neg {
		i = 1
	}
	if i == len(s) {
		return 0, "expected an integer"
	}
	if s[i] == '0' && (neg || len(s) > i+1) {
		if neg && len(s) == 2 {
			return 0, "negative zero"
		}
		return 0, "leading zero"
	}
	limit := uint64(1<<63 - 1)
	if neg {
		limit = 1 << 63
	}
	var u uint64
	for ; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, "expected an integer"
		}
		if u > (limit-uint64(c))/10 {
			return 0, "out of range"
		}
		u = u*10 + uint64(c)
	}
	if neg {
		return int64(-u), "" // -u wraps correctly for 1<<63
	}
	return int64(u), ""
}
