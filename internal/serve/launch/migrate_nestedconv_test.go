package launch

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
)

// TestMigrateStoreRefusesNestedConversion: a migration that converts a
// field of a non-model type (nested in the items that hold it) needs the
// client's Go code, as a model field's conversion does: dsgen serve refuses
// it with the same message, naming the conversion, and leaves the data
// and the mark as they were.
func TestMigrateStoreRefusesNestedConversion(t *testing.T) {
	migrateEngines(t, func(t *testing.T, st store.Store) {
		const v1 = `type Site @model { id: ID! address: Address }
type Address { line1: String geo: Geo }
type Geo { lat: Float lng: Float }`
		p := newSchemaProject(t, v1)
		p.migrate(true)
		if err := p.migrateTo(st, ""); err != nil {
			t.Fatal(err)
		}
		create(t, st, "Site", []any{"a"}, map[string]any{"id": "a", "address": map[string]any{"line1": "x", "geo": map[string]any{"lat": 1.5, "lng": 2}}})
		before := mark(t, st)

		p.write(strings.Replace(v1, "lat: Float", "lat: String", 1))
		p.migrate(false)
		var se *SchemaError
		err := p.migrateTo(st, "")
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "changeFieldType Geo.lat") || !strings.Contains(err.Error(), "the conversion convert0001GeoLat is Go code only the generated client runs") ||
			se.StoredVersion != before.Version || se.Version != p.schema().Version {
			t.Errorf("a nested needsCode step: %v", err)
		}
		if m := mark(t, st); !reflect.DeepEqual(m, before) {
			t.Errorf("refused migration moved the mark: %+v", m)
		}
		got, err := st.Get(context.Background(), "Site", []any{"a"})
		if err != nil || nestedJSON(got.Item["address"]) != `{"geo":{"lat":1.5,"lng":2},"line1":"x"}` {
			t.Errorf("item after the refusal: %+v, %v", got, err)
		}
	})
}

// nestedJSON renders v as one line of JSON, keys sorted.
func nestedJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
