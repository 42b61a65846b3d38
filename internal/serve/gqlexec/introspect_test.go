package gqlexec

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// introspectionQuery is graphql-js's getIntrospectionQuery() with its
// default options, the query GraphiQL, codegen tools and
// buildClientSchema users send.
const introspectionQuery = `
    query IntrospectionQuery {
      __schema {
        queryType { name }
        mutationType { name }
        subscriptionType { name }
        types {
          ...FullType
        }
        directives {
          name
          description
          locations
          args {
            ...InputValue
          }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      fields(includeDeprecated: true) {
        name
        description
        args {
          ...InputValue
        }
        type {
          ...TypeRef
        }
        isDeprecated
        deprecationReason
      }
      inputFields {
        ...InputValue
      }
      interfaces {
        ...TypeRef
      }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes {
        ...TypeRef
      }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType {
                kind
                name
                ofType {
                  kind
                  name
                  ofType {
                    kind
                    name
                  }
                }
              }
            }
          }
        }
      }
    }
`

// introspectionQueryAllOptions is the same query with every option of
// getIntrospectionQuery turned on (descriptions, specifiedByURL,
// isRepeatable, schema description, input value deprecation, isOneOf).
const introspectionQueryAllOptions = `
query IntrospectionQuery {
  __schema {
    description
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives {
      name
      description
      isRepeatable
      locations
      args(includeDeprecated: true) { ...InputValue }
    }
  }
}
fragment FullType on __Type {
  kind
  name
  description
  specifiedByURL
  isOneOf
  fields(includeDeprecated: true) {
    name
    description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
  isDeprecated
  deprecationReason
}
fragment TypeRef on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}
`

// Typed mirror of the introspection result, as a client decodes it.
type (
	ixTypeRef struct {
		Kind   string     `json:"kind"`
		Name   *string    `json:"name"`
		OfType *ixTypeRef `json:"ofType"`
	}
	ixInput struct {
		Name              string    `json:"name"`
		Description       *string   `json:"description"`
		Type              ixTypeRef `json:"type"`
		DefaultValue      *string   `json:"defaultValue"`
		IsDeprecated      *bool     `json:"isDeprecated"`
		DeprecationReason *string   `json:"deprecationReason"`
	}
	ixField struct {
		Name              string    `json:"name"`
		Description       *string   `json:"description"`
		Args              []ixInput `json:"args"`
		Type              ixTypeRef `json:"type"`
		IsDeprecated      bool      `json:"isDeprecated"`
		DeprecationReason *string   `json:"deprecationReason"`
	}
	ixEnumValue struct {
		Name              string  `json:"name"`
		IsDeprecated      bool    `json:"isDeprecated"`
		DeprecationReason *string `json:"deprecationReason"`
	}
	ixType struct {
		Kind           string        `json:"kind"`
		Name           string        `json:"name"`
		Description    *string       `json:"description"`
		SpecifiedByURL *string       `json:"specifiedByURL"`
		IsOneOf        *bool         `json:"isOneOf"`
		Fields         []ixField     `json:"fields"`
		InputFields    []ixInput     `json:"inputFields"`
		Interfaces     []ixTypeRef   `json:"interfaces"`
		EnumValues     []ixEnumValue `json:"enumValues"`
		PossibleTypes  []ixTypeRef   `json:"possibleTypes"`
	}
	ixDirective struct {
		Name      string    `json:"name"`
		Locations []string  `json:"locations"`
		Args      []ixInput `json:"args"`
	}
	ixSchema struct {
		QueryType        *struct{ Name string } `json:"queryType"`
		MutationType     *struct{ Name string } `json:"mutationType"`
		SubscriptionType *struct{ Name string } `json:"subscriptionType"`
		Types            []ixType               `json:"types"`
		Directives       []ixDirective          `json:"directives"`
	}
)

func (s *ixSchema) typ(t *testing.T, name string) ixType {
	t.Helper()
	for _, ty := range s.Types {
		if ty.Name == name {
			return ty
		}
	}
	t.Fatalf("type %s not in the introspection result", name)
	return ixType{}
}

