package syncengine

import (
	"encoding/json"
	"reflect"

	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// holdsSent reports whether the backend's record got holds every value a
// create sent (sent, the mutation's input): then a resent create refused
// because its key exists is taken as the earlier send having landed. A
// record another client created with the same key holds other values.
//
// A value sent as null is not compared: the backend may fill it (an owner
// field, a @default). AWSJSON is compared as JSON, since a backend may
// store it parsed and print it again; numbers compare by value.
func holdsSent(m *meta.Model, sent, got map[string]any) bool {
	for k, v := range sent {
		if v == nil {
			continue
		}
		if f := m.Field(k); f != nil && f.Type == meta.AWSJSON && !f.IsList {
			if !sameJSONText(v, got[k]) {
				return false
			}
			continue
		}
		if !sameValue(v, got[k]) {
			return false
		}
	}
	return true
}

// sameValue compares a JSON-shaped value that was sent with the one the
// backend answered. Objects (non-model values) compare on the keys sent
// with a non-null value, as holdsSent does; lists element by element.
func sameValue(sent, got any) bool {
	switch s := sent.(type) {
	case nil:
		return got == nil
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range s {
			if v != nil && !sameValue(v, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(s) {
			return false
		}
		for i := range s {
			if !sameValue(s[i], g[i]) {
				return false
			}
		}
		return true
	case string, bool:
		return sent == got
	}
	if a, ok := scalar.NumberOf(sent); ok {
		b, ok := scalar.NumberOf(got)
		return ok && a == b
	}
	return reflect.DeepEqual(sent, got)
}

// sameJSONText compares two AWSJSON values as the JSON they hold.
func sameJSONText(sent, got any) bool {
	a, aok := sent.(string)
	b, bok := got.(string)
	if !aok || !bok {
		return sameValue(sent, got)
	}
	if a == b {
		return true
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return sameValue(x, y) && sameValue(y, x)
}
