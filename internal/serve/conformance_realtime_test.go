package serve_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
)

func TestChecklist17_ConnectionHandshake(t *testing.T) {
	forEngines(t, testChecklist17_ConnectionHandshake)
}

func testChecklist17_ConnectionHandshake(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng, config: func(c *serve.Config) {
		c.Realtime.KeepAlive = 20 * time.Millisecond
	}})
	t.Run("header sub-protocol", func(t *testing.T) {
		c := e.dialWS(t, nil)
		if p := c.c.Subprotocol(); p != appsync.Subprotocol {
			t.Errorf("server selected sub-protocol %q, want graphql-ws", p)
		}
		ack := c.init()
		if ack.ConnectionTimeoutMs != 300000 {
			t.Errorf("connectionTimeoutMs %d, want AppSync's 300000", ack.ConnectionTimeoutMs)
		}
		// Keep-alives keep coming, far more often than the timeout.
		for kas := 0; kas < 3; {
			m, err := c.read()
			if err != nil {
				t.Fatalf("waiting for ka: %v", err)
			}
			if m.Type != appsync.MsgKeepAlive {
				t.Fatalf("unexpected %s frame: %s", m.Type, m.Payload)
			}
			kas++
		}
	})
	t.Run("header and payload query parameters", func(t *testing.T) {
		h, err := json.Marshal(e.authHeaders())
		if err != nil {
			t.Fatal(err)
		}
		url := e.wsURL() + "?header=" + base64.StdEncoding.EncodeToString(h) + "&payload=e30="
		c, _, err := e.dialRaw(t, url, []string{appsync.Subprotocol})
		if err != nil {
			t.Fatalf("dial with query auth: %v", err)
		}
		if p := c.c.Subprotocol(); p != appsync.Subprotocol {
			t.Errorf("server selected sub-protocol %q", p)
		}
		c.init()
		c.subscribe("s1", wireOnCreatePost, nil, e.authHeaders())
	})
	t.Run("without graphql-ws", func(t *testing.T) {
		_, resp, err := e.dialRaw(t, e.wsURL(), []string{"graphql-transport-ws"})
		if err == nil {
			t.Fatal("the upgrade succeeded without the graphql-ws sub-protocol")
		}
		if resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("refusal %v, want HTTP 400", resp)
		}
	})
}

func TestChecklist18_StartStopAndErrors(t *testing.T) {
	forEngines(t, testChecklist18_StartStopAndErrors)
}

func testChecklist18_StartStopAndErrors(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng})
	c := e.dialWS(t, nil)
	c.init()
	t.Run("start_ack", func(t *testing.T) {
		c.subscribe("ok-1", wireOnCreatePost, nil, e.authHeaders())
	})
	for name, query := range map[string]string{
		"syntax error":  "subscription { onCreatePost { id ",
		"unknown field": "subscription { onCreatePost { id nope } }",
		"not a sub":     "query { listPosts { items { id } } }",
	} {
		t.Run(name, func(t *testing.T) {
			id := "bad-" + strings.ReplaceAll(name, " ", "-")
			c.send(startMsg(t, id, query, nil, e.authHeaders()))
			errs := errorsOf(t, c.expect(appsync.MsgError, id))
			if errs[0].Message == "" {
				t.Errorf("error without a message: %+v", errs[0])
			}
		})
	}
	t.Run("bad start auth", func(t *testing.T) {
		h := e.authHeaders()
		h["x-api-key"] = "da2-wrong"
		c.send(startMsg(t, "bad-auth", wireOnCreatePost, nil, h))
		errs := errorsOf(t, c.expect(appsync.MsgError, "bad-auth"))
		if !strings.HasPrefix(errs[0].ErrorType, "Unauthorized") {
			t.Errorf("errorType %q, want Unauthorized", errs[0].ErrorType)
		}
	})
	t.Run("stop", func(t *testing.T) {
		c.send(appsync.Message{Type: appsync.MsgStop, ID: "ok-1"})
		c.expect(appsync.MsgComplete, "ok-1")
		// The stopped subscription gets nothing: the next frame after a
		// create is the other subscription's.
		c.subscribe("ok-2", wireOnCreatePost, nil, e.authHeaders())
		e.createPost(t, map[string]any{"id": "after-stop", "title": "t"})
		if got := c.data("ok-2", "onCreatePost"); got["id"] != "after-stop" {
			t.Errorf("got %v", got)
		}
	})
	t.Run("bad connection auth", func(t *testing.T) {
		h := e.authHeaders()
		h["x-api-key"] = "da2-wrong"
		bad := e.dialWS(t, h)
		bad.send(appsync.Message{Type: appsync.MsgConnectionInit})
		errs := errorsOf(t, bad.expect(appsync.MsgConnectionError, ""))
		if errs[0].ErrorCode != 401 || errs[0].ErrorType != appsync.UnauthorizedExc {
			t.Errorf("connection_error %+v, want UnauthorizedException 401", errs[0])
		}
		for {
			m, err := bad.read()
			if err != nil {
				if websocket.CloseStatus(err) == -1 {
					t.Errorf("connection ended without a close frame: %v", err)
				}
				break
			}
			if m.Type != appsync.MsgKeepAlive {
				t.Fatalf("after connection_error got %s", m.Type)
			}
		}
	})
}

