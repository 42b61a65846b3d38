package gqlexec

import (
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Introspection is answered from the ast.Schema. Its objects are small
// values that compute each field when the selection asks for it, since the
// type graph is cyclic and cannot be materialised up front.

// introObject is a value of one of the __ introspection types.
type introObject interface {
	typeName() string
	field(e *Executor, name string, args map[string]any) (any, error)
}

type (
	introSchema struct{}
	// introType is a named type (def) or a list / non-null wrapper (wrap).
	introType struct {
		def  *ast.Definition
		wrap *ast.Type
	}
	introField     struct{ f *ast.FieldDefinition }
	introEnumValue struct{ v *ast.EnumValueDefinition }
	introDirective struct{ d *ast.DirectiveDefinition }
	introInput     struct {
		name, description string
		typ               *ast.Type
		defaultValue      *ast.Value
		directives        ast.DirectiveList
	}
)

func (introSchema) typeName() string    { return "__Schema" }
func (introType) typeName() string      { return "__Type" }
func (introField) typeName() string     { return "__Field" }
func (introEnumValue) typeName() string { return "__EnumValue" }
func (introDirective) typeName() string { return "__Directive" }
func (introInput) typeName() string     { return "__InputValue" }

// typeRef returns the introspection value of a type reference.
func typeRef(e *Executor, t *ast.Type) any {
	if t.NonNull || t.Elem != nil {
		return introType{wrap: t}
	}
	if d := e.schema.Types[t.NamedType]; d != nil {
		return introType{def: d}
	}
	return nil
}

// namedType returns the introspection value of a named type, or nil.
func namedType(e *Executor, d *ast.Definition) any {
	if d == nil {
		return nil
	}
	return introType{def: d}
}

func (introSchema) field(e *Executor, name string, _ map[string]any) (any, error) {
	switch name {
	case "description":
		return optString(e.schema.Description), nil
	case "types":
		out := make([]any, len(e.types))
		for i, d := range e.types {
			out[i] = introType{def: d}
		}
		return out, nil
	case "queryType":
		return namedType(e, e.schema.Query), nil
	case "mutationType":
		return namedType(e, e.schema.Mutation), nil
	case "subscriptionType":
		return namedType(e, e.schema.Subscription), nil
	case "directives":
		out := make([]any, len(e.directives))
		for i, d := range e.directives {
			out[i] = introDirective{d}
		}
		return out, nil
	}
	return nil, nil
}

func (t introType) field(e *Executor, name string, args map[string]any) (any, error) {
	if t.wrap != nil {
		switch name {
		case "kind":
			if t.wrap.NonNull {
				return "NON_NULL", nil
			}
			return "LIST", nil
		case "ofType":
			if t.wrap.NonNull {
				inner := *t.wrap
				inner.NonNull = false
				return typeRef(e, &inner), nil
			}
			return typeRef(e, t.wrap.Elem), nil
		}
		return nil, nil
	}
	d := t.def
	includeDeprecated, _ := args["includeDeprecated"].(bool)
	switch name {
	case "kind":
		return string(d.Kind), nil
	case "name":
		return d.Name, nil
	case "description":
		return optString(d.Description), nil
	case "specifiedByURL":
		if d.Kind != ast.Scalar {
			return nil, nil
		}
		if sb := d.Directives.ForName("specifiedBy"); sb != nil {
			if a := sb.Arguments.ForName("url"); a != nil && a.Value != nil {
				return a.Value.Raw, nil
			}
		}
		return nil, nil
	case "fields":
		if d.Kind != ast.Object && d.Kind != ast.Interface {
			return nil, nil
		}
		out := make([]any, 0, len(d.Fields))
		for _, f := range d.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue // __schema and __type are implicit, not listed
			}
			if dep, _ := deprecation(f.Directives); dep && !includeDeprecated {
				continue
			}
			out = append(out, introField{f})
		}
		return out, nil
	case "interfaces":
		if d.Kind != ast.Object && d.Kind != ast.Interface {
			return nil, nil
		}
		out := make([]any, 0, len(d.Interfaces))
		for _, n := range d.Interfaces {
			if it := e.schema.Types[n]; it != nil {
				out = append(out, introType{def: it})
			}
		}
		return out, nil
	case "possibleTypes":
		switch d.Kind {
		case ast.Union:
			out := make([]any, 0, len(d.Types))
			for _, n := range d.Types {
				if pt := e.schema.Types[n]; pt != nil {
					out = append(out, introType{def: pt})
				}
			}
			return out, nil
		case ast.Interface:
			pts := e.schema.PossibleTypes[d.Name]
			out := make([]any, 0, len(pts))
			for _, pt := range pts {
				out = append(out, introType{def: pt})
			}
			return out, nil
		}
		return nil, nil
	case "enumValues":
		if d.Kind != ast.Enum {
			return nil, nil
		}
		out := make([]any, 0, len(d.EnumValues))
		for _, v := range d.EnumValues {
			if dep, _ := deprecation(v.Directives); dep && !includeDeprecated {
				continue
			}
			out = append(out, introEnumValue{v})
		}
		return out, nil
	case "inputFields":
		if d.Kind != ast.InputObject {
			return nil, nil
		}
		out := make([]any, 0, len(d.Fields))
		for _, f := range d.Fields {
			if dep, _ := deprecation(f.Directives); dep && !includeDeprecated {
				continue
			}
			out = append(out, introInput{f.Name, f.Description, f.Type, f.DefaultValue, f.Directives})
		}
		return out, nil
	case "ofType":
		return nil, nil
	case "isOneOf":
		if d.Kind != ast.InputObject {
			return nil, nil
		}
		return d.Directives.ForName("oneOf") != nil, nil
	}
	return nil, nil
}

