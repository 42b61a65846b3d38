package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/dsgen/dsgen/runtime/meta"
)

// LockFile is the lock's file name, kept next to the schema.
const LockFile = "dsgen.lock.json"

// LockFormat is the version of the lock file format this package writes and
// reads.
const LockFormat = 1

// Lock pins a stable id to every model and stored field of a schema, and
// records the stored shape the differ compares the next schema with. It is
// written as dsgen.lock.json and committed with the schema.
type Lock struct {
	// Format is LockFormat.
	Format int `json:"format"`
	// SchemaVersion is meta.Schema.Version of the locked schema.
	SchemaVersion string `json:"schemaVersion"`
	// Migration is the number of the last migration written (0 for a first
	// lock).
	Migration int `json:"migration"`
	// NextModelID is the id the next new model gets; ids of dropped models
	// are never reused.
	NextModelID int          `json:"nextModelId"`
	Models      []*ModelLock `json:"models"`
	NonModels   []*TypeLock  `json:"nonModels"`
	Enums       []*EnumLock  `json:"enums"`
}

// ModelLock is the locked state of one model.
type ModelLock struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	// RenamedTo declares, when a user edits the lock, that the model is
	// called RenamedTo in the next schema: it keeps its id and its data.
	RenamedTo string `json:"renamedTo,omitempty"`
	// PrimaryKey is the partition key field followed by the sort keys.
	PrimaryKey []string `json:"primaryKey"`
	// NextFieldID is the id the next new field gets; ids of dropped fields
	// are never reused within the model.
	NextFieldID int          `json:"nextFieldId"`
	Fields      []*FieldLock `json:"fields"`
	Indexes     []*IndexLock `json:"indexes"`
}

// TypeLock is the locked state of a non-model type, whose values are stored
// as nested records inside model records.
type TypeLock struct {
	Name        string       `json:"name"`
	RenamedTo   string       `json:"renamedTo,omitempty"`
	NextFieldID int          `json:"nextFieldId"`
	Fields      []*FieldLock `json:"fields"`
}

// FieldLock is the locked state of one stored field.
type FieldLock struct {
	// ID is the field's stable number. A first lock gives every field its
	// codec field number (1 + its index in meta.Model.Fields).
	ID   int    `json:"id"`
	Name string `json:"name"`
	// RenamedTo declares, when a user edits the lock, the field's name in
	// the next schema.
	RenamedTo string `json:"renamedTo,omitempty"`
	// RenamedFrom is the name the field had before the last migration that
	// renamed it: a @renamedFrom declaring it again is a leftover (which
	// matters for swapped names, whose new names the lock already has).
	RenamedFrom  string `json:"renamedFrom,omitempty"`
	Type         string `json:"type"`
	Kind         string `json:"kind"`
	Required     bool   `json:"required"`
	List         bool   `json:"list"`
	ListRequired bool   `json:"listRequired"`
}

// IndexLock is a locked secondary index: its name and key fields.
type IndexLock struct {
	Name   string   `json:"name"`
	Fields []string `json:"fields"`
}

// EnumLock is a locked enum and its values.
type EnumLock struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// LoadLock reads the lock at path. It returns nil, nil when there is none.
func LoadLock(path string) (*Lock, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lock: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var l Lock
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("read lock %s: %w", path, err)
	}
	if err := l.check(); err != nil {
		return nil, fmt.Errorf("read lock %s: %w", path, err)
	}
	return &l, nil
}

// check rejects a lock a user edit (or a merge) has made inconsistent.
func (l *Lock) check() error {
	if l.Format != LockFormat {
		return fmt.Errorf("format %d, want %d (written by another dsgen version?)", l.Format, LockFormat)
	}
	ids := map[int]string{}
	names := map[string]bool{}
	for _, m := range l.Models {
		if m.Name == "" || m.ID <= 0 || m.ID >= l.NextModelID {
			return fmt.Errorf("model %q: id %d must be between 1 and nextModelId-1 (%d)", m.Name, m.ID, l.NextModelID-1)
		}
		if prev, dup := ids[m.ID]; dup {
			return fmt.Errorf("models %s and %s share id %d", prev, m.Name, m.ID)
		}
		if names[m.Name] {
			return fmt.Errorf("model %s is listed twice", m.Name)
		}
		ids[m.ID], names[m.Name] = m.Name, true
		if err := checkFields(m.Name, m.Fields, m.NextFieldID); err != nil {
			return err
		}
	}
	for _, n := range l.NonModels {
		if err := checkFields(n.Name, n.Fields, n.NextFieldID); err != nil {
			return err
		}
	}
	return nil
}

