package store

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// sameAsEncodingJSON fails t unless marshalJSON(v) gives json.Marshal's
// bytes, or both fail.
func sameAsEncodingJSON(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := marshalJSON(v)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%#v: error %v, encoding/json's %v", v, gerr, werr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%#v:\n got %s\nwant %s", v, got, want)
	}
}

// TestMarshalJSONMatchesEncodingJSON: stored rows (and so every later read
// and the PostgreSQL engine's JSON) are byte for byte what encoding/json
// wrote before the fast path.
func TestMarshalJSONMatchesEncodingJSON(t *testing.T) {
	var all strings.Builder
	for c := range 0x80 {
		all.WriteByte(byte(c))
	}
	strs := []string{
		"", "plain", all.String(), "<b>&amp;</b>", "quote \" backslash \\",
		"\u2028\u2029", "é日本語🎉", "bad \xff utf8 \xc3", "\x00\x1f\x7f",
		"tail\xe2\x80",
	}
	floats := []float64{
		0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99999e-7, 1e-7, 1e20, 1e21,
		123456789012345678, 1.5e300, -2.5e-300, math.MaxFloat64, math.SmallestNonzeroFloat64,
		4.940656458412465441765687928682213723651e-324, 1e-10, 3.14159,
	}
	var values []any
	for _, s := range strs {
		values = append(values, s, map[string]any{s: s})
	}
	for _, f := range floats {
		values = append(values, f, -f)
	}
	values = append(values,
		nil, true, false, int(-7), int64(math.MaxInt64), int32(-5), uint64(math.MaxUint64),
		[]any{}, []any(nil), map[string]any{}, map[string]any(nil),
		[]any{1.0, "a", nil, true, []any{map[string]any{"z": 1.0, "a": []any{}}}},
		map[string]any{"b": 1.0, "a": 2.0, "B": 3.0, "": 4.0, "ä": 5.0, "a\x00": 6.0},
		// Left to encoding/json: it must still give the same answer.
		json.Number("12.50"), float32(0.1), map[string]any{"n": json.Number("1")},
		struct{ A int }{1}, map[string]int{"x": 1}, []string{"a"},
		math.NaN(), math.Inf(1), map[string]any{"x": math.Inf(-1)}, []any{math.NaN()},
	)
	// Many keys (more than the sort's stack buffer) and deep nesting.
	many := map[string]any{}
	for i := range 40 {
		many[string(rune('A'+i))+"k"] = float64(i)
	}
	values = append(values, many)
	var deep any = "leaf"
	for range maxFastDepth + 5 {
		deep = map[string]any{"d": []any{deep}}
	}
	values = append(values, deep)
	for _, v := range values {
		sameAsEncodingJSON(t, v)
	}

	// Random float64 bit patterns cover the shortest-digits and exponent
	// cases far beyond the table above.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		want, _ := json.Marshal(f)
		got, ok := appendJSONFloat(nil, f)
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("%v (bits %x): got %s, want %s", f, math.Float64bits(f), got, want)
		}
	}
}

// FuzzMarshalJSONString checks strings (and so object keys) against
// encoding/json on arbitrary bytes.
func FuzzMarshalJSONString(f *testing.F) {
	for _, s := range []string{"", "a<b>&c", "\u2028", "\xff\xfe", "\"\\\n\t\x01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sameAsEncodingJSON(t, s)
		sameAsEncodingJSON(t, map[string]any{s: []any{s}})
	})
}
