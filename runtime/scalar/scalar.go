// Package scalar implements the AWS AppSync scalars that generated dsgen
// models use as field types: AWSDate, AWSTime, AWSDateTime, AWSTimestamp,
// AWSJSON, AWSEmail, AWSURL, AWSPhone and AWSIPAddress.
//
// Each type validates its input the way AppSync and the Amplify clients do
// and keeps the exact text it was given, so a value decoded from JSON encodes
// back to the same bytes. Strings are written with the escapes
// JSON.stringify uses, so text that used other escapes, such as "\/", comes
// back in that form instead. encoding/json also escapes <, > and & unless
// HTML escaping is turned off. Parsing and validation are hand-written, with
// no regular expressions or reflection on the hot paths.
//
// The zero value of every type except Timestamp means "no value". It encodes
// as JSON null and as empty text. Decoding JSON null leaves the destination
// unchanged, as encoding/json does for its own types. Timestamp's zero value
// is the Unix epoch, which is a valid timestamp.
//
// The temporal types have Compare methods that order values chronologically.
// The string-based types order by their text.
package scalar

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// AppSync names of the scalars, used in error messages.
const (
	typeDate      = "AWSDate"
	typeTime      = "AWSTime"
	typeDateTime  = "AWSDateTime"
	typeTimestamp = "AWSTimestamp"
	typeJSON      = "AWSJSON"
	typeEmail     = "AWSEmail"
	typeURL       = "AWSURL"
	typePhone     = "AWSPhone"
	typeIPAddress = "AWSIPAddress"
)

// reasonEmpty is the reason given for empty input: the empty string is never
// a valid value of any AppSync scalar.
const reasonEmpty = "empty"

// maxErrorValue caps how much of a rejected value an error message quotes, so
// a large AWSJSON document does not end up in a log line.
const maxErrorValue = 128

// ParseError reports text that is not a valid value of an AppSync scalar.
type ParseError struct {
	// Type is the AppSync scalar name, such as "AWSDateTime".
	Type string
	// Value is the rejected text.
	Value string
	// Reason says what is wrong with Value.
	Reason string
}

// Error returns a message such as
// `invalid AWSDateTime "2024-13-01T00:00:00Z": month out of range`.
// Values longer than 128 bytes are cut short in the message.
func (e *ParseError) Error() string {
	v := strconv.Quote(e.Value)
	if len(e.Value) > maxErrorValue {
		v = strconv.Quote(e.Value[:maxErrorValue]) + "..."
	}
	return "invalid " + e.Type + " " + v + ": " + e.Reason
}

// check reports why s is not a valid value, or "" if it is.
type check func(s string) (reason string)

// validate returns a *ParseError if s is empty or fails c.
func validate(typ, s string, c check) error {
	reason := reasonEmpty
	if s != "" {
		reason = c(s)
	}
	if reason != "" {
		return &ParseError{Type: typ, Value: s, Reason: reason}
	}
	return nil
}

// parseString validates s as a T; it backs the Parse functions of the
// string-based types.
func parseString[T ~string](typ, s string, c check) (T, error) {
	if err := validate(typ, s, c); err != nil {
		return "", err
	}
	return T(s), nil
}

// marshalJSONString encodes s as a JSON string, or null when s is empty. It
// validates s first so that invalid text never reaches the wire.
func marshalJSONString(typ, s string, c check) ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	if err := validate(typ, s, c); err != nil {
		return nil, err
	}
	return appendQuoted(make([]byte, 0, len(s)+2), s), nil
}

// unmarshalJSONString decodes a JSON string into *p after validating it.
// JSON null leaves *p unchanged.
func unmarshalJSONString[T ~string](p *T, typ string, data []byte, c check) error {
	s, null, err := decodeJSONString(typ, data)
	if err != nil || null {
		return err
	}
	if err := validate(typ, s, c); err != nil {
		return err
	}
	*p = T(s)
	return nil
}

// marshalText returns s as text: empty for the zero value, like netip.Addr.
func marshalText(typ, s string, c check) ([]byte, error) {
	if s == "" {
		return []byte{}, nil
	}
	if err := validate(typ, s, c); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// unmarshalText sets *p from text; empty text sets the zero value, the
// inverse of marshalText.
func unmarshalText[T ~string](p *T, typ string, text []byte, c check) error {
	if len(text) == 0 {
		*p = ""
		return nil
	}
	s := string(text)
	if err := validate(typ, s, c); err != nil {
		return err
	}
	*p = T(s)
	return nil
}

// decodeJSONString returns the content of the JSON string data, or null=true
// for JSON null. Any other JSON value is an error.
func decodeJSONString(typ string, data []byte) (s string, null bool, err error) {
	data = trimJSONSpace(data)
	if string(data) == "null" {
		return "", true, nil
	}
	s, ok := unquote(data)
	if !ok {
		return "", false, &ParseError{Type: typ, Value: string(data), Reason: "not a JSON string"}
	}
	return s, false, nil
}

// unquote returns the content of the JSON string data. Strings of printable
// ASCII without escapes, which covers every well-formed temporal value, take
// a fast path; anything else is left to encoding/json.
func unquote(data []byte) (string, bool) {
	n := len(data)
	if n < 2 || data[0] != '"' || data[n-1] != '"' {
		return "", false
	}
	inner := data[1 : n-1]
	for _, c := range inner {
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			var s string
			if json.Unmarshal(data, &s) != nil {
				return "", false
			}
			return s, true
		}
	}
	return string(inner), true
}

// trimJSONSpace drops the whitespace JSON allows around a value.
func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && isJSONSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSONSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// appendQuoted appends s to b as a JSON string, escaping as JavaScript's
// JSON.stringify does (only '"', '\\' and control characters). Amplify clients
// write that form, so decoding and re-encoding their output is byte-exact. s
// must be valid UTF-8.
func appendQuoted[T ~string | ~[]byte](b []byte, s T) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// unmarshalJSONInto decodes a JSON string with parse into dst; JSON null
// leaves dst unchanged. It is the UnmarshalJSON of the temporal types.
func unmarshalJSONInto[T any](dst *T, typ string, data []byte, parse func(string) (T, error)) error {
	s, null, err := decodeJSONString(typ, data)
	if err != nil || null {
		return err
	}
	v, err := parse(s)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// unmarshalTextInto parses text into dst; empty text sets the zero value, the
// inverse of MarshalText.
func unmarshalTextInto[T any](dst *T, text []byte, parse func(string) (T, error)) error {
	if len(text) == 0 {
		var zero T
		*dst = zero
		return nil
	}
	v, err := parse(string(text))
	if err != nil {
		return err
	}
	*dst = v
	return nil
}
