package syncengine_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/dsgen/dsgen/dsgentest"
	authm "github.com/dsgen/dsgen/golden/auth/model"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

func hasTicket(ds *authm.DataStore, id string) bool {
	_, err := ds.Ticket.Get(context.Background(), id)
	return err == nil
}

// TestLambdaAuthFunction runs the auth golden schema against dsgen serve
// with a Lambda authorizer webhook. Ticket allows custom (Lambda) callers
// beside its owner and dynamic group rules; Note has no custom rule. A
// client in the function mode alone syncs every ticket (allow: custom
// grants full access), writes tickets, receives others' tickets live over
// its subscriptions (the real-time connection authorized by the webhook),
// skips Note and still becomes ready, while a user pool owner sees only
// its own tickets. The webhook is asked once for the token (its answer is
// cached), whatever the number of requests.
func TestLambdaAuthFunction(t *testing.T) {
	ctx := context.Background()
	var calls, refused atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var ev struct {
			Token string `json:"authorizationToken"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		if ev.Token != "tenant-token" {
			refused.Add(1)
			io.WriteString(w, `{"isAuthorized": false}`)
			return
		}
		io.WriteString(w, `{"isAuthorized": true, "resolverContext": {"tenant": "a"}}`)
	}))
	t.Cleanup(hook.Close)
	srv := dsgentest.Serve(t, authm.Schema(), dsgentest.AuthWebhook(hook.URL))

	alice, _ := multiClient(t, srv.URL, map[syncengine.AuthMode]client.Auth{
		syncengine.AuthUserPools: client.Token(srv.TokenFunc("alice")),
	})
	must(t, alice.Ticket.Save(ctx, &authm.Ticket{ID: "t1", Subject: "alice's"}))
	poll.Until(t, "alice's ticket sent", sent(t, alice))

	fn, _ := multiClient(t, srv.URL, map[syncengine.AuthMode]client.Auth{
		syncengine.AuthFunction: client.Token(func(context.Context) (string, error) { return "tenant-token", nil }),
	})
	if !hasTicket(fn, "t1") {
		t.Fatal("the function-mode client did not sync alice's ticket (allow: custom)")
	}
	must(t, fn.Ticket.Save(ctx, &authm.Ticket{ID: "t2", Subject: "from the function client"}))
	poll.Until(t, "the function client's ticket sent", sent(t, fn))
	if dl, err := fn.Store().DeadLetters(ctx); err != nil || len(dl) != 0 {
		t.Fatalf("function client's dead letters = %v, %v", dl, err)
	}
	// Alice's next ticket reaches the function client live.
	must(t, alice.Ticket.Save(ctx, &authm.Ticket{ID: "t3", Subject: "live"}))
	poll.Until(t, "alice's live ticket reaches the function client", func() bool { return hasTicket(fn, "t3") })
	if hasTicket(alice, "t2") {
		t.Error("alice (owner rules) synced the function client's ticket, which she does not own")
	}
	if c := calls.Load(); c != 1 {
		t.Errorf("the webhook was called %d times for one token, want 1 (cached)", c)
	}
	if refused.Load() != 0 {
		t.Error("the webhook was asked about another token")
	}
}
