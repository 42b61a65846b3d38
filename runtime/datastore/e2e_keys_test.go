package datastore_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	ckm "github.com/dsgen/dsgen/golden/composite-keys/model"
	"github.com/dsgen/dsgen/golden/composite-keys/model/project"
	"github.com/dsgen/dsgen/golden/composite-keys/model/reading"
	"github.com/dsgen/dsgen/golden/composite-keys/model/task"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/scalar"
)

func taskKey(t *ckm.Task) string {
	return fmt.Sprintf("%s|%s|%d", t.TaskID, t.DueOn, t.Priority)
}

// taskLess is the primary key order: taskId, then dueOn as an instant
// (text for ties), then priority.
func taskLess(a, b *ckm.Task) int {
	if c := strings.Compare(a.TaskID, b.TaskID); c != 0 {
		return c
	}
	if c := a.DueOn.Compare(b.DueOn); c != 0 {
		return c
	}
	return cmp.Compare(a.Priority, b.Priority)
}

// Dates whose text order differs from their order as instants: a date
// with a positive offset starts before the same calendar date in UTC.
var taskDates = []string{"2024-01-01", "2024-01-02", "2024-01-02+14:00", "2024-01-01-12:00", "2023-12-31", "2024-01-10", "2024-01-02Z"}

func TestE2ECompositeKeys(t *testing.T) {
	ctx := context.Background()
	ds := openKeys(t)
	d := scalar.MustParseDate
	rng := rand.New(rand.NewPCG(6, 6))

	// Projects: Get by the full key only.
	must(t, ds.Project.Save(ctx, &ckm.Project{ProjectID: "p1", Name: "alpha"}))
	must(t, ds.Project.Save(ctx, &ckm.Project{ProjectID: "p1", Name: "beta"}))
	must(t, ds.Project.Save(ctx, &ckm.Project{ProjectID: "p2", Name: "alpha"}))
	got, err := ds.Project.Get(ctx, "p1", "beta")
	if err != nil || got.ProjectID != "p1" || got.Name != "beta" {
		t.Fatalf("Get p1/beta: %+v, %v", got, err)
	}
	if _, err := ds.Project.Get(ctx, "p1", "gamma"); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("Get p1/gamma: %v, want ErrNotFound", err)
	}
	ps, err := ds.Project.Query().Where(project.ProjectID.Eq("p1")).All(ctx)
	must(t, err)
	if got := fmt.Sprintf("%d %s %s", len(ps), ps[0].Name, ps[1].Name); got != "2 alpha beta" {
		t.Errorf("projects of p1: %s", got)
	}
	if p := ds.Project.Query().Where(project.ProjectID.Eq("p1")).Plan(); p != "primary key: 1 eq" {
		t.Errorf("partition key plan: %q", p)
	}
	if p := ds.Project.Query().Where(project.Name.Eq("alpha"), project.ProjectID.Eq("p2")).Plan(); p != "get by primary key" {
		t.Errorf("full key plan: %q", p)
	}
	if p := ds.Project.Query().Where(project.Name.Eq("alpha")).Plan(); p != "scan" {
		t.Errorf("sort key alone plan: %q", p)
	}

	// Tasks: three key fields, one an AWSDate.
	var all []*ckm.Task
	seen := map[string]bool{}
	for len(all) < 100 {
		tk := &ckm.Task{
			TaskID:   []string{"t1", "t2", "t10"}[rng.IntN(3)],
			DueOn:    d(taskDates[rng.IntN(len(taskDates))]),
			Priority: rng.IntN(7) - 3,
		}
		if rng.IntN(2) == 0 {
			tk.Title = ptr(fmt.Sprint("title ", rng.IntN(5)))
		}
		if seen[taskKey(tk)] {
			continue
		}
		seen[taskKey(tk)] = true
		must(t, ds.Task.Save(ctx, tk))
		all = append(all, tk)
	}
	one := all[17]
	if got, err := ds.Task.Get(ctx, one.TaskID, one.DueOn, one.Priority); err != nil || taskKey(got) != taskKey(one) {
		t.Errorf("Get task %s: %v, %v", taskKey(one), got, err)
	}
	// The same calendar date in another zone is another key.
	if _, err := ds.Task.Get(ctx, "t1", d("2024-01-05"), 0); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("Get missing task: %v", err)
	}

	cases := []queryCase[ckm.Task]{
		{name: "partition", pred: task.TaskID.Eq("t1"), plan: "primary key: 1 eq"},
		{name: "partition+date", pred: predicate.And(task.TaskID.Eq("t1"), task.DueOn.Eq(d("2024-01-02"))), plan: "primary key: 2 eq"},
		{name: "full key", pred: predicate.And(task.Priority.Eq(1), task.TaskID.Eq("t2"), task.DueOn.Eq(d("2024-01-02+14:00"))), plan: "get by primary key"},
		{name: "date gt", pred: predicate.And(task.TaskID.Eq("t1"), task.DueOn.Gt(d("2024-01-01"))), plan: "primary key: 1 eq, gt",
			want: func(x *ckm.Task) bool { return x.TaskID == "t1" && x.DueOn.Compare(d("2024-01-01")) > 0 }},
		{name: "date ge", pred: predicate.And(task.TaskID.Eq("t2"), task.DueOn.Ge(d("2024-01-02"))), plan: "primary key: 1 eq, ge"},
		{name: "date lt", pred: predicate.And(task.TaskID.Eq("t10"), task.DueOn.Lt(d("2024-01-02"))), plan: "primary key: 1 eq, lt",
			// 2024-01-02+14:00 starts at 2024-01-01T10:00Z, before 2024-01-02.
			want: func(x *ckm.Task) bool { return x.TaskID == "t10" && x.DueOn.Time().Before(d("2024-01-02").Time()) }},
		{name: "date le", pred: predicate.And(task.TaskID.Eq("t10"), task.DueOn.Le(d("2024-01-02"))), plan: "primary key: 1 eq, le"},
		{name: "date between", pred: predicate.And(task.TaskID.Eq("t1"), task.DueOn.Between(d("2024-01-01-12:00"), d("2024-01-02"))), plan: "primary key: 1 eq, between"},
		{name: "date in", pred: predicate.And(task.TaskID.Eq("t1"), task.DueOn.In(d("2024-01-02Z"), d("2023-12-31"))), plan: "primary key: 1 eq, in"},
		{name: "priority range", pred: predicate.And(task.TaskID.Eq("t2"), task.DueOn.Eq(d("2024-01-01")), task.Priority.Between(-1, 2)), plan: "primary key: 2 eq, between"},
		{name: "priority lt", pred: predicate.And(task.TaskID.Eq("t2"), task.DueOn.Eq(d("2024-01-01")), task.Priority.Lt(0)), plan: "primary key: 2 eq, lt"},
		{name: "priority without date", pred: predicate.And(task.TaskID.Eq("t2"), task.Priority.Lt(0)), plan: "primary key: 1 eq"},
		{name: "task in", pred: task.TaskID.In("t10", "t2"), plan: "primary key: 0 eq, in"},
		{name: "task beginsWith", pred: task.TaskID.BeginsWith("t1"), plan: "primary key: 0 eq, beginsWith"},
		{name: "title", pred: task.Title.Eq("title 1"), plan: "scan"},
		{name: "title null", pred: task.Title.NotExists()},
	}
	checkCases(t, all, taskKey, ds.Task.Query, cases)

	// Without an order, results come in key order, with dates as instants.
	for _, p := range []predicate.Predicate[ckm.Task]{task.TaskID.Eq("t1"), task.TaskID.In("t2", "t10"), predicate.All[ckm.Task]()} {
		got, err := ds.Task.Query().Where(p).All(ctx)
		must(t, err)
		want := bruteForce(all, p, taskLess)
		if d := diffKeys(keysOf(got, taskKey), keysOf(want, taskKey)); d != "" {
			t.Errorf("key order of %s: %s", p, d)
		}
	}
	// Sorted by the date descending, then the key.
	for _, limit := range []int{0, 1, 5} {
		q := ds.Task.Query().Where(task.TaskID.Eq("t2")).Order(task.DueOn.Desc()).Limit(limit)
		got, err := q.All(ctx)
		must(t, err)
		want := pageOf(bruteForce(all, task.TaskID.Eq("t2"), taskLess, task.DueOn.Desc()), limit, 0)
		if d := diffKeys(keysOf(got, taskKey), keysOf(want, taskKey)); d != "" {
			t.Errorf("dueOn desc limit %d (plan %s): %s", limit, q.Plan(), d)
		}
	}

	// Delete by the full key.
	must(t, ds.Task.DeleteKey(ctx, one.TaskID, one.DueOn, one.Priority))
	if _, err := ds.Task.Get(ctx, one.TaskID, one.DueOn, one.Priority); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("Get after DeleteKey: %v", err)
	}
	if err := ds.Task.DeleteKey(ctx, one.TaskID, one.DueOn, one.Priority); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("DeleteKey twice: %v", err)
	}
}

