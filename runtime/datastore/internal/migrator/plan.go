package migrator

import (
	"errors"
	"fmt"
	"slices"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/meta"
)

// migrationPlan is the composition of the pending migrations.
type migrationPlan struct {
	schema *meta.Schema
	migs   []*meta.Migration
	models map[string]*modelWork // by final name
	// enums are the removeEnumValue steps, in order.
	enums []convStep
	// nonModel is set when a pending migration changes a non-model type:
	// the values nested in mutations (named as when they were recorded)
	// are then renamed to the final schema.
	nonModel bool
	// typeFills are the @default values of the fields of non-model types
	// (final names) added with one or made required with one, for the
	// nested values that have none.
	typeFills map[string][]fillDefault
	// typeConvs are the conversions of fields of non-model types (by final
	// type name) whose type changed: applied to every value of the type,
	// wherever a record or mutation holds one (a model field, a list,
	// nested in another non-model value at any depth).
	typeConvs map[string][]*conversion
	// read is the schema records are decoded with: the final schema, but
	// with the converted fields of non-model types at their stored types.
	read *meta.Schema
}

// modelWork is what the pending migrations do to one model (final name).
type modelWork struct {
	// rewrite: record values change; rekey/resync: the primary key changes;
	// reindex: the indexes to rebuild (all, when nil and rebuildAll).
	rewrite, rekey, resync, rebuildAll bool
	reindex                            []string
	convs                              []*conversion
	// fills are the @default values of added fields, for records and
	// mutations that have none.
	fills []fillDefault
	// rest are the model's stored fields other than the converted ones,
	// numbered explicitly: what records are decoded with.
	rest []*meta.Field
}

// fillDefault is the value an added field gets where it has none.
type fillDefault struct {
	field string
	value any
}

// conversion carries a field's values through type changes.
type conversion struct {
	field *meta.Field // final field
	// old is the field as stored before the first change; for a field of a
	// non-model type, under its final name, as p.read has it.
	old   *meta.Field
	steps []convStep
}

type convStep struct {
	mig int
	st  *meta.MigrationStep
}

func (p *migrationPlan) work(model string) *modelWork {
	w := p.models[model]
	if w == nil {
		w = &modelWork{}
		p.models[model] = w
	}
	return w
}

// forward follows a model (or non-model type) and field named as in
// migration k (an index into p.migs; -1 for the store's names) through the
// later migrations to their names in the final schema. ok is false when a
// later migration drops them.
func (p *migrationPlan) forward(k int, model, field string) (string, string, bool) {
	for _, mg := range p.migs[k+1:] {
		// A migration's field steps name the field as before it (and the
		// model as after it: model renames come first), and its renames
		// apply at once, so swapped names (a to b, b to a) do not undo each
		// other.
		was := field
		for _, st := range mg.Steps {
			switch st.Kind {
			case meta.RenameModel:
				if st.From == model {
					model = st.To
				}
			case meta.RenameField:
				if was != "" && st.Model == model && st.From == was {
					field = st.To
				}
			case meta.DropModel:
				if st.Model == model {
					return "", "", false
				}
			case meta.DropField:
				if was != "" && st.Model == model && st.Field == was {
					return "", "", false
				}
			}
		}
	}
	return model, field, true
}

// usersOf returns the final models whose records hold values of the
// non-model type or enum typ, directly or nested.
func usersOf(s *meta.Schema, typ string) []string {
	var out []string
	for _, m := range s.Models {
		if holds(s, m.Fields, typ, map[string]bool{}) {
			out = append(out, m.Name)
		}
	}
	return out
}

func holds(s *meta.Schema, fields []*meta.Field, typ string, seen map[string]bool) bool {
	for _, f := range fields {
		if !f.Stored() {
			continue
		}
		if f.Type == typ {
			return true
		}
		if f.Kind == meta.KindNonModel && !seen[f.Type] {
			seen[f.Type] = true
			if nm := s.NonModel(f.Type); nm != nil && holds(s, nm.Fields, typ, seen) {
				return true
			}
		}
	}
	return false
}

