package serve_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/client"
)

// iamSchema mixes AWS_IAM rules with API key and owner rules: guests (the
// unauthenticated role) read posts, signed-in IAM callers (the
// authenticated role) do anything, the API key reads, owners with user
// pool tokens own theirs; the secret field is for private iam and the
// owner only. Memo has no iam rule.
const iamSchema = `type Post @model @auth(rules: [
  {allow: public, provider: iam, operations: [read]},
  {allow: private, provider: iam},
  {allow: public, provider: apiKey, operations: [read]},
  {allow: owner}
]) {
  id: ID!
  title: String!
  secret: String @auth(rules: [{allow: private, provider: iam}, {allow: owner}])
  owner: String
}

type Memo @model @auth(rules: [{allow: owner}, {allow: public, provider: apiKey}]) {
  id: ID!
  body: String
  owner: String
}
`

const (
	iamFields   = "id title secret owner _version _lastChangedAt _deleted"
	iamCreate   = "mutation operation($input: CreatePostInput!) { createPost(input: $input) { " + iamFields + " } }"
	iamSync     = "query operation { syncPosts { items { " + iamFields + " } } }"
	iamOnCreate = "subscription operation { onCreatePost { " + iamFields + " } }"
)

var (
	iamUser  = auth.IAMCredential{AccessKeyID: "AKIDIOTGATEWAY", SecretAccessKey: "gateway-secret", Role: auth.IAMAuthenticated}
	iamGuest = auth.IAMCredential{AccessKeyID: "ASIAGUEST", SecretAccessKey: "guest-secret", SessionToken: "guest-token", Role: auth.IAMUnauthenticated}
)

// iamEnv serves iamSchema with the API key, JWTs and the two IAM
// credentials.
func iamEnv(t *testing.T) *env {
	return newEnv(t, envOptions{schema: testenv.LoadSchema(t, iamSchema), config: func(c *serve.Config) {
		c.Auth.JWT = &auth.JWTConfig{HS256Secret: jwtSecret}
		c.Auth.IAM = &auth.IAMConfig{Credentials: []auth.IAMCredential{iamUser, iamGuest}}
	}})
}

// iamAuth is the Go client's IAM auth for credential c.
func iamAuth(c auth.IAMCredential) client.Auth {
	return client.IAM("us-east-1", func(context.Context) (client.Credentials, error) {
		return client.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
	})
}

// signedPost POSTs a GraphQL request to url signed with a (the Go
// client's signer), as the sync engine sends it.
func signedPost(t *testing.T, url string, a client.Auth, query string, vars map[string]any) gqlResult {
	t.Helper()
	body, err := json.Marshal(appsync.Request{Query: query, Variables: vars})
	if err != nil {
		t.Fatal(err)
	}
	status, raw, err := postRawTo(http.DefaultClient, url, body, nil, func(req *http.Request) error {
		return a.Authorize(req.Context(), req)
	})
	if err != nil {
		t.Fatal(err)
	}
	return decodeResult(t, status, raw)
}