func TestChecklist19_EventsReachEveryInstanceOnce(t *testing.T) {
	forEngines(t, testChecklist19_EventsReachEveryInstanceOnce)
}

func testChecklist19_EventsReachEveryInstanceOnce(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng})
	// A second instance over the same store, as behind a load balancer.
	_, ts2 := e.startServer(t, envOptions{})
	other := &env{store: e.store, ts: ts2, schema: e.schema, headers: e.headers}

	all := other.dialWS(t, nil)
	all.init()
	all.subscribe("c", wireOnCreatePost, nil, other.authHeaders())
	all.subscribe("u", wireOnUpdatePost, nil, other.authHeaders())
	all.subscribe("d", wireOnDeletePost, nil, other.authHeaders())
	five := e.dialWS(t, nil)
	five.init()
	const filtered = `subscription operation($filter: ModelSubscriptionPostFilterInput) { onCreatePost(filter: $filter) { id rating _version } }`
	five.subscribe("f", filtered, map[string]any{"filter": map[string]any{"rating": map[string]any{"eq": 5}}}, e.authHeaders())

	e.createPost(t, map[string]any{"id": "r3", "title": "t", "rating": 3})
	e.createPost(t, map[string]any{"id": "r5", "title": "t", "rating": 5})
	mustOK(t, e.updatePost(t, map[string]any{"id": "r5", "title": "t2", "_version": 1}))
	mustOK(t, e.deletePost(t, "r5", 2))
	// A last matching create: frames arrive in order, so anything sent
	// twice, or sent despite the filter, would come before it.
	e.createPost(t, map[string]any{"id": "last", "title": "t", "rating": 5})

	for _, want := range []struct{ id, field, item string }{
		{"c", "onCreatePost", "r3"}, {"c", "onCreatePost", "r5"}, {"u", "onUpdatePost", "r5"},
		{"d", "onDeletePost", "r5"}, {"c", "onCreatePost", "last"},
	} {
		got := all.data(want.id, want.field)
		if got["id"] != want.item {
			t.Fatalf("%s: got %v, want %s", want.field, got["id"], want.item)
		}
		if want.field == "onDeletePost" && got["_deleted"] != true {
			t.Errorf("onDeletePost item %v is not a tombstone", got)
		}
	}
	for _, item := range []string{"r5", "last"} {
		if got := five.data("f", "onCreatePost"); got["id"] != item {
			t.Fatalf("filtered subscription got %v, want %s (rating 3 must not be sent)", got["id"], item)
		}
	}
}

func TestChecklist20_SubscriptionAndPayloadLimits(t *testing.T) {
	forEngines(t, testChecklist20_SubscriptionAndPayloadLimits)
}

