package dynamo

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/meta"
)

// engine opens empty stores of one engine.
type engine struct {
	name string
	open func(t *testing.T) store.Bulk
}

var engines = []engine{
	{"badger", func(t *testing.T) store.Bulk {
		st, err := store.Open(context.Background(), store.Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeStore(t, st) })
		return st
	}},
	{"postgres", func(t *testing.T) store.Bulk {
		st, err := store.OpenPostgres(context.Background(), pgtest.Schema(t), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeStore(t, st) })
		return st
	}},
}

func closeStore(t *testing.T, st store.Store) {
	if err := st.Close(); err != nil {
		t.Errorf("close store: %v", err)
	}
}

func forEngines(t *testing.T, test func(*testing.T, engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { test(t, e) })
	}
}

// The fixtures: the blog example's tables (scan output, a table export
// directory with gzip'ed partitions, export lines) and an owner-auth
// model with AWSJSON, a non-model, lists and numbers.
var (
	blogInputs = []string{
		filepath.Join("testdata", "blog", "Blog-abc123xyz-prod.json"),
		filepath.Join("testdata", "blog", "post-export"),
		filepath.Join("testdata", "blog", "Comment-abc123xyz-prod.json"),
	}
	notesInputs = []string{filepath.Join("testdata", "notes", "Note-abc123xyz-prod.json")}
)

func notesSchema(t testing.TB) *meta.Schema {
	t.Helper()
	s, err := schema.LoadPath(filepath.Join("testdata", "notes", "schema.graphql"), schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func blogSchema(t testing.TB) *meta.Schema { return testenv.BlogSchema(t) }

// importFiles resolves paths and imports them into st.
func importFiles(t *testing.T, s *meta.Schema, st store.Bulk, paths []string, opts ImportOptions) ImportReport {
	t.Helper()
	tables, err := Resolve(paths)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Import(context.Background(), s, st, tables, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// dumpAll reads every record of every model of s.
func dumpAll(t *testing.T, s *meta.Schema, st store.Bulk) map[string][]store.Loaded {
	t.Helper()
	out := map[string][]store.Loaded{}
	for _, m := range s.Models {
		var cursor []byte
		for {
			p, err := st.Dump(context.Background(), m.Name, cursor, 3)
			if err != nil {
				t.Fatal(err)
			}
			out[m.Name] = append(out[m.Name], p.Records...)
			if p.Next == nil {
				break
			}
			cursor = p.Next
		}
	}
	return out
}

// rawItems reads the items of paths as plain DynamoDB JSON, by model and
// id, independently of the converter: each attribute in its generic form,
// with _deleted false (the same as absent) left out and SS/NS as lists.
func rawItems(t *testing.T, paths []string) map[string]map[string]map[string]any {
	t.Helper()
	tables, err := Resolve(paths)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]map[string]any{}
	for _, tb := range tables {
		for _, f := range tb.Files {
			err := eachItem(f, func(line int, raw []byte) error {
				item, err := decodeItem(raw)
				if err != nil {
					return err
				}
				g := map[string]any{}
				for k, a := range item {
					v, err := generic(k, a)
					if err != nil {
						return err
					}
					if k == attrDeleted && v == false {
						continue
					}
					g[k] = normJSON(v)
				}
				if out[tb.Model] == nil {
					out[tb.Model] = map[string]map[string]any{}
				}
				out[tb.Model][g["id"].(string)] = g
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// normJSON turns json.Numbers into float64s, so equal numbers compare
// equal whatever their spelling.
func normJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normJSON(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normJSON(e)
		}
		return out
	}
	return v
}

func sameJSON(a, b any) bool { return reflect.DeepEqual(normJSON(a), normJSON(b)) }
