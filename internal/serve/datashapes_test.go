package serve_test

import (
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
