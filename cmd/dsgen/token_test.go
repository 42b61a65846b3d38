package main

import (
	"bytes"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const tokenSchema = `
type Note @model @auth(rules: [{allow: owner}]) { id: ID! content: String owner: String }
type Memo @model @auth(rules: [{allow: groups, groups: ["admins"]}]) { id: ID! text: String }
`

// TestTokenAgainstServe mints tokens with dsgen token from the secret and
// issuer that dsgen.yml gives dsgen serve, and uses them on a running
// dsgen serve: owner rules store and filter by the token's user, group
// rules follow --groups, and a token minted with another secret (from the
// environment, which beats the file for both commands) is refused.
func TestTokenAgainstServe(t *testing.T) {
	bin := dsgenBinary(t)
	dir := newProject(t, tokenSchema)
	writeFile(t, filepath.Join(dir, "dsgen.yml"), `schema: schema.graphql
serve:
  jwt-hs256-secret: dev-secret-of-32-bytes-0123456789
  jwt-issuer: https://dev.example
`)
	cmd := exec.Command(bin, "serve", "--in-memory", "--addr", "127.0.0.1:0")
	cmd.Dir, cmd.Env = dir, cleanEnv()
	p := startServeCmd(t, cmd)
	url := "http://" + p.addr + "/graphql"

	token := func(env []string, args ...string) string {
		t.Helper()
		c := exec.Command(bin, append([]string{"token"}, args...)...)
		c.Dir, c.Env = dir, cleanEnv(env...)
		var so, se bytes.Buffer
		c.Stdout, c.Stderr = &so, &se
		if err := c.Run(); err != nil {
			t.Fatalf("dsgen token %v: %v\n%s", args, err, se.String())
		}
		return strings.TrimSpace(so.String())
	}
	alice := token(nil, "--user", "alice")
	bob := token(nil, "--user", "bob", "--groups", "admins,editors", "--expires", "10m")

	as := func(tok, query string) map[string]any {
		t.Helper()
		status, out := gqlAs(t, url, map[string]string{"authorization": tok}, query, nil)
		if status != http.StatusOK {
			t.Fatalf("%s: HTTP %d %v\n%s", query, status, out, p.log())
		}
		return out
	}
	out := as(alice, `mutation { createNote(input: {id: "n1", content: "alice's"}) { id owner } }`)
	if got := toJSON(out); !regexp.MustCompile(`"owner":"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}::alice"`).MatchString(got) {
		t.Fatalf("alice's create: %s, want owner <uuid>::alice", got)
	}
	if got := toJSON(as(alice, `{ listNotes { items { id } } }`)); !strings.Contains(got, `"n1"`) {
		t.Errorf("alice's list: %s, want n1", got)
	}
	if got := toJSON(as(bob, `{ listNotes { items { id } } }`)); strings.Contains(got, `"n1"`) || !strings.Contains(got, `"items":[]`) {
		t.Errorf("bob's list: %s, want no notes (owner rule)", got)
	}
	if got := toJSON(as(bob, `mutation { createMemo(input: {id: "m1", text: "x"}) { id } }`)); strings.Contains(got, "errors") {
		t.Errorf("bob (admins) creating a memo: %s", got)
	}
	if got := toJSON(as(alice, `mutation { createMemo(input: {id: "m2", text: "x"}) { id } }`)); !strings.Contains(got, "Unauthorized") {
		t.Errorf("alice (no group) creating a memo: %s, want Unauthorized", got)
	}

	other := token([]string{"DSGEN_SERVE_JWT_HS256_SECRET=another-secret-of-32-bytes-98765"}, "--user", "mallory")
	if status, out := gqlAs(t, url, map[string]string{"authorization": other}, `{ listNotes { items { id } } }`, nil); status != http.StatusUnauthorized {
		t.Errorf("token signed with another secret: HTTP %d %v, want 401", status, out)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("serve exit %d", code)
	}

	// With no secret anywhere, token says where to put it.
	bare := t.TempDir()
	if r := runIn(t, bin, bare, "token", "--user", "x"); r.code != 1 || !strings.Contains(r.stderr, "DSGEN_SERVE_JWT_HS256_SECRET") {
		t.Errorf("token without a secret: exit %d %q", r.code, r.stderr)
	}
	if r := runIn(t, bin, bare, "token", "--jwt-hs256-secret", "0123456789abcdef"); r.code != 2 {
		t.Errorf("token without --user: exit %d, want 2", r.code)
	}
}

// TestTokenWithDevAuthSecret: serve --dev-auth with no HS256 secret keeps a
// secret in its data directory; dsgen token signs with it, so its tokens
// are the console's dev identities.
func TestTokenWithDevAuthSecret(t *testing.T) {
	bin := dsgenBinary(t)
	dir := newProject(t, tokenSchema)
	cmd := exec.Command(bin, "serve", "--schema", "schema.graphql", "--data", "data", "--dev-auth", "--addr", "127.0.0.1:0")
	cmd.Dir, cmd.Env = dir, cleanEnv()
	p := startServeCmd(t, cmd)
	url := "http://" + p.addr + "/graphql"

	c := exec.Command(bin, "token", "--data", "data", "--user", "carol")
	c.Dir, c.Env = dir, cleanEnv()
	var so, se bytes.Buffer
	c.Stdout, c.Stderr = &so, &se
	if err := c.Run(); err != nil {
		t.Fatalf("dsgen token: %v\n%s", err, se.String())
	}
	status, out := gqlAs(t, url, map[string]string{"authorization": strings.TrimSpace(so.String())},
		`mutation { createNote(input: {id: "c1", content: "carol's"}) { id owner } }`, nil)
	if status != http.StatusOK || !strings.Contains(toJSON(out), "::carol") {
		t.Fatalf("carol's create with a token from the dev-auth secret: HTTP %d %s\n%s", status, toJSON(out), p.log())
	}

	// Without the data directory there is nothing to sign with.
	c = exec.Command(bin, "token", "--data", "elsewhere", "--user", "carol")
	c.Dir, c.Env = dir, cleanEnv()
	se.Reset()
	c.Stderr = &se
	if err := c.Run(); err == nil || !strings.Contains(se.String(), "--jwt-hs256-secret") {
		t.Fatalf("dsgen token without a secret: %v, stderr %q", err, se.String())
	}
}
