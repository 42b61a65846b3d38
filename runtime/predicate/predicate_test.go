package predicate_test

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/dsgen/dsgen/runtime/predicate"
)

// Status is a ~string enum, Email a ~string scalar.
type (
	Status string
	Email  string
)

const (
	Draft     Status = "DRAFT"
	Published Status = "PUBLISHED"
	Archived  Status = "ARCHIVED"
)

// Item has one field of each kind; the pointer fields and Tags are nullable.
type Item struct {
	ID     string
	Title  *string
	Rating *int
	Score  *float64
	Status *Status
	Email  *Email
	Active *bool
	SeenAt *time.Time
	Tags   []string
}

func deref[V any](p *V) (V, bool) {
	if p == nil {
		var zero V
		return zero, false
	}
	return *p, true
}

// item holds the field handles, as a generated package would.
var item = struct {
	ID     predicate.StringField[Item, string]
	Title  predicate.StringField[Item, string]
	Rating predicate.OrderedField[Item, int]
	Score  predicate.OrderedField[Item, float64]
	Status predicate.StringField[Item, Status]
	Email  predicate.StringField[Item, Email]
	Active predicate.BoolField[Item]
	SeenAt predicate.CompareField[Item, time.Time]
	Tags   predicate.ListField[Item, string]
}{
	ID:     predicate.String[Item]("id", func(it *Item) (string, bool) { return it.ID, true }),
	Title:  predicate.String[Item]("title", func(it *Item) (string, bool) { return deref(it.Title) }),
	Rating: predicate.Ordered[Item]("rating", func(it *Item) (int, bool) { return deref(it.Rating) }),
	Score:  predicate.Ordered[Item]("score", func(it *Item) (float64, bool) { return deref(it.Score) }),
	Status: predicate.String[Item]("status", func(it *Item) (Status, bool) { return deref(it.Status) }),
	Email:  predicate.String[Item]("email", func(it *Item) (Email, bool) { return deref(it.Email) }),
	Active: predicate.Bool[Item]("active", func(it *Item) (bool, bool) { return deref(it.Active) }),
	SeenAt: predicate.Compared[Item]("seenAt", func(it *Item) (time.Time, bool) { return deref(it.SeenAt) }, time.Time.Compare),
	Tags:   predicate.List[Item]("tags", func(it *Item) []string { return it.Tags }),
}

func ptr[V any](v V) *V { return &v }

var (
	noon  = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	early = noon.Add(-time.Hour)
	late  = noon.Add(time.Hour)
)

// full has every field set; empty has every nullable field null.
func full() *Item {
	return &Item{
		ID:     "a1",
		Title:  ptr("The Title"),
		Rating: ptr(3),
		Score:  ptr(2.5),
		Status: ptr(Published),
		Email:  ptr(Email("ann@example.com")),
		Active: ptr(true),
		// The same instant as noon, in another zone: equal by time.Time.Compare.
		SeenAt: ptr(noon.In(time.FixedZone("X", 3600))),
		Tags:   []string{"go", "amplify"},
	}
}

func empty() *Item { return &Item{ID: "b2"} }

