package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync/client"
)

const createNote = `mutation($in: CreateNoteInput!) { createNote(input: $in) { id title owner _version } }`
const createPost = `mutation($in: CreatePostInput!) { createPost(input: $in) { id title _version } }`
const updatePost = `mutation($in: UpdatePostInput!) { updatePost(input: $in) { id title tags _version } }`

// TestPageServed: GET / is the embedded page, its assets load, and the page
// loads nothing from elsewhere.
func TestPageServed(t *testing.T) {
	ts := startServer(t, false, nil)
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP %q does not keep the page to its own origin", csp)
	}
	for _, p := range []string{"/console/assets/app.js", "/console/assets/app.css"} {
		r, err := http.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 || r.ContentLength == 0 {
			t.Errorf("GET %s: %s (%d bytes)", p, r.Status, r.ContentLength)
		}
	}
	if st, _ := call(t, "GET", ts.URL+"/nothing-here", nil, nil); st != http.StatusNotFound {
		t.Errorf("GET /nothing-here: %d, want 404", st)
	}
}

// TestAdminAPIAuth: the admin API refuses requests without credentials
// (401) and JWT holders outside the admin group (403); an API key or a
// token in dsgen-admin may read it.
func TestAdminAPIAuth(t *testing.T) {
	ts := startServer(t, false, nil)
	for _, path := range []string{"models", "records?model=Post", "history?model=Post&key=%5B%22x%22%5D", "clients", "conflicts"} {
		u := ts.URL + "/console/api/" + path
		if st, body := call(t, "GET", u, nil, nil); st != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d %v, want 401", path, st, body)
		}
		if st, body := call(t, "GET", u, map[string]string{"x-api-key": "wrong"}, nil); st != http.StatusUnauthorized {
			t.Errorf("%s with a wrong key: %d %v, want 401", path, st, body)
		}
		if st, body := call(t, "GET", u, bearer(devToken(t, "alice")), nil); st != http.StatusForbidden || !strings.Contains(fmt.Sprint(body["error"]), "dsgen-admin") {
			t.Errorf("%s as a non-admin user: %d %v, want 403 naming the admin group", path, st, body)
		}
		if st, body := call(t, "GET", u, keyHeader, nil); st != http.StatusOK {
			t.Errorf("%s with the API key: %d %v, want 200", path, st, body)
		}
		if st, body := call(t, "GET", u, bearer(devToken(t, "root", serve.ConsoleAdminGroup)), nil); st != http.StatusOK {
			t.Errorf("%s as an admin: %d %v, want 200", path, st, body)
		}
	}
	// The page's config is public: it tells the page whether to offer dev
	// identities.
	st, cfg := call(t, "GET", ts.URL+"/console/api/config", nil, nil)
	if st != 200 || cfg["devAuth"] != false {
		t.Errorf("config: %d %v, want devAuth false", st, cfg)
	}
}

// TestDevTokenOnlyWithFlag: without --dev-auth the dev-token endpoint does
// not exist; with it, its token is accepted by the server and owns what
// it creates.
func TestDevTokenOnlyWithFlag(t *testing.T) {
	off := startServer(t, false, nil)
	for _, m := range []string{"POST", "GET"} {
		st, _ := call(t, m, off.URL+"/console/api/dev-token", nil, map[string]any{"username": "alice"})
		if st != http.StatusNotFound && st != http.StatusMethodNotAllowed {
			t.Errorf("%s dev-token without the flag: %d, want 404", m, st)
		}
		if st == http.StatusMethodNotAllowed {
			t.Errorf("%s dev-token without the flag answers 405: the route exists", m)
		}
	}

	on := startServer(t, true, nil)
	st, cfg := call(t, "GET", on.URL+"/console/api/config", nil, nil)
	if st != 200 || cfg["devAuth"] != true {
		t.Fatalf("config with dev auth: %d %v", st, cfg)
	}
	st, body := call(t, "POST", on.URL+"/console/api/dev-token", nil, map[string]any{"username": "alice", "groups": []string{"editors"}})
	if st != 200 {
		t.Fatalf("dev-token: %d %v", st, body)
	}
	tok, _ := body["token"].(string)
	c := goClient(t, on, tokenAuth(tok))
	note := mutate(t, c, "createNote", createNote, map[string]any{"in": map[string]any{"title": "alice's"}})
	if owner, _ := note["owner"].(string); !strings.HasSuffix(owner, "::alice") {
		t.Errorf("a dev identity's note has owner %q, want <sub>::alice", owner)
	}
	for _, bad := range []map[string]any{{"username": ""}, {"username": "a::b"}, {"username": "ok", "groups": []string{""}}} {
		if st, body := call(t, "POST", on.URL+"/console/api/dev-token", nil, bad); st != http.StatusBadRequest {
			t.Errorf("dev-token %v: %d %v, want 400", bad, st, body)
		}
	}
}

