package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	"github.com/dsgen/dsgen/runtime/meta"
)

// version hashes the stored shape of a schema: every model and non-model
// type with its stored fields (name, type, list and null-ness), primary key
// and indexes, and every enum with its values. Order of declaration, auth
// rules, @default values, custom operations and comments do not count:
// they do not change what is on disk.
func version(s *meta.Schema) string {
	type field struct {
		Name, Kind, Type            string
		List, Required, ListRequire bool
	}
	type typ struct {
		Name    string
		Fields  []field
		Key     []string
		Indexes [][]string
	}
	fields := func(fs []*meta.Field) []field {
		var out []field
		for _, f := range fs {
			if !f.Stored() {
				continue
			}
			out = append(out, field{f.Name, f.Kind.String(), f.Type, f.IsList, f.Required, f.ListRequired})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	var types []typ
	for _, m := range s.Models {
		t := typ{Name: "model " + m.Name, Fields: fields(m.Fields), Key: m.PrimaryKey.Fields()}
		for _, ix := range m.Indexes {
			t.Indexes = append(t.Indexes, append([]string{ix.Name}, ix.Fields...))
		}
		sort.Slice(t.Indexes, func(i, j int) bool { return t.Indexes[i][0] < t.Indexes[j][0] })
		types = append(types, t)
	}
	for _, n := range s.NonModels {
		types = append(types, typ{Name: "type " + n.Name, Fields: fields(n.Fields)})
	}
	for _, e := range s.Enums {
		vals := append([]string{}, e.Values...)
		sort.Strings(vals)
		types = append(types, typ{Name: "enum " + e.Name, Key: vals})
	}
	sort.Slice(types, func(i, j int) bool { return types[i].Name < types[j].Name })
	b, _ := json.Marshal(types) // plain structs of strings: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
