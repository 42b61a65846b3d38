package serve

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// decodeRequestFast decodes a GraphQL request body of the usual shape (an
// object with "query", "operationName" and "variables", other keys skipped)
// into what encoding/json with UseNumber gives, without its reflection and
// scanner: maps, []any, strings, json.Number, bools and nils.
//
// It handles only what it can decode exactly as encoding/json would: ok is
// false for anything else (invalid JSON, keys matching a field only
// case-insensitively, repeated fields, a field of the wrong type, invalid
// UTF-8, \u escapes of surrogates, nesting deeper than maxFastDepth, data
// after the object), and decodeRequest then decodes the body with
// encoding/json, which gives the same errors as before.
//
// names maps the API's field and argument names to themselves: an object
// key that is one of them is that string rather than a new copy (nil is
// allowed).
func decodeRequestFast(body []byte, names map[string]string) (req appsync.Request, ok bool) {
	d := fastJSON{b: body, names: names}
	d.ws()
	if !d.eat('{') {
		return req, false
	}
	var seen [3]bool
	d.ws()
	if !d.eat('}') {
		for {
			d.ws()
			key, ok := d.str()
			if !ok {
				return req, false
			}
			d.ws()
			if !d.eat(':') {
				return req, false
			}
			d.ws()
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
				if _, ok := d.value(); !ok {
					return req, false
				}
			case d.null():
				if field == 2 {
					req.Variables = nil
				}
			case field == 2:
				if d.peek() != '{' {
					return req, false
				}
				v, ok := d.value()
				if !ok {
					return req, false
				}
				req.Variables = v.(map[string]any)
			default:
				s, ok := d.str()
				if !ok {
					return req, false
				}
				if field == 0 {
					req.Query = s
				} else {
					req.OperationName = s
				}
			}
			d.ws()
			if d.eat('}') {
				break
			}
			if !d.eat(',') {
				return req, false
			}
		}
	}
	d.ws()
	return req, d.i == len(d.b)
}

// maxFastDepth bounds the nesting decodeRequestFast follows; deeper bodies
// go to encoding/json, which has its own limit.
const maxFastDepth = 64

// fastJSON is the state of decodeRequestFast: the body and the offset read.
type fastJSON struct {
	b     []byte
	i     int
	depth int
	names map[string]string
	// scratch holds unescaped string bytes, reused between strings.
	scratch []byte
}

func (d *fastJSON) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *fastJSON) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *fastJSON) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// lit consumes the literal word when it is next.
func (d *fastJSON) lit(word string) bool {
	if len(d.b)-d.i >= len(word) && string(d.b[d.i:d.i+len(word)]) == word {
		d.i += len(word)
		return true
	}
	return false
}

func (d *fastJSON) null() bool { return d.lit("null") }

// value decodes any JSON value.
func (d *fastJSON) value() (any, bool) {
	switch c := d.peek(); {
	case c == '"':
		return d.str()
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	case d.lit("true"):
		return true, true
	case d.lit("false"):
		return false, true
	case d.lit("null"):
		return nil, true
	}
	return nil, false
}

func (d *fastJSON) object() (any, bool) {
	if d.depth++; d.depth > maxFastDepth {
		return nil, false
	}
	defer func() { d.depth-- }()
	d.i++ // '{'
	m := make(map[string]any)
	d.ws()
	if d.eat('}') {
		return m, true
	}
	for {
		d.ws()
		k, ok := d.key()
		if !ok {
			return nil, false
		}
		d.ws()
		if !d.eat(':') {
			return nil, false
		}
		d.ws()
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		m[k] = v // a repeated key: the last wins, as in encoding/json
		d.ws()
		if d.eat('}') {
			return m, true
		}
		if !d.eat(',') {
			return nil, false
		}
	}
}

func (d *fastJSON) array() (any, bool) {
	if d.depth++; d.depth > maxFastDepth {
		return nil, false
	}
	defer func() { d.depth-- }()
	d.i++ // '['
	list := []any{}
	d.ws()
	if d.eat(']') {
		return list, true
	}
	for {
		d.ws()
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		list = append(list, v)
		d.ws()
		if d.eat(']') {
			return list, true
		}
		if !d.eat(',') {
			return nil, false
		}
	}
}

// number reads a number as JSON's grammar has it, kept as its text.
func (d *fastJSON) number() (any, bool) {
	start := d.i
	d.eat('-')
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.eat('0') {
		// no more integer digits after a leading zero
	} else if digits() == 0 {
		return nil, false
	}
	if d.eat('.') && digits() == 0 {
		return nil, false
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	return json.Number(d.b[start:d.i]), true
}

// key reads an object key. A key that is one of d.names (GraphQL names:
// ASCII letters, digits and underscores, so written without escapes) is
// that string, saving an allocation per key.
func (d *fastJSON) key() (string, bool) {
	if d.names != nil && d.peek() == '"' {
		if end := bytes.IndexByte(d.b[d.i+1:], '"'); end >= 0 {
			if s, ok := d.names[string(d.b[d.i+1:d.i+1+end])]; ok {
				d.i += end + 2
				return s, true
			}
		}
	}
	return d.str()
}

// str reads a string. Escapes are decoded; control characters, invalid
// UTF-8 and escaped surrogates (which encoding/json may replace) make it
// fail.
func (d *fastJSON) str() (string, bool) {
	if !d.eat('"') {
		return "", false
	}
	start := d.i
	ascii := true
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		d.i++
	}
	return "", false
}

// escaped continues str at its first backslash; start is the string's first
// byte.
func (d *fastJSON) escaped(start int) (string, bool) {
	out := append(d.scratch[:0], d.b[start:d.i]...)
	defer func() { d.scratch = out[:0] }()
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if !utf8.Valid(out) {
				return "", false
			}
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			return "", false
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok || utf8.RuneLen(r) < 0 { // RuneLen is -1 for surrogates
				return "", false
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

// hex4 reads the four hex digits of a \u escape.
func (d *fastJSON) hex4() (rune, bool) {
	if len(d.b)-d.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.i += 4
	return r, true
}
