package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// TestParseJSONMatchesEncodingJSON checks that the fast decoder gives what
// encoding/json with UseNumber gives, and steps aside (errSlowPath) for
// everything it does not handle, invalid JSON included.
func TestParseJSONMatchesEncodingJSON(t *testing.T) {
	same := []string{
		`{"data":{"syncPosts":{"items":[{"id":"p1","title":"Hé ✓","rating":4,"score":-0.5e+3,"tags":["a","b"],"meta":{"x":null},"_version":1,"_deleted":false}],"nextToken":null,"startedAt":1714521600000}}}`,
		` [ ] `, `{}`, `0`, `-0.0`, `1E9`, `true`, `null`, `"plain"`, `[1,[2,[3,{}]]]`, `{"a":1,"a":2}`,
	}
	for _, in := range same {
		got, err := parseJSON([]byte(in))
		if err != nil {
			t.Errorf("parseJSON(%s): %v", in, err)
			continue
		}
		d := json.NewDecoder(bytes.NewReader([]byte(in)))
		d.UseNumber()
		var want any
		if err := d.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parseJSON(%s) = %#v, want %#v", in, got, want)
		}
	}
	slow := []string{
		``, `{`, `[1,]`, `{"a" 1}`, `{"a":1,}`, `01`, `1.`, `.5`, `-`, `1e`, `+1`, `tru`, `nul`, `"x`,
		`"esc\"aped"`, `"\u00e9"`, "\"bad \xff utf8\"", "\"ctl \x01\"", `{} {}`, `[1] x`, `NaN`,
	}
	for _, in := range slow {
		if v, err := parseJSON([]byte(in)); !errors.Is(err, errSlowPath) {
			t.Errorf("parseJSON(%q) = %#v, %v; want errSlowPath", in, v, err)
		}
	}
}

// TestFastSyncPageStepsAside checks that responses with errors or an
// unexpected shape go to encoding/json.
func TestFastSyncPageStepsAside(t *testing.T) {
	for _, in := range []string{
		`{"data":{"syncPosts":null},"errors":[{"message":"no"}]}`,
		`{"data":{"syncPosts":{"items":[{"id":"a"}],"nextToken":null,"startedAt":1}},"errors":[]}`,
		`{"data":{"syncPosts":{"items":null,"nextToken":null,"startedAt":1}}}`,
		`{"data":{"syncPosts":{"items":[],"nextToken":7,"startedAt":1}}}`,
		`{"data":{"syncPosts":{"items":[],"nextToken":null,"startedAt":"1"}}}`,
		`{"data":{"syncPosts":{"items":[1],"nextToken":null,"startedAt":1}}}`,
		`{"data":{"syncPosts":{"items":[],"startedAt":1}}}`,
		`{"Data":{"syncPosts":{"items":[],"nextToken":null,"startedAt":1}}}`,
	} {
		if _, _, _, ok := fastSyncPage([]byte(in), "syncPosts"); ok {
			t.Errorf("fastSyncPage(%s) took the fast path", in)
		}
	}
	items, next, started, ok := fastSyncPage([]byte(`{"data":{"syncPosts":{"items":[{"id":"a"},null],"nextToken":"t","startedAt":5}}}`), "syncPosts")
	if !ok || len(items) != 2 || items[0]["id"] != "a" || items[1] != nil || next == nil || *next != "t" || started != "5" {
		t.Errorf("fastSyncPage = %v %v %v %v", items, next, started, ok)
	}
}

// BenchmarkDecodeSyncPage decodes a page of 1,000 blog Posts with the fast
// path and with encoding/json.
//
//	go test -run '^$' -bench DecodeSyncPage ./runtime/appsync/client
func BenchmarkDecodeSyncPage(b *testing.B) {
	var page bytes.Buffer
	page.WriteString(`{"data":{"syncPosts":{"items":[`)
	for i := range 1000 {
		if i > 0 {
			page.WriteByte(',')
		}
		fmt.Fprintf(&page, `{"id":"p%06d","title":"Seeded post number p%06d","rating":%d,"status":"PUBLISHED","blogPostsId":null,"createdAt":"2026-12-02T17:00:00.000Z","updatedAt":"2026-12-02T17:00:00.000Z","_version":1,"_lastChangedAt":1764694800000,"_deleted":null,"blog":null}`, i, i, i%5)
	}
	page.WriteString(`],"nextToken":"abc","startedAt":1764694800000}}}`)
	body := page.Bytes()
	b.Run("fast", func(b *testing.B) {
		for range b.N {
			if _, _, _, ok := fastSyncPage(body, "syncPosts"); !ok {
				b.Fatal("not on the fast path")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for range b.N {
			var resp syncResponse
			if err := decode(body, &resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}