func testChecklist20_SubscriptionAndPayloadLimits(t *testing.T, eng string) {
	t.Run("default 100 per connection", func(t *testing.T) {
		e := newEnv(t, envOptions{engine: eng})
		c := e.dialWS(t, nil)
		c.init()
		for i := range 100 {
			c.subscribe(fmt.Sprint("s", i), wireOnCreatePost, nil, e.authHeaders())
		}
		c.send(startMsg(t, "s100", wireOnCreatePost, nil, e.authHeaders()))
		errs := errorsOf(t, c.expect(appsync.MsgError, "s100"))
		if errs[0].ErrorType != appsync.MaxSubscriptions {
			t.Errorf("errorType %q, want MaxSubscriptionsReachedError", errs[0].ErrorType)
		}
	})
	t.Run("configured limit", func(t *testing.T) {
		e := newEnv(t, envOptions{engine: eng, config: func(c *serve.Config) { c.Realtime.MaxSubscriptions = 3 }})
		c := e.dialWS(t, nil)
		c.init()
		for i := range 3 {
			c.subscribe(fmt.Sprint("s", i), wireOnCreatePost, nil, e.authHeaders())
		}
		c.send(startMsg(t, "s3", wireOnCreatePost, nil, e.authHeaders()))
		if errs := errorsOf(t, c.expect(appsync.MsgError, "s3")); errs[0].ErrorType != appsync.MaxSubscriptions {
			t.Errorf("errorType %q", errs[0].ErrorType)
		}
		// A stop frees a slot.
		c.send(appsync.Message{Type: appsync.MsgStop, ID: "s0"})
		c.expect(appsync.MsgComplete, "s0")
		c.subscribe("s4", wireOnCreatePost, nil, e.authHeaders())
	})
	t.Run("oversize message", func(t *testing.T) {
		e := newEnv(t, envOptions{engine: eng, config: func(c *serve.Config) { c.Realtime.MaxMessageBytes = 4096 }})
		c := e.dialWS(t, nil)
		c.init()
		big := wireOnCreatePost + "# " + strings.Repeat("x", 8192) + "\n"
		c.send(startMsg(t, "big", big, nil, e.authHeaders()))
		for {
			m, err := c.read()
			if err != nil {
				if st := websocket.CloseStatus(err); st != websocket.StatusMessageTooBig {
					t.Errorf("connection ended with %v (status %d), want close 1009", err, st)
				}
				return
			}
			if m.Type != appsync.MsgKeepAlive {
				t.Fatalf("an oversize start got %s: it must be rejected, not truncated", m.Type)
			}
		}
	})
}

// ownerSchema is a Post only its owner may read or write.
const ownerSchema = `type Post @model @auth(rules: [{allow: owner}]) {
  id: ID!
  title: String!
  owner: String
}
`

// The owner model's documents, in the client's style (the owner field is in
// DataStore's selection set under owner auth).
const (
	ownerFields     = "id title owner _version _lastChangedAt _deleted"
	ownerCreateDoc  = "mutation operation($input: CreatePostInput!) { createPost(input: $input) { " + ownerFields + " } }"
	ownerUpdateDoc  = "mutation operation($input: UpdatePostInput!, $condition: ModelPostConditionInput) { updatePost(input: $input, condition: $condition) { " + ownerFields + " } }"
	ownerDeleteDoc  = "mutation operation($input: DeletePostInput!, $condition: ModelPostConditionInput) { deletePost(input: $input, condition: $condition) { " + ownerFields + " } }"
	ownerSyncDoc    = "query operation($limit: Int, $nextToken: String, $lastSync: AWSTimestamp, $filter: ModelPostFilterInput) { syncPosts(limit: $limit, nextToken: $nextToken, lastSync: $lastSync, filter: $filter) { items { " + ownerFields + " } nextToken startedAt } }"
	ownerListDoc    = "query operation($filter: ModelPostFilterInput, $limit: Int, $nextToken: String) { listPosts(filter: $filter, limit: $limit, nextToken: $nextToken) { items { " + ownerFields + " } nextToken } }"
	ownerOnUpdate   = "subscription operation($owner: String) { onUpdatePost(owner: $owner) { " + ownerFields + " } }"
	ownerOnUpdateNo = "subscription operation { onUpdatePost { " + ownerFields + " } }"
)

var jwtSecret = []byte("conformance-suite-hs256-secret!!")

// ownerEnv starts a server with JWT auth and API keys over src.
func ownerEnv(t *testing.T, src string) *env { return ownerEnvOn(t, "badger", src) }

// ownerEnvOn is ownerEnv on engine eng.
func ownerEnvOn(t *testing.T, eng, src string) *env {
	return newEnv(t, envOptions{engine: eng, schema: testenv.LoadSchema(t, src), config: func(c *serve.Config) {
		c.Auth.JWT = &auth.JWTConfig{HS256Secret: jwtSecret}
	}})
}

// bearer returns the request headers of user.
func bearer(t testing.TB, user string) map[string]string {
	return map[string]string{"authorization": jwtFor(t, jwtSecret, user, time.Now())}
}

// ownerItems pages a connection query for user and returns the items.
func (e *env) ownerItems(t *testing.T, user map[string]string, doc, field string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	var token any
	for {
		conn := mustOK(t, e.doAs(t, user, doc, map[string]any{"limit": 2, "nextToken": token})).field(field)
		for _, it := range conn["items"].([]any) {
			it := it.(map[string]any)
			out[it["id"].(string)] = it
		}
		next, _ := conn["nextToken"].(string)
		if next == "" {
			return out
		}
		token = next
	}
}

