package serve

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// decodeStd is how every request body was decoded before decodeRequestFast:
// what the fast decoder gives must be exactly this.
func decodeStd(body []byte) (appsync.Request, error) {
	var req appsync.Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return req, err
	}
	if dec.More() {
		return req, errMore
	}
	return req, nil
}

var errMore = jsonErr("more than one value")

type jsonErr string

func (e jsonErr) Error() string { return string(e) }

// testNames are interned keys as a Server passes them, "k" among them
// (also written with an escape in a body below).
var testNames = map[string]string{"input": "input", "id": "id", "title": "title", "rating": "rating", "a": "a", "k": "k", "kA": "kA"}

// requestBodies are bodies the fast decoder must take, and bodies it must
// leave to encoding/json.
var requestBodies = []struct {
	body string
	fast bool // decodeRequestFast must handle it
}{
	{`{"query":"mutation operation($input: CreatePostInput!) {\n  createPost(input: $input) {\n    id\n  }\n}\n","variables":{"input":{"id":"p1","title":"Hello wire","rating":4,"status":"DRAFT"}}}`, true},
	{` {"query" : "{ a }" , "operationName" : null , "variables" : null } `, true},
	{`{"query":"{ a }","operationName":"Op","variables":{}}`, true},
	{`{}`, true},
	{`{"extensions":{"persistedQuery":{"version":1}},"query":"q"}`, true},
	{`{"query":"q","variables":{"a":[1,-2.5e+3,0,-0,1E9,true,false,null,"s",[],{}],"b":{"c":{"d":[[]]}}}}`, true},
	{`{"query":"\u00e9\u4e16 \"\\\/\b\f\n\r\t","variables":{"k\u0041":"caf\u00e9 ünï"}}`, true},
	{`{"query":"q","variables":{"a":1,"a":2}}`, true}, // last wins, as encoding/json
	{"{\n\t\"query\":\r\n\"q\"}", true},

	{`{"Query":"q"}`, false},             // case-insensitive field match
	{`{"query":"q","query":"r"}`, false}, // repeated field
	{`{"query":5}`, false},
	{`{"variables":[1]}`, false},
	{`{"variables":"x"}`, false},
	{`{"operationName":true}`, false},
	{`{"query":"q"} {}`, false},
	{`{"query":"q"}}`, false},
	{`{"query":"q"`, false},
	{`{"query":"q",}`, false},
	{`{"query":"\ud83d\ude00"}`, false}, // surrogate pair
	{`{"query":"\ud800"}`, false},       // lone surrogate
	{"{\"query\":\"\xff\"}", false},     // invalid UTF-8
	{"{\"query\":\"a\tb\"}", false},     // control character
	{`{"query":"\x"}`, false},
	{`{"query":"\u12"}`, false},
	{`{"query":"q","variables":{"a":01}}`, false},
	{`{"query":"q","variables":{"a":1.}}`, false},
	{`{"query":"q","variables":{"a":.5}}`, false},
	{`{"query":"q","variables":{"a":1e}}`, false},
	{`{"query":"q","variables":{"a":-}}`, false},
	{`{"query":"q","variables":{"a":tru}}`, false},
	{`{"query":"q","variables":{"a":NaN}}`, false},
	{`{"query":"q","variables":{"a":[1,]}}`, false},
	{`{"query":"q","variables":{"a":{"b" 1}}}`, false},
	{`{"query":"q","variables":{` + strings.Repeat(`"a":[`, 70) + strings.Repeat(`]`, 70) + `}}`, false}, // deeper than jsonread.DefaultMaxDepth
	{`[]`, false},
	{`"query"`, false},
	{`nul`, false},
}

