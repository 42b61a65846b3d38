package serve_test

import (
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// Owners are stored as AppSync v2 stores them, "<sub>::<username>", while
// clients name them in other forms: Amplify DataStore in user pool mode
// subscribes with owner: "<username>", and records written by older clients
// hold the bare user name or the bare sub. Every form of the caller's
// identity must select the caller's records, and no form of anyone else's.

// ownerForms are alice's identity forms as jwtFor mints her token.
var ownerForms = []string{"alice-sub::alice", "alice", "alice-sub"}

func TestOwnerSubscriptionArgumentForms(t *testing.T) {
	e := ownerEnv(t, ownerSchema)
	alice, bob := bearer(t, "alice"), bearer(t, "bob")
	authz := map[string]string{"host": "127.0.0.1", "Authorization": alice["authorization"]}

	// One subscription per form alice may name herself by, DataStore's
	// bare user name first; all on one socket, as DataStore does.
	c := e.dialWS(t, authz)
	c.init()
	for _, form := range ownerForms {
		c.subscribe("sub-"+form, ownerOnUpdate, map[string]any{"owner": form}, authz)
	}
	for _, other := range []string{"bob", "bob-sub::bob", "bob-sub", "alice-sub::bob", "bob-sub::alice"} {
		id := "other-" + other
		c.send(startMsg(t, id, ownerOnUpdate, map[string]any{"owner": other}, authz))
		if errs := errorsOf(t, c.expect(appsync.MsgError, id)); errs[0].ErrorType != appsync.Unauthorized {
			t.Errorf("onUpdatePost(owner: %q) for alice: errorType %q, want Unauthorized", other, errs[0].ErrorType)
		}
	}

	// Records of alice in each stored form: the default (sub::username,
	// set by the server) and the bare forms older clients wrote.
	create := func(user map[string]string, input map[string]any) map[string]any {
		t.Helper()
		return mustOK(t, e.doAs(t, user, ownerCreateDoc, map[string]any{"input": input})).field("createPost")
	}
	if got := create(alice, map[string]any{"id": "composite", "title": "t"})["owner"]; got != "alice-sub::alice" {
		t.Fatalf("create without owner stored %v, want alice-sub::alice", got)
	}
	create(alice, map[string]any{"id": "bare-user", "title": "t", "owner": "alice"})
	create(alice, map[string]any{"id": "bare-sub", "title": "t", "owner": "alice-sub"})
	create(bob, map[string]any{"id": "bobs", "title": "t"})

	// Bob's update comes first: no subscription of alice may deliver it.
	mustOK(t, e.doAs(t, bob, ownerUpdateDoc, map[string]any{"input": map[string]any{"id": "bobs", "title": "t2", "_version": 1}}))
	for _, id := range []string{"composite", "bare-user", "bare-sub"} {
		mustOK(t, e.doAs(t, alice, ownerUpdateDoc, map[string]any{"input": map[string]any{"id": id, "title": "t2", "_version": 1}}))
	}
	// Each subscription receives alice's three updates, in commit order,
	// and nothing of bob's (it would come first).
	got := map[string][]string{}
	for range 3 * len(ownerForms) {
		m := c.next()
		if m.Type != appsync.MsgData {
			t.Fatalf("want a data frame, got %s for %q: %s", m.Type, m.ID, m.Payload)
		}
		item := decodeResult(t, 200, m.Payload).field("onUpdatePost")
		got[m.ID] = append(got[m.ID], item["id"].(string))
	}
	for _, form := range ownerForms {
		if ids := got["sub-"+form]; len(ids) != 3 || ids[0] != "composite" || ids[1] != "bare-user" || ids[2] != "bare-sub" {
			t.Errorf("onUpdatePost(owner: %q) delivered %v, want [composite bare-user bare-sub]", form, ids)
		}
	}
}

func TestOwnerStoredFormsReadAndWrite(t *testing.T) {
	e := ownerEnv(t, ownerSchema)
	alice, bob := bearer(t, "alice"), bearer(t, "bob")
	stored := map[string]string{"composite": "alice-sub::alice", "bare-user": "alice", "bare-sub": "alice-sub"}
	for id, owner := range stored {
		in := map[string]any{"id": id, "title": id}
		if owner != "alice-sub::alice" {
			in["owner"] = owner
		}
		got := mustOK(t, e.doAs(t, alice, ownerCreateDoc, map[string]any{"input": in})).field("createPost")
		if got["owner"] != owner {
			t.Fatalf("create %s stored owner %v, want %q", id, got["owner"], owner)
		}
	}
	mustOK(t, e.doAs(t, bob, ownerCreateDoc, map[string]any{"input": map[string]any{"id": "bobs", "title": "b"}}))
	// Alice may not create in bob's name, in any of his forms.
	for _, forged := range []string{"bob", "bob-sub", "bob-sub::bob"} {
		r := e.doAs(t, alice, ownerCreateDoc, map[string]any{"input": map[string]any{"id": "forged-" + forged, "title": "x", "owner": forged}})
		if typ := r.errType(t); typ != appsync.Unauthorized {
			t.Errorf("alice creating with owner %q: errorType %q, want Unauthorized", forged, typ)
		}
	}

	const getDoc = "query operation($id: ID!) { getPost(id: $id) { " + ownerFields + " } }"
	for id := range stored {
		if got := mustOK(t, e.doAs(t, alice, getDoc, map[string]any{"id": id})).field("getPost"); got["id"] != id {
			t.Errorf("alice getPost(%s) = %v", id, got)
		}
		if r := e.doAs(t, bob, getDoc, map[string]any{"id": id}); r.errType(t) != appsync.Unauthorized {
			t.Errorf("bob getPost(%s): %s, want Unauthorized", id, r.Raw)
		}
	}
	for _, q := range []struct{ doc, field string }{{ownerSyncDoc, "syncPosts"}, {ownerListDoc, "listPosts"}} {
		got := e.ownerItems(t, alice, q.doc, q.field)
		if len(got) != 3 || got["composite"] == nil || got["bare-user"] == nil || got["bare-sub"] == nil {
			t.Errorf("%s for alice: %v, want her three records", q.field, keys(got))
		}
		if got := e.ownerItems(t, bob, q.doc, q.field); len(got) != 1 || got["bobs"] == nil {
			t.Errorf("%s for bob: %v, want only bobs", q.field, keys(got))
		}
	}

	for id := range stored {
		if r := e.doAs(t, bob, ownerUpdateDoc, map[string]any{"input": map[string]any{"id": id, "title": "bob was here", "_version": 1}}); r.errType(t) != appsync.Unauthorized {
			t.Errorf("bob updating %s: %s, want Unauthorized", id, r.Raw)
		}
		up := mustOK(t, e.doAs(t, alice, ownerUpdateDoc, map[string]any{"input": map[string]any{"id": id, "title": "edited", "_version": 1}})).field("updatePost")
		if up["title"] != "edited" || up["owner"] != stored[id] || num(t, up["_version"]) != 2 {
			t.Errorf("alice updating %s: %v, want title edited, owner %q kept, _version 2", id, up, stored[id])
		}
		if r := e.doAs(t, bob, ownerDeleteDoc, map[string]any{"input": map[string]any{"id": id, "_version": 2}}); r.errType(t) != appsync.Unauthorized {
			t.Errorf("bob deleting %s: %s, want Unauthorized", id, r.Raw)
		}
		del := mustOK(t, e.doAs(t, alice, ownerDeleteDoc, map[string]any{"input": map[string]any{"id": id, "_version": 2}})).field("deletePost")
		if del["_deleted"] != true {
			t.Errorf("alice deleting %s: %v", id, del)
		}
	}
	// An update may move a record between alice's own forms, not to bob.
	mustOK(t, e.doAs(t, alice, ownerCreateDoc, map[string]any{"input": map[string]any{"id": "moving", "title": "m"}}))
	mustOK(t, e.doAs(t, alice, ownerUpdateDoc, map[string]any{"input": map[string]any{"id": "moving", "owner": "alice", "_version": 1}}))
	if r := e.doAs(t, alice, ownerUpdateDoc, map[string]any{"input": map[string]any{"id": "moving", "owner": "bob", "_version": 2}}); r.errType(t) != appsync.Unauthorized {
		t.Errorf("alice handing her record to bob: %s, want Unauthorized", r.Raw)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
