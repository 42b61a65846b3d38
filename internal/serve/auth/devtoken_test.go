package auth

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestDevToken: a dev token verifies under the settings it was made for
// (issuer, audience, custom username and groups claims), names the user
// and groups, gives a stable sub, and expires.
func TestDevToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	cfg := &JWTConfig{HS256Secret: []byte("dev-secret-0123456789"), Issuer: "https://issuer.example", Audience: "app",
		UsernameClaim: "preferred_username", GroupsClaim: "roles"}
	clock := now
	a, err := New(Config{JWT: cfg, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tok, err := DevToken(cfg, "alice", []string{"editors", "dsgen-admin"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Authenticate(map[string]string{"authorization": tok})
	if err != nil {
		t.Fatalf("a dev token is refused: %v", err)
	}
	if u := id.Claim("username"); len(u) == 0 || u[0] != "alice" {
		t.Errorf("user name %v, want alice", u)
	}
	if !slices.Equal(id.Groups, []string{"editors", "dsgen-admin"}) {
		t.Errorf("groups %v", id.Groups)
	}
	again, _ := DevClaims(cfg, "alice", nil, now.Add(time.Hour), time.Hour)
	if again["sub"] != id.Claims["sub"] {
		t.Errorf("sub changed between tokens: %v, %v", again["sub"], id.Claims["sub"])
	}
	other, _ := DevClaims(cfg, "bob", nil, now, time.Hour)
	if other["sub"] == id.Claims["sub"] {
		t.Error("alice and bob share a sub")
	}
	clock = now.Add(2 * time.Hour)
	if _, err := a.Authenticate(map[string]string{"authorization": tok}); err == nil {
		t.Error("an expired dev token was accepted")
	}
	for _, bad := range []struct {
		user   string
		groups []string
	}{{"", nil}, {"  ", nil}, {"a::b", nil}, {"alice", []string{""}}, {"x\n", nil}} {
		if _, err := DevClaims(cfg, bad.user, bad.groups, now, time.Hour); !errors.Is(err, ErrDevIdentity) {
			t.Errorf("DevClaims(%q, %q): %v, want ErrDevIdentity", bad.user, bad.groups, err)
		}
	}
	if _, err := DevToken(&JWTConfig{}, "alice", nil, now, time.Hour); err == nil {
		t.Error("a dev token was signed without a secret")
	}
}
