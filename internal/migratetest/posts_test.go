package migratetest

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/testenv"
)

// ratingToFloat is the developer's conversion of Post.rating, Int -> Float:
// ratings move from a 10-point to a 5-point scale, so a conversion applied
// twice (or not at all) shows.
const ratingToFloat = `	if v == nil {
		return nil, nil
	}
	return float64(v.(int64)) / 2, nil
`

// TestPostsSurviveSchemaChange takes a posts app from v1 to v2 as a
// developer does: p1 and p2 synced with a v1 backend, then offline an edit
// of p2 and new records p3, p4 and t2 left in the outbox. Schema v2 renames
// Post.title to headline, changes rating from Int to Float (the developer's
// conversion halves it), adds views with a default and an index on it, adds
// an enum value and a model. The v2 build opens the v1 store: the data is
// there, converted, the new index answers, and the unsent mutations reach a
// v2 backend in the new shape.
func TestPostsSurviveSchemaChange(t *testing.T) {
	t.Parallel()
	a := newApp(t, "posts/v1.graphql")
	if out := a.run(t, "generate"); !strings.Contains(out, "first lock") {
		t.Fatalf("first generate did not write the lock:\n%s", out)
	}
	v1 := a.build(t, "posts/v1/main.go", "v1")
	v1Schema, _ := filepath.Abs("testdata/posts/v1.graphql")
	v2Schema, _ := filepath.Abs("testdata/posts/v2.graphql")
	store := filepath.Join(t.TempDir(), "store")

	srv1 := testenv.StartServer(t, testenv.ServerOptions{Schema: v1Schema})
	if ev := event(t, runApp(t, v1, "-dir", store, "-url", srv1.URL, "-key", srv1.APIKey), "synced"); ev["deadLetters"] != 0.0 {
		t.Fatalf("v1 sync: %v", ev)
	}
	offline := event(t, runApp(t, v1, "-dir", store), "offline")
	if box := offline["outbox"].([]any); len(box) != 4 {
		t.Fatalf("v1 offline outbox holds %d mutations, want 4 (update p2, create p3, p4, t2):\n%s", len(box), jsonText(box))
	}

	a.migrate(t, "posts/v2.graphql", 1, map[string]string{"convert0001PostRating": ratingToFloat})
	v2 := a.build(t, "posts/v2/main.go", "v2")

	// The backend moved to v2 with its data (p1, p2, t1), as its own
	// migration left it.
	srv2 := testenv.StartServer(t, testenv.ServerOptions{Schema: v2Schema})
	for _, p := range []map[string]any{
		{"id": "p1", "headline": "First", "rating": 2.0, "status": "PUBLISHED", "views": 7},
		{"id": "p2", "headline": "Second", "rating": 1.5, "status": "DRAFT", "views": 7},
	} {
		gql(t, srv2, `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`, map[string]any{"input": p})
	}
	gql(t, srv2, `mutation($input: CreateTagInput!) { createTag(input: $input) { id } }`,
		map[string]any{"input": map[string]any{"id": "t1", "label": "go", "postTagsId": "p1"}})

	evs := runApp(t, v2, "-dir", store, "-url", srv2.URL, "-key", srv2.APIKey)
	prog := progress(evs)
	if len(prog) == 0 || prog[len(prog)-1]["Phase"] != "done" {
		t.Fatalf("migration progress does not end with done:\n%s", jsonText(prog))
	}
	done := prog[len(prog)-1]
	if done["From"] != 0.0 || done["To"] != 1.0 || done["Mutations"] != 4.0 || done["MutationsDropped"] != 0.0 || done["MutationsDeadLettered"] != 0.0 {
		t.Errorf("migration done report: %v", done)
	}

	local := event(t, evs, "local")
	want := map[string]map[string]any{
		"p1": {"headline": "First", "rating": 2.0, "status": "PUBLISHED", "views": 7.0},
		"p2": {"headline": "Second, edited", "rating": 2.5, "status": "DRAFT", "views": 7.0},
		"p3": {"headline": "Third", "rating": 0.5, "status": nil, "views": 7.0},
		"p4": {"headline": "Fourth", "rating": nil, "status": "DRAFT", "views": 7.0},
	}
	posts := local["posts"].([]any)
	if len(posts) != len(want) {
		t.Fatalf("v2 finds %d posts locally, want 4:\n%s", len(posts), jsonText(posts))
	}
	for _, p := range posts {
		p := p.(map[string]any)
		w := want[p["id"].(string)]
		for k, v := range w {
			if p[k] != v {
				t.Errorf("local %s.%s = %v, want %v", p["id"], k, p[k], v)
			}
		}
		if _, has := p["title"]; has {
			t.Errorf("local %s still has title", p["id"])
		}
	}
	if ids := local["byViews"].([]any); !slices.Equal(ids, []any{"p1", "p2", "p3", "p4"}) ||
		!strings.HasPrefix(local["byViewsPlan"].(string), "index byViews") {
		t.Errorf("QueryByViews(7) = %v by %q, want p1..p4 by index byViews", ids, local["byViewsPlan"])
	}
	if local["whereCount"] != 4.0 || !strings.HasPrefix(local["wherePlan"].(string), "index byViews") {
		t.Errorf("Where(views = 7) counts %v by %q, want 4 by index byViews", local["whereCount"], local["wherePlan"])
	}
	if local["tags"] != 2.0 {
		t.Errorf("local tags: %v, want 2", local["tags"])
	}
	// The outbox after the migration, before any send: v2's shape.
	for _, m := range local["outbox"].([]any) {
		m := m.(map[string]any)
		data := m["data"].(map[string]any)
		if _, has := data["title"]; has {
			t.Errorf("migrated mutation still has title: %v", m)
		}
		if m["model"] != "Post" {
			continue
		}
		switch data["id"] {
		case "p2":
			if m["op"] != "update" || data["headline"] != "Second, edited" || data["rating"] != 2.5 {
				t.Errorf("migrated update of p2: %v", m)
			}
		case "p3":
			if m["op"] != "create" || data["headline"] != "Third" || data["rating"] != 0.5 || data["views"] != 7.0 {
				t.Errorf("migrated create of p3: %v", m)
			}
		}
	}
	if missing := event(t, evs, "syncState")["missing"]; missing != nil {
		t.Errorf("the migrated store has no sync state for %v (the model the migration added): the sync engine cannot start", missing)
	}
	if dead := event(t, evs, "synced")["deadLetters"]; dead != nil {
		t.Fatalf("dead letters after the sync:\n%s", jsonText(dead))
	}

	// The backend has the offline changes, sent in v2's shape.
	server := items(t, gql(t, srv2, `{ listPosts { items { id headline rating status views _version } } }`, nil), "listPosts")
	want["p4"]["status"] = "ARCHIVED"
	if len(server) != len(want) {
		t.Fatalf("server posts:\n%s", jsonText(server))
	}
	for id, w := range want {
		for k, v := range w {
			if server[id][k] != v {
				t.Errorf("server %s.%s = %v, want %v", id, k, server[id][k], v)
			}
		}
	}
	if server["p2"]["_version"] != 2.0 {
		t.Errorf("server p2 _version %v, want 2 (one update)", server["p2"]["_version"])
	}
	tags := items(t, gql(t, srv2, `{ listTags { items { id label postTagsId } } }`, nil), "listTags")
	if len(tags) != 2 || tags["t2"]["postTagsId"] != "p3" || tags["t2"]["label"] != "sync" {
		t.Errorf("server tags:\n%s", jsonText(tags))
	}
	comments := items(t, gql(t, srv2, `{ listComments { items { id content } } }`, nil), "listComments")
	if comments["c1"]["content"] != "migrated fine" {
		t.Errorf("server comments:\n%s", jsonText(comments))
	}
}
