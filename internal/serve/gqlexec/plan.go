package gqlexec

import (
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
)

// A document the executor has validated is kept (docCache) with a plan per
// operation: the field groups of its root selection set, collected once,
// whose sub-selection groups are collected once as well (fieldGroup.sub).
// A repeated request (the same createPost from every client) then walks no
// selection set and allocates no groups.
//
// Groups are shared by concurrent executions only in a static document:
// one with no @skip or @include anywhere, whose collection depends on
// nothing but the document and the schema. Anything an execution computes
// from its variables (arguments) is kept by the execution (execution.args).

// cachedDoc is a validated document and its plans, by operation.
type cachedDoc struct {
	doc    *ast.QueryDocument
	static bool      // no @skip or @include: the plans can be shared
	plans  []*opPlan // one per doc.Operations entry; nil when not static
}

func newCachedDoc(doc *ast.QueryDocument) *cachedDoc {
	c := &cachedDoc{doc: doc, static: staticDoc(doc)}
	if c.static {
		c.plans = make([]*opPlan, len(doc.Operations))
		for i := range c.plans {
			c.plans[i] = &opPlan{}
		}
	}
	return c
}

// plan returns the plan of def, nil when groups are not to be shared.
func (c *cachedDoc) plan(def *ast.OperationDefinition) *opPlan {
	for i, d := range c.doc.Operations {
		if d == def && c.plans != nil {
			return c.plans[i]
		}
	}
	return nil
}

// opPlan is the root field groups of one operation, collected once.
type opPlan struct {
	once   sync.Once
	groups []*fieldGroup
}

// rootGroups returns the groups of op's root selection set over root: the
// plan's when op has one, else collected for this execution.
func (x *execution) rootGroups(root *ast.Definition) []*fieldGroup {
	p := x.op.plan
	if p == nil {
		return x.collect(root, x.op.Def.SelectionSet)
	}
	p.once.Do(func() { p.groups = x.collect(root, x.op.Def.SelectionSet) })
	return p.groups
}

// staticDoc reports whether doc has no @skip and no @include, the only
// directives whose effect on collection depends on variables.
func staticDoc(doc *ast.QueryDocument) bool {
	for _, op := range doc.Operations {
		if !staticSet(op.SelectionSet) {
			return false
		}
	}
	for _, f := range doc.Fragments {
		if !staticSet(f.SelectionSet) {
			return false
		}
	}
	return true
}

func staticSet(ss ast.SelectionSet) bool {
	for _, s := range ss {
		switch s := s.(type) {
		case *ast.Field:
			if !staticDirectives(s.Directives) || !staticSet(s.SelectionSet) {
				return false
			}
		case *ast.InlineFragment:
			if !staticDirectives(s.Directives) || !staticSet(s.SelectionSet) {
				return false
			}
		case *ast.FragmentSpread:
			if !staticDirectives(s.Directives) {
				return false
			}
		}
	}
	return true
}

func staticDirectives(ds ast.DirectiveList) bool {
	for _, d := range ds {
		if d.Name == "skip" || d.Name == "include" {
			return false
		}
	}
	return true
}

// subEntry is one concrete type's groups of a field group's sub-selection,
// in an immutable list (one entry but for abstract types).
type subEntry struct {
	typ    string
	groups []*fieldGroup
	next   *subEntry
}

// argEntry is a field group's coerced arguments in one execution.
type argEntry struct {
	g    *fieldGroup
	vals map[string]any
	err  error
}
