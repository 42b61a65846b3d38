package serve_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzGraphQLRequest posts random bodies through the handler: whatever
// arrives, the server answers with a JSON GraphQL response and a status it
// documents, and never panics.
func FuzzGraphQLRequest(f *testing.F) {
	for _, seed := range []string{
		`{"query":` + quote(wireCreatePost) + `,"variables":{"input":{"id":"f1","title":"Hello wire","rating":4,"status":"DRAFT"}}}`,
		`{"query":` + quote(wireUpdatePost) + `,"variables":{"input":{"id":"f1","rating":5,"_version":1},"condition":null}}`,
		`{"query":` + quote(wireDeletePost) + `,"variables":{"input":{"id":"f1","_version":2},"condition":null}}`,
		`{"query":` + quote(wireSyncPosts) + `,"variables":{"limit":1000,"nextToken":null,"lastSync":0,"filter":null}}`,
		`{"query":` + quote(wireSyncPosts) + `,"variables":{"limit":2,"nextToken":"eyJ9.AAAA","lastSync":1,"filter":{"and":[{"rating":{"between":[1,"x"]}}]}}}`,
		`{"query":` + quote(wireOnCreatePost) + `}`,
		`{"query":"{ __schema { types { name fields { name } } } }"}`,
		`{"query":"query { listPosts(filter: {title: {size: {gt: -1}}}) { items { id blog { posts { items { id } } } } } }"}`,
		`{"query":"mutation { createPost(input: {title: \"x\", rating: 99999999999}) { id } }"}`,
		`{"query":"query($f: ModelPostFilterInput) { syncPosts(filter: $f) { items { id } } }","variables":{"f":{"not":{"not":{"not":{}}}}}}`,
		`{"query": "{`, ``, `null`, `[]`, `{"query":5}`, `{"query":"{}","variables":[1]}`,
	} {
		f.Add([]byte(seed))
	}
	e := newEnv(f, envOptions{})
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("x-api-key", testAPIKey)
		req.Header.Set("content-type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("HTTP %d for %q: %s", rec.Code, body, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("Content-Type %q", ct)
		}
		var resp struct {
			Data   json.RawMessage   `json:"data"`
			Errors []json.RawMessage `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("response is not JSON (%v): %s", err, rec.Body)
		}
		if len(resp.Data) == 0 && len(resp.Errors) == 0 {
			t.Fatalf("response has neither data nor errors: %s", rec.Body)
		}
		if rec.Code != http.StatusOK && len(resp.Errors) == 0 {
			t.Fatalf("HTTP %d without errors: %s", rec.Code, rec.Body)
		}
	})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
