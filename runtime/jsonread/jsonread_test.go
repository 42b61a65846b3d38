package jsonread

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// cases are inputs Parse must decode (or leave) exactly as encoding/json
// would: records and requests as clients and encoding/json write them, and
// inputs nobody should write.
var cases = append(fastCases, slowCases...)

// fastCases are the inputs Parse decodes itself.
var fastCases = []string{
	`{}`, `[]`, `null`, ` { } `, ` [ ] `, `0`, `-0.0`, `1E9`, `true`, `"plain"`, `[1,[2,[3,{}]]]`,
	`{"data":{"syncPosts":{"items":[{"id":"p1","title":"Hé ✓","rating":4,"score":-0.5e+3,"tags":["a","b"],"meta":{"x":null},"_version":1,"_deleted":false}],"nextToken":null,"startedAt":1714521600000}}}`,
	`{"id":"p-1","title":"Hello","rating":4.5,"status":"PUBLISHED","n":-12,"big":12345678901234567890,"e":1e300,"z":0,"f":-0.5e-3}`,
	`{"tags":["a","b",null,true,false,1],"nested":{"x":{"y":[{"z":1}]}},"empty":"","list":[]}`,
	`["blog-1","2024-01-01T00:00:00.000Z",3]`,
	`{"t":"caf\u00e9 \u003cb\u003e"}`, `{"t":"tab\there"}`, `{"t":"ünïcödé ✓ 😀"}`, `"esc\"aped"`,
	`{"q":"\u00e9\u4e16 \"\\\/\b\f\n\r\t","k\u0041":"caf\u00e9 ünï","\u0000":"\u0000"}`,
	`{"a":1,"a":2}`, `{"a":{"x":1},"a":{"y":2}}`, "\n{\"a\":\n1}\n",
}

// slowCases are the inputs Parse leaves to encoding/json (1e400 only as
// a float64).
var slowCases = []string{
	`{"t":"` + "\xff\xfe" + `"}`, "\"bad \xff utf8\"", `"\ud83d\ude00"`, `"\ud800"`, `"\x"`, `"\u12"`, `"\u12g4"`,
	"{\"a\":\"ctl\x01\"}", "\"a\tb\"", `{"a":1e400}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":.5}`,
	`{"a":1e}`, `{"a":+1}`, `{"a":tru}`, `{"a":nul}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `[1,]`, `[1 2]`,
	`{"a":[1}`, `{"a":1}x`, `{} {}`, `NaN`, ``, `{`, `"x`, `{"a":"unterminated}`, `"trailing\`,
	strings.Repeat(`[`, DefaultMaxDepth+1) + strings.Repeat(`]`, DefaultMaxDepth+1),
}

func TestParseMatchesEncodingJSON(t *testing.T) {
	keys := map[string]string{}
	for _, in := range cases {
		for _, o := range []Options{{}, {Float64: true}, {Keys: keys, MaxKeys: 100}, {Keys: map[string]string{"a": "a", "id": "id"}}, {TopObjectSize: 12}, {TopObjectSize: -1}} {
			checkSame(t, []byte(in), o)
		}
	}
	if keys["id"] != "id" || keys["kA"] != "kA" {
		t.Errorf("keys were not interned: %v", keys)
	}
}

// TestParseTakesWhatItShould checks that the fast path is taken where it
// should be: escapes, repeated keys, numbers of every form.
func TestParseTakesWhatItShould(t *testing.T) {
	for _, in := range fastCases {
		if _, ok := Parse([]byte(in), Options{}); !ok {
			t.Errorf("Parse(%q) left it to encoding/json", in)
		}
	}
	for _, in := range slowCases {
		if v, ok := Parse([]byte(in), Options{Float64: true}); ok {
			t.Errorf("Parse(%q) = %#v, want it left to encoding/json", in, v)
		}
	}
}

func TestKeysBounded(t *testing.T) {
	keys := map[string]string{}
	if _, ok := Parse([]byte(`{"a":1,"b":2,"c":{"d":3}}`), Options{Keys: keys, MaxKeys: 2}); !ok || len(keys) != 2 {
		t.Errorf("keys = %v, want 2 of them", keys)
	}
	fixed := map[string]string{"a": "a"}
	if _, ok := Parse([]byte(`{"a":1,"b":2}`), Options{Keys: fixed}); !ok || len(fixed) != 1 {
		t.Errorf("a fixed key set grew: %v", fixed)
	}
}

func FuzzParse(f *testing.F) {
	for _, in := range cases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkSame(t, in, Options{Keys: map[string]string{}, MaxKeys: 8})
		checkSame(t, in, Options{Float64: true, TopObjectSize: 9})
	})
}

