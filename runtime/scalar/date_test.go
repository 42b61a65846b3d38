package scalar_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dsgen/dsgen/runtime/scalar"
)

func TestParseDateValid(t *testing.T) {
	tests := []struct {
		in     string
		y      int
		m      time.Month
		d      int
		offset time.Duration
		zoned  bool
	}{
		{"2024-01-02", 2024, 1, 2, 0, false},
		{"2024-02-29", 2024, 2, 29, 0, false},
		{"2000-02-29", 2000, 2, 29, 0, false},
		{"1970-01-01Z", 1970, 1, 1, 0, true},
		{"1970-01-01-07:00", 1970, 1, 1, -7 * time.Hour, true},
		{"1970-01-01+05:30", 1970, 1, 1, 5*time.Hour + 30*time.Minute, true},
		{"2024-12-31+05:30:15", 2024, 12, 31, 5*time.Hour + 30*time.Minute + 15*time.Second, true},
		{"2024-06-30-18:00", 2024, 6, 30, -18 * time.Hour, true},
		{"0000-02-29", 0, 2, 29, 0, false},
		{"-2017-05-01", -2017, 5, 1, 0, false},
		{"-9999-01-01", -9999, 1, 1, 0, false},
		{"9999-12-31", 9999, 12, 31, 0, false},
	}
	for _, tt := range tests {
		d, err := scalar.ParseDate(tt.in)
		if err != nil {
			t.Errorf("ParseDate(%q): %v", tt.in, err)
			continue
		}
		if d.String() != tt.in {
			t.Errorf("ParseDate(%q).String() = %q", tt.in, d)
		}
		loc := time.UTC
		if tt.offset != 0 {
			loc = time.FixedZone("", int(tt.offset/time.Second))
		}
		want := time.Date(tt.y, tt.m, tt.d, 0, 0, 0, 0, loc)
		if got := d.Time(); !got.Equal(want) || got.Location().String() != loc.String() {
			t.Errorf("ParseDate(%q).Time() = %v, want %v", tt.in, got, want)
		}
		if off, ok := d.Offset(); off != tt.offset || ok != tt.zoned {
			t.Errorf("ParseDate(%q).Offset() = %v, %v; want %v, %v", tt.in, off, ok, tt.offset, tt.zoned)
		}
	}
}

func TestParseDateInvalid(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", "empty"},
		{"2023-02-29", "day out of range"},
		{"1900-02-29", "day out of range"},
		{"2024-02-30", "day out of range"},
		{"2024-06-31", "day out of range"},
		{"2024-01-00", "day out of range"},
		{"2024-01-32", "day out of range"},
		{"2024-13-01", "month out of range"},
		{"2024-00-10", "month out of range"},
		{"2024-01-01+19:00", "zone offset out of range"},
		{"2024-01-01+05:60", "zone offset out of range"},
		{"2024-01-01+0530", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"2024-01-01T00:00Z", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"2024-01-01 ", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"20240101", "expected YYYY-MM-DD"},
		{"2024-1-1", "expected YYYY-MM-DD"},
		{"99-01-01", "expected YYYY-MM-DD"},
		{"+2024-01-01", "expected YYYY-MM-DD"},
		{"--2024-01-01", "expected YYYY-MM-DD"},
		{"-0000-01-01", "negative year zero"},
		{"2024-01-0a", "expected YYYY-MM-DD"},
	}
	for _, tt := range tests {
		d, err := scalar.ParseDate(tt.in)
		if err == nil {
			t.Errorf("ParseDate(%q) = %v, want error %q", tt.in, d, tt.reason)
			continue
		}
		wantParseError(t, err, "AWSDate", tt.in, tt.reason)
	}
}

// TestDateCalendar checks dates from -9999 to 9999 against the time package:
// every day in windows that cover each leap-year rule (400-year and century
// years, negative years, year 0, the ends of the range) and every 97th day
// elsewhere.
func TestDateCalendar(t *testing.T) {
	every := func(y int) bool {
		in := func(lo, hi int) bool { return lo <= y && y <= hi }
		return in(-9999, -9995) || in(-405, -395) || in(-105, -95) || in(-5, 5) ||
			in(1595, 1605) || in(1895, 2105) || in(9995, 9999)
	}
	first := time.Date(-9999, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
	last := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).Unix() / 86400
	n := 0
	for day := first; day <= last; day++ {
		tm := time.Unix(day*86400, 0).UTC()
		y, m, d := tm.Date()
		if !every(y) && day%97 != 0 {
			continue
		}
		n++
		s := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
		if y < 0 {
			s = fmt.Sprintf("-%04d-%02d-%02d", -y, m, d)
		}
		got, err := scalar.ParseDate(s)
		if err != nil {
			t.Fatalf("ParseDate(%q): %v", s, err)
		}
		if !got.Time().Equal(tm) {
			t.Fatalf("ParseDate(%q).Time() = %v, want %v", s, got.Time(), tm)
		}
		if nd := scalar.NewDate(y, m, d); nd != got {
			t.Fatalf("NewDate(%d, %d, %d) = %#v, want %#v", y, m, d, nd, got)
		}
	}
	t.Logf("checked %d dates", n)
}

