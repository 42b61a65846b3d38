package dynamo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// hangGuard bounds waits for something that must happen; minutes, so it
// is no timing assertion.
const hangGuard = 5 * time.Minute

const apiKey = "da2-import-test"

// serveStore runs dsgen serve in-process over st and returns its GraphQL
// URL.
func serveStore(t *testing.T, s *meta.Schema, st store.Store, cfg serve.Config) string {
	t.Helper()
	cfg.Schema, cfg.Store = s, st
	cfg.Auth.APIKeys = []auth.APIKey{{Key: apiKey}}
	_, ts := testenv.Serve(t, cfg, false)
	return ts.URL + "/graphql"
}

// goClient is a generated blog app's store; its sync engine is started
// against one backend at a time.
type goClient struct {
	ds  *blogm.DataStore
	eng *syncengine.Engine
}

func openClient(t *testing.T) *goClient {
	t.Helper()
	ctx := context.Background()
	ds, err := blogm.Open(ctx, t.TempDir(), datastore.Outbox())
	if err != nil {
		t.Fatal(err)
	}
	c := &goClient{ds: ds}
	t.Cleanup(func() {
		c.stop(t)
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if err := ds.Close(ctx); err != nil {
			t.Errorf("client store close: %v", err)
		}
	})
	return c
}

// connect starts a sync engine against url and waits until it is ready
// (synced, outbox drained once).
func (c *goClient) connect(t *testing.T, url string) {
	t.Helper()
	eng, err := syncengine.New(c.ds.Store(), syncengine.Config{Endpoint: url, Auth: client.APIKey(apiKey), MaxBackoff: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c.eng = eng
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-eng.Ready():
	case <-time.After(hangGuard):
		t.Fatal("engine not ready before the hang guard")
	}
}

// stop closes the engine: the client is offline.
func (c *goClient) stop(t *testing.T) {
	t.Helper()
	if c.eng == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := c.eng.Close(ctx); err != nil {
		t.Errorf("engine close: %v", err)
	}
	c.eng = nil
}

func (c *goClient) post(id string) *blogm.Post {
	p, err := c.ds.Post.Get(context.Background(), id)
	if err != nil {
		return nil
	}
	return p
}

func (c *goClient) version(t *testing.T, model, id string) int64 {
	t.Helper()
	m, ok, err := c.ds.Store().RecordSyncMeta(context.Background(), model, id)
	if err != nil || !ok {
		return 0
	}
	return m.Version
}

func (c *goClient) outboxEmpty() bool {
	box, err := c.ds.Store().Outbox(context.Background())
	return err == nil && len(box) == 0
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A fresh app syncs the imported tables: live records with their
// versions, no tombstoned ones.
func TestFreshGoClientSyncsImport(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		s := blogSchema(t)
		st := e.open(t)
		importFiles(t, s, st, blogInputs, ImportOptions{})
		c := openClient(t)
		c.connect(t, serveStore(t, s, st, serve.Config{}))
		want := rawItems(t, blogInputs)
		for model, items := range want {
			for id, raw := range items {
				v := c.version(t, model, id)
				if raw[attrDeleted] == true {
					if got, ok, err := c.ds.Store().RecordSyncMeta(context.Background(), model, id); err == nil && ok && !got.Deleted {
						t.Errorf("%s %s: tombstoned in the import, live on the client", model, id)
					}
					continue
				}
				if float64(v) != raw[attrVersion] {
					t.Errorf("%s %s: client has version %d, the import %v", model, id, v, raw[attrVersion])
				}
			}
		}
		if p := c.post("p1"); p == nil || p.Title != "Hello" || p.Rating == nil || *p.Rating != 4 || p.BlogPostsID == nil || *p.BlogPostsID != "b1" {
			t.Errorf("p1 on the client: %+v", p)
		}
		if c.post("p3") != nil {
			t.Error("p3 is a tombstone in the import, the client has it")
		}
		if b, err := c.ds.Blog.Get(context.Background(), "b1"); err != nil || b.Name != "Offline first" {
			t.Errorf("b1 on the client: %+v, %v", b, err)
		}
	})
}

