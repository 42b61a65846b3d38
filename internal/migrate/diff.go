package migrate

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dsgen/dsgen/runtime/meta"
)

// Step is one migration step (see meta.MigrationStep).
type Step = meta.MigrationStep

// StepKind says what a migration step does.
type StepKind = meta.StepKind

// Effect says what a step does to local data.
type Effect = meta.Effect

// Plan is the ordered list of steps from a locked schema to the next one.
type Plan struct {
	// From and To are the schema versions before and after.
	From  string `json:"from"`
	To    string `json:"to"`
	Steps []Step `json:"steps"`
}

// Unchanged reports whether the next schema is the locked one.
func (p *Plan) Unchanged() bool { return len(p.Steps) == 0 }

// Todos returns the steps that need developer code.
func (p *Plan) Todos() []Step {
	var out []Step
	for _, s := range p.Steps {
		if s.Effect == meta.NeedsCode {
			out = append(out, s)
		}
	}
	return out
}

// RequiredFieldError reports new required fields without a @default: the
// records already stored have no value for them, so the developer must give
// one (@default) or make the field optional.
type RequiredFieldError struct {
	// Fields are "Model.field" names.
	Fields []string
}

// Error lists the fields and what to do.
func (e *RequiredFieldError) Error() string {
	return fmt.Sprintf("new required field(s) without @default: %s: existing records have no value for them; add @default(value: ...) or make them optional",
		strings.Join(e.Fields, ", "))
}

// Diff compares the locked schema with next and returns the steps that
// migrate stored data from one to the other. Renames are honoured when prev
// declares them (see Lock.ApplyRenames). A new required field without
// @default (of a model or of a non-model type) fails with a
// *RequiredFieldError naming every such field. A field whose type changes,
// or which is made required without a @default, gets a NeedsCode step
// whether it belongs to a model or to a non-model type: the runtime runs
// a non-model type's conversion on every value of the type, wherever
// records and mutations hold one.
func Diff(prev *Lock, next *meta.Schema) (*Plan, error) {
	if prev == nil {
		return nil, errors.New("migrate: diff: no lock to compare with (write the first one with NewLock)")
	}
	mt, err := match(prev, next)
	if err != nil {
		return nil, err
	}
	p := &Plan{From: prev.SchemaVersion, To: next.Version}
	var required []string
	add := func(s Step) { p.Steps = append(p.Steps, s) }

	// A field whose non-model type was renamed keeps its type.
	renamed := map[string]string{}
	for _, tp := range mt.types {
		if tp.prev != nil && tp.prev.Name != tp.next.Name {
			renamed[tp.prev.Name] = tp.next.Name
		}
	}
	for _, mp := range mt.models {
		m := mp.next
		if mp.prev == nil {
			add(Step{Kind: meta.AddModel, Model: m.Name, Effect: meta.Preserving})
			continue
		}
		old := mp.prev
		if old.Name != m.Name {
			add(Step{Kind: meta.RenameModel, Model: m.Name, ModelID: old.ID, From: old.Name, To: m.Name, Effect: meta.Preserving})
		}
		required = append(required, diffFields(add, m.Name, old.ID, false, old.Fields, m.Fields, mp.fields, renamed)...)
		diffKey(add, m, old, mp.fields)
		diffIndexes(add, m, old, mp.fields)
	}
	for _, old := range mt.dropped {
		add(Step{Kind: meta.DropModel, Model: old.Name, ModelID: old.ID, Effect: meta.Drops})
	}
	for _, tp := range mt.types {
		if tp.prev != nil {
			if tp.prev.Name != tp.next.Name {
				add(Step{Kind: meta.RenameModel, Model: tp.next.Name, NonModel: true, From: tp.prev.Name, To: tp.next.Name, Effect: meta.Preserving})
			}
			required = append(required, diffFields(add, tp.next.Name, 0, true, tp.prev.Fields, tp.next.Fields, tp.fields, renamed)...)
		}
	}
	for _, e := range next.Enums {
		var old *EnumLock
		for _, x := range prev.Enums {
			if x.Name == e.Name {
				old = x
			}
		}
		if old == nil {
			continue // a new enum holds no data; fields using it show as type changes
		}
		for _, v := range e.Values {
			if !slices.Contains(old.Values, v) {
				add(Step{Kind: meta.AddEnumValue, Model: e.Name, Value: v, Effect: meta.Preserving})
			}
		}
		for _, v := range old.Values {
			if !e.Has(v) {
				add(Step{Kind: meta.RemoveEnumValue, Model: e.Name, Value: v, Effect: meta.NeedsCode,
					Todo: fmt.Sprintf("map stored %s values %s to a remaining value (or null where the field is optional)", e.Name, v)})
			}
		}
	}
	if len(required) > 0 {
		return nil, &RequiredFieldError{Fields: required}
	}
	if len(p.Steps) == 0 && p.From != p.To {
		add(Step{Kind: meta.ChangeShape, Effect: meta.Preserving})
	}
	order := meta.StepKinds()
	slices.SortStableFunc(p.Steps, func(a, b Step) int {
		return slices.Index(order, a.Kind) - slices.Index(order, b.Kind)
	})
	return p, nil
}

