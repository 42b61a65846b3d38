package syncengine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// waitEvent reads events until one satisfies ok, failing at the hang
// guard; it returns that event and the ones before it.
func waitEvent(t *testing.T, events <-chan syncengine.Event, what string, ok func(syncengine.Event) bool) (syncengine.Event, []syncengine.Event) {
	t.Helper()
	var seen []syncengine.Event
	deadline := time.After(hangGuard)
	for {
		select {
		case ev, open := <-events:
			if !open {
				t.Fatalf("%s: events channel closed; seen %v", what, seen)
			}
			if ok(ev) {
				return ev, seen
			}
			seen = append(seen, ev)
		case <-deadline:
			t.Fatalf("%s: not before the hang guard; seen %#v", what, seen)
		}
	}
}

// TestStorageAndOutboxEvents: StorageSubscribed comes once per Start,
// before the subscriptions; each local save is reported as
// OutboxMutationEnqueued with its typed element, before the backend's
// answer; records arriving from another client are not.
func TestStorageAndOutboxEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := newBackend(t, serve.Automerge)
	other := newClient(t, b, syncengine.Config{})

	ds, err := blogm.Open(ctx, t.TempDir(), datastore.Outbox())
	must(t, err)
	defer ds.Close(context.Background())
	eng, err := syncengine.New(ds.Store(), syncengine.Config{Endpoint: b.url, Auth: client.APIKey(apiKey)})
	must(t, err)
	defer eng.Close(context.Background())
	events := eng.Events(ctx)
	must(t, eng.Start(ctx))
	_, before := waitEvent(t, events, "Ready", func(ev syncengine.Event) bool { _, ok := ev.(syncengine.Ready); return ok })
	if len(before) == 0 {
		t.Fatal("no events before Ready")
	}
	if _, ok := before[0].(syncengine.StorageSubscribed); !ok {
		t.Fatalf("first event %#v, want StorageSubscribed", before[0])
	}
	for _, ev := range before[1:] {
		if _, ok := ev.(syncengine.StorageSubscribed); ok {
			t.Fatalf("StorageSubscribed twice in one start: %#v", before)
		}
	}

	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "mine", Title: "local"}))
	ev, _ := waitEvent(t, events, "OutboxMutationEnqueued", func(ev syncengine.Event) bool {
		_, ok := ev.(syncengine.OutboxMutationEnqueued)
		_, processed := ev.(syncengine.OutboxMutationProcessed)
		if processed {
			t.Fatal("OutboxMutationProcessed before OutboxMutationEnqueued")
		}
		return ok
	})
	enq := ev.(syncengine.OutboxMutationEnqueued)
	if p, ok := enq.Element.(*blogm.Post); !ok || enq.Model != "Post" || enq.Op != datastore.OpCreate || p.Title != "local" {
		t.Fatalf("enqueued = %#v, want the created *model.Post", enq)
	}
	waitEvent(t, events, "OutboxMutationProcessed", func(ev syncengine.Event) bool {
		p, ok := ev.(syncengine.OutboxMutationProcessed)
		return ok && p.Element["id"] == "mine"
	})

	// Another client's post arrives through the subscription: applied, and
	// not reported as ours.
	must(t, other.ds.Post.Save(ctx, &blogm.Post{ID: "theirs", Title: "remote"}))
	poll.Until(t, "the other client's post arrives", func() bool { return postOf(ds, "theirs") != nil })
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "mine2", Title: "second"}))
	ev, _ = waitEvent(t, events, "second OutboxMutationEnqueued", func(ev syncengine.Event) bool {
		_, ok := ev.(syncengine.OutboxMutationEnqueued)
		return ok
	})
	if p := ev.(syncengine.OutboxMutationEnqueued).Element.(*blogm.Post); p.ID != "mine2" {
		t.Fatalf("enqueued %q after a remote record arrived, want mine2 (remote records are not enqueued)", p.ID)
	}

	// A new start subscribes again.
	must(t, eng.Stop(ctx))
	must(t, eng.Start(ctx))
	waitEvent(t, events, "StorageSubscribed after restart", func(ev syncengine.Event) bool {
		_, ok := ev.(syncengine.StorageSubscribed)
		return ok
	})
}

