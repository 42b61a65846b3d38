package scalar_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/runtime/scalar"
)

func TestParseTimeValid(t *testing.T) {
	const h, m, s = time.Hour, time.Minute, time.Second
	tests := []struct {
		in     string
		clock  time.Duration
		offset time.Duration
		zoned  bool
	}{
		{"00:00", 0, 0, false},
		{"23:59", 23*h + 59*m, 0, false},
		{"23:59:59", 23*h + 59*m + 59*s, 0, false},
		{"12:30:24.5", 12*h + 30*m + 24*s + 500*time.Millisecond, 0, false},
		{"12:30:24.500", 12*h + 30*m + 24*s + 500*time.Millisecond, 0, false},
		{"12:30:24.123456789", 12*h + 30*m + 24*s + 123456789, 0, false},
		{"12:30Z", 12*h + 30*m, 0, true},
		{"12:30:24.500-07:00", 12*h + 30*m + 24*s + 500*time.Millisecond, -7 * h, true},
		{"12:30+05:30:15", 12*h + 30*m, 5*h + 30*m + 15*s, true},
		{"00:00:00-00:00", 0, 0, true},
		{"01:00+18:00", h, 18 * h, true},
	}
	for _, tt := range tests {
		v, err := scalar.ParseTime(tt.in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", tt.in, err)
			continue
		}
		if v.String() != tt.in {
			t.Errorf("ParseTime(%q).String() = %q", tt.in, v)
		}
		if got := v.SinceMidnight(); got != tt.clock {
			t.Errorf("ParseTime(%q).SinceMidnight() = %v, want %v", tt.in, got, tt.clock)
		}
		if off, ok := v.Offset(); off != tt.offset || ok != tt.zoned {
			t.Errorf("ParseTime(%q).Offset() = %v, %v; want %v, %v", tt.in, off, ok, tt.offset, tt.zoned)
		}
	}
	for n := 1; n <= 9; n++ {
		in := "01:02:03." + strings.Repeat("1", n)
		v, err := scalar.ParseTime(in)
		if err != nil {
			t.Errorf("%d fractional digits: %v", n, err)
			continue
		}
		want := time.Hour + 2*time.Minute + 3*time.Second
		frac := time.Duration(0)
		for i, unit := 0, 100*time.Millisecond; i < n; i, unit = i+1, unit/10 {
			frac += unit
		}
		if got := v.SinceMidnight(); got != want+frac {
			t.Errorf("ParseTime(%q).SinceMidnight() = %v, want %v", in, got, want+frac)
		}
	}
}

func TestParseTimeInvalid(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", "empty"},
		{"24:00", "hour out of range"},
		{"24:00:00Z", "hour out of range"},
		{"99:00", "hour out of range"},
		{"23:60", "minute out of range"},
		{"23:59:60", "second out of range"},
		{"12", "expected hh:mm"},
		{"12:3", "expected hh:mm"},
		{"1:30", "expected hh:mm"},
		{"12.30", "expected hh:mm"},
		{"T12:30", "expected hh:mm"},
		{"12:30:", "expected seconds after hh:mm:"},
		{"12:30:5", "expected seconds after hh:mm:"},
		{"12:30:24.", "fractional seconds must have 1 to 9 digits"},
		{"12:30:24.1234567890", "fractional seconds must have 1 to 9 digits"},
		{"12:30.5", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"12:30:24+0530", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"12:30:24 ", "expected zone offset Z, ±hh:mm or ±hh:mm:ss"},
		{"12:30:24+19:00", "zone offset out of range"},
		{"12:30:24-18:00:01", "zone offset out of range"},
	}
	for _, tt := range tests {
		v, err := scalar.ParseTime(tt.in)
		if err == nil {
			t.Errorf("ParseTime(%q) = %v, want error %q", tt.in, v, tt.reason)
			continue
		}
		wantParseError(t, err, "AWSTime", tt.in, tt.reason)
	}
}

func TestTimeCompare(t *testing.T) {
	want := []string{
		"",
		"01:00+02:00", // -01:00 UTC on the common date
		"00:00",       // 00:00
		"00:00:00",    // 00:00, after by text
		"08:00",       // 08:00
		"08:00Z",      // 08:00, after by text
		"10:00+02:00", // 08:00, after by text
		"08:00:00.000001",
		"08:00:00.1",
		"23:59:59.999999999",
		"23:00-05:00", // 28:00
	}
	vals := make([]scalar.Time, len(want))
	for i, s := range want {
		if s != "" {
			vals[i] = scalar.MustParseTime(s)
		}
	}
	slices.Reverse(vals)
	slices.SortFunc(vals, scalar.Time.Compare)
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
	a, b, c := scalar.MustParseTime("10:00+02:00"), scalar.MustParseTime("08:00Z"), scalar.MustParseTime("08:00:00.000")
	if !a.Equal(b) || !b.Equal(c) || a.Equal(scalar.MustParseTime("10:00")) {
		t.Error("Time.Equal does not apply offsets")
	}
}

func TestNewTime(t *testing.T) {
	if got := scalar.NewTime(13, 45, 30, 250_999_999); got.String() != "13:45:30.250" || got != scalar.MustParseTime("13:45:30.250") {
		t.Errorf("NewTime = %#v", got)
	}
	if got := scalar.NewTime(0, 0, 0, 0); got.String() != "00:00:00.000" {
		t.Errorf("NewTime(0, 0, 0, 0) = %q", got)
	}
	mustPanic(t, "NewTime(24, 0, 0, 0)", func() { scalar.NewTime(24, 0, 0, 0) })
	mustPanic(t, "NewTime(0, 0, 60, 0)", func() { scalar.NewTime(0, 0, 60, 0) })
	mustPanic(t, "NewTime(0, 0, 0, 1e9)", func() { scalar.NewTime(0, 0, 0, 1e9) })
}

func TestTimeJSON(t *testing.T) {
	for _, in := range []string{`"12:30"`, `"12:30:24"`, `"12:30:24.5Z"`, `"12:30:24.123456789-07:00"`} {
		jsonRoundTrip[scalar.Time](t, in)
	}
	var v scalar.Time
	for _, in := range []string{`""`, `"24:00"`, `1230`, `"12:30:24.1234567890"`} {
		if err := json.Unmarshal([]byte(in), &v); err == nil {
			t.Errorf("Unmarshal(%s) succeeded with %q", in, v)
		}
	}
	var z scalar.Time
	if b, _ := z.MarshalJSON(); string(b) != "null" || !z.IsZero() {
		t.Errorf("zero Time: MarshalJSON = %s", b)
	}
	if err := z.UnmarshalText([]byte("07:00")); err != nil || z.String() != "07:00" {
		t.Errorf("UnmarshalText = %q, %v", z, err)
	}
}
