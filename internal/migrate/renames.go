package migrate

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/dsgen/dsgen/internal/schema"
)

// Renames are the renames a schema declares with @renamedFrom(name: "old")
// on types and fields. The directive may repeat, for a name changed more
// than once; a declaration whose new name the lock already has is a leftover
// of an earlier migration and is ignored.
type Renames struct {
	// Types maps a model or non-model type's name to its former names.
	Types map[string][]Former
	// Fields maps a type's (current) name and a field's name to the
	// field's former names.
	Fields map[string]map[string][]Former
}

// Former is a former name and where the schema declares it.
type Former struct {
	Name string
	Pos  string // file:line:col of the @renamedFrom
}

// ReadRenames collects the @renamedFrom declarations of the schema sources
// (see schema.ReadPath). The sources are expected to load: syntax errors are
// reported but not explained as schema.Load does.
func ReadRenames(srcs []schema.Source) (*Renames, error) {
	r := &Renames{Types: map[string][]Former{}, Fields: map[string]map[string][]Former{}}
	for _, src := range srcs {
		doc, err := parser.ParseSchema(&ast.Source{Name: src.Name, Input: src.Input})
		if err != nil {
			return nil, fmt.Errorf("read renames: %w", err)
		}
		for _, d := range append(append(ast.DefinitionList{}, doc.Definitions...), doc.Extensions...) {
			if d.Kind != ast.Object {
				continue
			}
			r.Types[d.Name] = append(r.Types[d.Name], formers(d.Directives)...)
			for _, f := range d.Fields {
				if fs := formers(f.Directives); len(fs) > 0 {
					if r.Fields[d.Name] == nil {
						r.Fields[d.Name] = map[string][]Former{}
					}
					r.Fields[d.Name][f.Name] = append(r.Fields[d.Name][f.Name], fs...)
				}
			}
		}
	}
	return r, nil
}

func formers(list ast.DirectiveList) []Former {
	var out []Former
	for _, d := range list.ForNames("renamedFrom") {
		if a := d.Arguments.ForName("name"); a != nil && a.Value != nil {
			p := d.Position
			out = append(out, Former{Name: a.Value.Raw, Pos: fmt.Sprintf("%s:%d:%d", p.Src.Name, p.Line, p.Column)})
		}
	}
	return out
}

