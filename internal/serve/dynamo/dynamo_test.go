package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/meta"
)

// checkStored compares every stored record with the fixture item it came
// from: metadata, tombstone expiry and every attribute.
func checkStored(t *testing.T, s *meta.Schema, st store.Bulk, paths []string) {
	t.Helper()
	want := rawItems(t, paths)
	got := dumpAll(t, s, st)
	for model, items := range want {
		if len(got[model]) != len(items) {
			t.Errorf("%s: %d records stored, the fixture has %d", model, len(got[model]), len(items))
		}
		for _, rec := range got[model] {
			id, _ := rec.Item["id"].(string)
			raw, ok := items[id]
			if !ok {
				t.Errorf("%s %s: stored but not in the fixture", model, id)
				continue
			}
			checkRecord(t, s.Model(model), rec, raw)
		}
	}
}

func checkRecord(t *testing.T, m *meta.Model, rec store.Loaded, raw map[string]any) {
	t.Helper()
	where := m.Name + " " + raw["id"].(string)
	if float64(rec.Version) != raw[attrVersion] || float64(rec.LastChangedAt) != raw[attrLastChanged] {
		t.Errorf("%s: version %d, lastChangedAt %d; the fixture says %v, %v", where, rec.Version, rec.LastChangedAt, raw[attrVersion], raw[attrLastChanged])
	}
	if rec.Deleted != (raw[attrDeleted] == true) {
		t.Errorf("%s: deleted %v, the fixture says %v", where, rec.Deleted, raw[attrDeleted])
	}
	if ttl, ok := raw[attrTTL].(float64); ok && rec.Deleted && float64(rec.ExpireAt) != ttl*1000 {
		t.Errorf("%s: tombstone expires at %d, the fixture's _ttl is %v s", where, rec.ExpireAt, ttl)
	}
	for k, v := range raw {
		if strings.HasPrefix(k, "_") {
			continue
		}
		got, ok := rec.Item[k]
		if f := m.Field(k); f != nil && f.Type == meta.AWSJSON && ok {
			var parsed any
			if err := json.Unmarshal([]byte(got.(string)), &parsed); err != nil {
				t.Errorf("%s.%s: stored AWSJSON %q: %v", where, k, got, err)
			}
			got = parsed
		}
		if !ok || !sameJSON(got, v) {
			t.Errorf("%s.%s = %#v, the fixture has %#v", where, k, got, v)
		}
	}
	for k := range rec.Item {
		if _, ok := raw[k]; !ok {
			t.Errorf("%s: stored %s, which the fixture does not have", where, k)
		}
	}
}

