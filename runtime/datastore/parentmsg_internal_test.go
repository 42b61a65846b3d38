package datastore

import (
	"testing"

	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/storage"
)

// TestComponentsStringShowsValues checks that a missing parent's key is
// shown as values for every key kind. No generated schema has a belongsTo
// parent keyed by a number or an instant, so this drives the formatter
// with real key components; before issue 15 those came out as hex bytes.
func TestComponentsStringShowsValues(t *testing.T) {
	rw := engine.Row{
		storage.AppendString(nil, "p\x001"),
		storage.AppendInt(nil, -42),
		storage.AppendFloat(nil, 2.5),
		storage.AppendInstant(nil, 1714521600, 0, "2024-05-01"),
		storage.AppendBool(nil, true),
	}
	for _, c := range []struct {
		slots []int
		want  string
	}{
		{[]int{0}, `"p\x001"`},
		{[]int{1}, `-42`},
		{[]int{0, 1, 2, 3, 4}, `("p\x001", -42, 2.5, "2024-05-01", true)`},
	} {
		if got := componentsString(rw, c.slots); got != c.want {
			t.Errorf("componentsString(%v) = %s, want %s", c.slots, got, c.want)
		}
	}
}
