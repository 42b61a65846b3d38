package store

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/dsgen/dsgen/runtime/jsonread"
)

// Stored items and keys are JSON written by encoding/json. Reading them
// back with json.Unmarshal was most of the CPU a sync page costs the
// server (reflection and a validating pre-pass over every record), so the
// read path parses them with runtime/jsonread into the very values
// json.Unmarshal gives (map[string]any, []any, string, float64, bool, nil).
// Anything jsonread does not handle the same way for certain (invalid
// UTF-8, malformed input) makes it give up, and encoding/json decodes the
// value instead, with its own errors.

// fieldNames interns the object keys of the items one read decodes (a
// page has a thousand items with the same dozen field names), so each
// name is allocated once per read instead of once per item. Owned by one
// read; nil interns nothing.
type fieldNames map[string]string

// maxFieldNames bounds the names a read interns (items with ever-new
// keys, maps in AWSJSON fields, would otherwise grow it).
const maxFieldNames = 256

// itemRoom is how many entries an item's map is made larger than its
// fields: the server adds _version, _lastChangedAt and _deleted to every
// item it returns, and a map of 6 fields given 3 more outgrows its first
// 8 slots, which costs a rehash into a new table per record.
const itemRoom = 3

// unmarshalItem decodes a stored item (a JSON object); names may be nil.
func unmarshalItem(b []byte, names fieldNames) (map[string]any, error) {
	if m, ok := flatItem(b, names); ok {
		return m, nil
	}
	if v, ok := jsonread.Parse(b, jsonread.Options{Keys: names, MaxKeys: maxFieldNames, Float64: true}); ok {
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
	if id, ok := plainStringKey(b); ok {
		return []any{id}, nil
	}
	if v, ok := jsonread.Parse(b, jsonread.Options{Float64: true}); ok {
		if a, ok := v.([]any); ok || v == nil {
			return a, nil
		}
	}
	var a []any
	err := json.Unmarshal(b, &a)
	return a, err
}

// plainStringKey reads the usual key, ["id"] with an id that has nothing
// to unescape, in two allocations (the general reader spends four).
func plainStringKey(b []byte) (string, bool) {
	if len(b) < 4 || b[0] != '[' || b[1] != '"' || b[len(b)-2] != '"' || b[len(b)-1] != ']' {
		return "", false
	}
	s := b[2 : len(b)-2]
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return "", false // escapes, ["a","b"], and non-ASCII (invalid UTF-8 is replaced) go the long way
		}
	}
	return string(s), true
}

// maxFlatFields bounds the fields flatItem reads (on the stack).
const maxFlatFields = 24

// flatItem reads the usual stored item as encoding/json wrote it: one
// object, no space, at most maxFlatFields keys of plain ASCII, each value
// a plain ASCII string, a number, true, false or null. It makes the map
// once, with itemRoom to spare. Anything else (nesting, escapes,
// non-ASCII, which encoding/json may have to replace) is left to the
// general readers: ok is false.
func flatItem(b []byte, names fieldNames) (_ map[string]any, ok bool) {
	type field struct {
		k string
		v any
	}
	var fs [maxFlatFields]field
	n := 0
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, false
	}
	i := 1
	for i < len(b)-1 {
		if n == maxFlatFields || b[i] != '"' {
			return nil, false
		}
		end := plainStringEnd(b, i+1)
		if end < 0 || end+1 >= len(b) || b[end+1] != ':' {
			return nil, false
		}
		kb := b[i+1 : end]
		k, ok := names[string(kb)]
		if !ok {
			k = string(kb)
			if names != nil && len(names) < maxFieldNames {
				names[k] = k
			}
		}
		i = end + 2
		var v any
		switch c := b[i]; {
		case c == '"':
			end = plainStringEnd(b, i+1)
			if end < 0 {
				return nil, false
			}
			v, i = string(b[i+1:end]), end+1
		case c == '-' || (c >= '0' && c <= '9'):
			end = numberEnd(b, i)
			if end < 0 {
				return nil, false
			}
			f, err := strconv.ParseFloat(string(b[i:end]), 64)
			if err != nil {
				return nil, false
			}
			v, i = f, end
		case bytes.HasPrefix(b[i:], []byte("true")):
			v, i = true, i+4
		case bytes.HasPrefix(b[i:], []byte("false")):
			v, i = false, i+5
		case bytes.HasPrefix(b[i:], []byte("null")):
			v, i = nil, i+4
		default:
			return nil, false
		}
		fs[n] = field{k, v}
		n++
		switch {
		case i == len(b)-1:
		case b[i] == ',' && i+1 < len(b)-1:
			i++
		default:
			return nil, false
		}
	}
	m := make(map[string]any, n+itemRoom)
	for _, f := range fs[:n] {
		m[f.k] = f.v // a repeated key: the last wins, as in encoding/json
	}
	return m, true
}

// plainStringEnd returns the index of the quote closing the string whose
// contents start at b[i], or -1 when it has anything but printable ASCII
// without escapes (or no end).
func plainStringEnd(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i
		case c < 0x20 || c == '\\' || c >= utf8.RuneSelf:
			return -1
		}
	}
	return -1
}

// numberEnd returns the index after the JSON number starting at b[i]
// (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), or -1 when there is
// none.
func numberEnd(b []byte, i int) int {
	digits := func(i int) int {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i + 1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}
