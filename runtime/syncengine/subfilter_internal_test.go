package syncengine

import "testing"

// TestSubscriptionFilter: an expression goes to the backend with the
// subscriptions only when AppSync's subscription filter input can hold it.
func TestSubscriptionFilter(t *testing.T) {
	for _, c := range []struct {
		name   string
		filter map[string]any
		sent   bool
	}{
		{"field operators", map[string]any{"rating": map[string]any{"gt": 3}, "title": map[string]any{"beginsWith": "a"}}, true},
		{"and/or", map[string]any{"or": []any{map[string]any{"rating": map[string]any{"between": []any{1, 2}}}, map[string]any{"and": []any{map[string]any{"status": map[string]any{"eq": "DRAFT"}}}}}}, true},
		{"not", map[string]any{"not": map[string]any{"rating": map[string]any{"le": 3}}}, false},
		{"nested not", map[string]any{"or": []any{map[string]any{"not": map[string]any{"rating": map[string]any{"le": 3}}}}}, false},
		{"attributeExists", map[string]any{"rating": map[string]any{"attributeExists": true}}, false},
		{"size", map[string]any{"title": map[string]any{"size": map[string]any{"gt": 3}}}, false},
		{"empty", map[string]any{}, false},
	} {
		if got := subscriptionFilter(c.filter) != nil; got != c.sent {
			t.Errorf("%s: sent with the subscriptions %v, want %v", c.name, got, c.sent)
		}
	}
}