// diffFields adds the field steps of one type and returns the new required
// fields without a default. renamed maps the non-model types renamed to
// their new names.
func diffFields(add func(Step), owner string, modelID int, nonModel bool, prev []*FieldLock, next []*meta.Field, fm fieldMatch, renamed map[string]string) []string {
	var required []string
	matched := map[*FieldLock]bool{}
	for _, f := range next {
		if !f.Stored() {
			continue
		}
		base := Step{Model: owner, ModelID: modelID, NonModel: nonModel, Field: f.Name}
		old := fm[f.Name]
		if old == nil {
			s := base
			s.Kind, s.Default, s.Effect = meta.AddField, f.Default, meta.Preserving
			add(s)
			// Implicit fields (timestamps, foreign keys) are filled by the
			// runtime or by sync, never by the developer.
			if f.Required && f.Default == nil && !f.Implicit && !f.ReadOnly {
				required = append(required, owner+"."+f.Name)
			}
			continue
		}
		matched[old] = true
		base.FieldID = old.ID
		if old.Name != f.Name {
			s := base
			s.Kind, s.From, s.To, s.Effect = meta.RenameField, old.Name, f.Name, meta.Preserving
			add(s)
		}
		now := lockField(f)
		oldType := old.Type
		if n, ok := renamed[oldType]; ok {
			oldType = n
		}
		if *now == (FieldLock{ID: now.ID, Name: now.Name, RenamedTo: now.RenamedTo, Type: oldType, Kind: old.Kind,
			Required: old.Required, List: old.List, ListRequired: old.ListRequired}) {
			continue
		}
		sameType := now.Type == oldType && now.Kind == old.Kind && now.List == old.List
		s := base
		s.Kind, s.From, s.To, s.Old = meta.ChangeFieldType, typeString(old), typeString(now), old.meta()
		switch {
		case sameType && (!now.Required || old.Required) && (!now.ListRequired || old.ListRequired):
			s.Effect = meta.Preserving // only nullability relaxed: every stored value stays valid
		case sameType && f.Default != nil:
			s.Default, s.Effect = f.Default, meta.Preserving // nulls become the default
		case sameType:
			s.Effect = meta.NeedsCode
			holders := "records"
			if nonModel {
				holders = owner + " values" // wherever records hold them
			}
			s.Todo = fmt.Sprintf("%s.%s is now required: give stored %s that hold null a value (or add @default)", owner, f.Name, holders)
		case textCompatible(old, now):
			s.Effect = meta.Preserving // stored as the same text
		default:
			s.Effect = meta.NeedsCode
			s.Todo = fmt.Sprintf("convert %s.%s from %s to %s", owner, f.Name, s.From, s.To)
		}
		add(s)
	}
	for _, old := range prev {
		if !matched[old] {
			add(Step{Kind: meta.DropField, Model: owner, ModelID: modelID, NonModel: nonModel, Field: old.Name, FieldID: old.ID, Effect: meta.Drops})
		}
	}
	return required
}