func TestImportFixtures(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		for _, fx := range []struct {
			name   string
			schema *meta.Schema
			paths  []string
			counts map[string][2]int // items, tombstones
		}{
			{"blog", blogSchema(t), blogInputs, map[string][2]int{"Blog": {2, 1}, "Post": {4, 1}, "Comment": {2, 1}}},
			{"notes", notesSchema(t), notesInputs, map[string][2]int{"Note": {4, 1}}},
		} {
			t.Run(fx.name, func(t *testing.T) {
				st := e.open(t)
				before, err := st.StartedAt(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				rep := importFiles(t, fx.schema, st, fx.paths, ImportOptions{})
				for _, m := range rep.Models {
					c := fx.counts[m.Model]
					if m.Items != c[0] || m.Tombstones != c[1] || m.Written != c[0] || m.Kept != 0 {
						t.Errorf("report %+v, want %d items, %d tombstones, all written", m, c[0], c[1])
					}
				}
				if len(rep.Models) != len(fx.counts) {
					t.Errorf("report covers %d models, want %d", len(rep.Models), len(fx.counts))
				}
				checkStored(t, fx.schema, st, fx.paths)

				// The epoch is after every watermark handed out before
				// and at or before every one after.
				after, err := st.StartedAt(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				epoch, err := st.ImportEpoch(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if epoch != rep.Epoch || !(before < epoch && epoch <= after) {
					t.Errorf("epoch %d (report %d): want in (%d, %d]", epoch, rep.Epoch, before, after)
				}
			})
		}
	})
}

func TestExportRoundTrip(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		for _, fx := range []struct {
			name   string
			schema *meta.Schema
			paths  []string
		}{{"blog", blogSchema(t), blogInputs}, {"notes", notesSchema(t), notesInputs}} {
			t.Run(fx.name, func(t *testing.T) {
				ctx := context.Background()
				st := e.open(t)
				importFiles(t, fx.schema, st, fx.paths, ImportOptions{})
				dir := t.TempDir()
				files, err := Export(ctx, fx.schema, st, dir, ExportOptions{Suffix: "-abc123xyz-prod"})
				if err != nil {
					t.Fatal(err)
				}
				if len(files) != len(fx.schema.Models) {
					t.Fatalf("exported %v, want one file per model", files)
				}
				// The files hold what the fixture holds, attribute for
				// attribute (__typename, metadata and _ttl included).
				if got, want := rawItems(t, []string{dir}), rawItems(t, fx.paths); !reflect.DeepEqual(got, want) {
					t.Errorf("exported items differ from the fixture's:\n got %v\nwant %v", got, want)
				}
				// import(export(x)) == x, on a fresh store.
				st2 := e.open(t)
				importFiles(t, fx.schema, st2, []string{dir}, ImportOptions{})
				if a, b := dumpAll(t, fx.schema, st), dumpAll(t, fx.schema, st2); !reflect.DeepEqual(a, b) {
					t.Errorf("re-imported store differs:\n got %v\nwant %v", b, a)
				}
			})
		}
	})
}

