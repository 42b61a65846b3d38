package auth

import (
	"slices"
	"strings"

	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/meta"
)

// Operation is what a caller wants to do on a model.
type Operation string

// The operations @auth rules distinguish. A rule's "read" covers get, list,
// sync, listen (subscriptions) and search.
const (
	OpCreate Operation = "create"
	OpUpdate Operation = "update"
	OpDelete Operation = "delete"
	OpGet    Operation = "get"
	OpList   Operation = "list"
	OpSync   Operation = "sync"
	OpListen Operation = "listen"
)

// isRead reports whether op is one of the operations "read" covers.
func (op Operation) isRead() bool {
	return op == OpGet || op == OpList || op == OpSync || op == OpListen
}

func (op Operation) valid() bool {
	return op.isRead() || op == OpCreate || op == OpUpdate || op == OpDelete
}

// Condition is one way a limited Access can be satisfied by an item: the
// item's Field holds (or, for a list field, contains) one of Values.
type Condition struct {
	// Field is the owner field or the dynamic groups field.
	Field string
	// Values are the caller's identity claim values (owner rules, see
	// Identity.Claim; the first is the canonical one) or the caller's
	// groups (dynamic group rules).
	Values []string
	// Owner is true for owner rules, false for dynamic group rules.
	Owner bool
	// List is true when the model declares Field as a list.
	List bool
}

// Access is the outcome of authorizing an operation on a model: full, or
// limited to items satisfying at least one Condition. It is read-only and
// safe to share.
type Access struct {
	model *meta.Model
	op    Operation
	full  bool
	conds []Condition
	// owned are the caller's owner conditions, kept under full access too:
	// a subscription's owner argument naming the caller selects the
	// caller's items in every stored form (see OwnerFilters).
	owned []Condition
}

// Full reports whether access is unrestricted.
func (a *Access) Full() bool { return a.full }

// Conditions returns the owner and dynamic group conditions of a limited
// access, OR-ed (nil for full access). Callers that filter in storage can
// build their filters from them; Allows is the reference semantics.
func (a *Access) Conditions() []Condition {
	if a.full {
		return nil
	}
	return slices.Clone(a.conds)
}

// Authorize evaluates the model-level rules of m for op and the caller, the
// way AppSync's generated resolvers do:
//
//   - Rules are OR-ed. A rule applies only if its provider matches how the
//     caller authenticated (apiKey rules for API keys; userPools and oidc
//     rules for JWTs; function rules, allow: custom, for callers a Lambda
//     authorizer webhook accepted) and its operations include op ("read"
//     covers get, list, sync, listen and search). Rules with provider iam
//     apply to callers whose SigV4 signature a configured IAM credential
//     verified: public ones to credentials of role "unauthenticated",
//     private ones to role "authenticated", as Amplify's transformer v2
//     maps the identity pool's unauth and auth roles (an authenticated
//     caller does not pass a public iam rule, as on AppSync); an IAM
//     caller has no claims, so no owner or group rule applies to it.
//   - public, private, custom and static groups rules grant full access
//     (a Lambda caller's only rules are custom ones: it has no claims for
//     owner or group rules, as in AppSync). Owner
//     rules and dynamic group (groupsField) rules grant access limited to
//     the items the caller owns or whose groups field names one of its
//     groups (see Access.Allows); the caller must carry the claim.
//   - A model without any rule is public to API key callers and closed to
//     JWT and Lambda callers, as under AppSync's default API-key mode.
//
// When no rule applies the error is an *appsync.Error with ErrorType
// Unauthorized.
func Authorize(m *meta.Model, op Operation, id *Identity) (*Access, error) {
	if !op.valid() {
		return nil, appsync.Errorf(appsync.InternalFailure, "auth: unknown operation %q", op)
	}
	if !id.known() {
		return nil, notAuthorized(opField(m, op), m.Name)
	}
	if len(m.Auth) == 0 {
		if id.Mode == ModeAPIKey {
			return &Access{model: m, op: op, full: true}, nil
		}
		return nil, notAuthorized(opField(m, op), m.Name)
	}
	a := evaluate(m, m.Auth, op, id)
	if a == nil {
		return nil, notAuthorized(opField(m, op), m.Name)
	}
	return a, nil
}