// A client that last synced against the old backend, with edits made
// offline, meets the imported copy: it gets a base sync (so it sees what
// changed on the old backend while it was away, which the new change log
// does not hold), its edit of an unchanged record lands, and its edit of
// a record changed meanwhile is a version conflict that automerge
// resolves.
func TestPendingOfflineEditSurvivesImport(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := blogSchema(t)
		// The old backend stands in for AppSync: dsgen serve keeps the
		// same versions and tombstones AppSync does.
		old, err := store.Open(ctx, store.Options{Dir: t.TempDir()})
		must(t, err)
		t.Cleanup(func() { closeStore(t, old) })
		oldURL := serveStore(t, s, old, serve.Config{DefaultConflict: serve.Automerge})

		d := openClient(t) // another device, still on the old backend
		d.connect(t, oldURL)
		must(t, d.ds.Blog.Save(ctx, &blogm.Blog{ID: "b1", Name: "Blog"}))
		for _, id := range []string{"p1", "p2", "p4"} {
			must(t, d.ds.Post.Save(ctx, &blogm.Post{ID: id, Title: "old " + id, BlogPostsID: ptr("b1")}))
		}
		poll.Until(t, "d's writes acknowledged", d.outboxEmpty)

		c := openClient(t)
		c.connect(t, oldURL)
		poll.Until(t, "c has synced the old backend", func() bool { return c.post("p4") != nil })
		c.stop(t)

		// Offline on c: p1 is unchanged on the server, p2 is not.
		p1 := c.post("p1")
		p1.Title = "c's offline title"
		must(t, c.ds.Post.Save(ctx, p1))
		p2 := c.post("p2")
		p2.Rating = ptr(5)
		must(t, c.ds.Post.Save(ctx, p2))

		// Meanwhile on the old backend.
		q2 := d.post("p2")
		q2.Title = "d's title"
		must(t, d.ds.Post.Save(ctx, q2))
		must(t, d.ds.Post.Save(ctx, &blogm.Post{ID: "p3", Title: "new while c was away", BlogPostsID: ptr("b1")}))
		must(t, d.ds.Post.Delete(ctx, d.post("p4")))
		poll.Until(t, "d's later writes acknowledged", d.outboxEmpty)
		d.stop(t)

		// Move: export the old backend, import into the new one.
		dir := t.TempDir()
		_, err = Export(ctx, s, old, dir, ExportOptions{Suffix: "-api-prod"})
		must(t, err)
		st := e.open(t)
		importFiles(t, s, st, []string{dir}, ImportOptions{})
		newURL := serveStore(t, s, st, serve.Config{DefaultConflict: serve.Automerge})

		c.connect(t, newURL)
		poll.Until(t, "c's outbox drained against the new backend", c.outboxEmpty)
		poll.Until(t, "c converged", func() bool {
			p2 := c.post("p2")
			p3 := c.post("p3")
			return c.post("p4") == nil && p3 != nil && p3.Title == "new while c was away" &&
				p2 != nil && p2.Title == "d's title" && p2.Rating != nil && *p2.Rating == 5
		})
		r1, err := st.Get(ctx, "Post", []any{"p1"})
		must(t, err)
		if r1.Item["title"] != "c's offline title" || r1.Version != 2 {
			t.Errorf("p1 on the new backend: %v v%d, want c's offline edit at version 2", r1.Item["title"], r1.Version)
		}
		r2, err := st.Get(ctx, "Post", []any{"p2"})
		must(t, err)
		if r2.Item["title"] != "d's title" || r2.Item["rating"] != float64(5) || r2.Version != 3 {
			t.Errorf("p2 on the new backend: %v, v%d; want d's title with c's rating (automerge) at version 3", r2.Item, r2.Version)
		}
		if v := c.version(t, "Post", "p2"); v != 3 {
			t.Errorf("c has p2 at version %d, the server 3", v)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// The server's answer to a sync tells clients of the old backend to start
// over: a lastSync before the import epoch (though within the delta TTL)
// gets the base table, one after it the change log. Owner auth holds on
// the imported owner fields in each stored form.
func TestSyncAcrossImportEpoch(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := notesSchema(t)
		st := e.open(t)
		rep := importFiles(t, s, st, notesInputs, ImportOptions{})
		secret := []byte("import-test-hs256-secret-0123456")
		url := serveStore(t, s, st, serve.Config{Auth: auth.Config{JWT: &auth.JWTConfig{HS256Secret: secret}}})
		const doc = `query operation($lastSync: AWSTimestamp) { syncNotes(lastSync: $lastSync) { items { id owner _version _deleted } startedAt } }`
		syncAs := func(user string, lastSync int64) (ids []string, startedAt int64) {
			t.Helper()
			tok, err := auth.SignHS256(secret, map[string]any{"sub": user + "-sub", "username": user,
				"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
			must(t, err)
			out, err := postAs(ctx, url, tok, doc, map[string]any{"lastSync": lastSync})
			must(t, err)
			conn, _ := out["data"].(map[string]any)["syncNotes"].(map[string]any)
			if conn == nil {
				t.Fatalf("sync as %s: %v", user, out)
			}
			for _, it := range conn["items"].([]any) {
				ids = append(ids, it.(map[string]any)["id"].(string))
			}
			n, _ := conn["startedAt"].(float64)
			return ids, int64(n)
		}
		alice, started := syncAs("alice", rep.Epoch-1)
		if strings.Join(alice, ",") != "n1,n2" {
			t.Errorf("alice's sync from before the import: %v, want the base table's n1, n2 (tombstone)", alice)
		}
		if bob, _ := syncAs("bob", rep.Epoch-1); strings.Join(bob, ",") != "n3,n4" {
			t.Errorf("bob's sync from before the import: %v, want n3, n4 (both owner forms)", bob)
		}
		if delta, _ := syncAs("alice", started); len(delta) != 0 {
			t.Errorf("alice's delta from her post-import startedAt: %v, want nothing", delta)
		}
	})
}

// postAs posts a GraphQL request with a bearer token.
func postAs(ctx context.Context, url, token, query string, vars map[string]any) (map[string]any, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: %w", resp.Status, err)
	}
	return out, nil
}

// With a cutover time still to come, every lastSync before it gets the
// base table, also one dsgen serve handed out after the import; without
// one, that lastSync gets a delta.
func TestCutoverEpoch(t *testing.T) {
	ctx := context.Background()
	s := blogSchema(t)
	const doc = `query operation($lastSync: AWSTimestamp) { syncPosts(lastSync: $lastSync) { items { id } startedAt } }`
	syncPosts := func(url string, lastSync any) (n int, startedAt int64) {
		t.Helper()
		out, err := testenv.PostGraphQL(ctx, nil, url, apiKey, doc, map[string]any{"lastSync": lastSync})
		must(t, err)
		conn, _ := out["data"].(map[string]any)["syncPosts"].(map[string]any)
		if conn == nil {
			t.Fatalf("syncPosts: %v", out)
		}
		f, _ := conn["startedAt"].(float64)
		return len(conn["items"].([]any)), int64(f)
	}
	for _, cutover := range []bool{false, true} {
		st := engines[0].open(t)
		opts := ImportOptions{}
		if cutover {
			opts.Cutover = time.Now().Add(time.Hour)
		}
		tables, err := Resolve(blogInputs)
		must(t, err)
		rep, err := Import(ctx, s, st, tables, opts)
		must(t, err)
		if cutover && rep.Epoch != opts.Cutover.UnixMilli() {
			t.Errorf("epoch %d, want the cutover %d", rep.Epoch, opts.Cutover.UnixMilli())
		}
		url := serveStore(t, s, st, serve.Config{})
		all, started := syncPosts(url, nil)
		again, _ := syncPosts(url, started)
		switch {
		case all != 4:
			t.Errorf("base sync: %d posts, want the 4 imported (tombstone included)", all)
		case cutover && again != 4:
			t.Errorf("with a cutover to come, a lastSync from after the import got %d posts, want the base table's 4", again)
		case !cutover && again != 0:
			t.Errorf("without a cutover, a lastSync from after the import got %d posts, want an empty delta", again)
		}
	}
}
