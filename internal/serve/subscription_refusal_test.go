package serve_test

import (
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// TestSubscriptionRefusalNamesTheField checks that a start message refused by
// the model's @auth rules is answered in AppSync's words, naming the
// subscription field on type Subscription ("Not Authorized to access
// onUpdatePost on type Subscription"), as the resolver of that field refuses
// it on AppSync; DataStore shows that message in its errorHandler.
func TestSubscriptionRefusalNamesTheField(t *testing.T) {
	e := ownerEnvOn(t, "badger", ownerSchema)
	alice := bearer(t, "alice")
	const want = "Not Authorized to access onUpdatePost on type Subscription"
	cases := []struct {
		name  string
		query string
		vars  map[string]any
		authz map[string]string
	}{
		// An owner argument naming another user (the owner check).
		{"another owner", ownerOnUpdate, map[string]any{"owner": "bob"}, map[string]string{"host": "127.0.0.1", "Authorization": alice["authorization"]}},
		// An API key on an owner-only model (no rule applies).
		{"no rule", ownerOnUpdateNo, nil, e.authHeaders()},
	}
	c := e.dialWS(t, map[string]string{"host": "127.0.0.1", "Authorization": alice["authorization"]})
	c.init()
	for i, tc := range cases {
		id := "refused-" + string(rune('a'+i))
		c.send(startMsg(t, id, tc.query, tc.vars, tc.authz))
		errs := errorsOf(t, c.expect(appsync.MsgError, id))
		if errs[0].ErrorType != appsync.Unauthorized || errs[0].Message != want {
			t.Errorf("%s: error %q %q, want %q %q", tc.name, errs[0].ErrorType, errs[0].Message, appsync.Unauthorized, want)
		}
	}
}
