package scalar_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/runtime/scalar"
)

func TestParseDateTimeValid(t *testing.T) {
	utc := time.UTC
	zone := func(h, m, s int) *time.Location { return time.FixedZone("", h*3600+m*60+s) }
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2024-01-02T03:04:05Z", time.Date(2024, 1, 2, 3, 4, 5, 0, utc)},
		{"2024-01-02T03:04:05.123Z", time.Date(2024, 1, 2, 3, 4, 5, 123e6, utc)},
		{"2024-01-02T03:04:05.123456789+05:30", time.Date(2024, 1, 2, 3, 4, 5, 123456789, zone(5, 30, 0))},
		{"2024-01-02T03:04Z", time.Date(2024, 1, 2, 3, 4, 0, 0, utc)},
		{"2024-01-02T03:04-07:00", time.Date(2024, 1, 2, 3, 4, 0, 0, zone(-7, 0, 0))},
		{"2024-01-02T03:04:05-07:00", time.Date(2024, 1, 2, 3, 4, 5, 0, zone(-7, 0, 0))},
		{"2024-01-02T03:04:05+05:30:15", time.Date(2024, 1, 2, 3, 4, 5, 0, zone(5, 30, 15))},
		{"2024-01-02T03:04:05-00:00", time.Date(2024, 1, 2, 3, 4, 5, 0, utc)},
		{"2024-01-02T03:04:05+18:00", time.Date(2024, 1, 2, 3, 4, 5, 0, zone(18, 0, 0))},
		{"2024-01-02T03:04:05-18:00", time.Date(2024, 1, 2, 3, 4, 5, 0, zone(-18, 0, 0))},
		{"2024-02-29T00:00:00Z", time.Date(2024, 2, 29, 0, 0, 0, 0, utc)},
		{"2000-02-29T12:00:00Z", time.Date(2000, 2, 29, 12, 0, 0, 0, utc)},
		{"1970-01-01T00:00:00.000Z", time.Unix(0, 0)},
		{"1969-12-31T23:59:59.999999999Z", time.Unix(-1, 999999999)},
		{"0000-01-01T00:00:00Z", time.Date(0, 1, 1, 0, 0, 0, 0, utc)},
		{"-2017-01-01T00:00Z", time.Date(-2017, 1, 1, 0, 0, 0, 0, utc)},
		{"-9999-01-01T00:00Z", time.Date(-9999, 1, 1, 0, 0, 0, 0, utc)},
		{"-0004-02-29T00:00Z", time.Date(-4, 2, 29, 0, 0, 0, 0, utc)},
		{"9999-12-31T23:59:59.999999999Z", time.Date(9999, 12, 31, 23, 59, 59, 999999999, utc)},
		{"2023-12-31T23:59:59.999+14:00", time.Date(2023, 12, 31, 23, 59, 59, 999e6, zone(14, 0, 0))},
	}
	for _, tt := range tests {
		d, err := scalar.ParseDateTime(tt.in)
		if err != nil {
			t.Errorf("ParseDateTime(%q): %v", tt.in, err)
			continue
		}
		if got := d.String(); got != tt.in {
			t.Errorf("ParseDateTime(%q).String() = %q", tt.in, got)
		}
		got := d.Time()
		if !got.Equal(tt.want) {
			t.Errorf("ParseDateTime(%q).Time() = %v, want %v", tt.in, got, tt.want)
		}
		_, gotOff := got.Zone()
		_, wantOff := tt.want.Zone()
		if gotOff != wantOff {
			t.Errorf("ParseDateTime(%q).Time() offset = %d, want %d", tt.in, gotOff, wantOff)
		}
		if d.IsZero() {
			t.Errorf("ParseDateTime(%q).IsZero() = true", tt.in)
		}
	}
}

func TestParseDateTimeFractionDigits(t *testing.T) {
	for n := 1; n <= 9; n++ {
		frac := strings.Repeat("7", n)
		in := "2024-01-02T03:04:05." + frac + "Z"
		d, err := scalar.ParseDateTime(in)
		if err != nil {
			t.Errorf("%d digits: %v", n, err)
			continue
		}
		want, _ := time.Parse(time.RFC3339Nano, in)
		if !d.Time().Equal(want) || d.Time().Nanosecond() != want.Nanosecond() {
			t.Errorf("%d digits: Time() = %v, want %v", n, d.Time(), want)
		}
	}
}