// TestIAMRules runs requests signed by the Go client against the server:
// each role gets exactly its rules, at model and field level, beside API
// key and owner callers; a wrong secret gets AppSync's 401.
func TestIAMRules(t *testing.T) {
	e := iamEnv(t)
	url := e.ts.URL + "/graphql"
	user, guest := iamAuth(iamUser), iamAuth(iamGuest)

	// The authenticated role writes (private iam); it is no owner.
	created := mustOK(t, signedPost(t, url, user, iamCreate, map[string]any{"input": map[string]any{"id": "p1", "title": "from the gateway", "secret": "s1"}})).field("createPost")
	if created["owner"] != nil || created["secret"] != "s1" {
		t.Errorf("created %v: want no owner (an IAM caller has none) and the secret", created)
	}
	// An owner's post, read by the authenticated role in full.
	mustOK(t, e.doAs(t, bearer(t, "alice"), iamCreate, map[string]any{"input": map[string]any{"id": "p2", "title": "alice's", "secret": "s2"}}))
	items := syncItems(t, mustOK(t, signedPost(t, url, user, iamSync, nil)))
	if len(items) != 2 || items["p2"]["secret"] != "s2" {
		t.Errorf("authenticated role syncs %v: want both posts with their secrets", items)
	}

	// The unauthenticated role reads (public iam) without the secret,
	// and may not write.
	items = syncItems(t, mustOK(t, signedPost(t, url, guest, iamSync, nil)))
	if len(items) != 2 || items["p1"]["secret"] != nil || items["p1"]["title"] != "from the gateway" {
		t.Errorf("guest syncs %v: want both posts, secrets null", items)
	}
	if r := signedPost(t, url, guest, iamCreate, map[string]any{"input": map[string]any{"id": "p3", "title": "guest"}}); r.errType(t) != appsync.Unauthorized {
		t.Errorf("guest create: %s, want Unauthorized", r.Raw)
	}
	// No iam rule on Memo.
	if r := signedPost(t, url, user, "query { syncMemos { items { id } } }", nil); r.errType(t) != appsync.Unauthorized {
		t.Errorf("IAM caller on Memo: %s, want Unauthorized", r.Raw)
	}
	// The API key still reads, without the secret.
	items = syncItems(t, mustOK(t, e.do(t, iamSync, nil)))
	if len(items) != 2 || items["p1"]["secret"] != nil {
		t.Errorf("API key syncs %v", items)
	}

	// A wrong secret: 401 and AWS's words.
	bad := iamUser
	bad.SecretAccessKey = "not-the-secret"
	r := signedPost(t, url, iamAuth(bad), iamSync, nil)
	if r.Status != http.StatusUnauthorized || r.errType(t) != appsync.UnauthorizedExc || !strings.Contains(r.Errors[0].Message, "The request signature we calculated does not match") {
		t.Errorf("wrong secret: HTTP %d %s, want 401 UnauthorizedException", r.Status, r.Raw)
	}
}

// TestIAMFastPath: a signed request on the server's own listener, whose
// fast path keeps only the credential headers, is verified in full (it
// goes to net/http), and a tampered one is refused.
func TestIAMFastPath(t *testing.T) {
	e := iamEnv(t)
	addr := testenv.ServeListener(t, e.srv)
	url := "http://" + addr + "/graphql"
	mustOK(t, signedPost(t, url, iamAuth(iamUser), iamCreate, map[string]any{"input": map[string]any{"id": "f1", "title": "fast"}}))
	if items := syncItems(t, mustOK(t, signedPost(t, url, iamAuth(iamGuest), iamSync, nil))); items["f1"] == nil {
		t.Errorf("guest over the listener syncs %v", items)
	}
	bad := iamGuest
	bad.SessionToken = "stolen"
	if r := signedPost(t, url, iamAuth(bad), iamSync, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("wrong session token over the listener: HTTP %d %s", r.Status, r.Raw)
	}
}

