package migratetest

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/testenv"
)

// TestV1NamedConnectionToV2KeepsForeignKey moves an app from a transformer
// v1 schema, whose named @connection keys Comment by commentPostId, to its
// v2 rewrite (@hasMany/@belongsTo), whose implicit key is postCommentsId.
// Post p1 and comment c1 of p1 were saved offline on v1, so both are local
// records and unsent mutations. dsgen migrate plans a rename of the key, not
// a drop and an add; after it c1 still belongs to p1 locally, its queued
// create carries postCommentsId, and the backend receives it.
func TestV1NamedConnectionToV2KeepsForeignKey(t *testing.T) {
	t.Parallel()
	a := newApp(t, "connections/v1.graphql")
	a.run(t, "generate")
	v1 := a.build(t, "connections/v1/main.go", "v1")
	store := filepath.Join(t.TempDir(), "store")
	offline := event(t, runApp(t, v1, "-dir", store), "offline")
	if box := offline["outbox"].([]any); len(box) != 2 {
		t.Fatalf("v1 outbox holds %d mutations, want 2 (create p1, c1):\n%s", len(box), jsonText(box))
	}

	a.migrate(t, "connections/v2.graphql", 1, nil)
	plan := a.read(t, "migrations/"+migrationName(t, a, 1))
	if !strings.Contains(plan, `"renameField"`) || !strings.Contains(plan, `"postCommentsId"`) || strings.Contains(plan, `"dropField"`) {
		t.Fatalf("migration 0001 does not rename Comment.commentPostId to postCommentsId:\n%s", plan)
	}
	v2 := a.build(t, "connections/v2/main.go", "v2")
	v2Schema, _ := filepath.Abs("testdata/connections/v2.graphql")
	srv := testenv.StartServer(t, testenv.ServerOptions{Schema: v2Schema})

	evs := runApp(t, v2, "-dir", store, "-url", srv.URL, "-key", srv.APIKey)
	local := event(t, evs, "local")
	if c1 := local["c1"].(map[string]any); c1["postCommentsId"] != "p1" {
		t.Errorf("local c1 after the migration: %v, want postCommentsId p1", c1)
	}
	if of := local["commentsOfP1"].([]any); len(of) != 1 || of[0].(map[string]any)["id"] != "c1" {
		t.Errorf("comments of p1 after the migration: %v, want c1", of)
	}
	found := false
	for _, m := range local["outbox"].([]any) {
		m := m.(map[string]any)
		data := m["data"].(map[string]any)
		if m["model"] != "Comment" {
			continue
		}
		found = true
		if data["postCommentsId"] != "p1" || data["commentPostId"] != nil {
			t.Errorf("migrated create of c1: %v, want postCommentsId p1 and no commentPostId", m)
		}
	}
	if !found {
		t.Errorf("no Comment mutation in the migrated outbox:\n%s", jsonText(local["outbox"]))
	}
	if dead := event(t, evs, "synced")["deadLetters"]; dead != nil {
		t.Fatalf("dead letters after the sync:\n%s", jsonText(dead))
	}
	comments := items(t, gql(t, srv, `{ listComments { items { id content postCommentsId } } }`, nil), "listComments")
	if c := comments["c1"]; c == nil || c["postCommentsId"] != "p1" || c["content"] != "kept" {
		t.Errorf("server comments:\n%s", jsonText(comments))
	}
}

// migrationName returns the file name of migration number in the app's
// migrations directory.
func migrationName(t *testing.T, a *app, number int) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(a.dir, "migrations", fmt.Sprintf("%04d_*.json", number)))
	if err != nil || len(m) != 1 {
		t.Fatalf("migration %d: %v %v", number, m, err)
	}
	return filepath.Base(m[0])
}
