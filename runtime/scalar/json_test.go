package scalar_test

import (
	"encoding/json"
	"testing"

	"github.com/dsgen/dsgen/runtime/scalar"
)

func TestJSONWireRoundTrip(t *testing.T) {
	tests := []struct{ wire, content string }{
		{`"{\"a\":1}"`, `{"a":1}`},
		{`"{\"a\": [1, 2], \"b\": \"x\\ny\"}"`, `{"a": [1, 2], "b": "x\ny"}`},
		{`"[1,2,3]"`, `[1,2,3]`},
		{`"42"`, `42`},
		{`"true"`, `true`},
		{`"null"`, `null`}, // JSON text "null", not an absent value
		{`"\"AWSJSON example string\""`, `"AWSJSON example string"`},
		{`"{\"name\":\"José 🚀\"}"`, `{"name":"José 🚀"}`},
		{`"{\n\t\"pretty\": true\n}"`, "{\n\t\"pretty\": true\n}"},
		{`" 1 "`, ` 1 `},
		{`"\"\\u0001\""`, `"\u0001"`},
	}
	for _, tt := range tests {
		j := jsonRoundTrip[scalar.JSON](t, tt.wire)
		if j.String() != tt.content {
			t.Errorf("UnmarshalJSON(%s) content = %q, want %q", tt.wire, j, tt.content)
		}
		p, err := scalar.ParseJSON(tt.content)
		if err != nil || string(p) != tt.content {
			t.Errorf("ParseJSON(%q) = %q, %v", tt.content, p, err)
		}
	}
}

func TestJSONInStruct(t *testing.T) {
	type model struct {
		Meta  scalar.JSON   `json:"meta"`
		List  []scalar.JSON `json:"list"`
		Unset scalar.JSON   `json:"unset"`
		Omit  scalar.JSON   `json:"omit,omitzero"`
	}
	const in = `{"meta":"{\"tags\":[\"a\",\"b\"],\"n\":1.5}","list":["1","{}"],"unset":null}`
	var m model
	if err := json.Unmarshal([]byte(in), &m); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Tags []string
		N    float64
	}
	if err := json.Unmarshal(m.Meta, &decoded); err != nil || decoded.N != 1.5 || len(decoded.Tags) != 2 {
		t.Errorf("decoding the content: %+v, %v", decoded, err)
	}
	out, err := json.Marshal(m)
	if err != nil || string(out) != in {
		t.Errorf("Marshal = %s, %v\nwant       %s", out, err, in)
	}
}

func TestJSONLenientRawForm(t *testing.T) {
	tests := []struct{ raw, content string }{
		{`{"a": 1, "b": [true, null]}`, `{"a":1,"b":[true,null]}`},
		{"[ 1,\n 2 ]", `[1,2]`},
		{` {} `, `{}`},
	}
	for _, tt := range tests {
		var j scalar.JSON
		if err := json.Unmarshal([]byte(tt.raw), &j); err != nil {
			t.Errorf("Unmarshal(%s): %v", tt.raw, err)
			continue
		}
		if j.String() != tt.content {
			t.Errorf("Unmarshal(%s) = %q, want %q", tt.raw, j, tt.content)
		}
		// It encodes in the string form.
		out, _ := j.MarshalJSON()
		var s string
		if err := json.Unmarshal(out, &s); err != nil || s != tt.content {
			t.Errorf("MarshalJSON = %s, want a JSON string of %q", out, tt.content)
		}
	}
}

func TestJSONInvalid(t *testing.T) {
	for _, wire := range []string{
		`"{a: 1}"`,
		`"{'a': 1}"`,
		`"Unquoted string"`,
		`""`,
		`"{\"a\":1} x"`,
		`42`,
		`true`,
		`{"a":`,
		`[1,]`,
	} {
		var j scalar.JSON
		err := j.UnmarshalJSON([]byte(wire))
		if err == nil {
			t.Errorf("UnmarshalJSON(%s) = %q, want error", wire, j)
			continue
		}
		if _, ok := err.(*scalar.ParseError); !ok {
			t.Errorf("UnmarshalJSON(%s) error %T, want *scalar.ParseError", wire, err)
		}
	}
	for _, s := range []string{"", "{", "{a:1}", "'x'", "1 2", "\"\xff\""} {
		_, err := scalar.ParseJSON(s)
		if err == nil {
			t.Errorf("ParseJSON(%q) succeeded", s)
			continue
		}
		wantParseError(t, err, "AWSJSON", s, "")
	}
	if _, err := scalar.JSON(`{`).MarshalJSON(); err == nil {
		t.Error("MarshalJSON of invalid content succeeded")
	}
}

func TestJSONZero(t *testing.T) {
	var j scalar.JSON
	if !j.IsZero() || j.Valid() == nil {
		t.Errorf("zero JSON: IsZero = %v, Valid = %v", j.IsZero(), j.Valid())
	}
	if b, err := j.MarshalJSON(); err != nil || string(b) != "null" {
		t.Errorf("zero MarshalJSON = %s, %v", b, err)
	}
	j = scalar.MustParseJSON(`{"keep":true}`)
	if err := json.Unmarshal([]byte(`null`), &j); err != nil || j.String() != `{"keep":true}` {
		t.Errorf("Unmarshal(null) = %q, %v; want unchanged", j, err)
	}
	mustPanic(t, "MustParseJSON(\"{\")", func() { scalar.MustParseJSON("{") })
}
