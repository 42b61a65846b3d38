package migratetest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/testenv"
)

// TestResyncAndRefusals changes Note's primary key to one no stored record
// can be re-keyed into (a sort key on a new field), so the migration
// re-syncs Note: after it the app still has the notes with unsent changes
// (n1 edited, n6 created offline), in the outbox too, and they reach the
// backend; the other notes come back from the backend by the full sync.
// Then the v1 build, opening the migrated store, is refused with
// ErrStoreNewer and leaves the store as it was for v2.
func TestResyncAndRefusals(t *testing.T) {
	t.Parallel()
	a := newApp(t, "notes/v1.graphql")
	a.run(t, "generate")
	v1 := a.build(t, "notes/v1/main.go", "v1")
	v1Schema, _ := filepath.Abs("testdata/notes/v1.graphql")
	v2Schema, _ := filepath.Abs("testdata/notes/v2.graphql")
	store := filepath.Join(t.TempDir(), "store")

	srv1 := testenv.StartServer(t, testenv.ServerOptions{Schema: v1Schema})
	if ev := event(t, runApp(t, v1, "-dir", store, "-mode", "sync", "-url", srv1.URL, "-key", srv1.APIKey), "synced"); ev["deadLetters"] != 0.0 {
		t.Fatalf("v1 sync: %v", ev)
	}
	if box := event(t, runApp(t, v1, "-dir", store, "-mode", "offline"), "offline")["outbox"].([]any); len(box) != 2 {
		t.Fatalf("v1 offline outbox, want the update of n1 and the create of n6:\n%s", jsonText(box))
	}

	a.migrate(t, "notes/v2.graphql", 1, nil)
	mig, _ := filepath.Glob(filepath.Join(a.dir, "migrations", "0001_*.json"))
	if plan := a.read(t, filepath.Join("migrations", filepath.Base(mig[0]))); !strings.Contains(plan, `"changePrimaryKey"`) || !strings.Contains(plan, `"resync"`) {
		t.Fatalf("the migration does not re-sync Note:\n%s", plan)
	}
	v2 := a.build(t, "notes/v2/main.go", "v2")

	// The backend moved to v2 with its notes, as its own migration left
	// them: n1..n5, kind "plain", n1 not edited.
	srv2 := testenv.StartServer(t, testenv.ServerOptions{Schema: v2Schema})
	for i, id := range []string{"n1", "n2", "n3", "n4", "n5"} {
		gql(t, srv2, `mutation($input: CreateNoteInput!) { createNote(input: $input) { id } }`,
			map[string]any{"input": map[string]any{"id": id, "kind": "plain", "text": "note " + string(rune('1'+i))}})
	}

	evs := runApp(t, v2, "-dir", store, "-url", srv2.URL, "-key", srv2.APIKey)
	prog := progress(evs)
	if len(prog) == 0 {
		t.Fatal("v2 did not migrate")
	}
	done := prog[len(prog)-1]
	if done["Phase"] != "done" || jsonText(done["Resynced"]) != jsonText([]string{"Note"}) || done["MutationsDeadLettered"] != 0.0 || done["MutationsDropped"] != 0.0 {
		t.Errorf("migration done report: %v", done)
	}
	local := event(t, evs, "local")
	notes := byID(local["notes"])
	if len(notes) != 2 || notes["n1"]["text"] != "note 1, edited offline" || notes["n6"]["text"] != "note 6, offline" ||
		notes["n1"]["kind"] != "plain" || notes["n6"]["kind"] != "plain" {
		t.Errorf("after the re-sync migration v2 has, before syncing (want n1 edited and n6, kind plain):\n%s", jsonText(local["notes"]))
	}
	if local["lastSync"] != nil {
		t.Errorf("Note's lastSync survived the re-sync migration: %v", local["lastSync"])
	}
	if box := local["outbox"].([]any); len(box) != 2 {
		t.Errorf("outbox after the migration, want the two unsent changes:\n%s", jsonText(box))
	}

	synced := event(t, evs, "synced")
	if synced["deadLetters"] != nil {
		t.Fatalf("dead letters:\n%s", jsonText(synced["deadLetters"]))
	}
	want := map[string]string{"n1": "note 1, edited offline", "n2": "note 2", "n3": "note 3", "n4": "note 4", "n5": "note 5", "n6": "note 6, offline"}
	check := func(where string, got map[string]map[string]any) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s has %d notes, want 6:\n%s", where, len(got), jsonText(got))
		}
		for id, text := range want {
			if got[id]["text"] != text || got[id]["kind"] != "plain" {
				t.Errorf("%s: %s = %v, want text %q kind plain", where, id, got[id], text)
			}
		}
	}
	check("v2 after syncing", byID(synced["notes"]))
	server := items(t, gql(t, srv2, `{ listNotes { items { id kind text _version } } }`, nil), "listNotes")
	check("the backend", server)
	if server["n1"]["_version"] != 2.0 {
		t.Errorf("backend n1 _version %v, want 2 (one update)", server["n1"]["_version"])
	}

	// The v1 build is refused by the store v2 migrated, which stays as v2
	// left it.
	evs, stderr, err := runAppErr(t, v1, "-dir", store, "-mode", "list")
	if err == nil || !strings.Contains(stderr, "newer") {
		t.Fatalf("v1 opening the migrated store: %v\nstdout: %v\nstderr: %s", err, evs, stderr)
	}
	event(t, evs, "storeNewer")
	t.Logf("v1 refused: %s", strings.TrimSpace(stderr))
	evs = runApp(t, v2, "-dir", store)
	if prog := progress(evs); len(prog) != 0 {
		t.Errorf("v2 migrated again after v1's refused start:\n%s", jsonText(prog))
	}
	check("v2 after v1's refused start", byID(event(t, evs, "local")["notes"]))
}

// byID indexes a list of records by id.
func byID(list any) map[string]map[string]any {
	out := map[string]map[string]any{}
	l, _ := list.([]any)
	for _, it := range l {
		m := it.(map[string]any)
		out[m["id"].(string)] = m
	}
	return out
}
