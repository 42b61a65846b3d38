package gqlexec

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// TestPlanSharedByRequests runs one static document many times, from
// concurrent goroutines, with different variables: its groups are collected
// once and shared, and each execution still gets its own arguments (from
// its own variables) at the root and in nested fields.
func TestPlanSharedByRequests(t *testing.T) {
	e := New(testSchema(t), Options{})
	r := newTestResolver()
	const query = `query($id: ID!, $n: Int) { getPost(id: $id) { id title blog { name posts(limit: $n) { items { id } } } } }`
	want := func(id string, n int) string {
		items := ""
		for i := range n {
			if i > 0 {
				items += ","
			}
			items += fmt.Sprintf(`{"id":"p%d"}`, i+1)
		}
		return fmt.Sprintf(`{"getPost":{"id":"%s","title":"Post %s","blog":{"name":"Go","posts":{"items":[%s]}}}}`, id, id[1:], items)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				id, n := fmt.Sprintf("p%d", (g+i)%3+1), (g+i)%3+1
				op, perrs := e.Prepare(appsync.Request{Query: query, Variables: map[string]any{"id": id, "n": float64(n)}})
				if perrs != nil {
					errs <- perrs[0].Message
					return
				}
				if op.plan == nil {
					errs <- "a static document has no plan"
					return
				}
				resp := e.Execute(context.Background(), op, r)
				if got := string(resp.Data); got != want(id, n) || len(resp.Errors) > 0 {
					errs <- fmt.Sprintf("id %s n %d: got %s %v, want %s", id, n, got, resp.Errors, want(id, n))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	// The groups are the plan's: one collection for every request.
	op1, _ := e.Prepare(appsync.Request{Query: query, Variables: map[string]any{"id": "p1"}})
	op2, _ := e.Prepare(appsync.Request{Query: query, Variables: map[string]any{"id": "p2"}})
	x1, x2 := e.newExecution(context.Background(), op1, r), e.newExecution(context.Background(), op2, r)
	root, _ := e.rootType(op1)
	if g1, g2 := x1.rootGroups(root), x2.rootGroups(root); &g1[0] != &g2[0] || g1[0] != g2[0] {
		t.Error("two requests of one static document collected their own root groups")
	}
}

// TestPlanNotSharedWithSkipInclude checks that a document whose selection
// depends on its variables (@skip, @include) is collected per request.
func TestPlanNotSharedWithSkipInclude(t *testing.T) {
	e := New(testSchema(t), Options{})
	r := newTestResolver()
	const query = `query($yes: Boolean!) { getPost(id: "p1") { id title @include(if: $yes) blog { name @skip(if: $yes) } } }`
	for range 2 {
		for _, c := range []struct {
			yes  bool
			want string
		}{
			{true, `{"getPost":{"id":"p1","title":"Post 1","blog":{}}}`},
			{false, `{"getPost":{"id":"p1","blog":{"name":"Go"}}}`},
		} {
			op, errs := e.Prepare(appsync.Request{Query: query, Variables: map[string]any{"yes": c.yes}})
			if errs != nil {
				t.Fatal(errs[0])
			}
			if op.plan != nil {
				t.Fatal("a document with @skip/@include has a shared plan")
			}
			if got := string(e.Execute(context.Background(), op, r).Data); got != c.want {
				t.Errorf("yes=%v: got %s, want %s", c.yes, got, c.want)
			}
		}
	}
}

// TestPlanManyArgumentGroups covers an execution whose groups with
// arguments outnumber the inline argument slots and the linear search.
func TestPlanManyArgumentGroups(t *testing.T) {
	e := New(testSchema(t), Options{})
	r := newTestResolver()
	q, want := "query($id: ID!) {", "{"
	for i := range 20 {
		q += fmt.Sprintf(" a%d: getPost(id: $id) { id }", i)
		if i > 0 {
			want += ","
		}
		want += fmt.Sprintf(`"a%d":{"id":"p2"}`, i)
	}
	q, want = q+" }", want+"}"
	resp := run(t, e, r, q, map[string]any{"id": "p2"})
	wantNoErrors(t, resp)
	if string(resp.Data) != want {
		t.Errorf("got %s, want %s", resp.Data, want)
	}
}
