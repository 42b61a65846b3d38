package serve

import (
	"strings"

	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/jsonread"
)

// decodeRequestFast decodes a GraphQL request body of the usual shape (an
// object with "query", "operationName" and "variables", other keys skipped)
// into what encoding/json with UseNumber gives, with runtime/jsonread
// rather than encoding/json's reflection and scanner.
//
// It handles only what it can decode exactly as encoding/json would: ok is
// false for anything else (what jsonread leaves, keys matching a field only
// case-insensitively, repeated fields, a field of the wrong type, data
// after the object), and decodeRequest then decodes the body with
// encoding/json, which gives the same errors as before.
//
// names maps the API's field and argument names to themselves: an object
// key that is one of them is that string rather than a new copy (nil is
// allowed; it is never added to).
func decodeRequestFast(body []byte, names map[string]string) (req appsync.Request, ok bool) {
	d := jsonread.NewReader(body, jsonread.Options{Keys: names})
	if !d.Byte('{') {
		return req, false
	}
	var seen [3]bool
	if !d.Byte('}') {
		for {
			key, ok := d.Str()
			if !ok || !d.Byte(':') {
				return req, false
			}
			field := -1
			switch key {
			case "query":
				field = 0
			case "operationName":
				field = 1
			case "variables":
				field = 2
			default:
				if strings.EqualFold(key, "query") || strings.EqualFold(key, "operationName") || strings.EqualFold(key, "variables") {
					return req, false // encoding/json matches it case-insensitively
				}
			}
			if field >= 0 {
				if seen[field] {
					return req, false
				}
				seen[field] = true
			}
			switch {
			case field < 0:
				if _, ok := d.Value(); !ok {
					return req, false
				}
			case d.Null():
				if field == 2 {
					req.Variables = nil
				}
			case field == 2:
				if d.Peek() != '{' {
					return req, false
				}
				v, ok := d.Value()
				if !ok {
					return req, false
				}
				req.Variables = v.(map[string]any)
			default:
				s, ok := d.Str()
				if !ok {
					return req, false
				}
				if field == 0 {
					req.Query = s
				} else {
					req.OperationName = s
				}
			}
			if d.Byte('}') {
				break
			}
			if !d.Byte(',') {
				return req, false
			}
		}
	}
	return req, d.End()
}
