package syncengine

import (
	"slices"
	"testing"

	authm "github.com/dsgen/dsgen/golden/auth/model"
)

// TestAllowedModesOrder checks the modes tried per model and operation
// against the auth golden schema's rules, in Amplify's multi-auth order.
func TestAllowedModesOrder(t *testing.T) {
	s := authm.Schema()
	for _, c := range []struct {
		model, op string
		want      []AuthMode
	}{
		// owner, groups (user pools), private (iam, read), public (apiKey, read)
		{"Note", opSync, []AuthMode{AuthUserPools, AuthIAM, AuthAPIKey}},
		{"Note", opListen, []AuthMode{AuthUserPools, AuthIAM, AuthAPIKey}},
		{"Note", "create", []AuthMode{AuthUserPools}},
		{"Note", "delete", []AuthMode{AuthUserPools}},
		// custom (function) before groups and owner (user pools)
		{"Ticket", opSync, []AuthMode{AuthFunction, AuthUserPools}},
		{"Ticket", "update", []AuthMode{AuthFunction, AuthUserPools}},
	} {
		if got := allowedModes(s.Model(c.model).Auth, c.op); !slices.Equal(got, c.want) {
			t.Errorf("%s %s: modes %v, want %v", c.model, c.op, got, c.want)
		}
	}
}
