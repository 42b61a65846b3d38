package gqlexec

import (
	"context"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// TestExecuteAppendKeepsThePrefix: ExecuteAppend writes the same data as
// Execute after the buffer's contents, which it leaves alone, and measures
// the response limit from where the data starts.
func TestExecuteAppendKeepsThePrefix(t *testing.T) {
	const query = `{ listPosts(limit: 3) { id title blog { name } } }`
	e := New(testSchema(t), Options{})
	want := run(t, e, newTestResolver(), query, nil)
	wantNoErrors(t, want)
	op, errs := e.Prepare(appsync.Request{Query: query})
	if errs != nil {
		t.Fatal(errs[0])
	}
	prefix := `{"data":`
	resp, out := e.ExecuteAppend(context.Background(), op, newTestResolver(), append(make([]byte, 0, 4), prefix...))
	wantNoErrors(t, resp)
	if string(resp.Data) != string(want.Data) {
		t.Errorf("data %s, want %s", resp.Data, want.Data)
	}
	if string(out) != prefix+string(want.Data) {
		t.Errorf("out %s, want the prefix and the data", out)
	}

	// A prefix longer than the limit does not count against it.
	limited := New(testSchema(t), Options{MaxResponseBytes: len(want.Data)})
	op, errs = limited.Prepare(appsync.Request{Query: query})
	if errs != nil {
		t.Fatal(errs[0])
	}
	long := strings.Repeat(" ", 2*len(want.Data))
	resp, out = limited.ExecuteAppend(context.Background(), op, newTestResolver(), []byte(long))
	wantNoErrors(t, resp)
	if string(resp.Data) != string(want.Data) || string(out) != long+string(want.Data) {
		t.Errorf("with a long prefix: data %s, out %q", resp.Data, out)
	}
}

// peekingResolver answers Post.blog from the parent when it has no blogID,
// as the server's resolver answers a relation whose key is null.
type peekingResolver struct {
	*testResolver
	peeks int
}

func (r *peekingResolver) PeekField(typeName string, parent map[string]any, name string) (any, bool) {
	if typeName == "Post" && name == "blog" && parent["blogID"] == nil {
		r.peeks++
		return nil, true
	}
	return nil, false
}

// TestFieldPeekerSparesFieldCalls: a field the resolver answers by
// PeekField is not asked of Field, the other fields are, and both count
// towards the resolver call limit.
func TestFieldPeekerSparesFieldCalls(t *testing.T) {
	r := &peekingResolver{testResolver: manyPosts(6)}
	for i, p := range r.posts {
		if i%2 == 0 {
			delete(p, "blogID")
		}
	}
	e := New(testSchema(t), Options{})
	resp := run(t, e, r, `{ listPosts(limit: 6) { id blog { name } } }`, nil)
	wantNoErrors(t, resp)
	wantData(t, resp, `{"listPosts":[{"id":"p0","blog":null},{"id":"p1","blog":{"name":"Go"}},{"id":"p2","blog":null},{"id":"p3","blog":{"name":"Go"}},{"id":"p4","blog":null},{"id":"p5","blog":{"name":"Go"}}]}`)
	if r.peeks != 3 {
		t.Errorf("%d peeks, want 3", r.peeks)
	}
	var fields int
	for _, c := range r.calls {
		if c.Type == "Post" {
			fields++
		}
	}
	if fields != 3 {
		t.Errorf("%d Field calls, want 3 (the posts with a blog)", fields)
	}

	limited := New(testSchema(t), Options{MaxResolverCalls: 5})
	resp = run(t, limited, &peekingResolver{testResolver: r.testResolver}, `{ listPosts(limit: 6) { id blog { name } } }`, nil)
	if len(resp.Errors) != 1 || resp.Errors[0].ErrorType != appsync.LimitExceeded {
		t.Fatalf("with 7 calls and a limit of 5: errors %s", errorsText(resp.Errors))
	}
}
