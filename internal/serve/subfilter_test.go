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
