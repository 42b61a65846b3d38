package model

// Hand-written end-to-end test of transformer v1 owner auth (kept by go
// test ./golden -update): dsgen serve built from ../schema.graphql with
// HS256 user tokens, and generated Go clients of two users syncing through
// it. The v1 API requires `owner: String!` on Memo's subscriptions.

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

var secret = []byte("v1-owner-test-hs256-secret-0123456789")

// hangGuard only turns a hang into a failure: every wait here is for a
// condition.
const hangGuard = 5 * time.Minute

func startBackend(t *testing.T) string {
	t.Helper()
	sch, err := schema.LoadPath(filepath.Join("..", "schema.graphql"), schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !sch.TransformerV1 {
		t.Fatal("schema not read as transformer v1")
	}
	st, err := store.Open(context.Background(), store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serve.New(serve.Config{Schema: sch, Store: st, Auth: auth.Config{JWT: &auth.JWTConfig{HS256Secret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
		_ = st.Close()
	})
	return ts.URL + "/graphql"
}

// userClient opens a store synced as user, with owner set as Config.Owner.
func userClient(t *testing.T, url, user, owner string) (*DataStore, *syncengine.Engine) {
	t.Helper()
	ctx := context.Background()
	ds, err := Open(ctx, t.TempDir(), datastore.Outbox())
	if err != nil {
		t.Fatal(err)
	}
	token := client.Token(func(context.Context) (string, error) {
		return auth.SignHS256(secret, map[string]any{"sub": user + "-sub", "cognito:username": user,
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
	})
	eng, err := syncengine.New(ds.Store(), syncengine.Config{Endpoint: url, Auth: token, Owner: owner, MaxBackoff: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if err := eng.Close(ctx); err != nil {
			t.Errorf("engine close: %v", err)
		}
		if err := ds.Close(ctx); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return ds, eng
}

func waitReady(t *testing.T, eng *syncengine.Engine) {
	t.Helper()
	select {
	case <-eng.Ready():
	case <-time.After(hangGuard):
		t.Fatal("engine not ready before the hang guard")
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting (hang guard): %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestV1OwnerSubscriptions: with Config.Owner, a user's second device
// receives the first one's writes live (it synced before they existed, so
// only its subscription, with owner: "alice", can bring them), and not
// another user's. Without Owner the v1 API refuses the subscriptions (see
// internal/serve/sdl TestV1OwnerSubscriptions) and no engine gets ready.
func TestV1OwnerSubscriptions(t *testing.T) {
	ctx := context.Background()
	url := startBackend(t)
	phone, pe := userClient(t, url, "alice", "alice")
	laptop, le := userClient(t, url, "alice", "alice")
	bob, be := userClient(t, url, "bob", "bob")
	for _, e := range []*syncengine.Engine{pe, le, be} {
		waitReady(t, e)
	}

	if err := bob.Memo.Save(ctx, &Memo{ID: "m-bob", Text: "bob's"}); err != nil {
		t.Fatal(err)
	}
	if err := phone.Memo.Save(ctx, &Memo{ID: "m1", Text: "from the phone"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice's laptop receives the phone's memo", func() bool {
		m, err := laptop.Memo.Get(ctx, "m1")
		return err == nil && m.Text == "from the phone"
	})
	m, err := laptop.Memo.Get(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	m.Text = "edited on the laptop"
	if err := laptop.Memo.Save(ctx, m); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the phone receives the laptop's edit", func() bool {
		m, err := phone.Memo.Get(ctx, "m1")
		return err == nil && m.Text == "edited on the laptop"
	})
	if _, err := laptop.Memo.Get(ctx, "m-bob"); err == nil {
		t.Error("bob's memo reached alice's laptop")
	}
	if _, err := bob.Memo.Get(ctx, "m1"); err == nil {
		t.Error("alice's memo reached bob")
	}

}
