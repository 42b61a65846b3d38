package auth

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/meta"
)

// The IAM credentials the verifier tests configure.
var (
	userCred  = IAMCredential{AccessKeyID: "AKIDUSER", SecretAccessKey: "user-secret/K7MDENG", Role: IAMAuthenticated}
	guestCred = IAMCredential{AccessKeyID: "ASIAGUEST", SecretAccessKey: "guest-secret", SessionToken: "guest-session-token", Role: IAMUnauthenticated}
	oldCred   = IAMCredential{AccessKeyID: "AKIDOLD", SecretAccessKey: "old-secret", Role: IAMAuthenticated}
)

// iamAuthenticator accepts userCred, guestCred and oldCred (which expires
// in an hour by clk) in region us-east-1.
func iamAuthenticator(t *testing.T, clk *clock) *Authenticator {
	t.Helper()
	old := oldCred
	old.Expires = clk.t.Add(time.Hour)
	a, err := New(Config{IAM: &IAMConfig{Credentials: []IAMCredential{userCred, guestCred, old}}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// signed signs a POST /graphql of body with the client's IAM auth (region,
// credentials c) and returns it as the server sees it.
func signed(t testing.TB, region string, c IAMCredential, body string) SignedRequest {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:20002/graphql", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json; charset=UTF-8")
	auth := client.IAM(region, func(context.Context) (client.Credentials, error) {
		return client.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
	})
	if err := auth.Authorize(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	h := map[string]string{"host": r.URL.Host}
	for k, v := range r.Header {
		h[strings.ToLower(k)] = strings.Join(v, ",")
	}
	b, _ := io.ReadAll(r.Body)
	return SignedRequest{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: h, Body: b}
}

// resign replaces r's Authorization with a signature computed by hand for
// the given scope and signed headers, for requests the client never makes.
func resign(r SignedRequest, c IAMCredential, region, service string, signedHeaders []string) SignedRequest {
	date := r.Header["x-amz-date"]
	scope := appsync.SigV4Scope(date[:8], region, service)
	cr := appsync.SigV4CanonicalRequest(r.Method, r.Path, r.RawQuery, signedHeaders, func(h string) string { return r.Header[h] }, appsync.SigV4PayloadHash(r.Body))
	sig := appsync.SigV4Signature(appsync.SigV4SigningKey(c.SecretAccessKey, date[:8], region, service), appsync.SigV4StringToSign(date, scope, cr))
	h := copyHeaders(r.Header)
	h["authorization"] = appsync.SigV4Algorithm + " Credential=" + c.AccessKeyID + "/" + scope + ", SignedHeaders=" + strings.Join(signedHeaders, ";") + ", Signature=" + sig
	r.Header = h
	return r
}

func copyHeaders(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = v
	}
	return out
}

// TestIAMVerify signs requests with the Go client's IAM auth and checks
// them with the server's verifier: a good signature yields an IAM caller
// with its credential's role; every way a request can be wrong is refused
// with AWS's words.
func TestIAMVerify(t *testing.T) {
	clk := &clock{t: time.Now()}
	a := iamAuthenticator(t, clk)
	const body = `{"query":"{ listNotes { items { id } } }"}`
	ctx := context.Background()

	id, err := a.AuthenticateSigned(ctx, signed(t, "us-east-1", userCred, body))
	if err != nil {
		t.Fatalf("good signature refused: %v", err)
	}
	if id.Mode != ModeIAM || id.IAM.AccessKeyID != "AKIDUSER" || id.IAM.Role != IAMAuthenticated {
		t.Fatalf("identity %+v %+v, want IAM AKIDUSER authenticated", id, id.IAM)
	}
	if id, err := a.AuthenticateSigned(ctx, signed(t, "us-east-1", guestCred, body)); err != nil || id.IAM.Role != IAMUnauthenticated {
		t.Fatalf("guest with its session token: %v, %v", id, err)
	}

	const mismatch = "The request signature we calculated does not match the signature you provided"
	const invalidToken = "The security token included in the request is invalid."
	wrongSecret := userCred
	wrongSecret.SecretAccessKey = "not-the-secret"
	alteredBody := signed(t, "us-east-1", userCred, body)
	alteredBody.Body = []byte(`{"query":"{ listNotes { items { id secret } } }"}`)
	alteredHeader := signed(t, "us-east-1", userCred, body)
	alteredHeader.Header["content-type"] = "text/plain"
	alteredQuery := signed(t, "us-east-1", userCred, body)
	alteredQuery.RawQuery = "x=1"
	noHost := resign(signed(t, "us-east-1", userCred, body), userCred, "us-east-1", "appsync", []string{"content-type", "x-amz-date"})
	noDate := resign(signed(t, "us-east-1", userCred, body), userCred, "us-east-1", "appsync", []string{"content-type", "host"})
	otherService := resign(signed(t, "us-east-1", userCred, body), userCred, "us-east-1", "execute-api", []string{"host", "x-amz-date"})
	missingSigned := resign(signed(t, "us-east-1", userCred, body), userCred, "us-east-1", "appsync", []string{"accept", "host", "x-amz-date"})
	unknown := userCred
	unknown.AccessKeyID = "AKIDNOBODY"
	tokenMismatch := guestCred
	tokenMismatch.SessionToken = "someone-elses-token"
	noToken := guestCred
	noToken.SessionToken = ""
	strayToken := userCred
	strayToken.SessionToken = "a-token-the-user-key-has-not"
	garbled := signed(t, "us-east-1", userCred, body)
	garbled.Header["authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDUSER/20260301/us-east-1/appsync/aws4_request, Signature=00"

	for _, tc := range []struct {
		name string
		r    SignedRequest
		want string
	}{
		{"wrong secret", signed(t, "us-east-1", wrongSecret, body), mismatch},
		{"altered body", alteredBody, mismatch},
		{"altered signed header", alteredHeader, mismatch},
		{"altered query", alteredQuery, mismatch},
		{"host not signed", noHost, "'Host' or ':authority' must be a 'SignedHeader'"},
		{"x-amz-date not signed", noDate, "'X-Amz-Date' must be a 'SignedHeader'"},
		{"signed header absent", missingSigned, "'accept' is named as a SignedHeader, but it does not exist in the HTTP request."},
		{"other region", signed(t, "us-west-2", userCred, body), "Credential should be scoped to a valid region, not 'us-west-2'."},
		{"other service", otherService, "Credential should be scoped to correct service: 'appsync'."},
		{"unknown key", signed(t, "us-east-1", unknown, body), invalidToken},
		{"session token mismatch", signed(t, "us-east-1", tokenMismatch, body), invalidToken},
		{"session token missing", signed(t, "us-east-1", noToken, body), invalidToken},
		{"session token the key has not", signed(t, "us-east-1", strayToken, body), invalidToken},
		{"no SignedHeaders", garbled, "Authorization header requires 'SignedHeaders' parameter."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.AuthenticateSigned(ctx, tc.r)
			if err == nil {
				t.Fatalf("accepted as %+v", id)
			}
			e, ok := appsync.AsError(err)
			if !ok || e.ErrorType != appsync.UnauthorizedExc || !strings.Contains(e.Message, tc.want) {
				t.Fatalf("error %v, want UnauthorizedException containing %q", err, tc.want)
			}
			for _, s := range []string{userCred.SecretAccessKey, guestCred.SecretAccessKey, guestCred.SessionToken} {
				if strings.Contains(e.Message, s) {
					t.Errorf("error %q shows a secret", e.Message)
				}
			}
		})
	}

	// The skew window: five minutes either way, by the server's clock.
	r := signed(t, "us-east-1", userCred, body)
	signedAt := clk.t
	clk.t = signedAt.Add(MaxIAMSkew + time.Minute)
	if _, err := a.AuthenticateSigned(ctx, r); err == nil || !strings.Contains(err.Error(), "Signature expired: "+r.Header["x-amz-date"]+" is now earlier than") {
		t.Errorf("six minutes later: %v, want Signature expired", err)
	}
	clk.t = signedAt.Add(-MaxIAMSkew - time.Minute)
	if _, err := a.AuthenticateSigned(ctx, r); err == nil || !strings.Contains(err.Error(), "Signature not yet current") {
		t.Errorf("six minutes earlier: %v, want Signature not yet current", err)
	}
	clk.t = signedAt.Add(MaxIAMSkew - time.Minute)
	if _, err := a.AuthenticateSigned(ctx, r); err != nil {
		t.Errorf("four minutes later: %v, want accepted", err)
	}

	// A credential entry past its expires.
	clk.t = time.Now()
	if _, err := a.AuthenticateSigned(ctx, signed(t, "us-east-1", oldCred, body)); err != nil {
		t.Fatalf("credential before its expiry: %v", err)
	}
	clk.t = time.Now().Add(2 * time.Hour)
	late := signed(t, "us-east-1", oldCred, body)
	late.Header = copyHeaders(late.Header)
	late.Header["x-amz-date"] = clk.t.UTC().Format(appsync.AmzDateFormat)
	late = resign(late, oldCred, "us-east-1", "appsync", []string{"content-type", "host", "x-amz-date"})
	if _, err := a.AuthenticateSigned(ctx, late); err == nil || !strings.Contains(err.Error(), "The security token included in the request is expired") {
		t.Errorf("credential past its expiry: %v, want expired", err)
	}
}

// TestIAMOnlyWithWholeRequest: a SigV4 header where only the credential
// headers are at hand, or on a server without IAM credentials, is refused.
func TestIAMOnlyWithWholeRequest(t *testing.T) {
	clk := &clock{t: time.Now()}
	r := signed(t, "us-east-1", userCred, "{}")
	if _, err := iamAuthenticator(t, clk).Authenticate(map[string]string{"authorization": r.Header["authorization"]}); err == nil || !strings.Contains(err.Error(), "POST /graphql") {
		t.Errorf("SigV4 through Authenticate: %v, want refused", err)
	}
	a, err := New(Config{APIKeys: []APIKey{{Key: "k"}}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AuthenticateSigned(context.Background(), r); err == nil || !strings.Contains(err.Error(), "AWS_IAM authorization is not enabled") {
		t.Errorf("SigV4 without IAM credentials: %v", err)
	}
}

// TestIAMRealtimeHeaders checks the client's real-time headers against the
// server: the connection's sign a POST of "{}" to /graphql/connect, a
// start message's a POST of its data string to /graphql, with the
// headers amplify-js sends.
func TestIAMRealtimeHeaders(t *testing.T) {
	clk := &clock{t: time.Now()}
	a := iamAuthenticator(t, clk)
	auth := client.IAM("us-east-1", func(context.Context) (client.Credentials, error) {
		return client.Credentials{AccessKeyID: guestCred.AccessKeyID, SecretAccessKey: guestCred.SecretAccessKey, SessionToken: guestCred.SessionToken}, nil
	})
	lower := func(h map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			out[strings.ToLower(k)] = v
		}
		return out
	}
	ctx := context.Background()
	conn, err := auth.Headers(ctx, "127.0.0.1:20002")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"accept", "content-encoding", "content-type", "host", "x-amz-date", "X-Amz-Security-Token", "Authorization"} {
		if conn[k] == "" {
			t.Errorf("connection headers %v lack %s", conn, k)
		}
	}
	if _, err := a.AuthenticateSigned(ctx, SignedRequest{Method: "POST", Path: appsync.ConnectPath, Header: lower(conn), Body: []byte("{}")}); err != nil {
		t.Errorf("connection headers refused: %v", err)
	}
	if _, err := a.AuthenticateSigned(ctx, SignedRequest{Method: "POST", Path: appsync.GraphQLPath, Header: lower(conn), Body: []byte("{}")}); err == nil {
		t.Error("connection headers accepted for another path")
	}
	data := `{"query":"subscription { onCreateNote { id } }","variables":{}}`
	start, err := auth.Headers(appsync.ContextWithStartData(ctx, data), "127.0.0.1:20002")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AuthenticateSigned(ctx, SignedRequest{Method: "POST", Path: appsync.GraphQLPath, Header: lower(start), Body: []byte(data)}); err != nil {
		t.Errorf("start headers refused: %v", err)
	}
	if _, err := a.AuthenticateSigned(ctx, SignedRequest{Method: "POST", Path: appsync.GraphQLPath, Header: lower(start), Body: []byte(`{"query":"subscription { onDeleteNote { id } }","variables":{}}`)}); err == nil {
		t.Error("start headers accepted for another data string")
	}
}

// TestLoadIAMCredentials reads a good file and refuses bad ones with
// errors naming the file and the entry, and never the secret.
func TestLoadIAMCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `[
		{"accessKeyId": "AKIDUSER", "secretAccessKey": "s1", "role": "authenticated"},
		{"accessKeyId": "ASIAGUEST", "secretAccessKey": "s2", "sessionToken": "tok", "role": "unauthenticated", "expires": "2027-01-01T00:00:00Z"}
	]`)
	creds, err := LoadIAMCredentials(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 2 || creds[1].SessionToken != "tok" || creds[1].Role != IAMUnauthenticated || !creds[1].Expires.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("credentials %+v", creds)
	}
	for _, tc := range []struct{ name, content, want string }{
		{"notlist.json", `{"accessKeyId": "A"}`, "want a JSON list"},
		{"empty.json", `[]`, "lists no credential"},
		{"dup.json", `[{"accessKeyId": "AKID1", "secretAccessKey": "topsecret", "role": "authenticated"}, {"accessKeyId": "AKID1", "secretAccessKey": "topsecret", "role": "authenticated"}]`, "entry 1: accessKeyId AKID1 is also entry 0"},
		{"nosecret.json", `[{"accessKeyId": "AKID1", "role": "authenticated"}]`, "entry 0 (AKID1) has no secretAccessKey"},
		{"nokey.json", `[{"secretAccessKey": "topsecret", "role": "authenticated"}]`, "entry 0 has no accessKeyId"},
		{"badkey.json", `[{"accessKeyId": "AKID/1", "secretAccessKey": "topsecret", "role": "authenticated"}]`, `entry 0: accessKeyId "AKID/1"`},
		{"role.json", `[{"accessKeyId": "AKID1", "secretAccessKey": "topsecret", "role": "admin"}]`, `entry 0 (AKID1): role "admin": want "authenticated" or "unauthenticated"`},
		{"norole.json", `[{"accessKeyId": "AKID1", "secretAccessKey": "topsecret"}]`, `entry 0 (AKID1): role ""`},
		{"expires.json", `[{"accessKeyId": "AKID1", "secretAccessKey": "topsecret", "role": "authenticated", "expires": "tomorrow"}]`, `entry 0 (AKID1): expires "tomorrow" is not an RFC 3339 time`},
		{"field.json", `[{"accessKeyId": "AKID1", "secretAccessKey": "topsecret", "role": "authenticated", "region": "x"}]`, `entry 0: json: unknown field "region"`},
	} {
		p := write(tc.name, tc.content)
		_, err := LoadIAMCredentials(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming the file and %q", tc.name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("%s: error %q shows the secret", tc.name, err)
		}
	}
	if _, err := LoadIAMCredentials(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

// TestAuthorizeIAM: public iam rules admit the unauthenticated role,
// private iam rules the authenticated one (Amplify's unauth and auth
// roles); neither admits the other, no other provider's rule admits an
// IAM caller, and field rules follow the same pairing.
func TestAuthorizeIAM(t *testing.T) {
	guest := &Identity{Mode: ModeIAM, IAM: &IAMCaller{AccessKeyID: "G", Role: IAMUnauthenticated}}
	user := &Identity{Mode: ModeIAM, IAM: &IAMCaller{AccessKeyID: "U", Role: IAMAuthenticated}}
	rule := func(allow, provider string, ops ...string) meta.AuthRule {
		if len(ops) == 0 {
			ops = []string{"create", "update", "delete", "read"}
		}
		return meta.AuthRule{Allow: allow, Provider: provider, Operations: ops}
	}
	m := &meta.Model{Name: "Post", PluralName: "Posts", Auth: []meta.AuthRule{
		rule("public", "iam", "read"),
		rule("private", "iam"),
		rule("owner", "userPools"),
		rule("public", "apiKey"),
	}, Fields: []*meta.Field{
		{Name: "id"}, {Name: "title"},
		{Name: "secret", Auth: []meta.AuthRule{rule("private", "iam")}},
	}}
	for _, tc := range []struct {
		name string
		id   *Identity
		op   Operation
		ok   bool
	}{
		{"guest reads", guest, OpSync, true},
		{"guest listens", guest, OpListen, true},
		{"guest may not create", guest, OpCreate, false},
		{"user reads", user, OpSync, true},
		{"user creates", user, OpCreate, true},
		{"user deletes", user, OpDelete, true},
	} {
		acc, err := Authorize(m, tc.op, tc.id)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want allowed %v", tc.name, err, tc.ok)
		}
		if err == nil && !acc.Full() {
			t.Errorf("%s: limited access, want full (an IAM caller has no owner)", tc.name)
		}
	}
	item := map[string]any{"id": "p1", "title": "t", "secret": "s"}
	if got := Redact(nil, m, item, OpSync, guest); got["secret"] != nil || got["title"] != "t" {
		t.Errorf("guest reads %v, want secret hidden (private iam field)", got)
	}
	if got := Redact(nil, m, item, OpSync, user); got["secret"] != "s" {
		t.Errorf("user reads %v, want the secret", got)
	}

	// A model with only a public iam rule is closed to the authenticated
	// role, as on AppSync, and one with only a private iam rule to guests.
	pub := &meta.Model{Name: "Pub", PluralName: "Pubs", Auth: []meta.AuthRule{rule("public", "iam")}}
	if _, err := Authorize(pub, OpSync, user); err == nil {
		t.Error("authenticated role passed a public iam rule")
	}
	priv := &meta.Model{Name: "Priv", PluralName: "Privs", Auth: []meta.AuthRule{rule("private", "iam")}}
	if _, err := Authorize(priv, OpSync, guest); err == nil {
		t.Error("unauthenticated role passed a private iam rule")
	}
	// Other providers' public and private rules do not admit IAM callers,
	// nor IAM rules other callers.
	other := &meta.Model{Name: "O", PluralName: "Os", Auth: []meta.AuthRule{rule("public", "apiKey"), rule("private", "userPools")}}
	if _, err := Authorize(other, OpSync, user); err == nil {
		t.Error("an IAM caller passed apiKey/userPools rules")
	}
	if _, err := Authorize(pub, OpSync, &Identity{Mode: ModeAPIKey}); err == nil {
		t.Error("an API key passed a public iam rule")
	}
	if !bytes.Equal([]byte(guest.Fingerprint()), []byte("iamunauthenticated")) || guest.Fingerprint() == user.Fingerprint() {
		t.Errorf("fingerprints %q %q: want them to differ by role", guest.Fingerprint(), user.Fingerprint())
	}
}
