package filter

import "testing"

// TestExpressionSize checks the length against the expressions written
// out by hand, AppSync's form with the shortest placeholders.
func TestExpressionSize(t *testing.T) {
	for _, c := range []struct {
		filter map[string]any
		want   string
	}{
		{map[string]any{"rating": map[string]any{"gt": 3}}, "(#rating > :rating)"},
		{map[string]any{"rating": map[string]any{"gt": 3}, "title": map[string]any{"beginsWith": "a"}},
			"(#rating > :rating) AND (begins_with(#title,:title))"},
		{map[string]any{"or": []any{map[string]any{"a": map[string]any{"eq": 1}}, map[string]any{"a": map[string]any{"ne": 2}}}},
			"((#a = :a)) OR ((#a <> :a))"},
		{map[string]any{"not": map[string]any{"a": map[string]any{"between": []any{1, 2}}}}, "NOT ((#a BETWEEN :a AND :a))"},
		{map[string]any{"a": nil, "and": []any{}, "b": map[string]any{"attributeExists": true}}, "(attribute_exists(#b))"},
		{nil, ""},
	} {
		if got := ExpressionSize(c.filter); got != len(c.want) {
			t.Errorf("%v: size %d, want %d (%s)", c.filter, got, len(c.want), c.want)
		}
	}
}
