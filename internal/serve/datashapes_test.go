package serve_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/runtime/meta"
)

// shapesSchema loads golden/data-shapes: declared and renamed timestamps,
// nullable list elements and @default on required fields.
func shapesSchema(t testing.TB) *meta.Schema {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "golden", "data-shapes", "schema.graphql")
	s, err := schema.LoadPath(path, schema.Options{})
	if err != nil {
		t.Fatalf("load data-shapes schema: %v", err)
	}
	return s
}

// TestServeTimestampsDeclaredTypes creates and updates records whose
// timestamps are declared AWSDate, AWSTime, AWSTimestamp and String: the
// server stamps each in its type, keeps values the caller gives, and keeps
// createdAt on update.
func TestServeTimestampsDeclaredTypes(t *testing.T) {
	clock := newClock()
	e := newEnv(t, envOptions{schema: shapesSchema(t), clock: clock})
	now := clock.Now()

	cases := []struct {
		model, fields            string
		wantCreated, wantUpdated any
	}{
		{"DateStamped", "createdAt updatedAt", now.Format("2006-01-02"), now.Format("2006-01-02")},
		{"TimeStamped", "createdAt updatedAt", now.Format("15:04:05.000Z"), now.Format("15:04:05.000Z")},
		{"EpochStamped", "createdAt updatedAt", now.Unix(), now.Unix()},
		{"TextStamped", "createdAt updatedAt", now.Format("2006-01-02T15:04:05.000Z"), now.Format("2006-01-02T15:04:05.000Z")},
		{"RenamedDeclared", "createdAt: createdOn updatedAt: changedOn", now.Unix(), now.Format("2006-01-02")},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			doc := "mutation($input: Create" + c.model + "Input!) { create" + c.model + "(input: $input) { id " + c.fields + " _version } }"
			got := mustOK(t, e.do(t, doc, map[string]any{"input": map[string]any{}})).field("create" + c.model)
			checkStamp(t, "createdAt", got["createdAt"], c.wantCreated)
			checkStamp(t, "updatedAt", got["updatedAt"], c.wantUpdated)
		})
	}

	// A value the caller gives is kept.
	doc := "mutation($input: CreateDateStampedInput!) { createDateStamped(input: $input) { id createdAt updatedAt _version } }"
	got := mustOK(t, e.do(t, doc, map[string]any{"input": map[string]any{"createdAt": "2001-02-03", "updatedAt": "2001-02-04"}})).field("createDateStamped")
	checkStamp(t, "createdAt", got["createdAt"], "2001-02-03")
	checkStamp(t, "updatedAt", got["updatedAt"], "2001-02-04")

	// An update a day later stamps updatedAt and keeps createdAt.
	clock.Advance(24 * time.Hour)
	upd := "mutation($input: UpdateEpochStampedInput!) { updateEpochStamped(input: $input) { id createdAt updatedAt } }"
	created := mustOK(t, e.do(t, "mutation { createEpochStamped(input: {}) { id _version } }", nil)).field("createEpochStamped")
	clock.Advance(time.Hour)
	after := mustOK(t, e.do(t, upd, map[string]any{"input": map[string]any{"id": created["id"], "_version": created["_version"]}})).field("updateEpochStamped")
	checkStamp(t, "createdAt", after["createdAt"], now.Add(24*time.Hour).Unix())
	checkStamp(t, "updatedAt", after["updatedAt"], now.Add(25*time.Hour).Unix())
}

func checkStamp(t *testing.T, name string, got, want any) {
	t.Helper()
	if w, ok := want.(int64); ok {
		if num(t, got) != w {
			t.Errorf("%s = %v, want %d", name, got, w)
		}
		return
	}
	if got != want {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}

// TestServeListNullElements creates a record whose nullable-element lists
// hold nulls (an enum list among them) and reads it back through get and
// sync: the nulls stay null, zero values stay values.
func TestServeListNullElements(t *testing.T) {
	e := newEnv(t, envOptions{schema: shapesSchema(t)})
	input := map[string]any{
		"id":        "l1",
		"colors":    []any{"RED", nil, "BLUE"},
		"colorsReq": []any{"GREEN"},
		"strings":   []any{nil, "", "x"},
		"ints":      []any{0, nil, -3},
		"floats":    []any{nil, 1.5},
		"bools":     []any{false, nil},
		"dates":     []any{nil, "2024-02-29"},
		"epochs":    []any{nil, 0},
		"jsons":     []any{`{"a":1}`, nil},
		"emails":    []any{nil, "a@example.com"},
		"points":    []any{map[string]any{"x": 1}, nil},
	}
	sel := "id colors colorsReq strings ints floats bools dates epochs jsons emails points { x label } _version"
	created := mustOK(t, e.do(t, "mutation($input: CreateListsInput!) { createLists(input: $input) { "+sel+" } }", map[string]any{"input": input})).field("createLists")
	got := mustOK(t, e.do(t, "query { getLists(id: \"l1\") { "+sel+" } }", nil)).field("getLists")
	synced := mustOK(t, e.do(t, "query { syncLists { items { "+sel+" } } }", nil)).field("syncLists")["items"].([]any)[0].(map[string]any)
	want := map[string]string{
		"colors": "[RED <nil> BLUE]", "colorsReq": "[GREEN]", "strings": "[<nil>  x]", "ints": "[0 <nil> -3]",
		"floats": "[<nil> 1.5]", "bools": "[false <nil>]", "dates": "[<nil> 2024-02-29]", "epochs": "[<nil> 0]",
		"jsons": `[{"a":1} <nil>]`, "emails": "[<nil> a@example.com]", "points": "[map[label:<nil> x:1] <nil>]",
	}
	for name, rec := range map[string]map[string]any{"create": created, "get": got, "sync": synced} {
		for f, w := range want {
			if g := fmt.Sprint(rec[f]); g != w {
				t.Errorf("%s: %s = %s, want %s", name, f, g, w)
			}
		}
	}
}

// TestServeDefaultsOnRequiredFields creates a record without its required
// fields that have a @default: they are optional in the create input, as
// Amplify generates it, and get their defaults; values given are kept.
func TestServeDefaultsOnRequiredFields(t *testing.T) {
	e := newEnv(t, envOptions{schema: shapesSchema(t)})
	sel := "id color count name ratio on day epoch maybe"
	doc := "mutation($input: CreateDefaultsInput!) { createDefaults(input: $input) { " + sel + " } }"
	got := mustOK(t, e.do(t, doc, map[string]any{"input": map[string]any{}})).field("createDefaults")
	want := map[string]string{"color": "GREEN", "count": "5", "name": "unnamed", "ratio": "0.5", "on": "true", "day": "2020-01-02", "epoch": "1700000000", "maybe": "7"}
	for f, w := range want {
		if g := fmt.Sprint(got[f]); g != w {
			t.Errorf("%s = %s, want %s", f, g, w)
		}
	}
	got = mustOK(t, e.do(t, doc, map[string]any{"input": map[string]any{"color": "RED", "count": 0, "on": false, "maybe": nil}})).field("createDefaults")
	want = map[string]string{"color": "RED", "count": "0", "on": "false", "maybe": "7"}
	for f, w := range want {
		if g := fmt.Sprint(got[f]); g != w {
			t.Errorf("given: %s = %s, want %s", f, g, w)
		}
	}
}