func TestOperators(t *testing.T) {
	tests := []struct {
		name        string
		p           predicate.Predicate[Item]
		full, empty bool
	}{
		{"string eq", item.Title.Eq("The Title"), true, false},
		{"string eq other", item.Title.Eq("Other"), false, false},
		{"string ne", item.Title.Ne("Other"), true, true},
		{"string ne same", item.Title.Ne("The Title"), false, true},
		{"string gt", item.Title.Gt("T"), true, false},
		{"string gt equal", item.Title.Gt("The Title"), false, false},
		{"string ge equal", item.Title.Ge("The Title"), true, false},
		{"string lt", item.Title.Lt("U"), true, false},
		{"string lt equal", item.Title.Lt("The Title"), false, false},
		{"string le equal", item.Title.Le("The Title"), true, false},
		{"string between", item.Title.Between("T", "U"), true, false},
		{"string between outside", item.Title.Between("A", "S"), false, false},
		{"string beginsWith", item.Title.BeginsWith("The"), true, false},
		{"string beginsWith no", item.Title.BeginsWith("he"), false, false},
		{"string beginsWith empty", item.Title.BeginsWith(""), true, false},
		{"string contains", item.Title.Contains("e Ti"), true, false},
		{"string contains no", item.Title.Contains("x"), false, false},
		{"string notContains", item.Title.NotContains("x"), true, true},
		{"string notContains no", item.Title.NotContains("Title"), false, true},
		{"string in", item.Title.In("A", "The Title"), true, false},
		{"string in no", item.Title.In("A", "B"), false, false},
		{"string in none", item.Title.In(), false, false},
		{"string notIn", item.Title.NotIn("A", "B"), true, true},
		{"string notIn no", item.Title.NotIn("The Title"), false, true},
		{"string notIn none", item.Title.NotIn(), true, true},
		{"string exists", item.Title.Exists(), true, false},
		{"string notExists", item.Title.NotExists(), false, true},
		{"id eq", item.ID.Eq("a1"), true, false},

		{"enum eq", item.Status.Eq(Published), true, false},
		{"enum ne", item.Status.Ne(Draft), true, true},
		{"enum in", item.Status.In(Draft, Published), true, false},
		{"enum notIn", item.Status.NotIn(Draft, Archived), true, true},
		{"enum beginsWith", item.Status.BeginsWith("PUB"), true, false},
		{"enum lt", item.Status.Lt(Draft), false, false},
		{"email contains", item.Email.Contains("@example."), true, false},
		{"email eq", item.Email.Eq("ann@example.com"), true, false},

		{"int eq", item.Rating.Eq(3), true, false},
		{"int ne", item.Rating.Ne(4), true, true},
		{"int ne same", item.Rating.Ne(3), false, true},
		{"int gt", item.Rating.Gt(2), true, false},
		{"int gt equal", item.Rating.Gt(3), false, false},
		{"int ge", item.Rating.Ge(3), true, false},
		{"int ge above", item.Rating.Ge(4), false, false},
		{"int lt", item.Rating.Lt(4), true, false},
		{"int lt equal", item.Rating.Lt(3), false, false},
		{"int le", item.Rating.Le(3), true, false},
		{"int le below", item.Rating.Le(2), false, false},
		{"int gt negative", item.Rating.Gt(-1), true, false},
		{"int lt zero", item.Rating.Lt(0), false, false},
		{"int between", item.Rating.Between(1, 5), true, false},
		{"int between low edge", item.Rating.Between(3, 5), true, false},
		{"int between high edge", item.Rating.Between(1, 3), true, false},
		{"int between point", item.Rating.Between(3, 3), true, false},
		{"int between below", item.Rating.Between(4, 9), false, false},
		{"int between above", item.Rating.Between(0, 2), false, false},
		{"int between reversed", item.Rating.Between(5, 1), false, false},
		{"int in", item.Rating.In(1, 3), true, false},
		{"int notIn", item.Rating.NotIn(1, 3), false, true},
		{"int exists", item.Rating.Exists(), true, false},
		{"int notExists", item.Rating.NotExists(), false, true},

		{"float gt", item.Score.Gt(2.4), true, false},
		{"float between", item.Score.Between(2.5, 2.5), true, false},
		{"float lt", item.Score.Lt(2.5), false, false},
		{"float eq NaN", item.Score.Eq(math.NaN()), false, false},
		{"float ne NaN", item.Score.Ne(math.NaN()), true, true},
		{"float le Inf", item.Score.Le(math.Inf(1)), true, false},

		{"bool eq", item.Active.Eq(true), true, false},
		{"bool eq false", item.Active.Eq(false), false, false},
		{"bool ne", item.Active.Ne(false), true, true},
		{"bool ne same", item.Active.Ne(true), false, true},
		{"bool exists", item.Active.Exists(), true, false},
		{"bool notExists", item.Active.NotExists(), false, true},

		{"compare eq other zone", item.SeenAt.Eq(noon), true, false},
		{"compare ne", item.SeenAt.Ne(late), true, true},
		{"compare ne same", item.SeenAt.Ne(noon), false, true},
		{"compare gt", item.SeenAt.Gt(early), true, false},
		{"compare gt equal", item.SeenAt.Gt(noon), false, false},
		{"compare ge", item.SeenAt.Ge(noon), true, false},
		{"compare lt", item.SeenAt.Lt(late), true, false},
		{"compare lt equal", item.SeenAt.Lt(noon), false, false},
		{"compare le", item.SeenAt.Le(noon), true, false},
		{"compare between", item.SeenAt.Between(early, late), true, false},
		{"compare between edges", item.SeenAt.Between(noon, noon), true, false},
		{"compare between after", item.SeenAt.Between(late, late.Add(time.Hour)), false, false},
		{"compare in", item.SeenAt.In(early, noon), true, false},
		{"compare notIn", item.SeenAt.NotIn(early, late), true, true},
		{"compare exists", item.SeenAt.Exists(), true, false},
		{"compare notExists", item.SeenAt.NotExists(), false, true},

		{"list contains", item.Tags.Contains("go"), true, false},
		{"list contains no", item.Tags.Contains("g"), false, false},
		{"list notContains", item.Tags.NotContains("rust"), true, true},
		{"list notContains no", item.Tags.NotContains("amplify"), false, true},
		{"list exists", item.Tags.Exists(), true, false},
		{"list notExists", item.Tags.NotExists(), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Match(full()); got != tt.full {
				t.Errorf("%v: Match(full) = %v, want %v", tt.p, got, tt.full)
			}
			if got := tt.p.Match(empty()); got != tt.empty {
				t.Errorf("%v: Match(empty) = %v, want %v", tt.p, got, tt.empty)
			}
			if got := predicate.Not(tt.p).Match(full()); got == tt.full {
				t.Errorf("Not(%v): Match(full) = %v", tt.p, got)
			}
		})
	}
}