// TestRecordsAndHistory: every model's records with their sync metadata,
// whoever owns them, filtered and paged; a record's history.
func TestRecordsAndHistory(t *testing.T) {
	ts := startServer(t, false, nil)
	alice := goClient(t, ts, tokenAuth(devToken(t, "alice")))
	bob := goClient(t, ts, tokenAuth(devToken(t, "bob")))
	for i := range 3 {
		mutate(t, alice, "createNote", createNote, map[string]any{"in": map[string]any{"id": fmt.Sprintf("a%d", i), "title": fmt.Sprintf("alice %d", i)}})
		mutate(t, bob, "createNote", createNote, map[string]any{"in": map[string]any{"id": fmt.Sprintf("b%d", i), "title": fmt.Sprintf("bob %d", i)}})
	}
	keyed := goClient(t, ts, client.APIKey(apiKey))
	p := mutate(t, keyed, "createPost", createPost, map[string]any{"in": map[string]any{"id": "p1", "title": "first"}})
	mutate(t, keyed, "updatePost", updatePost, map[string]any{"in": map[string]any{"id": "p1", "title": "second", "_version": p["_version"]}})
	mutate(t, keyed, "deletePost", `mutation { deletePost(input: {id: "p1", _version: 2}) { id } }`, nil)

	records := func(q string) map[string]any {
		t.Helper()
		st, body := call(t, "GET", ts.URL+"/console/api/records?"+q, keyHeader, nil)
		if st != 200 {
			t.Fatalf("records?%s: %d %v", q, st, body)
		}
		return body
	}
	all := records("model=Note")
	if n := len(all["records"].([]any)); n != 6 {
		t.Fatalf("all notes: %d, want 6 (both owners)", n)
	}
	page1 := records("model=Note&limit=4")
	if n := len(page1["records"].([]any)); n != 4 || page1["next"] == nil {
		t.Fatalf("page 1: %d records, next %v; want 4 and a cursor", n, page1["next"])
	}
	page2 := records("model=Note&limit=4&cursor=" + url.QueryEscape(page1["next"].(string)))
	if n := len(page2["records"].([]any)); n != 2 || page2["next"] != nil {
		t.Errorf("page 2: %d records, next %v; want 2 and no cursor", n, page2["next"])
	}
	bobs := records("model=Note&owner=bob")["records"].([]any)
	if len(bobs) != 3 {
		t.Errorf("owner=bob: %d notes, want 3", len(bobs))
	}
	for _, r := range bobs {
		rec := r.(map[string]any)
		owner := rec["owner"].([]any)
		if len(owner) != 1 || !strings.HasSuffix(owner[0].(string), "::bob") || rec["_version"].(float64) != 1 || rec["_lastChangedAt"].(float64) <= 0 {
			t.Errorf("bob's note: %v", rec)
		}
	}
	if got := records("model=Note&q=ALICE%201")["records"].([]any); len(got) != 1 {
		t.Errorf("q=ALICE 1: %d notes, want 1", len(got))
	}
	posts := records("model=Post")["records"].([]any)
	if len(posts) != 1 || posts[0].(map[string]any)["_deleted"] != true || posts[0].(map[string]any)["_version"].(float64) != 3 {
		t.Errorf("posts: %v, want the tombstone of p1 at version 3", posts)
	}
	if got := records("model=Post&deleted=live")["records"].([]any); len(got) != 0 {
		t.Errorf("live posts: %v, want none", got)
	}

	st, h := call(t, "GET", ts.URL+"/console/api/history?model=Post&key="+url.QueryEscape(`["p1"]`), keyHeader, nil)
	if st != 200 {
		t.Fatalf("history: %d %v", st, h)
	}
	changes := h["changes"].([]any)
	var ops []string
	for _, c := range changes {
		ch := c.(map[string]any)
		ops = append(ops, fmt.Sprintf("%s v%v %v", ch["op"], ch["_version"], ch["item"].(map[string]any)["title"]))
	}
	if want := "create v1 first|update v2 second|delete v3 second"; strings.Join(ops, "|") != want {
		t.Errorf("history: %q, want %q", strings.Join(ops, "|"), want)
	}
	for q, want := range map[string]int{
		"records?model=Nope":             404,
		"records":                        400,
		"records?model=Post&limit=0":     400,
		"records?model=Post&deleted=yes": 400,
		"records?model=Post&cursor=!!!":  400,
		"records?model=Post&cursor=AAAA": 400,
		"history?model=Post&key=p1":      400,
		"history?model=Post&key=%5B%5D":  400,
	} {
		if st, body := call(t, "GET", ts.URL+"/console/api/"+q, keyHeader, nil); st != want {
			t.Errorf("%s: %d %v, want %d", q, st, body, want)
		}
	}
}

