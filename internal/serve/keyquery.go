package serve

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/gqlexec"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/meta"
)

// Key queries (list queries with key arguments, @index queries and hasMany
// connections) read one key range of the primary key or of a secondary
// index the store keeps (store.Indexer), one page at a time: the
// nextToken carries the store's cursor, the last key returned, so a page
// costs its own size whatever the table holds. As in DynamoDB, limit
// counts the records read in the range; the filter and the caller's
// access apply to those, so a page may hold fewer items and still have a
// nextToken.

// relIndexPrefix names the indexes the server declares for a hasMany whose
// related fields no declared index (nor the primary key) starts with.
const relIndexPrefix = "dsgen-rel-"

// storeIndexes lists the secondary indexes the store keeps for schema:
// every @index (implicit ones included) and one per hasMany that no key
// serves.
func storeIndexes(models []*meta.Model) []store.Index {
	var defs []store.Index
	byName := map[string]*meta.Model{}
	for _, m := range models {
		byName[m.Name] = m
		for _, ix := range m.Indexes {
			defs = append(defs, store.Index{Model: m.Name, Name: ix.Name, Fields: slices.Clone(ix.Fields)})
		}
	}
	seen := map[string]bool{}
	for _, m := range models {
		for _, f := range m.Fields {
			rel := f.Relation
			if rel == nil || !f.IsList || len(rel.RelatedKeys) == 0 {
				continue
			}
			target := byName[rel.Model]
			if target == nil {
				continue
			}
			if name, _ := keyFor(target, rel); name == "" || !strings.HasPrefix(name, relIndexPrefix) || seen[target.Name+"."+name] {
				continue
			} else {
				seen[target.Name+"."+name] = true
				defs = append(defs, store.Index{Model: target.Name, Name: name, Fields: slices.Clone(rel.RelatedKeys)})
			}
		}
	}
	return defs
}

// keyFor returns the key that serves a relation's lookup on target: the
// name of an index ("" for the primary key) and its fields.
func keyFor(target *meta.Model, rel *meta.Relation) (string, []string) {
	if ix := target.Index(rel.IndexName); rel.IndexName != "" && ix != nil && hasPrefix(ix.Fields, rel.RelatedKeys) {
		return ix.Name, ix.Fields
	}
	if pk := target.PrimaryKey.Fields(); hasPrefix(pk, rel.RelatedKeys) {
		return "", pk
	}
	for _, ix := range target.Indexes {
		if hasPrefix(ix.Fields, rel.RelatedKeys) {
			return ix.Name, ix.Fields
		}
	}
	return relIndexPrefix + strings.Join(rel.RelatedKeys, "-"), rel.RelatedKeys
}

func hasPrefix(fields, prefix []string) bool {
	return len(prefix) <= len(fields) && slices.Equal(fields[:len(prefix)], prefix)
}

// keyCondition builds the store query for a key (primary when index is
// "", else the named index) over fields: eq holds the leading fields'
// values, args the field's arguments, among which the sort key condition
// on the fields after eq.
func keyCondition(m *meta.Model, index string, fields []string, eq []any, args map[string]any) (store.Query, error) {
	q := store.Query{Model: m.Name, Index: index, Eq: eq, Desc: stringArg(args, "sortDirection") == "DESC"}
	rest := fields[len(eq):]
	for name, v := range args {
		if pageArgs[name] || v == nil || slices.Contains(fields[:len(eq)], name) {
			continue
		}
		cond, ok := v.(map[string]any)
		if !ok || len(rest) == 0 {
			return q, appsync.Errorf(appsync.BadRequest, "%s is not a sort key condition of this key", name)
		}
		if len(cond) != 1 {
			return q, appsync.Errorf(appsync.BadRequest, "%s: a key condition takes exactly one operator, got %d", name, len(cond))
		}
		if q.Sort != nil {
			return q, appsync.Errorf(appsync.BadRequest, "%s: one sort key condition at most", name)
		}
		for op, operand := range cond {
			sc, err := sortCond(name, op, operand, rest)
			if err != nil {
				return q, err
			}
			q.Sort = sc
		}
	}
	return q, nil
}

