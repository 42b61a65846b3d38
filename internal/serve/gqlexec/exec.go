package gqlexec

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// Field is one field to resolve.
type Field struct {
	Name       string         // field name in the schema
	Alias      string         // response key
	Args       map[string]any // coerced arguments (literals and variables, defaults applied)
	Def        *ast.FieldDefinition
	Selections ast.SelectionSet // its sub-selection, for resolvers that want to know what's asked
	Path       []any            // response path: keys and list indexes
}

// Resolver supplies values. Objects are map[string]any; lists []any (or
// []map[string]any, or any other slice; a nil slice is an empty list);
// leaves are JSON values. An object of an interface or union type must hold
// its concrete type's name under "__typename".
type Resolver interface {
	// Root resolves a top-level field of Query, Mutation or Subscription.
	Root(ctx context.Context, f Field) (any, error)
	// Field resolves a field of an object of type typeName that the parent
	// map does not hold as a key (relations, connections). Fields present as
	// keys in the parent map are read directly without calling Field.
	Field(ctx context.Context, typeName string, parent map[string]any, f Field) (any, error)
}

// FieldPeeker is what a Resolver may add to answer a field from its parent
// map alone, such as a relation whose key is null, without the Field its
// Field method takes: building one copies the response path, an
// allocation for every item of a list.
type FieldPeeker interface {
	// PeekField returns the value Field would return for field name of
	// parent, an object of type typeName, and true, when that value
	// follows from parent alone and is not an error; else false, and
	// Field is called.
	PeekField(typeName string, parent map[string]any, name string) (any, bool)
}

// Execute runs op and returns the response: data shaped by the selection
// sets, errors with path and locations. Root fields run one after another
// in document order, which gives mutations the serial order the spec asks
// for. An execution that outgrows Options.MaxResponseBytes or
// Options.MaxResolverCalls stops there and answers data null with one
// LimitExceededError. A resolver error that is an *appsync.Error keeps its
// ErrorType, Data and ErrorInfo; any other becomes an InternalFailure
// carrying err.Error().
func (e *Executor) Execute(ctx context.Context, op *Operation, r Resolver) *appsync.Response {
	resp, _ := e.ExecuteAppend(ctx, op, r, make([]byte, 0, 512))
	return resp
}

// ExecuteAppend is Execute writing the data after buf's contents, so a
// caller can reuse one buffer across requests (a page of 1,000 items grows
// a fresh one from 512 bytes through a dozen copies) and put its own bytes
// before the data. It returns the response and buf extended; when the
// response has no errors, its Data is out[len(buf):]. The response's Data
// may share out's array: it is valid until the caller reuses out.
func (e *Executor) ExecuteAppend(ctx context.Context, op *Operation, r Resolver, buf []byte) (resp *appsync.Response, out []byte) {
	root, aerr := e.rootType(op)
	if aerr != nil {
		return &appsync.Response{Errors: []*appsync.Error{aerr}}, buf
	}
	x := e.newExecution(ctx, op, r)
	x.buf, x.start = buf, len(buf)
	groups := x.rootGroups(root)
	x.buf = append(x.buf, '{')
	for i, g := range groups {
		if i > 0 {
			x.buf = append(x.buf, ',')
		}
		x.buf = appendString(x.buf, g.key)
		x.buf = append(x.buf, ':')
		x.path = append(x.path[:0], pathElem{key: g.key, keyv: g.keyv})
		v, err := x.resolveRoot(root, g)
		if !x.finish(g, v, err) {
			return x.response(false), x.buf
		}
	}
	x.buf = append(x.buf, '}')
	return x.response(true), x.buf
}

// SubscriptionField returns the one root field of a subscription operation,
// with its coerced arguments.
func (e *Executor) SubscriptionField(op *Operation) (Field, error) {
	x := e.newExecution(context.Background(), op, nil)
	g, err := e.subscriptionGroup(x, op)
	if err != nil {
		return Field{}, err
	}
	args, err := x.args(g)
	if err != nil {
		return Field{}, fmt.Errorf("gqlexec: subscription %s: %w", g.name, err)
	}
	return Field{
		Name:       g.name,
		Alias:      g.key,
		Args:       args,
		Def:        g.def,
		Selections: g.selections(),
		Path:       []any{g.key},
	}, nil
}

