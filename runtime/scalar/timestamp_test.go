package scalar_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/dsgen/dsgen/runtime/scalar"
)

func TestParseTimestamp(t *testing.T) {
	valid := []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"1704164645", 1704164645},
		{"-1", -1},
		{"9223372036854775807", 1<<63 - 1},
		{"-9223372036854775808", -1 << 63},
	}
	for _, tt := range valid {
		ts, err := scalar.ParseTimestamp(tt.in)
		if err != nil || int64(ts) != tt.want || ts.String() != tt.in {
			t.Errorf("ParseTimestamp(%q) = %d (%q), %v; want %d", tt.in, ts, ts, err, tt.want)
		}
	}
	invalid := []struct{ in, reason string }{
		{"", "empty"},
		{"-", "expected an integer"},
		{"-0", "negative zero"},
		{"01", "leading zero"},
		{"-01", "leading zero"},
		{"00", "leading zero"},
		{"+1", "expected an integer"},
		{"1.0", "expected an integer"},
		{"1e3", "expected an integer"},
		{" 1", "expected an integer"},
		{"0x10", "leading zero"},
		{"9223372036854775808", "out of range"},
		{"-9223372036854775809", "out of range"},
		{"99999999999999999999", "out of range"},
	}
	for _, tt := range invalid {
		ts, err := scalar.ParseTimestamp(tt.in)
		if err == nil {
			t.Errorf("ParseTimestamp(%q) = %d, want error", tt.in, ts)
			continue
		}
		wantParseError(t, err, "AWSTimestamp", tt.in, tt.reason)
	}
}

func TestTimestampTime(t *testing.T) {
	tm := time.Date(2024, 1, 2, 3, 4, 5, 999999999, time.FixedZone("", 3600))
	ts := scalar.NewTimestamp(tm)
	if ts != 1704161045 {
		t.Errorf("NewTimestamp(%v) = %d, want 1704161045", tm, ts)
	}
	if got, want := ts.Time(), time.Date(2024, 1, 2, 2, 4, 5, 0, time.UTC); got != want {
		t.Errorf("Time() = %v, want %v", got, want)
	}
	if got := scalar.Timestamp(-1).Time(); got != time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC) {
		t.Errorf("Timestamp(-1).Time() = %v", got)
	}
	vals := []scalar.Timestamp{3, -5, 0, 1 << 40, -1 << 40}
	slices.SortFunc(vals, scalar.Timestamp.Compare)
	if !slices.Equal(vals, []scalar.Timestamp{-1 << 40, -5, 0, 3, 1 << 40}) {
		t.Errorf("sorted = %v", vals)
	}
}

func TestTimestampJSON(t *testing.T) {
	for _, in := range []string{`0`, `1704164645`, `-86400`, `9223372036854775807`} {
		jsonRoundTrip[scalar.Timestamp](t, in)
	}
	var ts scalar.Timestamp
	for _, in := range []string{`"1704164645"`, `1.5`, `1e9`, `-0`, `true`, `""`, `18446744073709551616`} {
		if err := json.Unmarshal([]byte(in), &ts); err == nil {
			t.Errorf("Unmarshal(%s) succeeded with %d", in, ts)
		}
	}
	ts = 42
	if err := json.Unmarshal([]byte(`null`), &ts); err != nil || ts != 42 {
		t.Errorf("Unmarshal(null) = %d, %v; want 42 unchanged", ts, err)
	}
	// The zero Timestamp is the epoch, a real value, not null.
	b, err := json.Marshal(struct{ T scalar.Timestamp }{})
	if err != nil || string(b) != `{"T":0}` {
		t.Errorf("Marshal(zero) = %s, %v", b, err)
	}
	if err := ts.UnmarshalText([]byte("-7")); err != nil || ts != -7 {
		t.Errorf("UnmarshalText(-7) = %d, %v", ts, err)
	}
	if b, _ := ts.MarshalText(); string(b) != "-7" {
		t.Errorf("MarshalText = %q", b)
	}
	if err := ts.UnmarshalText(nil); err == nil {
		t.Error("UnmarshalText(empty) succeeded")
	}
}
