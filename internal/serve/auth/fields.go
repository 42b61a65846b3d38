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
// field-level @auth rules, or that a Lambda authorizer's deniedFields name
// (as m.Name.field), set to nil: a copy when it hides a field (item is not
// changed), item itself when it hides none, which is every item of a model
// without field rules (no copy per record on the hot paths). op says
// which read it is (get, list, sync or listen); for create, update and
// delete it is the read of the mutation's result, checked as get. Owner and
// dynamic group field rules are matched against item itself. A nil item
// gives nil.
func Redact(m *meta.Model, item map[string]any, op Operation, id *Identity) map[string]any {
	if item == nil {
		return nil
	}
	if !op.isRead() {
		op = OpGet
	}
	out, copied := item, false
	denies := id.DeniesAny(m.Name)
	for _, f := range m.Fields {
		if len(f.Auth) == 0 && !denies {
			continue
		}
		if v, ok := item[f.Name]; !ok || v == nil {
			continue
		}
		if id.Denied(m.Name, f.Name) || (len(f.Auth) > 0 && !fieldAccess(m, f, op, id, item)) {
			if !copied {
				out, copied = make(map[string]any, len(item)), true
				for k, v := range item {
					out[k] = v
				}
			}
			out[f.Name] = nil
		}
	}
	return out
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
