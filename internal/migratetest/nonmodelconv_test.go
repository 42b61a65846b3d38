package migratetest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/testenv"
)

// TestNonModelConversions migrates the sites app to a schema that changes
// the type of a field of a non-model type nested two deep (Geo.lat, Float!
// to String!, in Site.address.geo and Site.previous[].geo) and makes a
// field of the type holding it required without a @default
// (Address.city), while an update of s1 and a create of s3 are in the
// outbox. dsgen migrate plans both as conversions the developer writes;
// the v2 build converts every stored value and every pending mutation's,
// and after syncing the app and the backend (at v2) agree, with nothing
// dead-lettered.
func TestNonModelConversions(t *testing.T) {
	t.Parallel()
	a, store := sitesOffline(t)
	v2Schema, _ := filepath.Abs("testdata/sites/conv.graphql")

	a.migrate(t, "sites/conv.graphql", 1, map[string]string{
		"convert0001GeoLat":      "\tf, ok := v.(float64)\n\tif !ok {\n\t\treturn nil, fmt.Errorf(\"lat %v (%T) is not a Float\", v, v)\n\t}\n\treturn strconv.FormatFloat(f, 'f', -1, 64), nil",
		"convert0001AddressCity": "\tif v == nil {\n\t\treturn \"unknown\", nil\n\t}\n\treturn v, nil",
	})
	// The developer's file imports what the bodies use.
	src := a.read(t, "model/migration_0001.go")
	for _, want := range []string{"Site.address.geo, Site.previous[].geo", "Site.address, Site.previous[]"} {
		if !strings.Contains(strings.Join(strings.Fields(strings.ReplaceAll(src, "// ", "")), " "), want) {
			t.Errorf("model/migration_0001.go does not say the conversions run on %s:\n%s", want, src)
		}
	}
	a.write(t, "model/migration_0001.go", strings.Replace(src, "package model\n", "package model\n\nimport (\n\t\"fmt\"\n\t\"strconv\"\n)\n", 1))
	v2 := a.build(t, "sites/v2/main.go", "v2")

	srv2 := testenv.StartServer(t, testenv.ServerOptions{Schema: v2Schema})
	for i, id := range []string{"s1", "s2"} {
		n := []string{"1", "2"}[i]
		gql(t, srv2, `mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }`,
			map[string]any{"input": map[string]any{"id": id, "name": "site " + n,
				"address": map[string]any{"line1": n + " Main St", "city": "unknown", "geo": map[string]any{"lat": n, "lng": 1}, "tags": []any{"old"}}}})
	}

	evs := runApp(t, v2, "-dir", store, "-url", srv2.URL, "-key", srv2.APIKey)
	if prog := progress(evs); len(prog) == 0 || prog[len(prog)-1]["Phase"] != "done" {
		t.Fatalf("v2 did not migrate: %v", prog)
	}
	local := event(t, evs, "local")
	if text := compact(local["outbox"]); !strings.Contains(text, `"lat":"45.5"`) || !strings.Contains(text, `"lat":"3"`) || strings.Contains(text, `"city":null`) {
		t.Errorf("the migrated outbox does not hold the converted values:\n%s", jsonText(local["outbox"]))
	}
	synced := event(t, evs, "synced")
	if synced["deadLetters"] != nil {
		t.Fatalf("dead letters:\n%s", jsonText(synced["deadLetters"]))
	}

	want := map[string]string{
		"s1": `{"city":"Lyon","geo":{"lat":"45.5","lng":4.5},"line1":"1 Quai","tags":["moved"]}` +
			` [{"city":"unknown","geo":{"lat":"1","lng":1},"line1":"1 Main St","tags":["old"]}]`,
		"s2": `{"city":"unknown","geo":{"lat":"2","lng":1},"line1":"2 Main St","tags":["old"]} null`,
		"s3": `{"city":"unknown","geo":{"lat":"3","lng":3},"line1":"3 Rue","tags":null} null`,
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
	server := items(t, gql(t, srv2, `{ listSites { items { id address { line1 city tags geo { lat lng } } previous { line1 city tags geo { lat lng } } } } }`, nil), "listSites")
	check("the backend", server)
}