// writeInput writes lines as one input file named after model.
func writeInput(t *testing.T, model string, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), model+"-api-env.json")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportBadInput(t *testing.T) {
	const good = `{"Item":{"id":{"S":"ok"},"title":{"S":"fine"},"_version":{"N":"1"},"_lastChangedAt":{"N":"1795162500000"}}}`
	cases := []struct {
		name, line, attr, msg string
	}{
		{"number not a number", `{"Item":{"id":{"S":"x"},"title":{"S":"t"},"rating":{"N":"four"},"_version":{"N":"1"},"_lastChangedAt":{"N":"1"}}}`, "rating", "N must hold a number"},
		{"wrong type for Int", `{"Item":{"id":{"S":"x"},"title":{"S":"t"},"rating":{"S":"4"},"_version":{"N":"1"},"_lastChangedAt":{"N":"1"}}}`, "rating", "want N"},
		{"unknown attribute", `{"Item":{"id":{"S":"x"},"title":{"S":"t"},"subtitle":{"S":"s"},"_version":{"N":"1"},"_lastChangedAt":{"N":"1"}}}`, "subtitle", "no field subtitle"},
		{"enum value", `{"Item":{"id":{"S":"x"},"title":{"S":"t"},"status":{"S":"ARCHIVED"},"_version":{"N":"1"},"_lastChangedAt":{"N":"1"}}}`, "status", "not a value of enum"},
		{"binary", `{"Item":{"id":{"S":"x"},"title":{"B":"AAE="},"_version":{"N":"1"},"_lastChangedAt":{"N":"1"}}}`, "title", "binary"},
		{"missing version", `{"Item":{"id":{"S":"x"},"title":{"S":"t"},"_lastChangedAt":{"N":"1"}}}`, "_version", "missing"},
		{"fractional version", `{"Item":{"id":{"S":"x"},"title":{"S":"t"},"_version":{"N":"1.5"},"_lastChangedAt":{"N":"1"}}}`, "_version", "integer"},
		{"missing key", `{"Item":{"title":{"S":"t"},"_version":{"N":"1"},"_lastChangedAt":{"N":"1"}}}`, "id", "key attribute is missing"},
		{"bad AWSDateTime", `{"Item":{"id":{"S":"x"},"title":{"S":"t"},"createdAt":{"S":"yesterday"},"_version":{"N":"1"},"_lastChangedAt":{"N":"1"}}}`, "createdAt", ""},
		{"two type keys", `{"Item":{"id":{"S":"x","N":"1"},"title":{"S":"t"},"_version":{"N":"1"},"_lastChangedAt":{"N":"1"}}}`, "", "exactly one type key"},
		{"wrong table", `{"Item":{"id":{"S":"x"},"title":{"S":"t"},"__typename":{"S":"Blog"},"_version":{"N":"1"},"_lastChangedAt":{"N":"1"}}}`, "__typename", "not a Post"},
		{"delta table", `{"Item":{"ds_pk":{"S":"x"},"ds_sk":{"S":"y"},"id":{"S":"x"},"_version":{"N":"1"},"_lastChangedAt":{"N":"1"}}}`, "", "delta sync table"},
		{"not JSON", `{"Item":{"id":`, "", "not a table export line"},
		{"duplicate key", good, "", "also at"},
	}
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := blogSchema(t)
		st := e.open(t)
		importFiles(t, s, st, blogInputs, ImportOptions{})
		before := dumpAll(t, s, st)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				file := writeInput(t, "Post", good, c.line)
				tables, err := Resolve([]string{file})
				if err != nil {
					t.Fatal(err)
				}
				_, err = Import(ctx, s, st, tables, ImportOptions{Merge: true})
				var ie *InputError
				if !errors.As(err, &ie) {
					t.Fatalf("got %v, want an *InputError", err)
				}
				if ie.File != file || ie.Line != 2 || ie.Attr != c.attr {
					t.Errorf("error at %s:%d attribute %q, want %s:2 attribute %q (%v)", ie.File, ie.Line, ie.Attr, file, c.attr, err)
				}
				if msg := err.Error(); !strings.Contains(msg, file+":2") || !strings.Contains(msg, c.msg) {
					t.Errorf("message %q: want it to name %s:2 and say %q", msg, file, c.msg)
				}
			})
		}
		// The good line before each bad one was not written either.
		if after := dumpAll(t, s, st); !reflect.DeepEqual(before, after) {
			t.Errorf("a refused import changed the store")
		}
		// A file of no model of the schema.
		tables, err := Resolve([]string{writeInput(t, "Photo", good)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Import(ctx, s, st, tables, ImportOptions{Merge: true}); !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), "--table") {
			t.Errorf("unknown model: got %v, want ErrNoModel suggesting --table", err)
		}
	})
}

func TestImportMerge(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := blogSchema(t)
		st := e.open(t)
		importFiles(t, s, st, blogInputs, ImportOptions{})
		before := dumpAll(t, s, st)
		// p1 is at version 5 and p2 at 1 in the store.
		file := writeInput(t, "Post",
			`{"Item":{"id":{"S":"p1"},"title":{"S":"older"},"_version":{"N":"4"},"_lastChangedAt":{"N":"1795000000000"}}}`,
			`{"Item":{"id":{"S":"p2"},"title":{"S":"newer"},"_version":{"N":"2"},"_lastChangedAt":{"N":"1795500000000"}}}`,
			`{"Item":{"id":{"S":"p9"},"title":{"S":"new"},"_version":{"N":"1"},"_lastChangedAt":{"N":"1795500000000"}}}`)
		tables, err := Resolve([]string{file})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Import(ctx, s, st, tables, ImportOptions{}); !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "--merge") {
			t.Fatalf("import into a non-empty store: got %v, want ErrNotEmpty naming --merge", err)
		}
		if after := dumpAll(t, s, st); !reflect.DeepEqual(before, after) {
			t.Fatal("a refused import changed the store")
		}
		rep, err := Import(ctx, s, st, tables, ImportOptions{Merge: true})
		if err != nil {
			t.Fatal(err)
		}
		if m := rep.Models[0]; m.Written != 2 || m.Kept != 1 {
			t.Errorf("merge report %+v, want 2 written, 1 kept", m)
		}
		titles := map[string]any{}
		for _, r := range dumpAll(t, s, st)["Post"] {
			titles[r.Item["id"].(string)] = r.Item["title"]
		}
		want := map[string]any{"p1": "Hello", "p2": "newer", "p3": "Deleted", "p4": "No rating", "p9": "new"}
		if !reflect.DeepEqual(titles, want) {
			t.Errorf("after merge: %v, want %v", titles, want)
		}
		if got := dumpAll(t, s, st)["Blog"]; !reflect.DeepEqual(got, before["Blog"]) {
			t.Errorf("merge changed another model's records")
		}
	})
}

