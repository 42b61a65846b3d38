package serve_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// lambdaSchema: Post is open to Lambda callers (allow: custom) and to its
// owner with a user pool token; Memo only to its owner.
const lambdaSchema = `type Post @model @auth(rules: [{allow: custom}, {allow: owner}]) {
  id: ID!
  title: String!
  secret: String
  note: String
  owner: String
  comments: [Comment] @hasMany
}

type Comment @model @auth(rules: [{allow: custom}]) {
  id: ID!
  text: String
  postCommentsId: ID
}

type Memo @model @auth(rules: [{allow: owner}]) {
  id: ID!
  body: String
  owner: String
}
`

const (
	lambdaFields   = "id title secret note owner _version _lastChangedAt _deleted"
	lambdaCreate   = "mutation operation($input: CreatePostInput!) { createPost(input: $input) { " + lambdaFields + " } }"
	lambdaDelete   = "mutation operation($input: DeletePostInput!) { deletePost(input: $input) { " + lambdaFields + " } }"
	lambdaGet      = "query operation($id: ID!) { getPost(id: $id) { " + lambdaFields + " } }"
	lambdaSync     = "query operation($limit: Int, $nextToken: String, $lastSync: AWSTimestamp) { syncPosts(limit: $limit, nextToken: $nextToken, lastSync: $lastSync) { items { " + lambdaFields + " } nextToken startedAt } }"
	lambdaOnCreate = "subscription operation { onCreatePost { " + lambdaFields + " } }"
	lambdaMemos    = "query operation { syncMemos { items { id } } }"
)

// authorizer is the operator's authorizer webhook: tokens "lambda-*" are
// authorized, "lambda-redacted" with deniedFields, others refused. It
// counts its calls per token.
type authorizer struct {
	ts    *httptest.Server
	mu    sync.Mutex
	calls map[string]int
	down  atomic.Bool // answer 500
}