func TestEmptyListIsPresent(t *testing.T) {
	it := &Item{Tags: []string{}}
	if !item.Tags.Exists().Match(it) || item.Tags.Contains("").Match(it) || !item.Tags.NotContains("go").Match(it) {
		t.Error("an empty, non-nil list is present and contains nothing")
	}
}

func TestCombinators(t *testing.T) {
	f, e := full(), empty()
	yes, no := item.Rating.Eq(3), item.Rating.Eq(4)
	tests := []struct {
		name        string
		p           predicate.Predicate[Item]
		full, empty bool
	}{
		{"zero", predicate.Predicate[Item]{}, true, true},
		{"All", predicate.All[Item](), true, true},
		{"Not All", predicate.Not(predicate.All[Item]()), false, false},
		{"And()", predicate.And[Item](), true, true},
		{"Or()", predicate.Or[Item](), true, true},
		{"And yes", predicate.And(yes), true, false},
		{"And yes yes", predicate.And(yes, yes), true, false},
		{"And yes no", predicate.And(yes, no), false, false},
		{"And no yes", predicate.And(no, yes), false, false},
		{"And yes All", predicate.And(yes, predicate.All[Item]()), true, false},
		{"Or no no", predicate.Or(no, no), false, false},
		{"Or no yes", predicate.Or(no, yes), true, false},
		{"Or no All", predicate.Or(no, predicate.All[Item]()), true, true},
		{"Or with null-true", predicate.Or(no, item.Rating.NotExists()), false, true},
		{"Not yes", predicate.Not(yes), false, true},
		{"Not Not yes", predicate.Not(predicate.Not(yes)), true, false},
		{"Not And", predicate.Not(predicate.And(yes, no)), true, true},
		{"And Or Not", predicate.And(
			predicate.Or(item.Title.BeginsWith("X"), item.Status.Eq(Published)),
			predicate.Not(item.Tags.Contains("rust")),
			item.Score.Between(2, 3),
		), true, false},
		{"Or And nested", predicate.Or(
			predicate.And(item.Rating.Gt(1), item.Active.Eq(false)),
			predicate.And(item.Rating.Lt(10), predicate.Or(item.Active.NotExists(), item.Active.Eq(true))),
		), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Match(f); got != tt.full {
				t.Errorf("%v: Match(full) = %v, want %v", tt.p, got, tt.full)
			}
			if got := tt.p.Match(e); got != tt.empty {
				t.Errorf("%v: Match(empty) = %v, want %v", tt.p, got, tt.empty)
			}
		})
	}
}

