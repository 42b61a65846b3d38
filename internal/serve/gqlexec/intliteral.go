package gqlexec

import (
	"fmt"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// checkIntLiterals refuses Int literals that are fractions, integers
// written as floats, or beyond Int's 32-bit range, naming the argument
// (input.views) and field, in AppSync's words (graphql-java's WrongType
// validation error) followed by the reason; variable defaults are named
// as wholeInts names variables. It runs before gqlparser's rules, whose message for these
// ("Int cannot represent non-integer value: 1e20") is wrong about 1e20 and
// names no place. Parts of the document the schema does not know are
// skipped: validation reports them.
func (e *Executor) checkIntLiterals(doc *ast.QueryDocument) []*appsync.Error {
	c := intLiteralCheck{schema: e.schema}
	for _, op := range doc.Operations {
		for _, vd := range op.VariableDefinitions {
			c.value(vd.Type, vd.DefaultValue, "variable $"+vd.Variable+" default", "")
		}
		c.directives(op.Directives)
		c.selections(e.rootDef(op.Operation), op.SelectionSet, "")
	}
	for _, f := range doc.Fragments {
		c.directives(f.Directives)
		c.selections(e.schema.Types[f.TypeCondition], f.SelectionSet, "")
	}
	return c.errs
}

// rootDef returns the root type of an operation kind, or nil.
func (e *Executor) rootDef(kind ast.Operation) *ast.Definition {
	switch kind {
	case ast.Query:
		return e.schema.Query
	case ast.Mutation:
		return e.schema.Mutation
	case ast.Subscription:
		return e.schema.Subscription
	}
	return nil
}

// intLiteralCheck collects the errors of checkIntLiterals.
type intLiteralCheck struct {
	schema *ast.Schema
	errs   []*appsync.Error
}

// selections checks the arguments of the fields in ss; at is the path of
// response names down to them (createPost/items), as AppSync names a field.
func (c *intLiteralCheck) selections(parent *ast.Definition, ss ast.SelectionSet, at string) {
	for _, sel := range ss {
		switch s := sel.(type) {
		case *ast.Field:
			c.directives(s.Directives)
			if parent == nil {
				continue
			}
			def := parent.Fields.ForName(s.Name)
			if def == nil {
				continue
			}
			path := s.Alias
			if path == "" {
				path = s.Name
			}
			if at != "" {
				path = at + "/" + path
			}
			for _, a := range s.Arguments {
				if d := def.Arguments.ForName(a.Name); d != nil {
					c.value(d.Type, a.Value, a.Name, path)
				}
			}
			c.selections(c.schema.Types[def.Type.Name()], s.SelectionSet, path)
		case *ast.InlineFragment:
			c.directives(s.Directives)
			next := parent
			if s.TypeCondition != "" {
				next = c.schema.Types[s.TypeCondition]
			}
			c.selections(next, s.SelectionSet, at)
		case *ast.FragmentSpread:
			c.directives(s.Directives) // the fragment itself is checked once, on its own
		}
	}
}

func (c *intLiteralCheck) directives(ds ast.DirectiveList) {
	for _, d := range ds {
		def := c.schema.Directives[d.Name]
		if def == nil {
			continue
		}
		for _, a := range d.Arguments {
			if ad := def.Arguments.ForName(a.Name); ad != nil {
				c.value(ad.Type, a.Value, a.Name, "@"+d.Name)
			}
		}
	}
}

// value checks the literal val given for typ; where names it (input.views)
// and at the field or directive it is an argument of (createPost), or, for
// a variable default, at is empty and where names the variable.
func (c *intLiteralCheck) value(typ *ast.Type, val *ast.Value, where, at string) {
	if val == nil || typ == nil {
		return
	}
	if typ.Elem != nil {
		if val.Kind != ast.ListValue {
			c.value(typ.Elem, val, where, at) // a single value for a list
			return
		}
		for i, ch := range val.Children {
			c.value(typ.Elem, ch.Value, fmt.Sprintf("%s[%d]", where, i), at)
		}
		return
	}
	def := c.schema.Types[typ.NamedType]
	switch {
	case def == nil:
	case def.Kind == ast.InputObject && val.Kind == ast.ObjectValue:
		for _, ch := range val.Children {
			if f := def.Fields.ForName(ch.Name); f != nil {
				c.value(f.Type, ch.Value, where+"."+ch.Name, at)
			}
		}
	case def.Kind == ast.Scalar && def.Name == "Int" && (val.Kind == ast.IntValue || val.Kind == ast.FloatValue):
		if err := intLiteral(val); err != nil {
			ae := appsync.Errorf(appsync.ValidationError, "%s: %v", where, err)
			if at != "" {
				kind := "IntValue"
				if val.Kind == ast.FloatValue {
					kind = "FloatValue"
				}
				ae = appsync.Errorf(appsync.ValidationError, "Validation error of type WrongType: argument '%s' with value '%s{value=%s}' is not a valid 'Int' @ '%s': %v",
					where, kind, val.Raw, at, err)
			}
			ae.Locations = locations(val.Position)
			c.errs = append(c.errs, ae)
		}
	}
}

// intLiteral says what is wrong with an Int literal, or returns nil. The
// spec takes only IntValue literals for Int; a float-written whole number
// (2.0, 1e3) is refused too, but as such, not as a non-integer.
func intLiteral(val *ast.Value) error {
	if val.Kind == ast.IntValue {
		if _, err := strconv.ParseInt(val.Raw, 10, 32); err == nil {
			return nil
		}
	}
	if _, err := intFromNumber(val.Raw); err != nil {
		return err
	}
	if val.Kind == ast.FloatValue {
		return fmt.Errorf("%s is written as a Float; an Int literal has no fraction or exponent", val.Raw)
	}
	return nil
}