func TestE2EDateTimeSortKey(t *testing.T) {
	ctx := context.Background()
	ds := openKeys(t)
	dt := scalar.MustParseDateTime
	// In text order these are not chronological.
	texts := []string{
		"2024-01-01T10:00:00+02:00", // 08:00Z
		"2024-01-01T09:00:00Z",
		"2024-01-01T08:30:00-01:00", // 09:30Z
		"2024-01-01T09:00:00.5Z",
		"2023-12-31T23:00:00-05:00", // 2024-01-01T04:00Z
		"2024-01-01T09:00:00.000Z",  // the same instant as 09:00:00Z, another key
	}
	for i, s := range texts {
		must(t, ds.Reading.Save(ctx, &ckm.Reading{Sensor: "s1", TakenAt: dt(s), Value: float64(i)}))
		must(t, ds.Reading.Save(ctx, &ckm.Reading{Sensor: "s2", TakenAt: dt(s), Value: float64(-i)}))
	}
	order := func(rs []*ckm.Reading) string {
		var out []string
		for _, r := range rs {
			out = append(out, r.TakenAt.String())
		}
		return strings.Join(out, " ")
	}
	chrono := "2023-12-31T23:00:00-05:00 2024-01-01T10:00:00+02:00 2024-01-01T09:00:00.000Z 2024-01-01T09:00:00Z 2024-01-01T09:00:00.5Z 2024-01-01T08:30:00-01:00"
	q := ds.Reading.Query().Where(reading.Sensor.Eq("s1"))
	if p := q.Plan(); p != "primary key: 1 eq" {
		t.Errorf("plan %q", p)
	}
	rs, err := q.All(ctx)
	must(t, err)
	if got := order(rs); got != chrono {
		t.Errorf("key order:\n got  %s\n want %s", got, chrono)
	}
	rs, err = ds.Reading.Query().Where(reading.Sensor.Eq("s2")).Order(reading.TakenAt.Desc()).Limit(2).All(ctx)
	must(t, err)
	if got := order(rs); got != "2024-01-01T08:30:00-01:00 2024-01-01T09:00:00.5Z" {
		t.Errorf("desc limit 2: %s", got)
	}
	// A range by instant: after 08:00Z, up to 09:00Z. Values denoting the
	// bound's instant in other text compare by text (scalar.DateTime.Compare
	// is a total order): 10:00+02:00 is 08:00Z but sorts after the text
	// 08:00:00Z, and 09:00:00.000Z sorts before 09:00:00Z.
	q = ds.Reading.Query().Where(reading.Sensor.Eq("s1"), reading.TakenAt.Gt(dt("2024-01-01T08:00:00Z")), reading.TakenAt.Le(dt("2024-01-01T09:00:00Z")))
	if p := q.Plan(); p != "primary key: 1 eq, gt+le" {
		t.Errorf("range plan %q", p)
	}
	rs, err = q.All(ctx)
	must(t, err)
	if got := order(rs); got != "2024-01-01T10:00:00+02:00 2024-01-01T09:00:00.000Z 2024-01-01T09:00:00Z" {
		t.Errorf("range: %s", got)
	}
	rs, err = ds.Reading.Query().Where(reading.Sensor.Eq("s1"), reading.TakenAt.Between(dt("2024-01-01T03:59:59Z"), dt("2024-01-01T08:00:01Z"))).All(ctx)
	must(t, err)
	if got := order(rs); got != "2023-12-31T23:00:00-05:00 2024-01-01T10:00:00+02:00" {
		t.Errorf("between: %s", got)
	}

	r, err := ds.Reading.Get(ctx, "s1", dt("2024-01-01T08:30:00-01:00"))
	if err != nil || r.Value != 2 {
		t.Errorf("Get: %+v, %v", r, err)
	}
	if _, err := ds.Reading.Get(ctx, "s1", dt("2024-01-01T09:30:00Z")); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("Get by an equal instant with other text: %v, want ErrNotFound", err)
	}
	n, err := ds.Reading.Query().Count(ctx)
	if err != nil || n != 2*len(texts) {
		t.Errorf("Count = %d, %v", n, err)
	}
}

// TestKeyFromJSONNumbers: a key decoded from JSON (float64 for a number,
// or json.Number) finds the record whose Int key field holds that whole
// number, as the typed int does; a fraction for an Int is refused by name.
func TestKeyFromJSONNumbers(t *testing.T) {
	ctx := context.Background()
	ds := openKeys(t)
	due, err := scalar.ParseDate("2026-12-03")
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Task.Save(ctx, &ckm.Task{TaskID: "t1", DueOn: due, Priority: 2, Title: ptr("ship")}); err != nil {
		t.Fatal(err)
	}
	for _, prio := range []any{2, int64(2), float64(2), json.Number("2")} {
		got, err := ds.Task.Repo().Get(ctx, "t1", "2026-12-03", prio)
		if err != nil || got == nil || *got.Title != "ship" {
			t.Errorf("Get with priority %#v: %+v, %v; want the task", prio, got, err)
		}
	}
	var ve *datastore.ValidationError
	if _, err := ds.Task.Repo().Get(ctx, "t1", "2026-12-03", 2.5); !errors.As(err, &ve) || ve.Field != "priority" {
		t.Errorf("Get with priority 2.5: %v, want a ValidationError on priority", err)
	}
}
