package engine

import (
	"encoding/json"
	"fmt"

	"github.com/dsgen/dsgen/runtime/meta"
)

// KeyValues returns the primary key values of a decoded record, in key
// order.
func (t *Table) KeyValues(rec map[string]any) []any {
	return t.KeyValuesInto(make([]any, len(t.PK)), rec)
}

// KeyValuesInto is KeyValues writing into out, which has len(t.PK)
// elements: a page of records can share one allocation.
func (t *Table) KeyValuesInto(out []any, rec map[string]any) []any {
	for i, sl := range t.PK { // PrimaryKey.Fields() would allocate
		out[i] = rec[t.Slots[sl].Field.Name]
	}
	return out
}

// KeyMap returns the primary key fields of a decoded record.
func (t *Table) KeyMap(rec map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range t.Model.PrimaryKey.Fields() {
		out[f] = rec[f]
	}
	return out
}

// KeyError says why primary key values make no record key: which field
// and what is wrong with its value.
type KeyError struct {
	Field, Reason string
}

// Error returns the field and the reason.
func (e *KeyError) Error() string { return e.Field + ": " + e.Reason }

// KeyFromValues builds a record key from primary key values as they come
// over the wire: JSON numbers (json.Number, float64) become the field's
// Go kind first. A value that makes no key component is a *KeyError.
func (t *Table) KeyFromValues(values []any) ([]byte, error) {
	return t.AppendKeyFromValues(nil, values)
}

// AppendKeyFromValues is KeyFromValues appending the key to dst.
func (t *Table) AppendKeyFromValues(dst []byte, values []any) ([]byte, error) {
	if len(values) != len(t.PK) {
		return nil, Errorf("%s: key has %d values, want %d", t.Model.Name, len(values), len(t.PK))
	}
	k := append(dst, t.Prefix...)
	for i, sl := range t.PK {
		f := t.Slots[sl].Field
		v := WireValue(f, values[i])
		if v == nil {
			return nil, &KeyError{Field: f.Name, Reason: "primary key field is null"}
		}
		var ok bool
		if k, ok = ValueComponent(k, f, v); !ok {
			return nil, &KeyError{Field: f.Name, Reason: fmt.Sprintf("key value %v has type %T, not %s", v, v, f.Type)}
		}
	}
	return k, nil
}

// WireValue converts a JSON number to the Go kind of f's scalar.
func WireValue(f *meta.Field, v any) any {
	n, ok := v.(json.Number)
	if !ok {
		if fl, isFloat := v.(float64); isFloat && (f.Type == meta.Int || f.Type == meta.AWSTimestamp) {
			return int64(fl)
		}
		return v
	}
	switch f.Type {
	case meta.Int, meta.AWSTimestamp:
		if i, err := n.Int64(); err == nil {
			return i
		}
	case meta.Float:
		if fl, err := n.Float64(); err == nil {
			return fl
		}
	}
	return n.String()
}
