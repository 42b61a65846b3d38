package schema

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/runtime/meta"
)

// sharedDir locates ../shared beside the checkout.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../../../shared")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared corpus not found at %s", dir)
	}
	return dir
}

// corpusOptions lists per-schema options the corpus needs.
func corpusOptions(name string) Options {
	switch name {
	case "api-custom-transformers-simple-custom-model":
		// A custom transformer's directive, declared the way a user would.
		return Options{Directives: []string{"simple"}}
	}
	return Options{}
}

// knownDifferences documents where our introspection intentionally differs
// from Amplify's output for a corpus schema; the comparison skips the
// listed JSON paths (slash-separated object keys).
//
// It is empty: the output matches Amplify's byte for byte on the whole
// corpus. Where Amplify's metadata is lossy for a runtime (associatedWith
// naming a @belongsTo field, or only the first field of a composite key),
// dsgen keeps Amplify's values for the output and carries the resolved key
// pairs in meta.Relation.Keys and RelatedKeys instead of differing.
var knownDifferences = map[string][]string{}

func TestIntrospectionMatchesAmplify(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sharedDir(t), "schemas", "valid", "*.graphql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus schemas: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".graphql")
		t.Run(name, func(t *testing.T) {
			s, err := LoadPath(f, corpusOptions(name))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			got, err := Introspection(s)
			if err != nil {
				t.Fatal(err)
			}
			wantRaw, err := os.ReadFile(strings.TrimSuffix(f, ".graphql") + ".introspection.json")
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(wantRaw, &w); err != nil {
				t.Fatal(err)
			}
			for _, p := range knownDifferences[name] {
				drop(g, p)
				drop(w, p)
			}
			if diffs := jsonDiff("", g, w); len(diffs) > 0 {
				if len(diffs) > 15 {
					diffs = append(diffs[:15], "...")
				}
				t.Errorf("introspection differs from Amplify's:\n%s", strings.Join(diffs, "\n"))
				return
			}
			// Beyond equal content, the text itself matches (key order,
			// four-space indentation), unless a difference is known.
			if len(knownDifferences[name]) == 0 && strings.TrimSpace(string(got)) != strings.TrimSpace(string(wantRaw)) {
				t.Errorf("introspection has Amplify's content but not its exact text (key order or layout)")
			}
			checkRelationKeys(t, s)
		})
	}
}

// checkRelationKeys checks that every relation can be resolved by the
// runtime: Keys and RelatedKeys name stored fields of the two models and
// pair up.
func checkRelationKeys(t *testing.T, s *meta.Schema) {
	t.Helper()
	for _, m := range s.Models {
		for _, f := range m.Fields {
			r := f.Relation
			if f.Kind == meta.KindModel && r == nil {
				t.Errorf("%s.%s: model-typed field without relation", m.Name, f.Name)
				continue
			}
			if r == nil {
				continue
			}
			rm := s.Model(r.Model)
			if rm == nil {
				t.Errorf("%s.%s: related model %s missing", m.Name, f.Name, r.Model)
				continue
			}
			if len(r.Keys) == 0 || len(r.Keys) != len(r.RelatedKeys) {
				t.Errorf("%s.%s: keys %v do not pair with related keys %v", m.Name, f.Name, r.Keys, r.RelatedKeys)
			}
			for _, k := range r.Keys {
				if kf := m.Field(k); kf == nil || !kf.Stored() {
					t.Errorf("%s.%s: key %q is not a stored field of %s", m.Name, f.Name, k, m.Name)
				}
			}
			for _, k := range r.RelatedKeys {
				if kf := rm.Field(k); kf == nil || !kf.Stored() {
					t.Errorf("%s.%s: related key %q is not a stored field of %s", m.Name, f.Name, k, rm.Name)
				}
			}
		}
		for _, ix := range m.Indexes {
			for _, k := range ix.Fields {
				if kf := m.Field(k); kf == nil || !kf.Stored() {
					t.Errorf("%s: index %s: %q is not a stored field", m.Name, ix.Name, k)
				}
			}
		}
	}
}

// drop removes the value at a slash-separated path of object keys.
func drop(v any, path string) {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		if i == len(parts)-1 {
			delete(m, p)
			return
		}
		v = m[p]
	}
}

// jsonDiff lists the paths where got and want differ, ignoring key order.
func jsonDiff(path string, got, want any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path + ": got " + short(got) + ", want an object"}
		}
		var out []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				out = append(out, path+"/"+k+": missing, want "+short(wv))
				continue
			}
			out = append(out, jsonDiff(path+"/"+k, gv, wv)...)
		}
		for k, gv := range g {
			if _, ok := w[k]; !ok {
				out = append(out, path+"/"+k+": unexpected "+short(gv))
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{path + ": got " + short(got) + ", want " + short(want)}
		}
		var out []string
		for i := range w {
			out = append(out, jsonDiff(path+"/"+itoa(i), g[i], w[i])...)
		}
		return out
	default:
		if !reflect.DeepEqual(got, want) {
			return []string{path + ": got " + short(got) + ", want " + short(want)}
		}
	}
	return nil
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 160 {
		return string(b[:160]) + "..."
	}
	return string(b)
}
