package console_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
)

// corsPage is a web app of another origin calling dsgen serve as an
// Amplify DataStore app does: JSON POSTs with x-api-key and
// x-amz-user-agent (so the browser sends a preflight first), and the
// real-time WebSocket with the auth headers in its query.
const corsPage = `<!doctype html><html><body><script>
const KEY = %q;
const gql = async (api, query, variables, key = KEY) => {
  try {
    const r = await fetch(api + "/graphql", {method: "POST",
      headers: {"content-type": "application/json", "x-api-key": key, "x-amz-user-agent": "aws-amplify/6 datastore"},
      body: JSON.stringify({query, variables})});
    return {status: r.status, body: await r.text()};
  } catch (e) { return {error: e.name + ": " + e.message}; }
};
// live subscribes to onCreatePost over the WebSocket, then creates id
// over HTTP, and resolves with what happened: "event <id>" once the
// created post arrives, or how the connection ended.
const live = (api, id) => new Promise(resolve => {
  const host = new URL(api).host;
  const auth = {host, "x-api-key": KEY};
  const ws = new WebSocket("ws://" + host + "/graphql/realtime?header=" + btoa(JSON.stringify(auth)) + "&payload=e30=", "graphql-ws");
  ws.onerror = () => resolve("websocket error");
  ws.onclose = e => resolve("websocket closed " + e.code);
  ws.onopen = () => ws.send(JSON.stringify({type: "connection_init"}));
  ws.onmessage = async m => {
    const msg = JSON.parse(m.data);
    if (msg.type === "connection_ack") {
      ws.send(JSON.stringify({id: "s1", type: "start", payload: {
        data: JSON.stringify({query: "subscription { onCreatePost { id title } }"}),
        extensions: {authorization: auth}}}));
    } else if (msg.type === "start_ack") {
      const r = await gql(api, CREATE, {in: {id, title: "live " + id}});
      if (r.error || r.status !== 200) { resolve("create failed: " + JSON.stringify(r)); ws.close(); }
    } else if (msg.type === "data") {
      resolve("event " + msg.payload.data.onCreatePost.id); ws.close();
    } else if (msg.type === "error" || msg.type === "connection_error") {
      resolve("protocol error " + m.data); ws.close();
    }
  };
});
const CREATE = "mutation C($in: CreatePostInput!) { createPost(input: $in) { id title _version _lastChangedAt _deleted } }";
const SYNC = "query S { syncPosts(limit: 100) { items { id title _version } nextToken startedAt } }";
window.app = async (api, id) => JSON.stringify({
  create: await gql(api, CREATE, {in: {id, title: "from the web app"}}),
  sync: await gql(api, SYNC, {}),
  denied: await gql(api, SYNC, {}, "da2-wrong"),
  live: await live(api, id + "-live"),
});
document.body.dataset.ready = "true";
</script></body></html>`

// appResult is what window.app reports.
type appResult struct {
	Create, Sync, Denied struct {
		Status int
		Body   string
		Error  string
	}
	Live string
}

// serveAPI runs a server under Serve (the fast path included) on a
// loopback port with the given CORS origins and returns its URL.
func serveAPI(t *testing.T, origins []string) string {
	t.Helper()
	srv, err := serve.New(serve.Config{
		Schema:      testenv.LoadSchema(t, testSchema),
		Store:       testenv.OpenStore(t, store.Options{}),
		Auth:        auth.Config{APIKeys: []auth.APIKey{{Key: apiKey}}},
		CORSOrigins: origins,
	})
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + testenv.ServeListener(t, srv)
}

// getPost reads a post's title straight from the server (no Origin), ""
// when there is none.
func getPost(t *testing.T, api, id string) string {
	t.Helper()
	body, err := json.Marshal(map[string]string{"query": fmt.Sprintf(`{ getPost(id: %q) { title } }`, id)})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, api+"/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("getPost %s: HTTP %d", id, resp.StatusCode)
	}
	var out struct {
		Data struct{ GetPost *struct{ Title string } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Data.GetPost == nil {
		return ""
	}
	return out.Data.GetPost.Title
}

// TestCORSFromAnotherOrigin loads a web app from one origin in headless
// chromium and has it create, sync and subscribe against dsgen serve on
// another: it works (error answers readable too) with the default (any origin, as AppSync) and with a
// --cors-origin list naming the app's origin; with a list that does not,
// the browser's fetch fails (TypeError), nothing is written and the
// WebSocket is refused.
func TestCORSFromAnotherOrigin(t *testing.T) {
	b := newBrowser(t)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, fmt.Sprintf(corsPage, apiKey))
	}))
	t.Cleanup(page.Close)
	b.run("load the web app",
		chromedp.Navigate(page.URL+"/"),
		chromedp.Poll[chromedp.Void](`document.body.dataset.ready === "true"`, chromedp.WithPollingTimeout(time.Minute)))

	run := func(api, id string) appResult {
		t.Helper()
		raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`window.app(%q, %q)`, api, id), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("the web app against %s: %v", api, err)
		}
		var r appResult
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		return r
	}
	for _, c := range []struct {
		name    string
		origins []string
	}{
		{"any origin", nil},
		{"listed origin", []string{"localhost:3000", page.URL}},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := serveAPI(t, c.origins)
			r := run(api, "p1")
			if r.Create.Status != http.StatusOK || !strings.Contains(r.Create.Body, `"createPost":{"id":"p1","title":"from the web app","_version":1`) {
				t.Errorf("create: %+v", r.Create)
			}
			if r.Sync.Status != http.StatusOK || !strings.Contains(r.Sync.Body, `{"id":"p1","title":"from the web app","_version":1}`) {
				t.Errorf("sync: %+v", r.Sync)
			}
			// An error answer is readable too: the app can tell a bad key.
			if r.Denied.Status != http.StatusUnauthorized || !strings.Contains(r.Denied.Body, "UnauthorizedException") {
				t.Errorf("wrong key: %+v", r.Denied)
			}
			if r.Live != "event p1-live" {
				t.Errorf("real-time: %s", r.Live)
			}
			if got := getPost(t, api, "p1"); got != "from the web app" {
				t.Errorf("stored title %q", got)
			}
		})
	}
	t.Run("unlisted origin", func(t *testing.T) {
		api := serveAPI(t, []string{"localhost:3000", "https://app.example.com"})
		r := run(api, "p1")
		for what, res := range map[string]string{"create": r.Create.Error, "sync": r.Sync.Error, "wrong key": r.Denied.Error} {
			if !strings.HasPrefix(res, "TypeError") {
				t.Errorf("%s: want the browser to refuse (TypeError), got %+v", what, r)
			}
		}
		if !strings.HasPrefix(r.Live, "websocket") {
			t.Errorf("real-time: want the WebSocket refused, got %s", r.Live)
		}
		if got := getPost(t, api, "p1"); got != "" {
			t.Errorf("a refused page's create was stored: %q", got)
		}
	})
}
