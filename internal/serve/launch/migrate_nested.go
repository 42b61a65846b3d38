package launch

import (
	"fmt"
	"slices"

	"github.com/dsgen/dsgen/runtime/meta"
)

// typeWork is what one migration does to the values of one non-model
// type, wherever items hold them.
type typeWork struct {
	renames [][2]string
	drops   []string
	fills   []fill
}

// nested is a typeWork at one path of a model's items (field names, in
// the migration's naming; a list on the way applies to every element).
type nested struct {
	path []string
	work *typeWork
}

// apply changes one non-model value as modelWork.rewrite changes an item.
func (tw *typeWork) apply(obj map[string]any) {
	(&modelWork{renames: tw.renames, drops: tw.drops, fills: tw.fills}).rewrite(nil, obj)
}

// at calls fn with every object found at path in v.
func at(v any, path []string, fn func(map[string]any)) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			at(e, path, fn)
		}
	case map[string]any:
		if len(path) == 0 {
			fn(v)
			return
		}
		at(v[path[0]], path[1:], fn)
	}
}

// planNested adds to works the changes of migration mg to the non-model
// types in types (named as in mg): for each, the paths that hold its values
// are found in the served schema sch and named back through the later
// migrations, so they read as in mg. Values under a field added later, or
// nested in a type inside itself, are not reached.
func planNested(sch *meta.Schema, mg *meta.Migration, later []*meta.Migration, types map[string]*typeWork, work func(string) *modelWork) error {
	for typ, tw := range types {
		final, _, ok := forwardAs(later, typ, "", true)
		if !ok || sch.NonModel(final) == nil {
			continue
		}
		for i := range tw.fills {
			f := tw.fills[i]
			_, field, ok := forwardAs(later, typ, f.field, true)
			var fd *meta.Field
			if i := slices.IndexFunc(sch.NonModel(final).Fields, func(f *meta.Field) bool { return f.Name == field }); i >= 0 {
				fd = sch.NonModel(final).Fields[i]
			}
			if !ok || fd == nil || fd.IsList {
				tw.fills[i].value = nil // dropped later, or a list: no fill
				continue
			}
			v, err := meta.DefaultValue(fd, f.value.(string))
			if err != nil {
				return fmt.Errorf("migration %04d: %s.%s: @default %q: %w", mg.Number, typ, f.field, f.value, err)
			}
			tw.fills[i].value = v
		}
		tw.fills = slices.DeleteFunc(tw.fills, func(f fill) bool { return f.value == nil })
		for _, m := range sch.Models {
			for _, p := range pathsTo(sch, m.Fields, final, nil, map[string]bool{}) {
				model, path, ok := backward(sch, later, m.Name, p)
				if ok {
					w := work(model)
					w.nested = append(w.nested, nested{path: path, work: tw})
				}
			}
		}
	}
	return nil
}

// pathsTo returns the paths (served names) from fields to values of typ.
func pathsTo(sch *meta.Schema, fields []*meta.Field, typ string, prefix []string, inPath map[string]bool) [][]string {
	var out [][]string
	for _, f := range fields {
		if f.Kind != meta.KindNonModel || inPath[f.Type] {
			continue
		}
		p := append(slices.Clone(prefix), f.Name)
		if f.Type == typ {
			out = append(out, p)
			continue
		}
		if nm := sch.NonModel(f.Type); nm != nil {
			inPath[f.Type] = true
			out = append(out, pathsTo(sch, nm.Fields, typ, p, inPath)...)
			delete(inPath, f.Type)
		}
	}
	return out
}

// backward names a model and a path of fields (served names) as the
// earliest of later names them, walking the later migrations back; ok is
// false when one of them adds the model or a field of the path.
func backward(sch *meta.Schema, later []*meta.Migration, model string, path []string) (string, []string, bool) {
	// owners[i] is the type holding path[i], in served names.
	owners := []string{model}
	fields := sch.Model(model).Fields
	for _, name := range path[:len(path)-1] {
		i := slices.IndexFunc(fields, func(f *meta.Field) bool { return f.Name == name })
		typ := fields[i].Type
		owners = append(owners, typ)
		fields = sch.NonModel(typ).Fields
	}
	path = slices.Clone(path)
	for k := len(later) - 1; k >= 0; k-- {
		for i := range path {
			var ok bool
			if owners[i], path[i], ok = backStep(later[k], owners[i], path[i], i > 0); !ok {
				return "", nil, false
			}
		}
	}
	return owners[0], path, true
}

// backStep undoes one migration's renames of a type (model or non-model)
// and one of its fields, both named as after mg.
func backStep(mg *meta.Migration, owner, field string, nonModel bool) (string, string, bool) {
	for _, st := range mg.Steps {
		if st.NonModel != nonModel || st.Model != owner {
			continue
		}
		if st.Kind == meta.AddModel || (st.Kind == meta.AddField && st.Field == field) {
			return "", "", false
		}
		if st.Kind == meta.RenameField && st.To == field {
			field = st.From
			break
		}
	}
	for _, st := range mg.Steps {
		if st.NonModel == nonModel && st.Kind == meta.RenameModel && st.To == owner {
			owner = st.From
			break
		}
	}
	return owner, field, true
}

// forwardAs follows a model (nonModel false) or non-model type and one of
// its fields, named as in a migration, through the later migrations to
// their names in the served schema; ok is false when one drops them.
func forwardAs(later []*meta.Migration, owner, field string, nonModel bool) (string, string, bool) {
	for _, mg := range later {
		// Field steps name the field as before the migration and its renames
		// apply at once: a field is renamed at most once per migration, so
		// swapped names do not undo each other.
		was := field
		for _, st := range mg.Steps {
			if st.NonModel != nonModel {
				continue
			}
			switch {
			case st.Kind == meta.RenameModel && st.From == owner:
				owner = st.To
			case st.Kind == meta.RenameField && st.Model == owner && st.From == was && was != "":
				field = st.To
			case st.Kind == meta.DropModel && st.Model == owner,
				st.Kind == meta.DropField && st.Model == owner && st.Field == was && was != "":
				return "", "", false
			}
		}
	}
	return owner, field, true
}
