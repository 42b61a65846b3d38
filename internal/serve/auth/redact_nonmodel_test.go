package auth

import (
	"encoding/json"
	"testing"
)

// TestRedactNonModelRecursive: a recursive non-model type (a tree of
// sections) is redacted at every depth it holds values, in lists, and the
// input is left as it was; a caller whose deniedFields reach no non-model
// type gets the item itself back.
func TestRedactNonModelRecursive(t *testing.T) {
	s := loadModels(t, `type Doc @model @auth(rules: [{allow: custom}]) {
  id: ID!
  body: Section
}

type Section {
  title: String
  secret: String
  children: [Section]
}
`)
	m := s.Model("Doc")
	item := map[string]any{"id": "d", "body": map[string]any{
		"title": "root", "secret": "s0",
		"children": []any{
			map[string]any{"title": "a", "secret": "s1", "children": []any{
				map[string]any{"title": "a1", "secret": "s2"},
			}},
			map[string]any{"title": "b"},
		},
	}}
	before, _ := json.Marshal(item)
	id := &Identity{Mode: ModeLambda, denied: map[string]map[string]bool{"Section": {"secret": true}}}
	got, _ := json.Marshal(Redact(s, m, item, OpGet, id))
	const want = `{"body":{"children":[{"children":[{"secret":null,"title":"a1"}],"secret":null,"title":"a"},{"title":"b"}],"secret":null,"title":"root"},"id":"d"}`
	if string(got) != want {
		t.Errorf("Redact =\n%s\nwant\n%s", got, want)
	}
	if after, _ := json.Marshal(item); string(after) != string(before) {
		t.Errorf("Redact changed its input: %s", after)
	}
	other := &Identity{Mode: ModeLambda, denied: map[string]map[string]bool{"Query": {"getDoc": true}}}
	if out := Redact(s, m, item, OpGet, other); out["body"].(map[string]any)["secret"] != "s0" {
		t.Errorf("deniedFields of Query hid Section.secret: %v", out)
	}
}
