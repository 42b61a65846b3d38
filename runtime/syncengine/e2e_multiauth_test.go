package syncengine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/dsgentest"
	authm "github.com/dsgen/dsgen/golden/auth/model"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// multiClient is a generated store of the auth golden schema syncing
// with the given modes.
func multiClient(t *testing.T, url string, modes map[syncengine.AuthMode]client.Auth) (*authm.DataStore, *syncengine.Engine) {
	t.Helper()
	ctx := context.Background()
	ds, err := authm.Open(ctx, "", datastore.InMemory(), datastore.Outbox())
	must(t, err)
	eng, err := syncengine.New(ds.Store(), syncengine.Config{Endpoint: url, AuthModes: modes, MaxBackoff: 300 * time.Millisecond})
	must(t, err)
	t.Cleanup(func() {
		eng.Close(context.Background())
		ds.Close(context.Background())
	})
	must(t, eng.Start(ctx))
	select {
	case <-eng.Ready():
	case <-time.After(hangGuard):
		t.Fatal("engine not ready before the hang guard")
	}
	return ds, eng
}

func hasNote(ds *authm.DataStore, id string) bool {
	_, err := ds.Note.Get(context.Background(), id)
	return err == nil
}

func sent(t *testing.T, ds *authm.DataStore) func() bool {
	return func() bool {
		box, err := ds.Store().Outbox(context.Background())
		return err == nil && len(box) == 0
	}
}

// TestMultiAuthPerOperation runs the auth golden schema (Note: owner
// writes, Admins read and delete, public read with the API key; Ticket:
// no public rule) against dsgen serve accepting an API key and JWTs:
//   - a signed-in client with user pools and the API key writes its notes
//     as their owner (user pools: the only mode allowed to create) and
//     syncs with user pools first, so it sees only what its owner rules
//     give it, not every public note;
//   - a client with only the API key syncs every note through the public
//     rule, skips Ticket (no mode of its may read it) and still becomes
//     ready, and its own note, which no mode of its may create, becomes a
//     dead letter saying so.
func TestMultiAuthPerOperation(t *testing.T) {
	ctx := context.Background()
	srv := dsgentest.Serve(t, authm.Schema())
	alice, _ := multiClient(t, srv.URL, map[syncengine.AuthMode]client.Auth{
		syncengine.AuthUserPools: client.Token(srv.TokenFunc("alice")),
		syncengine.AuthAPIKey:    client.APIKey(srv.APIKey),
	})
	must(t, alice.Note.Save(ctx, &authm.Note{ID: "n1", Body: "alice's"}))
	poll.Until(t, "alice's note sent", sent(t, alice))
	if n, err := alice.Note.Get(ctx, "n1"); err != nil || n.Owner == nil || !strings.Contains(*n.Owner, "alice") {
		t.Fatalf("alice's note after the create = %+v, %v; want alice as owner (sent with user pools)", n, err)
	}
	if dl, err := alice.Store().DeadLetters(ctx); err != nil || len(dl) != 0 {
		t.Fatalf("alice's dead letters = %v, %v", dl, err)
	}

	carol, _ := multiClient(t, srv.URL, map[syncengine.AuthMode]client.Auth{
		syncengine.AuthUserPools: client.Token(srv.TokenFunc("carol")),
		syncengine.AuthAPIKey:    client.APIKey(srv.APIKey),
	})
	must(t, carol.Note.Save(ctx, &authm.Note{ID: "n2", Body: "carol's"}))
	poll.Until(t, "carol's note sent", sent(t, carol))

	anon, _ := multiClient(t, srv.URL, map[syncengine.AuthMode]client.Auth{
		syncengine.AuthAPIKey: client.APIKey(srv.APIKey),
	})
	if !hasNote(anon, "n1") || !hasNote(anon, "n2") {
		t.Fatal("the API-key client did not sync the public notes")
	}
	if hasNote(carol, "n1") || hasNote(alice, "n2") {
		t.Fatal("a signed-in client synced another owner's note: user pools was not tried before the API key")
	}
	must(t, anon.Note.Save(ctx, &authm.Note{ID: "n3", Body: "anonymous"}))
	poll.Until(t, "the anonymous create becomes a dead letter", func() bool {
		dl, err := anon.Store().DeadLetters(ctx)
		return err == nil && len(dl) == 1
	})
	dl, _ := anon.Store().DeadLetters(ctx)
	if !strings.Contains(dl[0].Reason, "no configured auth mode") {
		t.Fatalf("dead letter %+v, want the reason that no mode may create a Note", dl[0])
	}
	// Alice's later note reaches the API-key client through its
	// subscription, authorized with the API key.
	must(t, alice.Note.Save(ctx, &authm.Note{ID: "n4", Body: "live"}))
	poll.Until(t, "alice's live note reaches the API-key client", func() bool { return hasNote(anon, "n4") })
}

// TestMultiAuthFallback: a user pools token the backend refuses makes the
// engine fall back, per request and for the real-time connection, to the
// next mode the rules allow (the API key for reads).
func TestMultiAuthFallback(t *testing.T) {
	ctx := context.Background()
	srv := dsgentest.Serve(t, authm.Schema())
	alice, _ := multiClient(t, srv.URL, map[syncengine.AuthMode]client.Auth{
		syncengine.AuthUserPools: client.Token(srv.TokenFunc("alice")),
	})
	must(t, alice.Note.Save(ctx, &authm.Note{ID: "n1", Body: "alice's"}))
	poll.Until(t, "alice's note sent", sent(t, alice))

	bad := func(context.Context) (string, error) { return "not-a-jwt", nil }
	reader, _ := multiClient(t, srv.URL, map[syncengine.AuthMode]client.Auth{
		syncengine.AuthUserPools: client.Token(bad),
		syncengine.AuthAPIKey:    client.APIKey(srv.APIKey),
	})
	if !hasNote(reader, "n1") {
		t.Fatal("the sync did not fall back to the API key")
	}
	must(t, alice.Note.Save(ctx, &authm.Note{ID: "n2", Body: "live"}))
	poll.Until(t, "a live note arrives over a subscription that fell back to the API key", func() bool { return hasNote(reader, "n2") })
}
