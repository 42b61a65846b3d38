package datastore_test

// Shared helpers of the end-to-end suite (e2e_*_test.go). The suite drives
// the runtime through the generated packages, on Badger on disk in
// t.TempDir() unless a test is about something else.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	scm "github.com/dsgen/dsgen/golden/aws-scalars/model"
	ckm "github.com/dsgen/dsgen/golden/composite-keys/model"
	dsm "github.com/dsgen/dsgen/golden/data-shapes/model"
	enm "github.com/dsgen/dsgen/golden/enums-nonmodels/model"
	relm "github.com/dsgen/dsgen/golden/relations/model"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
)

// hangGuard bounds a wait for something that must happen, so a broken
// test fails instead of hanging. It is no timing assertion: minutes, so a
// loaded machine never trips it.
const hangGuard = 5 * time.Minute

func ptr[T any](v T) *T { return &v }

// closeAtEnd closes a store when the test ends.
type closer interface {
	Close(context.Context) error
}

func closeAtEnd(t testing.TB, c closer) {
	t.Helper()
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
}

// The openers open a generated store in a fresh temp dir (on disk) with the
// given options, closed at the end of the test.

func openBlog(t testing.TB, opts ...datastore.Option) *blogm.DataStore {
	t.Helper()
	ds, err := blogm.Open(context.Background(), t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("open blog store: %v", err)
	}
	closeAtEnd(t, ds)
	return ds
}

func openKeys(t testing.TB, opts ...datastore.Option) *ckm.DataStore {
	t.Helper()
	ds, err := ckm.Open(context.Background(), t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("open composite-keys store: %v", err)
	}
	closeAtEnd(t, ds)
	return ds
}

func openRelations(t testing.TB, opts ...datastore.Option) *relm.DataStore {
	t.Helper()
	ds, err := relm.Open(context.Background(), t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("open relations store: %v", err)
	}
	closeAtEnd(t, ds)
	return ds
}

func openScalars(t testing.TB, opts ...datastore.Option) *scm.DataStore {
	t.Helper()
	ds, err := scm.Open(context.Background(), t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("open aws-scalars store: %v", err)
	}
	closeAtEnd(t, ds)
	return ds
}

func openEnums(t testing.TB, opts ...datastore.Option) *enm.DataStore {
	t.Helper()
	ds, err := enm.Open(context.Background(), t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("open enums-nonmodels store: %v", err)
	}
	closeAtEnd(t, ds)
	return ds
}

// fakeClock is a deterministic clock for datastore.Clock: it returns its
// current time and moves one second forward on every call.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(time.Second)
	return t
}

// peek returns the time the next call to Now will return.
func (c *fakeClock) peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// queryCase is one query of a comparison against brute force.
type queryCase[T any] struct {
	name string
	pred predicate.Predicate[T]
	// plan, when set, must be a prefix of the query's Plan().
	plan string
	// want, when set, is an oracle written out by hand (independent of
	// predicate.Match) that the results must also agree with.
	want func(*T) bool
}