// ApplyRenames returns a copy of l whose entries carry the renames r
// declares (as RenamedTo), which NewLock and Diff then honour. A rename
// whose former name the lock does not know, on a type or field the lock
// does not know either, is an error: it is most likely a typo that would
// otherwise turn the rename into a drop and an add.
func (l *Lock) ApplyRenames(r *Renames) (*Lock, error) {
	b, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("copy lock: %w", err)
	}
	var c Lock
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("copy lock: %w", err)
	}
	if r == nil {
		return &c, nil
	}
	for typ, fs := range r.Types {
		if len(fs) == 0 || c.Model(typ) != nil || c.nonModel(typ) != nil {
			continue
		}
		found := false
		for _, f := range fs {
			if m := c.Model(f.Name); m != nil {
				m.RenamedTo, found = typ, true
				break
			}
			if n := c.nonModel(f.Name); n != nil {
				n.RenamedTo, found = typ, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%s: @renamedFrom(name: %q) on %s: the lock has no type %s", fs[0].Pos, fs[0].Name, typ, fs[0].Name)
		}
	}
	if err := refuseTypeShifts(&c, r.Types); err != nil {
		return nil, err
	}
	for typ, byField := range r.Fields {
		var fields []*FieldLock
		if m := c.modelNamed(typ); m != nil {
			fields = m.Fields
		} else if n := c.nonModelNamed(typ); n != nil {
			fields = n.Fields
		}
		if err := renameFields(typ, fields, byField); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// renameFields marks the renames byField declares on the locked fields of
// type typ. A declaration whose new name the lock does not have renames the
// first former name the lock has. One whose new name the lock has is a
// leftover of an earlier migration, unless the lock's field of that name
// is itself renamed away in this one: then the names are shifted along a
// chain (b from a, c from b) or swapped in a cycle (a from b, b from a), and
// every field keeps its id and its values. The lock records each applied
// rename (RenamedFrom), so the declarations left in the schema after a swap
// do not swap the fields back.
func renameFields(typ string, fields []*FieldLock, byField map[string][]Former) error {
	// taken: declarations whose new name the lock has; new field -> former.
	taken := map[string]*FieldLock{}
	for _, field := range slices.Sorted(maps.Keys(byField)) {
		fs := byField[field]
		if cur := findField(fields, field); cur != nil {
			for _, f := range fs {
				if cur.RenamedFrom == f.Name {
					break // applied by an earlier migration
				}
				if old := findField(fields, f.Name); old != nil && old != cur {
					taken[field] = old
					break
				}
			}
			continue
		}
		found := false
		for _, f := range fs {
			if old := findField(fields, f.Name); old != nil {
				old.RenamedTo, found = field, true
				break
			}
		}
		if !found {
			return fmt.Errorf("%s: @renamedFrom(name: %q) on %s.%s: the lock has no field %s.%s", fs[0].Pos, fs[0].Name, typ, field, typ, fs[0].Name)
		}
	}
	// A taken name is free once its field is renamed away: follow chains
	// until nothing changes, then close the cycles, whose fields all move at
	// once, and follow the chains they free.
	for len(taken) > 0 {
		moved := false
		for _, field := range slices.Sorted(maps.Keys(taken)) {
			old := taken[field]
			if findField(fields, field).RenamedTo != "" && old.RenamedTo == "" {
				old.RenamedTo, moved = field, true
				delete(taken, field)
			}
		}
		if moved {
			continue
		}
		for _, start := range slices.Sorted(maps.Keys(taken)) {
			if taken[start] == nil {
				continue // closed with an earlier start
			}
			cycle := []string{start}
			for next := taken[start].Name; next != start; next = taken[next].Name {
				if taken[next] == nil || slices.Contains(cycle, next) {
					cycle = nil
					break
				}
				cycle = append(cycle, next)
			}
			for _, field := range cycle {
				taken[field].RenamedTo, moved = field, true
			}
			for _, field := range cycle {
				delete(taken, field)
			}
		}
		if !moved {
			break // the rest are leftovers
		}
	}
	return nil
}

// refuseTypeShifts refuses type renames that give a type a name the lock
// still has for another type the schema renames too: a swap, rotation or
// shift of model or type names. Their stored data (the client's catalog,
// the server's records) moves one rename at a time, so such a plan would
// mix the types' records; taken for leftovers, the declarations would be
// ignored and the types silently keep each other's data. Renaming through a
// name the lock does not have, in two migrations, works.
func refuseTypeShifts(c *Lock, types map[string][]Former) error {
	has := func(name string) (bool, bool) { // in the lock, renamed away
		if m := c.Model(name); m != nil {
			return true, m.RenamedTo != ""
		}
		if n := c.nonModel(name); n != nil {
			return true, n.RenamedTo != ""
		}
		return false, false
	}
	pending := map[string]Former{} // new name -> former, both in the lock
	formers := map[string]bool{}
	for typ, fs := range types {
		if in, _ := has(typ); !in {
			continue
		}
		for _, f := range fs {
			if in, away := has(f.Name); in && !away && f.Name != typ {
				pending[typ], formers[f.Name] = f, true
				break
			}
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(pending)) {
		f := pending[typ]
		if _, away := has(typ); away || formers[typ] {
			return fmt.Errorf("%s: @renamedFrom(name: %q) on %s: the lock still has a type %s, which this schema renames too; dsgen migrate cannot swap or shift type names in one migration: rename through a name the lock does not have, in two migrations", f.Pos, f.Name, typ, typ)
		}
	}
	return nil
}

func (l *Lock) nonModel(name string) *TypeLock {
	for _, n := range l.NonModels {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// modelNamed returns the model called name in the next schema.
func (l *Lock) modelNamed(name string) *ModelLock {
	for _, m := range l.Models {
		if nextName(m.Name, m.RenamedTo) == name {
			return m
		}
	}
	return nil
}

func (l *Lock) nonModelNamed(name string) *TypeLock {
	for _, n := range l.NonModels {
		if nextName(n.Name, n.RenamedTo) == name {
			return n
		}
	}
	return nil
}