// Render executes op's selection set for a subscription event whose root
// field value is value: the same output Execute gives when Root returns
// value. Nested relation fields call r.Field.
func (e *Executor) Render(ctx context.Context, op *Operation, value any, r Resolver) *appsync.Response {
	x := e.newExecution(ctx, op, r)
	g, err := e.subscriptionGroup(x, op)
	if err != nil {
		return &appsync.Response{Errors: []*appsync.Error{appsync.Errorf(appsync.BadRequest, "%v", err)}}
	}
	x.buf = make([]byte, 0, 512)
	x.buf = append(x.buf, '{')
	x.buf = appendString(x.buf, g.key)
	x.buf = append(x.buf, ':')
	x.path = append(x.path[:0], pathElem{key: g.key, keyv: g.keyv})
	if !x.finish(g, value, nil) {
		return x.response(false)
	}
	x.buf = append(x.buf, '}')
	return x.response(true)
}

// subscriptionGroup returns the single root field group of a subscription.
func (e *Executor) subscriptionGroup(x *execution, op *Operation) (*fieldGroup, error) {
	if op == nil || op.Def == nil {
		return nil, fmt.Errorf("gqlexec: no operation")
	}
	if op.Def.Operation != ast.Subscription {
		return nil, fmt.Errorf("gqlexec: operation %q is a %s, not a subscription", op.Name, op.Def.Operation)
	}
	root, aerr := e.rootType(op)
	if aerr != nil {
		return nil, aerr
	}
	groups := x.collect(root, op.Def.SelectionSet)
	if len(groups) != 1 || groups[0].def == nil {
		return nil, fmt.Errorf("gqlexec: a subscription must select exactly one root field, not %d", len(groups))
	}
	return groups[0], nil
}

// rootType returns the root object type of op's kind.
func (e *Executor) rootType(op *Operation) (*ast.Definition, *appsync.Error) {
	if op == nil || op.Def == nil {
		return nil, appsync.Errorf(appsync.BadRequest, "no operation to execute")
	}
	var root *ast.Definition
	switch op.Def.Operation {
	case ast.Query:
		root = e.schema.Query
	case ast.Mutation:
		root = e.schema.Mutation
	case ast.Subscription:
		root = e.schema.Subscription
	}
	if root == nil {
		return nil, appsync.Errorf(appsync.ValidationError, "the schema has no %s type", op.Def.Operation)
	}
	return root, nil
}

// execution is the state of one Execute or Render call.
type execution struct {
	e   *Executor
	ctx context.Context
	op  *Operation
	r   Resolver
	buf []byte
	// start is where the data starts in buf (see ExecuteAppend).
	start int
	errs  []*appsync.Error
	path  []pathElem // response path of the value being completed
	// calls counts Resolver calls, for Options.MaxResolverCalls.
	calls int
	// halt, once set, stops the execution: the response is data null
	// with this error alone.
	halt *appsync.Error
	// argc holds the groups' coerced arguments (args), in argBuf until it
	// outgrows it; argm indexes them once there are many.
	argc   []argEntry
	argBuf [2]argEntry
	argm   map[*fieldGroup]int
}

func (e *Executor) newExecution(ctx context.Context, op *Operation, r Resolver) *execution {
	return &execution{e: e, ctx: ctx, op: op, r: r}
}

// response returns the result; ok false means null propagated to the root.
func (x *execution) response(ok bool) *appsync.Response {
	if x.halt != nil {
		return &appsync.Response{Data: json.RawMessage("null"), Errors: []*appsync.Error{x.halt}}
	}
	data := json.RawMessage(x.buf[x.start:])
	if !ok {
		data = json.RawMessage("null")
	}
	return &appsync.Response{Data: data, Errors: x.errs}
}

// fieldGroup is the fields of one response key in a selection set, merged
// as the spec's CollectFields does. Groups are built once per concrete type
// (per execution, or once for every execution of a static document: see
// plan.go), and cache what every list item would otherwise redo. Once
// collected a group is only read, but for sub, which is safe to fill
// concurrently.
type fieldGroup struct {
	key    string
	keyv   any // key boxed once, for the paths handed to resolvers
	name   string
	parent *ast.Definition
	def    *ast.FieldDefinition // nil for __typename
	fields []*ast.Field
	one    [1]*ast.Field // fields' first array, saving an allocation

	subMu sync.Mutex               // serialises additions to sub
	sub   atomic.Pointer[subEntry] // sub-selection groups by concrete type
	// keyJSON is key as a JSON string and a colon, and named the
	// definition of def's named type (nil for __typename), both set when
	// the group is made: every item of a list needs them again, and a
	// group is only read once collected (plans share it between requests).
	keyJSON []byte
	named   *ast.Definition
}

