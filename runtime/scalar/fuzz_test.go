package scalar_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/dsgen/dsgen/runtime/scalar"
)

// The fuzz targets check that parsing never panics, that accepted text is
// kept verbatim and parses again to an identical value, that JSON encoding
// round-trips byte for byte, and that the temporal types agree with the time
// package.

var temporalSeeds = []string{
	"2024-01-02T03:04:05Z",
	"2024-01-02T03:04:05.123Z",
	"2024-01-02T03:04:05.123456789+05:30",
	"2024-01-02T03:04-07:00:30",
	"-9999-01-01T00:00+18:00",
	"9999-12-31T23:59:59.999999999-18:00",
	"2024-02-29",
	"2023-02-29Z",
	"-0004-02-29-00:00",
	"23:59:59.9+14:00",
	"00:00",
	"24:00",
	"12:30:24.1234567890",
	"",
	"T",
	"\"2024-01-02T03:04:05Z\"",
	"null",
}

// checkParseError fails t unless err is a *scalar.ParseError for typ and s.
func checkParseError(t *testing.T, err error, typ, s string) {
	t.Helper()
	pe, ok := errors.AsType[*scalar.ParseError](err)
	if !ok || pe.Type != typ || pe.Value != s || pe.Reason == "" {
		t.Fatalf("error for %q = %#v, want a *ParseError for %s", s, err, typ)
	}
}

func FuzzParseDateTime(f *testing.F) {
	for _, s := range temporalSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fromJSON scalar.DateTime
		if fromJSON.UnmarshalJSON([]byte(s)) == nil && !fromJSON.IsZero() {
			if _, err := scalar.ParseDateTime(fromJSON.String()); err != nil {
				t.Fatalf("UnmarshalJSON(%q) accepted invalid %q", s, fromJSON)
			}
		}
		d, err := scalar.ParseDateTime(s)
		if err != nil {
			checkParseError(t, err, "AWSDateTime", s)
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDateTime(%q).String() = %q", s, d)
		}
		if again := scalar.MustParseDateTime(d.String()); again != d {
			t.Fatalf("reparse of %q: %#v != %#v", s, again, d)
		}
		b, err := d.MarshalJSON()
		if err != nil || string(b) != strconv.Quote(s) {
			t.Fatalf("MarshalJSON(%q) = %s, %v", s, b, err)
		}
		var back scalar.DateTime
		if err := back.UnmarshalJSON(b); err != nil || back != d {
			t.Fatalf("UnmarshalJSON(%s) = %#v, %v; want %#v", b, back, err, d)
		}
		if d.Compare(d) != 0 || !d.Equal(d) {
			t.Fatalf("%q does not compare equal to itself", s)
		}
		tm := d.Time()
		if g, err := time.Parse(time.RFC3339Nano, s); err == nil && !g.Equal(tm) {
			t.Fatalf("%q: Time() = %v, time.Parse = %v", s, tm, g)
		}
		if y := tm.UTC().Year(); -9999 <= y && y <= 9999 {
			n := scalar.NewDateTime(tm)
			if scalar.MustParseDateTime(n.String()) != n {
				t.Fatalf("NewDateTime(%v) = %#v does not match its text", tm, n)
			}
			nt := n.Time()
			if nt.Unix() != tm.Unix() || nt.Nanosecond() != tm.Nanosecond()/1e6*1e6 {
				t.Fatalf("NewDateTime(%v) = %q, want the instant truncated to ms", tm, n)
			}
		}
	})
}

func FuzzCompareDateTime(f *testing.F) {
	f.Add("2024-01-01T10:00:00+02:00", "2024-01-01T08:00:00Z")
	f.Add("2024-01-01T10:00:00.5+02:00", "2024-01-01T08:00:00.50Z")
	f.Add("-0001-12-31T23:59Z", "0000-01-01T00:00+00:01")
	f.Fuzz(func(t *testing.T, a, b string) {
		x, err1 := scalar.ParseDateTime(a)
		y, err2 := scalar.ParseDateTime(b)
		if err1 != nil || err2 != nil {
			return
		}
		checkOrder(t, a, b, x.Compare(y), y.Compare(x), x.Equal(y), x.Time().Compare(y.Time()))
	})
}