func checkFields(owner string, fields []*FieldLock, next int) error {
	ids := map[int]string{}
	names := map[string]bool{}
	for _, f := range fields {
		if f.Name == "" || f.ID <= 0 || f.ID >= next {
			return fmt.Errorf("field %s.%s: id %d must be between 1 and nextFieldId-1 (%d)", owner, f.Name, f.ID, next-1)
		}
		if prev, dup := ids[f.ID]; dup {
			return fmt.Errorf("fields %s.%s and %s.%s share id %d", owner, prev, owner, f.Name, f.ID)
		}
		if names[f.Name] {
			return fmt.Errorf("field %s.%s is listed twice", owner, f.Name)
		}
		if _, ok := storedKinds[f.Kind]; !ok || f.Type == "" {
			return fmt.Errorf("field %s.%s: kind %q and type %q: want kind scalar, enum or nonModel and a type name", owner, f.Name, f.Kind, f.Type)
		}
		ids[f.ID], names[f.Name] = f.Name, true
	}
	return nil
}

// Write writes the lock to path as indented JSON. The bytes depend only on
// the lock's contents.
func (l *Lock) Write(path string) error {
	b, err := l.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write lock: %w", err)
	}
	return nil
}

// Marshal returns the lock file's bytes.
func (l *Lock) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode lock: %w", err)
	}
	return append(b, '\n'), nil
}

// Model returns the locked model called name (its name in the lock), or nil.
func (l *Lock) Model(name string) *ModelLock {
	for _, m := range l.Models {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Field returns the locked field called name, or nil.
func (m *ModelLock) Field(name string) *FieldLock {
	return findField(m.Fields, name)
}

func findField(fs []*FieldLock, name string) *FieldLock {
	for _, f := range fs {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// NewLock returns the lock of s. Models and fields that prev knows keep
// their ids, matched by name or, when prev declares it (RenamedTo, see
// Lock.ApplyRenames), by their former name; new ones get fresh ids. With a
// nil prev every model gets 1 + its index in s.Models and every field its
// codec field number, 1 + its index in the model's Fields (relation fields
// take a number without being locked, as in the codec).
func NewLock(s *meta.Schema, prev *Lock) (*Lock, error) {
	m, err := match(prev, s)
	if err != nil {
		return nil, err
	}
	l := &Lock{Format: LockFormat, SchemaVersion: s.Version, NextModelID: 1}
	if prev != nil {
		l.Migration, l.NextModelID = prev.Migration, prev.NextModelID
	}
	for _, mp := range m.models {
		ml := &ModelLock{Name: mp.next.Name}
		var fp fieldMatch
		if mp.prev != nil {
			ml.ID = mp.prev.ID
			fp = mp.fields
		} else {
			ml.ID = l.NextModelID
			l.NextModelID++
		}
		ml.NextFieldID, ml.Fields = lockFields(mp.next.Fields, mp.prev, fp)
		for _, f := range mp.next.PrimaryKey.Fields() {
			ml.PrimaryKey = append(ml.PrimaryKey, f)
		}
		for _, ix := range mp.next.Indexes {
			ml.Indexes = append(ml.Indexes, &IndexLock{Name: ix.Name, Fields: append([]string{}, ix.Fields...)})
		}
		l.Models = append(l.Models, ml)
	}
	for _, tp := range m.types {
		tl := &TypeLock{Name: tp.next.Name}
		var prevFields []*FieldLock
		next := 0
		if tp.prev != nil {
			prevFields, next = tp.prev.Fields, tp.prev.NextFieldID
		}
		tl.NextFieldID, tl.Fields = lockFieldsFrom(tp.next.Fields, prevFields, next, tp.fields)
		l.NonModels = append(l.NonModels, tl)
	}
	for _, e := range s.Enums {
		l.Enums = append(l.Enums, &EnumLock{Name: e.Name, Values: append([]string{}, e.Values...)})
	}
	return l, nil
}

func lockFields(fields []*meta.Field, prev *ModelLock, fp fieldMatch) (int, []*FieldLock) {
	if prev == nil {
		return lockFieldsFrom(fields, nil, 0, fp)
	}
	return lockFieldsFrom(fields, prev.Fields, prev.NextFieldID, fp)
}

// lockFieldsFrom locks fields. With no previous lock (next == 0) ids are
// codec field numbers; otherwise matched fields keep their ids and new ones
// take ids from next on.
func lockFieldsFrom(fields []*meta.Field, prev []*FieldLock, next int, fp fieldMatch) (int, []*FieldLock) {
	first := next == 0
	if first {
		next = len(fields) + 1
	}
	var out []*FieldLock
	for i, f := range fields {
		if !f.Stored() {
			continue
		}
		fl := lockField(f)
		switch old := fp[f.Name]; {
		case first:
			fl.ID = i + 1
		case old != nil:
			fl.ID, fl.RenamedFrom = old.ID, old.RenamedFrom
			if old.Name != f.Name {
				fl.RenamedFrom = old.Name
			}
		default:
			fl.ID = next
			next++
		}
		out = append(out, fl)
	}
	return next, out
}

func lockField(f *meta.Field) *FieldLock {
	return &FieldLock{Name: f.Name, Type: f.Type, Kind: f.Kind.String(), Required: f.Required, List: f.IsList, ListRequired: f.ListRequired}
}
