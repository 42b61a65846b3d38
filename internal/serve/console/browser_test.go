package console_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync/client"
)

// chromium finds (or, as root, installs) Debian's chromium through
// scripts/chromium.sh. The test skips only when there is none and CI is
// not set.
func chromium(t *testing.T) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, "scripts", "chromium.sh")).Output()
	path := strings.TrimSpace(string(out))
	if err != nil || path == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs chromium for the console's browser test: scripts/chromium.sh: %v", err)
		}
		t.Skipf("no chromium (scripts/chromium.sh: %v); the console's browser test needs it", err)
	}
	return path
}

// artifacts is where screenshots go: $DSGEN_TEST_ARTIFACTS/<test> when
// set (make test sets it), else a temporary directory removed after the
// test.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if base := os.Getenv("DSGEN_TEST_ARTIFACTS"); base != "" {
		dir = filepath.Join(base, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// browser drives one headless chromium page.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int
}

func newBrowser(t *testing.T) *browser {
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root on CI
		chromedp.WindowSize(1500, 1000),
		// No UserDataDir: chromedp makes a temporary profile and removes it
		// with retries once the browser exits, as its helpers (the crash
		// handler) may still write into it then; t.TempDir's one RemoveAll
		// would fail the test with "directory not empty".
	)
	// A hang guard, not a timing assertion.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(bcancel)
	return &browser{t: t, ctx: bctx, dir: artifacts(t)}
}

// run runs actions, failing the test with what it was doing.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// shot saves a full-page screenshot named after the step.
func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.n++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
	}
}

// waitText waits until the element's text contains want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`(document.querySelector(%q)?.textContent ?? "").includes(%q)`, sel, want),
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Minute))
}

// text reads the text content of the element sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// eval runs a script for its effect.
func eval(js string) chromedp.Action[chromedp.Void] { return chromedp.Evaluate[chromedp.Void](js) }

// runQuery puts q in the editor, runs it and waits for its answer.
func (b *browser) runQuery(q string) string {
	b.t.Helper()
	b.run("run "+q,
		eval(fmt.Sprintf(`document.getElementById("result-meta").textContent = ""; window.dsgenConsole.setQuery(%q)`, q)),
		chromedp.Click(chromedp.CSS("#run")),
		waitText("#result-meta", "HTTP "))
	return b.text("#result")
}

// signIn takes a dev identity through the page's form.
func (b *browser) signIn(user, groups string) {
	b.t.Helper()
	b.run("sign in as "+user,
		eval(`document.getElementById("dev-user").value = ""; document.getElementById("dev-groups").value = ""`),
		chromedp.SendKeys(chromedp.CSS("#dev-user"), user),
		chromedp.SendKeys(chromedp.CSS("#dev-groups"), groups),
		chromedp.Click(chromedp.CSS("#dev-signin")),
		waitText("#whoami", "JWT "+user),
		waitText("#status", "API loaded"))
}