func TestResolveNames(t *testing.T) {
	for in, want := range map[string]string{
		"Post-abc123xyz-prod":          "Post",
		"dir/Post-abc123xyz-prod.json": "Post",
		"PostTags-x-y.json.gz":         "PostTags",
		"Comment.json":                 "Comment",
		"arn-less/Blog":                "Blog",
	} {
		if got := ModelOfTable(in); got != want {
			t.Errorf("ModelOfTable(%q) = %q, want %q", in, got, want)
		}
	}
	tables, err := Resolve(blogInputs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.Model)
	}
	if !slices.Equal(names, []string{"Blog", "Post", "Comment"}) || len(tables[1].Files) != 3 {
		t.Errorf("tables %+v: want Blog, Post (the export's 3 partition files) and Comment", tables)
	}
}

// The transformer's composite sort key attributes ("status#placedAt") are
// derived from stored fields: import skips them, export writes them back.
func TestCompositeSortKeyAttributes(t *testing.T) {
	ctx := context.Background()
	s := testenv.LoadSchema(t, `type Order @model {
  id: ID!
  customer: String! @index(name: "byCustomer", sortKeyFields: ["status", "placedAt"], queryField: "ordersByCustomer")
  status: String!
  placedAt: AWSDateTime!
}`)
	in := writeInput(t, "Order",
		`{"Item":{"id":{"S":"o1"},"customer":{"S":"ann"},"status":{"S":"OPEN"},"placedAt":{"S":"2026-11-01T00:00:00.000Z"},"status#placedAt":{"S":"OPEN#2026-11-01T00:00:00.000Z"},"__typename":{"S":"Order"},"_version":{"N":"2"},"_lastChangedAt":{"N":"1795000000000"}}}`)
	st := engines[0].open(t)
	importFiles(t, s, st, []string{in}, ImportOptions{})
	r, err := st.Get(ctx, "Order", []any{"o1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Item["status#placedAt"]; ok || r.Item["status"] != "OPEN" {
		t.Errorf("stored %v: want the fields, not the derived attribute", r.Item)
	}
	dir := t.TempDir()
	if _, err := Export(ctx, s, st, dir, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := rawItems(t, []string{dir}), rawItems(t, []string{in}); !reflect.DeepEqual(got, want) {
		t.Errorf("export: %v, want %v", got, want)
	}
}

// A key given in two files of one model is found before anything is
// written, whichever way the files were named.
func TestDuplicateKeyAcrossFiles(t *testing.T) {
	s := blogSchema(t)
	st := engines[0].open(t)
	line := `{"Item":{"id":{"S":"p1"},"title":{"S":"t"},"_version":{"N":"1"},"_lastChangedAt":{"N":"1"}}}`
	a, b := writeInput(t, "Post", line), writeInput(t, "Post", line)
	_, err := Import(context.Background(), s, st, []Table{{Model: "Post", Files: []string{a}}, {Model: "Post", Files: []string{b}}}, ImportOptions{})
	var ie *InputError
	if !errors.As(err, &ie) || ie.File != b || !strings.Contains(err.Error(), a+":1") {
		t.Fatalf("got %v, want the duplicate in %s named with its first place %s:1", err, b, a)
	}
	if p, err := st.Scan(context.Background(), "Post", nil, 1); err != nil || len(p.Records) != 0 {
		t.Errorf("store after the refused import: %v, %v; want empty", p.Records, err)
	}
}
