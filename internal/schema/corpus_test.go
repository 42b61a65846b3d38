package schema

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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
// listed JSON paths.
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
			}
		})
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
