package serve

import (
	"bytes"
	"strings"
	"sync"

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
// allowed; it is never added to). qc, when not nil, caches decoded queries
// (queryCache): a body it has decoded one from before is decoded the same.
func decodeRequestFast(body []byte, names map[string]string, qc *queryCache) (req appsync.Request, ok bool) {
	var raw []byte
	rest, isRaw := 0, false
	if qc != nil {
		raw, rest, isRaw = rawQuery(body)
	}
	if isRaw {
		if q, hit := qc.get(raw); hit {
			// The same text decoded to q before: read on after it.
			d := jsonread.NewReader(body[rest:], jsonread.Options{Keys: names})
			req.Query = q
			seen := [3]bool{true}
			return req, after(&d, &req, &seen) && d.End()
		}
	}
	d := jsonread.NewReader(body, jsonread.Options{Keys: names})
	if !d.Byte('{') {
		return req, false
	}
	var seen [3]bool
	if !d.Byte('}') && !members(&d, &req, &seen) {
		return req, false
	}
	if !d.End() {
		return req, false
	}
	if isRaw {
		qc.put(raw, req.Query)
	}
	return req, true
}

// members reads an object's members, from the first one's key to the
// closing brace, into req; seen marks the fields read.
func members(d *jsonread.Reader, req *appsync.Request, seen *[3]bool) bool {
	for {
		if !member(d, req, seen) {
			return false
		}
		if !d.Byte(',') {
			return d.Byte('}')
		}
	}
}

// after reads what follows a member: the closing brace, or a comma and the
// members that follow.
func after(d *jsonread.Reader, req *appsync.Request, seen *[3]bool) bool {
	if d.Byte('}') {
		return true
	}
	return d.Byte(',') && members(d, req, seen)
}

// member reads one "key": value member into req.
func member(d *jsonread.Reader, req *appsync.Request, seen *[3]bool) bool {
	key, ok := d.Str()
	if !ok || !d.Byte(':') {
		return false
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
			return false // encoding/json matches it case-insensitively
		}
	}
	if field >= 0 {
		if seen[field] {
			return false
		}
		seen[field] = true
	}
	switch {
	case field < 0:
		_, ok := d.Value()
		return ok
	case d.Null():
		if field == 2 {
			req.Variables = nil
		}
		return true
	case field == 2:
		if d.Peek() != '{' {
			return false
		}
		v, ok := d.Value()
		if !ok {
			return false
		}
		req.Variables = v.(map[string]any)
		return true
	}
	s, ok := d.Str()
	if !ok {
		return false
	}
	if field == 0 {
		req.Query = s
	} else {
		req.OperationName = s
	}
	return true
}

// queryCache maps the text of a request's query as the body holds it
// (between the quotes, escapes and all) to the decoded query. Clients send
// the same few documents again and again, and unescaping one (its newlines
// are escaped) into a new string costs more than finding it here. Safe for
// concurrent use; the zero value is empty.
type queryCache struct {
	mu sync.Mutex
	m  map[string]string
}

// The cache holds at most queryCacheEntries texts of at most
// queryCacheMaxBytes each; when full it starts over.
const (
	queryCacheEntries  = 256
	queryCacheMaxBytes = 16 << 10
)

func (c *queryCache) get(raw []byte) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q, ok := c.m[string(raw)]
	return q, ok
}

func (c *queryCache) put(raw []byte, q string) {
	if len(raw) > queryCacheMaxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= queryCacheEntries {
		c.m = make(map[string]string)
	}
	c.m[string(raw)] = q
}

// queryPrefix is how a body starts when its first member is the query, as
// clients (Amplify, dsgen's engine) write it.
const queryPrefix = `{"query":"`

// rawQuery returns the text of the query string a body starting with
// queryPrefix holds, between its quotes, and the offset after its closing
// quote; ok is false for any other body.
func rawQuery(body []byte) (raw []byte, rest int, ok bool) {
	if !bytes.HasPrefix(body, []byte(queryPrefix)) {
		return nil, 0, false
	}
	for j := len(queryPrefix); j < len(body); j++ {
		switch body[j] {
		case '\\':
			j++ // the escaped byte, a quote perhaps
		case '"':
			return body[len(queryPrefix):j], j + 1, true
		}
	}
	return nil, 0, false
}
