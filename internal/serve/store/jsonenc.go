package store

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/dsgen/dsgen/runtime/jsonread"
)

// marshalJSON returns what json.Marshal returns for v, byte for byte, and
// its error. Items and keys are JSON-shaped (maps, slices, strings,
// numbers, booleans, nil); for those it writes the text itself, which
// costs a fraction of encoding/json's reflection and key sorting on every
// write. Any other value (a struct, a json.Number, a float32), or a nesting
// deeper than maxFastDepth, goes to encoding/json, which also reports the
// errors (NaN, infinities, cycles) with its own messages.
func marshalJSON(v any) ([]byte, error) {
	b, ok := appendJSON(make([]byte, 0, 256), v, 0)
	if ok {
		return b, nil
	}
	return json.Marshal(v)
}

// maxFastDepth bounds appendJSON's recursion; deeper values (and cyclic
// ones) are left to encoding/json.
const maxFastDepth = 64

// appendJSON appends v as json.Marshal encodes it (sorted map keys, HTML
// characters escaped) and reports whether it could: false for a type it
// does not write or a number JSON cannot hold, leaving b's content beyond
// its original length unspecified.
func appendJSON(b []byte, v any, depth int) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return jsonread.AppendString(b, v, true), true
	case bool:
		return strconv.AppendBool(b, v), true
	case float64:
		return appendJSONFloat(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case int64:
		return strconv.AppendInt(b, v, 10), true
	case int32:
		return strconv.AppendInt(b, int64(v), 10), true
	case uint64:
		return strconv.AppendUint(b, v, 10), true
	case map[string]any:
		if depth >= maxFastDepth {
			return b, false
		}
		return appendJSONObject(b, v, depth)
	case []any:
		if depth >= maxFastDepth {
			return b, false
		}
		if v == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendJSON(b, e, depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	}
	return b, false
}

// appendJSONObject writes m with its keys in byte order, as encoding/json
// does.
func appendJSONObject(b []byte, m map[string]any, depth int) ([]byte, bool) {
	if m == nil {
		return append(b, "null"...), true
	}
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonread.AppendString(b, k, true)
		b = append(b, ':')
		var ok bool
		if b, ok = appendJSON(b, m[k], depth+1); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendJSONFloat writes f as encoding/json does: the shortest decimal
// that reads back as f, in exponent form below 1e-6 and from 1e21 up,
// with a one-digit negative exponent not zero-padded. NaN and infinities
// have no JSON form: false.
func appendJSONFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 is written 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
