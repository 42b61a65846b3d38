package datastore

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// validate checks every stored field of v against the schema.
func (r *Repo[T]) validate(v *T) error {
	m := r.table.Model
	key := map[string]bool{}
	for _, k := range m.PrimaryKey.Fields() {
		key[k] = true
	}
	for _, f := range m.Fields {
		if !f.Stored() || f.Name == r.table.CreatedAt || f.Name == r.table.UpdatedAt {
			continue
		}
		val, ok := r.model.Get(v, f.Name)
		if ok && isZeroScalar(val) {
			ok = false // a zero AWSDate, AWSTime or AWSDateTime is no value
		}
		fail := func(reason string, err error) error {
			return &ValidationError{Model: m.Name, Field: f.Name, Reason: reason, Err: err}
		}
		if !ok {
			if (f.IsList && f.ListRequired) || (!f.IsList && f.Required) || key[f.Name] {
				return fail("required field is null", nil)
			}
			continue
		}
		if key[f.Name] && val == "" {
			return fail("key field is empty", nil)
		}
		if reason, err := checkField(r.store.schema, f, reflect.ValueOf(val)); reason != "" {
			return fail(reason, err)
		}
	}
	return nil
}

// checkField returns why the non-null value v of f (a list for list
// fields) is invalid, or "".
func checkField(s *meta.Schema, f *meta.Field, v reflect.Value) (string, error) {
	if !f.IsList {
		return checkElement(s, f, v)
	}
	for i := range v.Len() {
		if reason, err := checkElement(s, f, v.Index(i)); reason != "" {
			return fmt.Sprintf("element %d: %s", i, reason), err
		}
	}
	return "", nil
}

// checkElement checks one value of f: a scalar or enum value, or a value
// of a non-model type, whose fields are checked in turn.
func checkElement(s *meta.Schema, f *meta.Field, v reflect.Value) (string, error) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", nil
		}
		v = v.Elem()
	}
	if f.Kind == meta.KindNonModel {
		return checkNonModel(s, s.NonModel(f.Type), v)
	}
	return checkValue(f, v.Interface())
}

// checkNonModel checks the fields of v, a struct of the generated type of
// non-model n, found by their JSON names. Reasons name the nested field.
func checkNonModel(s *meta.Schema, n *meta.NonModel, v reflect.Value) (string, error) {
	if n == nil || v.Kind() != reflect.Struct {
		return "", nil
	}
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		var f *meta.Field
		for _, nf := range n.Fields {
			if nf.Name == name {
				f = nf
			}
		}
		if f == nil {
			continue
		}
		fv := v.Field(i)
		null := (fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Slice) && fv.IsNil()
		if !null && fv.CanInterface() && isZeroScalar(fv.Interface()) {
			null = true
		}
		if null {
			if (f.IsList && f.ListRequired) || (!f.IsList && f.Required) {
				return f.Name + ": required field is null", nil
			}
			continue
		}
		if reason, err := checkField(s, f, fv); reason != "" {
			return f.Name + ": " + reason, err
		}
	}
	return "", nil
}

// checkValue returns why a non-null value is invalid for f, or "".
func checkValue(f *meta.Field, v any) (string, error) {
	switch x := v.(type) {
	case interface{ Valid() bool }: // generated enums
		if !x.Valid() {
			return fmt.Sprintf("%q is not a value of enum %s", v, f.Type), nil
		}
	case interface{ Valid() error }: // AWS scalars kept as text
		if err := x.Valid(); err != nil {
			return "invalid " + f.Type, err
		}
	case int:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return fmt.Sprintf("%d does not fit GraphQL's 32-bit Int", x), nil
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprintf("%v is not a GraphQL Float", x), nil
		}
	}
	return "", nil
}

// isZeroScalar reports whether v is the zero value of a temporal scalar,
// which stands for "no value".
func isZeroScalar(v any) bool {
	switch x := v.(type) {
	case scalar.DateTime:
		return x.IsZero()
	case scalar.Date:
		return x.IsZero()
	case scalar.Time:
		return x.IsZero()
	}
	return false
}

// defaults builds, once per table, a record holding the @default value of
// every field that has one.
func defaultsRecord(s *meta.Schema, m *meta.Model) ([]byte, []string, error) {
	rec := map[string]any{}
	var names []string
	for _, f := range m.Fields {
		if f.Default == nil || !f.Stored() || f.IsList {
			continue
		}
		v, err := meta.DefaultValue(f, *f.Default)
		if err != nil {
			return nil, nil, errorf("%s.%s: @default %q: %w", m.Name, f.Name, *f.Default, err)
		}
		rec[f.Name] = v
		names = append(names, f.Name)
	}
	if len(names) == 0 {
		return nil, nil, nil
	}
	b, err := codec.EncodeMap(s, m.Fields, rec, nil)
	return b, names, err
}

// applyDefaults sets every null field that has a @default to its default.
func (r *Repo[T]) applyDefaults(v *T) error {
	t := r.table
	if t.Defaults == nil {
		return nil
	}
	var dv *T
	for _, name := range t.DefaultFields {
		if val, ok := r.model.Get(v, name); ok && !isZeroScalar(val) {
			continue
		}
		if dv == nil {
			var err error
			if dv, err = r.decode(t.Defaults); err != nil {
				return err
			}
		}
		val, _ := r.model.Get(dv, name)
		if err := r.model.Set(v, name, val); err != nil {
			return errorf("%s.%s: applying @default: %w", t.Model.Name, name, err)
		}
	}
	return nil
}

// checkConditionInts refuses a condition that will go to the backend (c,
// a GraphQL condition input) with an integer an Int filter cannot hold:
// AppSync's filter inputs for Int and AWSTimestamp fields take a 32-bit
// Int, so such a condition would make the mutation a dead letter later.
func checkConditionInts(m *meta.Model, c map[string]any) error {
	for k, v := range c {
		switch k {
		case "and", "or":
			list, _ := v.([]any)
			for _, x := range list {
				if sub, ok := x.(map[string]any); ok {
					if err := checkConditionInts(m, sub); err != nil {
						return err
					}
				}
			}
			continue
		case "not":
			if sub, ok := v.(map[string]any); ok {
				if err := checkConditionInts(m, sub); err != nil {
					return err
				}
			}
			continue
		}
		f := m.Field(k)
		ops, ok := v.(map[string]any)
		if f == nil || !ok || f.Kind != meta.KindScalar || (f.Type != meta.Int && f.Type != meta.AWSTimestamp) {
			continue
		}
		for op, arg := range ops {
			args, isList := arg.([]any)
			if !isList {
				args = []any{arg}
			}
			for _, a := range args {
				if n, ok := scalar.Int64Of(a); ok && (n < math.MinInt32 || n > math.MaxInt32) {
					return &ValidationError{Model: m.Name, Field: k, Reason: fmt.Sprintf("condition %s: %d does not fit the 32-bit Int of AppSync's filter inputs", op, n)}
				}
			}
		}
	}
	return nil
}
