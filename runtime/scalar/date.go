package scalar

import (
	"cmp"
	"strings"
	"time"
)

// Date is an AWSDate: an ISO 8601 extended calendar date, YYYY-MM-DD,
// optionally followed by a zone designator (Z, ±hh:mm or ±hh:mm:ss), as
// AppSync allows. Years have four digits. AppSync also accepts a leading '-'
// for years before 0000, counted astronomically (-0001 is 2 BC).
//
// A Date keeps the text it was parsed from, so it encodes back byte for byte.
// The zero Date means "no value" and encodes as JSON null. Date values are
// comparable with ==, which reports identical text.
type Date struct {
	s     string
	days  int64 // days from 1970-01-01 to the calendar date
	off   int32 // zone offset, seconds east of UTC
	zoned bool  // whether the text has a zone designator
}

// ParseDate parses an AWSDate such as "2024-02-29" or "2024-02-29+05:30".
func ParseDate(s string) (Date, error) {
	d, reason := parseDateOnly(s)
	if reason != "" {
		return Date{}, &ParseError{Type: typeDate, Value: s, Reason: reason}
	}
	return d, nil
}

func parseDateOnly(s string) (Date, string) {
	if s == "" {
		return Date{}, reasonEmpty
	}
	days, n, reason := parseDate(s)
	if reason != "" {
		return Date{}, reason
	}
	d := Date{s: s, days: days}
	if n < len(s) {
		if d.off, reason = parseZone(s[n:]); reason != "" {
			return Date{}, reason
		}
		d.zoned = true
	}
	return d, ""
}

// MustParseDate is like ParseDate but panics if s is invalid. It is meant for
// tests and literals.
func MustParseDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// NewDate returns the date year-month-day with no zone offset, such as
// "2024-01-02". Out-of-range months and days are normalized as time.Date
// does, so NewDate(t.Date()) gives the calendar date of a time.Time. It panics
// if the normalized year is outside [-9999, 9999].
func NewDate(year int, month time.Month, day int) Date {
	t := time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
	y, m, d := t.Date()
	checkYear("NewDate", y)
	b := make([]byte, 0, 11)
	b = append(appendYear(b, y), '-')
	b = append(append2(b, int(m)), '-')
	b = append2(b, d)
	return Date{s: string(b), days: t.Unix() / secondsPerDay}
}

// String returns the text of d exactly as parsed, or "" for the zero value.
func (d Date) String() string { return d.s }

// IsZero reports whether d is the zero Date, meaning "no value".
func (d Date) IsZero() bool { return d.s == "" }

// Time returns midnight at the start of d, in a fixed zone with d's offset.
// A date without an offset, or with a zero offset, uses time.UTC. The zero
// Date returns the zero time.Time.
func (d Date) Time() time.Time {
	if d.s == "" {
		return time.Time{}
	}
	return time.Date(1970, time.January, 1+int(d.days), 0, 0, 0, 0, location(d.off))
}

// Offset returns d's zone offset and whether d has one.
func (d Date) Offset() (offset time.Duration, ok bool) {
	return time.Duration(d.off) * time.Second, d.zoned
}

// start returns the Unix time of the start of d. A missing offset counts as
// UTC.
func (d Date) start() int64 { return d.days*secondsPerDay - int64(d.off) }

// Equal reports whether d and e start at the same instant. A missing offset
// counts as UTC, so "2024-01-02" equals "2024-01-02Z". Zero values are equal
// only to each other.
func (d Date) Equal(e Date) bool {
	if d.s == "" || e.s == "" {
		return d.s == e.s
	}
	return d.start() == e.start()
}

// Compare returns -1, 0 or +1 as d is before, the same as, or after e. It
// orders by the instant each date starts, counting a missing offset as UTC.
// Dates without offsets therefore sort in calendar order. Ties are ordered by
// text, so Compare returns 0 only for identical values. The zero Date sorts
// first.
func (d Date) Compare(e Date) int {
	switch {
	case d.s == e.s:
		return 0
	case d.s == "":
		return -1
	case e.s == "":
		return +1
	}
	if c := cmp.Compare(d.start(), e.start()); c != 0 {
		return c
	}
	return strings.Compare(d.s, e.s)
}

// MarshalJSON encodes d as a JSON string, or null for the zero value.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.s == "" {
		return []byte("null"), nil
	}
	return quoteASCII(d.s), nil
}

// UnmarshalJSON decodes a JSON string holding an AWSDate. JSON null leaves d
// unchanged.
func (d *Date) UnmarshalJSON(data []byte) error {
	return unmarshalJSONInto(d, typeDate, data, ParseDate)
}

// MarshalText returns the text of d, which is empty for the zero value.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.s), nil }

// UnmarshalText parses an AWSDate. Empty text sets the zero value, which is
// the inverse of MarshalText.
func (d *Date) UnmarshalText(text []byte) error {
	return unmarshalTextInto(d, text, ParseDate)
}