// TestTopObjectSize checks that the top-level object's map has the room
// asked for: adding that many more entries allocates nothing, where a map
// made without it grows.
func TestTopObjectSize(t *testing.T) {
	in := []byte(`{"id":"p-1","title":"Hello","rating":4,"status":"PUBLISHED","createdAt":"2024-01-01T00:00:00.000Z","updatedAt":"2024-01-01T00:00:00.000Z"}`)
	allocs := func(size int, add bool) float64 {
		return testing.AllocsPerRun(20, func() {
			v, ok := Parse(in, Options{TopObjectSize: size})
			if !ok {
				t.Fatalf("Parse(%s) failed", in)
			}
			if add {
				m := v.(map[string]any)
				m["_version"] = 1
				m["_lastChangedAt"] = 2
				m["_deleted"] = nil
			}
		})
	}
	if n := allocs(9, true) - allocs(9, false); n != 0 {
		t.Errorf("adding 3 entries to a map of 6 made for 9 allocated %v times, want 0", n)
	}
	if n := allocs(0, true) - allocs(0, false); n == 0 {
		t.Errorf("adding 3 entries to a map of 6 made without a size allocated nothing: the test no longer sees the room")
	}
}

// checkSame checks that Parse gives what encoding/json gives, or leaves in.
func checkSame(t *testing.T, in []byte, o Options) {
	t.Helper()
	got, ok := Parse(in, o)
	var want any
	var err error
	if o.Float64 {
		err = json.Unmarshal(in, &want)
	} else {
		d := json.NewDecoder(bytes.NewReader(in))
		d.UseNumber()
		if err = d.Decode(&want); err == nil && !json.Valid(in) {
			err = errTrailing
		}
	}
	if !ok {
		return
	}
	if err != nil {
		t.Errorf("Parse(%q, %+v) took what encoding/json refuses: %v", in, o, err)
	} else if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(%q, %+v) = %#v; encoding/json gives %#v", in, o, got, want)
	}
}

var errTrailing = jsonErr("data after the value")

type jsonErr string

func (e jsonErr) Error() string { return string(e) }

// TestSkipMatchesParse checks that Skip and RawValue accept exactly what
// Parse accepts, and that RawValue's text decodes to Parse's value.
func TestSkipMatchesParse(t *testing.T) {
	for _, in := range cases {
		for _, o := range []Options{{}, {Float64: true}} {
			want, wantOK := Parse([]byte(in), o)
			r := NewReader([]byte(in), o)
			raw, ok := r.RawValue()
			ok = ok && r.End()
			if ok != wantOK {
				t.Errorf("RawValue(%q) ok = %v, Parse ok = %v", in, ok, wantOK)
				continue
			}
			if !ok {
				continue
			}
			if got, _ := Parse(raw, o); !reflect.DeepEqual(got, want) {
				t.Errorf("RawValue(%q) = %q, decodes to %#v, want %#v", in, raw, got, want)
			}
			r = NewReader([]byte(in), o)
			if !r.Skip() || !r.End() {
				t.Errorf("Skip(%q) failed where Parse succeeds", in)
			}
		}
	}
}

// TestStringsAtEveryOffset reads strings whose escapes, quotes, control
// bytes and non-ASCII fall at every offset of a word, as encoding/json
// reads them.
func TestStringsAtEveryOffset(t *testing.T) {
	for _, special := range []string{``, `\n`, `\"`, `\u00e9`, "\x01", "\x7f", "é", "✓", "\xff", "\xc3"} {
		for n := range 20 {
			for _, tail := range []string{"", "abcdefghijklmnop"} {
				str := strings.Repeat("x", n) + special + tail
				checkSame(t, []byte(`"`+str+`"`), Options{})
				checkSame(t, []byte(`{"`+str+`":"`+str+`"}`), Options{Keys: map[string]string{}, MaxKeys: 8})
				checkSame(t, []byte(`"`+str), Options{}) // unterminated
			}
		}
	}
}

// TestArrayMatchesParse checks that Array reads exactly the arrays Parse
// reads, into the same values, and nothing else.
func TestArrayMatchesParse(t *testing.T) {
	for _, in := range append(cases, `["p-1"]`, ` [ "a" , 1 ] `, `[`, `["a"`) {
		want, wantOK := Parse([]byte(in), Options{Float64: true})
		wantA, isArray := want.([]any)
		r := NewReader([]byte(in), Options{Float64: true})
		got, ok := r.Array()
		ok = ok && r.End()
		if ok != (wantOK && isArray) || (ok && !reflect.DeepEqual(got, wantA)) {
			t.Errorf("Array(%q) = %#v, %v; Parse gives %#v, %v", in, got, ok, want, wantOK)
		}
	}
}

// TestTokens reads an object key by key with StrBytes and NumberText.
func TestTokens(t *testing.T) {
	r := NewReader([]byte(` {"a\u0041" : -1.5e3 , "s":"x\ty"}`), Options{})
	if !r.Byte('{') {
		t.Fatal("no {")
	}
	if k, ok := r.StrBytes(); !ok || string(k) != "aA" || !r.Byte(':') {
		t.Fatalf("key %q %v", k, ok)
	}
	if n, ok := r.NumberText(); !ok || string(n) != "-1.5e3" || !r.Byte(',') {
		t.Fatalf("number %q %v", n, ok)
	}
	if k, ok := r.StrBytes(); !ok || string(k) != "s" || !r.Byte(':') {
		t.Fatalf("key %q %v", k, ok)
	}
	if s, ok := r.StrBytes(); !ok || string(s) != "x\ty" || !r.Byte('}') || !r.End() {
		t.Fatalf("string %q %v", s, ok)
	}
	if r := NewReader([]byte(`x`), Options{}); func() bool { _, ok := r.NumberText(); return ok }() {
		t.Error("NumberText(x) ok")
	}
}