func field(t *testing.T, ty ixType, name string) ixField {
	t.Helper()
	for _, f := range ty.Fields {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("field %s.%s not in the introspection result", ty.Name, name)
	return ixField{}
}

// sig prints a type reference as SDL: [String!]!
func (r ixTypeRef) sig() string {
	switch r.Kind {
	case "NON_NULL":
		return r.OfType.sig() + "!"
	case "LIST":
		return "[" + r.OfType.sig() + "]"
	}
	return *r.Name
}

func TestIntrospectionQuery(t *testing.T) {
	e := New(testSchema(t), Options{})
	for name, query := range map[string]string{"default": introspectionQuery, "all options": introspectionQueryAllOptions} {
		t.Run(name, func(t *testing.T) {
			resp := run(t, e, newTestResolver(), query, nil)
			wantNoErrors(t, resp)
			var out struct {
				Schema ixSchema `json:"__schema"`
			}
			if err := json.Unmarshal(resp.Data, &out); err != nil {
				t.Fatalf("decode: %v\n%s", err, resp.Data)
			}
			s := &out.Schema
			checkIntrospection(t, s, name == "all options")

			// Round trip: re-encoding the decoded result and decoding it
			// again loses nothing, and the raw data holds no Go artefacts.
			var generic any
			if err := json.Unmarshal(resp.Data, &generic); err != nil {
				t.Fatal(err)
			}
			again, err := json.Marshal(generic)
			if err != nil {
				t.Fatal(err)
			}
			var generic2 any
			if err := json.Unmarshal(again, &generic2); err != nil || !reflect.DeepEqual(generic, generic2) {
				t.Errorf("introspection result does not round-trip through JSON (%v)", err)
			}
		})
	}
}

func checkIntrospection(t *testing.T, s *ixSchema, allOptions bool) {
	if s.QueryType == nil || s.QueryType.Name != "Query" || s.MutationType.Name != "Mutation" || s.SubscriptionType.Name != "Subscription" {
		t.Errorf("root types = %+v %+v %+v", s.QueryType, s.MutationType, s.SubscriptionType)
	}
	// Every named type a reference mentions is in the types list.
	known := map[string]bool{}
	for _, ty := range s.Types {
		known[ty.Name] = true
	}
	var checkRef func(where string, r ixTypeRef)
	checkRef = func(where string, r ixTypeRef) {
		for r.OfType != nil {
			r = *r.OfType
		}
		if r.Name == nil || !known[*r.Name] {
			t.Errorf("%s refers to a type not listed: %+v", where, r)
		}
	}
	for _, ty := range s.Types {
		for _, f := range ty.Fields {
			checkRef(ty.Name+"."+f.Name, f.Type)
			for _, a := range f.Args {
				checkRef(ty.Name+"."+f.Name+"("+a.Name+")", a.Type)
			}
		}
		for _, f := range ty.InputFields {
			checkRef(ty.Name+"."+f.Name, f.Type)
		}
		for _, r := range append(slices.Clone(ty.Interfaces), ty.PossibleTypes...) {
			checkRef(ty.Name, r)
		}
	}
	for _, name := range []string{"String", "Boolean", "AWSDateTime", "__Schema", "__Type", "__TypeKind", "SearchResult"} {
		if !known[name] {
			t.Errorf("type %s missing", name)
		}
	}

	query := s.typ(t, "Query")
	if query.Kind != "OBJECT" || query.Interfaces == nil || query.InputFields != nil || query.EnumValues != nil {
		t.Errorf("Query: kind %s, interfaces %v, inputFields %v", query.Kind, query.Interfaces, query.InputFields)
	}
	for _, f := range query.Fields {
		if f.Name == "__schema" || f.Name == "__type" {
			t.Errorf("Query lists the implicit field %s", f.Name)
		}
	}
	echo := field(t, query, "echo")
	var sigs []string
	for _, a := range echo.Args {
		sigs = append(sigs, a.Name+": "+a.Type.sig())
	}
	if want := []string{"input: PostInput", "n: Int", "f: Float", "ids: [ID!]"}; !slices.Equal(sigs, want) {
		t.Errorf("echo args = %v, want %v", sigs, want)
	}

	post := s.typ(t, "Post")
	if post.Description == nil || *post.Description != "A blog post." {
		t.Errorf("Post description = %v", post.Description)
	}
	if len(post.Interfaces) != 1 || *post.Interfaces[0].Name != "Node" {
		t.Errorf("Post interfaces = %+v", post.Interfaces)
	}
	if got := field(t, post, "tags").Type.sig(); got != "[String!]" {
		t.Errorf("Post.tags type = %s", got)
	}
	if got := field(t, post, "_lastChangedAt").Type.sig(); got != "AWSTimestamp!" {
		t.Errorf("Post._lastChangedAt type = %s", got)
	}
	legacy := field(t, post, "legacy")
	if !legacy.IsDeprecated || legacy.DeprecationReason == nil || *legacy.DeprecationReason != "No longer supported" {
		t.Errorf("Post.legacy deprecation = %v %v", legacy.IsDeprecated, legacy.DeprecationReason)
	}
	if field(t, post, "title").IsDeprecated {
		t.Error("Post.title is marked deprecated")
	}
	posts := field(t, s.typ(t, "Blog"), "posts")
	if len(posts.Args) != 2 || posts.Args[0].DefaultValue == nil || *posts.Args[0].DefaultValue != "10" || posts.Args[1].DefaultValue != nil {
		t.Errorf("Blog.posts args = %+v", posts.Args)
	}

	status := s.typ(t, "Status")
	if status.Kind != "ENUM" || len(status.EnumValues) != 3 || status.Fields != nil {
		t.Fatalf("Status = %+v", status)
	}
	if old := status.EnumValues[2]; old.Name != "OLD" || !old.IsDeprecated || *old.DeprecationReason != "use DRAFT" {
		t.Errorf("Status.OLD = %+v", old)
	}

	input := s.typ(t, "PostInput")
	if input.Kind != "INPUT_OBJECT" || input.Fields != nil {
		t.Errorf("PostInput kind %s fields %v", input.Kind, input.Fields)
	}
	defaults := map[string]string{}
	for _, f := range input.InputFields {
		if f.DefaultValue != nil {
			defaults[f.Name] = *f.DefaultValue
		}
	}
	if want := map[string]string{"views": "0", "status": "DRAFT"}; !reflect.DeepEqual(defaults, want) {
		t.Errorf("PostInput defaults = %v, want %v", defaults, want)
	}
	// Without includeDeprecated the deprecated input field is hidden.
	wantInputs := 6
	if allOptions {
		wantInputs = 7
	}
	if len(input.InputFields) != wantInputs {
		t.Errorf("PostInput has %d input fields, want %d", len(input.InputFields), wantInputs)
	}

	var nodeTypes, unionTypes []string
	for _, r := range s.typ(t, "Node").PossibleTypes {
		nodeTypes = append(nodeTypes, *r.Name)
	}
	for _, r := range s.typ(t, "SearchResult").PossibleTypes {
		unionTypes = append(unionTypes, *r.Name)
	}
	slices.Sort(nodeTypes)
	if !slices.Equal(nodeTypes, []string{"Blog", "Post"}) || !slices.Equal(unionTypes, []string{"Blog", "Post"}) {
		t.Errorf("possible types: Node %v, SearchResult %v", nodeTypes, unionTypes)
	}

	var skip *ixDirective
	for i := range s.Directives {
		if s.Directives[i].Name == "skip" {
			skip = &s.Directives[i]
		}
	}
	if skip == nil || len(skip.Args) != 1 || skip.Args[0].Type.sig() != "Boolean!" || !slices.Contains(skip.Locations, "FIELD") {
		t.Errorf("@skip = %+v", skip)
	}

	if allOptions {
		ts := s.typ(t, "AWSTimestamp")
		if ts.SpecifiedByURL == nil || *ts.SpecifiedByURL == "" {
			t.Error("AWSTimestamp lost its specifiedByURL")
		}
		if input.IsOneOf == nil || *input.IsOneOf {
			t.Errorf("PostInput isOneOf = %v, want false", input.IsOneOf)
		}
	}
}

func TestTypeIntrospection(t *testing.T) {
	e := New(testSchema(t), Options{})
	resp := run(t, e, newTestResolver(), `{
		post: __type(name: "Post") { __typename name kind fields { name } }
		missing: __type(name: "Nope") { name }
		list: __type(name: "PostConnection") { fields { name type { kind ofType { kind ofType { kind name } } } } }
	}`, nil)
	wantNoErrors(t, resp)
	wantData(t, resp, `{"post":{"__typename":"__Type","name":"Post","kind":"OBJECT","fields":[{"name":"id"},{"name":"title"},{"name":"rating"},{"name":"views"},{"name":"status"},{"name":"blog"},{"name":"tags"},{"name":"required"},{"name":"_version"},{"name":"_lastChangedAt"}]},`+
		`"missing":null,`+
		`"list":{"fields":[{"name":"items","type":{"kind":"NON_NULL","ofType":{"kind":"LIST","ofType":{"kind":"OBJECT","name":"Post"}}}},{"name":"nextToken","type":{"kind":"SCALAR","ofType":null}}]}}`)
}

func TestIntrospectionIsNotSentToTheResolver(t *testing.T) {
	e := New(testSchema(t), Options{})
	r := newTestResolver()
	op, errs := e.Prepare(appsync.Request{Query: introspectionQuery})
	if errs != nil {
		t.Fatal(errs[0])
	}
	e.Execute(context.Background(), op, r)
	if len(r.calls) != 0 {
		t.Errorf("introspection called the resolver: %+v", r.calls[0])
	}
}
