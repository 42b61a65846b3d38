package syncengine

import (
	"encoding/json"
	"testing"

	"github.com/dsgen/dsgen/runtime/meta"
)

// TestHoldsSent: a resent create is taken as landed only when the
// backend's record holds what it sent, however the backend spells the
// same values (numbers, AWSJSON, fields it fills).
func TestHoldsSent(t *testing.T) {
	m := &meta.Model{Name: "Item", Fields: []*meta.Field{
		{Name: "id", Type: meta.ID},
		{Name: "n", Type: "Int"},
		{Name: "x", Type: "Float"},
		{Name: "doc", Type: meta.AWSJSON},
		{Name: "tags", Type: "String", IsList: true},
		{Name: "addr", Type: "Address"},
		{Name: "owner", Type: "String"},
	}}
	sent := map[string]any{
		"id": "a", "n": json.Number("3"), "x": 1.5, "doc": `{"b": [1, 2], "a": null}`,
		"tags": []any{"x", "y"}, "addr": map[string]any{"city": "Oslo", "zip": nil},
		"owner": nil,
	}
	same := map[string]any{
		"id": "a", "n": float64(3), "x": json.Number("1.50"), "doc": `{"a":null,"b":[1,2.0]}`,
		"tags": []any{"x", "y"}, "addr": map[string]any{"city": "Oslo", "zip": "0150", "__typename": "Address"},
		"owner": "alice", "createdAt": "2026-12-03T00:00:00.000Z", "_version": json.Number("1"),
	}
	if !holdsSent(m, sent, same) {
		t.Fatal("the backend's record holds what was sent, in its own spelling; holdsSent says it does not")
	}
	for field, other := range map[string]any{
		"n":    json.Number("4"),
		"x":    nil,
		"doc":  `{"b": [2, 1]}`,
		"tags": []any{"x"},
		"addr": map[string]any{"city": "Bergen"},
		"id":   "b",
	} {
		got := make(map[string]any, len(same))
		for k, v := range same {
			got[k] = v
		}
		got[field] = other
		if holdsSent(m, sent, got) {
			t.Errorf("%s: the backend holds %v, the create sent %v; holdsSent says it holds what was sent", field, other, sent[field])
		}
	}
}
