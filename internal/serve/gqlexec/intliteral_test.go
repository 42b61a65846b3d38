package gqlexec

import (
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// TestIntLiteralsRefusedClearly checks that a fraction, a float-written
// integer or an integer out of range written as an Int literal is refused
// with a message that says what is wrong and where, as Int variables are,
// instead of gqlparser's "Int cannot represent non-integer value: 1e20"
// (issue 15), and that Int literals in range still run. AppSync's Int is
// 32-bit: one past either end is out of range. The message is AppSync's
// (graphql-java's WrongType error, naming the argument path and the field)
// followed by the reason.
func TestIntLiteralsRefusedClearly(t *testing.T) {
	e := New(testSchema(t), Options{})
	const outOfRange = "is out of range for Int (a 32-bit signed integer, -2147483648 to 2147483647)"
	const wrongType = "Validation error of type WrongType: argument "
	for _, tt := range []struct {
		name, query, want string
	}{
		{"too big in input", `mutation { createPost(input: {title: "t", views: 1e20}) { id } }`,
			wrongType + "'input.views' with value 'FloatValue{value=1e20}' is not a valid 'Int' @ 'createPost': 1e20 " + outOfRange},
		{"just past int32", `mutation { createPost(input: {title: "t", views: 2147483648}) { id } }`,
			wrongType + "'input.views' with value 'IntValue{value=2147483648}' is not a valid 'Int' @ 'createPost': 2147483648 " + outOfRange},
		{"just below int32", `mutation { m: createPost(input: {title: "t", views: -2147483649}) { id } }`,
			wrongType + "'input.views' with value 'IntValue{value=-2147483649}' is not a valid 'Int' @ 'm': -2147483649 " + outOfRange},
		{"fraction in input", `mutation { createPost(input: {title: "t", views: 1.5}) { id } }`,
			wrongType + "'input.views' with value 'FloatValue{value=1.5}' is not a valid 'Int' @ 'createPost': 1.5 is not an integer (Int)"},
		{"too many digits", `{ listPosts(limit: 99999999999999999999) { id } }`,
			wrongType + "'limit' with value 'IntValue{value=99999999999999999999}' is not a valid 'Int' @ 'listPosts': 99999999999999999999 " + outOfRange},
		{"float-written integer", `{ echo(n: 2.0) }`,
			wrongType + "'n' with value 'FloatValue{value=2.0}' is not a valid 'Int' @ 'echo': 2.0 is written as a Float; an Int literal has no fraction or exponent"},
		{"in a fragment", `fragment F on Mutation { createPost(input: {title: "t", views: -1e19}) { id } } mutation { ...F }`,
			wrongType + "'input.views' with value 'FloatValue{value=-1e19}' is not a valid 'Int' @ 'createPost': -1e19 " + outOfRange},
		{"variable default out of range", `query($n: Int = 2147483648) { listPosts(limit: $n) { id } }`,
			"variable $n default: 2147483648 " + outOfRange},
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
	resp := run(t, e, r, `{ echo(input: {title: "t", views: 2147483647}, n: -2147483648) }`, nil)
	wantNoErrors(t, resp)
	got := r.calls[0].Args
	if got["n"] != int64(-2147483648) || got["input"].(map[string]any)["views"] != int64(2147483647) {
		t.Errorf("Int literals not read: %#v", got)
	}
}