func postOf(ds *blogm.DataStore, id string) *blogm.Post {
	p, err := ds.Post.Get(context.Background(), id)
	if err != nil {
		return nil
	}
	return p
}

// partialSchema has a required field only its owner may read: an API-key
// reader gets the record with that field null, which GraphQL turns into an
// error beside the data.
const partialSchema = `
type Doc @model @auth(rules: [{ allow: public, provider: apiKey }, { allow: owner }]) {
  id: ID!
  title: String!
  secret: String! @auth(rules: [{ allow: owner }])
}
`

// TestNonApplicableDataReceived: a sync page and a subscription event
// carrying GraphQL errors beside their data are reported with the model
// and the errors, and the records they concern are not applied.
func TestNonApplicableDataReceived(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	secret := []byte("non-applicable-test-secret")
	sch := testenv.LoadSchema(t, partialSchema)
	_, ts := testenv.Serve(t, serve.Config{Schema: sch, Store: testenv.OpenStore(t, store.Options{}),
		Auth: auth.Config{APIKeys: []auth.APIKey{{Key: apiKey}}, JWT: &auth.JWTConfig{HS256Secret: secret}}}, false)
	url := ts.URL + "/graphql"
	token := func(context.Context) (string, error) {
		return auth.SignHS256(secret, map[string]any{"sub": "alice-sub", "username": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	}
	// The owner writes over plain HTTP with a JWT.
	save := func(id string) {
		tok, err := token(ctx)
		must(t, err)
		body, _ := json.Marshal(map[string]any{
			"query":     `mutation($input: CreateDocInput!) { createDoc(input: $input) { id } }`,
			"variables": map[string]any{"input": map[string]any{"id": id, "title": "t " + id, "secret": "s " + id}},
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		must(t, err)
		req.Header.Set("Authorization", tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"errors"`)) {
			t.Fatalf("owner's createDoc: %d %s", resp.StatusCode, out)
		}
	}
	save("d1")

	reader, err := datastore.Open(ctx, sch, "", datastore.InMemory(), datastore.Outbox())
	must(t, err)
	defer reader.Close(context.Background())
	readerEng, err := syncengine.New(reader, syncengine.Config{Endpoint: url, Auth: client.APIKey(apiKey)})
	must(t, err)
	defer readerEng.Close(context.Background())
	events := readerEng.Events(ctx)
	must(t, readerEng.Start(ctx))
	ev, _ := waitEvent(t, events, "NonApplicableDataReceived from the sync query", func(ev syncengine.Event) bool {
		_, ok := ev.(syncengine.NonApplicableDataReceived)
		return ok
	})
	na := ev.(syncengine.NonApplicableDataReceived)
	if na.Model != "Doc" || len(na.Errors) == 0 {
		t.Fatalf("sync: %#v, want model Doc with errors", na)
	}
	t.Logf("sync errors: %v", na.Errors[0])
	waitEvent(t, events, "Ready", func(ev syncengine.Event) bool { _, ok := ev.(syncengine.Ready); return ok })

	save("d2")
	ev, _ = waitEvent(t, events, "NonApplicableDataReceived from the subscription", func(ev syncengine.Event) bool {
		_, ok := ev.(syncengine.NonApplicableDataReceived)
		return ok
	})
	na = ev.(syncengine.NonApplicableDataReceived)
	if na.Model != "Doc" || len(na.Errors) == 0 || !strings.Contains(fmt.Sprint(na.Errors[0]), "secret") {
		t.Fatalf("subscription: %#v, want model Doc with an error about secret", na)
	}
	for _, id := range []string{"d1", "d2"} {
		if _, ok, err := reader.RecordSyncMeta(ctx, "Doc", id); err != nil || ok {
			t.Errorf("partial record %s was applied", id)
		}
	}
}