// bruteForce returns the records of all matching p, sorted by orders and
// then by less (the primary key order).
func bruteForce[T any](all []*T, p predicate.Predicate[T], less func(a, b *T) int, orders ...predicate.Order[T]) []*T {
	var out []*T
	for _, v := range all {
		if p.Match(v) {
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(a, b *T) int {
		if c := predicate.Compare(a, b, orders...); c != 0 {
			return c
		}
		return less(a, b)
	})
	return out
}

// keysOf returns the keys of items, by key.
func keysOf[T any](items []*T, key func(*T) string) []string {
	out := make([]string, len(items))
	for i, v := range items {
		out[i] = key(v)
	}
	return out
}

func sortedKeys[T any](items []*T, key func(*T) string) []string {
	out := keysOf(items, key)
	slices.Sort(out)
	return out
}

// diffKeys describes how got differs from want, for failure messages.
func diffKeys(got, want []string) string {
	if slices.Equal(got, want) {
		return ""
	}
	in := func(xs []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var extra, missing []string
	for _, x := range got {
		if !w[x] {
			extra = append(extra, x)
		}
	}
	for _, x := range want {
		if !g[x] {
			missing = append(missing, x)
		}
	}
	if len(extra) == 0 && len(missing) == 0 {
		return fmt.Sprintf("same %d records in a different order:\n got  %v\n want %v", len(got), short(got), short(want))
	}
	return fmt.Sprintf("got %d records, want %d; extra %v, missing %v", len(got), len(want), short(extra), short(missing))
}

func short(xs []string) string {
	if len(xs) > 40 {
		return fmt.Sprintf("%v ... (%d)", xs[:40], len(xs))
	}
	return fmt.Sprint(xs)
}

// checkCases runs every case against the store (through the query q made
// by newQuery) and compares the results with brute force over all: as sets,
// with the scan forced by wrapping the predicate in Not(Not(...)), and with
// the plan the case expects.
func checkCases[T any](t *testing.T, all []*T, key func(*T) string, newQuery func() *datastore.Query[T], cases []queryCase[T]) {
	t.Helper()
	ctx := context.Background()
	for _, c := range cases {
		want := sortedKeys(bruteForce(all, c.pred, func(a, b *T) int { return cmp.Compare(key(a), key(b)) }), key)
		q := newQuery().Where(c.pred)
		plan := q.Plan()
		if c.plan != "" && !strings.HasPrefix(plan, c.plan) {
			t.Errorf("%s: where %s: plan %q, want it to start with %q", c.name, c.pred, plan, c.plan)
		}
		got, err := q.All(ctx)
		if err != nil {
			t.Errorf("%s: where %s: %v", c.name, c.pred, err)
			continue
		}
		if d := diffKeys(sortedKeys(got, key), want); d != "" {
			t.Errorf("%s: where %s (plan %s): %s", c.name, c.pred, plan, d)
		}
		if c.want != nil {
			var oracle []*T
			for _, v := range all {
				if c.want(v) {
					oracle = append(oracle, v)
				}
			}
			if d := diffKeys(want, sortedKeys(oracle, key)); d != "" {
				t.Errorf("%s: where %s: predicate.Match disagrees with the hand-written semantics: %s", c.name, c.pred, d)
			}
		}
		sq := newQuery().Where(predicate.Not(predicate.Not(c.pred)))
		if p := sq.Plan(); p != "scan" {
			t.Errorf("%s: forced scan has plan %q", c.name, p)
		}
		scanned, err := sq.All(ctx)
		if err != nil {
			t.Errorf("%s: scan: %v", c.name, err)
			continue
		}
		if d := diffKeys(sortedKeys(scanned, key), want); d != "" {
			t.Errorf("%s: where %s, scanned: %s", c.name, c.pred, d)
		}
		n, err := newQuery().Where(c.pred).Count(ctx)
		if err != nil || n != len(want) {
			t.Errorf("%s: Count = %d, %v; want %d", c.name, n, err, len(want))
		}
	}
}

// waitUntil polls cond until it holds; the hang guard only turns a hang
// into a failure.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// recv receives one value from ch or fails the test after a timeout.
func recv[V any](t testing.TB, ch <-chan V, what string) V {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed", what)
		}
		return v
	case <-time.After(hangGuard):
		t.Fatalf("%s: nothing received before the hang guard", what)
	}
	panic("unreachable")
}

// quiet fails the test if ch delivers anything within d.
func quiet[V any](t testing.TB, ch <-chan V, d time.Duration, what string) {
	t.Helper()
	select {
	case v, ok := <-ch:
		if ok {
			t.Fatalf("%s: unexpected %+v", what, v)
		}
		t.Fatalf("%s: channel closed unexpectedly", what)
	case <-time.After(d):
	}
}

// closed waits until ch is closed, draining it, or fails after a timeout.
func closed[V any](t testing.TB, ch <-chan V, what string) []V {
	t.Helper()
	var got []V
	deadline := time.After(hangGuard)
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, v)
		case <-deadline:
			t.Fatalf("%s: channel not closed before the hang guard (%d values received)", what, len(got))
		}
	}
}

func openShapes(t testing.TB, opts ...datastore.Option) *dsm.DataStore {
	t.Helper()
	ds, err := dsm.Open(context.Background(), t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("open data-shapes store: %v", err)
	}
	closeAtEnd(t, ds)
	return ds
}
