package gqlexec

import (
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// TestValidationErrorsInAppSyncWords: each gqlparser rule with an AppSync
// (graphql-java) counterpart answers in AppSync's words, with the path of
// the field in error and the location gqlparser gives.
func TestValidationErrorsInAppSyncWords(t *testing.T) {
	e := New(testSchema(t), Options{})
	for _, tc := range []struct {
		name, doc, want string
		line, col       int
	}{
		{"FieldUndefined at the root", `{ listBlogs { id } }`,
			"Validation error of type FieldUndefined: Field 'listBlogs' in type 'Query' is undefined @ 'listBlogs'", 1, 3},
		{"FieldUndefined nested", "query {\n  getBlog(id: \"b\") { posts { items { nope } } }\n}",
			"Validation error of type FieldUndefined: Field 'nope' in type 'Post' is undefined @ 'getBlog/posts/items/nope'", 2, 38},
		{"FieldUndefined under an alias", `{ b: getBlog(id: "b") { owner } }`,
			"Validation error of type FieldUndefined: Field 'owner' in type 'Blog' is undefined @ 'b/owner'", 1, 25},
		{"FieldUndefined in a mutation", `mutation { createPost(input: {title: "t"}) { id owner } }`,
			"Validation error of type FieldUndefined: Field 'owner' in type 'Post' is undefined @ 'createPost/owner'", 1, 49},
		{"UnknownArgument", `subscription { onDeletePost(owner: "x") { id } }`,
			"Validation error of type UnknownArgument: Unknown field argument owner @ 'onDeletePost'", 1, 16},
		{"UnknownType", `query ($t: AWSTimestampX) { value }`,
			"Validation error of type UnknownType: Unknown type AWSTimestampX", 1, 8},
		{"MissingFieldArgument", `{ getPost { id } }`,
			"Validation error of type MissingFieldArgument: Missing field argument id @ 'getPost'", 1, 3},
		{"SubSelectionRequired", `{ getPost(id: "p") { blog } }`,
			"Validation error of type SubSelectionRequired: Sub selection required for type Blog of field blog @ 'getPost/blog'", 1, 22},
		{"SubSelectionNotAllowed", `{ getPost(id: "p") { title { x } } }`,
			"Validation error of type SubSelectionNotAllowed: Sub selection not allowed on leaf type String! of field title @ 'getPost/title'", 1, 22},
		{"WrongType enum", `{ getBlog(id: "b") { posts(status: GONE) { nextToken } } }`,
			"Validation error of type WrongType: argument 'status' with value 'EnumValue{name='GONE'}' is not a valid 'Status' @ 'getBlog/posts'", 1, 36},
		{"WrongType nested input field", `mutation { createPost(input: {title: 5}) { id } }`,
			"Validation error of type WrongType: argument 'input.title' with value 'IntValue{value=5}' is not a valid 'String' @ 'createPost'", 1, 38},
		{"WrongType null for non-null", `{ getPost(id: null) { id } }`,
			"Validation error of type WrongType: argument 'id' with value 'NullValue{}' must not be null @ 'getPost'", 1, 15},
		{"WrongType missing required input fields", `mutation { createPost(input: {views: 1}) { id } }`,
			"Validation error of type WrongType: argument 'input' with value 'ObjectValue{objectFields=[ObjectField{name='views', value=IntValue{value=1}}]}' is missing required fields '[title]' @ 'createPost'", 1, 30},
		{"WrongType unknown input field", `mutation { createPost(input: {title: "t", nope: true}) { id } }`,
			"Validation error of type WrongType: argument 'input' with value 'ObjectValue{objectFields=[ObjectField{name='title', value=StringValue{value='t'}}, ObjectField{name='nope', value=BooleanValue{value=true}}]}' contains a field not in 'PostInput': 'nope' @ 'createPost'", 1, 43},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Some documents break other rules too (an unused
			// variable, a field of a leaf): the one in question must
			// be among the errors.
			_, errs := e.Prepare(appsync.Request{Query: tc.doc})
			var got *appsync.Error
			for _, ae := range errs {
				if ae.Message == tc.want {
					got = ae
				}
			}
			if got == nil || got.ErrorType != appsync.ValidationError {
				t.Fatalf("errors %v\nwant a ValidationError: %q", errs, tc.want)
			}
			if len(got.Locations) != 1 || got.Locations[0].Line != tc.line || got.Locations[0].Column != tc.col {
				t.Errorf("locations %v, want %d:%d", got.Locations, tc.line, tc.col)
			}
		})
	}
}

// TestValidationErrorsKeepOtherRules: a rule without an AppSync wording
// here keeps gqlparser's text.
func TestValidationErrorsKeepOtherRules(t *testing.T) {
	e := New(testSchema(t), Options{})
	_, errs := e.Prepare(appsync.Request{Query: `query ($n: Int) { value }`})
	if len(errs) != 1 || errs[0].Message != `Variable "$n" is never used.` {
		t.Errorf("unused variable: %v", errs)
	}
}
