package scalar

import (
	"encoding/json"
	"math"
	"strconv"
)

// Number is a JSON number held exactly: an integer (Int) when IsInt, else
// a float (Float). It is the one place the runtime, the server and the
// tools turn the numbers a JSON decoder, a resolver or user code hand them
// (any Go numeric kind or json.Number) into a value they can compare and
// convert; callers keep only their own policy (which kinds they accept and
// what their errors say).
type Number struct {
	Int   int64
	Float float64
	IsInt bool
}

// NumberOf normalises v, any Go integer or floating-point kind or a
// json.Number, into a Number. Integral floats within the int64 range become
// integers, so 3.0 equals int64(3) however large. ok is false for any other
// type and for json.Number text that is not a number.
func NumberOf(v any) (n Number, ok bool) {
	switch t := v.(type) {
	case int:
		return Number{Int: int64(t), IsInt: true}, true
	case int8:
		return Number{Int: int64(t), IsInt: true}, true
	case int16:
		return Number{Int: int64(t), IsInt: true}, true
	case int32:
		return Number{Int: int64(t), IsInt: true}, true
	case int64:
		return Number{Int: t, IsInt: true}, true
	case uint:
		return numberOfUint(uint64(t)), true
	case uint8:
		return Number{Int: int64(t), IsInt: true}, true
	case uint16:
		return Number{Int: int64(t), IsInt: true}, true
	case uint32:
		return Number{Int: int64(t), IsInt: true}, true
	case uint64:
		return numberOfUint(t), true
	case float32:
		return numberOfFloat(float64(t)), true
	case float64:
		return numberOfFloat(t), true
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return Number{Int: i, IsInt: true}, true
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return Number{}, false
		}
		return numberOfFloat(f), true
	}
	return Number{}, false
}

// Int64Of returns v as an exact int64: an integer kind in range, an
// integral float in range or a json.Number that is one.
func Int64Of(v any) (int64, bool) {
	n, ok := NumberOf(v)
	if !ok {
		return 0, false
	}
	return n.Int64()
}

func numberOfUint(u uint64) Number {
	if u <= math.MaxInt64 {
		return Number{Int: int64(u), IsInt: true}
	}
	return Number{Float: float64(u)}
}

// numberOfFloat keeps integral floats exact. -2^63 is exact in float64;
// 2^63 is not an int64.
func numberOfFloat(f float64) Number {
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return Number{Int: int64(f), IsInt: true}
	}
	return Number{Float: f}
}

// Int64 returns n when it is an integer.
func (n Number) Int64() (int64, bool) { return n.Int, n.IsInt }

// Float64 returns n as a float64, rounding integers beyond 2^53.
func (n Number) Float64() float64 {
	if n.IsInt {
		return float64(n.Int)
	}
	return n.Float
}

// Value returns n as an int64 or a float64.
func (n Number) Value() any {
	if n.IsInt {
		return n.Int
	}
	return n.Float
}

// Compare orders n and m exactly (integers beyond 2^53 too); ok is false
// when either is NaN.
func (n Number) Compare(m Number) (c int, ok bool) {
	if n.IsInt && m.IsInt {
		switch {
		case n.Int < m.Int:
			return -1, true
		case n.Int > m.Int:
			return 1, true
		}
		return 0, true
	}
	a, b := n.Float64(), m.Float64()
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return 0, false
	case a < b:
		return -1, true
	case a > b:
		return 1, true
	}
	return 0, true
}