// TestConsoleInBrowser drives the console in headless chromium: load the
// page with an API key, complete and run a query, see a Go client's
// mutation arrive live, switch dev identities and see owner filtering, and
// read a record's history as an admin. Screenshots of each step are kept
// (see artifacts).
func TestConsoleInBrowser(t *testing.T) {
	b := newBrowser(t)
	ts := startServer(t, true, nil)
	keyed := goClient(t, ts, client.APIKey(apiKey))
	mutate(t, keyed, "createPost", createPost, map[string]any{"in": map[string]any{"id": "p-seed", "title": "seeded title"}})
	mutate(t, goClient(t, ts, tokenAuth(devToken(t, "alice"))), "createNote", createNote, map[string]any{"in": map[string]any{"id": "n-alice", "title": "alice note"}})
	mutate(t, goClient(t, ts, tokenAuth(devToken(t, "bob"))), "createNote", createNote, map[string]any{"in": map[string]any{"id": "n-bob", "title": "bob note"}})

	// Load the page and give it the API key, as a user would.
	b.run("load the page",
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#api-key")),
		chromedp.Poll[chromedp.Void](`document.body.dataset.ready === "true"`, chromedp.WithPollingTimeout(time.Minute)),
		chromedp.SendKeys(chromedp.CSS("#api-key"), apiKey),
		chromedp.Click(chromedp.CSS("#auth-apply")),
		waitText("#status", "API loaded"),
		waitText("#docs", "listPosts"))
	b.shot("loaded")
	// Everything the page loaded came from the server itself (it must work
	// offline).
	foreign, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
		`performance.getEntriesByType("resource").map(e => e.name).filter(n => !n.startsWith(location.origin))`))
	if err != nil || len(foreign) != 0 {
		t.Errorf("the page loaded from elsewhere: %v (%v)", foreign, err)
	}

	// Completion from the served schema while typing in the editor.
	b.run("complete a field",
		eval(`window.dsgenConsole.setQuery("")`),
		chromedp.Click(chromedp.CSS("#query-editor .cm-content")),
		chromedp.SendKeys(chromedp.CSS("#query-editor .cm-content"), "{ listP"),
		chromedp.WaitVisible(chromedp.CSS(".cm-tooltip-autocomplete")),
		waitText(".cm-tooltip-autocomplete", "listPosts"))
	// The keys arrive one by one, so the list may first be the one for
	// "{ list"; it must settle on listPosts without listNotes.
	settled := chromedp.Poll[chromedp.Void](`(() => { const t = document.querySelector(".cm-tooltip-autocomplete")?.textContent ?? "";
		return t.includes("listPosts") && !t.includes("listNotes"); })()`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Minute))
	if _, err := chromedp.Run(b.ctx, settled); err != nil {
		t.Errorf("completion after listP offers %q (%v)", b.text(".cm-tooltip-autocomplete"), err)
	}
	b.shot("completion")

	if res := b.runQuery(`query { listPosts { items { id title _version } } }`); !strings.Contains(res, "seeded title") {
		t.Fatalf("listPosts in the explorer: %s", res)
	}
	b.shot("query")

	// Live: the page subscribes over the real-time protocol; a Go client's
	// mutation appears as it commits.
	b.run("open live", chromedp.Click(chromedp.CSS("#tab-live")), waitText("#live-status", "listening"))
	waitSubscribed(t, ts, "onCreatePost")
	mutate(t, keyed, "createPost", createPost, map[string]any{"in": map[string]any{"id": "p-live", "title": "live from go"}})
	b.run("see the mutation live", waitText("#events", "live from go"), waitText("#clients", "onCreatePost"))
	b.shot("live")

	// A subscription run from the explorer streams its events.
	b.run("subscribe in the explorer",
		chromedp.Click(chromedp.CSS("#tab-explorer")),
		eval(`window.dsgenConsole.setQuery("subscription { onUpdatePost { id title _version } }")`),
		chromedp.Click(chromedp.CSS("#run")),
		waitText("#result-meta", "listening"))
	waitSubscribed(t, ts, "onUpdatePost")
	mutate(t, keyed, "updatePost", updatePost, map[string]any{"in": map[string]any{"id": "p-live", "title": "updated from go", "_version": 1}})
	b.run("see the event in the result", waitText("#result", "updated from go"), waitText("#result-meta", "subscription: 1 event"))
	b.shot("explorer-subscription")
	b.run("stop the subscription", chromedp.Click(chromedp.CSS("#stop")))

	// Owner filtering: each dev identity sees only its notes.
	b.signIn("alice", "")
	res := b.runQuery(`query { listNotes { items { id title owner } } }`)
	if !strings.Contains(res, "alice note") || strings.Contains(res, "bob note") {
		t.Errorf("alice's listNotes: %s", res)
	}
	b.shot("as-alice")
	b.signIn("bob", "")
	res = b.runQuery(`query { listNotes { items { id title owner } } }`)
	if !strings.Contains(res, "bob note") || strings.Contains(res, "alice note") {
		t.Errorf("bob's listNotes: %s", res)
	}
	b.shot("as-bob")

	// Data: an admin sees every owner's records and a record's history.
	b.signIn("root", "dsgen-admin")
	mutate(t, goClient(t, ts, tokenAuth(devToken(t, "alice"))), "updateNote",
		`mutation { updateNote(input: {id: "n-alice", title: "alice edited", _version: 1}) { id } }`, nil)
	b.run("open data",
		chromedp.Click(chromedp.CSS("#tab-data")),
		waitText("#model", "Note"),
		eval(`document.getElementById("model").value = "Note"`),
		chromedp.Click(chromedp.CSS("#data-load")),
		waitText("#records", "bob note"))
	rows := b.text("#records")
	if !strings.Contains(rows, "alice edited") || !strings.Contains(rows, "::alice") || !strings.Contains(rows, "::bob") {
		t.Errorf("admin's Note records: %s", rows)
	}
	b.run("open a history",
		chromedp.Click(chromedp.Search(`//td[contains(., "n-alice")]/a`)),
		waitText("#history", "alice edited"),
		waitText("#history", "v2"))
	b.shot("data-history")
}

// waitSubscribed waits until some real-time client of ts holds a
// subscription to field, as the console's clients API reports it.
func waitSubscribed(t *testing.T, ts *httptest.Server, field string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // hang guard
	for {
		_, body := call(t, "GET", ts.URL+"/console/api/clients", keyHeader, nil)
		for _, c := range body["clients"].([]any) {
			for _, s := range c.(map[string]any)["subscriptions"].([]any) {
				if s.(map[string]any)["field"] == field {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no client subscribed to %s: %v", field, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
