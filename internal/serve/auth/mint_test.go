package auth

import (
	"slices"
	"testing"
	"time"
)

// TestMintHS256 checks that minted dev tokens pass the Authenticator that
// has the same secret and settings, as the identity they name, and fail
// one whose settings they do not meet.
func TestMintHS256(t *testing.T) {
	c := &clock{t0}
	for _, tc := range []struct {
		name string
		cfg  JWTConfig
	}{
		{"defaults", JWTConfig{}},
		{"issuer, audience and claim names", JWTConfig{Issuer: "https://dev.test", Audience: "app", UsernameClaim: "email", GroupsClaim: "roles"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := hsAuth(t, c, tc.cfg)
			tok, err := MintHS256(secret, DevIdentity{Username: "alice", Groups: []string{"admins", "editors"}, Issued: t0, TTL: time.Hour,
				Issuer: tc.cfg.Issuer, Audience: tc.cfg.Audience, UsernameClaim: tc.cfg.UsernameClaim, GroupsClaim: tc.cfg.GroupsClaim})
			if err != nil {
				t.Fatal(err)
			}
			id, err := a.Authenticate(map[string]string{"authorization": tok})
			if err != nil {
				t.Fatalf("minted token refused: %v", err)
			}
			if got := id.username(); got != "alice" {
				t.Errorf("username = %q, want alice", got)
			}
			if !slices.Equal(id.Groups, []string{"admins", "editors"}) {
				t.Errorf("groups = %v", id.Groups)
			}
			if id.Claims["sub"] != devSub("alice") {
				t.Errorf("sub = %v, want the UUID derived from the user name (as the console's dev identities)", id.Claims["sub"])
			}
			if tc.cfg.Issuer != "" {
				// A token without the issuer the server requires is refused.
				bare, err := MintHS256(secret, DevIdentity{Username: "alice", Issued: t0, TTL: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				_, err = a.Authenticate(map[string]string{"authorization": bare})
				wantUnauthorized(t, err, "iss")
			}
		})
	}
	// It expires after TTL.
	a := hsAuth(t, &clock{t0.Add(2 * time.Hour)}, JWTConfig{})
	tok, err := MintHS256(secret, DevIdentity{Username: "bob", Issued: t0, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(map[string]string{"authorization": tok})
	wantUnauthorized(t, err, "expired")

	for _, bad := range []struct {
		secret []byte
		tok    DevIdentity
	}{
		{[]byte("short"), DevIdentity{Username: "x", TTL: time.Hour}},
		{secret, DevIdentity{TTL: time.Hour}},
		{secret, DevIdentity{Username: "x"}},
	} {
		if _, err := MintHS256(bad.secret, bad.tok); err == nil {
			t.Errorf("MintHS256(%q, %+v) succeeded", bad.secret, bad.tok)
		}
	}
}