func TestChecklist21_OwnerAuth(t *testing.T) { forEngines(t, testChecklist21_OwnerAuth) }

func testChecklist21_OwnerAuth(t *testing.T, eng string) {
	e := ownerEnvOn(t, eng, ownerSchema)
	alice, bob := bearer(t, "alice"), bearer(t, "bob")
	create := func(user map[string]string, id string) map[string]any {
		return mustOK(t, e.doAs(t, user, ownerCreateDoc, map[string]any{"input": map[string]any{"id": id, "title": id}})).field("createPost")
	}
	a1 := create(alice, "a1")
	create(alice, "a2")
	create(bob, "b1")
	create(bob, "b2")
	if a1["owner"] != "alice-sub::alice" {
		t.Errorf("owner set to %v, want AppSync v2's sub::username", a1["owner"])
	}
	mustOK(t, e.doAs(t, alice, ownerDeleteDoc, map[string]any{"input": map[string]any{"id": "a2", "_version": 1}}))

	t.Run("sync and list", func(t *testing.T) {
		for _, q := range []struct{ doc, field string }{{ownerSyncDoc, "syncPosts"}, {ownerListDoc, "listPosts"}} {
			got := e.ownerItems(t, alice, q.doc, q.field)
			if len(got) != 2 || got["a1"] == nil || got["a2"] == nil || got["a2"]["_deleted"] != true {
				t.Errorf("%s for alice: %v, want a1 and the tombstone of a2", q.field, got)
			}
			if got := e.ownerItems(t, bob, q.doc, q.field); len(got) != 2 || got["b1"] == nil || got["b2"] == nil {
				t.Errorf("%s for bob: %v, want b1 and b2", q.field, got)
			}
		}
	})
	t.Run("subscriptions", func(t *testing.T) {
		c := e.dialWS(t, map[string]string{"host": "127.0.0.1", "Authorization": alice["authorization"]})
		c.init()
		authz := map[string]string{"host": "127.0.0.1", "Authorization": alice["authorization"]}
		for _, other := range []string{"bob", "bob-sub::bob", "bob-sub"} {
			id := "other-" + other
			c.send(startMsg(t, id, ownerOnUpdate, map[string]any{"owner": other}, authz))
			if errs := errorsOf(t, c.expect(appsync.MsgError, id)); errs[0].ErrorType != appsync.Unauthorized {
				t.Errorf("onUpdatePost(owner: %q) for alice: errorType %q, want Unauthorized", other, errs[0].ErrorType)
			}
		}
		c.subscribe("mine", ownerOnUpdateNo, nil, authz)
		mustOK(t, e.doAs(t, bob, ownerUpdateDoc, map[string]any{"input": map[string]any{"id": "b1", "title": "b1'", "_version": 1}}))
		mustOK(t, e.doAs(t, alice, ownerUpdateDoc, map[string]any{"input": map[string]any{"id": "a1", "title": "a1'", "_version": 1}}))
		if got := c.data("mine", "onUpdatePost"); got["id"] != "a1" {
			t.Errorf("alice's onUpdatePost delivered %v, want only her a1", got["id"])
		}
	})
	t.Run("API key without a public rule", func(t *testing.T) {
		r := e.do(t, ownerSyncDoc, map[string]any{})
		if typ := r.errType(t); typ != appsync.Unauthorized {
			t.Errorf("sync with an API key: errorType %q, want Unauthorized", typ)
		}
		r = e.do(t, ownerCreateDoc, map[string]any{"input": map[string]any{"id": "k1", "title": "k"}})
		if typ := r.errType(t); typ != appsync.Unauthorized {
			t.Errorf("create with an API key: errorType %q, want Unauthorized", typ)
		}
	})
	t.Run("API key with a public rule", func(t *testing.T) {
		pub := ownerEnvOn(t, eng, strings.Replace(ownerSchema, "{allow: owner}", "{allow: owner}, {allow: public}", 1))
		mustOK(t, pub.doAs(t, bearer(t, "alice"), ownerCreateDoc, map[string]any{"input": map[string]any{"id": "a1", "title": "a"}}))
		if got := pub.ownerItems(t, nil, ownerSyncDoc, "syncPosts"); len(got) != 1 {
			t.Errorf("API key sync under a public rule: %v", got)
		}
	})
}
