package migrate

import (
	"fmt"

	"github.com/dsgen/dsgen/runtime/meta"
)

// fieldMatch maps a field's name in the next schema to its locked entry.
type fieldMatch map[string]*FieldLock

type modelPair struct {
	prev   *ModelLock // nil for a new model
	next   *meta.Model
	fields fieldMatch
}

type typePair struct {
	prev   *TypeLock
	next   *meta.NonModel
	fields fieldMatch
}

// matching pairs the lock's entries with the next schema's models, types
// and fields, by name or declared rename.
type matching struct {
	models  []modelPair  // in the next schema's order
	dropped []*ModelLock // in the lock's order
	types   []typePair
}

// nextName is the name an entry has in the next schema.
func nextName(name, renamedTo string) string {
	if renamedTo != "" {
		return renamedTo
	}
	return name
}

func match(prev *Lock, s *meta.Schema) (*matching, error) {
	if s == nil {
		return nil, fmt.Errorf("migrate: no schema")
	}
	out := &matching{}
	if prev == nil {
		for _, m := range s.Models {
			out.models = append(out.models, modelPair{next: m})
		}
		for _, n := range s.NonModels {
			out.types = append(out.types, typePair{next: n})
		}
		return out, nil
	}
	byName := map[string]*ModelLock{}
	for _, m := range prev.Models {
		n := nextName(m.Name, m.RenamedTo)
		if other := byName[n]; other != nil {
			return nil, fmt.Errorf("lock: models %s and %s would both be called %s", other.Name, m.Name, n)
		}
		byName[n] = m
		if m.RenamedTo != "" && s.Model(m.RenamedTo) == nil {
			return nil, fmt.Errorf("lock: model %s is renamed to %s, but the schema has no model %s", m.Name, m.RenamedTo, m.RenamedTo)
		}
	}
	seen := map[*ModelLock]bool{}
	for _, m := range s.Models {
		p := modelPair{next: m, prev: byName[m.Name]}
		if p.prev != nil {
			seen[p.prev] = true
			fm, err := matchFields(m.Name, p.prev.Fields, m.Fields)
			if err != nil {
				return nil, err
			}
			matchImplicitKeys(s, m, p.prev.Fields, fm)
			p.fields = fm
		}
		out.models = append(out.models, p)
	}
	for _, m := range prev.Models {
		if !seen[m] {
			out.dropped = append(out.dropped, m)
		}
	}
	byType := map[string]*TypeLock{}
	for _, n := range prev.NonModels {
		byType[nextName(n.Name, n.RenamedTo)] = n
	}
	for _, n := range s.NonModels {
		p := typePair{next: n, prev: byType[n.Name]}
		if p.prev != nil {
			fm, err := matchFields(n.Name, p.prev.Fields, n.Fields)
			if err != nil {
				return nil, err
			}
			p.fields = fm
		}
		out.types = append(out.types, p)
	}
	return out, nil
}

func matchFields(owner string, prev []*FieldLock, next []*meta.Field) (fieldMatch, error) {
	byName := map[string]*FieldLock{}
	for _, f := range prev {
		n := nextName(f.Name, f.RenamedTo)
		if other := byName[n]; other != nil {
			return nil, fmt.Errorf("lock: fields %s.%s and %s.%s would both be called %s", owner, other.Name, owner, f.Name, n)
		}
		byName[n] = f
	}
	fm := fieldMatch{}
	for _, f := range next {
		if !f.Stored() {
			continue
		}
		if old := byName[f.Name]; old != nil {
			fm[f.Name] = old
		}
	}
	for _, f := range prev {
		if f.RenamedTo != "" && fm[f.RenamedTo] != f {
			return nil, fmt.Errorf("lock: field %s.%s is renamed to %s, but the schema has no stored field %s.%s", owner, f.Name, f.RenamedTo, owner, f.RenamedTo)
		}
	}
	return fm, nil
}
