package auth

import (
	"sort"

	"github.com/dsgen/dsgen/runtime/meta"
)

// fieldAccess evaluates a field's own rules (meta.Field.Auth), which replace
// the model's rules for that field as in Amplify v2. It reports whether item
// passes them for op.
func fieldAccess(m *meta.Model, f *meta.Field, op Operation, id *Identity, item map[string]any) bool {
	if !id.known() {
		return false
	}
	a := evaluate(m, f.Auth, op, id)
	return a != nil && a.Allows(item)
}

// Redact returns item with every field the caller may not read under
// field-level @auth rules, or that a Lambda authorizer's deniedFields name,
// set to nil: a copy when it hides a field (item is not changed), item
// itself when it hides none, which is every item of a model without field
// rules (no copy per record on the hot paths). deniedFields apply to the
// model's own fields (m.Name.field) and to the fields of the non-model
// types s defines wherever their values sit in item, nested at any depth
// and in lists (Address.street in a post's address or in each of its
// addresses); such values are copied only along the path to a hidden
// field. A nil s applies deniedFields to the model's own fields only. op
// says which read it is (get, list, sync or listen); for create, update
// and delete it is the read of the mutation's result, checked as get.
// Owner and dynamic group field rules are matched against item itself. A
// nil item gives nil.
func Redact(s *meta.Schema, m *meta.Model, item map[string]any, op Operation, id *Identity) map[string]any {
	if item == nil {
		return nil
	}
	if !op.isRead() {
		op = OpGet
	}
	out, copied := item, false
	set := func(name string, v any) {
		if !copied {
			out, copied = make(map[string]any, len(item)), true
			for k, v := range item {
				out[k] = v
			}
		}
		out[name] = v
	}
	denies := id.DeniesAny(m.Name)
	nested := s != nil && id.deniesSome()
	for _, f := range m.Fields {
		if len(f.Auth) == 0 && !denies && (!nested || f.Kind != meta.KindNonModel) {
			continue
		}
		v, ok := item[f.Name]
		if !ok || v == nil {
			continue
		}
		if id.Denied(m.Name, f.Name) || (len(f.Auth) > 0 && !fieldAccess(m, f, op, id, item)) {
			set(f.Name, nil)
			continue
		}
		if nested && f.Kind == meta.KindNonModel && id.deniesWithin(s, f.Type, map[string]bool{}) {
			if nv, changed := redactNonModel(s, f.Type, v, id); changed {
				set(f.Name, nv)
			}
		}
	}
	return out
}

// redactNonModel returns v, a value of non-model type typ or a list of
// them (lists nest as the schema allows), with the fields id denies set to
// nil, and whether anything changed; v itself is never changed. A value
// of another shape (not a map or a list, as a corrupt record might hold) is
// returned as it is: the executor reports it.
func redactNonModel(s *meta.Schema, typ string, v any, id *Identity) (any, bool) {
	switch v := v.(type) {
	case []any:
		var out []any
		for i, e := range v {
			ne, changed := redactNonModel(s, typ, e, id)
			if !changed {
				continue
			}
			if out == nil {
				out = make([]any, len(v))
				copy(out, v)
			}
			out[i] = ne
		}
		if out == nil {
			return v, false
		}
		return out, true
	case map[string]any:
		nm := s.NonModel(typ)
		if nm == nil {
			return v, false
		}
		var out map[string]any
		for _, f := range nm.Fields {
			fv, ok := v[f.Name]
			if !ok || fv == nil {
				continue
			}
			nv, changed := any(nil), true
			if !id.Denied(typ, f.Name) {
				if f.Kind != meta.KindNonModel {
					continue
				}
				nv, changed = redactNonModel(s, f.Type, fv, id)
			}
			if !changed {
				continue
			}
			if out == nil {
				out = make(map[string]any, len(v))
				for k, e := range v {
					out[k] = e
				}
			}
			out[f.Name] = nv
		}
		if out == nil {
			return v, false
		}
		return out, true
	}
	return v, false
}

// deniesSome reports whether the Lambda authorizer denied any field.
func (id *Identity) deniesSome() bool {
	return id != nil && len(id.denied) > 0
}

// deniesWithin reports whether id denies a field of non-model type typ or
// of a non-model type its fields reach (seen guards recursive types).
func (id *Identity) deniesWithin(s *meta.Schema, typ string, seen map[string]bool) bool {
	if seen[typ] {
		return false
	}
	seen[typ] = true
	if id.DeniesAny(typ) {
		return true
	}
	nm := s.NonModel(typ)
	if nm == nil {
		return false
	}
	for _, f := range nm.Fields {
		if f.Kind == meta.KindNonModel && id.deniesWithin(s, f.Type, seen) {
			return true
		}
	}
	return false
}

// CheckWrite reports whether the caller may set every field of input that
// has field-level @auth rules, for op (create, update or delete). Owner and
// dynamic group field rules are matched against input itself, so call it on
// the result of Access.PrepareCreate for a create; for an update, where the
// owner lives in the stored item, use CheckUpdate. The error is an
// *appsync.Error with ErrorType Unauthorized naming the first denied field
// (in field-name order).
func CheckWrite(m *meta.Model, input map[string]any, op Operation, id *Identity) error {
	return checkFields(m, input, input, op, id)
}

// CheckUpdate is CheckWrite for an update whose field-level owner and
// dynamic group rules are matched against the stored item.
func CheckUpdate(m *meta.Model, input, stored map[string]any, id *Identity) error {
	return checkFields(m, input, stored, OpUpdate, id)
}

func checkFields(m *meta.Model, input, item map[string]any, op Operation, id *Identity) error {
	ruled := false
	for k := range input {
		if f := m.Field(k); f != nil && len(f.Auth) > 0 {
			ruled = true
			break
		}
	}
	if !ruled {
		return nil // no field rules among the input's fields: nothing to sort or check
	}
	names := make([]string, 0, len(input))
	for k := range input {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		f := m.Field(name)
		if f == nil || len(f.Auth) == 0 {
			continue
		}
		if !fieldAccess(m, f, op, id, item) {
			return notAuthorized(name, m.Name)
		}
	}
	return nil
}
