package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

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

// TestFastSyncPageMatchesEncodingJSON checks that a page read on the fast
// path is the page encoding/json reads (numbers as json.Number, escapes).
func TestFastSyncPageMatchesEncodingJSON(t *testing.T) {
	body := []byte(`{"data":{"syncPosts":{"items":[{"id":"p1","title":"H\u00e9 \"x\" ✓","rating":4,"score":-0.5e+3,"tags":["a"],"meta":{"x":null},"_version":1,"_deleted":false},null],"nextToken":null,"startedAt":1714521600000}}}`)
	items, next, started, ok := fastSyncPage(body, "syncPosts")
	if !ok {
		t.Fatal("not on the fast path")
	}
	var want struct {
		Data map[string]struct {
			Items     []map[string]any
			NextToken *string
			StartedAt json.Number
		}
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&want); err != nil {
		t.Fatal(err)
	}
	w := want.Data["syncPosts"]
	if !reflect.DeepEqual(items, w.Items) || next != w.NextToken || started != w.StartedAt {
		t.Errorf("fast %#v %v %v\nstd  %#v %v %v", items, next, started, w.Items, w.NextToken, w.StartedAt)
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
	b.Run("raw", func(b *testing.B) {
		for range b.N {
			if _, _, _, ok := fastSyncPageRaw(body, "syncPosts"); !ok {
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

// TestFastSyncPageRawMatches checks that fastSyncPageRaw takes only pages
// fastSyncPage takes, and that its records decode to fastSyncPage's
// (null items left out).
func TestFastSyncPageRawMatches(t *testing.T) {
	bodies := []string{
		`{"data":{"syncPosts":null},"errors":[{"message":"no"}]}`,
		`{"data":{"syncPosts":{"items":[{"id":"a"}],"nextToken":null,"startedAt":1}},"errors":[]}`,
		`{"data":{"syncPosts":{"items":null,"nextToken":null,"startedAt":1}}}`,
		`{"data":{"syncPosts":{"items":[],"nextToken":7,"startedAt":1}}}`,
		`{"data":{"syncPosts":{"items":[],"nextToken":null,"startedAt":"1"}}}`,
		`{"data":{"syncPosts":{"items":[],"nextToken":null,"startedAt":1.5}}}`,
		`{"data":{"syncPosts":{"items":[1],"nextToken":null,"startedAt":1}}}`,
		`{"data":{"syncPosts":{"items":[{"a":tru}],"nextToken":null,"startedAt":1}}}`,
		`{"data":{"syncPosts":{"items":[],"startedAt":1}}}`,
		`{"data":{"syncPosts":{"items":[],"nextToken":null,"startedAt":1,"x":1}}}`,
		`{"data":{"syncPosts":{"items":[],"nextToken":null,"startedAt":1}}} x`,
		`{"Data":{"syncPosts":{"items":[],"nextToken":null,"startedAt":1}}}`,
		`{"data":{"syncPosts":{"items":[{"id":"a"},null],"nextToken":"t","startedAt":5}}}`,
		`{"data":{"other":[1,{"x":null}],"syncPosts":{"startedAt":5,"nextToken":null,"items":[]}}}`,
		` { "data" : { "syncPosts" : { "items" : [ { "id" : "a\u00e9" , "n" : [ 1 , { } ] } , null , { } ] , "nextToken" : "t\"" , "startedAt" : -5 } } } `,
		`{"data":{"syncPosts":{"items":[{"id":"p1","title":"H\u00e9 \"x\" ✓","rating":4,"score":-0.5e+3,"tags":["a"],"meta":{"x":null},"_version":1,"_deleted":false},null],"nextToken":null,"startedAt":1714521600000}}}`,
	}
	took := 0
	for _, in := range bodies {
		raw, rnext, rstarted, rok := fastSyncPageRaw([]byte(in), "syncPosts")
		items, next, started, ok := fastSyncPage([]byte(in), "syncPosts")
		if !rok {
			continue
		}
		took++
		if !ok {
			t.Errorf("fastSyncPageRaw(%s) took a page fastSyncPage does not", in)
			continue
		}
		var kept []map[string]any
		for _, it := range items {
			if it != nil {
				kept = append(kept, it)
			}
		}
		var got []map[string]any
		for _, r := range raw {
			var m map[string]any
			d := json.NewDecoder(bytes.NewReader(r))
			d.UseNumber()
			if err := d.Decode(&m); err != nil {
				t.Fatalf("%s: item %s: %v", in, r, err)
			}
			got = append(got, m)
		}
		if len(got) != len(kept) || (len(got) > 0 && !reflect.DeepEqual(got, kept)) {
			t.Errorf("%s: raw items %v, want %v", in, got, kept)
		}
		if (rnext == nil) != (next == nil) || (next != nil && *rnext != *next) || fmt.Sprint(rstarted) != string(started) {
			t.Errorf("%s: raw next %v started %d, want %v %s", in, rnext, rstarted, next, started)
		}
	}
	if took != 4 {
		t.Errorf("fastSyncPageRaw took %d pages, want 4", took)
	}
}
