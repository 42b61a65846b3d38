package migratetest

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/testenv"
)

// TestNonModelRenames migrates an app whose schema renames fields of a
// non-model type (Address.line1 to street), the non-model type nested in
// it and its field (Geo to Point, lat to latitude), drops one (tags) and
// adds one with a @default (zip), while changes made offline are in the
// outbox: an update of s1's address and list of addresses and a create of
// s3. After the migration the app and the backend (at v2) agree: the
// pending changes reach the backend under the new names, with the default,
// and none is dead-lettered.
func TestNonModelRenames(t *testing.T) {
	t.Parallel()
	a, store := sitesOffline(t)
	v2Schema, _ := filepath.Abs("testdata/sites/v2.graphql")

	a.migrate(t, "sites/v2.graphql", 1, nil)
	v2 := a.build(t, "sites/v2/main.go", "v2")

	// The backend moved to v2 with its sites, as its own migration left
	// them.
	srv2 := testenv.StartServer(t, testenv.ServerOptions{Schema: v2Schema})
	for i, id := range []string{"s1", "s2"} {
		n := float64(i + 1)
		gql(t, srv2, `mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }`,
			map[string]any{"input": map[string]any{"id": id, "name": "site " + id[1:],
				"address": map[string]any{"street": id[1:] + " Main St", "zip": "00000", "geo": map[string]any{"latitude": n, "lng": 1}}}})
	}

	evs := runApp(t, v2, "-dir", store, "-url", srv2.URL, "-key", srv2.APIKey)
	if prog := progress(evs); len(prog) == 0 || prog[len(prog)-1]["Phase"] != "done" {
		t.Fatalf("v2 did not migrate: %v", prog)
	}
	local := event(t, evs, "local")
	for _, old := range []string{`"line1"`, `"lat"`, `"tags"`} {
		if text := jsonText(local["outbox"]); strings.Contains(text, old) {
			t.Errorf("the migrated outbox still names %s:\n%s", old, text)
		}
	}
	synced := event(t, evs, "synced")
	if synced["deadLetters"] != nil {
		t.Fatalf("dead letters:\n%s", jsonText(synced["deadLetters"]))
	}

	want := map[string]string{
		"s1": `{"city":"Lyon","geo":{"latitude":45.5,"lng":4.5},"street":"1 Quai","zip":"00000"}` +
			` [{"city":null,"geo":{"latitude":1,"lng":1},"street":"1 Main St","zip":"00000"}]`,
		"s2": `{"city":null,"geo":{"latitude":2,"lng":1},"street":"2 Main St","zip":"00000"} null`,
		"s3": `{"city":null,"geo":{"latitude":3,"lng":3},"street":"3 Rue","zip":"00000"} null`,
	}
	check := func(where string, got map[string]map[string]any) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s has %d sites, want 3:\n%s", where, len(got), jsonText(got))
		}
		for id, w := range want {
			if g := compact(got[id]["address"]) + " " + compact(got[id]["previous"]); g != w {
				t.Errorf("%s: %s address and previous = %s, want %s", where, id, g, w)
			}
		}
	}
	check("v2 after syncing", byID(synced["sites"]))
	server := items(t, gql(t, srv2, `{ listSites { items { id address { street city zip geo { latitude lng } } previous { street city zip geo { latitude lng } } } } }`, nil), "listSites")
	check("the backend", server)
}

// compact renders v as one line of JSON, keys sorted.
func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// sitesOffline builds the sites app at v1, syncs a store with a v1 backend
// and leaves changes made offline in its outbox: an update of s1 and a
// create of s3. It returns the app and the store's directory.
func sitesOffline(t *testing.T) (*app, string) {
	t.Helper()
	a := newApp(t, "sites/v1.graphql")
	a.run(t, "generate")
	v1 := a.build(t, "sites/v1/main.go", "v1")
	v1Schema, _ := filepath.Abs("testdata/sites/v1.graphql")
	store := filepath.Join(t.TempDir(), "store")

	srv1 := testenv.StartServer(t, testenv.ServerOptions{Schema: v1Schema})
	if ev := event(t, runApp(t, v1, "-dir", store, "-mode", "sync", "-url", srv1.URL, "-key", srv1.APIKey), "synced"); ev["deadLetters"] != 0.0 {
		t.Fatalf("v1 sync: %v", ev)
	}
	if box := event(t, runApp(t, v1, "-dir", store, "-mode", "offline"), "offline")["outbox"].([]any); len(box) != 2 {
		t.Fatalf("v1 offline outbox, want the update of s1 and the create of s3:\n%s", jsonText(box))
	}
	return a, store
}