func newAuthorizer(t *testing.T) *authorizer {
	a := &authorizer{calls: map[string]int{}}
	a.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Token string `json:"authorizationToken"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			t.Errorf("authorizer event: %v", err)
		}
		a.mu.Lock()
		a.calls[ev.Token]++
		a.mu.Unlock()
		if a.down.Load() {
			http.Error(w, "authorizer crashed", http.StatusInternalServerError)
			return
		}
		switch {
		case ev.Token == "lambda-redacted":
			io.WriteString(w, `{"isAuthorized": true, "deniedFields": ["Post.secret",
				"arn:aws:appsync:us-east-1:111122223333:apis/dsgen/types/Post/fields/note", "Mutation.deletePost", "Post.comments"]}`)
		case strings.HasPrefix(ev.Token, "lambda-"):
			io.WriteString(w, `{"isAuthorized": true, "resolverContext": {"user": "`+ev.Token+`"}}`)
		default:
			io.WriteString(w, `{"isAuthorized": false}`)
		}
	}))
	t.Cleanup(a.ts.Close)
	return a
}

func (a *authorizer) count(tok string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[tok]
}

// lambdaEnv serves lambdaSchema with JWTs, the API key and the authorizer.
func lambdaEnv(t *testing.T, clock *testClock) (*env, *authorizer) {
	hook := newAuthorizer(t)
	e := newEnv(t, envOptions{clock: clock, schema: testenv.LoadSchema(t, lambdaSchema), config: func(c *serve.Config) {
		c.Auth.JWT = &auth.JWTConfig{HS256Secret: jwtSecret}
		c.Auth.Lambda = &auth.LambdaConfig{URL: hook.ts.URL, TTL: time.Minute}
	}})
	return e, hook
}

func lambdaCaller(tok string) map[string]string { return map[string]string{"authorization": tok} }

func TestLambdaCallerReadsAndWrites(t *testing.T) {
	e, hook := lambdaEnv(t, nil)
	alice, lam := bearer(t, "alice"), lambdaCaller("lambda-1")

	// allow: custom grants a Lambda caller full access: it reads alice's
	// post (owner rules do not limit it) and writes without becoming an
	// owner.
	mustOK(t, e.doAs(t, alice, lambdaCreate, map[string]any{"input": map[string]any{"id": "alices", "title": "a", "secret": "s"}}))
	created := mustOK(t, e.doAs(t, lam, lambdaCreate, map[string]any{"input": map[string]any{"id": "lambdas", "title": "l", "secret": "s2"}})).field("createPost")
	if created["owner"] != nil {
		t.Errorf("a Lambda caller's create stored owner %v, want none", created["owner"])
	}
	items := mustOK(t, e.doAs(t, lam, lambdaSync, map[string]any{"limit": 10})).field("syncPosts")["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("the Lambda caller synced %d posts, want both: %v", len(items), items)
	}
	if r := e.doAs(t, alice, lambdaGet, map[string]any{"id": "lambdas"}); r.field("getPost") != nil || r.errType(t) != appsync.Unauthorized {
		t.Errorf("alice (owner rules only) read the Lambda caller's post: %s", r.Raw)
	}
	// Other rules do not apply to Lambda callers.
	if r := e.doAs(t, lam, lambdaMemos, nil); r.errType(t) != appsync.Unauthorized {
		t.Errorf("a Lambda caller on an owner-only model: %s, want Unauthorized", r.Raw)
	}
	// One webhook call for all of the caller's requests (within the TTL).
	if n := hook.count("lambda-1"); n != 1 {
		t.Errorf("the webhook was called %d times for one token, want 1", n)
	}

	// A refused token: 401 UnauthorizedException, as AppSync answers.
	r := e.doAs(t, lambdaCaller("nope"), lambdaSync, map[string]any{"limit": 10})
	if r.Status != http.StatusUnauthorized || r.errType(t) != appsync.UnauthorizedExc {
		t.Fatalf("refused token: %d %s, want 401 UnauthorizedException", r.Status, r.Raw)
	}
	// A JWT still authenticates as a JWT, without the webhook.
	mustOK(t, e.doAs(t, alice, lambdaGet, map[string]any{"id": "alices"}))
	hook.mu.Lock()
	for tok := range hook.calls {
		if strings.Count(tok, ".") == 2 {
			t.Errorf("a JWT reached the authorizer webhook")
		}
	}
	hook.mu.Unlock()
}

func TestLambdaDeniedFields(t *testing.T) {
	e, _ := lambdaEnv(t, nil)
	red := lambdaCaller("lambda-redacted")
	full := lambdaCaller("lambda-full")
	created := mustOK(t, e.doAs(t, red, lambdaCreate, map[string]any{"input": map[string]any{"id": "p1", "title": "t", "secret": "s", "note": "n"}})).field("createPost")
	// The mutation's answer hides the denied fields (both forms), the
	// write keeps them: another caller reads them.
	if created["secret"] != nil || created["note"] != nil || created["title"] != "t" {
		t.Errorf("createPost answered %v, want secret and note null, title t", created)
	}
	stored := mustOK(t, e.doAs(t, full, lambdaGet, map[string]any{"id": "p1"})).field("getPost")
	if stored["secret"] != "s" || stored["note"] != "n" {
		t.Fatalf("the post as stored: %v, want secret s and note n", stored)
	}
	got := mustOK(t, e.doAs(t, red, lambdaGet, map[string]any{"id": "p1"})).field("getPost")
	items := mustOK(t, e.doAs(t, red, lambdaSync, map[string]any{"limit": 10})).field("syncPosts")["items"].([]any)
	for what, it := range map[string]map[string]any{"getPost": got, "syncPosts": items[0].(map[string]any)} {
		if it["secret"] != nil || it["note"] != nil || it["title"] != "t" {
			t.Errorf("%s answered %v, want secret and note null", what, it)
		}
	}
	// A denied relation field reads as null; the caller still reads the
	// related model itself.
	const withComments = "query operation($id: ID!) { getPost(id: $id) { id comments { items { id } } } }"
	const createComment = "mutation operation($input: CreateCommentInput!) { createComment(input: $input) { id } }"
	mustOK(t, e.doAs(t, red, createComment, map[string]any{"input": map[string]any{"id": "c1", "text": "x", "postCommentsId": "p1"}}))
	if c := mustOK(t, e.doAs(t, full, withComments, map[string]any{"id": "p1"})).field("getPost")["comments"]; c == nil {
		t.Fatal("the post's comments are null for a caller without deniedFields")
	}
	if p := mustOK(t, e.doAs(t, red, withComments, map[string]any{"id": "p1"})).field("getPost"); p["comments"] != nil {
		t.Errorf("denied Post.comments answered %v, want null", p["comments"])
	}
	// A denied mutation field writes nothing.
	r := e.doAs(t, red, lambdaDelete, map[string]any{"input": map[string]any{"id": "p1", "_version": 1}})
	if r.errType(t) != appsync.Unauthorized || r.field("deletePost") != nil {
		t.Errorf("a denied deletePost: %s, want Unauthorized and null", r.Raw)
	}
	if it := mustOK(t, e.doAs(t, full, lambdaGet, map[string]any{"id": "p1"})).field("getPost"); it["_deleted"] == true {
		t.Error("a denied deletePost deleted the post")
	}
}

func TestLambdaDecisionCache(t *testing.T) {
	clock := newClock()
	e, hook := lambdaEnv(t, clock)
	lam := lambdaCaller("lambda-c")
	for range 3 {
		mustOK(t, e.doAs(t, lam, lambdaSync, map[string]any{"limit": 10}))
	}
	if n := hook.count("lambda-c"); n != 1 {
		t.Fatalf("3 requests within the TTL: %d webhook calls, want 1", n)
	}
	clock.Advance(time.Minute + time.Second)
	mustOK(t, e.doAs(t, lam, lambdaSync, map[string]any{"limit": 10}))
	if n := hook.count("lambda-c"); n != 2 {
		t.Fatalf("a request after the TTL: %d webhook calls in all, want 2", n)
	}
}

// TestLambdaWebhookDown: a webhook that fails is answered 503 with
// Retry-After (clients retry; DataStore keeps its mutations), not 401.
func TestLambdaWebhookDown(t *testing.T) {
	clock := newClock()
	e, hook := lambdaEnv(t, clock)
	hook.down.Store(true)
	r := e.doAs(t, lambdaCaller("lambda-d"), lambdaSync, map[string]any{"limit": 10})
	if r.Status != http.StatusServiceUnavailable || r.errType(t) != auth.ErrorTypeUnavailable || !strings.Contains(r.Errors[0].Message, "authorizer webhook") {
		t.Fatalf("webhook down: %d %s, want 503 %s naming the webhook", r.Status, r.Raw, auth.ErrorTypeUnavailable)
	}
	status, _, err := e.postRaw([]byte(`{"query":"query { syncPosts { items { id } } }"}`), lambdaCaller("lambda-d"))
	if err != nil || status != http.StatusServiceUnavailable {
		t.Fatalf("webhook down: %d, %v", status, err)
	}
	// On the real-time connection: connection_error with errorCode 503,
	// which clients retry (401 would make amplify-js give up).
	c := e.dialWS(t, map[string]string{"host": strings.TrimPrefix(e.ts.URL, "http://"), "Authorization": "lambda-d"})
	c.send(appsync.Message{Type: appsync.MsgConnectionInit})
	m := c.next()
	if m.Type != appsync.MsgConnectionError || errorsOf(t, m)[0].ErrorCode != 503 {
		t.Errorf("connection_init while the webhook is down: %s %s, want connection_error with errorCode 503", m.Type, m.Payload)
	}
	// The failure is held a second per token, so retries do not storm the
	// webhook; then the token is asked about again.
	if n := hook.count("lambda-d"); n != 1 {
		t.Errorf("3 requests within a second of a failure called the webhook %d times, want 1", n)
	}
	hook.down.Store(false)
	clock.Advance(time.Second)
	mustOK(t, e.doAs(t, lambdaCaller("lambda-d"), lambdaSync, map[string]any{"limit": 10}))
}

func TestLambdaSubscription(t *testing.T) {
	e, _ := lambdaEnv(t, nil)
	host := strings.TrimPrefix(e.ts.URL, "http://")
	// As Amplify in AWS_LAMBDA mode: {Authorization: <token>, host} in the
	// connection header and in each start message.
	authz := map[string]string{"host": host, "Authorization": "lambda-s"}
	c := e.dialWS(t, authz)
	c.init()
	c.subscribe("all", lambdaOnCreate, nil, authz)
	redz := map[string]string{"host": host, "Authorization": "lambda-redacted"}
	c.subscribe("red", lambdaOnCreate, nil, redz)

	mustOK(t, e.doAs(t, bearer(t, "alice"), lambdaCreate, map[string]any{"input": map[string]any{"id": "p1", "title": "t", "secret": "s"}}))
	got := map[string]map[string]any{}
	for range 2 {
		m := c.next()
		if m.Type != appsync.MsgData {
			t.Fatalf("want data, got %s: %s", m.Type, m.Payload)
		}
		got[m.ID] = decodeResult(t, 200, m.Payload).field("onCreatePost")
	}
	if got["all"]["id"] != "p1" || got["all"]["secret"] != "s" {
		t.Errorf("the Lambda subscriber got %v, want p1 with its secret", got["all"])
	}
	if got["red"]["id"] != "p1" || got["red"]["secret"] != nil {
		t.Errorf("the subscriber with deniedFields got %v, want p1 with secret null", got["red"])
	}

	// A refused token cannot connect: connection_error 401.
	bad := e.dialWS(t, map[string]string{"host": host, "Authorization": "nope"})
	bad.send(appsync.Message{Type: appsync.MsgConnectionInit})
	m := bad.next()
	if m.Type != appsync.MsgConnectionError {
		t.Fatalf("refused token: %s %s, want connection_error", m.Type, m.Payload)
	}
	if errs := errorsOf(t, m); errs[0].ErrorCode != 401 {
		t.Errorf("refused token: %s, want errorCode 401", m.Payload)
	}
	// A refused token in a start message on an accepted connection.
	c.send(startMsg(t, "bad", lambdaOnCreate, nil, map[string]string{"host": host, "Authorization": "nope"}))
	if errs := errorsOf(t, c.expect(appsync.MsgError, "bad")); errs[0].ErrorType != appsync.UnauthorizedExc {
		t.Errorf("start with a refused token: %v, want UnauthorizedException", errs[0])
	}
}

// TestLambdaCallerConflictIdentity: the custom conflict handler is told a
// Lambda caller's identity as AppSync tells a conflict Lambda:
// {"resolverContext": <the authorizer's resolverContext>}.
func TestLambdaCallerConflictIdentity(t *testing.T) {
	hook := newAuthorizer(t)
	conflicts := &conflictHook{}
	hs := httptest.NewServer(conflicts)
	t.Cleanup(hs.Close)
	e := newEnv(t, envOptions{schema: testenv.LoadSchema(t, lambdaSchema), config: func(c *serve.Config) {
		c.Auth.Lambda = &auth.LambdaConfig{URL: hook.ts.URL}
		c.Conflict = map[string]serve.Strategy{"Post": serve.Custom}
		c.ConflictWebhook = hs.URL
	}})
	lam := lambdaCaller("lambda-x")
	const update = "mutation operation($input: UpdatePostInput!) { updatePost(input: $input) { " + lambdaFields + " } }"
	mustOK(t, e.doAs(t, lam, lambdaCreate, map[string]any{"input": map[string]any{"id": "p", "title": "t"}}))
	mustOK(t, e.doAs(t, lam, update, map[string]any{"input": map[string]any{"id": "p", "title": "t2", "_version": 1}}))
	conflicts.answer(`{"action":"REJECT"}`)
	e.doAs(t, lam, update, map[string]any{"input": map[string]any{"id": "p", "title": "stale", "_version": 1}})
	calls := conflicts.calls()
	if len(calls) != 1 {
		t.Fatalf("conflict webhook called %d times, want 1", len(calls))
	}
	id, _ := calls[0]["identity"].(map[string]any)
	rc, _ := id["resolverContext"].(map[string]any)
	if rc["user"] != "lambda-x" {
		t.Errorf("conflict payload identity %v, want the authorizer's resolverContext", calls[0]["identity"])
	}
}