// planMigrations composes migs (the store's pending migrations, oldest
// first) against the final schema s.
func planMigrations(s *meta.Schema, migs []*meta.Migration) (*migrationPlan, error) {
	p := &migrationPlan{schema: s, migs: migs, models: map[string]*modelWork{}}
	convs := map[string]*conversion{} // by final "Model.field"
	for k, mg := range migs {
		for _, st := range mg.Steps {
			if err := p.add(k, st, convs); err != nil {
				return nil, &Error{Migration: mg.Number, Model: st.Model, Field: st.Field, Err: err}
			}
		}
	}
	p.finish()
	return p, nil
}

// add records what step st of migration k (an index into p.migs) does to
// the final models. convs holds the conversions made so far, by final
// "Model.field".
func (p *migrationPlan) add(k int, st *meta.MigrationStep, convs map[string]*conversion) error {
	s, num := p.schema, p.migs[k].Number
	if st.Kind == meta.RemoveEnumValue {
		if st.Convert == nil {
			return fmt.Errorf("no conversion function for the removed value %s (%s): run dsgen generate", st.Value, st.Func)
		}
		for _, m := range usersOf(s, st.Model) {
			p.work(m).rewrite = true
		}
		p.enums = append(p.enums, convStep{mig: num, st: st})
		return nil
	}
	model, field, ok := p.forward(k, st.Model, st.Field)
	if !ok {
		return nil // a later migration drops what this step touches
	}
	if st.NonModel {
		return p.addNonModel(num, model, field, st)
	}
	fm := s.Model(model)
	if fm == nil {
		return nil
	}
	switch st.Kind {
	case meta.DropField:
		p.work(model).rewrite = true
	case meta.AddField:
		f := fm.Field(field)
		if st.Default == nil || f == nil || f.IsList {
			return nil
		}
		dv, err := meta.DefaultValue(f, *st.Default)
		if err != nil {
			return fmt.Errorf("@default %q: %w", *st.Default, err)
		}
		w := p.work(model)
		w.rewrite = true
		w.fills = append(w.fills, fillDefault{field: field, value: dv})
	case meta.ChangeFieldType:
		return p.addConversion(num, fm, field, st, convs)
	case meta.ChangePrimaryKey:
		w := p.work(model)
		if st.Effect == meta.Resync {
			w.resync = true
		} else {
			w.rekey = true
		}
	case meta.AddIndex, meta.ChangeIndex:
		w := p.work(model)
		w.reindex = append(w.reindex, st.Index)
	}
	return nil
}

// addConversion records a change of field's type, in migration num: the
// records of fm get its values converted.
func (p *migrationPlan) addConversion(num int, fm *meta.Model, field string, st *meta.MigrationStep, convs map[string]*conversion) error {
	model := fm.Name
	f := fm.Field(field)
	if f == nil {
		return nil
	}
	if st.Effect == meta.NeedsCode && st.Convert == nil {
		return fmt.Errorf("no conversion function (%s): write it in the model package and run dsgen generate", st.Func)
	}
	if st.Effect != meta.NeedsCode && st.Default == nil {
		return nil // stored bytes read the same as the new type
	}
	key := model + "." + field
	c := convs[key]
	if c == nil {
		if st.Old == nil {
			return errors.New("the step has no record of the old field type (written by an older dsgen: run dsgen migrate again)")
		}
		c = &conversion{field: f, old: st.Old}
		convs[key] = c
		w := p.work(model)
		w.convs = append(w.convs, c)
	}
	c.steps = append(c.steps, convStep{mig: num, st: st})
	p.work(model).rewrite = true
	return nil
}

