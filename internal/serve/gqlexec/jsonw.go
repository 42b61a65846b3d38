package gqlexec

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/dsgen/dsgen/runtime/jsonread"
)

// The response is written straight into a byte slice so that keys come out
// in selection order, which a map and encoding/json cannot promise.

// appendString writes s as a JSON string as encoding/json does without
// HTML escaping: invalid UTF-8 becomes U+FFFD, and U+2028/U+2029 are
// escaped so the output is also valid JavaScript.
func appendString(buf []byte, s string) []byte { return jsonread.AppendString(buf, s, false) }

// appendFloat writes f the way encoding/json does (ES6 number formatting).
func appendFloat(buf []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	n := len(buf)
	buf = strconv.AppendFloat(buf, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		m := len(buf) - n
		if m >= 4 && buf[len(buf)-4] == 'e' && buf[len(buf)-3] == '-' && buf[len(buf)-2] == '0' {
			buf[len(buf)-2] = buf[len(buf)-1]
			buf = buf[:len(buf)-1]
		}
	}
	return buf
}

// appendAny writes a custom scalar's value as JSON.
func appendAny(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendString(buf, x), nil
	case bool:
		return strconv.AppendBool(buf, x), nil
	case int:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(buf, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return buf, fmt.Errorf("cannot represent %v in JSON", x)
		}
		return appendFloat(buf, x), nil
	case json.RawMessage:
		if !json.Valid(x) {
			return buf, fmt.Errorf("value is not valid JSON")
		}
		return append(buf, x...), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return buf, fmt.Errorf("cannot represent a %T in JSON: %w", v, err)
	}
	return append(buf, b...), nil
}
