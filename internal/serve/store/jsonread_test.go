package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

// jsonReadCases are stored items and keys as encoding/json writes them,
// and inputs it would not write, which must decode (or fail) exactly as
// json.Unmarshal does.
var jsonReadCases = []string{
	`{}`, `[]`, `null`, ` { } `,
	`{"id":"p-1","title":"Hello","rating":4.5,"status":"PUBLISHED","n":-12,"big":12345678901234567890,"e":1e300,"z":0,"f":-0.5e-3}`,
	`{"tags":["a","b",null,true,false,1],"nested":{"x":{"y":[{"z":1}]}},"empty":"","list":[]}`,
	`["p-1"]`, `["blog-1","2024-01-01T00:00:00.000Z",3]`, `[""]`, `["a","b"]`, `["a\"b"]`, `["a\u0041"]`,
	`{"a":"}"}`, `{"":1}`, `{"a":1,"b":"x","c":true,"d":false,"e":null,"f":-0,"g":1.5e3,"h":0.25E-2}`,
	"{\"a\":\"\x7f\"}", `{"a":truex}`, `{"a":1 }`, `{ "a":1}`, `{"a":"x}`, `{"a":"x",}`, `{"a":1e+}`,
	`{"a":1}}`, `{{}`, `{"a"}`, `{"a":}`, `{"a":-01}`, `{"a":1,"a":"b"}`,
	`["é"]`, `["` + "\xff" + `"]`, "[\"ctl\x01\"]", `["a"] `, `["a"]]`, `[["a"]`, `["]`,
	`{"t":"caf\u00e9 \u003cb\u003e"}`, `{"t":"tab\there"}`, `{"t":"ünïcödé ✓ 😀"}`,
	`{"t":"` + "\xff\xfe" + `"}`, `{"a":1,"a":2}`, `{"a":{"x":1},"a":{"y":2}}`,
	`{"a":1e400}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":.5}`, `{"a":1e}`, `{"a":+1}`,
	`{"a":tru}`, `{"a":nul}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `[1,]`, `[1 2]`, `{"a":[1}`, `{"a":1}x`,
	`{"a":1} `, "\n{\"a\":\n1}\n", `"str"`, `12`, ``, `{"a":"unterminated}`, "{\"a\":\"ctl\x01\"}",
}

func TestUnmarshalItemMatchesEncodingJSON(t *testing.T) {
	items := newItemReader() // shared, as one page's records share it
	for _, in := range jsonReadCases {
		checkSameAsEncodingJSON(t, []byte(in), nil)
		checkSameAsEncodingJSON(t, []byte(in), items)
	}
	if items.names["id"] != "id" || items.names["title"] != "title" {
		t.Errorf("field names were not interned: %v", items.names)
	}
}

// TestItemRoom checks that an item of a read has room for the metadata
// the API adds (which the read's first item tells the size of): adding it
// allocates nothing, where an item read alone grows its map.
func TestItemRoom(t *testing.T) {
	item := []byte(`{"id":"p-1","title":"Hello","rating":4,"status":"PUBLISHED","createdAt":"2024-01-01T00:00:00.000Z","updatedAt":"2024-01-01T00:00:00.000Z"}`)
	items := newItemReader()
	if _, err := unmarshalItem(item, items); err != nil {
		t.Fatal(err)
	}
	allocs := func(r *itemReader, meta bool) float64 {
		return testing.AllocsPerRun(20, func() {
			m, err := unmarshalItem(item, r)
			if err != nil {
				t.Fatal(err)
			}
			if meta {
				m["_version"] = int64(1)
				m["_lastChangedAt"] = int64(2)
				m["_deleted"] = nil
			}
		})
	}
	if n := allocs(items, true) - allocs(items, false); n != 0 {
		t.Errorf("adding the metadata to an item of a read allocated %v times, want 0", n)
	}
	if n := allocs(nil, true) - allocs(nil, false); n == 0 {
		t.Errorf("adding the metadata to an item read alone allocated nothing: the test no longer sees the room")
	}
}

func FuzzUnmarshalItem(f *testing.F) {
	for _, in := range jsonReadCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkSameAsEncodingJSON(t, in, newItemReader()) })
}

func checkSameAsEncodingJSON(t *testing.T, in []byte, items *itemReader) {
	t.Helper()
	var wantM map[string]any
	wantErr := json.Unmarshal(in, &wantM)
	gotM, gotErr := unmarshalItem(in, items)
	if (gotErr != nil) != (wantErr != nil) || (wantErr == nil && !reflect.DeepEqual(gotM, wantM)) {
		t.Errorf("unmarshalItem(%q) = %#v, %v; encoding/json gives %#v, %v", in, gotM, gotErr, wantM, wantErr)
	}
	var wantA []any
	wantErr = json.Unmarshal(in, &wantA)
	gotA, gotErr := unmarshalKey(in)
	if (gotErr != nil) != (wantErr != nil) || (wantErr == nil && !reflect.DeepEqual(gotA, wantA)) {
		t.Errorf("unmarshalKey(%q) = %#v, %v; encoding/json gives %#v, %v", in, gotA, gotErr, wantA, wantErr)
	}
}
