package serve_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// snapshot is every Post as a base sync returns it, for "nothing changed".
func (e *env) snapshot(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal(e.syncAll(t, nil, 0, 0, nil).byID(t))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// typeError stands for a value of the wrong type or range: refused by
// GraphQL coercion or by the resolver (ValidationError or BadRequest, both
// HTTP 200 with data null).
const typeError = "type error"

// checkRefused asserts r is the expected error and names what is wrong.
func checkRefused(t *testing.T, r gqlResult, status int, errorType, mentions string) {
	t.Helper()
	if errorType == typeError && len(r.Errors) > 0 {
		errorType, status = appsync.ValidationError, http.StatusOK
		if r.Errors[0].ErrorType == appsync.BadRequest {
			errorType = appsync.BadRequest
		}
	}
	if r.Status != status {
		t.Errorf("HTTP %d, want %d: %s", r.Status, status, r.Raw)
	}
	// A document refused by validation is answered 200 with "data": null,
	// as AppSync answers it; a 4xx answer carries errors only.
	if errorType == appsync.ValidationError && status == http.StatusOK && !bytes.HasPrefix(r.Raw, []byte(`{"data":null,"errors":[`)) {
		t.Errorf("want \"data\": null before the errors: %s", r.Raw)
	}
	if status >= 400 && bytes.HasPrefix(r.Raw, []byte(`{"data":`)) {
		t.Errorf("HTTP %d answer carries data: %s", status, r.Raw)
	}
	if len(r.Errors) == 0 {
		t.Fatalf("no error: %s", r.Raw)
	}
	if r.Errors[0].ErrorType != errorType {
		t.Errorf("errorType %q, want %q: %s", r.Errors[0].ErrorType, errorType, r.Raw)
	}
	if !strings.Contains(r.Errors[0].Message, mentions) {
		t.Errorf("message %q does not mention %q", r.Errors[0].Message, mentions)
	}
}

func TestBadInputRequests(t *testing.T) {
	clk := &testClock{t: time.Now()}
	e := newEnv(t, envOptions{clock: clk, config: func(c *serve.Config) {
		c.MaxBodyBytes = 8 << 10
		c.Auth.APIKeys = append(c.Auth.APIKeys, auth.APIKey{Key: "da2-expired", Expires: clk.Now().Add(-time.Hour)})
		c.Auth.JWT = &auth.JWTConfig{HS256Secret: jwtSecret}
	}})
	e.createPost(t, map[string]any{"id": "p1", "title": "t", "rating": 1})
	before := e.snapshot(t)

	create := func(input map[string]any) []byte {
		b, _ := json.Marshal(appsync.Request{Query: wireCreatePost, Variables: map[string]any{"input": input}})
		return b
	}
	expiredJWT, err := auth.SignHS256(jwtSecret, map[string]any{"sub": "u", "username": "u", "exp": clk.Now().Add(-time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	forgedJWT, err := auth.SignHS256([]byte("some-other-secret"), map[string]any{"sub": "u", "username": "u", "exp": clk.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		body      []byte
		headers   map[string]string
		status    int
		errorType string
		mentions  string
	}{
		{"malformed JSON", []byte(`{"query": "mutation {`), nil, 400, appsync.MalformedHTTPRequest, "JSON"},
		{"empty body", nil, nil, 400, appsync.MalformedHTTPRequest, "empty"},
		{"two JSON values", []byte(`{"query":"{ __typename }"} {}`), nil, 400, appsync.MalformedHTTPRequest, "more than one"},
		{"no query", []byte(`{"variables":{}}`), nil, 400, appsync.MalformedHTTPRequest, "query"},
		{"invalid GraphQL", []byte(`{"query":"mutation { createPost(input: {title: \"x\"}) { id "}`), nil, 400, appsync.ValidationError, ""},
		{"wrong variable type", create(map[string]any{"id": "x1", "title": 5}), nil, 0, typeError, "title"},
		{"missing required field", create(map[string]any{"id": "x1"}), nil, 200, appsync.ValidationError, "title"},
		{"unknown input field", create(map[string]any{"id": "x1", "title": "t", "bogus": 1}), nil, 200, appsync.ValidationError, "bogus"},
		{"null for a required field", create(map[string]any{"id": "x1", "title": nil}), nil, 200, appsync.ValidationError, "$input.title of type CreatePostInput!: cannot be null"},
		{"input not an object", []byte(`{"query":` + fmt.Sprintf("%q", wireCreatePost) + `,"variables":{"input":"x1"}}`), nil, 200, appsync.ValidationError, "$input of type CreatePostInput!: must be a CreatePostInput"},
		{"no input", []byte(`{"query":` + fmt.Sprintf("%q", wireCreatePost) + `,"variables":{}}`), nil, 200, appsync.ValidationError, "$input of type CreatePostInput!: must be defined"},
		{"variables not an object", []byte(`{"query":"{ __typename }","variables":[1]}`), nil, 400, appsync.MalformedHTTPRequest, "Request.variables"},
		{"fraction for Int", create(map[string]any{"id": "x1", "title": "t", "rating": 1.5}), nil, 0, typeError, "$input.rating: 1.5 is not an integer"},
		{"boolean for String", create(map[string]any{"id": "x1", "title": true}), nil, 0, typeError, "title"},
		{"unknown selected field", []byte(`{"query":"query { syncPosts { items { id nope } } }"}`), nil, 200, appsync.ValidationError, "nope"},
		{"unknown enum value", create(map[string]any{"id": "x1", "title": "t", "status": "draft"}), nil, 200, appsync.ValidationError, "status"},
		{"Int out of 32-bit range", create(map[string]any{"id": "x1", "title": "t", "rating": 3000000000}), nil, 0, typeError, "rating"},
		{"Int out of 32-bit range on update", []byte(`{"query":` + fmt.Sprintf("%q", wireUpdatePost) + `,"variables":{"input":{"id":"p1","rating":-2147483649,"_version":1}}}`), nil, 0, typeError, "rating"},
		{"oversize body", create(map[string]any{"id": "x1", "title": strings.Repeat("x", 9<<10)}), nil, 413, appsync.RequestTooLarge, "limit"},
		{"no credentials", create(map[string]any{"id": "x1", "title": "t"}), map[string]string{}, 401, appsync.UnauthorizedExc, ""},
		{"bad API key", create(map[string]any{"id": "x1", "title": "t"}), map[string]string{"x-api-key": "da2-nope"}, 401, appsync.UnauthorizedExc, ""},
		{"expired API key", create(map[string]any{"id": "x1", "title": "t"}), map[string]string{"x-api-key": "da2-expired"}, 401, appsync.UnauthorizedExc, "expired"},
		{"garbage JWT", create(map[string]any{"id": "x1", "title": "t"}), map[string]string{"authorization": "not.a.jwt"}, 401, appsync.UnauthorizedExc, ""},
		{"JWT of another key", create(map[string]any{"id": "x1", "title": "t"}), map[string]string{"authorization": forgedJWT}, 401, appsync.UnauthorizedExc, ""},
		{"expired JWT", create(map[string]any{"id": "x1", "title": "t"}), map[string]string{"authorization": expiredJWT}, 401, appsync.UnauthorizedExc, "expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkRefused(t, e.post(t, c.body, c.headers), c.status, c.errorType, c.mentions)
			if after := e.snapshot(t); after != before {
				t.Errorf("the store changed:\n%s\nwas\n%s", after, before)
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		resp, err := e.ts.Client().Get(e.ts.URL + "/graphql")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /graphql: HTTP %d, want 405", resp.StatusCode)
		}
	})
}

// eventSchema has AWS scalars whose formats the server must check.
const eventSchema = `type Event @model {
  id: ID!
  when: AWSDateTime
  email: AWSEmail
  day: AWSDate
  url: AWSURL
  ip: AWSIPAddress
  json: AWSJSON
}
`

func TestBadInputAWSScalars(t *testing.T) {
	e := newEnv(t, envOptions{schema: testenv.LoadSchema(t, eventSchema)})
	const create = `mutation($input: CreateEventInput!) { createEvent(input: $input) { id } }`
	const sync = `query { syncEvents { items { id } } }`
	mustOK(t, e.do(t, create, map[string]any{"input": map[string]any{
		"id": "ok", "when": "2026-03-01T12:00:00.000Z", "email": "a@b.example", "day": "2026-03-01",
		"url": "https://example.com/x", "ip": "127.0.0.1", "json": `{"a":1}`,
	}}))
	for field, bad := range map[string]string{
		"when": "yesterday", "email": "x", "day": "2026-13-45", "url": "not a url", "ip": "999.1.1.1", "json": "{not json",
	} {
		t.Run(field+"="+bad, func(t *testing.T) {
			r := e.do(t, create, map[string]any{"input": map[string]any{"id": "bad-" + field, field: bad}})
			if len(r.Errors) == 0 {
				t.Fatalf("accepted: %s", r.Raw)
			}
			// Either the variable coercion or the resolver may refuse it;
			// either way the caller learns which field is wrong.
			if typ := r.Errors[0].ErrorType; typ != appsync.ValidationError && typ != appsync.BadRequest {
				t.Errorf("errorType %q, want ValidationError or BadRequest", typ)
			}
			if !strings.Contains(r.Errors[0].Message, field) {
				t.Errorf("message %q does not name %s", r.Errors[0].Message, field)
			}
			items := mustOK(t, e.do(t, sync, nil)).field("syncEvents")["items"].([]any)
			if len(items) != 1 {
				t.Errorf("the store holds %d events, want only the valid one", len(items))
			}
		})
	}
}

func TestBadInputForgedNextToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seedPosts(t, "p", 10)
	_, next, _ := e.syncPage(t, nil, 3, nil, 0, nil)
	if next == "" {
		t.Fatal("no nextToken")
	}
	flipped := []byte(next)
	flipped[len(flipped)/3] ^= 0x01
	other := map[string]any{"rating": map[string]any{"gt": 1}}
	for name, vars := range map[string]map[string]any{
		"flipped byte":       {"limit": 3, "nextToken": string(flipped), "lastSync": 0, "filter": nil},
		"truncated":          {"limit": 3, "nextToken": next[:len(next)-4], "lastSync": 0, "filter": nil},
		"another filter":     {"limit": 3, "nextToken": next, "lastSync": 0, "filter": other},
		"another lastSync":   {"limit": 3, "nextToken": next, "lastSync": time.Now().UnixMilli(), "filter": nil},
		"not a token at all": {"limit": 3, "nextToken": "eyJ9", "lastSync": 0, "filter": nil},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, wireSyncPosts, vars)
			if typ := r.errType(t); typ != appsync.BadRequest {
				t.Errorf("errorType %q, want BadRequest", typ)
			}
			if !strings.Contains(r.Errors[0].Message, "nextToken") {
				t.Errorf("message %q does not name the nextToken", r.Errors[0].Message)
			}
		})
	}
	t.Run("a list token on sync", func(t *testing.T) {
		conn := mustOK(t, e.do(t, listPostsDoc, map[string]any{"limit": 3})).field("listPosts")
		r := e.do(t, wireSyncPosts, map[string]any{"limit": 3, "nextToken": conn["nextToken"], "lastSync": 0, "filter": nil})
		if typ := r.errType(t); typ != appsync.BadRequest {
			t.Errorf("errorType %q, want BadRequest", typ)
		}
	})
}

func TestBadInputForgedOwner(t *testing.T) {
	e := ownerEnv(t, ownerSchema)
	alice := bearer(t, "alice")
	mustOK(t, e.doAs(t, alice, ownerCreateDoc, map[string]any{"input": map[string]any{"id": "a1", "title": "a"}}))
	state := func() string {
		b, _ := json.Marshal(e.ownerItems(t, alice, ownerSyncDoc, "syncPosts"))
		return string(b)
	}
	before := state()
	for name, c := range map[string]struct {
		doc   string
		input map[string]any
	}{
		"create for someone else":   {ownerCreateDoc, map[string]any{"id": "a2", "title": "a", "owner": "bob-sub::bob"}},
		"create for a bare name":    {ownerCreateDoc, map[string]any{"id": "a3", "title": "a", "owner": "bob"}},
		"update handing it to bob":  {ownerUpdateDoc, map[string]any{"id": "a1", "owner": "bob-sub::bob", "_version": 1}},
		"update clearing the owner": {ownerUpdateDoc, map[string]any{"id": "a1", "owner": nil, "_version": 1}},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.doAs(t, alice, c.doc, map[string]any{"input": c.input})
			if typ := r.errType(t); typ != appsync.Unauthorized {
				t.Errorf("errorType %q, want Unauthorized: %s", typ, r.Raw)
			}
			if after := state(); after != before {
				t.Errorf("alice's items changed:\n%s\nwas\n%s", after, before)
			}
			bobs := e.ownerItems(t, bearer(t, "bob"), ownerSyncDoc, "syncPosts")
			if len(bobs) != 0 {
				t.Errorf("bob now owns %v", bobs)
			}
		})
	}
	t.Run("bob cannot touch alice's item", func(t *testing.T) {
		r := e.doAs(t, bearer(t, "bob"), ownerUpdateDoc, map[string]any{"input": map[string]any{"id": "a1", "title": "mine", "_version": 1}})
		if typ := r.errType(t); typ != appsync.Unauthorized {
			t.Errorf("errorType %q, want Unauthorized", typ)
		}
		r = e.doAs(t, bearer(t, "bob"), ownerDeleteDoc, map[string]any{"input": map[string]any{"id": "a1", "_version": 1}})
		if typ := r.errType(t); typ != appsync.Unauthorized {
			t.Errorf("errorType %q, want Unauthorized", typ)
		}
		if after := state(); after != before {
			t.Errorf("alice's items changed: %s", after)
		}
	})
}
