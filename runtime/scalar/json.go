package scalar

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// JSON is an AWSJSON value: the text of one JSON value, stored as the raw
// bytes exactly as given (not reformatted), like json.RawMessage.
//
// On the GraphQL wire an AWSJSON is a JSON string whose content is JSON text,
// such as "{\"a\":1}". MarshalJSON writes that form and UnmarshalJSON reads
// it. Because the content is kept verbatim, a decoded value encodes back to
// the same bytes whenever the input escaped its string the way
// JSON.stringify does, as Amplify clients do.
//
// Use json.Unmarshal(j, &v) to decode the content. The zero (nil or empty)
// JSON means "no value" and encodes as JSON null. The bytes are shared, not
// copied, when a JSON is copied, so treat a JSON as immutable.
type JSON []byte

// ParseJSON returns s as a JSON after checking that it is one valid JSON
// value in UTF-8. s is stored as given, whitespace included.
func ParseJSON(s string) (JSON, error) {
	j := JSON(s)
	if err := j.Valid(); err != nil {
		return nil, err
	}
	return j, nil
}

// MustParseJSON is like ParseJSON but panics if s is invalid. It is meant for
// tests and literals.
func MustParseJSON(s string) JSON {
	j, err := ParseJSON(s)
	if err != nil {
		panic(err)
	}
	return j
}

// String returns the JSON text as stored, or "" for the zero value.
func (j JSON) String() string { return string(j) }

// IsZero reports whether j is empty, meaning "no value".
func (j JSON) IsZero() bool { return len(j) == 0 }

// Valid returns nil if j holds one valid JSON value in UTF-8, and a
// *ParseError otherwise. The zero JSON is invalid: it is an absent value, not
// JSON text.
func (j JSON) Valid() error {
	reason := reasonEmpty
	if len(j) > 0 {
		reason = checkJSON(j)
	}
	if reason != "" {
		return &ParseError{Type: typeJSON, Value: string(j), Reason: reason}
	}
	return nil
}

// checkJSON reports why b is not one valid JSON value in UTF-8, or "" if it
// is.
func checkJSON(b []byte) string {
	if !json.Valid(b) {
		// Only on failure: decode again for encoding/json's description
		// of the syntax error.
		var raw json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return err.Error()
		}
		return "not valid JSON"
	}
	if !utf8.Valid(b) {
		return "invalid UTF-8"
	}
	return ""
}

// MarshalJSON encodes j as a JSON string whose content is j's text, or null
// for the zero value. It returns an error if j is not valid JSON.
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	if err := j.Valid(); err != nil {
		return nil, err
	}
	return appendQuoted(make([]byte, 0, len(j)+len(j)/8+2), j), nil
}

// UnmarshalJSON decodes the wire form of AWSJSON, which is a JSON string
// holding JSON text. The text is stored as it appears inside the string.
//
// For leniency toward hand-written documents and other tools, a bare JSON
// object or array such as {"a":1} is also accepted and stored compacted. Any
// other bare value is an error, because a bare string would be ambiguous.
// JSON null leaves j unchanged.
func (j *JSON) UnmarshalJSON(data []byte) error {
	data = trimJSONSpace(data)
	if len(data) > 0 && (data[0] == '{' || data[0] == '[') {
		var buf bytes.Buffer
		buf.Grow(len(data))
		if err := json.Compact(&buf, data); err != nil {
			return &ParseError{Type: typeJSON, Value: string(data), Reason: err.Error()}
		}
		if !utf8.Valid(buf.Bytes()) {
			return &ParseError{Type: typeJSON, Value: string(data), Reason: "invalid UTF-8"}
		}
		*j = buf.Bytes()
		return nil
	}
	s, null, err := decodeJSONString(typeJSON, data)
	if err != nil || null {
		return err
	}
	v := JSON(s)
	if err := v.Valid(); err != nil {
		return err
	}
	*j = v
	return nil
}
