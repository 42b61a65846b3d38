package serve_test

import (
	"encoding/json"
	"testing"

	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// TestValidationErrorsAppSyncWording: documents that fail validation are
// answered in AppSync's words ("Validation error of type FieldUndefined:
// ..."), which clients and their users match, over HTTP (net/http and the
// server's own listener, the fast path) and in a subscription's start
// over the WebSocket.
func TestValidationErrorsAppSyncWording(t *testing.T) {
	e := newEnv(t, envOptions{})
	fast := "http://" + testenv.ServeListener(t, e.srv) + "/graphql"
	for _, tc := range []struct{ name, doc, want string }{
		{"FieldUndefined", `query { listPostz { items { id } } }`,
			"Validation error of type FieldUndefined: Field 'listPostz' in type 'Query' is undefined @ 'listPostz'"},
		{"FieldUndefined in a mutation's selection", `mutation { createPost(input: {title: "t"}) { id owner } }`,
			"Validation error of type FieldUndefined: Field 'owner' in type 'Post' is undefined @ 'createPost/owner'"},
		{"MissingFieldArgument", `query { getPost { id } }`,
			"Validation error of type MissingFieldArgument: Missing field argument id @ 'getPost'"},
		{"SubSelectionRequired", `query { listPosts }`,
			"Validation error of type SubSelectionRequired: Sub selection required for type ModelPostConnection of field listPosts @ 'listPosts'"},
		{"UnknownType", `query operation($lastSync: AWSTimestampz) { syncPosts(limit: 1) { startedAt } }`,
			"Validation error of type UnknownType: Unknown type AWSTimestampz"},
		{"WrongType", `query { getPost(id: {a: 1}) { id } }`,
			"Validation error of type WrongType: argument 'id' with value 'ObjectValue{objectFields=[ObjectField{name='a', value=IntValue{value=1}}]}' is not a valid 'ID' @ 'getPost'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := json.Marshal(appsync.Request{Query: tc.doc, Variables: map[string]any{}})
			if err != nil {
				t.Fatal(err)
			}
			for path, url := range map[string]string{"net/http": e.ts.URL + "/graphql", "fast path": fast} {
				r := postTo(t, url, body, e.headers)
				if !hasError(r.Errors, tc.want) {
					t.Errorf("%s: HTTP %d %s\nwant a ValidationError %q", path, r.Status, r.Raw, tc.want)
				}
				if r.Data != nil {
					t.Errorf("%s: data %v, want null", path, r.Data)
				}
			}
		})
	}

	ws := e.dialWS(t, e.authHeaders())
	ws.init()
	for id, tc := range map[string]struct{ doc, want string }{
		"unknown-arg": {`subscription operation { onCreatePost(owner: "x") { id } }`,
			"Validation error of type UnknownArgument: Unknown field argument owner @ 'onCreatePost'"},
		"unknown-field": {`subscription operation { onCreatePost { id owner } }`,
			"Validation error of type FieldUndefined: Field 'owner' in type 'Post' is undefined @ 'onCreatePost/owner'"},
		"unknown-sub": {`subscription operation { onCreatePostz { id } }`,
			"Validation error of type FieldUndefined: Field 'onCreatePostz' in type 'Subscription' is undefined @ 'onCreatePostz'"},
	} {
		ws.send(startMsg(t, id, tc.doc, nil, e.authHeaders()))
		if errs := errorsOf(t, ws.expect(appsync.MsgError, id)); !hasError(errs, tc.want) {
			t.Errorf("start %s: errors %v\nwant a ValidationError %q", id, errs, tc.want)
		}
	}
}

// hasError reports whether errs hold a ValidationError worded want.
func hasError(errs []*appsync.Error, want string) bool {
	for _, e := range errs {
		if e.Message == want && e.ErrorType == appsync.ValidationError {
			return true
		}
	}
	return false
}
