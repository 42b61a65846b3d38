package scalar

import (
	"cmp"
	"strings"
	"time"
)

// DateTime is an AWSDateTime: an ISO 8601 extended date and time,
// YYYY-MM-DDThh:mm[:ss[.f]], followed by a required zone designator: Z,
// ±hh:mm or ±hh:mm:ss. The fraction has 1 to 9 digits, and years follow the
// Date rules.
//
// A DateTime keeps the text it was parsed from, so it encodes back byte for
// byte. It also holds the instant that text denotes, so Compare and Equal do
// not parse again. The zero DateTime means "no value" and encodes as JSON
// null. DateTime values are comparable with ==, which reports identical text.
// Use Equal to test whether two values are the same instant.
type DateTime struct {
	s    string
	sec  int64 // Unix seconds of the instant
	nsec int32 // [0, 1e9)
	off  int32 // zone offset, seconds east of UTC
}

// ParseDateTime parses an AWSDateTime such as "2024-01-02T03:04:05.123Z" or
// "2024-01-02T03:04:05+05:30".
func ParseDateTime(s string) (DateTime, error) {
	t, reason := parseDateTime(s)
	if reason != "" {
		return DateTime{}, &ParseError{Type: typeDateTime, Value: s, Reason: reason}
	}
	return t, nil
}

func parseDateTime(s string) (DateTime, string) {
	if s == "" {
		return DateTime{}, reasonEmpty
	}
	days, n, reason := parseDate(s)
	if reason != "" {
		return DateTime{}, reason
	}
	if n == len(s) || s[n] != 'T' {
		return DateTime{}, "expected 'T' after the date"
	}
	n++
	clock, m, reason := parseClock(s[n:])
	if reason != "" {
		return DateTime{}, reason
	}
	n += m
	if n == len(s) {
		return DateTime{}, "missing zone offset"
	}
	off, reason := parseZone(s[n:])
	if reason != "" {
		return DateTime{}, reason
	}
	return DateTime{
		s:    s,
		sec:  days*secondsPerDay + clock/1e9 - int64(off),
		nsec: int32(clock % 1e9),
		off:  off,
	}, ""
}

// MustParseDateTime is like ParseDateTime but panics if s is invalid. It is
// meant for tests and literals.
func MustParseDateTime(s string) DateTime {
	t, err := ParseDateTime(s)
	if err != nil {
		panic(err)
	}
	return t
}

// NewDateTime returns t as the Amplify JavaScript clients write it, which is
// Date.prototype.toISOString: UTC with exactly three fractional digits, such
// as "2024-01-02T03:04:05.120Z". Precision below a millisecond is truncated.
// It panics if t's year in UTC is outside [-9999, 9999].
func NewDateTime(t time.Time) DateTime {
	t = t.UTC()
	y, mo, d := t.Date()
	checkYear("NewDateTime", y)
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / 1e6
	b := make([]byte, 0, 25)
	b = append(appendYear(b, y), '-')
	b = append(append2(b, int(mo)), '-')
	b = append(append2(b, d), 'T')
	b = append(append2(b, h), ':')
	b = append(append2(b, mi), ':')
	b = append(append2(b, s), '.')
	b = append(append2(append(b, byte('0'+ms/100)), ms%100), 'Z')
	return DateTime{s: string(b), sec: t.Unix(), nsec: int32(ms * 1e6)}
}

// String returns the text of t exactly as parsed, or "" for the zero value.
func (t DateTime) String() string { return t.s }

// IsZero reports whether t is the zero DateTime, meaning "no value".
func (t DateTime) IsZero() bool { return t.s == "" }

// Time returns the instant t denotes, in a fixed zone with t's offset (time.UTC
// for a zero offset). The zero DateTime returns the zero time.Time.
func (t DateTime) Time() time.Time {
	if t.s == "" {
		return time.Time{}
	}
	return time.Unix(t.sec, int64(t.nsec)).In(location(t.off))
}

// Equal reports whether t and u denote the same instant, whatever their
// offsets: 2024-01-01T10:00:00+02:00 equals 2024-01-01T08:00:00Z. Zero values
// are equal only to each other.
func (t DateTime) Equal(u DateTime) bool {
	if t.s == "" || u.s == "" {
		return t.s == u.s
	}
	return t.sec == u.sec && t.nsec == u.nsec
}

// Compare returns -1, 0 or +1 as t is before, the same as, or after u. It
// orders by instant, so values with different offsets sort chronologically.
// Different texts for the same instant are ordered by their text, so Compare
// is a total order that returns 0 only for identical values. The zero
// DateTime sorts first.
func (t DateTime) Compare(u DateTime) int {
	switch {
	case t.s == u.s:
		return 0
	case t.s == "":
		return -1
	case u.s == "":
		return +1
	}
	if c := cmp.Compare(t.sec, u.sec); c != 0 {
		return c
	}
	if c := cmp.Compare(t.nsec, u.nsec); c != 0 {
		return c
	}
	return strings.Compare(t.s, u.s)
}

// MarshalJSON encodes t as a JSON string, or null for the zero value.
func (t DateTime) MarshalJSON() ([]byte, error) {
	if t.s == "" {
		return []byte("null"), nil
	}
	return quoteASCII(t.s), nil
}

// UnmarshalJSON decodes a JSON string holding an AWSDateTime. JSON null
// leaves t unchanged.
func (t *DateTime) UnmarshalJSON(data []byte) error {
	return unmarshalJSONInto(t, typeDateTime, data, ParseDateTime)
}

// MarshalText returns the text of t, which is empty for the zero value.
func (t DateTime) MarshalText() ([]byte, error) { return []byte(t.s), nil }

// UnmarshalText parses an AWSDateTime. Empty text sets the zero value, which
// is the inverse of MarshalText.
func (t *DateTime) UnmarshalText(text []byte) error {
	return unmarshalTextInto(t, text, ParseDateTime)
}

// quoteASCII returns s in double quotes. The temporal formats contain only
// characters that need no escaping in JSON.
func quoteASCII(s string) []byte {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