func TestParseDateTimeInvalid(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", "empty"},
		{"2024-13-01T00:00:00Z", "month out of range"},
		{"2024-00-01T00:00:00Z", "month out of range"},
		{"2024-01-00T00:00:00Z", "day out of range"},
		{"2024-01-32T00:00:00Z", "day out of range"},
		{"2024-02-30T00:00:00Z", "day out of range"},
		{"2023-02-29T00:00:00Z", "day out of range"},
		{"1900-02-29T00:00:00Z", "day out of range"},
		{"2024-04-31T00:00:00Z", "day out of range"},
		{"-0001-02-29T00:00Z", "day out of range"},
		{"-0000-01-01T00:00Z", "negative year zero"},
		{"2024-01-01T24:00:00Z", "hour out of range"},
		{"2024-01-01T23:60:00Z", "minute out of range"},
		{"2024-01-01T23:59:60Z", "second out of range"},
		{"2024-01-01T00:00:00", "missing zone offset"},
		{"2024-01-01T00:00", "missing zone offset"},
		{"2024-01-01T00:00:00.123", "missing zone offset"},
		{"2024-01-01T00:00:00.Z", "fractional seconds must have 1 to 9 digits"},
		{"2024-01-01T00:00:00.1234567890Z", "fractional seconds must have 1 to 9 digits"},
		{"2024-01-01T00:00:00+18:01", "zone offset out of range"},
		{"2024-01-01T00:00:00+19:00", "zone offset out of range"},
		{"2024-01-01T00:00:00-24:00", "zone offset out of range"},
		{"2024-01-01T00:00:00+05:60", "zone offset out of range"},
		{"2024-01-01T00:00:00+05:30:60", "zone offset out of range"},
		{"2024-01-01T00:00:00+0530", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"2024-01-01T00:00:00+05", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"2024-01-01T00:00:00+05:30:1", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"2024-01-01T00:00:00+05:30:150", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"2024-01-01T00:00:00z", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"2024-01-01T00:00:00ZZ", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"2024-01-01T00:00:00Z ", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"2024-01-01T00:00:00,5Z", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"2024-01-01T00:00.5Z", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"2024-01-01 00:00:00Z", "expected 'T' after the date"},
		{"2024-01-01t00:00:00Z", "expected 'T' after the date"},
		{"2024-01-01", "expected 'T' after the date"},
		{"2024-01-01T0:00Z", "expected hh:mm"},
		{"2024-01-01T", "expected hh:mm"},
		{"2024-01-01T00:00:0Z", "expected seconds after hh:mm:"},
		{"24-01-01T00:00:00Z", "expected YYYY-MM-DD"},
		{"20240-01-01T00:00:00Z", "expected YYYY-MM-DD"},
		{"+2024-01-01T00:00:00Z", "expected YYYY-MM-DD"},
		{"2024-1-01T00:00:00Z", "expected YYYY-MM-DD"},
		{"2024/01/01T00:00:00Z", "expected YYYY-MM-DD"},
		{" 2024-01-01T00:00:00Z", "expected YYYY-MM-DD"},
		{"２０２４-01-01T00:00:00Z", "expected YYYY-MM-DD"},
	}
	for _, tt := range tests {
		d, err := scalar.ParseDateTime(tt.in)
		if err == nil {
			t.Errorf("ParseDateTime(%q) = %v, want error %q", tt.in, d, tt.reason)
			continue
		}
		wantParseError(t, err, "AWSDateTime", tt.in, tt.reason)
		if !d.IsZero() {
			t.Errorf("ParseDateTime(%q) returned non-zero %v with its error", tt.in, d)
		}
	}
}

