package gqlexec

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// varsDoc declares a variable of every kind of input type the test schema
// has.
const varsDoc = `query Q($in: PostInput, $req: PostInput!, $n: Int, $nn: Int!, $f: Float, $ids: [ID!], $id: ID,
  $s: String, $b: Boolean, $st: Status, $j: AWSJSON, $t: AWSDateTime, $ls: [[Int]], $lo: [PostInput!]!) { value }`

func varsDef(t testing.TB, e *Executor) *ast.OperationDefinition {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: varsDoc})
	if err != nil {
		t.Fatal(err)
	}
	// The variables are not used, which validation refuses: fill in
	// what it would (VariableValues reads the definitions).
	def := doc.Operations[0]
	for _, vd := range def.VariableDefinitions {
		vd.Definition = e.schema.Types[vd.Type.Name()]
	}
	return def
}

// varsCases are variable sets as a request's JSON gives them; the required
// variables ($req, $nn, $lo) are added where a case leaves them out.
var varsCases = []string{
	`{}`,
	`{"in":{"title":"t","views":3,"rating":4.5,"status":"DRAFT","tags":["a","b"],"id":"x"}}`,
	`{"in":{"title":"t","views":"12","rating":"2.5","id":7,"__typename":"PostInput"}}`,
	`{"in":{"title":"t","views":1e3,"rating":1,"tags":"one","old":null,"status":null}}`,
	`{"in":null,"n":null,"f":null,"s":null,"b":null,"st":null,"id":null,"ids":null}`,
	`{"n":2.0,"f":3,"ids":["a",1,"c"],"id":12,"s":"x","b":true,"st":"PUBLISHED"}`,
	`{"n":"-5","f":"1e3","s":12.5,"j":{"a":[1,{"b":null}]},"t":"2024-01-02T03:04:05.000Z"}`,
	`{"j":"{\"a\":1}","ls":[[1,null],null,[2e0]],"lo":[{"title":"a"},{"title":"b","views":-2147483648}]}`,
	`{"ls":3,"ids":"solo","lo":{"title":"single"}}`,
	`{"f":1e400}`, `{"f":"NaN"}`, `{"f":"inf"}`, `{"f":true}`, `{"f":"x"}`, `{"in":{"title":"t","rating":1e400}}`,
	`{"n":1.5}`, `{"n":2147483648}`, `{"n":"3000000000"}`, `{"n":"x"}`, `{"n":true}`, `{"n":[1]}`,
	`{"nn":null}`, `{"req":null}`, `{"req":{}}`, `{"req":{"title":null}}`, `{"req":{"title":"t","colour":"red"}}`,
	`{"req":"t"}`, `{"req":[{"title":"t"}]}`, `{"ids":["a",null]}`, `{"ids":[true]}`, `{"id":1.5}`, `{"id":1e3}`, `{"id":false}`,
	`{"s":true}`, `{"s":{"a":1}}`, `{"b":"true"}`, `{"b":1}`, `{"st":"draft"}`, `{"st":"LOST"}`, `{"st":1}`,
	`{"lo":[null]}`, `{"lo":[{"views":1}]}`, `{"ls":[["x"]]}`, `{"in":{"title":"t","tags":[null]}}`, `{"in":{"title":"t","views":1.5}}`,
	`{"unknown":1}`,
}

func decodeVars(t testing.TB, text string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var vars map[string]any
	if err := dec.Decode(&vars); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	for k, v := range map[string]any{"req": map[string]any{"title": "r"}, "nn": json.Number("1"), "lo": []any{}} {
		if _, ok := vars[k]; !ok {
			vars[k] = v
		}
	}
	return vars
}

// compareVariables runs both paths of coerceVariables on the same values:
// the fast one must give exactly what the general one gives, or leave them.
// It returns whether the fast path took them.
func compareVariables(t *testing.T, e *Executor, def *ast.OperationDefinition, text string, vars map[string]any) bool {
	t.Helper()
	fast, ok := e.fastVariables(def, vars)
	slow, aerr := e.coerceVariablesSlow(def, decodeVars(t, text))
	if !ok {
		return false
	}
	if aerr != nil {
		t.Errorf("%s: the fast path took variables the general path refuses: %s", text, aerr.Message)
		return true
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Errorf("%s:\nfast    %#v\ngeneral %#v", text, fast, slow)
	}
	return true
}

