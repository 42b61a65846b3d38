package serve_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// TestServeIntIs32Bit sends Int values just outside AppSync's 32-bit Int
// as variables and literals, in a field, a list element, a non-model
// object, a filter, a condition and a subscription filter: each is refused before anything is
// written, with a ValidationError (HTTP 200, data null) naming the variable or the
// argument and the place inside it; the ends of the range are stored.
func TestServeIntIs32Bit(t *testing.T) {
	e := newEnv(t, envOptions{schema: shapesSchema(t)})
	const create = `mutation($input: CreateListsInput!) { createLists(input: $input) { id ints intsReq points { x } } }`
	base := func(k string, v any) map[string]any {
		in := map[string]any{"colorsReq": []any{}, k: v}
		return map[string]any{"input": in}
	}
	for _, c := range []struct {
		name, doc string
		vars      map[string]any
		want      []string
	}{
		{"list element variable", create, base("ints", []any{json.Number("1"), nil, json.Number("2147483648")}),
			[]string{"Variable 'input' has an invalid value", "$input.ints[2]", "2147483648 is out of range for Int (a 32-bit signed integer"}},
		{"non-null list element variable", create, base("intsReq", []any{json.Number("-2147483649")}),
			[]string{"Variable 'input' has an invalid value", "$input.intsReq[0]", "-2147483649 is out of range"}},
		{"non-model field variable", create, base("points", []any{map[string]any{"x": json.Number("4294967296")}}),
			[]string{"$input.points[0].x", "4294967296 is out of range"}},
		{"list element literal", `mutation { createLists(input: {colorsReq: [], ints: [1, 2147483648]}) { id } }`, nil,
			[]string{"Validation error of type WrongType: argument 'input.ints[1]' with value 'IntValue{value=2147483648}' is not a valid 'Int' @ 'createLists'", "out of range"}},
		{"filter literal", `{ listDefaults(filter: {count: {gt: 3000000000}}) { items { id } } }`, nil,
			[]string{"argument 'filter.count.gt' with value 'IntValue{value=3000000000}' is not a valid 'Int' @ 'listDefaults'"}},
		{"filter between variable", `query($f: ModelDefaultsFilterInput) { syncDefaults(filter: $f) { items { id } } }`,
			map[string]any{"f": map[string]any{"maybe": map[string]any{"between": []any{json.Number("0"), json.Number("2147483648")}}}},
			[]string{"Variable 'f' has an invalid value", "$f.maybe.between[1]", "out of range"}},
		{"condition literal", `mutation { updateDefaults(input: {id: "x"}, condition: {count: {eq: -3000000000}}) { id } }`, nil,
			[]string{"argument 'condition.count.eq' with value 'IntValue{value=-3000000000}'", "@ 'updateDefaults'"}},
		{"limit literal", `{ listDefaults(limit: 2147483648) { items { id } } }`, nil,
			[]string{"argument 'limit' with value 'IntValue{value=2147483648}' is not a valid 'Int' @ 'listDefaults'"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, c.doc, c.vars)
			if r.Status != http.StatusOK || r.errType(t) != appsync.ValidationError || !strings.HasPrefix(string(r.Raw), `{"data":null,`) {
				t.Fatalf("want a ValidationError with HTTP 200 and data null, got HTTP %d: %s", r.Status, r.Raw)
			}
			for _, w := range c.want {
				if !strings.Contains(r.Errors[0].Message, w) {
					t.Errorf("message %q does not contain %q", r.Errors[0].Message, w)
				}
			}
		})
	}
	stored := mustOK(t, e.do(t, `{ syncLists { items { id } } }`, nil)).field("syncLists")
	if items, _ := stored["items"].([]any); len(items) != 0 {
		t.Fatalf("refused writes stored %d records: %v", len(items), items)
	}

	// A subscription filter is checked the same way, over the WebSocket.
	c := e.dialWS(t, nil)
	c.init()
	c.send(startMsg(t, "big", `subscription($f: ModelSubscriptionDefaultsFilterInput) { onCreateDefaults(filter: $f) { id } }`,
		map[string]any{"f": map[string]any{"count": map[string]any{"in": []any{1, json.Number("2147483648")}}}}, e.authHeaders()))
	errs := errorsOf(t, c.expect(appsync.MsgError, "big"))
	if msg := errs[0].Message; !strings.Contains(msg, "Variable 'f' has an invalid value: $f.count.in[1]: 2147483648 is out of range") {
		t.Errorf("subscription filter: message %q", msg)
	}

	got := mustOK(t, e.do(t, create, base("ints", []any{json.Number("2147483647"), nil, json.Number("-2147483648")}))).field("createLists")
	ints, _ := got["ints"].([]any)
	if len(ints) != 3 || num(t, ints[0]) != 2147483647 || ints[1] != nil || num(t, ints[2]) != -2147483648 {
		t.Fatalf("the ends of the range came back as %v", got["ints"])
	}
}