func (f introField) field(e *Executor, name string, args map[string]any) (any, error) {
	switch name {
	case "name":
		return f.f.Name, nil
	case "description":
		return optString(f.f.Description), nil
	case "args":
		includeDeprecated, _ := args["includeDeprecated"].(bool)
		return inputValues(f.f.Arguments, includeDeprecated), nil
	case "type":
		return typeRef(e, f.f.Type), nil
	case "isDeprecated":
		dep, _ := deprecation(f.f.Directives)
		return dep, nil
	case "deprecationReason":
		_, reason := deprecation(f.f.Directives)
		return reason, nil
	}
	return nil, nil
}

func (v introInput) field(e *Executor, name string, _ map[string]any) (any, error) {
	switch name {
	case "name":
		return v.name, nil
	case "description":
		return optString(v.description), nil
	case "type":
		return typeRef(e, v.typ), nil
	case "defaultValue":
		if v.defaultValue == nil {
			return nil, nil
		}
		return v.defaultValue.String(), nil
	case "isDeprecated":
		dep, _ := deprecation(v.directives)
		return dep, nil
	case "deprecationReason":
		_, reason := deprecation(v.directives)
		return reason, nil
	}
	return nil, nil
}

func (v introEnumValue) field(_ *Executor, name string, _ map[string]any) (any, error) {
	switch name {
	case "name":
		return v.v.Name, nil
	case "description":
		return optString(v.v.Description), nil
	case "isDeprecated":
		dep, _ := deprecation(v.v.Directives)
		return dep, nil
	case "deprecationReason":
		_, reason := deprecation(v.v.Directives)
		return reason, nil
	}
	return nil, nil
}

func (d introDirective) field(_ *Executor, name string, args map[string]any) (any, error) {
	switch name {
	case "name":
		return d.d.Name, nil
	case "description":
		return optString(d.d.Description), nil
	case "isRepeatable":
		return d.d.IsRepeatable, nil
	case "locations":
		out := make([]any, len(d.d.Locations))
		for i, l := range d.d.Locations {
			out[i] = string(l)
		}
		return out, nil
	case "args":
		includeDeprecated, _ := args["includeDeprecated"].(bool)
		return inputValues(d.d.Arguments, includeDeprecated), nil
	}
	return nil, nil
}

// inputValues lists argument definitions as __InputValue values.
func inputValues(defs ast.ArgumentDefinitionList, includeDeprecated bool) []any {
	out := make([]any, 0, len(defs))
	for _, a := range defs {
		if dep, _ := deprecation(a.Directives); dep && !includeDeprecated {
			continue
		}
		out = append(out, introInput{a.Name, a.Description, a.Type, a.DefaultValue, a.Directives})
	}
	return out
}

// deprecation reads @deprecated: whether it is present, and its reason
// (the directive's default reason when none is given), or nil.
func deprecation(ds ast.DirectiveList) (bool, any) {
	d := ds.ForName("deprecated")
	if d == nil {
		return false, nil
	}
	if a := d.Arguments.ForName("reason"); a != nil && a.Value != nil && a.Value.Kind != ast.NullValue {
		return true, a.Value.Raw
	}
	return true, "No longer supported"
}

// optString returns s, or nil when it is empty (an absent description).
func optString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