// TestDecodeRequestFastMatchesEncodingJSON checks that the fast decoder
// gives what encoding/json gives, and leaves to it what it cannot decode
// the same way.
func TestDecodeRequestFastMatchesEncodingJSON(t *testing.T) {
	for _, c := range requestBodies {
		got, ok := decodeRequestFast([]byte(c.body), testNames, nil)
		if ok != c.fast {
			t.Errorf("%q: fast decoder took it: %v, want %v", c.body, ok, c.fast)
			continue
		}
		if !ok {
			continue
		}
		if plain, _ := decodeRequestFast([]byte(c.body), nil, nil); !reflect.DeepEqual(plain, got) {
			t.Errorf("%q: interned keys change the result:\n%#v\n%#v", c.body, got, plain)
		}
		want, err := decodeStd([]byte(c.body))
		if err != nil {
			t.Errorf("%q: the fast decoder took a body encoding/json refuses: %v", c.body, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\nfast %#v\nstd  %#v", c.body, got, want)
		}
	}
}

// TestDecodeRequestErrors checks what a client is told about a body that is
// not a GraphQL request: the same words as before the fast decoder.
func TestDecodeRequestErrors(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{``, "empty request body: want a JSON object with a query"},
		{"  \n", "empty request body"},
		{`{"query":5}`, "request body is not a GraphQL JSON request: json: cannot unmarshal number into Go struct field Request.query of type string"},
		{`{"query":"q","variables":[1]}`, "request body is not a GraphQL JSON request: json: cannot unmarshal array into Go struct field Request.variables of type map[string]interface {}"},
		{`{"query":"q"`, "request body is not a GraphQL JSON request: unexpected EOF"},
		{`{"query":"q","variables":{"a":01}}`, "request body is not a GraphQL JSON request: invalid character '1' after object key:value pair"},
		{`{"query":"q"} {}`, "request body holds more than one JSON value"},
		{`{"variables":{"a":1}}`, `request has no "query"`},
		{`{"query":"  "}`, `request has no "query"`},
		{`[]`, "request body is not a GraphQL JSON request: json: cannot unmarshal array into Go value of type appsync.Request"},
	} {
		_, err := decodeRequest([]byte(c.body), testNames, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.body, err, c.want)
		}
	}
	// A body encoding/json takes that the fast decoder leaves still works.
	req, err := decodeRequest([]byte(`{"QUERY":"{ a }","variables":{"s":"\ud83d\ude00"}}`), testNames, nil)
	if err != nil || req.Query != "{ a }" || req.Variables["s"] != "😀" {
		t.Errorf("case-insensitive key and escaped surrogates: %#v, %v", req, err)
	}
}

// FuzzDecodeRequestFast checks, for any body, that the fast decoder either
// leaves it or gives exactly what encoding/json gives.
func FuzzDecodeRequestFast(f *testing.F) {
	for _, c := range requestBodies {
		f.Add([]byte(c.body))
	}
	// One cache for every body: a body whose query text was seen before
	// must decode as it would without the cache.
	var qc queryCache
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := decodeRequestFast(body, testNames, &qc)
		plain, plainOK := decodeRequestFast(body, testNames, nil)
		if ok != plainOK || !reflect.DeepEqual(got, plain) {
			t.Fatalf("%q: with the query cache %v %#v, without %v %#v", body, ok, got, plainOK, plain)
		}
		if !ok {
			return
		}
		want, err := decodeStd(body)
		if err != nil {
			t.Fatalf("%q: the fast decoder took a body encoding/json refuses: %v", body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\nfast %#v\nstd  %#v", body, got, want)
		}
	})
}

// TestDecodeRequestQueryCache checks that a body decodes the same with the
// query cache, before and after its query text is in it, bodies that share
// a query text but differ after it included.
func TestDecodeRequestQueryCache(t *testing.T) {
	bodies := []string{
		`{"query":"q","variables":{"a":1}}`,
		`{"query":"q"}`,
		`{"query":"q" }`,
		`{"query":"q","query":"r"}`,
		`{"query":"q",}`,
		`{"query":"q"} {}`,
		`{"query":"q"`,
		`{"query":"q","Query":"r"}`,
		`{"query":"q","operationName":"Op","variables":null}`,
		`{"query":"q\"","variables":{}}`,
		`{"query":"q\\","variables":{}}`,
		`{"query":"q\n"}`,
		`{"query":"q\u000a"}`,
	}
	for _, c := range requestBodies {
		bodies = append(bodies, c.body)
	}
	var qc queryCache
	for round := range 2 {
		for _, body := range bodies {
			got, ok := decodeRequestFast([]byte(body), testNames, &qc)
			want, wantOK := decodeRequestFast([]byte(body), testNames, nil)
			if ok != wantOK || !reflect.DeepEqual(got, want) {
				t.Errorf("round %d, %q: with the cache %v %#v, without %v %#v", round, body, ok, got, wantOK, want)
			}
		}
	}
	if len(qc.m) == 0 {
		t.Error("no query was cached")
	}
	// The escaped and the plain newline are two texts of one query.
	if q1, _ := qc.get([]byte(`q\n`)); q1 != "q\n" {
		t.Errorf(`cached q\n is %q`, q1)
	}
}
