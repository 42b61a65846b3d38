package serve

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/gqlexec"
	"github.com/dsgen/dsgen/internal/serve/sdl"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/filter"
	"github.com/dsgen/dsgen/runtime/meta"
)

// resolver serves one request (or one subscription) for one caller.
type resolver struct {
	s  *Server
	id *auth.Identity
}

// Root dispatches a root field to its operation.
func (r *resolver) Root(ctx context.Context, f gqlexec.Field) (any, error) {
	root := "Query"
	if _, ok := r.s.api.Op("Mutation", f.Name); ok {
		root = "Mutation"
	}
	op, ok := r.s.api.Op(root, f.Name)
	if !ok {
		return nil, appsync.Errorf(appsync.UnsupportedOperation, "%s is not served by dsgen serve", f.Name)
	}
	if r.id.Denied(root, f.Name) {
		// A Lambda authorizer's deniedFields: the field reads as null,
		// and a denied mutation writes nothing.
		return nil, appsync.Errorf(appsync.Unauthorized, "Not Authorized to access %s on type %s", f.Name, root)
	}
	switch op.Kind {
	case sdl.OpGet:
		return r.get(ctx, op, f)
	case sdl.OpList:
		return r.list(ctx, op, f)
	case sdl.OpSync:
		return r.sync(ctx, op, f)
	case sdl.OpIndexQuery:
		return r.indexQuery(ctx, op, f)
	case sdl.OpCreate:
		return r.create(ctx, op, f)
	case sdl.OpUpdate:
		return r.update(ctx, op, f)
	case sdl.OpDelete:
		return r.delete(ctx, op, f)
	}
	return nil, appsync.Errorf(appsync.UnsupportedOperation, "%s is a subscription: use /graphql/realtime", f.Name)
}

// authorize evaluates the model's rules for op.
func (r *resolver) authorize(m *meta.Model, op auth.Operation) (*auth.Access, error) {
	return auth.Authorize(m, op, r.id)
}

// visible renders a record for the caller, or reports it hidden.
func (r *resolver) visible(m *meta.Model, acc *auth.Access, rec store.Record, op auth.Operation) (map[string]any, bool) {
	item := output(rec)
	if !acc.Allows(item) {
		return nil, false
	}
	return auth.Redact(r.s.cfg.Schema, m, item, op, r.id), true
}

func (r *resolver) get(ctx context.Context, op sdl.Op, f gqlexec.Field) (any, error) {
	acc, err := r.authorize(op.Model, auth.OpGet)
	if err != nil {
		return nil, err
	}
	key, err := keyOf(op.Model, f.Args)
	if err != nil {
		return nil, err
	}
	rec, err := r.s.cfg.Store.Get(ctx, op.Model.Name, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, internal(err)
	}
	item, ok := r.visible(op.Model, acc, rec, auth.OpGet)
	if !ok {
		return nil, unauthorized(f.Name, op.Model)
	}
	return item, nil
}

// limitOf reads the limit argument, defaulting and capping it.
func (r *resolver) limitOf(args map[string]any) (int, error) {
	v, ok := args["limit"]
	if !ok || v == nil {
		return r.s.cfg.DefaultLimit, nil
	}
	n, ok := normNumber(v).(int64)
	if !ok || n < 1 {
		return 0, appsync.Errorf(appsync.BadRequest, "limit must be a positive integer, got %v", v)
	}
	return int(min(n, int64(r.s.cfg.MaxLimit))), nil
}

func filterArg(args map[string]any, name string) (map[string]any, error) {
	m, _, err := compiledFilterArg(args, name)
	return m, err
}

// compiledFilterArg is filterArg with the filter compiled (nil when it is
// absent or null), for a page to match its items against.
func compiledFilterArg(args map[string]any, name string) (map[string]any, *filter.Filter, error) {
	v, ok := args[name]
	if !ok || v == nil {
		return nil, nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, appsync.Errorf(appsync.BadRequest, "%s must be an object", name)
	}
	f, err := filter.Compile(m)
	if err != nil {
		return nil, nil, appsync.Errorf(appsync.BadRequest, "%s: %v", name, err)
	}
	// DynamoDB's limit on the expression AppSync would write: it also
	// bounds what matching the filter against every record of a page
	// costs.
	if n := filter.ExpressionSize(m); n > filter.MaxExpressionSize {
		return nil, nil, appsync.Errorf(appsync.DynamoDBException,
			"Invalid FilterExpression: Expression size has exceeded the maximum allowed size; expression size: %d (the %s input is too large: at most %d bytes as a DynamoDB filter expression)", n, name, filter.MaxExpressionSize)
	}
	return m, f, nil
}

func stringArg(args map[string]any, name string) string {
	s, _ := args[name].(string)
	return s
}

// connection is a Model<T>Connection value.
func connection(items []any, next string, startedAt int64) map[string]any {
	c := map[string]any{"items": items, "nextToken": nil, "startedAt": nil}
	if next != "" {
		c["nextToken"] = next
	}
	if startedAt != 0 {
		c["startedAt"] = startedAt
	}
	return c
}

