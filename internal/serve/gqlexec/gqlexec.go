// Package gqlexec executes GraphQL requests for `dsgen serve`.
//
// Requests are parsed and validated with gqlparser against one schema, then
// executed with a Resolver that supplies values: root fields, and the fields
// of objects that their parent map does not already hold (relations,
// connections). The executor itself shapes the response by the selection
// sets (aliases, fragments, @skip/@include, __typename), coerces leaf values,
// propagates nulls the way the GraphQL spec says, and answers introspection
// from the schema. Response data is written in selection order.
package gqlexec

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// DefaultMaxDepth is the selection depth allowed when Options.MaxDepth is 0.
// It leaves room for the standard introspection query, which nests 13 deep.
const DefaultMaxDepth = 15

// Options limit what a request may do. A zero field takes its default.
// The document limits are checked after parsing and before validation, so
// a document over them costs little; each is refused with a
// ValidationError that names the limit.
type Options struct {
	// MaxDepth is the maximum selection depth (default DefaultMaxDepth); a
	// deeper document fails validation. A root field is at depth 1.
	MaxDepth int
	// MaxTokens bounds the lexical tokens of a document, so parsing is
	// bounded too (default DefaultMaxTokens).
	MaxTokens int
	// MaxFields bounds the fields of a document, counted with every
	// fragment spread expanded (default DefaultMaxFields).
	MaxFields int
	// MaxFragments bounds the fragment definitions of a document (default
	// DefaultMaxFragments).
	MaxFragments int
	// MaxAliases bounds the aliased fields of a document, counted with
	// every fragment spread expanded (default DefaultMaxAliases).
	MaxAliases int
	// MaxRootFields bounds the root fields of one operation (default
	// DefaultMaxRootFields).
	MaxRootFields int
	// MaxResponseBytes bounds the data an execution writes; past it the
	// execution stops and answers a LimitExceededError (default
	// DefaultMaxResponseBytes).
	MaxResponseBytes int
	// MaxResolverCalls bounds the Resolver calls of one execution; past it
	// the execution stops and answers a LimitExceededError (default
	// DefaultMaxResolverCalls).
	MaxResolverCalls int
}

// withDefaults fills the zero limits.
func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxDepth, DefaultMaxDepth)
	def(&o.MaxTokens, DefaultMaxTokens)
	def(&o.MaxFields, DefaultMaxFields)
	def(&o.MaxFragments, DefaultMaxFragments)
	def(&o.MaxAliases, DefaultMaxAliases)
	def(&o.MaxRootFields, DefaultMaxRootFields)
	def(&o.MaxResponseBytes, DefaultMaxResponseBytes)
	def(&o.MaxResolverCalls, DefaultMaxResolverCalls)
	return o
}

// Executor executes operations against one schema. Safe for concurrent use.
type Executor struct {
	schema *ast.Schema
	opts   Options
	rules  *rules.Rules
	// types is the schema's types sorted by name, for __schema.types.
	types []*ast.Definition
	// directives is the schema's directives sorted by name.
	directives []*ast.DirectiveDefinition
	// docs caches parsed and validated documents by their text: clients
	// send the same few documents again and again, and parsing plus
	// validation costs more than executing them.
	docs docCache
}

// docCache is a bounded map of validated documents, with their plans
// (plan.go). A validated document is never modified again, so it is shared
// between requests.
type docCache struct {
	mu sync.Mutex
	m  map[string]*cachedDoc
}

const (
	docCacheEntries  = 1024
	docCacheMaxBytes = 64 << 10
)

func (c *docCache) get(q string) *cachedDoc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[q]
}

func (c *docCache) put(q string, doc *cachedDoc) {
	if len(q) > docCacheMaxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= docCacheEntries {
		// Dropping everything is crude but bounded; a working set of
		// documents refills it at once.
		c.m = make(map[string]*cachedDoc)
	}
	c.m[q] = doc
}

