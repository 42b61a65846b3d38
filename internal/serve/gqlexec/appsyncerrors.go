package gqlexec

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// AppSync validates documents with graphql-java and words its validation
// errors "Validation error of type <Type>: <description>[ @ '<path>']",
// the path being the fields from the root down to the one in error
// (createPost/owner), left out where there is no field (a variable's
// type). Clients and their users match these texts, so the validation
// errors of the rules below are worded as AppSync words them; gqlparser's
// text stays for the others.
//
// The wordings verified against AppSync answers quoted in public issues:
//
//	FieldUndefined: Field 'badfield' in type 'Query' is undefined @ 'badfield'
//	UnknownArgument: Unknown field argument owner @ 'onDeleteUser'
//	UnknownType: Unknown type AWSTimestamp
//	MissingFieldArgument: Missing field argument owner
//	SubSelectionRequired: Sub selection required for type Allocations of field endAllocations @ 'listInputs/items/assetAllocation/endAllocations'
//	WrongType: argument 'langFrom' with value 'EnumValue{name='NON_EXISTING_LANGUAGE'}' is not a valid 'Language' @ 'getTranslationRequest'
//	WrongType: argument 'input' with value 'ObjectValue{...}' is missing required fields '[test]' @ 'createUpdateTest'
//
// SubSelectionNotAllowed, WrongType's "must not be null" and "contains a
// field not in" follow graphql-java's wording.
var (
	reFieldUndefined   = regexp.MustCompile(`^Cannot query field "([^"]+)" on type "([^"]+)"\.`)
	reUnknownArgument  = regexp.MustCompile(`^Unknown argument "([^"]+)" on field "[^"]+"\.`)
	reUnknownType      = regexp.MustCompile(`^Unknown type "([^"]+)"\.`)
	reMissingArgument  = regexp.MustCompile(`^Field "[^"]+" argument "([^"]+)" of type "[^"]+" is required, but it was not provided\.`)
	reSubSelectionReq  = regexp.MustCompile(`^Field "([^"]+)" of type "([^"]+)" must have a selection of subfields\.`)
	reSubSelectionNot  = regexp.MustCompile(`^Field "([^"]+)" must not have a selection since type "([^"]+)" has no subfields\.`)
	reNullForNonNull   = regexp.MustCompile(`^Expected value of type "[^"]+", found null\.`)
	reMissingInput     = regexp.MustCompile(`^Field "[^"]+\.([^".]+)" of required type "[^"]+" was not provided\.`)
	reUnknownInputName = regexp.MustCompile(`^Field "([^"]+)" is not defined by type "([^"]+)"\.`)
)

// validationErrors converts gqlparser's validation errors of doc into
// AppSync's, keeping their locations. Repeated errors (gqlparser reports
// some twice) are sent once, and a literal object missing several required
// fields gets one error naming them all, as graphql-java reports it.
func validationErrors(doc *ast.QueryDocument, list gqlerror.List) []*appsync.Error {
	idx := indexDocument(doc)
	out := make([]*appsync.Error, 0, len(list))
	seen := map[string]bool{}
	missing := map[*ast.Value]*missingFields{}
	for _, ge := range list {
		ae := &appsync.Error{Message: ge.Message, ErrorType: appsync.ValidationError}
		for _, l := range ge.Locations {
			ae.Locations = append(ae.Locations, appsync.Location{Line: l.Line, Column: l.Column})
		}
		if msg, v, field := idx.appsyncMessage(ge); msg != "" {
			ae.Message = msg
			if field != "" {
				// A required input field: one error for the object, the
				// message built once all are known.
				if m := missing[v]; m != nil {
					m.fields = append(m.fields, field)
					continue
				}
				missing[v] = &missingFields{err: ae, fields: []string{field}}
			}
		}
		key := fmt.Sprint(ae.Message, ae.Locations)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, ae)
	}
	for v, m := range missing {
		s := idx.values[at(v.Position)]
		m.err.Message = fmt.Sprintf("Validation error of type WrongType: argument '%s' with value '%s' is missing required fields '[%s]'%s",
			s.arg, javaValue(v), strings.Join(m.fields, ", "), queryPath(s.path))
	}
	return out
}

// missingFields gathers the required fields a literal object lacks.
type missingFields struct {
	err    *appsync.Error
	fields []string
}

