package filter

import (
	"encoding/json"
	"testing"
)

// gen builds random filters and items from fuzz bytes.
type gen struct {
	b []byte
	i int
}

func (g *gen) next() byte {
	if g.i >= len(g.b) {
		return 0
	}
	c := g.b[g.i]
	g.i++
	return c
}

// fuzzFields are the attribute names random filters and items use.
func fuzzFields() []string { return []string{"a", "b", "c", "_deleted"} }

// fuzzOps are the operators random filters use, one of them unknown.
func fuzzOps() []string {
	return []string{"eq", "ne", "le", "lt", "ge", "gt", "between", "beginsWith", "contains", "notContains",
		"attributeExists", "attributeType", "size", "in", "notIn", "bogus"}
}

// value returns a random JSON-shaped value of any supported kind.
func (g *gen) value(depth int) any {
	switch g.next() % 14 {
	case 0:
		return nil
	case 1:
		return string([]byte{'a' + g.next()%3, g.next()})
	case 2:
		return float64(int8(g.next())) / 2
	case 3:
		return int64(int8(g.next()))
	case 4:
		return int(g.next() % 5)
	case 5:
		return json.Number([]string{"1", "2.5", "-3", "1e3", "x"}[g.next()%5])
	case 6:
		return g.next()%2 == 0
	case 7:
		return []string{"binary", "list", "map", "number", "string", "_null", "nope"}[g.next()%7]
	case 8, 9:
		if depth > 2 {
			return "s"
		}
		n := int(g.next() % 4)
		l := make([]any, n)
		for i := range l {
			l[i] = g.value(depth + 1)
		}
		return l
	case 10:
		if depth > 2 {
			return int32(1)
		}
		return map[string]any{"eq": g.value(depth + 1), "between": g.value(depth + 1)}
	case 11:
		return uint64(g.next()) << 56
	case 12:
		return float32(g.next())
	}
	return ""
}

func (g *gen) filter(depth int) map[string]any {
	m := map[string]any{}
	n := int(g.next() % 4)
	for range n {
		switch k := g.next() % 8; {
		case k == 0 && depth < 3:
			var l []any
			for range int(g.next() % 3) {
				l = append(l, g.filter(depth+1))
			}
			m[[]string{"and", "or"}[g.next()%2]] = l
		case k == 1 && depth < 3:
			m["not"] = g.filter(depth + 1)
		case k == 2:
			m[fuzzFields()[g.next()%4]] = g.value(depth)
		default:
			ops := map[string]any{}
			for range int(g.next()%3) + 1 {
				ops[fuzzOps()[int(g.next())%len(fuzzOps())]] = g.value(depth)
			}
			m[fuzzFields()[g.next()%4]] = ops
		}
	}
	return m
}

func (g *gen) item() map[string]any {
	m := map[string]any{}
	for _, f := range fuzzFields() {
		if g.next()%3 != 0 {
			m[f] = g.value(0)
		}
	}
	return m
}

// FuzzMatch runs random filters on random items: Match never panics,
// agrees with Validate on whether the filter is well-formed, and a
// well-formed filter's Match agrees with not(not(filter)) and with
// and[filter] (evaluation is compositional).
func FuzzMatch(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte("between contains size in notIn and or not"))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{3, 3, 9, 0, 6, 2, 1, 8, 8, 8, 8, 8, 14, 200, 17, 33})
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{b: data}
		flt := g.filter(0)
		item := g.item()
		ok, err := Match(flt, item)
		verr := Validate(flt)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Match err %v but Validate err %v", err, verr)
		}
		if err != nil {
			if ok {
				t.Fatal("Match returned true with an error")
			}
			return
		}
		notnot, err := Match(map[string]any{"not": map[string]any{"not": flt}}, item)
		if err != nil || notnot != ok {
			t.Fatalf("not(not(f)) = %v, %v; f = %v", notnot, err, ok)
		}
		and, err := Match(map[string]any{"and": []any{flt}}, item)
		if err != nil || and != ok {
			t.Fatalf("and[f] = %v, %v; f = %v", and, err, ok)
		}
	})
}