// checkOrder checks Compare results c (a vs b) and r (b vs a) given whether
// a and b are Equal and how their instants compare.
func checkOrder(t *testing.T, a, b string, c, r int, equal bool, instant int) {
	t.Helper()
	if c != -r {
		t.Fatalf("Compare(%q, %q) = %d but reversed = %d", a, b, c, r)
	}
	if (c == 0) != (a == b) {
		t.Fatalf("Compare(%q, %q) = %d", a, b, c)
	}
	if equal != (instant == 0) {
		t.Fatalf("Equal(%q, %q) = %v, instants compare %d", a, b, equal, instant)
	}
	if instant != 0 && c != instant {
		t.Fatalf("Compare(%q, %q) = %d, instants compare %d", a, b, c, instant)
	}
	if instant == 0 && c != cmp.Compare(a, b) {
		t.Fatalf("Compare(%q, %q) = %d at the same instant, want text order", a, b, c)
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range temporalSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fromJSON scalar.Date
		if fromJSON.UnmarshalJSON([]byte(s)) == nil && !fromJSON.IsZero() {
			if _, err := scalar.ParseDate(fromJSON.String()); err != nil {
				t.Fatalf("UnmarshalJSON(%q) accepted invalid %q", s, fromJSON)
			}
		}
		d, err := scalar.ParseDate(s)
		if err != nil {
			checkParseError(t, err, "AWSDate", s)
			return
		}
		if d.String() != s || scalar.MustParseDate(s) != d {
			t.Fatalf("ParseDate(%q) does not round-trip: %#v", s, d)
		}
		b, _ := d.MarshalJSON()
		var back scalar.Date
		if err := back.UnmarshalJSON(b); err != nil || back != d || string(b) != strconv.Quote(s) {
			t.Fatalf("JSON round trip of %q: %s, %#v, %v", s, b, back, err)
		}
		tm := d.Time()
		if h, m, sec := tm.Clock(); h != 0 || m != 0 || sec != 0 || tm.Nanosecond() != 0 {
			t.Fatalf("%q: Time() = %v, not midnight", s, tm)
		}
		datePart := s[:10]
		if s[0] == '-' {
			datePart = s[:11]
		}
		if n := scalar.NewDate(tm.Date()); n.String() != datePart {
			t.Fatalf("%q: NewDate(Time().Date()) = %q, want %q", s, n, datePart)
		}
	})
}

func FuzzCompareDate(f *testing.F) {
	f.Add("2024-01-02+14:00", "2024-01-01-12:00")
	f.Add("2024-01-02", "2024-01-02Z")
	f.Fuzz(func(t *testing.T, a, b string) {
		x, err1 := scalar.ParseDate(a)
		y, err2 := scalar.ParseDate(b)
		if err1 != nil || err2 != nil {
			return
		}
		checkOrder(t, a, b, x.Compare(y), y.Compare(x), x.Equal(y), x.Time().Compare(y.Time()))
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range temporalSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fromJSON scalar.Time
		if fromJSON.UnmarshalJSON([]byte(s)) == nil && !fromJSON.IsZero() {
			if _, err := scalar.ParseTime(fromJSON.String()); err != nil {
				t.Fatalf("UnmarshalJSON(%q) accepted invalid %q", s, fromJSON)
			}
		}
		v, err := scalar.ParseTime(s)
		if err != nil {
			checkParseError(t, err, "AWSTime", s)
			return
		}
		if v.String() != s || scalar.MustParseTime(s) != v {
			t.Fatalf("ParseTime(%q) does not round-trip: %#v", s, v)
		}
		b, _ := v.MarshalJSON()
		var back scalar.Time
		if err := back.UnmarshalJSON(b); err != nil || back != v || string(b) != strconv.Quote(s) {
			t.Fatalf("JSON round trip of %q: %s, %#v, %v", s, b, back, err)
		}
		if c := v.SinceMidnight(); c < 0 || c >= 24*time.Hour {
			t.Fatalf("%q: SinceMidnight() = %v", s, c)
		}
		// With an offset, the same text after a date is an AWSDateTime
		// for the same instant on that date.
		if off, ok := v.Offset(); ok {
			dt, err := scalar.ParseDateTime("2024-01-02T" + s)
			if err != nil {
				t.Fatalf("%q is a valid AWSTime but not valid after a date: %v", s, err)
			}
			day := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
			if got, want := dt.Time().Sub(day), v.SinceMidnight()-off; got != want {
				t.Fatalf("%q: after a date it is %v past midnight UTC, want %v", s, got, want)
			}
		}
	})
}