// selections returns the merged sub-selection of the group.
func (g *fieldGroup) selections() ast.SelectionSet {
	if len(g.fields) == 1 {
		return g.fields[0].SelectionSet
	}
	var ss ast.SelectionSet
	for _, f := range g.fields {
		ss = append(ss, f.SelectionSet...)
	}
	return ss
}

// position returns the location of the group's first field.
func (g *fieldGroup) position() []appsync.Location {
	return locations(g.fields[0].Position)
}

// collect groups the fields of ss that apply to object type obj.
func (x *execution) collect(obj *ast.Definition, ss ast.SelectionSet) []*fieldGroup {
	c := collector{x: x, obj: obj}
	c.walk(ss)
	return c.groups
}

// collector is the state of one collect. It is a struct rather than a
// closure, and visited is made only when a fragment spread comes, so that
// collecting a plain selection set allocates just its groups.
type collector struct {
	x       *execution
	obj     *ast.Definition
	groups  []*fieldGroup
	byKey   map[string]*fieldGroup
	visited map[string]bool
	// slab holds the groups of one selection set, allocated together.
	slab []fieldGroup
}

// newGroup returns a zero group from the slab, which is made for n groups
// when first needed (fragments may bring more: those are made one by one).
func (c *collector) newGroup(n int) *fieldGroup {
	if c.slab == nil {
		c.slab = make([]fieldGroup, 0, n)
	}
	if len(c.slab) < cap(c.slab) {
		c.slab = c.slab[:len(c.slab)+1]
		return &c.slab[len(c.slab)-1]
	}
	return new(fieldGroup)
}

func (c *collector) walk(ss ast.SelectionSet) {
	x, obj := c.x, c.obj
	for _, s := range ss {
		switch s := s.(type) {
		case *ast.Field:
			if !x.included(s.Directives) {
				continue
			}
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			if g := findGroup(c.groups, c.byKey, key); g != nil {
				g.fields = append(g.fields, s)
				continue
			}
			g := c.newGroup(len(ss)) // zero: set field by field, not copied whole
			g.key, g.keyv, g.name, g.parent = key, key, s.Name, obj
			g.keyJSON = append(appendString(make([]byte, 0, len(key)+3), key), ':')
			g.one[0] = s
			g.fields = g.one[:]
			if s.Name != "__typename" {
				g.def = obj.Fields.ForName(s.Name)
				if g.def != nil {
					g.named = x.e.schema.Types[g.def.Type.Name()]
				}
			}
			if c.groups == nil {
				c.groups = make([]*fieldGroup, 0, len(ss))
			}
			c.groups = append(c.groups, g)
			if len(c.groups) == 16 {
				c.byKey = make(map[string]*fieldGroup, 32)
				for _, g := range c.groups {
					c.byKey[g.key] = g
				}
			} else if c.byKey != nil {
				c.byKey[key] = g
			}
		case *ast.InlineFragment:
			if x.included(s.Directives) && x.applies(obj, s.TypeCondition) {
				c.walk(s.SelectionSet)
			}
		case *ast.FragmentSpread:
			if c.visited[s.Name] || !x.included(s.Directives) {
				continue
			}
			if c.visited == nil {
				c.visited = make(map[string]bool)
			}
			c.visited[s.Name] = true
			f := x.op.Doc.Fragments.ForName(s.Name)
			if f != nil && x.applies(obj, f.TypeCondition) {
				c.walk(f.SelectionSet)
			}
		}
	}
}

func findGroup(groups []*fieldGroup, byKey map[string]*fieldGroup, key string) *fieldGroup {
	if byKey != nil {
		return byKey[key]
	}
	for _, g := range groups {
		if g.key == key {
			return g
		}
	}
	return nil
}

// subGroups returns the groups of g's merged sub-selection for type obj.
func (x *execution) subGroups(g *fieldGroup, obj *ast.Definition) []*fieldGroup {
	if gs, ok := g.subFor(obj.Name); ok {
		return gs
	}
	g.subMu.Lock()
	defer g.subMu.Unlock()
	if gs, ok := g.subFor(obj.Name); ok {
		return gs // another execution collected them meanwhile
	}
	gs := x.collect(obj, g.selections())
	g.sub.Store(&subEntry{typ: obj.Name, groups: gs, next: g.sub.Load()})
	return gs
}

