package store

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Stored items and keys are JSON written by encoding/json. Reading them
// back with json.Unmarshal was most of the CPU a sync page costs the
// server (reflection and a validating pre-pass over every record), so the
// read path parses them here into the very values json.Unmarshal gives
// (map[string]any, []any, string, float64, bool, nil). Anything this small
// parser does not handle the same way for certain (escapes in strings,
// invalid UTF-8, malformed input) makes it give up, and encoding/json
// decodes the value instead, with its own errors.

// fieldNames interns the object keys of the items one read decodes (a
// page has a thousand items with the same dozen field names), so each
// name is allocated once per read instead of once per item. Owned by one
// read; nil interns nothing.
type fieldNames map[string]string

// maxFieldNames bounds the names a read interns (items with ever-new
// keys, maps in AWSJSON fields, would otherwise grow it).
const maxFieldNames = 256

func (n fieldNames) intern(b []byte) string {
	if s, ok := n[string(b)]; ok {
		return s
	}
	s := string(b)
	if n != nil && len(n) < maxFieldNames {
		n[s] = s
	}
	return s
}

// unmarshalItem decodes a stored item (a JSON object); names may be nil.
func unmarshalItem(b []byte, names fieldNames) (map[string]any, error) {
	p := jsonReader{b: b, names: names}
	if v, ok := p.whole(); ok {
		if m, ok := v.(map[string]any); ok || v == nil {
			return m, nil
		}
	}
	var m map[string]any
	err := json.Unmarshal(b, &m)
	return m, err
}

// unmarshalKey decodes a stored primary key (a JSON array).
func unmarshalKey(b []byte) ([]any, error) {
	p := jsonReader{b: b}
	if v, ok := p.whole(); ok {
		if a, ok := v.([]any); ok || v == nil {
			return a, nil
		}
	}
	var a []any
	err := json.Unmarshal(b, &a)
	return a, err
}

// jsonReader parses one JSON value from b; ok false means "not sure", never
// a different result from encoding/json.
type jsonReader struct {
	b     []byte
	i     int
	names fieldNames // interns object keys
	// depth guards the recursion; deeper values go to encoding/json.
	depth int
}

// maxReadDepth is far above any stored item (nested custom types), and
// low enough that the recursion stays small.
const maxReadDepth = 64

// whole parses the value that must fill b, surrounding space aside.
func (p *jsonReader) whole() (any, bool) {
	v, ok := p.value()
	if !ok {
		return nil, false
	}
	p.space()
	return v, p.i == len(p.b)
}

func (p *jsonReader) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonReader) value() (any, bool) {
	p.space()
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, false
}

func (p *jsonReader) literal(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

func (p *jsonReader) object() (any, bool) {
	if p.depth++; p.depth > maxReadDepth {
		return nil, false
	}
	defer func() { p.depth-- }()
	p.i++ // {
	m := make(map[string]any, 8)
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, false
		}
		k, ok := p.key()
		if !ok {
			return nil, false
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, false
		}
		p.i++
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		// A repeated key: encoding/json keeps the last value, but it
		// merges objects into the earlier map; leave that to it.
		if _, dup := m[k]; dup {
			return nil, false
		}
		m[k] = v
		p.space()
		if p.i >= len(p.b) {
			return nil, false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return m, true
		default:
			return nil, false
		}
	}
}

func (p *jsonReader) array() (any, bool) {
	if p.depth++; p.depth > maxReadDepth {
		return nil, false
	}
	defer func() { p.depth-- }()
	p.i++ // [
	a := []any{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return a, true
	}
	for {
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		a = append(a, v)
		p.space()
		if p.i >= len(p.b) {
			return nil, false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return a, true
		default:
			return nil, false
		}
	}
}

// key reads an object key as str does, interned in p.names.
func (p *jsonReader) key() (string, bool) {
	s, ok := p.strBytes()
	if !ok {
		return "", false
	}
	return p.names.intern(s), true
}

// str reads a string value.
func (p *jsonReader) str() (string, bool) {
	s, ok := p.strBytes()
	return string(s), ok
}

// strBytes reads a string without escapes or control characters whose bytes
// are valid UTF-8 (what encoding/json would return unchanged).
func (p *jsonReader) strBytes() ([]byte, bool) {
	start := p.i + 1
	ascii := true
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			s := p.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			p.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, false
}

// number reads a JSON number as encoding/json does into an any: float64.
func (p *jsonReader) number() (any, bool) {
	start := p.i
	j := p.i
	if p.b[j] == '-' {
		j++
	}
	// Grammar: int part (0 or [1-9][0-9]*), optional fraction, exponent.
	switch {
	case j < len(p.b) && p.b[j] == '0':
		j++
	case j < len(p.b) && p.b[j] >= '1' && p.b[j] <= '9':
		for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
			j++
		}
	default:
		return nil, false
	}
	if j < len(p.b) && p.b[j] == '.' {
		j++
		d := j
		for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
			j++
		}
		if j == d {
			return nil, false
		}
	}
	if j < len(p.b) && (p.b[j] == 'e' || p.b[j] == 'E') {
		j++
		if j < len(p.b) && (p.b[j] == '+' || p.b[j] == '-') {
			j++
		}
		d := j
		for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
			j++
		}
		if j == d {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(string(p.b[start:j]), 64)
	if err != nil {
		// Out of range: encoding/json reports it as an error.
		return nil, false
	}
	p.i = j
	return f, true
}
