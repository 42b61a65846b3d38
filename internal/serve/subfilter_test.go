package serve_test

import (
	"strings"
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// TestSubscriptionFilterRefusalAmplifyRecognises: Amplify DataStore sends a
// selective sync expression as the subscription's filter and, when the
// backend refuses it, retries without the filter (filtering events itself)
// only if the refusal reads as AppSync's does. A `not` group, which
// ModelSubscription<Model>FilterInput does not declare, must be refused with
// that text, and the same connection must still take the unfiltered retry
// and deliver events on it. Any other wording leaves the app with no live
// events for the model.
func TestSubscriptionFilterRefusalAmplifyRecognises(t *testing.T) {
	forEngines(t, testSubscriptionFilterRefusalAmplifyRecognises)
}

func testSubscriptionFilterRefusalAmplifyRecognises(t *testing.T, eng string) {
	e := newEnv(t, envOptions{engine: eng})
	c := e.dialWS(t, nil)
	c.init()
	// The document and variables DataStore sends for
	// syncExpression(Post, () => (p) => p.not((q) => q.rating.le(3))).
	const filtered = `subscription operation($filter: ModelSubscriptionPostFilterInput) { onCreatePost(filter: $filter) { id rating _version } }`
	not := map[string]any{"filter": map[string]any{"and": []any{map[string]any{"not": map[string]any{"rating": map[string]any{"le": 3}}}}}}
	c.send(startMsg(t, "not", filtered, not, e.authHeaders()))
	errs := errorsOf(t, c.expect(appsync.MsgError, "not"))
	// amplify-js datastore sync/processors/subscription.ts, catchRTFError.
	const amplifyNotGroup = "The variables input contains a field name 'not'"
	if !strings.Contains(errs[0].Message, amplifyNotGroup) {
		t.Fatalf("refusal %q does not contain %q, so DataStore does not fall back to an unfiltered subscription", errs[0].Message, amplifyNotGroup)
	}
	if want := "input object type 'ModelSubscriptionPostFilterInput'"; !strings.Contains(errs[0].Message, want) {
		t.Errorf("refusal %q does not name the type (%s)", errs[0].Message, want)
	}
	if errs[0].ErrorType != appsync.ValidationError {
		t.Errorf("errorType %q, want %s", errs[0].ErrorType, appsync.ValidationError)
	}

	// A field the filter input lacks is refused in the same words.
	c.send(startMsg(t, "nope", filtered, map[string]any{"filter": map[string]any{"nope": map[string]any{"eq": 1}}}, e.authHeaders()))
	errs = errorsOf(t, c.expect(appsync.MsgError, "nope"))
	if want := "The variables input contains a field name 'nope' that is not defined for input object type 'ModelSubscriptionPostFilterInput'"; !strings.Contains(errs[0].Message, want) {
		t.Errorf("refusal %q, want it to contain %q", errs[0].Message, want)
	}

	// DataStore's retry: the same subscription without the filter.
	c.subscribe("retry", filtered, nil, e.authHeaders())
	e.createPost(t, map[string]any{"id": "p1", "title": "t", "rating": 1})
	if got := c.data("retry", "onCreatePost"); got["id"] != "p1" {
		t.Fatalf("unfiltered retry got %v, want p1", got)
	}
}

// TestSubscriptionFilterLimits: a subscription filter over AppSync's
// limits (more than 5 fields in one AND group, more than 10 AND groups
// once ors are multiplied out, more than 5 values of in) is refused in
// AppSync's words, the first two of which Amplify DataStore recognises to
// retry without the filter. Without them one subscription could make the
// server test thousands of conditions for every event it publishes, for
// every subscriber. A filter within the limits still filters.
func TestSubscriptionFilterLimits(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.dialWS(t, nil)
	c.init()
	const filtered = `subscription operation($filter: ModelSubscriptionPostFilterInput) { onCreatePost(filter: $filter) { id rating _version } }`
	eq := func(v any) map[string]any { return map[string]any{"eq": v} }
	ors := func(n int) []any {
		var l []any
		for i := range n {
			l = append(l, map[string]any{"rating": eq(i)})
		}
		return l
	}
	for _, tc := range []struct {
		name   string
		filter map[string]any
		want   string // the refusal's words, "" when it is within the limits
	}{
		{"six fields", map[string]any{"id": eq("a"), "title": eq("t"), "rating": eq(1), "status": eq("x"), "createdAt": eq("c"), "updatedAt": eq("u")},
			"Filters exceed maximum attributes limit 5"},
		{"six fields through and", map[string]any{"and": []any{map[string]any{"id": eq("a"), "title": eq("t"), "rating": eq(1)}, map[string]any{"status": eq("x"), "createdAt": eq("c"), "updatedAt": eq("u")}}},
			"Filters exceed maximum attributes limit 5"},
		{"eleven groups", map[string]any{"or": ors(11)}, "Filters combination exceed maximum limit 10"},
		{"or times or", map[string]any{"and": []any{map[string]any{"or": ors(4)}, map[string]any{"or": ors(3)}}}, "Filters combination exceed maximum limit 10"},
		{"six in values", map[string]any{"rating": map[string]any{"in": []any{1, 2, 3, 4, 5, 6}}}, "maximum value limit 5 for operator `in`"},
		{"five fields, ten groups", map[string]any{"id": eq("a"), "title": eq("t"), "status": eq("x"), "createdAt": eq("c"), "or": ors(10)}, ""},
	} {
		c.send(startMsg(t, tc.name, filtered, map[string]any{"filter": tc.filter}, e.authHeaders()))
		if tc.want == "" {
			c.expect(appsync.MsgStartAck, tc.name)
			continue
		}
		errs := errorsOf(t, c.expect(appsync.MsgError, tc.name))
		if !strings.Contains(errs[0].Message, tc.want) {
			t.Errorf("%s: refusal %q, want it to contain %q", tc.name, errs[0].Message, tc.want)
		}
	}
	// A filter within the limits filters.
	c.subscribe("in", filtered, map[string]any{"filter": map[string]any{"rating": map[string]any{"in": []any{2, 3}}}}, e.authHeaders())
	e.createPost(t, map[string]any{"id": "p1", "title": "t", "rating": 1})
	e.createPost(t, map[string]any{"id": "p2", "title": "t", "rating": 2})
	if got := c.data("in", "onCreatePost"); got["id"] != "p2" {
		t.Fatalf("the filtered subscription got %v first, want p2", got)
	}
}
