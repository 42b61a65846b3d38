package filter

import (
	"errors"
	"testing"
)

// TestCheckSubscriptionLimits counts groups and fields as AppSync's
// conversion of the filter into OR-ed AND groups does.
func TestCheckSubscriptionLimits(t *testing.T) {
	eq := map[string]any{"eq": 1}
	fields := func(names ...string) map[string]any {
		m := map[string]any{}
		for _, n := range names {
			m[n] = eq
		}
		return m
	}
	or := func(n int) []any {
		var l []any
		for range n {
			l = append(l, fields("a"))
		}
		return l
	}
	for _, c := range []struct {
		name   string
		filter map[string]any
		ok     bool
	}{
		{"nil", nil, true},
		{"empty and, empty or, nulls", map[string]any{"and": []any{}, "or": []any{}, "a": nil, "b": eq}, true},
		{"five fields", fields("a", "b", "c", "d", "e"), true},
		{"six fields", fields("a", "b", "c", "d", "e", "f"), false},
		{"a field repeated across and counts once", map[string]any{"and": []any{fields("a", "b"), fields("a", "b", "c", "d", "e")}}, true},
		{"fields spread over or groups", map[string]any{"a": eq, "or": []any{fields("b", "c", "d", "e"), fields("f", "g", "h", "i")}}, true},
		{"one or group with six", map[string]any{"a": eq, "or": []any{fields("b"), fields("b", "c", "d", "e", "f")}}, false},
		{"ten groups", map[string]any{"or": or(10)}, true},
		{"eleven groups", map[string]any{"or": or(11)}, false},
		{"two ors multiply", map[string]any{"and": []any{map[string]any{"or": or(5)}, map[string]any{"or": or(2)}}}, true},
		{"three ors multiply", map[string]any{"and": []any{map[string]any{"or": or(2)}, map[string]any{"or": or(2)}, map[string]any{"or": or(3)}}}, false},
		{"nested or in or", map[string]any{"or": []any{map[string]any{"or": or(6)}, map[string]any{"or": or(5)}}}, false},
		{"in five", map[string]any{"a": map[string]any{"in": []any{1, 2, 3, 4, 5}}}, true},
		{"notIn six", map[string]any{"a": map[string]any{"notIn": []any{1, 2, 3, 4, 5, 6}}}, false},
	} {
		err := CheckSubscriptionLimits(c.filter)
		var le *LimitError
		if (err == nil) != c.ok || (err != nil && !errors.As(err, &le)) {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
		}
	}
}
