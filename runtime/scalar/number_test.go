package scalar_test

import (
	"encoding/json"
	"math"
	"regexp"
	"testing"

	"github.com/dsgen/dsgen/runtime/scalar"
)

func TestNumberOf(t *testing.T) {
	for _, c := range []struct {
		in   any
		want scalar.Number
		ok   bool
	}{
		{int(3), scalar.Number{Int: 3, IsInt: true}, true},
		{int8(-3), scalar.Number{Int: -3, IsInt: true}, true},
		{uint16(7), scalar.Number{Int: 7, IsInt: true}, true},
		{uint64(math.MaxInt64), scalar.Number{Int: math.MaxInt64, IsInt: true}, true},
		{uint64(math.MaxUint64), scalar.Number{Float: math.MaxUint64}, true},
		{3.0, scalar.Number{Int: 3, IsInt: true}, true},
		{float32(2.5), scalar.Number{Float: 2.5}, true},
		{-math.Pow(2, 63), scalar.Number{Int: math.MinInt64, IsInt: true}, true},
		{math.Pow(2, 63), scalar.Number{Float: math.Pow(2, 63)}, true},
		{json.Number("9007199254740993"), scalar.Number{Int: 9007199254740993, IsInt: true}, true},
		{json.Number("1e2"), scalar.Number{Int: 100, IsInt: true}, true},
		{json.Number("0.5"), scalar.Number{Float: 0.5}, true},
		{json.Number("x"), scalar.Number{}, false},
		{"3", scalar.Number{}, false},
		{nil, scalar.Number{}, false},
		{true, scalar.Number{}, false},
	} {
		got, ok := scalar.NumberOf(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("NumberOf(%#v) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestNumberCompare(t *testing.T) {
	n := func(v any) scalar.Number {
		x, ok := scalar.NumberOf(v)
		if !ok {
			t.Fatalf("NumberOf(%v) failed", v)
		}
		return x
	}
	for _, c := range []struct {
		a, b any
		want int
		ok   bool
	}{
		{int64(3), 3.0, 0, true},
		{json.Number("9007199254740993"), int64(9007199254740992), 1, true}, // beyond float64's exact range
		{2.5, int64(3), -1, true},
		{int64(3), 2.5, 1, true},
		{math.NaN(), 1.0, 0, false},
	} {
		got, ok := n(c.a).Compare(n(c.b))
		if got != c.want || ok != c.ok {
			t.Errorf("Compare(%v, %v) = %d, %v; want %d, %v", c.a, c.b, got, ok, c.want, c.ok)
		}
	}
	if i, ok := scalar.Int64Of(json.Number("42")); i != 42 || !ok {
		t.Errorf("Int64Of(42) = %d, %v", i, ok)
	}
	if _, ok := scalar.Int64Of(1.5); ok {
		t.Error("Int64Of(1.5) succeeded")
	}
	if v := n(2.0).Value(); v != int64(2) {
		t.Errorf("Value(2.0) = %#v, want int64(2)", v)
	}
	if v := n(2.5).Value(); v != 2.5 {
		t.Errorf("Value(2.5) = %#v, want 2.5", v)
	}
}

func TestNewID(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		id := scalar.NewID()
		if !v4.MatchString(id) {
			t.Fatalf("NewID() = %q, not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}
