// Package sdl builds the GraphQL API that the Amplify GraphQL transformer (v2)
// generates for a schema with conflict detection on, from the schema metadata:
// model types with sync fields, connections, filter/condition/subscription
// filter inputs, create/update/delete inputs, get/list/sync and @index
// queries, mutations and subscriptions.
//
// The unmodified Amplify DataStore client validates nothing locally: it sends
// documents written for AppSync's schema, so every name, argument and type
// here follows what the transformer prints. See
// ../shared/notes/appsync-sync.md §3 for the rules.
package sdl

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/meta"
)

// Options tune the generated API. It is reserved for later use.
type Options struct{}

// API is the served GraphQL API for one schema. It is immutable after Build.
type API struct {
	// SDL is the printed schema, deterministic for a given *meta.Schema,
	// without the AppSync prelude of built-in scalars and directives.
	SDL string
	// Schema is SDL loaded with gqlparser together with the AppSync prelude.
	Schema *ast.Schema
	// Ops lists every root field, in SDL order.
	Ops []Op

	byName map[string]int
}

// OpKind says what a root field does.
type OpKind uint8

// The root field kinds.
const (
	OpGet OpKind = iota + 1
	OpList
	OpSync
	// OpIndexQuery is the query field of an @index(queryField: ...).
	OpIndexQuery
	OpCreate
	OpUpdate
	OpDelete
	OpOnCreate
	OpOnUpdate
	OpOnDelete
)

// String returns the kind's name, e.g. "sync" or "onCreate".
func (k OpKind) String() string {
	switch k {
	case OpGet:
		return "get"
	case OpList:
		return "list"
	case OpSync:
		return "sync"
	case OpIndexQuery:
		return "indexQuery"
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	case OpOnCreate:
		return "onCreate"
	case OpOnUpdate:
		return "onUpdate"
	case OpOnDelete:
		return "onDelete"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// Root type names.
const (
	Query        = "Query"
	Mutation     = "Mutation"
	Subscription = "Subscription"
)

// Op is one generated root field.
type Op struct {
	// Root is "Query", "Mutation" or "Subscription".
	Root string
	// Field is the field name, e.g. "syncPosts" or "onCreatePost".
	Field string
	Kind  OpKind
	Model *meta.Model
	// Index is the index an OpIndexQuery reads.
	Index *meta.Index
	// OwnerArgs names the owner-field arguments a subscription has under
	// owner auth, in rule order.
	OwnerArgs []string
	// SortKeyArg names the sort key condition argument of a list or index
	// query ("" when the key has no sort key fields). For a composite sort
	// key it is the camel-cased join of the sort key fields and its value
	// is a Model<T><Key>CompositeKeyConditionInput.
	SortKeyArg string
	// Mutation names the mutation field a subscription listens to.
	Mutation string
}

// Op returns the root field called field on root ("Query", "Mutation" or
// "Subscription").
func (a *API) Op(root, field string) (Op, bool) {
	i, ok := a.byName[root+"."+field]
	if !ok {
		return Op{}, false
	}
	return a.Ops[i], true
}

// Error reports a schema that cannot be turned into an AppSync API.
type Error struct {
	// Model and Field locate the problem; Field may be empty.
	Model string
	Field string
	Msg   string
}

// Error implements error.
func (e *Error) Error() string {
	where := e.Model
	if e.Field != "" {
		where += "." + e.Field
	}
	return "sdl: " + where + ": " + e.Msg
}

// Build generates the API for s.
func Build(s *meta.Schema, opts Options) (*API, error) {
	if s == nil {
		return nil, errors.New("sdl: nil schema")
	}
	g := newGen(s)
	if err := g.build(); err != nil {
		return nil, err
	}
	text := g.document().print()
	sch, gerr := validator.LoadSchema(validator.Prelude, preludeSource(), &ast.Source{Name: "dsgen-api.graphql", Input: text})
	if gerr != nil {
		return nil, fmt.Errorf("sdl: generated schema does not load: %w", gerr)
	}
	// Root fields print grouped by root type, in the order each was added.
	rank := map[string]int{Query: 0, Mutation: 1, Subscription: 2}
	slices.SortStableFunc(g.ops, func(a, b Op) int { return rank[a.Root] - rank[b.Root] })
	api := &API{SDL: text, Schema: sch, Ops: g.ops, byName: make(map[string]int, len(g.ops))}
	for i, op := range g.ops {
		api.byName[op.Root+"."+op.Field] = i
	}
	return api, nil
}

// Prelude returns the AppSync built-ins (scalars and directives) that SDL
// relies on, as GraphQL source.
func Prelude() string { return appsyncPrelude }

// preludeSource returns the AppSync prelude as a gqlparser source. Its
// definitions are marked built-in so that printing API.Schema leaves them out.
func preludeSource() *ast.Source {
	return &ast.Source{Name: "appsync-prelude.graphql", BuiltIn: true, Input: appsyncPrelude}
}

// appsyncPrelude declares what AppSync predefines. A self-hosted server must
// declare it itself; it is kept out of API.SDL as AppSync's printed schema
// omits it too.
const appsyncPrelude = appsync.Prelude