// addNonModel records a step of migration num on the non-model type typ
// (final name; field is the field's final name): the models holding its
// values are rewritten, a change of the field's type that needs the
// developer's conversion converts every value of the type (see
// addTypeConversion), and the @default of an added field (or one made
// required) fills the nested values that have none.
func (p *migrationPlan) addNonModel(num int, typ, field string, st *meta.MigrationStep) error {
	p.nonModel = true
	switch st.Kind {
	case meta.DropField, meta.ChangeFieldType, meta.AddField:
		nm := p.schema.NonModel(typ)
		var f *meta.Field
		i := -1
		if nm != nil {
			if i = slices.IndexFunc(nm.Fields, func(f *meta.Field) bool { return f.Name == field }); i >= 0 {
				f = nm.Fields[i]
			}
		}
		switch {
		case st.Kind == meta.ChangeFieldType && f != nil && (st.Effect == meta.NeedsCode || (p.typeConv(typ, field) != nil && st.Default != nil)):
			if err := p.addTypeConversion(num, nm, i, st); err != nil {
				return err
			}
		case st.Kind != meta.DropField && st.Default != nil && f != nil && !f.IsList:
			dv, err := meta.DefaultValue(f, *st.Default)
			if err != nil {
				return fmt.Errorf("@default %q: %w", *st.Default, err)
			}
			if p.typeFills == nil {
				p.typeFills = map[string][]fillDefault{}
			}
			p.typeFills[typ] = append(p.typeFills[typ], fillDefault{field: field, value: dv})
		}
		for _, m := range usersOf(p.schema, typ) {
			p.work(m).rewrite = true
		}
	}
	return nil
}

// typeConv returns the conversion of the field of the non-model type typ
// (final names), or nil.
func (p *migrationPlan) typeConv(typ, field string) *conversion {
	for _, c := range p.typeConvs[typ] {
		if c.field.Name == field {
			return c
		}
	}
	return nil
}

// addTypeConversion records a change of the type of nm.Fields[i] in
// migration num: every value of nm that records and mutations hold gets
// that field converted, as a model field's values are (see conversion).
func (p *migrationPlan) addTypeConversion(num int, nm *meta.NonModel, i int, st *meta.MigrationStep) error {
	f := nm.Fields[i]
	if st.Effect == meta.NeedsCode && st.Convert == nil {
		return fmt.Errorf("no conversion function (%s): write it in the model package and run dsgen generate", st.Func)
	}
	c := p.typeConv(nm.Name, f.Name)
	if c == nil {
		if st.Old == nil {
			return errors.New("the step has no record of the old field type (written by an older dsgen: run dsgen migrate again)")
		}
		old := *st.Old
		old.Name = f.Name
		if old.Number == 0 {
			old.Number = codec.Number(nm.Fields, i)
		}
		c = &conversion{field: f, old: &old}
		if p.typeConvs == nil {
			p.typeConvs = map[string][]*conversion{}
		}
		p.typeConvs[nm.Name] = append(p.typeConvs[nm.Name], c)
	}
	c.steps = append(c.steps, convStep{mig: num, st: st})
	return nil
}

// storedType names the non-model type typ (final name) as the store knows
// it, undoing the pending migrations' renames of the type.
func (p *migrationPlan) storedType(typ string) string {
	for k := len(p.migs) - 1; k >= 0; k-- {
		for _, st := range p.migs[k].Steps {
			if st.Kind == meta.RenameModel && st.NonModel && st.To == typ {
				typ = st.From
				break
			}
		}
	}
	return typ
}

// fixNested carries the pending changes of non-model types into the
// non-model values rec's fields hold, at any depth and in lists; model is
// the final model rec belongs to, for errors. With stored set (mutation
// data, whose nested keys are named as when the mutation was recorded),
// keys are renamed to the final names and those of fields dropped or
// unknown removed; a record's values need no renames (the codec stores
// fields by number). Conversions of the fields of non-model types then
// convert each value's field (a record's values were decoded with p.read,
// so the field holds its stored type), and the @defaults of added fields
// fill the values that lack them. A null or absent non-model value is left
// as it is. Fields w converts are skipped: their values have their old
// type. A conversion's error is an *Error whose Field is the path of the
// value ("address.geo.lat", "previous[1].geo.lat").
func (p *migrationPlan) fixNested(model string, fields []*meta.Field, rec map[string]any, stored bool, w *modelWork) error {
	for _, f := range fields {
		if f.Kind != meta.KindNonModel || !f.Stored() || rec[f.Name] == nil {
			continue
		}
		if w != nil && slices.ContainsFunc(w.convs, func(c *conversion) bool { return c.field.Name == f.Name }) {
			continue
		}
		v, err := p.fixValues(model, f, rec[f.Name], stored, f.Name)
		if err != nil {
			return err
		}
		rec[f.Name] = v
	}
	return nil
}