// TestDateTimeMatchesTimePackage checks the calendar arithmetic against the
// time package for one instant in every 97 hours over years 0001 to 9999.
func TestDateTimeMatchesTimePackage(t *testing.T) {
	start := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	zones := []*time.Location{time.UTC, time.FixedZone("", 5*3600+30*60), time.FixedZone("", -18*3600)}
	i := 0
	for tm := start; tm.Before(end); tm = tm.Add(97*time.Hour + 1234567891) {
		i++
		in := tm.In(zones[i%len(zones)]).Format(time.RFC3339Nano)
		d, err := scalar.ParseDateTime(in)
		if err != nil {
			t.Fatalf("ParseDateTime(%q): %v", in, err)
		}
		if !d.Time().Equal(tm) {
			t.Fatalf("ParseDateTime(%q).Time() = %v, want %v", in, d.Time(), tm)
		}
	}
}

func TestDateTimeEqualAcrossOffsets(t *testing.T) {
	a := scalar.MustParseDateTime("2024-01-01T10:00:00+02:00")
	b := scalar.MustParseDateTime("2024-01-01T08:00:00Z")
	c := scalar.MustParseDateTime("2024-01-01T08:00:00.000Z")
	d := scalar.MustParseDateTime("2024-01-01T03:00-05:00")
	for _, x := range []scalar.DateTime{a, b, c, d} {
		for _, y := range []scalar.DateTime{a, b, c, d} {
			if !x.Equal(y) {
				t.Errorf("%v.Equal(%v) = false, want true", x, y)
			}
			// Same instant: Compare breaks the tie on text, consistently.
			want := strings.Compare(x.String(), y.String())
			if got := x.Compare(y); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", x, y, got, want)
			}
		}
	}
	if a == b {
		t.Error("different texts for the same instant compare == as equal")
	}
	if a != scalar.MustParseDateTime(a.String()) {
		t.Error("same text does not compare == as equal")
	}
	e := scalar.MustParseDateTime("2024-01-01T08:00:00.000000001Z")
	if b.Equal(e) || b.Compare(e) != -1 || e.Compare(b) != +1 {
		t.Errorf("1ns apart: Equal = %v, Compare = %d/%d", b.Equal(e), b.Compare(e), e.Compare(b))
	}
}

func TestDateTimeCompareOrder(t *testing.T) {
	// Chronological order; sorting the texts would give another order.
	want := []string{
		"",
		"-0001-12-31T23:59:59Z",
		"0000-01-01T00:00Z",
		"1969-12-31T23:59:59.999999999Z",
		"1970-01-01T00:00:00Z",
		"2024-01-01T08:00:00+14:00",        // 2023-12-31T18:00Z
		"2024-01-01T00:00:00+05:30",        // 2023-12-31T18:30Z
		"2023-12-31T23:00:00-00:00",        // 23:00Z
		"2023-12-31T23:00:00Z",             // 23:00Z, after the line above by text
		"2024-01-01T08:00:00+02:00:01",     // 2024-01-01T05:59:59Z
		"2024-01-01T08:00:00.09+02:00",     // 06:00:00.09Z
		"2024-01-01T08:00:00.1+02:00",      // 06:00:00.1Z
		"2024-01-01T08:00:00.100001+02:00", // 06:00:00.100001Z
		"2024-01-01T01:30:00-05:00",        // 06:30Z
		"9999-12-31T23:59:59.999999999Z",
	}
	vals := make([]scalar.DateTime, len(want))
	for i, s := range want {
		if s != "" {
			vals[i] = scalar.MustParseDateTime(s)
		}
	}
	slices.Reverse(vals)
	slices.SortFunc(vals, scalar.DateTime.Compare)
	for i, v := range vals {
		if v.String() != want[i] {
			t.Fatalf("sorted[%d] = %q, want %q\nall: %v", i, v, want[i], vals)
		}
	}
	for i := range vals {
		for j := range vals {
			if got, want := vals[i].Compare(vals[j]), cmpInt(i, j); got != want {
				t.Errorf("%q.Compare(%q) = %d, want %d", vals[i], vals[j], got, want)
			}
		}
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return +1
	}
	return 0
}