func TestInSets(t *testing.T) {
	var ints []int
	var statuses []Status
	var times []time.Time
	for i := range 100 {
		ints = append(ints, i*2) // even numbers
		statuses = append(statuses, Status(fmt.Sprint("S", i*2)))
		times = append(times, noon.Add(time.Duration(i*2)*time.Minute))
	}
	for _, n := range []int{1, 8, 9, 100} {
		in, notIn := item.Rating.In(ints[:n]...), item.Rating.NotIn(ints[:n]...)
		sin, snotIn := item.Status.In(statuses[:n]...), item.Status.NotIn(statuses[:n]...)
		tin, tnotIn := item.SeenAt.In(times[:n]...), item.SeenAt.NotIn(times[:n]...)
		for v := -1; v <= 2*n+1; v++ {
			it := &Item{Rating: ptr(v), Status: ptr(Status(fmt.Sprint("S", v))), SeenAt: ptr(noon.Add(time.Duration(v) * time.Minute))}
			want := v >= 0 && v < 2*n && v%2 == 0
			for _, c := range []struct {
				name      string
				in, notIn predicate.Predicate[Item]
			}{{"int", in, notIn}, {"enum", sin, snotIn}, {"compare", tin, tnotIn}} {
				if got := c.in.Match(it); got != want {
					t.Errorf("n=%d %s In: Match(%d) = %v, want %v", n, c.name, v, got, want)
				}
				if got := c.notIn.Match(it); got != !want {
					t.Errorf("n=%d %s NotIn: Match(%d) = %v, want %v", n, c.name, v, got, !want)
				}
			}
		}
		if in.Match(empty()) || sin.Match(empty()) || tin.Match(empty()) {
			t.Errorf("n=%d: In matched a null field", n)
		}
		if !notIn.Match(empty()) || !snotIn.Match(empty()) || !tnotIn.Match(empty()) {
			t.Errorf("n=%d: NotIn did not match a null field", n)
		}
	}
}

func TestInCopiesValues(t *testing.T) {
	for _, n := range []int{2, 20} {
		vs := make([]int, n)
		vs[0] = 3
		p := item.Rating.In(vs...)
		vs[0] = 4
		if !p.Match(full()) || p.Expr().Args[0] != 3 {
			t.Errorf("n=%d: In kept a reference to its argument slice", n)
		}
	}
}