// TestIAMRealtime: a guest connects with the IAM headers of the connect
// request and subscribes with headers signed over each start message's
// data, as amplify-js does; it receives the authenticated role's post
// with the secret hidden. A start whose signature covers another data
// string, and a connection signed with a wrong secret, are refused.
func TestIAMRealtime(t *testing.T) {
	e := iamEnv(t)
	host := strings.TrimPrefix(e.ts.URL, "http://")
	guest := iamAuth(iamGuest)
	ctx := context.Background()
	connHeaders, err := guest.Headers(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	ws := e.dialWS(t, connHeaders)
	ws.init()

	data, err := json.Marshal(appsync.Request{Query: iamOnCreate, Variables: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	startHeaders, err := guest.Headers(appsync.ContextWithStartData(ctx, string(data)), host)
	if err != nil {
		t.Fatal(err)
	}
	ws.subscribe("s1", iamOnCreate, nil, startHeaders)
	// The connection's headers do not sign a start: they cover /connect.
	ws.send(startMsg(t, "s2", iamOnCreate, nil, connHeaders))
	if errs := errorsOf(t, ws.expect(appsync.MsgError, "s2")); errs[0].ErrorType != appsync.UnauthorizedExc || !strings.Contains(errs[0].Message, "signature we calculated does not match") {
		t.Errorf("start signed for /connect: %v", errs[0])
	}

	mustOK(t, signedPost(t, e.ts.URL+"/graphql", iamAuth(iamUser), iamCreate, map[string]any{"input": map[string]any{"id": "live", "title": "t", "secret": "hidden"}}))
	got := ws.data("s1", "onCreatePost")
	if got["id"] != "live" || got["secret"] != nil {
		t.Errorf("guest received %v: want the post with its secret null", got)
	}

	bad := iamUser
	bad.SecretAccessKey = "not-the-secret"
	badHeaders, err := iamAuth(bad).Headers(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	ws2 := e.dialWS(t, badHeaders)
	ws2.send(appsync.Message{Type: appsync.MsgConnectionInit})
	if errs := errorsOf(t, ws2.expect(appsync.MsgConnectionError, "")); errs[0].ErrorType != appsync.UnauthorizedExc || errs[0].ErrorCode != 401 {
		t.Errorf("connection with a wrong secret: %+v, want UnauthorizedException 401", errs[0])
	}
}

// syncItems returns the items of a syncPosts result by id.
func syncItems(t *testing.T, r gqlResult) map[string]map[string]any {
	t.Helper()
	page := r.field("syncPosts")
	list, _ := page["items"].([]any)
	out := map[string]map[string]any{}
	for _, it := range list {
		m, _ := it.(map[string]any)
		id, _ := m["id"].(string)
		out[id] = m
	}
	return out
}

// TestIAMConflictIdentity: the custom conflict handler is told an IAM
// caller's identity in AppSync's $ctx.identity fields: username (the
// access key id) and cognitoIdentityAuthType (the role).
func TestIAMConflictIdentity(t *testing.T) {
	conflicts := &conflictHook{}
	hs := httptest.NewServer(conflicts)
	t.Cleanup(hs.Close)
	e := newEnv(t, envOptions{schema: testenv.LoadSchema(t, iamSchema), config: func(c *serve.Config) {
		c.Auth.IAM = &auth.IAMConfig{Credentials: []auth.IAMCredential{iamUser}}
		c.Conflict = map[string]serve.Strategy{"Post": serve.Custom}
		c.ConflictWebhook = hs.URL
	}})
	url := e.ts.URL + "/graphql"
	user := iamAuth(iamUser)
	const update = "mutation operation($input: UpdatePostInput!) { updatePost(input: $input) { " + iamFields + " } }"
	mustOK(t, signedPost(t, url, user, iamCreate, map[string]any{"input": map[string]any{"id": "p", "title": "t"}}))
	mustOK(t, signedPost(t, url, user, update, map[string]any{"input": map[string]any{"id": "p", "title": "t2", "_version": 1}}))
	conflicts.answer(`{"action":"REJECT"}`)
	signedPost(t, url, user, update, map[string]any{"input": map[string]any{"id": "p", "title": "stale", "_version": 1}})
	calls := conflicts.calls()
	if len(calls) != 1 {
		t.Fatalf("conflict webhook called %d times, want 1", len(calls))
	}
	id, _ := calls[0]["identity"].(map[string]any)
	if id["username"] != iamUser.AccessKeyID || id["cognitoIdentityAuthType"] != "authenticated" {
		t.Errorf("conflict payload identity %v, want username %s and cognitoIdentityAuthType authenticated", calls[0]["identity"], iamUser.AccessKeyID)
	}
}