// appsyncMessage words ge as AppSync does, or returns "" when its rule has
// no AppSync counterpart here or the document does not hold the place it
// points at. For a missing required input field it also returns the
// object value and the field's name, for validationErrors to merge.
func (idx *docIndex) appsyncMessage(ge *gqlerror.Error) (msg string, obj *ast.Value, missingField string) {
	if len(ge.Locations) == 0 {
		return "", nil, ""
	}
	loc := [2]int{ge.Locations[0].Line, ge.Locations[0].Column}
	f, onField := idx.fields[loc]
	switch ge.Rule {
	case "FieldsOnCorrectType":
		if m := reFieldUndefined.FindStringSubmatch(ge.Message); m != nil && onField {
			return fmt.Sprintf("Validation error of type FieldUndefined: Field '%s' in type '%s' is undefined%s", m[1], m[2], queryPath(f.path)), nil, ""
		}
	case "KnownArgumentNames":
		if m := reUnknownArgument.FindStringSubmatch(ge.Message); m != nil && onField {
			return fmt.Sprintf("Validation error of type UnknownArgument: Unknown field argument %s%s", m[1], queryPath(f.path)), nil, ""
		}
	case "KnownTypeNames":
		if m := reUnknownType.FindStringSubmatch(ge.Message); m != nil {
			return fmt.Sprintf("Validation error of type UnknownType: Unknown type %s", m[1]), nil, ""
		}
	case "ProvidedRequiredArguments":
		if m := reMissingArgument.FindStringSubmatch(ge.Message); m != nil && onField {
			return fmt.Sprintf("Validation error of type MissingFieldArgument: Missing field argument %s%s", m[1], queryPath(f.path)), nil, ""
		}
	case "ScalarLeafs":
		if m := reSubSelectionReq.FindStringSubmatch(ge.Message); m != nil && onField {
			return fmt.Sprintf("Validation error of type SubSelectionRequired: Sub selection required for type %s of field %s%s", m[2], m[1], queryPath(f.path)), nil, ""
		}
		if m := reSubSelectionNot.FindStringSubmatch(ge.Message); m != nil && onField {
			typ := m[2]
			if f.field.Definition != nil {
				typ = f.field.Definition.Type.String()
			}
			return fmt.Sprintf("Validation error of type SubSelectionNotAllowed: Sub selection not allowed on leaf type %s of field %s%s", typ, m[1], queryPath(f.path)), nil, ""
		}
	case "ValuesOfCorrectType":
		return idx.wrongType(ge, loc)
	}
	return "", nil, ""
}

// wrongType words a ValuesOfCorrectType error as graphql-java's WrongType,
// naming the argument (input.title for a field of an input object) and
// the literal in graphql-java's form.
func (idx *docIndex) wrongType(ge *gqlerror.Error, loc [2]int) (string, *ast.Value, string) {
	if m := reUnknownInputName.FindStringSubmatch(ge.Message); m != nil {
		// Located at the unknown field's name inside the object.
		s, ok := idx.children[loc]
		if !ok {
			return "", nil, ""
		}
		if d := s.value.Definition; d != nil && d.Kind != ast.InputObject {
			// An object given for a scalar or enum: gqlparser
			// reports its fields, graphql-java the value.
			return fmt.Sprintf("Validation error of type WrongType: argument '%s' with value '%s' is not a valid '%s'%s",
				s.arg, javaValue(s.value), d.Name, queryPath(s.path)), nil, ""
		}
		return fmt.Sprintf("Validation error of type WrongType: argument '%s' with value '%s' contains a field not in '%s': '%s'%s",
			s.arg, javaValue(s.value), m[2], m[1], queryPath(s.path)), nil, ""
	}
	s, ok := idx.values[loc]
	if !ok {
		return "", nil, ""
	}
	prefix := fmt.Sprintf("Validation error of type WrongType: argument '%s' with value '%s'", s.arg, javaValue(s.value))
	switch {
	case reNullForNonNull.MatchString(ge.Message):
		return prefix + " must not be null" + queryPath(s.path), nil, ""
	case reMissingInput.MatchString(ge.Message):
		m := reMissingInput.FindStringSubmatch(ge.Message)
		return prefix, s.value, m[1]
	}
	typ := ""
	if s.value.Definition != nil {
		typ = s.value.Definition.Name
	} else if s.value.ExpectedType != nil {
		typ = s.value.ExpectedType.Name()
	}
	if typ == "" {
		return "", nil, ""
	}
	return fmt.Sprintf("%s is not a valid '%s'%s", prefix, typ, queryPath(s.path)), nil, ""
}

