package scalar

import (
	"cmp"
	"strconv"
	"strings"
	"time"
)

// Time is an AWSTime: an ISO 8601 extended time of day, hh:mm, hh:mm:ss or
// hh:mm:ss.f with 1 to 9 fractional digits, optionally followed by a zone
// designator (Z, ±hh:mm or ±hh:mm:ss). Hours run from 00 to 23.
//
// A Time keeps the text it was parsed from, so it encodes back byte for byte.
// The zero Time means "no value" and encodes as JSON null. Time values are
// comparable with ==, which reports identical text.
type Time struct {
	s     string
	clock int64 // wall-clock nanoseconds since midnight
	off   int32 // zone offset, seconds east of UTC
	zoned bool  // whether the text has a zone designator
}

// ParseTime parses an AWSTime such as "13:45", "13:45:30.250" or
// "13:45:30-07:00".
func ParseTime(s string) (Time, error) {
	t, reason := parseTime(s)
	if reason != "" {
		return Time{}, &ParseError{Type: typeTime, Value: s, Reason: reason}
	}
	return t, nil
}

func parseTime(s string) (Time, string) {
	if s == "" {
		return Time{}, reasonEmpty
	}
	clock, n, reason := parseClock(s)
	if reason != "" {
		return Time{}, reason
	}
	t := Time{s: s, clock: clock}
	if n < len(s) {
		if t.off, reason = parseZone(s[n:]); reason != "" {
			return Time{}, reason
		}
		t.zoned = true
	}
	return t, ""
}

// MustParseTime is like ParseTime but panics if s is invalid. It is meant for
// tests and literals.
func MustParseTime(s string) Time {
	t, err := ParseTime(s)
	if err != nil {
		panic(err)
	}
	return t
}

// NewTime returns hour:minute:sec with no zone offset, written as
// hh:mm:ss.sss, the format the AppSync documentation gives. nsec is truncated
// to milliseconds. NewTime(t.Hour(), t.Minute(), t.Second(), t.Nanosecond())
// gives the wall-clock time of a time.Time. NewTime panics if a component is
// out of range.
func NewTime(hour, minute, sec, nsec int) Time {
	if hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
		sec < 0 || sec > 59 || nsec < 0 || nsec >= 1e9 {
		panic("scalar: NewTime: component out of range: " + strconv.Itoa(hour) + ":" +
			strconv.Itoa(minute) + ":" + strconv.Itoa(sec) + "." + strconv.Itoa(nsec))
	}
	ms := nsec / 1e6
	b := make([]byte, 0, 12)
	b = append(append2(b, hour), ':')
	b = append(append2(b, minute), ':')
	b = append(append2(b, sec), '.')
	b = append2(append(b, byte('0'+ms/100)), ms%100)
	clock := (int64(hour*3600+minute*60+sec))*1e9 + int64(ms)*1e6
	return Time{s: string(b), clock: clock}
}

// String returns the text of t exactly as parsed, or "" for the zero value.
func (t Time) String() string { return t.s }

// IsZero reports whether t is the zero Time, meaning "no value".
func (t Time) IsZero() bool { return t.s == "" }

// SinceMidnight returns the wall-clock time of day t states, before any zone
// offset is applied. "13:45:30.5+02:00" gives 13h45m30.5s.
func (t Time) SinceMidnight() time.Duration { return time.Duration(t.clock) }

// Offset returns t's zone offset and whether t has one.
func (t Time) Offset() (offset time.Duration, ok bool) {
	return time.Duration(t.off) * time.Second, t.zoned
}

// utc returns t as nanoseconds from midnight UTC on the same calendar day,
// which can be negative or 24h or more. A missing offset counts as UTC.
func (t Time) utc() int64 { return t.clock - int64(t.off)*1e9 }

// Equal reports whether t and u are the same time of day once their offsets
// are applied, as if both fell on the same calendar date. A missing offset
// counts as UTC. Zero values are equal only to each other.
func (t Time) Equal(u Time) bool {
	if t.s == "" || u.s == "" {
		return t.s == u.s
	}
	return t.utc() == u.utc()
}

// Compare returns -1, 0 or +1 as t is before, the same as, or after u. It
// orders by the instant each time denotes when both fall on the same calendar
// date, counting a missing offset as UTC. Times without offsets therefore
// sort by clock. Ties are ordered by text, so Compare returns 0 only for
// identical values. The zero Time sorts first.
func (t Time) Compare(u Time) int {
	switch {
	case t.s == u.s:
		return 0
	case t.s == "":
		return -1
	case u.s == "":
		return +1
	}
	if c := cmp.Compare(t.utc(), u.utc()); c != 0 {
		return c
	}
	return strings.Compare(t.s, u.s)
}

// MarshalJSON encodes t as a JSON string, or null for the zero value.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.s == "" {
		return []byte("null"), nil
	}
	return quoteASCII(t.s), nil
}

// UnmarshalJSON decodes a JSON string holding an AWSTime. JSON null leaves t
// unchanged.
func (t *Time) UnmarshalJSON(data []byte) error {
	return unmarshalJSONInto(t, typeTime, data, ParseTime)
}

// MarshalText returns the text of t, which is empty for the zero value.
func (t Time) MarshalText() ([]byte, error) { return []byte(t.s), nil }

// UnmarshalText parses an AWSTime. Empty text sets the zero value, which is
// the inverse of MarshalText.
func (t *Time) UnmarshalText(text []byte) error {
	return unmarshalTextInto(t, text, ParseTime)
}
