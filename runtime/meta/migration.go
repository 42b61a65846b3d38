package meta

import (
	"fmt"
	"strings"
)

// Migration is one numbered migration of stored data, as `dsgen migrate`
// wrote it (migrations/NNNN_<slug>.json next to the schema) and the
// developer reviewed it. Steps use the names of schema To, except in From
// and in the steps that drop something.
type Migration struct {
	Number int              `json:"number"`
	From   string           `json:"from"`
	To     string           `json:"to"`
	Steps  []*MigrationStep `json:"steps"`
}

// StepKind says what a migration step does.
type StepKind string

// The step kinds, in the order a migration lists them: renames first, so
// later steps use the new names; drops before adds; indexes last, once the
// fields they cover exist.
const (
	RenameModel      StepKind = "renameModel"
	RenameField      StepKind = "renameField"
	DropIndex        StepKind = "dropIndex"
	DropField        StepKind = "dropField"
	DropModel        StepKind = "dropModel"
	AddEnumValue     StepKind = "addEnumValue"
	RemoveEnumValue  StepKind = "removeEnumValue"
	AddModel         StepKind = "addModel"
	AddField         StepKind = "addField"
	ChangeFieldType  StepKind = "changeFieldType"
	ChangePrimaryKey StepKind = "changePrimaryKey"
	AddIndex         StepKind = "addIndex"
	ChangeIndex      StepKind = "changeIndex"
	// ChangeShape is a schema version change that touches no stored data
	// (a relation rewired over existing fields, say): only the recorded
	// version moves.
	ChangeShape StepKind = "changeShape"
)

// StepKinds lists the step kinds in plan order.
func StepKinds() []StepKind {
	return []StepKind{RenameModel, RenameField, DropIndex, DropField, DropModel,
		AddEnumValue, RemoveEnumValue, AddModel, AddField, ChangeFieldType, ChangePrimaryKey,
		AddIndex, ChangeIndex, ChangeShape}
}

// Effect says what a step does to local data.
type Effect string

// The effects of steps.
const (
	// Preserving steps keep every record (converted by rule when needed).
	Preserving Effect = "preserving"
	// Drops removes data the schema no longer has: a model's records, a
	// field's values, an index.
	Drops Effect = "drops"
	// NeedsCode steps convert values with a function the developer writes
	// (MigrationStep.Func).
	NeedsCode Effect = "needsCode"
	// Resync steps cannot convert the model's records: the runtime drops
	// them (keeping those with unsent changes) and clears the model's
	// lastSync so the next sync is a full one.
	Resync Effect = "resync"
)

// MigrationStep is one step of a migration.
type MigrationStep struct {
	Kind StepKind `json:"kind"`
	// Model is the model, non-model type or enum the step touches.
	Model   string `json:"model"`
	ModelID int    `json:"modelId,omitempty"`
	// NonModel is true when Model is a non-model type (its values are
	// nested in the records of the models that use it).
	NonModel bool   `json:"nonModel,omitempty"`
	Field    string `json:"field,omitempty"`
	FieldID  int    `json:"fieldId,omitempty"`
	Index    string `json:"index,omitempty"`
	Value    string `json:"value,omitempty"`
	// From and To describe the change: former name, former and new type,
	// former and new key fields.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Default is the @default that fills an added field, or the nulls of
	// a field made required.
	Default *string `json:"default,omitempty"`
	Effect  Effect  `json:"effect"`
	// Old is the field as stored before a changeFieldType step (its
	// Number is its lock id): how to read the values being converted.
	Old *Field `json:"old,omitempty"`
	// Todo says what the developer must write, for NeedsCode steps.
	Todo string `json:"todo,omitempty"`
	// Func names the developer's conversion function of a NeedsCode step
	// (see Converter); generated code sets Convert to it.
	Func    string    `json:"func,omitempty"`
	Convert Converter `json:"-"`
}

// Converter converts one stored value for a NeedsCode migration step: the
// old value of a field whose type changed, a field made required (nil when
// the record held null), or a removed enum value. For a field of a
// non-model type (MigrationStep.NonModel) it is called once for every
// value of the type that records and pending mutations hold (in a model
// field, a list, nested in another non-model value), with that value's
// field (nil when null or absent); a null value of the type is left as it
// is. Values have the shapes
// codec.DecodeMap returns: string (IDs, strings, enum values, AWS scalars
// as text, AWSJSON as JSON text), int64 (Int, AWSTimestamp), float64,
// bool, []any, map[string]any (non-model values) or nil. Return the new
// value in the same shapes for the new type, or an error, which stops the
// migration (the store is left as it was before the failed batch).
type Converter func(v any) (any, error)

// String describes the step on one line, as `dsgen migrate` prints it.
func (s MigrationStep) String() string {
	var b strings.Builder
	target := s.Model
	if s.Field != "" {
		target += "." + s.Field
	}
	fmt.Fprintf(&b, "%s %s", s.Kind, target)
	switch {
	case s.Index != "":
		fmt.Fprintf(&b, " index %s", s.Index)
	case s.Value != "":
		fmt.Fprintf(&b, " value %s", s.Value)
	}
	if s.From != "" || s.To != "" {
		fmt.Fprintf(&b, " (%s -> %s)", s.From, s.To)
	}
	if s.Default != nil {
		fmt.Fprintf(&b, " default %q", *s.Default)
	}
	fmt.Fprintf(&b, " [%s]", s.Effect)
	if s.Todo != "" {
		fmt.Fprintf(&b, " TODO: %s", s.Todo)
	}
	return b.String()
}