// fixValues is fixNested for v, the value of the non-model field f (a
// list of values when f is a list), at path.
func (p *migrationPlan) fixValues(model string, f *meta.Field, v any, stored bool, path string) (any, error) {
	switch v := v.(type) {
	case []any:
		for i, e := range v {
			if m, ok := e.(map[string]any); ok {
				nv, err := p.fixValue(model, f.Type, m, stored, fmt.Sprintf("%s[%d]", path, i))
				if err != nil {
					return nil, err
				}
				v[i] = nv
			}
		}
		return v, nil
	case map[string]any:
		return p.fixValue(model, f.Type, v, stored, path)
	}
	return v, nil
}

// fixValue is fixNested for one value of the non-model type typ, at path.
func (p *migrationPlan) fixValue(model, typ string, m map[string]any, stored bool, path string) (map[string]any, error) {
	nm := p.schema.NonModel(typ)
	if nm == nil {
		return m, nil
	}
	if stored {
		from := p.storedType(typ)
		out := make(map[string]any, len(m))
		for k, v := range m {
			_, f, ok := p.forward(-1, from, k)
			if ok && slices.ContainsFunc(nm.Fields, func(fd *meta.Field) bool { return fd.Name == f && fd.Stored() }) {
				out[f] = v
			}
		}
		m = out
	}
	convs := p.typeConvs[typ]
	for _, c := range convs {
		// As for a model field, the conversion sees a null (or, in a
		// value, absent) field as nil.
		v, present := m[c.field.Name]
		if stored {
			v = jsonValue(c.old, v)
		}
		nv, err := c.apply(v, model)
		if err != nil {
			var me *Error
			if errors.As(err, &me) {
				me.Field = path + "." + c.field.Name
				me.Err = fmt.Errorf("%s.%s: %w", typ, c.field.Name, me.Err)
			}
			return nil, err
		}
		if nv != nil || present {
			m[c.field.Name] = nv
		}
	}
	for _, fd := range p.typeFills[typ] {
		if m[fd.field] == nil {
			m[fd.field] = fd.value
		}
	}
	for _, f := range nm.Fields {
		if f.Kind != meta.KindNonModel || !f.Stored() || m[f.Name] == nil ||
			slices.ContainsFunc(convs, func(c *conversion) bool { return c.field == f }) {
			continue // a converted value has its new shape already
		}
		v, err := p.fixValues(model, f, m[f.Name], stored, path+"."+f.Name)
		if err != nil {
			return nil, err
		}
		m[f.Name] = v
	}
	return m, nil
}

// finish marks the models to rebuild and lists the fields their records
// are decoded with.
func (p *migrationPlan) finish() {
	s := p.schema
	p.read = s
	if len(p.typeConvs) > 0 {
		read := *s
		read.NonModels = make([]*meta.NonModel, len(s.NonModels))
		for i, nm := range s.NonModels {
			read.NonModels[i] = nm
			convs := p.typeConvs[nm.Name]
			if len(convs) == 0 {
				continue
			}
			cp := &meta.NonModel{Name: nm.Name, Fields: slices.Clone(nm.Fields)}
			for j, f := range cp.Fields {
				if k := slices.IndexFunc(convs, func(c *conversion) bool { return c.field == f }); k >= 0 {
					cp.Fields[j] = convs[k].old
				}
			}
			read.NonModels[i] = cp
		}
		p.read = &read
	}
	for name, w := range p.models {
		if w.rewrite || w.rekey || w.resync {
			w.rebuildAll = true
		}
		fields := s.Model(name).Fields
		for i, f := range fields {
			if !f.Stored() || slices.ContainsFunc(w.convs, func(c *conversion) bool { return c.field == f }) {
				continue
			}
			cp := *f
			cp.Number = codec.Number(fields, i)
			w.rest = append(w.rest, &cp)
		}
	}
}

