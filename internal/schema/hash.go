package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	"github.com/dsgen/dsgen/runtime/meta"
)

// version hashes the stored shape of a schema: every model and non-model
// type with its stored fields (name, type, list and null-ness), relations
// (kind, related model and the key fields pairing them), primary key and
// indexes, and every enum with its set of values. The order of
// declarations, auth rules, @default values, custom operations and comments
// do not count: they do not change what is on disk or how records relate.
//
// This is dsgen's own hash, not Amplify's computeVersion (which hashes the
// generator's intermediate model map per target language).
func version(s *meta.Schema) string {
	type field struct {
		Name, Kind, Type            string
		List, Required, ListRequire bool
		Rel                         []string `json:",omitempty"`
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
			fl := field{f.Name, f.Kind.String(), f.Type, f.IsList, f.Required, f.ListRequired, nil}
			if r := f.Relation; r != nil {
				fl.Rel = append([]string{r.Kind.String(), r.Model}, r.Keys...)
				fl.Rel = append(append(fl.Rel, "->"), r.RelatedKeys...)
			} else if !f.Stored() {
				continue
			}
			out = append(out, fl)
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