// TestClientsAndConflicts: the console lists real-time clients with their
// subscriptions, and the conflicts each strategy resolved.
func TestClientsAndConflicts(t *testing.T) {
	ts := startServer(t, false, map[string]serve.Strategy{"Note": serve.Optimistic})
	keyed := goClient(t, ts, client.APIKey(apiKey))
	p := mutate(t, keyed, "createPost", createPost, map[string]any{"in": map[string]any{"id": "p1", "title": "first", "tags": []string{"a"}}})
	mutate(t, keyed, "updatePost", updatePost, map[string]any{"in": map[string]any{"id": "p1", "title": "second", "_version": p["_version"]}})
	// Based on version 1 again: automerge keeps the server's title and
	// appends the tag.
	mutate(t, keyed, "updatePost", updatePost, map[string]any{"in": map[string]any{"id": "p1", "title": "stale", "tags": []string{"b"}, "_version": 1}})
	alice := goClient(t, ts, tokenAuth(devToken(t, "alice")))
	mutate(t, alice, "createNote", createNote, map[string]any{"in": map[string]any{"id": "n1", "title": "x"}})
	mutate(t, alice, "updateNote", `mutation { updateNote(input: {id: "n1", title: "y", _version: 1}) { id } }`, nil)
	_, err := alice.Do(t.Context(), appsyncReq(`mutation { updateNote(input: {id: "n1", title: "z", _version: 1}) { id } }`), "updateNote")
	if err == nil {
		t.Fatal("a stale update under optimistic concurrency succeeded")
	}

	st, body := call(t, "GET", ts.URL+"/console/api/conflicts", keyHeader, nil)
	if st != 200 {
		t.Fatalf("conflicts: %d %v", st, body)
	}
	cs := body["conflicts"].([]any)
	if len(cs) != 2 {
		t.Fatalf("conflicts: %v, want 2", cs)
	}
	merged, rejected := cs[0].(map[string]any), cs[1].(map[string]any)
	if merged["strategy"] != "automerge" || merged["resolution"] != "merged" || merged["clientVersion"].(float64) != 1 || merged["serverVersion"].(float64) != 2 {
		t.Errorf("first conflict: %v, want automerge merged 1 -> 2", merged)
	}
	if res := merged["result"].(map[string]any); res["title"] != "second" || fmt.Sprint(res["tags"]) != "[a b]" {
		t.Errorf("merged result %v, want the server's title and both tags", res)
	}
	if rejected["strategy"] != "optimistic" || rejected["resolution"] != "rejected" || rejected["field"] != "updateNote" || !strings.Contains(fmt.Sprint(rejected["who"]), "alice") {
		t.Errorf("second conflict: %v, want optimistic rejected, by alice", rejected)
	}

	// A real-time client with two subscriptions.
	rt := dialRealtime(t, ts, map[string]string{"x-api-key": apiKey})
	rt.subscribe(t, "1", `subscription { onCreatePost { id } }`)
	rt.subscribe(t, "2", `subscription { onUpdatePost(filter: {title: {eq: "x"}}) { id } }`)
	st, body = call(t, "GET", ts.URL+"/console/api/clients", keyHeader, nil)
	if st != 200 {
		t.Fatalf("clients: %d %v", st, body)
	}
	clients := body["clients"].([]any)
	if len(clients) != 1 {
		t.Fatalf("clients: %v, want 1", clients)
	}
	c := clients[0].(map[string]any)
	byField := map[string]map[string]any{}
	for _, s := range c["subscriptions"].([]any) {
		byField[s.(map[string]any)["field"].(string)] = s.(map[string]any)
	}
	if c["who"] != "API key" || len(byField) != 2 || byField["onCreatePost"] == nil || byField["onUpdatePost"] == nil {
		t.Errorf("client: %v", c)
	}
	if args := byField["onUpdatePost"]["args"]; !strings.Contains(fmt.Sprint(args), "eq:x") {
		t.Errorf("onUpdatePost args %v, want its filter", args)
	}
}