func FuzzCompareTime(f *testing.F) {
	f.Add("10:00+02:00", "08:00Z")
	f.Add("01:00+02:00", "00:00")
	f.Fuzz(func(t *testing.T, a, b string) {
		x, err1 := scalar.ParseTime(a)
		y, err2 := scalar.ParseTime(b)
		if err1 != nil || err2 != nil {
			return
		}
		utc := func(v scalar.Time) time.Duration {
			off, _ := v.Offset()
			return v.SinceMidnight() - off
		}
		checkOrder(t, a, b, x.Compare(y), y.Compare(x), x.Equal(y), cmp.Compare(utc(x), utc(y)))
	})
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"0", "-0", "01", "1704164645", "-9223372036854775808", "9223372036854775808", "1e3", "", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fromJSON scalar.Timestamp
		_ = fromJSON.UnmarshalJSON([]byte(s))
		ts, err := scalar.ParseTimestamp(s)
		want, stdErr := strconv.ParseInt(s, 10, 64)
		canonical := stdErr == nil && strconv.FormatInt(want, 10) == s
		if err != nil {
			checkParseError(t, err, "AWSTimestamp", s)
			if canonical {
				t.Fatalf("ParseTimestamp(%q) rejected canonical text: %v", s, err)
			}
			return
		}
		if !canonical || int64(ts) != want || ts.String() != s {
			t.Fatalf("ParseTimestamp(%q) = %d; strconv gives %d, %v", s, ts, want, stdErr)
		}
		b, _ := ts.MarshalJSON()
		var back scalar.Timestamp
		if err := back.UnmarshalJSON(b); err != nil || back != ts || string(b) != s {
			t.Fatalf("JSON round trip of %q: %s, %d, %v", s, b, back, err)
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1, 2]`, `"x\ny"`, `null`, " 1 ", "{", "\"\x01\"", "\"\u2028<&>\"", "\"\xff\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := scalar.ParseJSON(s)
		if err != nil {
			checkParseError(t, err, "AWSJSON", s)
			return
		}
		if !json.Valid(j) || j.String() != s {
			t.Fatalf("ParseJSON(%q) = %q", s, j)
		}
		wire, err := j.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON(%q): %v", s, err)
		}
		var content string
		if err := json.Unmarshal(wire, &content); err != nil || content != s {
			t.Fatalf("MarshalJSON(%q) = %s, which decodes to %q, %v", s, wire, content, err)
		}
		var back scalar.JSON
		if err := back.UnmarshalJSON(wire); err != nil || back.String() != s {
			t.Fatalf("UnmarshalJSON(%s) = %q, %v", wire, back, err)
		}
		if again, _ := back.MarshalJSON(); !bytes.Equal(again, wire) {
			t.Fatalf("re-encoding %q: %s != %s", s, again, wire)
		}
	})
}

func FuzzUnmarshalJSON(f *testing.F) {
	for _, s := range []string{`"{\"a\":1}"`, `{"a": [1, 2]}`, `[]`, `null`, `42`, `"x"`, `"\"\ud800\""`, `{"a":`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var j scalar.JSON
		if err := j.UnmarshalJSON(data); err != nil {
			if pe, ok := err.(*scalar.ParseError); !ok || pe.Type != "AWSJSON" {
				t.Fatalf("UnmarshalJSON(%q) error = %#v, want a *ParseError", data, err)
			}
			return
		}
		if j.IsZero() {
			return // null
		}
		if err := j.Valid(); err != nil {
			t.Fatalf("UnmarshalJSON(%q) accepted invalid content: %v", data, err)
		}
		wire, err := j.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back scalar.JSON
		if err := back.UnmarshalJSON(wire); err != nil || !bytes.Equal(back, j) {
			t.Fatalf("round trip of %q via %s: %q, %v", j, wire, back, err)
		}
	})
}

// fuzzString checks a string-based type on input s.
func fuzzString[T interface {
	~string
	MarshalJSON() ([]byte, error)
	MarshalText() ([]byte, error)
}, PT interface {
	*T
	UnmarshalJSON([]byte) error
	UnmarshalText([]byte) error
}](t *testing.T, typ, s string, parse func(string) (T, error)) {
	var fromJSON T
	if PT(&fromJSON).UnmarshalJSON([]byte(s)) == nil && fromJSON != "" {
		if _, err := parse(string(fromJSON)); err != nil {
			t.Fatalf("UnmarshalJSON(%q) accepted invalid %q", s, fromJSON)
		}
	}
	v, err := parse(s)
	if err != nil {
		checkParseError(t, err, typ, s)
		if _, err := T(s).MarshalJSON(); err == nil && s != "" {
			t.Fatalf("MarshalJSON of invalid %q succeeded", s)
		}
		return
	}
	if string(v) != s {
		t.Fatalf("Parse(%q) = %q", s, v)
	}
	wire, err := v.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON(%q): %v", s, err)
	}
	var content string
	if err := json.Unmarshal(wire, &content); err != nil || content != s {
		t.Fatalf("MarshalJSON(%q) = %s, which decodes to %q, %v", s, wire, content, err)
	}
	var back T
	if err := PT(&back).UnmarshalJSON(wire); err != nil || back != v {
		t.Fatalf("UnmarshalJSON(%s) = %q, %v", wire, back, err)
	}
	text, err := v.MarshalText()
	if err != nil || string(text) != s {
		t.Fatalf("MarshalText(%q) = %q, %v", s, text, err)
	}
	if err := PT(&back).UnmarshalText(text); err != nil || back != v {
		t.Fatalf("UnmarshalText(%q) = %q, %v", text, back, err)
	}
}

var stringSeeds = []string{
	"user@example.com", "a@b", "a@-b", "x!#$%&'*+/=?^_`{|}~-@e.co",
	"https://example.com/a?b=c#d", "mailto:a@b.c", "file:///x", "http://[::1]:80//x", "a:b",
	"+1 (206) 555-0100", "(0)", "911", "+44 (0) 20 7946 0958",
	"192.0.2.1/24", "2001:db8::1", "fe80::1%eth0", "::ffff:1.2.3.4/128",
	"", "\"quoted\"", "null", "\\",
}

func FuzzParseEmail(f *testing.F) {
	for _, s := range stringSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { fuzzString(t, "AWSEmail", s, scalar.ParseEmail) })
}

func FuzzParseURL(f *testing.F) {
	for _, s := range stringSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { fuzzString(t, "AWSURL", s, scalar.ParseURL) })
}

func FuzzParsePhone(f *testing.F) {
	for _, s := range stringSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { fuzzString(t, "AWSPhone", s, scalar.ParsePhone) })
}

func FuzzParseIPAddress(f *testing.F) {
	for _, s := range stringSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fuzzString(t, "AWSIPAddress", s, scalar.ParseIPAddress)
		if a, err := scalar.ParseIPAddress(s); err == nil && !a.Prefix().IsValid() {
			t.Fatalf("valid %q has an invalid Prefix", s)
		}
	})
}
