package serve_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// conflictDataSchema: a Doc's owner reads and writes all of it; Editors
// update and read it but not its salary (owner only); Writers may update
// but not read; Lambda callers (allow: custom) do anything, minus the
// fields their authorizer denies.
const conflictDataSchema = `type Doc @model @auth(rules: [
  {allow: owner},
  {allow: groups, groups: ["Editors"], operations: [read, update]},
  {allow: groups, groups: ["Writers"], operations: [update]},
  {allow: custom}
]) {
  id: ID!
  title: String
  note: String
  salary: String @auth(rules: [{allow: owner}])
  owner: String
}
`

const (
	docFields = "id title note owner _version _lastChangedAt _deleted"
	docCreate = "mutation operation($input: CreateDocInput!) { createDoc(input: $input) { " + docFields + " salary } }"
	docUpdate = "mutation operation($input: UpdateDocInput!) { updateDoc(input: $input) { " + docFields + " } }"
)

// groupBearer is a user pool token of user in groups.
func groupBearer(t *testing.T, user string, groups ...string) map[string]string {
	t.Helper()
	now := time.Now()
	tok, err := auth.SignHS256(jwtSecret, map[string]any{
		"sub": user + "-sub", "username": user, "cognito:groups": groups,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"authorization": tok}
}

// TestConflictDataRedacted: a stale update refused with ConflictUnhandled
// carries the server's record as the caller would read it: a field-level
// @auth field the caller may not read, or a field its Lambda authorizer
// denies, is not in it, the readable fields are (the client merges them),
// and a caller that may update but not read the record gets no record.
// Checked on net/http and on the server's own listener (the fast path),
// for OPTIMISTIC_CONCURRENCY and a custom handler's REJECT.
func TestConflictDataRedacted(t *testing.T) {
	authorizer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"isAuthorized": true, "deniedFields": ["Doc.note"]}`)
	}))
	t.Cleanup(authorizer.Close)
	for _, strategy := range []serve.Strategy{serve.Optimistic, serve.Custom} {
		t.Run(string(strategy), func(t *testing.T) {
			conflicts := &conflictHook{}
			conflicts.answer(`{"action":"REJECT"}`)
			hook := httptest.NewServer(conflicts)
			t.Cleanup(hook.Close)
			e := newEnv(t, envOptions{schema: testenv.LoadSchema(t, conflictDataSchema), config: func(c *serve.Config) {
				c.Auth.JWT = &auth.JWTConfig{HS256Secret: jwtSecret}
				c.Auth.Lambda = &auth.LambdaConfig{URL: authorizer.URL, TTL: time.Minute}
				c.Conflict = map[string]serve.Strategy{"Doc": strategy}
				c.ConflictWebhook = hook.URL
			}})
			alice := groupBearer(t, "alice")
			created := mustOK(t, e.doAs(t, alice, docCreate, map[string]any{"input": map[string]any{
				"id": "d1", "title": "plan", "note": "n", "salary": "100k"}})).field("createDoc")
			if created["salary"] != "100k" {
				t.Fatalf("the owner's create answered %v", created)
			}
			// Version 2 on the server; every caller below sends version 1.
			mustOK(t, e.doAs(t, alice, docUpdate, map[string]any{"input": map[string]any{"id": "d1", "title": "plan v2", "_version": 1}}))

			fast := "http://" + testenv.ServeListener(t, e.srv) + "/graphql"
			stale := func(t *testing.T, url string, who map[string]string) *appsync.Error {
				t.Helper()
				body, err := json.Marshal(appsync.Request{Query: docUpdate, Variables: map[string]any{
					"input": map[string]any{"id": "d1", "title": "stale", "_version": 1}}})
				if err != nil {
					t.Fatal(err)
				}
				r := postTo(t, url, body, who)
				if r.errType(t) != appsync.ConflictUnhandled {
					t.Fatalf("stale update: %s, want ConflictUnhandled", r.Raw)
				}
				return r.Errors[0]
			}
			for path, url := range map[string]string{"net/http": e.ts.URL + "/graphql", "fast path": fast} {
				t.Run(path, func(t *testing.T) {
					// The owner reads everything: the whole record.
					if d, _ := stale(t, url, alice).Data.(map[string]any); d["salary"] != "100k" || d["title"] != "plan v2" || num(t, d["_version"]) != 2 {
						t.Errorf("the owner's conflict data %v, want the whole record", d)
					}
					// An editor may update but not read salary.
					d, _ := stale(t, url, groupBearer(t, "ed", "Editors")).Data.(map[string]any)
					if d == nil || d["salary"] != nil || d["title"] != "plan v2" || d["note"] != "n" || d["id"] != "d1" || num(t, d["_version"]) != 2 {
						t.Errorf("the editor's conflict data %v, want the record without salary", d)
					}
					// A Lambda caller whose authorizer denies Doc.note
					// (salary is owner-only too).
					d, _ = stale(t, url, lambdaCaller("lambda-denied")).Data.(map[string]any)
					if d == nil || d["note"] != nil || d["salary"] != nil || d["title"] != "plan v2" || num(t, d["_version"]) != 2 {
						t.Errorf("the Lambda caller's conflict data %v, want the record without note and salary", d)
					}
					// A writer may update but not read the record at all.
					if e := stale(t, url, groupBearer(t, "wr", "Writers")); e.Data != nil {
						t.Errorf("the writer's conflict data %v, want none: it may not read the record", e.Data)
					}
				})
			}
		})
	}
}