func TestNewDate(t *testing.T) {
	tests := []struct {
		y    int
		m    time.Month
		d    int
		want string
	}{
		{2024, 1, 2, "2024-01-02"},
		{2024, 2, 30, "2024-03-01"}, // normalized like time.Date
		{2023, 13, 1, "2024-01-01"},
		{0, 1, 1, "0000-01-01"},
		{-1, 12, 31, "-0001-12-31"},
	}
	for _, tt := range tests {
		if got := scalar.NewDate(tt.y, tt.m, tt.d); got.String() != tt.want || got != scalar.MustParseDate(tt.want) {
			t.Errorf("NewDate(%d, %d, %d) = %q, want %q", tt.y, tt.m, tt.d, got, tt.want)
		}
	}
	tm := time.Date(2024, 7, 4, 23, 0, 0, 0, time.FixedZone("", -5*3600))
	if got := scalar.NewDate(tm.Date()); got.String() != "2024-07-04" {
		t.Errorf("NewDate(t.Date()) = %q", got)
	}
	mustPanic(t, "NewDate(10000, 1, 1)", func() { scalar.NewDate(10000, 1, 1) })
}

func TestDateCompare(t *testing.T) {
	want := []string{
		"",
		"-0001-12-31",
		"0000-01-01",
		"2024-01-01",
		"2024-01-02+14:00", // starts 2024-01-01T10:00Z
		"2024-01-01-12:00", // starts 2024-01-01T12:00Z
		"2024-01-02+01:00", // starts 2024-01-01T23:00Z
		"2024-01-02",       // starts 2024-01-02T00:00Z
		"2024-01-02Z",      // same instant, after by text
		"2024-02-29",
		"9999-12-31",
	}
	vals := make([]scalar.Date, len(want))
	for i, s := range want {
		if s != "" {
			vals[i] = scalar.MustParseDate(s)
		}
	}
	slices.Reverse(vals)
	slices.SortFunc(vals, scalar.Date.Compare)
	for i := range vals {
		if vals[i].String() != want[i] {
			t.Fatalf("sorted[%d] = %q, want %q", i, vals[i], want[i])
		}
		for j := range vals {
			if got := vals[i].Compare(vals[j]); got != cmpInt(i, j) {
				t.Errorf("%q.Compare(%q) = %d, want %d", vals[i], vals[j], got, cmpInt(i, j))
			}
		}
	}
	a, b := scalar.MustParseDate("2024-01-02"), scalar.MustParseDate("2024-01-02Z")
	if !a.Equal(b) || a == b {
		t.Errorf("2024-01-02 vs 2024-01-02Z: Equal = %v, == %v", a.Equal(b), a == b)
	}
	if a.Equal(scalar.MustParseDate("2024-01-02+01:00")) {
		t.Error("dates with different offsets Equal")
	}
}

func TestDateJSON(t *testing.T) {
	for _, in := range []string{`"2024-01-02"`, `"2024-02-29Z"`, `"1970-01-01-07:00"`, `"-2017-05-01"`} {
		jsonRoundTrip[scalar.Date](t, in)
	}
	var d scalar.Date
	for _, in := range []string{`""`, `"2024-02-30"`, `20240101`, `"2024-01-01T00:00Z"`} {
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal(%s) succeeded with %q", in, d)
		}
	}
	var z scalar.Date
	if b, _ := z.MarshalJSON(); string(b) != "null" || !z.IsZero() || !z.Time().IsZero() {
		t.Errorf("zero Date: MarshalJSON = %s", b)
	}
	d = scalar.MustParseDate("2024-01-02")
	if err := json.Unmarshal([]byte("null"), &d); err != nil || d.String() != "2024-01-02" {
		t.Errorf("Unmarshal(null) = %q, %v; want unchanged", d, err)
	}
	if err := d.UnmarshalText([]byte("2024-02-29+01:00")); err != nil || d.String() != "2024-02-29+01:00" {
		t.Errorf("UnmarshalText = %q, %v", d, err)
	}
	if b, _ := d.MarshalText(); string(b) != "2024-02-29+01:00" {
		t.Errorf("MarshalText = %q", b)
	}
}