// sortCond reads one key condition operator: on one sort key field a
// value (between: two), on a composite sort key an object naming leading
// fields (between: two objects).
func sortCond(arg, op string, operand any, fields []string) (*store.SortCond, error) {
	bad := func(format string, a ...any) (*store.SortCond, error) {
		return nil, appsync.Errorf(appsync.BadRequest, "%s.%s: "+format, append([]any{arg, op}, a...)...)
	}
	if operand == nil {
		return bad("null operand")
	}
	values := func(v any) ([]any, error) {
		if len(fields) == 1 {
			return []any{v}, nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, appsync.Errorf(appsync.BadRequest, "%s.%s: want an object of the sort key fields", arg, op)
		}
		var out []any
		for _, f := range fields {
			x, ok := obj[f]
			if !ok || x == nil {
				break
			}
			out = append(out, x)
		}
		if len(out) == 0 || len(out) != countSet(obj) {
			return nil, appsync.Errorf(appsync.BadRequest, "%s.%s: give the sort key fields %s in order, from the first", arg, op, strings.Join(fields, ", "))
		}
		return out, nil
	}
	if op == "between" {
		list, ok := operand.([]any)
		if !ok || len(list) != 2 {
			return bad("want a list of two bounds")
		}
		from, err := values(list[0])
		if err != nil {
			return nil, err
		}
		to, err := values(list[1])
		if err != nil {
			return nil, err
		}
		if len(from) != len(to) {
			return bad("both bounds must name the same fields")
		}
		return &store.SortCond{Op: op, Values: from, To: to}, nil
	}
	switch op {
	case "eq", "lt", "le", "gt", "ge", "beginsWith":
	default:
		return bad("unknown key condition operator")
	}
	vals, err := values(operand)
	if err != nil {
		return nil, err
	}
	return &store.SortCond{Op: op, Values: vals}, nil
}

func countSet(obj map[string]any) int {
	n := 0
	for _, v := range obj {
		if v != nil {
			n++
		}
	}
	return n
}

// keyQuery serves a list or index query with key arguments: equality on
// the partition key, an optional sort key condition, sortDirection.
func (r *resolver) keyQuery(ctx context.Context, m *meta.Model, index string, keyFields []string, f gqlexec.Field) (any, error) {
	v, ok := f.Args[keyFields[0]]
	if !ok || v == nil {
		return nil, appsync.Errorf(appsync.BadRequest, "%s: a key condition needs the partition key %s", f.Name, keyFields[0])
	}
	q, err := keyCondition(m, index, keyFields, []any{v}, f.Args)
	if err != nil {
		return nil, err
	}
	return r.rangePage(ctx, m, q, f)
}

// rangePage reads one page of q for field f and renders it as a
// connection; limit, filter and nextToken come from f's arguments.
func (r *resolver) rangePage(ctx context.Context, m *meta.Model, q store.Query, f gqlexec.Field) (map[string]any, error) {
	l, err := r.listing(m, auth.OpList, f.Args)
	if err != nil {
		return nil, err
	}
	scope := scopeOf(q, l.flt)
	tok := pageToken{Field: f.Name, Kind: "key", Scope: scope}
	if raw := stringArg(f.Args, "nextToken"); raw != "" {
		if tok, err = r.s.openToken(raw, f.Name, scope); err != nil {
			return nil, err
		}
	}
	page, err := r.s.cfg.Store.Query(ctx, q, tok.Cursor, l.limit)
	if errors.Is(err, store.ErrBadQuery) {
		return nil, appsync.Errorf(appsync.BadRequest, "%s: %v", f.Name, err)
	}
	items, next, err := r.page(m, l, f.Name, tok, page, err)
	if err != nil {
		return nil, err
	}
	return connection(items, next, 0), nil
}