// TestFastVariablesMatchTheGeneralPath checks the reflection-free variable
// coercion against gqlparser's over valid and invalid values of every input
// type, and that it takes the valid ones (else it saves nothing).
func TestFastVariablesMatchTheGeneralPath(t *testing.T) {
	e := New(testSchema(t), Options{})
	def := varsDef(t, e)
	taken := 0
	for _, text := range varsCases {
		vars := decodeVars(t, text)
		before := decodeVars(t, text)
		if compareVariables(t, e, def, text, vars) {
			taken++
		}
		if !reflect.DeepEqual(vars, before) {
			t.Errorf("%s: the fast path modified the request's variables", text)
		}
	}
	for _, text := range varsCases[:9] {
		if _, ok := e.fastVariables(def, decodeVars(t, text)); !ok {
			t.Errorf("%s: valid variables left to the general path", text)
		}
	}
	if taken < 9 {
		t.Errorf("the fast path took %d sets, want at least the 9 valid ones", taken)
	}
	// Values of other Go types (a WebSocket payload decoded without
	// UseNumber) are left to the general path.
	if _, ok := e.fastVariables(def, map[string]any{"req": map[string]any{"title": "t"}, "nn": float64(1), "lo": []any{}}); ok {
		t.Error("the fast path took a float64 Int")
	}
}

// TestVariableErrorsUnchanged checks what a client is told about bad
// variables (Prepare answers coerceVariables' error): which variable, where in it, and what is
// wrong, worded as before the fast path.
func TestVariableErrorsUnchanged(t *testing.T) {
	e := New(testSchema(t), Options{})
	def := varsDef(t, e)
	for _, tt := range []struct{ vars, want string }{
		{`{"nn":null}`, "variable $nn of type Int!: cannot be null"},
		{`{"nn":"x"}`, "variable $nn of type Int!: cannot use string as Int"},
		{`{"nn":true}`, "variable $nn of type Int!: cannot use bool as Int"},
		{`{"nn":1.5}`, "Variable 'nn' has an invalid value: $nn: 1.5 is not an integer (Int)"},
		{`{"nn":2147483648}`, "Variable 'nn' has an invalid value: $nn: 2147483648 is out of range for Int (a 32-bit signed integer, -2147483648 to 2147483647)"},
		{`{"req":null}`, "variable $req of type PostInput!: cannot be null"},
		{`{"req":{"title":null}}`, "variable $req.title of type PostInput!: cannot be null"},
		{`{"req":{}}`, "variable $req.title of type PostInput!: must be defined"},
		{`{"req":{"title":"t","colour":"red"}}`, "Variable 'req' has an invalid value: The variables input contains a field name 'colour' that is not defined for input object type 'PostInput' (at $req.colour)"},
		{`{"lo":[{"title":"a"},{"title":"b","not":{}}]}`, "Variable 'lo' has an invalid value: The variables input contains a field name 'not' that is not defined for input object type 'PostInput' (at $lo[1].not)"},
		{`{"req":{"title":"t","views":"x"}}`, "variable $req.views of type PostInput!: cannot use string as Int"},
		{`{"req":{"title":"t","rating":true}}`, "variable $req.rating of type PostInput!: cannot use bool as Float"},
		{`{"req":"t"}`, "variable $req of type PostInput!: must be a PostInput, not a string"},
		{`{"lo":[null]}`, "variable $lo[0] of type [PostInput!]!: cannot be null"},
		{`{"ids":["a",true]}`, "variable $ids[1] of type [ID!]: cannot use bool as ID"},
		{`{"st":"LOST"}`, "variable $st of type Status: LOST is not a valid Status"},
		{`{"st":"draft"}`, "Variable 'st' has an invalid value: $st: draft is not a value of enum Status"},
		{`{"b":"true"}`, "variable $b of type Boolean: cannot use string as Boolean"},
	} {
		vars, err := e.coerceVariables(def, decodeVars(t, tt.vars))
		if err == nil {
			t.Errorf("%s: coerced to %v, want an error", tt.vars, vars)
			continue
		}
		if err.Message != tt.want {
			t.Errorf("%s: message %q, want %q", tt.vars, err.Message, tt.want)
		}
		if err.ErrorType != appsync.ValidationError || len(err.Locations) == 0 {
			t.Errorf("%s: error type %q, locations %v: want a located ValidationError", tt.vars, err.ErrorType, err.Locations)
		}
	}
}

// FuzzFastVariables compares the two coercion paths on any variables
// object.
func FuzzFastVariables(f *testing.F) {
	for _, c := range varsCases {
		f.Add(c)
	}
	e := New(testSchema(f), Options{})
	def := varsDef(f, e)
	f.Fuzz(func(t *testing.T, text string) {
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		var vars map[string]any
		if dec.Decode(&vars) != nil || vars == nil {
			return
		}
		compareVariables(t, e, def, text, decodeVars(t, text))
	})
}
