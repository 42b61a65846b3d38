package datastore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	scm "github.com/dsgen/dsgen/golden/aws-scalars/model"
	ckm "github.com/dsgen/dsgen/golden/composite-keys/model"
	enm "github.com/dsgen/dsgen/golden/enums-nonmodels/model"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/meta"
)

// TestApplyRemoteJSONMatchesMaps applies the same pages of backend records
// to two stores, one as maps (decoded as the AppSync client decodes them)
// with ApplyRemote and one as JSON text with ApplyRemoteJSON, and checks
// that the results and every byte stored are the same: records read
// straight from JSON and records ApplyRemoteJSON leaves to the map path
// (lists, non-model values, AWSJSON, values of the wrong type, composite
// keys with non-text fields) alike, with fresh ascending pages, pages out
// of order, updates, tombstones and records held back by a pending
// mutation.
func TestApplyRemoteJSONMatchesMaps(t *testing.T) {
	ctx := context.Background()
	// filler makes a page long enough (and ascending) for pageScan.
	filler := func(format string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf(format, i))
		}
		return out
	}
	type page struct {
		model string
		items []string
	}
	cases := []struct {
		name   string
		schema *meta.Schema
		// local opens the store with a pending local write (nil: none).
		local func(t *testing.T, dir string, opts ...datastore.Option) *datastore.Store
		pages []page
	}{{
		name: "blog", schema: blogm.Schema(),
		local: func(t *testing.T, dir string, opts ...datastore.Option) *datastore.Store {
			ds, err := blogm.Open(ctx, dir, opts...)
			must(t, err)
			must(t, ds.Post.Save(ctx, &blogm.Post{ID: "q05", Title: "local"}))
			return ds.Store()
		},
		pages: []page{{"Post", append(filler(`{"id":"a%02d","title":"T%[1]d","rating":%[1]d,"status":"DRAFT","_version":1,"_lastChangedAt":5,"_deleted":null,"blog":null}`, 20),
			`{"id":"q01","title":"H\u00e9 \"x\" ✓\ttab","rating":-4,"status":"PUBLISHED","createdAt":"2026-12-02T20:00:00.000Z","updatedAt":"2026-12-02T20:00:00Z","blogPostsId":"b1","_version":3,"_lastChangedAt":1764705600000,"_deleted":false,"blog":{"id":"b1","posts":[1,{"x":null}]}}`,
			`{"id":"q02","title":"rating as a float","rating":4.0,"_version":1}`,
			`{"id":"q03","title":"rating as text","rating":"4","_version":1}`,
			`{"id":"q04","title":"status a number","status":5,"_version":1}`,
			`{"id":"q05","title":"held back","_version":7,"_lastChangedAt":9}`,
			`{"id":"q06","title":"bad date","createdAt":"yesterday","_version":1}`,
			`{"id":"q07","title":"first","title":"repeated key","z\u0041":[1,2],"unknown":{"a":[]},"_version":1.0,"_lastChangedAt":"2"}`,
			`{"id":"q08","_deleted":true,"_version":2,"_lastChangedAt":3}`,
			`{"id":"q09","title":"not deleted","_deleted":"yes","_version":1e0}`,
			`{"title":"no id","_version":1}`,
			`{"id":5,"title":"numeric id","_version":1}`,
			`{"id":null,"title":"null id"}`,
			`{"id":"q10","title":null,"rating":null,"_version":null,"_lastChangedAt":null}`,
			`{"id":"q11\u0000nul","title":"\ud83d\ude00 surrogates","rating":9223372036854775807,"_version":9223372036854775808}`,
			`{"id":"q12","title":"big rating","rating":9223372036854775808,"_version":1}`,
			`{"i\u0064":"q13","title":"escaped key","_version":1}`,
			`{ "id" : "q14" , "title" : "spaced" , "_version" : 2 }`,
			`{}`,
		)}, {"Post", []string{
			`{"id":"q01","title":"older","_version":2}`,
			`{"id":"a05","title":"newer","rating":1,"_version":2,"_lastChangedAt":6}`,
			`{"id":"a03","_deleted":true,"_version":2}`,
			`{"id":"q05","title":"held again","_version":8}`,
			`{"id":"a04","title":"same version","_version":1}`,
			`{"id":"q08","title":"after its tombstone","_version":1}`,
		}}, {"Post", append(filler(`{"id":"a%02d","title":"again %[1]d","_version":%[1]d,"_deleted":%[1]d}`, 20),
			`{"id":"a10","_version":30,"_deleted":true}`)}},
	}, {
		name: "aws-scalars", schema: scm.Schema(),
		pages: []page{{"Sample", append(filler(`{"id":"s%02d","text":"t","count":%[1]d,"ratio":%[1]d.5,"ok":true,"day":"2024-02-29","clock":"12:30:00.123Z","at":"2024-03-01T12:00:00+01:00","epoch":1700000000,"contact":"a@b.example","homepage":"https://x.example/p?q=1","phone":"+1 555 0100","peer":"10.0.0.%[1]d","_version":1}`, 20),
			`{"id":"x01","text":"payload","payload":"{\"a\":[1,2]}","_version":1}`,
			`{"id":"x02","text":"lists","days":["2024-01-01"],"counts":[1,null,3],"payloads":[null,"{}"],"_version":1}`,
			`{"id":"x03","text":"bad email","contact":"nope","_version":1}`,
			`{"id":"x04","text":"bad day","day":"2024-02-30","_version":1}`,
			`{"id":"x05","text":"ratio huge","ratio":1e400,"_version":1}`,
			`{"id":"x06","text":"ratio text","ratio":"1.5","_version":1}`,
			`{"id":"x07","text":"ok text","ok":"true","_version":1}`,
			`{"id":"x08","text":"count exp","count":1e2,"ratio":-0,"ok":false,"_version":1}`,
			`{"id":"x09","text":"epoch float","epoch":1.5,"_version":1}`,
			`{"id":"x10","text":"no at","_version":1}`,
			`{"id":"x11","text":"ratio exp","ratio":-2.5e-3,"_version":1}`,
		)}},
	}, {
		name: "enums-nonmodels", schema: enm.Schema(),
		pages: []page{{"Site", append(filler(`{"id":"t%02d","name":"n","priority":"HIGH","units":"metric","floors":%[1]d,"_version":1}`, 20),
			`{"id":"u01","name":"with address","address":{"line1":"1 Main","geo":{"lat":1.5,"lng":2}},"_version":1}`,
			`{"id":"u02","name":"lists","previous":[{"line1":"x"}],"levels":["LOW",null],"notes":[null],"_version":1}`,
			`{"id":"u03","name":"unknown enum","priority":"URGENT","_version":1}`,
			`{"id":"u04","name":"enum number","units":1,"_version":1}`,
		)}},
	}, {
		name: "composite-keys", schema: ckm.Schema(),
		pages: []page{{"Project", append(filler(`{"projectId":"p%02d","name":"n%[1]d","_version":1}`, 20),
			`{"projectId":"p05","name":"same id, other name","_version":1}`,
			`{"projectId":"p06","_version":1}`,
		)}, {"Task", append(filler(`{"taskId":"k%02d","dueOn":"2024-01-%02[1]d","priority":%[1]d,"_version":1}`, 20),
			`{"taskId":"k01","dueOn":"bad","priority":1,"_version":1}`,
		)}, {"Reading", filler(`{"sensor":"s","takenAt":"2024-01-01T00:00:%02[1]d.000Z","value":%[1]d,"_version":1}`, 20)}},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			open := func() *datastore.Store {
				opts := []datastore.Option{datastore.Outbox(), datastore.Clock(newFakeClock().Now)}
				var s *datastore.Store
				if c.local != nil {
					s = c.local(t, t.TempDir(), opts...)
				} else {
					var err error
					s, err = datastore.Open(ctx, c.schema, t.TempDir(), opts...)
					must(t, err)
				}
				t.Cleanup(func() { _ = s.Close(ctx) })
				return s
			}
			viaMaps, viaJSON := open(), open()
			for i, p := range c.pages {
				var maps []map[string]any
				var raws []json.RawMessage
				for _, it := range p.items {
					d := json.NewDecoder(strings.NewReader(it))
					d.UseNumber()
					var m map[string]any
					must(t, d.Decode(&m))
					maps = append(maps, m)
					raws = append(raws, json.RawMessage(it))
				}
				opts := []datastore.ApplyOption{datastore.SeenIn(int64(100 + i))}
				want, err := viaMaps.Sync().ApplyRemote(ctx, p.model, maps, opts...)
				must(t, err)
				got, err := viaJSON.Sync().ApplyRemoteJSON(ctx, p.model, raws, opts...)
				must(t, err)
				if got.Applied != want.Applied || got.Skipped != want.Skipped || fmt.Sprint(got.Rejected) != fmt.Sprint(want.Rejected) {
					t.Errorf("page %d: ApplyRemoteJSON = %+v\nApplyRemote     = %+v", i, got, want)
				}
				if i == 0 && want.Applied < 20 {
					t.Errorf("page %d: ApplyRemote applied %d records, want at least the 20 fillers", i, want.Applied)
				}
			}
			a, err := datastore.DumpForTest(ctx, viaMaps)
			must(t, err)
			b, err := datastore.DumpForTest(ctx, viaJSON)
			must(t, err)
			if !slices.Equal(a, b) {
				for _, k := range a {
					if !slices.Contains(b, k) {
						t.Errorf("only via maps: %s", k)
					}
				}
				for _, k := range b {
					if !slices.Contains(a, k) {
						t.Errorf("only via JSON: %s", k)
					}
				}
			}
			if !bytes.Contains([]byte(strings.Join(a, "\n")), []byte("=")) || len(a) < 20 {
				t.Errorf("the store holds %d keys", len(a))
			}
		})
	}
}

// TestApplyRemoteJSONRefusesNonObjects checks that a page with text that
// is no JSON object fails before anything is applied.
func TestApplyRemoteJSONRefusesNonObjects(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	y := ds.Post.Repo().Store().Sync()
	for _, bad := range []string{`[1]`, `"x"`, `{"id":`, `{"id":"a"} {}`} {
		_, err := y.ApplyRemoteJSON(ctx, "Post", []json.RawMessage{json.RawMessage(`{"id":"ok","title":"t","_version":1}`), json.RawMessage(bad)})
		if err == nil {
			t.Errorf("ApplyRemoteJSON(%s) = nil error", bad)
		}
	}
	if n, err := ds.Post.Query().Count(ctx); err != nil || n != 0 {
		t.Errorf("store holds %d posts (%v), want none", n, err)
	}
	// null is a record without a key, as ApplyRemote takes a nil map.
	res, err := y.ApplyRemoteJSON(ctx, "Post", []json.RawMessage{json.RawMessage(`null`)})
	if err != nil || len(res.Rejected) != 1 {
		t.Errorf("ApplyRemoteJSON(null) = %+v, %v, want one rejected", res, err)
	}
}
