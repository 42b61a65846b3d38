package migratetest

import (
	"path/filepath"
	"strings"
	"testing"
)

// readings is how many records the resume test migrates: about a hundred
// batches.
const readings = 50000

// TestKilledMigrationResumes kills (SIGKILL) the v2 app while it migrates
// 50,000 records through a conversion that is not idempotent (value Int ->
// Float, doubled) and an added indexed field, after it reported three
// committed batches. The next start resumes, says so, and finishes: every
// record is converted exactly once and the new index has one entry per
// record.
func TestKilledMigrationResumes(t *testing.T) {
	t.Parallel()
	a := newApp(t, "readings/v1.graphql")
	a.run(t, "generate")
	v1 := a.build(t, "readings/v1/main.go", "v1")
	store := filepath.Join(t.TempDir(), "store")
	if ev := event(t, runApp(t, v1, "-dir", store), "written"); ev["count"] != float64(readings) {
		t.Fatalf("v1 wrote %v readings", ev["count"])
	}

	a.migrate(t, "readings/v2.graphql", 1, map[string]string{"convert0001ReadingValue": "\treturn float64(v.(int64)) * 2, nil\n"})
	v2 := a.build(t, "readings/v2/main.go", "v2")

	// The first run stops for good after its third committed batch and is
	// killed there.
	const stallAt = 3
	p := start(t, v2, "-dir", store, "-stall", "3")
	var first []map[string]any
	for batches := 0; batches < stallAt; {
		ev := p.next(t)
		if ev == nil {
			t.Fatalf("v2 ended after %d batches:\n%s\nstderr:\n%s", batches, jsonText(first), p.errText())
		}
		pr := ev["progress"].(map[string]any)
		first = append(first, pr)
		if pr["Phase"] == "records" {
			batches++
		}
	}
	p.kill(t)
	last := first[len(first)-1]
	if last["Model"] != "Reading" || last["Resumed"] != false {
		t.Fatalf("first run's reports:\n%s", jsonText(first))
	}
	doneBefore := int(last["Records"].(float64))
	if doneBefore <= 0 || doneBefore >= readings {
		t.Fatalf("first run migrated %d records before the kill", doneBefore)
	}

	t.Logf("killed after %d of %d records", doneBefore, readings)

	evs := runApp(t, v2, "-dir", store)
	prog := progress(evs)
	if len(prog) == 0 || prog[0]["Resumed"] != true {
		t.Fatalf("the second run does not report resuming:\n%s", jsonText(prog))
	}
	var records float64
	for _, pr := range prog {
		if pr["Resumed"] != true {
			t.Errorf("a report of the second run without Resumed: %v", pr)
		}
		if pr["Phase"] == "records" {
			records = pr["Records"].(float64)
		}
	}
	if prog[len(prog)-1]["Phase"] != "done" {
		t.Fatalf("the second run's reports do not end with done:\n%s", jsonText(prog))
	}
	// The second run did the records the first did not, no more.
	if int(records)+doneBefore != readings {
		t.Errorf("records migrated: %d before the kill + %v after = %v, want %d", doneBefore, records, float64(doneBefore)+records, readings)
	}
	ver := event(t, evs, "verified")
	if ver["count"] != float64(readings) || ver["wrong"] != nil {
		t.Errorf("after the resumed migration: %v readings, wrong: %v", ver["count"], ver["wrong"])
	}
	if ver["indexed"] != float64(readings) || ver["indexedIDs"] != float64(readings) || !strings.HasPrefix(ver["plan"].(string), "index byBucket") {
		t.Errorf("QueryByBucket(3): %v entries, %v distinct records, plan %q; want %d by index byBucket", ver["indexed"], ver["indexedIDs"], ver["plan"], readings)
	}

	// A third start has nothing to migrate and the same data.
	evs = runApp(t, v2, "-dir", store)
	if prog := progress(evs); len(prog) != 0 {
		t.Errorf("a third start migrated again:\n%s", jsonText(prog))
	}
	if ver := event(t, evs, "verified"); ver["count"] != float64(readings) || ver["wrong"] != nil || ver["indexed"] != float64(readings) {
		t.Errorf("third start: %v", ver)
	}
}