// evaluate ORs rules for op and id; nil means no rule grants anything.
func evaluate(m *meta.Model, rules []meta.AuthRule, op Operation, id *Identity) *Access {
	a := &Access{model: m, op: op}
	for _, r := range rules {
		if !ruleMatches(r, id) || !opMatches(r.Operations, op) {
			continue
		}
		switch r.Allow {
		case "public", "private", "custom":
			a.full = true
		case "groups":
			groups := ruleGroups(r, id)
			if r.GroupsField == "" {
				if intersects(groups, r.Groups) {
					a.full = true
				}
			} else if len(groups) > 0 {
				a.conds = append(a.conds, Condition{Field: r.GroupsField, Values: groups, List: isList(m, r.GroupsField)})
			}
		case "owner":
			if vals := ownerValues(r, id); len(vals) > 0 {
				field := r.OwnerField
				if field == "" {
					field = "owner"
				}
				c := Condition{Field: field, Values: vals, Owner: true, List: isList(m, field)}
				a.conds = append(a.conds, c)
				a.owned = append(a.owned, c)
			}
		}
	}
	if a.full {
		a.conds = nil
		return a
	}
	if len(a.conds) == 0 {
		return nil
	}
	return a
}

// ruleMatches reports whether rule r applies to the caller: its provider
// matches the caller's mode and, for iam rules, its allow the caller's
// role.
func ruleMatches(r meta.AuthRule, id *Identity) bool {
	p := r.EffectiveProvider()
	if p != "iam" {
		return providerMatches(p, id.Mode)
	}
	if id.Mode != ModeIAM || id.IAM == nil {
		return false
	}
	switch r.Allow {
	case "public":
		return id.IAM.Role == IAMUnauthenticated
	case "private":
		return id.IAM.Role == IAMAuthenticated
	}
	return false
}

// providerMatches pairs rule providers with authentication modes.
func providerMatches(provider string, mode Mode) bool {
	switch provider {
	case "apiKey":
		return mode == ModeAPIKey
	case "userPools", "oidc":
		return mode == ModeJWT
	case "function":
		return mode == ModeLambda
	}
	return false
}

// known reports whether id authenticated in a mode rules can match.
func (id *Identity) known() bool {
	return id != nil && (id.Mode == ModeAPIKey || id.Mode == ModeJWT || id.Mode == ModeLambda || id.Mode == ModeIAM)
}

// opMatches reports whether a rule's operations cover op.
func opMatches(ops []string, op Operation) bool {
	for _, o := range ops {
		if o == string(op) || (o == "read" && op.isRead()) {
			return true
		}
	}
	return false
}

// ruleGroups returns the caller's groups as the rule reads them: the
// configured groups claim for Amplify's default "cognito:groups", else the
// claim the rule names.
func ruleGroups(r meta.AuthRule, id *Identity) []string {
	if id.Mode != ModeJWT {
		return nil
	}
	if r.GroupClaim == "" || r.GroupClaim == "cognito:groups" {
		return id.Groups
	}
	return groupsOf(id.Claims[r.GroupClaim])
}

// ownerValues returns the caller's values of the rule's identity claim.
// meta normalises an omitted identityClaim to "cognito:username", so that
// value is read as AppSync v2's default "sub::username": new items get
// "<sub>::<username>" and items holding the bare sub or user name still
// match, as in AppSync.
func ownerValues(r meta.AuthRule, id *Identity) []string {
	if id.Mode != ModeJWT {
		return nil
	}
	claim := r.IdentityClaim
	if claim == "" || claim == "cognito:username" {
		claim = "sub::username"
	}
	return id.Claim(claim)
}

// isList reports whether m declares field as a list.
func isList(m *meta.Model, field string) bool {
	f := m.Field(field)
	return f != nil && f.IsList
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// itemStrings returns the string values an item holds in a field: one for a
// string, the string elements of a list.
func itemStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// matches reports whether item satisfies c.
func (c Condition) matches(item map[string]any) bool {
	return intersects(itemStrings(item[c.Field]), c.Values)
}

// Allows reports whether item is visible to (or writable by) the caller
// under this access: always for full access; otherwise when some condition
// holds: the owner field equals one of the caller's claim values (for a list
// owner field, contains one), or the dynamic groups field (a string or a
// list) names one of the caller's groups.
func (a *Access) Allows(item map[string]any) bool {
	if a.full {
		return true
	}
	for _, c := range a.conds {
		if c.matches(item) {
			return true
		}
	}
	return false
}

// PrepareCreate applies the owner rules to a create input and returns the
// input to store (a new map; input is not changed). Under full access it is
// a copy. Otherwise the first owner field that is absent or null is set to
// the caller's canonical claim value (a list owner field gets a one-element
// list) and grants the create; a present owner field grants it when it holds
// the caller's claim, a dynamic groups field when it names one of the
// caller's groups. When nothing grants it, as for an owner field naming
// someone else (a forged owner), the error is Unauthorized.
func (a *Access) PrepareCreate(input map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(input)+1)
	for k, v := range input {
		out[k] = v
	}
	return a.PrepareCreateOwned(out)
}