// subFor returns the sub-selection groups collected for type typ.
func (g *fieldGroup) subFor(typ string) ([]*fieldGroup, bool) {
	for e := g.sub.Load(); e != nil; e = e.next {
		if e.typ == typ {
			return e.groups, true
		}
	}
	return nil, false
}

// included evaluates @skip and @include.
func (x *execution) included(ds ast.DirectiveList) bool {
	for _, d := range ds {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		a := d.Arguments.ForName("if")
		if a == nil {
			continue
		}
		v, _, _ := coerceLiteral(x.e.schema, ast.NonNullNamedType("Boolean", nil), a.Value, x.op.Variables)
		b, _ := v.(bool)
		if d.Name == "skip" && b {
			return false
		}
		if d.Name == "include" && !b {
			return false
		}
	}
	return true
}

// applies reports whether a fragment with type condition cond applies to
// object type obj.
func (x *execution) applies(obj *ast.Definition, cond string) bool {
	if cond == "" || cond == obj.Name {
		return true
	}
	for _, p := range x.e.schema.PossibleTypes[cond] {
		if p.Name == obj.Name {
			return true
		}
	}
	return false
}

// args returns the group's coerced arguments, computed once per execution
// (they depend on its variables; the group may be shared).
func (x *execution) args(g *fieldGroup) (map[string]any, error) {
	if g.def == nil {
		return nil, nil
	}
	if x.argm != nil {
		if i, ok := x.argm[g]; ok {
			return x.argc[i].vals, x.argc[i].err
		}
	} else {
		for i := range x.argc {
			if x.argc[i].g == g {
				return x.argc[i].vals, x.argc[i].err
			}
		}
	}
	vals, err := coerceArgs(x.e.schema, g.def.Arguments, g.fields[0].Arguments, x.op.Variables)
	if x.argc == nil {
		x.argc = x.argBuf[:0]
	}
	x.argc = append(x.argc, argEntry{g: g, vals: vals, err: err})
	switch n := len(x.argc); {
	case n == 16:
		x.argm = make(map[*fieldGroup]int, 32)
		for i, a := range x.argc {
			x.argm[a.g] = i
		}
	case n > 16:
		x.argm[g] = n - 1
	}
	return vals, err
}

// field returns the Field handed to a resolver.
func (x *execution) field(g *fieldGroup) (Field, error) {
	args, err := x.args(g)
	if err != nil {
		return Field{}, err
	}
	return Field{
		Name:       g.name,
		Alias:      g.key,
		Args:       args,
		Def:        g.def,
		Selections: g.selections(),
		Path:       x.pathSlice(),
	}, nil
}

// resolveRoot resolves a root field: the executor answers __typename and
// introspection, the resolver the rest.
func (x *execution) resolveRoot(root *ast.Definition, g *fieldGroup) (any, error) {
	switch {
	case g.name == "__typename":
		return root.Name, nil
	case root == x.e.schema.Query && g.name == "__schema":
		return introSchema{}, nil
	case root == x.e.schema.Query && g.name == "__type":
		args, err := x.args(g)
		if err != nil {
			return nil, err
		}
		name, _ := args["name"].(string)
		if d := x.e.schema.Types[name]; d != nil {
			return introType{def: d}, nil
		}
		return nil, nil
	}
	if err := x.admit(g); err != nil {
		return nil, err
	}
	f, err := x.field(g)
	if err != nil {
		return nil, err
	}
	return x.r.Root(x.ctx, f)
}

// finish completes a resolved field value (or records its error) into the
// buffer. It returns false when the null must propagate to the parent.
func (x *execution) finish(g *fieldGroup, v any, err error) bool {
	if g.name == "__typename" {
		s, _ := v.(string)
		x.buf = appendString(x.buf, s)
		return true
	}
	if err != nil {
		if x.halt != nil {
			return false
		}
		x.resolverError(err, g)
		if g.def.Type.NonNull {
			return false
		}
		x.buf = append(x.buf, "null"...)
		return true
	}
	return x.complete(g.def.Type, g, v)
}