// New returns an Executor for schema, a schema loaded by gqlparser (with its
// prelude, as gqlparser.LoadSchema adds it).
func New(schema *ast.Schema, opts Options) *Executor {
	opts = opts.withDefaults()
	e := &Executor{schema: schema, opts: opts, rules: rules.NewDefaultRules()}
	for _, d := range schema.Types {
		e.types = append(e.types, d)
	}
	sort.Slice(e.types, func(i, j int) bool { return e.types[i].Name < e.types[j].Name })
	for _, d := range schema.Directives {
		e.directives = append(e.directives, d)
	}
	sort.Slice(e.directives, func(i, j int) bool { return e.directives[i].Name < e.directives[j].Name })
	return e
}

// Schema returns the schema the executor was built for.
func (e *Executor) Schema() *ast.Schema { return e.schema }

// Operation is a parsed, validated request with coerced variables.
type Operation struct {
	Kind      string // "query", "mutation" or "subscription"
	Name      string
	Doc       *ast.QueryDocument
	Def       *ast.OperationDefinition
	Variables map[string]any // coerced

	plan *opPlan // the shared plan of Def, nil when none (plan.go)
}

// Prepare parses and validates req: it picks the operation named by
// req.OperationName (required when the document holds several), checks the
// document against the limits of Options and then the schema, and coerces
// the variables against their declared types. On failure it returns
// ValidationError errors, with locations where the document has them; it
// never panics. PrepareRequest does the same and also says what kind of
// refusal it is.
func (e *Executor) Prepare(req appsync.Request) (*Operation, []*appsync.Error) {
	op, r := e.PrepareRequest(req)
	if r != nil {
		return nil, r.Errors
	}
	return op, nil
}

// Refusal is PrepareRequest's verdict on a request it will not run.
type Refusal struct {
	// Errors say what is wrong and where; never empty.
	Errors []*appsync.Error
	// Malformed is set when the document could not be read: it does not
	// parse (the token limit included) or exceeds the document limits of
	// Options. AppSync answers an unparseable request with HTTP 400. When
	// Malformed is false the document was read and found invalid: a
	// validation rule, an Int literal out of range, the operation to run
	// or the variables; AppSync answers those with HTTP 200 and
	// "data": null.
	Malformed bool
}

// PrepareRequest is Prepare returning a *Refusal, which tells malformed
// requests from invalid ones, instead of the bare errors.
func (e *Executor) PrepareRequest(req appsync.Request) (op *Operation, r *Refusal) {
	// gqlparser is fed untrusted text; a panic in it must not take the
	// server down, so it is reported as an invalid request instead.
	defer func() {
		if p := recover(); p != nil {
			op = nil
			r = malformed(appsync.Errorf(appsync.ValidationError, "invalid request: %v", p))
		}
	}()
	if strings.TrimSpace(req.Query) == "" {
		return nil, malformed(appsync.Errorf(appsync.ValidationError, "the request has no query"))
	}
	cached := e.docs.get(req.Query)
	if cached == nil {
		doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Name: "request", Input: req.Query}, e.opts.MaxTokens)
		if err != nil {
			return nil, malformed(e.parseErrors(err)...)
		}
		// Validation costs more than linear time in some shapes (repeated
		// fields), so the cheap limits go first.
		if aerr, limit := e.checkDocument(doc); aerr != nil {
			if limit {
				return nil, malformed(aerr)
			}
			// A fragment cycle, found first here, is a validation error.
			return nil, invalid(aerr)
		}
		if errs := e.checkIntLiterals(doc); len(errs) > 0 {
			return nil, invalid(errs...)
		}
		if gerrs := validator.ValidateWithRules(e.schema, doc, e.rules); len(gerrs) > 0 {
			return nil, invalid(validationErrors(doc, gerrs)...)
		}
		cached = newCachedDoc(doc)
		e.docs.put(req.Query, cached)
	}
	doc := cached.doc
	def, aerr := selectOperation(doc, req.OperationName)
	if aerr != nil {
		return nil, invalid(aerr)
	}
	vars, aerr := e.coerceVariables(def, req.Variables)
	if aerr != nil {
		return nil, invalid(aerr)
	}
	return &Operation{
		Kind:      string(def.Operation),
		Name:      def.Name,
		Doc:       doc,
		Def:       def,
		Variables: vars,
		plan:      cached.plan(def),
	}, nil
}

