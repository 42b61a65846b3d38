package gqlexec

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// Defaults of the Options limits. The document limits keep the parser and
// gqlparser's validation within tens of milliseconds for any document:
// validation's field-merging rule is quadratic in the fields of a selection
// set and in the fragments spread into one, and walks every fragment
// definition with the fragments it spreads. They leave room for graphql-js's
// introspection query with every option (429 fields counted as MaxFields
// counts them, 3 fragments) and for the documents Amplify clients send
// (tens of fields). The execution limits follow AppSync's service quotas.
const (
	// DefaultMaxTokens bounds the lexical tokens of a document, as gqlgen's
	// default parser token limit.
	DefaultMaxTokens = 15_000
	// DefaultMaxFields bounds the fields of a document counted with every
	// fragment spread expanded.
	DefaultMaxFields = 600
	// DefaultMaxFragments bounds the fragment definitions of a document.
	DefaultMaxFragments = 100
	// DefaultMaxAliases bounds the aliased fields of a document, expanded.
	DefaultMaxAliases = 100
	// DefaultMaxRootFields bounds the root fields of one operation.
	DefaultMaxRootFields = 20
	// DefaultMaxResponseBytes bounds the data of a response: AppSync's
	// response size quota, 5 MB.
	DefaultMaxResponseBytes = 5 << 20
	// DefaultMaxResolverCalls bounds the resolver calls of one execution:
	// AppSync's resolver count quota per request.
	DefaultMaxResolverCalls = 10_000
)

// saturation caps the counts of the pre-validation pass: fragments spread
// in fragments multiply, and a count past every limit needs no precision.
const saturation = 1 << 40

// shape is what the pre-validation pass counts in a selection set, with
// fragment spreads expanded.
type shape struct {
	fields  int64 // every field, nested ones included
	aliases int64 // fields whose response key is not their name
	top     int64 // fields at the selection set's own level
	depth   int   // levels of nested fields below (a leaf field is 1)
	deepest *ast.Position
}

func (s *shape) add(o shape) {
	s.fields = min(s.fields+o.fields, saturation)
	s.aliases = min(s.aliases+o.aliases, saturation)
	s.top = min(s.top+o.top, saturation)
}

// shapeWalker computes shapes once per fragment, so the pass is linear in
// the document however often fragments are spread.
type shapeWalker struct {
	doc   *ast.QueryDocument
	frags map[string]*ast.FragmentDefinition
	memo  map[string]shape
	// active holds the fragments being walked, to find cycles.
	active map[string]bool
	cycle  *appsync.Error
}

// checkDocument is the cheap pass that runs between parsing and validation:
// it refuses documents whose size (fields with fragments expanded, aliases,
// fragments, root fields per operation), depth or fragment cycles would
// make validation or execution expensive. It is linear in the document:
// each fragment's shape is computed once, however often it is spread.
// limit is false when the error is a fragment cycle, which is not one of
// dsgen's limits but a validation rule of GraphQL's found first here.
func (e *Executor) checkDocument(doc *ast.QueryDocument) (aerr *appsync.Error, limit bool) {
	w := &shapeWalker{
		doc:    doc,
		frags:  make(map[string]*ast.FragmentDefinition, len(doc.Fragments)),
		memo:   make(map[string]shape, len(doc.Fragments)),
		active: map[string]bool{},
	}
	for _, f := range doc.Fragments {
		if _, dup := w.frags[f.Name]; !dup {
			w.frags[f.Name] = f
		}
	}
	if len(doc.Fragments) > e.opts.MaxFragments {
		return limitError(doc.Fragments[e.opts.MaxFragments].Position,
			"the document defines %d fragments; the maximum is %d", len(doc.Fragments), e.opts.MaxFragments), true
	}
	// Validation walks every operation and, again, every fragment
	// definition, so both count towards the document's size.
	var total shape
	for _, op := range doc.Operations {
		s := w.selectionSet(op.SelectionSet)
		if w.cycle != nil {
			return w.cycle, false
		}
		if s.top > int64(e.opts.MaxRootFields) {
			return limitError(op.Position, "the operation has %s root fields; the maximum is %d", count(s.top), e.opts.MaxRootFields), true
		}
		if s.depth > e.opts.MaxDepth {
			ae := appsync.Errorf(appsync.ValidationError, "the query is %d levels deep; the maximum is %d", s.depth, e.opts.MaxDepth)
			ae.Locations = locations(s.deepest)
			return ae, true
		}
		total.add(s)
	}
	for _, f := range doc.Fragments {
		s := w.fragment(f.Name, f.Position)
		if w.cycle != nil {
			return w.cycle, false
		}
		total.add(s)
	}
	var where *ast.Position
	if len(doc.Operations) > 0 {
		where = doc.Operations[0].Position
	}
	if total.fields > int64(e.opts.MaxFields) {
		return limitError(where, "the document selects %s fields with its fragments expanded; the maximum is %d", count(total.fields), e.opts.MaxFields), true
	}
	if total.aliases > int64(e.opts.MaxAliases) {
		return limitError(where, "the document has %s aliased fields with its fragments expanded; the maximum is %d", count(total.aliases), e.opts.MaxAliases), true
	}
	return nil, false
}

// count prints a saturated count as "more than".
func count(n int64) string {
	if n >= saturation {
		return fmt.Sprintf("more than %d", int64(saturation))
	}
	return fmt.Sprint(n)
}

func limitError(p *ast.Position, format string, args ...any) *appsync.Error {
	ae := appsync.Errorf(appsync.ValidationError, format, args...)
	ae.Locations = locations(p)
	return ae
}

// selectionSet returns the shape of ss.
func (w *shapeWalker) selectionSet(ss ast.SelectionSet) shape {
	var s shape
	for _, sel := range ss {
		if w.cycle != nil {
			return s
		}
		var sub shape
		switch sel := sel.(type) {
		case *ast.Field:
			inner := w.selectionSet(sel.SelectionSet)
			sub = shape{fields: 1, top: 1, depth: 1 + inner.depth, deepest: inner.deepest}
			if sub.deepest == nil {
				sub.deepest = sel.Position
			}
			if sel.Alias != "" && sel.Alias != sel.Name {
				sub.aliases = 1
			}
			inner.top = 0
			sub.add(inner)
		case *ast.InlineFragment:
			sub = w.selectionSet(sel.SelectionSet)
		case *ast.FragmentSpread:
			sub = w.fragment(sel.Name, sel.Position)
		}
		s.add(sub)
		if sub.depth > s.depth {
			s.depth, s.deepest = sub.depth, sub.deepest
		}
	}
	return s
}

// fragment returns the shape of the fragment named name, spread at p; an
// unknown fragment counts nothing (validation reports it).
func (w *shapeWalker) fragment(name string, p *ast.Position) shape {
	if s, ok := w.memo[name]; ok {
		return s
	}
	f := w.frags[name]
	if f == nil {
		return shape{}
	}
	if w.active[name] {
		if w.cycle == nil {
			w.cycle = limitError(p, "Cannot spread fragment %q within itself.", name)
		}
		return shape{}
	}
	w.active[name] = true
	s := w.selectionSet(f.SelectionSet)
	delete(w.active, name)
	w.memo[name] = s
	return s
}
