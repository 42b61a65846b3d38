package store

import (
	"encoding/json"

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

// itemReader decodes the items of one read (a page of one model's
// records). It interns their field names (a page has a thousand items with
// the same dozen names), so each name is allocated once per read instead
// of once per item, and it makes each item's map with room for the fields
// of the item before it plus itemRoom. Owned by one read; a nil
// *itemReader interns nothing and leaves no room.
type itemReader struct {
	names map[string]string
	// fields is how many fields the last item read had: the items of a
	// read are one model's, so the next one most likely has as many.
	fields int
}

func newItemReader() *itemReader { return &itemReader{names: make(map[string]string)} }

// maxFieldNames bounds the names a read interns (items with ever-new
// keys, maps in AWSJSON fields, would otherwise grow it).
const maxFieldNames = 256

// itemRoom is how many entries an item's map is made larger than its
// fields: the API adds _version, _lastChangedAt and _deleted to every item
// of a page in place, and a map of 6 fields given 3 more outgrows its
// first 8 slots, which costs a rehash into a new table per record (~12%
// of the server's CPU in a sync page).
const itemRoom = 3

// unmarshalItem decodes a stored item (a JSON object); r may be nil.
func unmarshalItem(b []byte, r *itemReader) (map[string]any, error) {
	o := jsonread.Options{Float64: true}
	if r != nil {
		o.Keys, o.MaxKeys, o.TopObjectSize = r.names, maxFieldNames, r.fields+itemRoom
	}
	if v, ok := jsonread.Parse(b, o); ok {
		if m, ok := v.(map[string]any); ok || v == nil {
			if r != nil {
				r.fields = len(m)
			}
			return m, nil
		}
	}
	var m map[string]any
	err := json.Unmarshal(b, &m)
	return m, err
}

// unmarshalKey decodes a stored primary key (a JSON array).
func unmarshalKey(b []byte) ([]any, error) {
	r := jsonread.NewReader(b, jsonread.Options{Float64: true})
	if a, ok := r.Array(); ok && r.End() {
		return a, nil // Array, not Value: the key of every record read, one allocation less
	}
	var a []any
	err := json.Unmarshal(b, &a)
	return a, err
}