// malformed is the Refusal of a document that could not be read.
func malformed(errs ...*appsync.Error) *Refusal { return &Refusal{Errors: errs, Malformed: true} }

// invalid is the Refusal of a document read and found invalid.
func invalid(errs ...*appsync.Error) *Refusal { return &Refusal{Errors: errs} }

// selectOperation picks the operation to run as the spec's GetOperation does.
func selectOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, *appsync.Error) {
	if len(doc.Operations) == 0 {
		return nil, appsync.Errorf(appsync.ValidationError, "the document has no operation")
	}
	if name == "" {
		if len(doc.Operations) > 1 {
			return nil, appsync.Errorf(appsync.ValidationError,
				"the document has %d operations: operationName must say which to run", len(doc.Operations))
		}
		return doc.Operations[0], nil
	}
	for _, o := range doc.Operations {
		if o.Name == name {
			return o, nil
		}
	}
	return nil, appsync.Errorf(appsync.ValidationError, "unknown operation named %q", name)
}

// coerceVariables checks the request's variables against the operation's
// declarations and normalises them (Int to int64, Float to float64, ID to
// string) so resolvers see one Go type per GraphQL type.
func (e *Executor) coerceVariables(def *ast.OperationDefinition, in map[string]any) (map[string]any, *appsync.Error) {
	if vars, ok := e.fastVariables(def, in); ok {
		return vars, nil
	}
	return e.coerceVariablesSlow(def, in)
}

// coerceVariablesSlow is the general path of coerceVariables: it takes any
// decoded values and words every error.
func (e *Executor) coerceVariablesSlow(def *ast.OperationDefinition, in map[string]any) (map[string]any, *appsync.Error) {
	// VariableValues writes coerced values back into nested maps; copy so
	// the caller's request stays as it was sent.
	in, _ = deepCopy(in).(map[string]any)
	for _, vd := range def.VariableDefinitions {
		v, ok := in[vd.Variable]
		if !ok {
			continue
		}
		nv, err := wholeInts(e.schema, vd.Type, v, "$"+vd.Variable)
		if err != nil {
			ae := appsync.Errorf(appsync.ValidationError, "Variable '%s' has an invalid value: %v", vd.Variable, err)
			ae.Locations = locations(vd.Position)
			return nil, ae
		}
		in[vd.Variable] = nv
	}
	vars, err := validator.VariableValues(e.schema, def, in)
	if err != nil {
		return nil, variableError(e.schema, def, err)
	}
	for _, vd := range def.VariableDefinitions {
		if v, ok := vars[vd.Variable]; ok {
			nv, err := normaliseInput(e.schema, vd.Type, v)
			if err != nil {
				ae := appsync.Errorf(appsync.ValidationError, "Variable '%s' has an invalid value: $%s: %v", vd.Variable, vd.Variable, err)
				ae.Locations = locations(vd.Position)
				return nil, ae
			}
			vars[vd.Variable] = nv
		}
	}
	return vars, nil
}

// variableError turns gqlparser's variable error, whose path is
// variable.<name>[.<field>...], into a message that names the variable.
func variableError(schema *ast.Schema, def *ast.OperationDefinition, err error) *appsync.Error {
	var ge *gqlerror.Error
	if !errors.As(err, &ge) || len(ge.Path) < 2 {
		return appsync.Errorf(appsync.ValidationError, "invalid variables: %v", err)
	}
	name, _ := ge.Path[1].(ast.PathName)
	where := "$" + string(name) + ast.Path(ge.Path[2:]).String()
	if len(ge.Path) > 2 {
		if _, idx := ge.Path[2].(ast.PathIndex); !idx {
			where = "$" + string(name) + "." + ast.Path(ge.Path[2:]).String()
		}
	}
	vd := def.VariableDefinitions.ForName(string(name))
	if ae := unknownInputField(schema, vd, ge, where); ae != nil {
		return ae
	}
	ae := appsync.Errorf(appsync.ValidationError, "variable %s: %s", where, ge.Message)
	if vd != nil {
		ae.Message = fmt.Sprintf("variable %s of type %s: %s", where, vd.Type.String(), ge.Message)
		ae.Locations = locations(vd.Position)
	}
	return ae
}

