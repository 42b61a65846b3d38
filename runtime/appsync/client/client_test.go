package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/meta"
)

// valueFor returns a valid value for a stored field, for create inputs.
func valueFor(s *meta.Schema, f *meta.Field, i int) any {
	var v any
	switch f.Kind {
	case meta.KindEnum:
		v = s.Enum(f.Type).Values[0]
	default:
		switch f.Type {
		case meta.Int, meta.AWSTimestamp:
			v = i
		case meta.Float:
			v = 1.5
		case meta.Boolean:
			v = true
		case meta.AWSDateTime:
			v = "2026-03-01T12:00:00.000Z"
		default:
			v = fmt.Sprintf("%s-%d", f.Name, i)
		}
	}
	if f.IsList {
		return []any{v}
	}
	return v
}

// createInput fills every required, writable field of m.
func createInput(s *meta.Schema, m *meta.Model, i int) map[string]any {
	in := map[string]any{}
	for _, f := range m.Fields {
		if f.Stored() && !f.ReadOnly && (f.Required || f.Name == m.PrimaryKey.Field) {
			in[f.Name] = valueFor(s, f, i)
		}
	}
	return in
}

func version(t testing.TB, item map[string]any) int64 {
	t.Helper()
	n, ok := item["_version"].(json.Number)
	if !ok {
		t.Fatalf("_version is %T %v, want a json.Number", item["_version"], item["_version"])
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every document of the blog schema executes against dsgen serve: sync,
// get, create, update, delete, and the three subscriptions are acknowledged.
func TestDocumentsExecuteBlog(t *testing.T) {
	s := testenv.BlogSchema(t)
	ts := startServer(t, s, nil)
	c := newClient(t, ts, client.APIKey(testKey))
	ctx := ctxT(t)
	for _, m := range s.Models {
		t.Run(m.Name, func(t *testing.T) {
			d := docsFor(t, s, m.Name)
			for _, doc := range []string{d.OnCreate, d.OnUpdate, d.OnDelete} {
				if typ, payload := subscribe(t, c, doc, map[string]any{}); typ != appsync.MsgStartAck {
					t.Errorf("start %s: %s %s", collapse(doc), typ, payload)
				}
			}
			in := createInput(s, m, 1)
			if m.Name == "PostTags" {
				// The join record's non-null post and tag must resolve.
				for _, parent := range []string{"Post", "Tag"} {
					pin := createInput(s, s.Model(parent), 1)
					pin["id"] = "join-" + parent
					in[strings.ToLower(parent)+"Id"] = pin["id"]
					if _, err := c.Mutate(ctx, docsFor(t, s, parent), client.OpCreate, pin, nil); err != nil {
						t.Fatalf("create %s: %v", parent, err)
					}
				}
			}
			created, err := c.Mutate(ctx, d, client.OpCreate, in, nil)
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if version(t, created) != 1 || created["id"] != in["id"] {
				t.Errorf("create returned %v", created)
			}
			got, err := c.Get(ctx, d, map[string]any{"id": in["id"]})
			if err != nil || got["id"] != in["id"] {
				t.Errorf("get: %v, %v", got, err)
			}
			upd := map[string]any{"id": in["id"], "_version": 1}
			updated, err := c.Mutate(ctx, d, client.OpUpdate, upd, nil)
			if err != nil || version(t, updated) != 2 {
				t.Fatalf("update: %v, %v", updated, err)
			}
			deleted, err := c.Mutate(ctx, d, client.OpDelete, map[string]any{"id": in["id"], "_version": 2}, nil)
			if err != nil || deleted["_deleted"] != true || version(t, deleted) != 3 {
				t.Fatalf("delete: %v, %v", deleted, err)
			}
			page, err := c.Sync(ctx, d, client.SyncArgs{Limit: 10})
			if err != nil {
				t.Fatalf("sync: %v", err)
			}
			if len(page.Items) != 1 || page.Items[0]["_deleted"] != true || page.NextToken != "" || page.StartedAt == 0 {
				t.Errorf("sync after delete: %+v, want the one tombstone", page)
			}
			if missing, err := c.Get(ctx, d, map[string]any{"id": "no-such-id"}); err != nil || missing != nil {
				t.Errorf("get of a missing id: %v, %v; want nil, nil", missing, err)
			}
		})
	}
}

// A base sync of 2,500 records in pages of 1,000 returns each record once,
// with one startedAt, and a delta sync from it returns just what changed.
func TestSyncPaging(t *testing.T) {
	s := testenv.BlogSchema(t)
	ts := startServer(t, s, nil)
	c := newClient(t, ts, client.APIKey(testKey))
	d := docsFor(t, s, "Post")
	ctx := ctxT(t)
	const n = 2500
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				in := map[string]any{"id": fmt.Sprintf("p%04d", i), "title": "t", "rating": i}
				if _, err := c.Mutate(ctx, d, client.OpCreate, in, nil); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		t.Fatalf("create: %v", err)
	}

	seen := map[any]bool{}
	var startedAt int64
	pages := 0
	args := client.SyncArgs{Limit: 1000}
	for {
		page, err := c.Sync(ctx, d, args)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		if len(page.Items) > 1000 {
			t.Errorf("page %d has %d items, limit 1000", pages, len(page.Items))
		}
		if startedAt == 0 {
			startedAt = page.StartedAt
		} else if page.StartedAt != startedAt {
			t.Errorf("page %d startedAt %d, first page %d", pages, page.StartedAt, startedAt)
		}
		for _, it := range page.Items {
			if seen[it["id"]] {
				t.Errorf("%v returned twice", it["id"])
			}
			seen[it["id"]] = true
			if _, ok := it["rating"].(json.Number); !ok {
				t.Fatalf("rating decoded as %T, want json.Number", it["rating"])
			}
		}
		if page.NextToken == "" {
			break
		}
		args.NextToken = page.NextToken
		if pages > 10 {
			t.Fatal("sync does not end")
		}
	}
	if len(seen) != n || pages < 3 {
		t.Fatalf("base sync: %d records in %d pages, want %d in at least 3", len(seen), pages, n)
	}

	if _, err := c.Mutate(ctx, d, client.OpUpdate, map[string]any{"id": "p0042", "title": "changed", "_version": 1}, nil); err != nil {
		t.Fatal(err)
	}
	page, err := c.Sync(ctx, d, client.SyncArgs{Limit: 1000, LastSync: startedAt})
	if err != nil {
		t.Fatal(err)
	}
	// The server's boundary is inclusive (a write in the same millisecond
	// as startedAt comes again), so the delta holds the change and at most
	// a few records written right before the base sync began.
	var changed bool
	for _, it := range page.Items {
		lc, _ := it["_lastChangedAt"].(json.Number).Int64()
		if lc < startedAt {
			t.Errorf("delta sync returned %v, changed at %d before lastSync %d", it["id"], lc, startedAt)
		}
		changed = changed || it["id"] == "p0042" && it["title"] == "changed"
	}
	if !changed || len(page.Items) >= 100 {
		t.Errorf("delta sync: %d items, want the update of p0042 and not a base scan", len(page.Items))
	}
	filtered, err := c.Sync(ctx, d, client.SyncArgs{Limit: 1000, Filter: map[string]any{"rating": map[string]any{"lt": 5}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(filtered.Items) != 5 {
		t.Errorf("filtered sync returned %d items, want 5 (rating < 5)", len(filtered.Items))
	}
}

// Under optimistic concurrency a stale update is a conflict carrying the
// server's item; a false condition and a duplicate create fail their
// conditions.
func TestMutateConflictAndCondition(t *testing.T) {
	s := testenv.BlogSchema(t)
	ts := startServer(t, s, func(c *serve.Config) { c.Conflict = map[string]serve.Strategy{"Post": serve.Optimistic} })
	c := newClient(t, ts, client.APIKey(testKey))
	d := docsFor(t, s, "Post")
	ctx := ctxT(t)

	created, err := c.Mutate(ctx, d, client.OpCreate, map[string]any{"id": "p1", "title": "first", "rating": 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	updated, err := c.Mutate(ctx, d, client.OpUpdate, map[string]any{"id": "p1", "title": "second", "_version": version(t, created)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if version(t, updated) != 2 || updated["title"] != "second" {
		t.Fatalf("update returned %v", updated)
	}

	_, err = c.Mutate(ctx, d, client.OpUpdate, map[string]any{"id": "p1", "title": "stale", "_version": 1}, nil)
	ce, ok := client.IsConflict(err)
	if !ok {
		t.Fatalf("stale update: %v, want ConflictUnhandled", err)
	}
	server, _ := ce.Data.(map[string]any)
	if server["title"] != "second" || version(t, server) != 2 {
		t.Errorf("conflict data %v, want the server's item at version 2", ce.Data)
	}
	if _, ok := client.IsConditionFailed(err); ok {
		t.Error("a conflict also reads as a failed condition")
	}

	_, err = c.Mutate(ctx, d, client.OpUpdate, map[string]any{"id": "p1", "title": "x", "_version": 2},
		map[string]any{"title": map[string]any{"eq": "not the title"}})
	if _, ok := client.IsConditionFailed(err); !ok {
		t.Errorf("false condition: %v, want ConditionalCheckFailed", err)
	}
	_, err = c.Mutate(ctx, d, client.OpCreate, map[string]any{"id": "p1", "title": "again"}, nil)
	if _, ok := client.IsConditionFailed(err); !ok {
		t.Errorf("create of an existing id: %v, want ConditionalCheckFailed", err)
	}
	var g *client.GraphQLError
	if !errors.As(err, &g) || g.StatusCode != 200 {
		t.Errorf("condition failure is %T, want *GraphQLError from HTTP 200", err)
	}
	if _, ok := client.IsRetryable(err); ok {
		t.Error("a failed condition reads as retryable")
	}

	if _, err := c.Mutate(ctx, d, "upsert", map[string]any{"id": "p1"}, nil); err == nil || !strings.Contains(err.Error(), `"upsert"`) {
		t.Errorf("unknown op: %v", err)
	}
	if _, err := c.Mutate(ctx, d, client.OpCreate, map[string]any{"id": "p9"}, map[string]any{}); err == nil {
		t.Error("create with a condition accepted")
	}
	// A document the server rejects is a GraphQL error (HTTP 200 with data
	// null, as AppSync answers validation errors), not retryable.
	_, err = c.Do(ctx, appsync.Request{Query: "query { syncPosts { items { nope } } }"}, "syncPosts")
	if !errors.As(err, &g) || g.StatusCode != 200 || g.Errors[0].ErrorType != appsync.ValidationError || g.Data != nil {
		t.Errorf("invalid document: %v", err)
	}
	if _, ok := client.IsRetryable(err); ok {
		t.Error("an invalid document reads as retryable")
	}
	// So is a document that does not parse (HTTP 400).
	_, err = c.Do(ctx, appsync.Request{Query: "query { syncPosts { items { id "}, "syncPosts")
	if !errors.As(err, &g) || g.StatusCode != 400 || g.Errors[0].ErrorType != appsync.ValidationError {
		t.Errorf("unparseable document: %v", err)
	}
	if _, ok := client.IsRetryable(err); ok {
		t.Error("an unparseable document reads as retryable")
	}
}

const ownerSchema = `type Note @model @auth(rules: [{allow: owner}]) {
  id: ID!
  text: String!
}
`

func TestOwnerAuth(t *testing.T) {
	s := testenv.LoadSchema(t, ownerSchema)
	ts := startServer(t, s, nil)
	d := docsFor(t, s, "Note")
	ctx := ctxT(t)
	alice := newClient(t, ts, client.Token(func(context.Context) (string, error) { return jwt(t, "alice", time.Now().Add(time.Hour)), nil }))

	created, err := alice.Mutate(ctx, d, client.OpCreate, map[string]any{"id": "n1", "text": "hi"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if created["owner"] != "alice-sub::alice" {
		t.Errorf("owner %v: the selection set must carry the implicit owner field", created["owner"])
	}
	page, err := alice.Sync(ctx, d, client.SyncArgs{Limit: 100})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("owner's sync: %+v, %v", page, err)
	}
	for _, doc := range []string{d.OnCreateOwner, d.OnUpdateOwner, d.OnDeleteOwner} {
		if typ, payload := subscribe(t, alice, doc, map[string]any{"owner": "alice"}); typ != appsync.MsgStartAck {
			t.Errorf("own subscription %s: %s %s", collapse(doc), typ, payload)
		}
	}
	typ, payload := subscribe(t, alice, d.OnUpdateOwner, map[string]any{"owner": "bob"})
	if typ != appsync.MsgError || !strings.Contains(string(payload), appsync.Unauthorized) {
		t.Errorf("subscription to bob's notes: %s %s, want an Unauthorized error", typ, payload)
	}

	keyed := newClient(t, ts, client.APIKey(testKey))
	_, err = keyed.Sync(ctx, d, client.SyncArgs{})
	if _, ok := client.IsUnauthorized(err); !ok || errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("API key sync of an owner-only model: %v, want a GraphQL Unauthorized error (not refused credentials)", err)
	}
}

// An expired token is refused, fetched again once, and the request goes
// through; a token that stays bad ends in ErrUnauthorized after one
// refresh.
func TestTokenRefresh(t *testing.T) {
	s := testenv.LoadSchema(t, ownerSchema)
	ts := startServer(t, s, nil)
	d := docsFor(t, s, "Note")
	ctx := ctxT(t)

	var fetches atomic.Int32
	c := newClient(t, ts, client.Token(func(context.Context) (string, error) {
		if fetches.Add(1) == 1 {
			return jwt(t, "alice", time.Now().Add(-time.Hour)), nil
		}
		return jwt(t, "alice", time.Now().Add(time.Hour)), nil
	}))
	if _, err := c.Sync(ctx, d, client.SyncArgs{}); err != nil {
		t.Fatalf("sync with an expired first token: %v", err)
	}
	if _, err := c.Sync(ctx, d, client.SyncArgs{}); err != nil {
		t.Fatal(err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("token fetched %d times, want 2 (first, then once after the 401; cached after)", n)
	}
	h, err := c.RealtimeHeaders(ctx)
	if err != nil || h["Authorization"] == "" || h["host"] != strings.TrimPrefix(ts.URL, "http://") {
		t.Errorf("real-time headers %v, %v", h, err)
	}

	fetches.Store(0)
	bad := newClient(t, ts, client.Token(func(context.Context) (string, error) {
		fetches.Add(1)
		return jwt(t, "alice", time.Now().Add(-time.Hour)), nil
	}))
	_, err = bad.Sync(ctx, d, client.SyncArgs{})
	if !errors.Is(err, client.ErrUnauthorized) || !strings.Contains(err.Error(), "401") {
		t.Errorf("always-expired token: %v, want ErrUnauthorized (HTTP 401)", err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("token fetched %d times, want 2 (one refresh only)", n)
	}

	broken := newClient(t, ts, client.Token(func(context.Context) (string, error) { return "", errors.New("idp down") }))
	_, err = broken.Sync(ctx, d, client.SyncArgs{})
	if !errors.Is(err, client.ErrUnauthorized) || !strings.Contains(err.Error(), "idp down") {
		t.Errorf("failing token function: %v", err)
	}

	wrongKey := newClient(t, ts, client.APIKey("wrong"))
	if _, err := wrongKey.Sync(ctx, d, client.SyncArgs{}); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("wrong API key: %v, want ErrUnauthorized", err)
	}
}

func TestNewValidatesEndpoint(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"ftp://x/graphql", "scheme"},
		{"/graphql", "scheme"},
		{"https:///graphql", "no host"},
		{"https://u:p@x/graphql", "user info"},
		{"http://x/%zz", "invalid URL escape"},
	} {
		if _, err := client.New(tc.url, client.APIKey("k")); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q): %v, want an error about %s", tc.url, err, tc.want)
		}
	}
	if _, err := client.New("https://x/graphql", nil); err == nil {
		t.Error("nil auth accepted")
	}
	if _, err := client.New("https://x/graphql", client.APIKey("k"), client.WithMaxResponseBytes(-1)); err == nil {
		t.Error("negative response limit accepted")
	}
	if _, err := newClient(t, startServer(t, testenv.BlogSchema(t), nil), client.APIKey(testKey)).Sync(ctxT(t), nil, client.SyncArgs{}); err == nil || !strings.Contains(err.Error(), "Documents") {
		t.Errorf("Sync with nil docs: %v", err)
	}
	c, err := client.New("https://abcdefghijklmnopqrstuvwxyz.appsync-api.eu-west-1.amazonaws.com/graphql", client.APIKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RealtimeURL(); got != "wss://abcdefghijklmnopqrstuvwxyz.appsync-realtime-api.eu-west-1.amazonaws.com/graphql" {
		t.Errorf("RealtimeURL %s", got)
	}
	h, _ := c.RealtimeHeaders(context.Background())
	if h["host"] != "abcdefghijklmnopqrstuvwxyz.appsync-api.eu-west-1.amazonaws.com" || h["x-api-key"] != "k" {
		t.Errorf("API key real-time headers %v", h)
	}
}