// textCompatible reports whether values of old read unchanged as now: the
// codec stores IDs, strings, enum names and AWS text scalars all as text.
func textCompatible(old, now *FieldLock) bool {
	if old.List != now.List || now.Kind != "scalar" || (now.Type != meta.String && now.Type != meta.ID) {
		return false
	}
	if (now.Required && !old.Required) || (now.ListRequired && !old.ListRequired) {
		return false
	}
	if old.Kind == "enum" {
		return true
	}
	switch old.Type {
	case meta.ID, meta.String, meta.AWSDate, meta.AWSTime, meta.AWSDateTime, meta.AWSEmail,
		meta.AWSJSON, meta.AWSURL, meta.AWSPhone, meta.AWSIPAddress:
		return old.Kind == "scalar"
	}
	return false
}

func typeString(f *FieldLock) string {
	t := f.Type
	if f.Required {
		t += "!"
	}
	if f.List {
		t = "[" + t + "]"
		if f.ListRequired {
			t += "!"
		}
	}
	return t
}

// ids maps next-schema field names to their locked ids (0 for new fields).
func ids(names []string, fm fieldMatch) []int {
	out := make([]int, len(names))
	for i, n := range names {
		if f := fm[n]; f != nil {
			out[i] = f.ID
		}
	}
	return out
}

func lockedIDs(names []string, m *ModelLock) []int {
	out := make([]int, len(names))
	for i, n := range names {
		if f := m.Field(n); f != nil {
			out[i] = f.ID
		}
	}
	return out
}

// diffKey compares primary keys by field id, so renaming a key field is not
// a key change. Records are re-keyed when the new key holds every old key
// field (old keys unique, so new ones are) and only fields that existed and
// were required; otherwise the model is re-synced.
func diffKey(add func(Step), m *meta.Model, old *ModelLock, fm fieldMatch) {
	oldIDs, newIDs := lockedIDs(old.PrimaryKey, old), ids(m.PrimaryKey.Fields(), fm)
	if slices.Equal(oldIDs, newIDs) {
		return
	}
	s := Step{Kind: meta.ChangePrimaryKey, Model: m.Name, ModelID: old.ID,
		From: strings.Join(old.PrimaryKey, ","), To: strings.Join(m.PrimaryKey.Fields(), ","), Effect: meta.Preserving}
	for _, id := range oldIDs {
		if !slices.Contains(newIDs, id) {
			s.Effect = meta.Resync
		}
	}
	for _, n := range m.PrimaryKey.Fields() {
		if f := fm[n]; f == nil || !f.Required {
			s.Effect = meta.Resync
		}
	}
	add(s)
}

// diffIndexes compares indexes by name and field ids.
func diffIndexes(add func(Step), m *meta.Model, old *ModelLock, fm fieldMatch) {
	for _, ix := range m.Indexes {
		var was *IndexLock
		for _, o := range old.Indexes {
			if o.Name == ix.Name {
				was = o
			}
		}
		s := Step{Model: m.Name, ModelID: old.ID, Index: ix.Name, To: strings.Join(ix.Fields, ","), Effect: meta.Preserving}
		switch {
		case was == nil:
			s.Kind = meta.AddIndex
			add(s)
		case !slices.Equal(lockedIDs(was.Fields, old), ids(ix.Fields, fm)) || slices.Contains(ids(ix.Fields, fm), 0):
			s.Kind, s.From = meta.ChangeIndex, strings.Join(was.Fields, ",")
			add(s)
		}
	}
	for _, o := range old.Indexes {
		if m.Index(o.Name) == nil {
			add(Step{Kind: meta.DropIndex, Model: m.Name, ModelID: old.ID, Index: o.Name, From: strings.Join(o.Fields, ","), Effect: meta.Drops})
		}
	}
}

// PendingError reports that the schema changed since its lock: generated
// code would not match the stored data until a migration is written.
type PendingError struct {
	// Lock is the lock file's path.
	Lock  string
	Steps []Step
}

// Error lists the pending steps and what to run.
func (e *PendingError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the schema changed since %s (%d step(s) to migrate):\n", e.Lock, len(e.Steps))
	for i, s := range e.Steps {
		fmt.Fprintf(&b, "  %2d. %s\n", i+1, s)
	}
	b.WriteString("run dsgen migrate to write the migration and move the lock, then generate again")
	return b.String()
}
