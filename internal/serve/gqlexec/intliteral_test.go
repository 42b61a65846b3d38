package gqlexec

import (
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// TestIntLiteralsRefusedClearly checks that a fraction, a float-written
// integer or an integer out of range written as an Int literal is refused
// with a message that says what is wrong and where, as Int variables are,
// instead of gqlparser's "Int cannot represent non-integer value: 1e20"
// (issue 15), and that Int literals in range still run.
func TestIntLiteralsRefusedClearly(t *testing.T) {
	e := New(testSchema(t), Options{})
	const outOfRange = "is out of range for Int (a 64-bit integer, -2^63 to 2^63-1)"
	for _, tt := range []struct {
		name, query, want string
	}{
		{"too big in input", `mutation { createPost(input: {title: "t", views: 1e20}) { id } }`,
			"argument input.views: 1e20 " + outOfRange},
		{"fraction in input", `mutation { createPost(input: {title: "t", views: 1.5}) { id } }`,
			"argument input.views: 1.5 is not an integer (Int)"},
		{"too many digits", `{ listPosts(limit: 99999999999999999999) { id } }`,
			"argument limit: 99999999999999999999 " + outOfRange},
		{"float-written integer", `{ echo(n: 2.0) }`,
			"argument n: 2.0 is written as a Float; an Int literal has no fraction or exponent"},
		{"in a fragment", `fragment F on Mutation { createPost(input: {title: "t", views: -1e19}) { id } } mutation { ...F }`,
			"argument input.views: -1e19 " + outOfRange},
		{"variable default", `query($n: Int = 1.5) { listPosts(limit: $n) { id } }`,
			"variable $n default: 1.5 is not an integer (Int)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := prepareErr(t, e, appsync.Request{Query: tt.query})
			if err.Message != tt.want {
				t.Errorf("message %q, want %q", err.Message, tt.want)
			}
			if len(err.Locations) == 0 {
				t.Errorf("error %q has no location", err.Message)
			}
		})
	}
	r := newTestResolver()
	resp := run(t, e, r, `{ echo(input: {title: "t", views: 9223372036854775807}, n: -3) }`, nil)
	wantNoErrors(t, resp)
	got := r.calls[0].Args
	if got["n"] != int64(-3) || got["input"].(map[string]any)["views"] != int64(9223372036854775807) {
		t.Errorf("Int literals not read: %#v", got)
	}
}