// queryPath is graphql-java's " @ 'a/b'" suffix, empty for no path.
func queryPath(p string) string {
	if p == "" {
		return ""
	}
	return " @ '" + p + "'"
}

// docIndex maps positions in a document to the fields and argument
// values there, with their paths.
type docIndex struct {
	fields map[[2]int]fieldSite
	values map[[2]int]valueSite
	// children maps the position of an input object's field name to the
	// object holding it.
	children map[[2]int]valueSite
}

type fieldSite struct {
	field *ast.Field
	path  string // response names from the root: createPost/owner
}

type valueSite struct {
	value *ast.Value
	arg   string // input, input.title
	path  string // the field the argument is of
}

func at(p *ast.Position) [2]int {
	if p == nil {
		return [2]int{}
	}
	return [2]int{p.Line, p.Column}
}

// indexDocument walks doc's operations and fragments (a fragment's paths
// start at the fragment).
func indexDocument(doc *ast.QueryDocument) *docIndex {
	idx := &docIndex{fields: map[[2]int]fieldSite{}, values: map[[2]int]valueSite{}, children: map[[2]int]valueSite{}}
	if doc == nil {
		return idx
	}
	for _, op := range doc.Operations {
		idx.selections(op.SelectionSet, "")
	}
	for _, f := range doc.Fragments {
		idx.selections(f.SelectionSet, "")
	}
	return idx
}

func (idx *docIndex) selections(ss ast.SelectionSet, parent string) {
	for _, sel := range ss {
		switch s := sel.(type) {
		case *ast.Field:
			name := s.Alias
			if name == "" {
				name = s.Name
			}
			path := name
			if parent != "" {
				path = parent + "/" + name
			}
			idx.fields[at(s.Position)] = fieldSite{field: s, path: path}
			for _, a := range s.Arguments {
				idx.value(a.Value, a.Name, path)
			}
			idx.selections(s.SelectionSet, path)
		case *ast.InlineFragment:
			idx.selections(s.SelectionSet, parent)
		}
	}
}

func (idx *docIndex) value(v *ast.Value, arg, path string) {
	if v == nil {
		return
	}
	idx.values[at(v.Position)] = valueSite{value: v, arg: arg, path: path}
	switch v.Kind {
	case ast.ObjectValue:
		for _, ch := range v.Children {
			idx.children[at(ch.Position)] = valueSite{value: v, arg: arg, path: path}
			idx.value(ch.Value, arg+"."+ch.Name, path)
		}
	case ast.ListValue:
		for _, ch := range v.Children {
			idx.value(ch.Value, arg, path)
		}
	}
}

// javaValue prints a literal as graphql-java's AST toString does, which
// AppSync's WrongType messages quote.
func javaValue(v *ast.Value) string {
	if v == nil {
		return "null"
	}
	switch v.Kind {
	case ast.Variable:
		return "VariableReference{name='" + v.Raw + "'}"
	case ast.IntValue:
		return "IntValue{value=" + v.Raw + "}"
	case ast.FloatValue:
		return "FloatValue{value=" + v.Raw + "}"
	case ast.StringValue, ast.BlockValue:
		return "StringValue{value='" + v.Raw + "'}"
	case ast.BooleanValue:
		return "BooleanValue{value=" + v.Raw + "}"
	case ast.NullValue:
		return "NullValue{}"
	case ast.EnumValue:
		return "EnumValue{name='" + v.Raw + "'}"
	case ast.ListValue:
		parts := make([]string, len(v.Children))
		for i, ch := range v.Children {
			parts[i] = javaValue(ch.Value)
		}
		return "ArrayValue{values=[" + strings.Join(parts, ", ") + "]}"
	case ast.ObjectValue:
		parts := make([]string, len(v.Children))
		for i, ch := range v.Children {
			parts[i] = "ObjectField{name='" + ch.Name + "', value=" + javaValue(ch.Value) + "}"
		}
		return "ObjectValue{objectFields=[" + strings.Join(parts, ", ") + "]}"
	}
	return v.Raw
}