func TestExpr(t *testing.T) {
	cond := func(field string, op predicate.Op, args ...any) predicate.Expr {
		return predicate.Expr{Kind: predicate.KindCond, Field: field, Op: op, Args: args}
	}
	and := func(cs ...predicate.Expr) predicate.Expr {
		return predicate.Expr{Kind: predicate.KindAnd, Children: cs}
	}
	or := func(cs ...predicate.Expr) predicate.Expr { return predicate.Expr{Kind: predicate.KindOr, Children: cs} }
	not := func(c predicate.Expr) predicate.Expr {
		return predicate.Expr{Kind: predicate.KindNot, Children: []predicate.Expr{c}}
	}
	tests := []struct {
		name string
		p    predicate.Predicate[Item]
		want predicate.Expr
	}{
		{"zero", predicate.All[Item](), predicate.Expr{}},
		{"And()", predicate.And[Item](), predicate.Expr{}},
		{"eq", item.Rating.Eq(3), cond("rating", predicate.OpEq, 3)},
		{"enum keeps type", item.Status.Ne(Draft), cond("status", predicate.OpNe, Draft)},
		{"between", item.Score.Between(1, 2), cond("score", predicate.OpBetween, 1.0, 2.0)},
		{"in", item.Status.In(Draft, Archived), cond("status", predicate.OpIn, Draft, Archived)},
		{"in none", item.Rating.In(), predicate.Expr{Kind: predicate.KindCond, Field: "rating", Op: predicate.OpIn, Args: []any{}}},
		{"exists", item.Tags.Exists(), cond("tags", predicate.OpAttributeExists, true)},
		{"notExists", item.Active.NotExists(), cond("active", predicate.OpAttributeExists, false)},
		{"beginsWith", item.Email.BeginsWith("ann"), cond("email", predicate.OpBeginsWith, "ann")},
		{"compare", item.SeenAt.Gt(noon), cond("seenAt", predicate.OpGt, noon)},
		{"and of one", predicate.And(item.Rating.Gt(3)), cond("rating", predicate.OpGt, 3)},
		{"and drops All", predicate.And(item.Rating.Gt(3), predicate.All[Item](), item.Title.Eq("x")),
			and(cond("rating", predicate.OpGt, 3), cond("title", predicate.OpEq, "x"))},
		{"or with All", predicate.Or(item.Rating.Gt(3), predicate.All[Item]()), predicate.Expr{}},
		{"flattened", predicate.And(predicate.And(item.Rating.Gt(1), item.Rating.Lt(5)), item.Active.Eq(true)),
			and(cond("rating", predicate.OpGt, 1), cond("rating", predicate.OpLt, 5), cond("active", predicate.OpEq, true))},
		{"nested", predicate.Or(predicate.And(item.Rating.Gt(1), item.Rating.Lt(5)), predicate.Not(item.Tags.Contains("x"))),
			or(and(cond("rating", predicate.OpGt, 1), cond("rating", predicate.OpLt, 5)), not(cond("tags", predicate.OpContains, "x")))},
		{"not all", predicate.Not(predicate.All[Item]()), not(predicate.Expr{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Expr(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Expr() = %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestGraphQLFilter(t *testing.T) {
	var many []int
	for i := range 10 {
		many = append(many, i)
	}
	tests := []struct {
		p    predicate.Predicate[Item]
		want string
	}{
		{predicate.All[Item](), `{}`},
		{predicate.And(item.Rating.Gt(3), item.Title.BeginsWith("T")),
			`{"and":[{"rating":{"gt":3}},{"title":{"beginsWith":"T"}}]}`},
		{predicate.Or(item.Rating.Lt(2), predicate.Not(item.Status.Eq(Draft))),
			`{"or":[{"rating":{"lt":2}},{"not":{"status":{"eq":"DRAFT"}}}]}`},
		{item.Rating.Ne(1), `{"rating":{"ne":1}}`},
		{item.Rating.Ge(1), `{"rating":{"ge":1}}`},
		{item.Rating.Le(1), `{"rating":{"le":1}}`},
		{item.Score.Between(1.5, 2), `{"score":{"between":[1.5,2]}}`},
		{item.Title.Contains("a"), `{"title":{"contains":"a"}}`},
		{item.Title.NotContains("a"), `{"title":{"notContains":"a"}}`},
		{item.Tags.Contains("go"), `{"tags":{"contains":"go"}}`},
		{item.Active.Eq(false), `{"active":{"eq":false}}`},
		{item.Email.Exists(), `{"email":{"attributeExists":true}}`},
		{item.Email.NotExists(), `{"email":{"attributeExists":false}}`},
		{item.SeenAt.Ge(noon), `{"seenAt":{"ge":"2024-05-01T12:00:00Z"}}`},
		{item.Status.In(Draft), `{"status":{"eq":"DRAFT"}}`},
		{item.Status.In(Draft, Archived), `{"or":[{"status":{"eq":"DRAFT"}},{"status":{"eq":"ARCHIVED"}}]}`},
		{item.Status.NotIn(Draft), `{"status":{"ne":"DRAFT"}}`},
		{item.Status.NotIn(Draft, Archived), `{"and":[{"status":{"ne":"DRAFT"}},{"status":{"ne":"ARCHIVED"}}]}`},
		{item.Rating.In(many...),
			`{"or":[{"rating":{"eq":0}},{"rating":{"eq":1}},{"rating":{"eq":2}},{"rating":{"eq":3}},{"rating":{"eq":4}},` +
				`{"rating":{"eq":5}},{"rating":{"eq":6}},{"rating":{"eq":7}},{"rating":{"eq":8}},{"rating":{"eq":9}}]}`},
		{item.Rating.In(), `{"and":[{"rating":{"attributeExists":true}},{"rating":{"attributeExists":false}}]}`},
		{item.Rating.NotIn(), `{"or":[{"rating":{"attributeExists":true}},{"rating":{"attributeExists":false}}]}`},
		{predicate.Not(predicate.And(item.ID.Eq("a"), predicate.Or(item.Rating.Gt(1), item.Rating.Lt(0)))),
			`{"not":{"and":[{"id":{"eq":"a"}},{"or":[{"rating":{"gt":1}},{"rating":{"lt":0}}]}]}}`},
		{predicate.Not(predicate.All[Item]()), `{"not":{}}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.p.Expr().GraphQLFilter())
		if err != nil {
			t.Fatalf("%v: %v", tt.p, err)
		}
		if string(b) != tt.want {
			t.Errorf("%v:\n got %s\nwant %s", tt.p, b, tt.want)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		p    predicate.Predicate[Item]
		want string
	}{
		{predicate.All[Item](), `TRUE`},
		{predicate.And(item.Rating.Gt(3), item.Title.BeginsWith("T")), `rating > 3 AND title beginsWith "T"`},
		{predicate.And(item.Rating.Ge(3), predicate.Or(item.Rating.Le(1), item.Status.In(Draft, Published))),
			`rating >= 3 AND (rating <= 1 OR status in ["DRAFT", "PUBLISHED"])`},
		{predicate.Not(predicate.Or(item.ID.Eq("x"), item.ID.Ne("y"))), `NOT (id = "x" OR id != "y")`},
		{item.Rating.Lt(2), `rating < 2`},
		{item.Score.Between(1, 2.5), `score between [1, 2.5]`},
		{item.Status.In(Draft), `status in ["DRAFT"]`},
		{item.Rating.NotIn(), `rating notIn []`},
		{item.Tags.NotContains("a\"b"), `tags notContains "a\"b"`},
		{item.Active.Exists(), `active exists`},
		{item.Active.NotExists(), `active notExists`},
		{predicate.Not(predicate.All[Item]()), `NOT (TRUE)`},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %s, want %s", got, tt.want)
		}
	}
}

func TestExprKindString(t *testing.T) {
	got := fmt.Sprint(predicate.KindTrue, predicate.KindCond, predicate.KindAnd, predicate.KindOr, predicate.KindNot, predicate.ExprKind(9))
	if want := "true cond and or not ExprKind(9)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// sortItem builds an item for the sort tests; id records the input position.
func sortItem(id string, rating *int, title *string) *Item {
	return &Item{ID: id, Rating: rating, Title: title}
}

func ids(items []*Item) string {
	s := ""
	for _, it := range items {
		s += it.ID
	}
	return s
}

func TestSort(t *testing.T) {
	input := func() []*Item {
		return []*Item{
			sortItem("a", ptr(2), ptr("x")),
			sortItem("b", nil, ptr("y")),
			sortItem("c", ptr(1), ptr("z")),
			sortItem("d", ptr(2), nil),
			sortItem("e", ptr(2), ptr("w")),
			sortItem("f", nil, nil),
			sortItem("g", ptr(1), ptr("z")),
		}
	}
	tests := []struct {
		name   string
		orders []predicate.Order[Item]
		want   string
	}{
		{"none keeps order", nil, "abcdefg"},
		{"rating asc: nulls first, stable", []predicate.Order[Item]{item.Rating.Asc()}, "bfcgade"},
		{"rating desc: nulls last, stable", []predicate.Order[Item]{item.Rating.Desc()}, "adecgbf"},
		{"rating asc title asc", []predicate.Order[Item]{item.Rating.Asc(), item.Title.Asc()}, "fbcgdea"},
		{"rating asc title desc", []predicate.Order[Item]{item.Rating.Asc(), item.Title.Desc()}, "bfcgaed"},
		{"rating desc title asc", []predicate.Order[Item]{item.Rating.Desc(), item.Title.Asc()}, "deacgfb"},
		{"title desc rating desc", []predicate.Order[Item]{item.Title.Desc(), item.Rating.Desc()}, "cgbaedf"},
		{"zero order", []predicate.Order[Item]{{}}, "abcdefg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := input()
			predicate.Sort(items, tt.orders...)
			if got := ids(items); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSortOtherKinds(t *testing.T) {
	items := []*Item{
		{ID: "a", Active: ptr(true), Score: ptr(1.5), SeenAt: ptr(late), Status: ptr(Draft)},
		{ID: "b", Active: nil, Score: ptr(-2.0), SeenAt: nil, Status: ptr(Archived)},
		{ID: "c", Active: ptr(false), Score: nil, SeenAt: ptr(early), Status: nil},
	}
	tests := []struct {
		order predicate.Order[Item]
		want  string
	}{
		{item.Active.Asc(), "bca"},
		{item.Active.Desc(), "acb"},
		{item.Score.Asc(), "cba"},
		{item.Score.Desc(), "abc"},
		{item.SeenAt.Asc(), "bca"},
		{item.SeenAt.Desc(), "acb"},
		{item.Status.Asc(), "cba"},
		{item.Status.Desc(), "abc"},
	}
	for _, tt := range tests {
		predicate.Sort(items, tt.order)
		if got := ids(items); got != tt.want {
			t.Errorf("%s desc=%v: got %s, want %s", tt.order.Field(), tt.order.Descending(), got, tt.want)
		}
	}
}

func TestOrderAccessors(t *testing.T) {
	asc, desc := item.Rating.Asc(), item.Title.Desc()
	if asc.Field() != "rating" || asc.Descending() || desc.Field() != "title" || !desc.Descending() {
		t.Errorf("got %s/%v %s/%v", asc.Field(), asc.Descending(), desc.Field(), desc.Descending())
	}
	a, b := sortItem("a", ptr(1), ptr("y")), sortItem("b", ptr(1), ptr("x"))
	if c := predicate.Compare(a, b, asc); c != 0 {
		t.Errorf("Compare(rating) = %d, want 0", c)
	}
	if c := predicate.Compare(a, b, asc, desc); c >= 0 {
		t.Errorf("Compare(rating, title desc) = %d, want < 0", c)
	}
	if c := predicate.Compare(a, b); c != 0 {
		t.Errorf("Compare() = %d, want 0", c)
	}
	if c := asc.Compare(sortItem("n", nil, nil), a); c >= 0 {
		t.Errorf("null vs 1 ascending = %d, want < 0", c)
	}
	if c := item.Rating.Desc().Compare(sortItem("n", nil, nil), a); c <= 0 {
		t.Errorf("null vs 1 descending = %d, want > 0", c)
	}
}

func TestNames(t *testing.T) {
	got := []string{item.ID.Name(), item.Rating.Name(), item.SeenAt.Name(), item.Active.Name(), item.Tags.Name()}
	if want := []string{"id", "rating", "seenAt", "active", "tags"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestConcurrentMatch(t *testing.T) {
	var many []int
	for i := range 50 {
		many = append(many, i)
	}
	p := predicate.And(item.Rating.In(many...), item.Title.BeginsWith("The"))
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 1000 {
				ok = ok && p.Match(full()) && !p.Match(empty())
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("concurrent Match gave a wrong answer")
		}
	}
}

func BenchmarkMatchAnd2(b *testing.B) {
	p := predicate.And(item.Rating.Gt(2), item.Title.BeginsWith("The"))
	it := full()
	b.ReportAllocs()
	for b.Loop() {
		if !p.Match(it) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkMatchInLarge(b *testing.B) {
	var many []Status
	for i := range 1000 {
		many = append(many, Status(fmt.Sprint("S", i)))
	}
	p := item.Status.In(append(many, Published)...)
	it := full()
	b.ReportAllocs()
	for b.Loop() {
		if !p.Match(it) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkSort10000(b *testing.B) {
	src := make([]*Item, 10000)
	for i := range src {
		it := &Item{ID: fmt.Sprint(i), Title: ptr(fmt.Sprint("title ", i%97))}
		if i%10 != 0 {
			it.Rating = ptr(i % 13)
		}
		src[i] = it
	}
	items := make([]*Item, len(src))
	orders := []predicate.Order[Item]{item.Rating.Desc(), item.Title.Asc()}
	b.ReportAllocs()
	for b.Loop() {
		copy(items, src)
		predicate.Sort(items, orders...)
	}
}