// complete writes v as a value of type t, applying null propagation.
func (x *execution) complete(t *ast.Type, g *fieldGroup, v any) bool {
	if isNull(v) {
		if t.NonNull {
			x.fieldError(g, fmt.Sprintf("Cannot return null for non-nullable type: '%s' within parent '%s' (%s)",
				t.Name(), g.parent.Name, x.pathString()))
			return false
		}
		x.buf = append(x.buf, "null"...)
		return true
	}
	start := len(x.buf)
	if x.completeValue(t, g, v) {
		if len(x.buf)-x.start > x.e.opts.MaxResponseBytes {
			// Checked as each value completes, so the buffer outgrows the
			// limit by one leaf at most.
			x.stop(g, "the response is larger than %d bytes, the maximum: ask for fewer items or fields", x.e.opts.MaxResponseBytes)
			return false
		}
		return true
	}
	if t.NonNull || x.halt != nil {
		return false
	}
	x.buf = append(x.buf[:start], "null"...)
	return true
}

// isNull reports whether a resolved value is null. A nil slice is not: it
// is an empty list, as a Go resolver that found nothing returns it.
func isNull(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		return v == nil
	case json.RawMessage:
		return len(v) == 0 || string(v) == "null"
	}
	return false
}

// completeValue writes a non-null v of type t (nullability aside).
func (x *execution) completeValue(t *ast.Type, g *fieldGroup, v any) bool {
	if t.Elem != nil {
		return x.completeList(t, g, v)
	}
	def := g.named
	if def == nil || def.Name != t.NamedType {
		def = x.e.schema.Types[t.NamedType]
	}
	if def == nil {
		x.fieldError(g, fmt.Sprintf("unknown type %s", t.NamedType))
		return false
	}
	switch def.Kind {
	case ast.Scalar, ast.Enum:
		b, err := appendLeaf(x.buf, def, v)
		if err != nil {
			x.fieldError(g, fmt.Sprintf("%s.%s: %v", g.parent.Name, g.name, err))
			return false
		}
		x.buf = b
		return true
	case ast.Object:
		return x.executeObject(def, g, v)
	case ast.Interface, ast.Union:
		obj := x.concreteType(def, v)
		if obj == nil {
			x.fieldError(g, fmt.Sprintf("cannot tell which type of %s the value of %s.%s is: it needs a __typename naming one",
				def.Name, g.parent.Name, g.name))
			return false
		}
		return x.executeObject(obj, g, v)
	}
	x.fieldError(g, fmt.Sprintf("%s.%s: type %s cannot be output", g.parent.Name, g.name, def.Name))
	return false
}