// unknownInputField words a variable's input object field the type does not
// declare as AppSync does ("Variable 'filter' has an invalid value: The
// variables input contains a field name 'not' that is not defined for input
// object type 'ModelSubscriptionPostFilterInput'"), with where in it after
// that text, or returns nil for any other error. Clients match that text: Amplify DataStore retries a
// subscription whose filter the backend cannot take (a selective sync
// expression with "not", or on a field the subscription filter input lacks)
// without the filter, and filters events itself, only when the refusal reads
// "The variables input contains a field name 'not'"; any other wording fails
// the subscription and the client receives nothing live.
func unknownInputField(schema *ast.Schema, vd *ast.VariableDefinition, ge *gqlerror.Error, where string) *appsync.Error {
	if vd == nil || ge.Message != "unknown field" || len(ge.Path) < 3 {
		return nil
	}
	field, ok := ge.Path[len(ge.Path)-1].(ast.PathName)
	if !ok {
		return nil
	}
	// The type holding the field: walk the variable's type along the path
	// between the variable name and the field.
	typ := vd.Type
	for _, el := range ge.Path[2 : len(ge.Path)-1] {
		switch el := el.(type) {
		case ast.PathIndex:
			if typ.Elem == nil {
				return nil
			}
			typ = typ.Elem
		case ast.PathName:
			d := schema.Types[typ.Name()]
			if d == nil || d.Kind != ast.InputObject || d.Fields.ForName(string(el)) == nil {
				return nil
			}
			typ = d.Fields.ForName(string(el)).Type
		}
	}
	d := schema.Types[typ.Name()]
	if d == nil || d.Kind != ast.InputObject {
		return nil
	}
	ae := appsync.Errorf(appsync.ValidationError,
		"Variable '%s' has an invalid value: The variables input contains a field name '%s' that is not defined for input object type '%s' (at %s)",
		vd.Variable, field, d.Name, where)
	ae.Locations = locations(vd.Position)
	return ae
}

// parseErrors converts a parse error, naming the token limit when that is
// what stopped the parser.
func (e *Executor) parseErrors(err error) []*appsync.Error {
	errs := fromGQLErrors(err)
	for _, ae := range errs {
		if strings.HasPrefix(ae.Message, "exceeded token limit") {
			ae.Message = fmt.Sprintf("the document has more than %d tokens, the maximum", e.opts.MaxTokens)
		}
	}
	return errs
}

// fromGQLErrors converts gqlparser errors (a *gqlerror.Error or a
// gqlerror.List) into ValidationErrors.
func fromGQLErrors(err error) []*appsync.Error {
	var list gqlerror.List
	var one *gqlerror.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = gqlerror.List{one}
	default:
		return []*appsync.Error{appsync.Errorf(appsync.ValidationError, "%v", err)}
	}
	out := make([]*appsync.Error, 0, len(list))
	for _, ge := range list {
		ae := &appsync.Error{Message: ge.Message, ErrorType: appsync.ValidationError}
		for _, l := range ge.Locations {
			ae.Locations = append(ae.Locations, appsync.Location{Line: l.Line, Column: l.Column})
		}
		out = append(out, ae)
	}
	return out
}

// locations returns p as an error location list, or nil.
func locations(p *ast.Position) []appsync.Location {
	if p == nil || p.Line == 0 {
		return nil
	}
	return []appsync.Location{{Line: p.Line, Column: p.Column}}
}

// deepCopy copies the maps and slices of a decoded JSON value.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = deepCopy(x)
		}
		return s
	default:
		return v
	}
}