// sync serves syncXs: a base scan when lastSync is absent, older than the
// delta TTL or older than the last import, else the change log since
// lastSync. startedAt is taken on the first page and carried in the signed
// nextToken.
func (r *resolver) sync(ctx context.Context, op sdl.Op, f gqlexec.Field) (any, error) {
	m := op.Model
	l, err := r.listing(m, auth.OpSync, f.Args)
	if err != nil {
		return nil, err
	}
	var lastSync int64
	if v := f.Args["lastSync"]; v != nil {
		n, ok := normNumber(v).(int64)
		if !ok || n < 0 {
			return nil, appsync.Errorf(appsync.BadRequest, "lastSync must be epoch milliseconds, got %v", v)
		}
		lastSync = n
	}
	scope := scopeOf(l.flt, lastSync)
	var tok pageToken
	if raw := stringArg(f.Args, "nextToken"); raw != "" {
		if tok, err = r.s.openToken(raw, f.Name, scope); err != nil {
			return nil, err
		}
	} else {
		startedAt, err := r.s.cfg.Store.StartedAt(ctx)
		if err != nil {
			return nil, internal(err)
		}
		tok = pageToken{Field: f.Name, Kind: "base", StartedAt: startedAt, Scope: scope}
		horizon := r.s.cfg.Now().Add(-r.s.cfg.DeltaTTL).UnixMilli()
		if lastSync > 0 && lastSync >= horizon {
			// A lastSync from before an import (an AppSync client's) gets
			// a base sync: the imported records are not in the log.
			epoch, err := r.s.importEpoch(ctx)
			if err != nil {
				return nil, internal(err)
			}
			if lastSync >= epoch {
				tok.Kind, tok.Since = "delta", lastSync
			}
		}
	}
	var page store.Page
	if tok.Kind == "delta" {
		// Up to and including startedAt: a write committed before the
		// watermark in the same millisecond is stamped startedAt, and an
		// exclusive bound would leave it out of this sync although it
		// precedes the snapshot. Writes after the watermark stamped
		// startedAt come again in the next sync; clients gate by version.
		page, err = r.s.cfg.Store.Changes(ctx, m.Name, tok.Since, tok.StartedAt+1, tok.Cursor, l.limit)
	} else {
		page, err = r.s.cfg.Store.Scan(ctx, m.Name, tok.Cursor, l.limit)
	}
	items, next, err := r.page(m, l, f.Name, tok, page, err)
	if err != nil {
		return nil, err
	}
	r.s.countSyncPage(m.Name, tok.Kind, len(items))
	return connection(items, next, tok.StartedAt), nil
}

// listing is what sync, list and key queries read before they touch the
// store: the caller's access for the operation, the page size and the
// filter argument.
type listing struct {
	op    auth.Operation
	acc   *auth.Access
	limit int
	flt   map[string]any
	// match is flt compiled once for the page's items (nil: no filter).
	match *filter.Filter
}

func (r *resolver) listing(m *meta.Model, op auth.Operation, args map[string]any) (listing, error) {
	acc, err := r.authorize(m, op)
	if err != nil {
		return listing{}, err
	}
	limit, err := r.limitOf(args)
	if err != nil {
		return listing{}, err
	}
	flt, match, err := compiledFilterArg(args, "filter")
	if err != nil {
		return listing{}, err
	}
	return listing{op: op, acc: acc, limit: limit, flt: flt, match: match}, nil
}

// page turns the store's answer to a sync or list read into the items the
// caller may see that match the filter, and the nextToken (tok moved to the
// page's cursor) when more remain. err is the read's error.
func (r *resolver) page(m *meta.Model, l listing, field string, tok pageToken, page store.Page, err error) (items []any, next string, _ error) {
	if errors.Is(err, store.ErrBadCursor) {
		return nil, "", appsync.Errorf(appsync.BadRequest, "invalid nextToken for %s", field)
	}
	if err != nil {
		return nil, "", internal(err)
	}
	items = make([]any, 0, len(page.Records))
	for _, rec := range page.Records {
		item := outputOwned(rec) // the page was decoded for this request
		if !l.acc.Allows(item) {
			continue
		}
		if l.match.Match(item) {
			items = append(items, auth.Redact(r.s.cfg.Schema, m, item, l.op, r.id))
		}
	}
	if page.Next != nil {
		tok.Cursor = page.Next
		next = r.s.signToken(tok)
	}
	return items, next, nil
}