// concreteType resolves the object type of a value of an abstract type.
func (x *execution) concreteType(abstract *ast.Definition, v any) *ast.Definition {
	var name string
	switch v := v.(type) {
	case map[string]any:
		name, _ = v["__typename"].(string)
	case introObject:
		name = v.typeName()
	}
	for _, p := range x.e.schema.PossibleTypes[abstract.Name] {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// completeList writes a list of t.Elem.
func (x *execution) completeList(t *ast.Type, g *fieldGroup, v any) bool {
	x.buf = append(x.buf, '[')
	switch list := v.(type) {
	case []any:
		for i, item := range list {
			if i > 0 {
				x.buf = append(x.buf, ',')
			}
			if !x.completeItem(t.Elem, g, i, item) {
				return false
			}
		}
	case []map[string]any:
		for i, item := range list {
			if i > 0 {
				x.buf = append(x.buf, ',')
			}
			if !x.completeItem(t.Elem, g, i, item) {
				return false
			}
		}
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			x.fieldError(g, fmt.Sprintf("%s.%s: expected a list, got a %T", g.parent.Name, g.name, v))
			return false
		}
		for i := range rv.Len() {
			if i > 0 {
				x.buf = append(x.buf, ',')
			}
			if !x.completeItem(t.Elem, g, i, rv.Index(i).Interface()) {
				return false
			}
		}
	}
	x.buf = append(x.buf, ']')
	return true
}

// executeObject writes the sub-selection of g over object v of type obj.
func (x *execution) executeObject(obj *ast.Definition, g *fieldGroup, v any) bool {
	m, isMap := v.(map[string]any)
	intro, isIntro := v.(introObject)
	if !isMap && !isIntro {
		x.fieldError(g, fmt.Sprintf("%s.%s: expected an object, got a %T", g.parent.Name, g.name, v))
		return false
	}
	groups := x.subGroups(g, obj)
	x.buf = append(x.buf, '{')
	for i, sg := range groups {
		if i > 0 {
			x.buf = append(x.buf, ',')
		}
		x.buf = append(x.buf, sg.keyJSON...)
		if sg.name == "__typename" {
			x.buf = appendString(x.buf, obj.Name)
			continue
		}
		x.path = append(x.path, pathElem{key: sg.key, keyv: sg.keyv})
		if sg.def == nil {
			x.fieldError(sg, fmt.Sprintf("type %s has no field %s", obj.Name, sg.name))
			x.path = x.path[:len(x.path)-1]
			return false
		}
		var val any
		var err error
		if isIntro {
			var args map[string]any
			if args, err = x.args(sg); err == nil {
				val, err = intro.field(x.e, sg.name, args)
			}
		} else if fv, ok := m[sg.name]; ok {
			val = fv
		} else {
			val, err = x.resolveField(obj, m, sg)
		}
		ok := x.finish(sg, val, err)
		x.path = x.path[:len(x.path)-1]
		if !ok {
			return false
		}
	}
	x.buf = append(x.buf, '}')
	return true
}

// resolveField asks the resolver for a field its parent map lacks.
func (x *execution) resolveField(obj *ast.Definition, parent map[string]any, g *fieldGroup) (any, error) {
	if err := x.admit(g); err != nil {
		return nil, err
	}
	if p, ok := x.r.(FieldPeeker); ok {
		if v, ok := p.PeekField(obj.Name, parent, g.name); ok {
			return v, nil
		}
	}
	f, err := x.field(g)
	if err != nil {
		return nil, err
	}
	return x.r.Field(x.ctx, obj.Name, parent, f)
}

// admit counts one Resolver call, refusing it when the request's context
// has ended or the call limit is reached.
func (x *execution) admit(g *fieldGroup) error {
	if err := x.ctx.Err(); err != nil {
		return err
	}
	x.calls++
	if x.calls > x.e.opts.MaxResolverCalls {
		x.stop(g, "the request needs more than %d resolver calls, the maximum: ask for fewer items or nested fields", x.e.opts.MaxResolverCalls)
		return errHalted
	}
	return nil
}

// stop halts the execution with a LimitExceededError at the current path.
func (x *execution) stop(g *fieldGroup, format string, args ...any) {
	if x.halt != nil {
		return
	}
	x.halt = appsync.Errorf(appsync.LimitExceeded, format, args...)
	x.halt.Path = x.pathSlice()
	x.halt.Locations = g.position()
}

// resolverError records a resolver's error at path. An *appsync.Error keeps
// its type and data; anything else is an InternalFailure.
func (x *execution) resolverError(err error, g *fieldGroup) {
	var out appsync.Error
	if ae, ok := appsync.AsError(err); ok {
		out = *ae
	} else {
		out = appsync.Error{Message: err.Error(), ErrorType: appsync.InternalFailure}
	}
	out.Path = x.pathSlice()
	out.Locations = g.position()
	x.errs = append(x.errs, &out)
}

// fieldError records an error the executor found in a field's value.
func (x *execution) fieldError(g *fieldGroup, msg string) {
	x.errs = append(x.errs, &appsync.Error{Message: msg, Path: x.pathSlice(), Locations: g.position()})
}

// pathElem is one step of the response path: a key or a list index. The
// execution keeps the current path as a stack and copies it only when an
// error or a resolver needs it.
type pathElem struct {
	key     string
	keyv    any // key as an any, boxed once per field group, not per path
	index   int
	isIndex bool
}

// completeItem completes item i of a list with the index on the path.
func (x *execution) completeItem(t *ast.Type, g *fieldGroup, i int, item any) bool {
	x.path = append(x.path, pathElem{index: i, isIndex: true})
	ok := x.complete(t, g, item)
	x.path = x.path[:len(x.path)-1]
	return ok
}

// pathSlice returns the current path as keys (string) and indexes (int).
func (x *execution) pathSlice() []any {
	out := make([]any, len(x.path))
	for i, p := range x.path {
		switch {
		case p.isIndex:
			out[i] = p.index
		case p.keyv != nil:
			out[i] = p.keyv
		default:
			out[i] = p.key
		}
	}
	return out
}

// pathString returns the path as AppSync prints it: /getPost/comments/0/id.
func (x *execution) pathString() string {
	var b strings.Builder
	for _, p := range x.path {
		b.WriteByte('/')
		if p.isIndex {
			b.WriteString(strconv.Itoa(p.index))
		} else {
			b.WriteString(p.key)
		}
	}
	return b.String()
}
