package syncengine

import (
	"encoding/json"
	"fmt"

	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
)

// SyncExpr is one model's selective-sync filter, for
// Config.SyncExpressions: the sync queries of that model ask the backend
// only for the records it matches, and its subscription events that it
// does not match are dropped (Amplify's syncExpression). Build one with
// SyncExpression, SyncExpressionFunc or SyncFilter.
type SyncExpr struct {
	model string
	// filter returns the AppSync filter input, or nil for no filter.
	filter func() map[string]any
}

// Model returns the GraphQL name of the model the expression filters.
func (x SyncExpr) Model() string { return x.model }

// typedRepo is a generated repository (*model.PostRepo …): it names the
// model and fixes the predicates' type.
type typedRepo[T any] interface {
	Repo() *datastore.Repo[T]
}

// SyncExpression syncs only the records of repo's model that match every
// one of ps, written with the generated fields:
//
//	syncengine.SyncExpression(ds.Post, post.Rating.Gt(3), post.Status.Eq(model.PostStatusPublished))
//
// The predicates become the sync query's filter input (in, notIn and
// groups as AppSync spells them; see predicate.Expr.GraphQLFilter). No
// predicate means every record.
func SyncExpression[T any](repo typedRepo[T], ps ...predicate.Predicate[T]) SyncExpr {
	p := predicate.And(ps...)
	return SyncExpressionFunc(repo, func() predicate.Predicate[T] { return p })
}

// SyncExpressionFunc is SyncExpression with a predicate computed at each
// Start, as Amplify's syncExpression takes a function: an expression that
// changes between starts makes that start's sync of the model a full one,
// which also removes local records the new expression no longer matches.
func SyncExpressionFunc[T any](repo typedRepo[T], fn func() predicate.Predicate[T]) SyncExpr {
	return SyncExpr{model: repo.Repo().Model().Meta.Name, filter: func() map[string]any {
		f := fn().Expr().GraphQLFilter()
		if len(f) == 0 {
			return nil
		}
		return f
	}}
}

// SyncFilter is a selective-sync filter given as the AppSync filter input
// itself (Model<T>FilterInput as JSON-shaped maps), for code without
// generated predicates.
func SyncFilter(model string, filter map[string]any) SyncExpr {
	return SyncExpr{model: model, filter: func() map[string]any { return filter }}
}

// syncFilters indexes exprs by model, refusing unknown and repeated models.
func syncFilters(models map[string]bool, exprs []SyncExpr) (map[string]func() map[string]any, error) {
	out := map[string]func() map[string]any{}
	for i, x := range exprs {
		switch {
		case x.filter == nil:
			return nil, fmt.Errorf("syncengine: Config.SyncExpressions[%d] is empty: build it with SyncExpression", i)
		case !models[x.model]:
			return nil, fmt.Errorf("syncengine: Config.SyncExpressions[%d]: no model %q in the store's schema", i, x.model)
		case out[x.model] != nil:
			return nil, fmt.Errorf("syncengine: Config.SyncExpressions[%d]: a second expression for model %s", i, x.model)
		}
		out[x.model] = x.filter
	}
	return out, nil
}

// syncFilter returns a model's current filter and its JSON (kept with the
// sync state, to notice a change), "null" without one.
func (e *Engine) syncFilter(model string) (map[string]any, string, error) {
	fn := e.filters[model]
	if fn == nil {
		return nil, "null", nil
	}
	f := fn()
	if f == nil {
		return nil, "null", nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, "", fmt.Errorf("syncengine: sync expression of %s: %w", model, err)
	}
	return f, string(b), nil
}