func TestNewDateTime(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC), "2024-01-02T03:04:05.123Z"},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "2024-01-02T03:04:05.000Z"},
		{time.Date(2024, 1, 2, 3, 4, 5, 7e6, time.FixedZone("", 3600)), "2024-01-02T02:04:05.007Z"},
		{time.Date(2024, 1, 1, 0, 30, 0, 999999999, time.FixedZone("", 5*3600)), "2023-12-31T19:30:00.999Z"},
		{time.Unix(0, 0), "1970-01-01T00:00:00.000Z"},
		{time.Unix(-1, 500e6), "1969-12-31T23:59:59.500Z"},
		{time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC), "-0001-12-31T23:59:59.000Z"},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), "9999-12-31T23:59:59.999Z"},
	}
	for _, tt := range tests {
		d := scalar.NewDateTime(tt.in)
		if d.String() != tt.want {
			t.Errorf("NewDateTime(%v) = %q, want %q", tt.in, d, tt.want)
		}
		if p := scalar.MustParseDateTime(tt.want); p != d {
			t.Errorf("NewDateTime(%v) = %#v, but parsing its text gives %#v", tt.in, d, p)
		}
	}
	mustPanic(t, "NewDateTime(year 10000)", func() {
		scalar.NewDateTime(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	})
}

func TestDateTimeZero(t *testing.T) {
	var z scalar.DateTime
	if !z.IsZero() || z.String() != "" || !z.Time().IsZero() {
		t.Errorf("zero DateTime: IsZero=%v String=%q Time=%v", z.IsZero(), z, z.Time())
	}
	if b, err := z.MarshalJSON(); err != nil || string(b) != "null" {
		t.Errorf("zero MarshalJSON = %s, %v; want null", b, err)
	}
	if b, err := z.MarshalText(); err != nil || len(b) != 0 {
		t.Errorf("zero MarshalText = %q, %v; want empty", b, err)
	}
	d := scalar.MustParseDateTime("2024-01-02T03:04:05Z")
	if err := d.UnmarshalJSON([]byte("null")); err != nil || d.String() != "2024-01-02T03:04:05Z" {
		t.Errorf("UnmarshalJSON(null) changed the value to %q (err %v)", d, err)
	}
	if err := d.UnmarshalText(nil); err != nil || !d.IsZero() {
		t.Errorf("UnmarshalText(empty) = %q, %v; want zero", d, err)
	}
	if z.Equal(scalar.MustParseDateTime("1970-01-01T00:00:00Z")) {
		t.Error("zero DateTime Equal to the epoch")
	}
}

func TestDateTimeJSON(t *testing.T) {
	for _, in := range []string{
		`"2024-01-02T03:04:05Z"`,
		`"2024-01-02T03:04:05.123Z"`,
		`"2024-01-02T03:04:05.123456789+05:30"`,
		`"2024-01-02T03:04:05.1-07:00"`,
		`"2024-01-02T03:04+00:00:30"`,
		`"-2017-01-01T00:00Z"`,
	} {
		jsonRoundTrip[scalar.DateTime](t, in)
	}
	var d scalar.DateTime
	for _, in := range []string{`""`, `"2024-01-01T00:00:00"`, `1704067200`, `{}`, `"2024-13-01T00:00:00Z"`} {
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal(%s) succeeded with %q", in, d)
		}
	}
	// Escaped JSON strings take the slow path and decode the same.
	if err := json.Unmarshal([]byte(`"2024-01-02T03:04:05\u002B01:00"`), &d); err != nil || d.String() != "2024-01-02T03:04:05+01:00" {
		t.Errorf("escaped string: %q, %v", d, err)
	}
	// As a map key, through MarshalText.
	m := map[scalar.DateTime]int{scalar.MustParseDateTime("2024-01-02T03:04:05.5+01:00"): 1}
	b, err := json.Marshal(m)
	if err != nil || string(b) != `{"2024-01-02T03:04:05.5+01:00":1}` {
		t.Fatalf("Marshal(map) = %s, %v", b, err)
	}
	var m2 map[scalar.DateTime]int
	if err := json.Unmarshal(b, &m2); err != nil || m2[scalar.MustParseDateTime("2024-01-02T03:04:05.5+01:00")] != 1 {
		t.Errorf("Unmarshal(map) = %v, %v", m2, err)
	}
}
