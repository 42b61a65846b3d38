package dsgentest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/dsgentest"
	blogm "github.com/dsgen/dsgen/examples/blog/model"
	authm "github.com/dsgen/dsgen/golden/auth/model"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// hangGuard bounds waits for what must happen; no timing assertion.
const hangGuard = 5 * time.Minute

// syncing starts an engine for st against srv and waits until it is ready;
// both stop when the test ends.
func syncing(t *testing.T, st *datastore.Store, endpoint string, a client.Auth) {
	t.Helper()
	eng, err := syncengine.New(st, syncengine.Config{Endpoint: endpoint, Auth: a})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eng.Close(context.Background()); err != nil {
			t.Errorf("engine close: %v", err)
		}
	})
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-eng.Ready():
	case <-time.After(hangGuard):
		t.Fatal("engine not ready before the hang guard")
	}
}

func openStore[DS interface{ Close(context.Context) error }](t *testing.T, open func(context.Context, string, ...datastore.Option) (DS, error)) DS {
	t.Helper()
	ds, err := open(context.Background(), "", datastore.InMemory(), datastore.Outbox())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close(context.Background()) })
	return ds
}

// TestServeSyncsTwoStores is what an app's test looks like: one call
// starts the backend for the generated schema, two generated stores sync
// through it, and the second sees the first one's post arrive through
// its store-wide Observe, without polling.
func TestServeSyncsTwoStores(t *testing.T) {
	ctx := context.Background()
	srv := dsgentest.Serve(t, blogm.Schema())
	if srv.URL == "" || srv.RealtimeURL == "" || srv.APIKey == "" {
		t.Fatalf("server = %+v", srv)
	}
	a := openStore(t, blogm.Open)
	b := openStore(t, blogm.Open)
	syncing(t, a.Store(), srv.URL, client.APIKey(srv.APIKey))
	syncing(t, b.Store(), srv.URL, client.APIKey(srv.APIKey))

	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes := b.Observe(obsCtx)
	if err := a.Post.Save(ctx, &blogm.Post{ID: "p1", Title: "through dsgentest"}); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-changes:
		p, ok := c.Element.(*blogm.Post)
		if !ok || !c.FromSync || p.ID != "p1" || p.Title != "through dsgentest" {
			t.Fatalf("b observed %+v (%+v), want a's post from sync", c, c.Element)
		}
	case <-time.After(hangGuard):
		t.Fatal("b did not receive a's post before the hang guard")
	}
}

// TestServeTokens: the JWTs Token mints carry the user and groups that
// @auth owner and group rules match. Alice's note (owner rule) syncs to
// a member of Admins (a read rule for that group) and not to Bob.
func TestServeTokens(t *testing.T) {
	ctx := context.Background()
	srv := dsgentest.Serve(t, authm.Schema(), dsgentest.Conflict("optimistic"))
	alice := openStore(t, authm.Open)
	carol := openStore(t, authm.Open)
	bob := openStore(t, authm.Open)
	syncing(t, alice.Store(), srv.URL, client.Token(srv.TokenFunc("alice")))
	syncing(t, carol.Store(), srv.URL, client.Token(srv.TokenFunc("carol", "Admins")))
	syncing(t, bob.Store(), srv.URL, client.Token(srv.TokenFunc("bob")))

	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes := carol.Observe(obsCtx)
	if err := alice.Note.Save(ctx, &authm.Note{ID: "n1", Body: "alice's"}); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-changes:
		n, ok := c.Element.(*authm.Note)
		if !ok || n.ID != "n1" || n.Owner == nil || *n.Owner == "" {
			t.Fatalf("carol observed %+v, want alice's note with its owner", c.Element)
		}
	case <-time.After(hangGuard):
		t.Fatal("the Admins member did not receive alice's note before the hang guard")
	}
	// Bob restarts its sync (a full sync reads everything he may read):
	// the note is not among it.
	bob2 := openStore(t, authm.Open)
	syncing(t, bob2.Store(), srv.URL, client.Token(srv.TokenFunc("bob")))
	for _, st := range []*authm.DataStore{bob, bob2} {
		if _, err := st.Note.Get(ctx, "n1"); !errors.Is(err, datastore.ErrNotFound) {
			t.Fatalf("bob has alice's note: %v", err)
		}
	}
}

// fatalTB records the failure Serve reports instead of failing the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestServeOptionErrors: a conflict strategy Serve cannot run stops the
// test's set-up with the reason.
func TestServeOptionErrors(t *testing.T) {
	for _, c := range []struct {
		opt  dsgentest.Option
		want string
	}{
		{dsgentest.Conflict("eventual"), `unknown conflict strategy "eventual"`},
		{dsgentest.Conflict("custom", "Post"), "needs a webhook"},
	} {
		f := &fatalTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			dsgentest.Serve(f, blogm.Schema(), c.opt)
		}()
		<-done
		if !strings.Contains(f.msg, c.want) {
			t.Errorf("Serve failed with %q, want %q", f.msg, c.want)
		}
	}
}
