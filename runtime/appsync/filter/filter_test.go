package filter

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// post is the item most cases run against.
func post() map[string]any {
	return map[string]any{
		"id":      "p1",
		"title":   "Hello wörld",
		"rating":  float64(4),
		"views":   int64(1200),
		"score":   json.Number("2.5"),
		"status":  "DRAFT",
		"draft":   true,
		"tags":    []any{"go", "sync", float64(7)},
		"meta":    map[string]any{"a": "x", "b": float64(1)},
		"nothing": nil,
	}
}

// f parses a filter written as JSON, with numbers as json.Number so that
// cases also cover the numeric kinds a JSON variable decoder produces.
func f(t *testing.T, src string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(src))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("bad test filter %s: %v", src, err)
	}
	return m
}

func TestMatch(t *testing.T) {
	cases := []struct {
		name   string
		filter string
		want   bool
	}{
		{"empty", `{}`, true},
		{"null field", `{"title": null}`, true},

		{"eq string", `{"title": {"eq": "Hello wörld"}}`, true},
		{"eq string differs", `{"title": {"eq": "hello wörld"}}`, false},
		{"eq number", `{"rating": {"eq": 4}}`, true},
		{"eq number as float", `{"rating": {"eq": 4.0}}`, true},
		{"eq int64 item", `{"views": {"eq": 1200}}`, true},
		{"eq json.Number item", `{"score": {"eq": 2.5}}`, true},
		{"eq across types", `{"rating": {"eq": "4"}}`, false},
		{"eq bool", `{"draft": {"eq": true}}`, true},
		{"eq missing", `{"missing": {"eq": "x"}}`, false},
		{"eq null on null", `{"nothing": {"eq": null}}`, true},
		{"eq null on missing", `{"missing": {"eq": null}}`, false},
		{"eq null on value", `{"title": {"eq": null}}`, false},
		{"eq list", `{"tags": {"eq": ["go", "sync", 7]}}`, true},
		{"eq list order matters", `{"tags": {"eq": ["sync", "go", 7]}}`, false},

		{"ne", `{"title": {"ne": "other"}}`, true},
		{"ne same", `{"title": {"ne": "Hello wörld"}}`, false},
		{"ne missing is true", `{"missing": {"ne": "x"}}`, true},
		{"ne across types is true", `{"rating": {"ne": "4"}}`, true},
		{"ne null on null", `{"nothing": {"ne": null}}`, false},
		{"ne value on null", `{"nothing": {"ne": "x"}}`, true},

		{"lt number", `{"rating": {"lt": 5}}`, true},
		{"lt number equal", `{"rating": {"lt": 4}}`, false},
		{"le number equal", `{"rating": {"le": 4}}`, true},
		{"gt number", `{"views": {"gt": 1199.5}}`, true},
		{"ge number", `{"score": {"ge": 2.5}}`, true},
		{"gt number false", `{"score": {"gt": 2.5}}`, false},
		{"lt string bytes", `{"status": {"lt": "DRAFU"}}`, true},
		{"uppercase before lowercase", `{"status": {"lt": "a"}}`, true},
		{"utf-8 bytes order", `{"title": {"gt": "Hello wz"}}`, true},
		{"lt across types", `{"rating": {"lt": "9"}}`, false},
		{"gt across types", `{"title": {"gt": 1}}`, false},
		{"lt missing", `{"missing": {"lt": 9}}`, false},
		{"lt on null", `{"nothing": {"lt": 9}}`, false},
		{"lt on bool", `{"draft": {"lt": 9}}`, false},
		{"lt null operand", `{"rating": {"lt": null}}`, false},

		{"between inclusive low", `{"rating": {"between": [4, 5]}}`, true},
		{"between inclusive high", `{"rating": {"between": [1, 4]}}`, true},
		{"between outside", `{"rating": {"between": [5, 9]}}`, false},
		{"between strings", `{"status": {"between": ["A", "E"]}}`, true},
		{"between across types", `{"status": {"between": [1, 9]}}`, false},
		{"between missing", `{"missing": {"between": [1, 9]}}`, false},

		{"beginsWith", `{"title": {"beginsWith": "Hell"}}`, true},
		{"beginsWith no", `{"title": {"beginsWith": "ello"}}`, false},
		{"beginsWith number attr", `{"rating": {"beginsWith": "4"}}`, false},
		{"beginsWith missing", `{"missing": {"beginsWith": ""}}`, false},

		{"contains substring", `{"title": {"contains": "wör"}}`, true},
		{"contains substring no", `{"title": {"contains": "xyz"}}`, false},
		{"contains element", `{"tags": {"contains": "sync"}}`, true},
		{"contains number element", `{"tags": {"contains": 7}}`, true},
		{"contains element no", `{"tags": {"contains": "syn"}}`, false},
		{"contains on number", `{"rating": {"contains": "4"}}`, false},
		{"contains missing", `{"missing": {"contains": "x"}}`, false},
		{"notContains substring", `{"title": {"notContains": "xyz"}}`, true},
		{"notContains present", `{"title": {"notContains": "Hello"}}`, false},
		{"notContains element", `{"tags": {"notContains": "go"}}`, false},
		{"notContains missing is true", `{"missing": {"notContains": "x"}}`, true},
		{"notContains on number is true", `{"rating": {"notContains": "4"}}`, true},

		{"attributeExists true", `{"title": {"attributeExists": true}}`, true},
		{"attributeExists on null", `{"nothing": {"attributeExists": true}}`, true},
		{"attributeExists missing", `{"missing": {"attributeExists": true}}`, false},
		{"attributeExists false on missing", `{"missing": {"attributeExists": false}}`, true},
		{"attributeExists false on present", `{"title": {"attributeExists": false}}`, false},

		{"attributeType string", `{"title": {"attributeType": "string"}}`, true},
		{"attributeType number", `{"views": {"attributeType": "number"}}`, true},
		{"attributeType json.Number", `{"score": {"attributeType": "number"}}`, true},
		{"attributeType bool", `{"draft": {"attributeType": "bool"}}`, true},
		{"attributeType list", `{"tags": {"attributeType": "list"}}`, true},
		{"attributeType map", `{"meta": {"attributeType": "map"}}`, true},
		{"attributeType null", `{"nothing": {"attributeType": "_null"}}`, true},
		{"attributeType wrong", `{"title": {"attributeType": "number"}}`, false},
		{"attributeType set never", `{"tags": {"attributeType": "stringSet"}}`, false},
		{"attributeType missing", `{"missing": {"attributeType": "_null"}}`, false},

		{"size string bytes", `{"title": {"size": {"eq": 12}}}`, true},
		{"size list", `{"tags": {"size": {"eq": 3}}}`, true},
		{"size map", `{"meta": {"size": {"between": [1, 2]}}}`, true},
		{"size gt", `{"tags": {"size": {"gt": 3}}}`, false},
		{"size on number", `{"rating": {"size": {"ge": 0}}}`, false},
		{"size ne on number", `{"rating": {"size": {"ne": 1}}}`, false},
		{"size missing", `{"missing": {"size": {"ge": 0}}}`, false},

		{"in", `{"status": {"in": ["PUBLISHED", "DRAFT"]}}`, true},
		{"in no", `{"status": {"in": ["PUBLISHED"]}}`, false},
		{"in numbers", `{"rating": {"in": [1, 4]}}`, true},
		{"in missing", `{"missing": {"in": ["x"]}}`, false},
		{"notIn", `{"status": {"notIn": ["PUBLISHED"]}}`, true},
		{"notIn no", `{"status": {"notIn": ["DRAFT"]}}`, false},
		{"notIn missing", `{"missing": {"notIn": ["x"]}}`, true},

		{"operators AND", `{"rating": {"gt": 1, "lt": 3}}`, false},
		{"keys AND", `{"rating": {"eq": 4}, "status": {"eq": "PUBLISHED"}}`, false},
		{"and", `{"and": [{"rating": {"eq": 4}}, {"status": {"eq": "DRAFT"}}]}`, true},
		{"and one false", `{"and": [{"rating": {"eq": 4}}, {"status": {"eq": "X"}}]}`, false},
		{"or", `{"or": [{"rating": {"eq": 1}}, {"status": {"eq": "DRAFT"}}]}`, true},
		{"or none", `{"or": [{"rating": {"eq": 1}}, {"status": {"eq": "X"}}]}`, false},
		{"not", `{"not": {"rating": {"eq": 4}}}`, false},
		{"not false", `{"not": {"rating": {"eq": 5}}}`, true},
		{"not empty", `{"not": {}}`, false},
		{"empty and", `{"and": []}`, true},
		{"empty or", `{"or": []}`, true},
		{"empty or with field", `{"or": [], "rating": {"eq": 5}}`, false},
		{"and of empty objects", `{"and": [{}, {}]}`, true},
		{"nested", `{"or": [{"and": [{"rating": {"ge": 4}}, {"not": {"status": {"eq": "PUBLISHED"}}}]}, {"id": {"eq": "zz"}}]}`, true},
		{"_deleted ne true on live item", `{"_deleted": {"ne": true}}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Match(f(t, c.filter), post())
			if err != nil {
				t.Fatalf("Match(%s): %v", c.filter, err)
			}
			if got != c.want {
				t.Errorf("Match(%s) = %v, want %v", c.filter, got, c.want)
			}
		})
	}
}

// TestNumericKinds checks that every numeric kind compares by value, in
// the item and in the filter.
func TestNumericKinds(t *testing.T) {
	kinds := []any{int(7), int8(7), int16(7), int32(7), int64(7), uint(7), uint8(7), uint16(7), uint32(7), uint64(7),
		float32(7), float64(7), json.Number("7"), json.Number("7.0")}
	for _, iv := range kinds {
		for _, fv := range kinds {
			item := map[string]any{"n": iv}
			for _, o := range []string{"eq", "le", "ge"} {
				ok, err := Match(map[string]any{"n": map[string]any{o: fv}}, item)
				if err != nil || !ok {
					t.Errorf("%T(7) %s %T(7) = %v, %v", iv, o, fv, ok, err)
				}
			}
			ok, err := Match(map[string]any{"n": map[string]any{"lt": fv}}, item)
			if err != nil || ok {
				t.Errorf("%T(7) lt %T(7) = %v, %v", iv, fv, ok, err)
			}
		}
	}
	// Large integers stay exact.
	item := map[string]any{"n": int64(1<<62 + 1)}
	if ok, _ := Match(map[string]any{"n": map[string]any{"gt": int64(1 << 62)}}, item); !ok {
		t.Error("int64 2^62+1 > 2^62 lost precision")
	}
	if ok, _ := Match(map[string]any{"n": map[string]any{"eq": json.Number("4611686018427387905")}}, item); !ok {
		t.Error("json.Number integer compared inexactly")
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		filter string
		want   string // error text; "" for valid
	}{
		{`{}`, ""},
		{`{"and": [{"rating": {"between": [1, 2]}}, {"rating": {"between": [1, 2, 3]}}]}`, "filter.and[1].rating.between: want 2 values, got 3"},
		{`{"rating": {"between": [1]}}`, "filter.rating.between: want 2 values, got 1"},
		{`{"rating": {"between": 1}}`, "filter.rating.between: want a list of 2 values, got number"},
		{`{"rating": {"between": [5, 1]}}`, "filter.rating.between: lower bound 5 is greater than upper bound 1"},
		{`{"rating": {"between": [1, "z"]}}`, "filter.rating.between: bounds of different types (number and string)"},
		{`{"rating": {"between": [true, 2]}}`, "filter.rating.between[0]: want a string or number, got bool"},
		{`{"rating": {"like": 1}}`, `filter.rating.like: unknown operator "like"`},
		{`{"rating": 4}`, "filter.rating: want an operator object, got number"},
		{`{"and": {"rating": {"eq": 1}}}`, "filter.and: want a list of filter objects, got map"},
		{`{"or": [{"rating": {"eq": 1}}, 3]}`, "filter.or[1]: want a filter object, got number"},
		{`{"not": [1]}`, "filter.not: want a filter object, got list"},
		{`{"not": {"not": {"title": {"eq": {"x": 1}}}}}`, "filter.not.not.title.eq: want a scalar or a list, got map"},
		{`{"title": {"gt": true}}`, "filter.title.gt: want a string or number, got bool"},
		{`{"title": {"beginsWith": 1}}`, "filter.title.beginsWith: want a string, got number"},
		{`{"title": {"contains": ["a"]}}`, "filter.title.contains: want a scalar, got list"},
		{`{"title": {"attributeExists": "yes"}}`, "filter.title.attributeExists: want a boolean, got string"},
		{`{"title": {"attributeType": "text"}}`, "filter.title.attributeType: want one of binary, binarySet, bool, list, map, number, numberSet, string, stringSet, _null; got text"},
		{`{"title": {"size": {"eq": "3"}}}`, "filter.title.size.eq: want a number, got string"},
		{`{"title": {"size": {"contains": 3}}}`, `filter.title.size.contains: unknown size operator "contains" (want ne, eq, le, lt, ge, gt or between)`},
		{`{"title": {"size": {"between": [1, "2"]}}}`, "filter.title.size.between[1]: want a number, got string"},
		{`{"title": {"in": "a"}}`, "filter.title.in: want a list, got string"},
		{`{"title": {"notIn": [["a"]]}}`, "filter.title.notIn[0]: want a scalar, got list"},
		{`{"title": {"eq": ["a", {"b": 1}]}}`, "filter.title.eq[1]: want a scalar, got map"},
	}
	for _, c := range cases {
		err := Validate(f(t, c.filter))
		got := ""
		if err != nil {
			got = err.Error()
			var fe *Error
			if !errors.As(err, &fe) {
				t.Errorf("Validate(%s) error %T is not *Error", c.filter, err)
			}
		}
		if got != c.want {
			t.Errorf("Validate(%s)\n got  %q\n want %q", c.filter, got, c.want)
		}
		// Match reports the same error and no match.
		ok, merr := Match(f(t, c.filter), post())
		if (merr != nil) != (c.want != "") || (merr != nil && ok) {
			t.Errorf("Match(%s) = %v, %v; Validate said %q", c.filter, ok, merr, c.want)
		}
	}
}

func TestNilAndCompiled(t *testing.T) {
	if ok, err := Match(nil, post()); !ok || err != nil {
		t.Errorf("nil filter: %v, %v", ok, err)
	}
	if ok, err := Match(map[string]any{"title": map[string]any{"eq": "x"}}, nil); ok || err != nil {
		t.Errorf("nil item: %v, %v", ok, err)
	}
	var nf *Filter
	if !nf.Match(post()) {
		t.Error("nil *Filter does not match")
	}
	// The []map and []string forms Go callers build also work.
	flt, err := Compile(map[string]any{"or": []map[string]any{
		{"status": map[string]any{"in": []string{"PUBLISHED"}}},
		{"id": map[string]any{"eq": "p1"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !flt.Match(post()) {
		t.Error("compiled filter does not match")
	}
}

func BenchmarkCompiledMatch(b *testing.B) {
	flt, err := Compile(map[string]any{
		"and": []any{
			map[string]any{"rating": map[string]any{"between": []any{int64(1), int64(5)}}},
			map[string]any{"or": []any{
				map[string]any{"status": map[string]any{"eq": "PUBLISHED"}},
				map[string]any{"title": map[string]any{"beginsWith": "Hello"}},
			}},
		},
		"_deleted": map[string]any{"ne": true},
	})
	if err != nil {
		b.Fatal(err)
	}
	item := post()
	b.ReportAllocs()
	for b.Loop() {
		flt.Match(item)
	}
}
