package store

import (
	"encoding/json"
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

// unmarshalItem decodes a stored item (a JSON object); names may be nil.
func unmarshalItem(b []byte, names fieldNames) (map[string]any, error) {
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