// convertRecord applies the plan's value changes to an encoded record of t.
func (p *migrationPlan) convertRecord(t *engine.Table, data []byte) ([]byte, error) {
	s := p.schema
	w := p.models[t.Model.Name]
	// Values whose type changed are read with their old type (nested
	// ones through p.read), the rest with the new schema (which skips
	// dropped fields).
	rec, err := codec.DecodeMap(p.read, w.rest, data)
	if err != nil {
		return nil, err
	}
	if len(p.typeFills) > 0 || len(p.typeConvs) > 0 {
		if err := p.fixNested(t.Model.Name, w.rest, rec, false, nil); err != nil {
			return nil, err
		}
	}
	for _, c := range w.convs {
		old, err := codec.DecodeMap(p.read, []*meta.Field{c.old}, data)
		if err != nil {
			return nil, &Error{Model: t.Model.Name, Field: c.field.Name, Err: fmt.Errorf("reading the stored %s value: %w", c.old.Type, err)}
		}
		v, err := c.apply(old[c.old.Name], t.Model.Name)
		if err != nil {
			return nil, err
		}
		if v != nil {
			rec[c.field.Name] = v
		}
	}
	w.fill(rec, false)
	if err := p.fixEnums(t.Model.Name, t.Model.Fields, rec); err != nil {
		return nil, err
	}
	out, err := codec.EncodeMap(s, t.Model.Fields, rec, nil)
	if err != nil {
		return nil, &Error{Model: t.Model.Name, Err: fmt.Errorf("the converted record does not fit the schema: %w", err)}
	}
	return out, nil
}

// apply runs a value through the conversion's steps.
func (c *conversion) apply(v any, model string) (any, error) {
	for _, cs := range c.steps {
		switch {
		case cs.st.Effect == meta.NeedsCode:
			nv, err := cs.st.Convert(v)
			if err != nil {
				return nil, &Error{Migration: cs.mig, Model: model, Field: c.field.Name,
					Err: fmt.Errorf("%s: %w", cs.st.Func, err)}
			}
			v = nv
		case v == nil && cs.st.Default != nil:
			dv, err := meta.DefaultValue(c.field, *cs.st.Default)
			if err != nil {
				return nil, &Error{Migration: cs.mig, Model: model, Field: c.field.Name, Err: fmt.Errorf("@default %q: %w", *cs.st.Default, err)}
			}
			v = dv
		}
	}
	return v, nil
}

// fill sets the @default of the fields added with one where rec has none
// (onlyPresent: only where rec holds the field as null, for updates).
func (w *modelWork) fill(rec map[string]any, onlyPresent bool) {
	for _, f := range w.fills {
		if v, present := rec[f.field]; v == nil && (present || !onlyPresent) {
			rec[f.field] = f.value
		}
	}
}

// fixEnums replaces removed enum values in rec (values of fields, nested in
// non-model values and lists) by their conversion functions' answers.
func (p *migrationPlan) fixEnums(model string, fields []*meta.Field, rec map[string]any) error {
	for _, cs := range p.enums {
		if err := replaceEnum(p.schema, fields, rec, cs.st); err != nil {
			return &Error{Migration: cs.mig, Model: model, Err: fmt.Errorf("%s value %s: %s: %w", cs.st.Model, cs.st.Value, cs.st.Func, err)}
		}
	}
	return nil
}