// PrepareCreateOwned is PrepareCreate for a caller that owns input and
// needs no copy: the owner field is set in input itself, which is returned.
func (a *Access) PrepareCreateOwned(out map[string]any) (map[string]any, error) {
	if a.full {
		return out, nil
	}
	granted := false
	for _, c := range a.conds {
		v, ok := out[c.Field]
		switch {
		case c.Owner && (!ok || v == nil) && !granted:
			if c.List {
				out[c.Field] = []any{c.Values[0]}
			} else {
				out[c.Field] = c.Values[0]
			}
			granted = true
		case c.matches(out):
			granted = true
		}
	}
	if !granted {
		return nil, notAuthorized(opField(a.model, OpCreate), a.model.Name)
	}
	return out, nil
}

// CheckOwnerArgs validates the owner arguments of a subscription (one per
// owner field): under limited access a given, non-null owner argument must
// be one of the caller's claim values, else the error is Unauthorized. An
// omitted argument is fine: events are then filtered with Allows. Under
// full access the arguments are plain equality filters and always valid.
func (a *Access) CheckOwnerArgs(args map[string]any) error {
	if a.full {
		return nil
	}
	for _, c := range a.conds {
		if !c.Owner {
			continue
		}
		v, ok := args[c.Field]
		if !ok || v == nil {
			continue
		}
		s, isStr := v.(string)
		if !isStr || !slices.Contains(c.Values, s) {
			return notAuthorized(opField(a.model, a.op), a.model.Name)
		}
	}
	return nil
}

// OwnerFilter is a subscription's owner argument as an event filter (see
// Access.OwnerFilters). The zero OwnerFilter matches nothing.
type OwnerFilter struct {
	field string
	// forms are the stored owner values the argument selects.
	forms []string
	// user is set for an argument that does not name the caller: it also
	// selects "<sub>::<user>" values, since AppSync compares the argument
	// with the owner field as read, which shows only the user name part.
	user string
}

// Match reports whether item's owner field (a string, or a list containing
// one) holds a value the argument selects.
func (f OwnerFilter) Match(item map[string]any) bool {
	for _, s := range itemStrings(item[f.field]) {
		if slices.Contains(f.forms, s) {
			return true
		}
		if _, user, ok := strings.Cut(s, claimDelimiter); ok && f.user != "" && user == f.user {
			return true
		}
	}
	return false
}

// claimDelimiter joins the parts of a composite identity claim value, as in
// "<sub>::<username>".
const claimDelimiter = "::"

// OwnerFilters checks a subscription's owner arguments and turns them into
// event filters, one per argument in fields (the subscription's owner
// arguments) that args gives a non-null value.
//
// An owner argument is one form of an owner's identity, and the client picks
// which: Amplify DataStore in user pool mode sends the bare user name while
// AppSync v2 stores "<sub>::<username>". So, as in AppSync, an argument that
// is any identity form of the caller (the composite, the sub or the user
// name) selects every item the caller owns, in whichever of those forms its
// owner field holds it. Under limited access any other value is refused
// with Unauthorized (CheckOwnerArgs). Under full access another value is a
// plain filter: it selects owner values equal to it or whose user name part
// is it. Owner rules with a custom identityClaim keep to that claim: the
// caller's only form is its value.
func (a *Access) OwnerFilters(args map[string]any, fields []string) ([]OwnerFilter, error) {
	if err := a.CheckOwnerArgs(args); err != nil {
		return nil, err
	}
	var out []OwnerFilter
	for _, name := range fields {
		v, ok := args[name]
		if !ok || v == nil {
			continue
		}
		s, isStr := v.(string)
		if !isStr {
			return nil, appsync.Errorf(appsync.BadRequest, "subscription argument %s of %s must be a string, got %T", name, opField(a.model, a.op), v)
		}
		f := OwnerFilter{field: name}
		for _, c := range a.owned {
			if c.Field == name && slices.Contains(c.Values, s) {
				for _, form := range c.Values {
					if !slices.Contains(f.forms, form) {
						f.forms = append(f.forms, form)
					}
				}
			}
		}
		if f.forms == nil {
			f.forms, f.user = []string{s}, s
		}
		out = append(out, f)
	}
	return out, nil
}

// notAuthorized is AppSync's error for a denied operation or field.
func notAuthorized(what, typ string) *appsync.Error {
	return appsync.Errorf(appsync.Unauthorized, "Not Authorized to access %s on type %s", what, typ)
}

// opField names the GraphQL field of op on m (honouring @model renames) for
// error messages; subscriptions are named by the model.
func opField(m *meta.Model, op Operation) string {
	pick := func(renames map[string]string, key, def string) string {
		if s := renames[key]; s != "" {
			return s
		}
		return def
	}
	o := m.Options
	switch op {
	case OpCreate, OpUpdate, OpDelete:
		return pick(o.Mutations, string(op), string(op)+m.Name)
	case OpGet:
		return pick(o.Queries, "get", "get"+m.Name)
	case OpList:
		return pick(o.Queries, "list", "list"+m.PluralName)
	case OpSync:
		return pick(o.Queries, "sync", "sync"+m.PluralName)
	}
	return m.Name
}