// TestWebhookConflicts: conflicts under the custom strategy are listed with
// the webhook's answer: resolved with its item, or removed.
func TestWebhookConflicts(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct{ NewItem map[string]any }
		_ = json.NewDecoder(r.Body).Decode(&p)
		if p.NewItem["title"] == "remove me" {
			fmt.Fprint(w, `{"action": "REMOVE"}`)
			return
		}
		fmt.Fprint(w, `{"action": "RESOLVE", "item": {"id": "p1", "title": "from the webhook"}}`)
	}))
	t.Cleanup(hook.Close)
	_, ts := testenv.Serve(t, serve.Config{
		Schema:          testenv.LoadSchema(t, testSchema),
		Store:           testenv.OpenStore(t, store.Options{}),
		DefaultConflict: serve.Custom,
		ConflictWebhook: hook.URL,
		Auth:            auth.Config{APIKeys: []auth.APIKey{{Key: apiKey}}},
	}, false)
	keyed := goClient(t, ts, client.APIKey(apiKey))
	mutate(t, keyed, "createPost", createPost, map[string]any{"in": map[string]any{"id": "p1", "title": "first"}})
	mutate(t, keyed, "updatePost", updatePost, map[string]any{"in": map[string]any{"id": "p1", "title": "second", "_version": 1}})
	mutate(t, keyed, "updatePost", updatePost, map[string]any{"in": map[string]any{"id": "p1", "title": "stale", "_version": 1}})
	mutate(t, keyed, "updatePost", updatePost, map[string]any{"in": map[string]any{"id": "p1", "title": "remove me", "_version": 1}})

	_, body := call(t, "GET", ts.URL+"/console/api/conflicts", keyHeader, nil)
	cs := body["conflicts"].([]any)
	if len(cs) != 2 {
		t.Fatalf("conflicts: %v, want 2", cs)
	}
	resolved, removed := cs[0].(map[string]any), cs[1].(map[string]any)
	if resolved["strategy"] != "custom" || resolved["resolution"] != "resolved" || resolved["result"].(map[string]any)["title"] != "from the webhook" {
		t.Errorf("first conflict: %v, want resolved with the webhook's item", resolved)
	}
	if removed["resolution"] != "removed" || removed["serverVersion"].(float64) != 3 {
		t.Errorf("second conflict: %v, want removed against version 3", removed)
	}
}