func replaceEnum(s *meta.Schema, fields []*meta.Field, rec map[string]any, st *meta.MigrationStep) error {
	for _, f := range fields {
		v, ok := rec[f.Name]
		if !ok || v == nil || !f.Stored() {
			continue
		}
		switch f.Kind {
		case meta.KindEnum:
			if f.Type != st.Model {
				continue
			}
			if !f.IsList {
				if v == st.Value {
					nv, err := st.Convert(v)
					if err != nil {
						return err
					}
					rec[f.Name] = nv
				}
				continue
			}
			list, _ := v.([]any)
			out := list[:0]
			for _, e := range list {
				if e == st.Value {
					nv, err := st.Convert(e)
					if err != nil {
						return err
					}
					if nv == nil {
						continue // a list element has no null: leave it out
					}
					e = nv
				}
				out = append(out, e)
			}
			rec[f.Name] = out
		case meta.KindNonModel:
			nm := s.NonModel(f.Type)
			if nm == nil {
				continue
			}
			values := []any{v}
			if f.IsList {
				values, _ = v.([]any)
			}
			for _, e := range values {
				if m, ok := e.(map[string]any); ok {
					if err := replaceEnum(s, nm.Fields, m, st); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// jsonValue turns a value of a mutation's data (JSON-decoded, numbers as
// json.Number) into the shape the codec and converters use for field f.
func jsonValue(f *meta.Field, v any) any {
	if list, ok := v.([]any); ok && f.IsList {
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = engine.WireValue(f, e)
		}
		return out
	}
	return engine.WireValue(f, v)
}

// renameFields renames and drops the fields of a mutation's data from the
// store's model from to the final model.
func (p *migrationPlan) renameFields(from, model string, data map[string]any) map[string]any {
	m := p.schema.Model(model)
	out := make(map[string]any, len(data))
	for k, v := range data {
		_, f, ok := p.forward(-1, from, k)
		if !ok {
			continue
		}
		if fd := m.Field(f); fd != nil && fd.Stored() {
			out[f] = v
		}
	}
	return out
}

// renameCondition renames the fields of a GraphQL condition input. A
// clause on a field dropped, or converted by a developer's function (its
// operands have the old type), cannot be sent: it is left out and
// described (naming "Model.field" as the mutation names it) in lost,
// sorted, so the caller does not send a write its condition no longer
// guards. So is a clause comparing an enum field with a value a
// migration removes: the backend no longer accepts the value, and
// mapping it as the records were mapped would change what the clause
// matches.
func (p *migrationPlan) renameCondition(from, model string, cond map[string]any) (out map[string]any, lost []string) {
	if cond == nil {
		return nil, nil
	}
	m := p.schema.Model(model)
	w := p.models[model]
	var walk func(c map[string]any) map[string]any
	walk = func(c map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range c {
			switch k {
			case "and", "or":
				list, _ := v.([]any)
				var kept []any
				for _, e := range list {
					if em, ok := e.(map[string]any); ok {
						if r := walk(em); len(r) > 0 {
							kept = append(kept, r)
						}
					}
				}
				if len(kept) > 0 {
					out[k] = kept
				}
			case "not":
				if em, ok := v.(map[string]any); ok {
					if r := walk(em); len(r) > 0 {
						out[k] = r
					}
				}
			default:
				_, f, ok := p.forward(-1, from, k)
				if !ok || m.Field(f) == nil || (w != nil && slices.ContainsFunc(w.convs, func(c *conversion) bool {
					return c.field.Name == f && c.needsCode()
				})) {
					lost = addLost(lost, from+"."+k+", which the migration drops or converts to a new type")
					continue
				}
				if fd := m.Field(f); fd.Kind == meta.KindEnum {
					for _, cs := range p.enums {
						if cs.st.Model == fd.Type && holdsValue(v, cs.st.Value) {
							lost = addLost(lost, fmt.Sprintf("%s.%s against %s, a value the migration removes from enum %s", from, k, cs.st.Value, fd.Type))
						}
					}
				}
				out[f] = v
			}
		}
		return out
	}
	out = walk(cond)
	slices.Sort(lost)
	if len(out) == 0 {
		return nil, lost
	}
	return out, lost
}

// addLost adds the description of a condition clause that cannot be sent
// to lost, once.
func addLost(lost []string, desc string) []string {
	if slices.Contains(lost, desc) {
		return lost
	}
	return append(lost, desc)
}

// holdsValue reports whether a condition clause's operands (an operator
// map such as {"eq": "A"}, lists as for between, nested and/or/not
// shapes) include the enum value val.
func holdsValue(operands any, val string) bool {
	switch o := operands.(type) {
	case string:
		return o == val
	case []any:
		return slices.ContainsFunc(o, func(e any) bool { return holdsValue(e, val) })
	case map[string]any:
		for _, e := range o {
			if holdsValue(e, val) {
				return true
			}
		}
	}
	return false
}

// needsCode reports whether a step of c runs a developer's conversion:
// the values' type changes (the other steps only fill nulls).
func (c *conversion) needsCode() bool {
	return slices.ContainsFunc(c.steps, func(cs convStep) bool { return cs.st.Effect == meta.NeedsCode })
}