// list serves listXs. With only filter, limit and nextToken it pages the
// base table in key order; key arguments (a partition key value, a sort key
// condition, sortDirection) make it a key query.
func (r *resolver) list(ctx context.Context, op sdl.Op, f gqlexec.Field) (any, error) {
	if hasKeyArgs(f.Args) {
		return r.keyQuery(ctx, op.Model, "", op.Model.PrimaryKey.Fields(), f)
	}
	m := op.Model
	l, err := r.listing(m, auth.OpList, f.Args)
	if err != nil {
		return nil, err
	}
	scope := scopeOf(l.flt)
	tok := pageToken{Field: f.Name, Kind: "list", Scope: scope}
	if raw := stringArg(f.Args, "nextToken"); raw != "" {
		if tok, err = r.s.openToken(raw, f.Name, scope); err != nil {
			return nil, err
		}
	}
	page, err := r.s.cfg.Store.Scan(ctx, m.Name, tok.Cursor, l.limit)
	items, next, err := r.page(m, l, f.Name, tok, page, err)
	if err != nil {
		return nil, err
	}
	return connection(items, next, 0), nil
}

// pageArgs are the arguments that are not key conditions.
var pageArgs = map[string]bool{"filter": true, "limit": true, "nextToken": true, "sortDirection": true}

func hasKeyArgs(args map[string]any) bool {
	for k, v := range args {
		if !pageArgs[k] && v != nil {
			return true
		}
	}
	return false
}

func (r *resolver) indexQuery(ctx context.Context, op sdl.Op, f gqlexec.Field) (any, error) {
	return r.keyQuery(ctx, op.Model, op.Index.Name, op.Index.Fields, f)
}

// PeekField answers, for the executor, the fields Field answers from the
// parent alone: those that are not relations, and relations whose key in
// the parent is null (a post's blog when it has none), which in a sync
// page is every item.
func (r *resolver) PeekField(typeName string, parent map[string]any, name string) (any, bool) {
	if r.id.Denied(typeName, name) {
		return nil, true // a Lambda authorizer's deniedFields
	}
	fd, target := r.relation(typeName, name)
	if target == nil {
		return nil, true
	}
	for _, k := range fd.Relation.Keys {
		if parent[k] == nil {
			return noRelated(fd), true
		}
	}
	return nil, false
}

// relation returns field name of model typeName and the model it relates
// to; target is nil when the field is not a relation to a served model.
func (r *resolver) relation(typeName, name string) (fd *meta.Field, target *meta.Model) {
	m := r.s.models[typeName]
	if m == nil {
		return nil, nil
	}
	fd = m.Field(name)
	if fd == nil || fd.Relation == nil {
		return nil, nil
	}
	return fd, r.s.models[fd.Relation.Model]
}

// noRelated is the value of relation field fd when its key is null.
func noRelated(fd *meta.Field) any {
	if fd.IsList {
		return connection([]any{}, "", 0)
	}
	return nil
}

// Field resolves relation fields of model objects: belongsTo and hasOne by
// key, hasMany as a connection.
func (r *resolver) Field(ctx context.Context, typeName string, parent map[string]any, f gqlexec.Field) (any, error) {
	fd, target := r.relation(typeName, f.Name)
	if target == nil {
		return nil, nil
	}
	rel := fd.Relation
	vals := make([]any, len(rel.Keys))
	for i, k := range rel.Keys {
		vals[i] = parent[k]
		if vals[i] == nil {
			return noRelated(fd), nil
		}
	}
	pk := target.PrimaryKey.Fields()
	if !fd.IsList && slices.Equal(rel.RelatedKeys, pk) {
		acc, err := r.authorize(target, auth.OpGet)
		if err != nil {
			return nil, err
		}
		rec, err := r.s.cfg.Store.Get(ctx, target.Name, vals)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, internal(err)
		}
		item, ok := r.visible(target, acc, rec, auth.OpGet)
		if !ok {
			return nil, nil
		}
		return item, nil
	}
	index, fields := keyFor(target, rel)
	q, err := keyCondition(target, index, fields, vals, f.Args)
	if err != nil {
		return nil, err
	}
	if !fd.IsList {
		f.Args = maps.Clone(f.Args)
		f.Args["limit"] = int64(1)
	}
	f.Name = typeName + "." + f.Name + fmt.Sprint(vals)
	conn, err := r.rangePage(ctx, target, q, f)
	if err != nil || fd.IsList {
		return conn, err
	}
	items := conn["items"].([]any)
	if len(items) == 0 {
		return nil, nil
	}
	return items[0], nil
}

func unauthorized(field string, m *meta.Model) error {
	return appsync.Errorf(appsync.Unauthorized, "Not Authorized to access %s on type %s", field, m.Name)
}

// internal reports a storage failure without leaking more than its text.
func internal(err error) error {
	if store.Unavailable(err) {
		// Answered with HTTP 503 (see http.go): clients retry later.
		return appsync.Errorf(errUnavailable, "the database is unavailable, retry later: %v", err)
	}
	return appsync.Errorf(appsync.InternalFailure, "%v", err)
}

// errUnavailable is the errorType of a request that failed because the
// database could not be reached; the response is HTTP 503.
const errUnavailable = "ServiceUnavailable"
