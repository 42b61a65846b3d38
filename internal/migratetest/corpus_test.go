package migratetest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dsgen/dsgen/internal/testenv"
)

// corpus returns the path of a schema of the shared corpus of real Amplify
// schemas (../shared/schemas/valid next to the repository), skipping the
// test when the corpus is not there.
func corpus(t *testing.T, name string) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "..", "shared", "schemas", "valid", name+".graphql")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("corpus schema not available: %v", err)
	}
	return path
}

// TestCorpusPairs takes the corpus schemas whose names say initial and
// final through the whole flow: generate v1, write records offline,
// migrate, generate v2, open the v1 store with the v2 build, sync the
// migrated outbox with a v2 backend. The final schema of
// api-iterative-push-add-sort-to-primary-key has no initial one in the
// corpus, so testdata/blogs/v1.graphql is that schema without the sort key,
// which makes the migration a re-key. The corpus's one real pair,
// api-migrations-searchable-initial/updated-searchable, is not here: it
// adds one optional field, a step with no data to move (its User's
// createdAt, declared AWSDate, is stamped as a date: see
// runtime/datastore's TestTimestampsDeclaredTypes).
func TestCorpusPairs(t *testing.T) {
	t.Parallel()
	t.Run("add sort key to primary key", func(t *testing.T) {
		final := corpus(t, "api-iterative-push-add-sort-to-primary-key-final-schema")
		a := newApp(t, "blogs/v1.graphql")
		a.run(t, "generate")
		v1 := a.build(t, "blogs/v1/main.go", "v1")
		store := filepath.Join(t.TempDir(), "store")
		if box := event(t, runApp(t, v1, "-dir", store), "written")["outbox"].([]any); len(box) != 3 {
			t.Fatalf("v1 outbox:\n%s", jsonText(box))
		}
		a.migrate(t, final, 1, nil)
		v2 := a.build(t, "blogs/v2/main.go", "v2")
		srv := testenv.StartServer(t, testenv.ServerOptions{Schema: final})

		evs := runApp(t, v2, "-dir", store, "-url", srv.URL, "-key", srv.APIKey)
		prog := progress(evs)
		if len(prog) == 0 || prog[len(prog)-1]["Phase"] != "done" || prog[len(prog)-1]["Resynced"] != nil || prog[len(prog)-1]["Mutations"] != 3.0 {
			t.Errorf("migration reports (want a re-key, no re-sync):\n%s", jsonText(prog))
		}
		local := event(t, evs, "local")
		blogs := byID(local["records"])
		if len(blogs) != 3 || blogs["b2"]["name"] != "blog 2" {
			t.Errorf("blogs after the migration:\n%s", jsonText(local["records"]))
		}
		if byKey, _ := local["byKey"].([]any); !slices.Equal(byKey, []any{"b1", "b2", "b3"}) {
			t.Errorf("blogs found by their new key (id, name): %v, want b1, b2, b3", byKey)
		}
		for _, m := range local["outbox"].([]any) {
			m := m.(map[string]any)
			if key := m["key"].([]any); len(key) != 2 || key[1] != m["data"].(map[string]any)["name"] {
				t.Errorf("migrated mutation not keyed by (id, name): %v", m)
			}
		}
		if dead := event(t, evs, "synced")["deadLetters"]; dead != nil {
			t.Fatalf("dead letters:\n%s", jsonText(dead))
		}
		server := items(t, gql(t, srv, `{ listBlogs { items { id name } } }`, nil), "listBlogs")
		if len(server) != 3 || server["b1"]["name"] != "blog 1" || server["b3"]["name"] != "blog 3" {
			t.Errorf("backend blogs:\n%s", jsonText(server))
		}
	})
}
