package datastore_test

import (
	"context"
	"testing"
	"time"

	dsm "github.com/dsgen/dsgen/golden/data-shapes/model"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// TestTimestampsDeclaredTypes saves models whose createdAt and updatedAt
// are declared as AWSDate, AWSTime, AWSTimestamp and String: each is
// stamped in its own type on create and update, and reads back.
func TestTimestampsDeclaredTypes(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	ds := openShapes(t, datastore.Clock(clock.Now))

	t.Run("AWSDate", func(t *testing.T) {
		start := clock.peek()
		d := &dsm.DateStamped{Name: ptr("a")}
		must(t, ds.DateStamped.Save(ctx, d))
		got, err := ds.DateStamped.Get(ctx, d.ID)
		must(t, err)
		today := scalar.NewDate(start.Date())
		if got.CreatedAt == nil || !got.CreatedAt.Equal(today) || !got.UpdatedAt.Equal(today) {
			t.Fatalf("stamped %v / %v, want %v", got.CreatedAt, got.UpdatedAt, today)
		}
	})
	t.Run("AWSTime", func(t *testing.T) {
		start := clock.peek()
		d := &dsm.TimeStamped{}
		must(t, ds.TimeStamped.Save(ctx, d))
		got, err := ds.TimeStamped.Get(ctx, d.ID)
		must(t, err)
		if got.CreatedAt.IsZero() || got.UpdatedAt == nil {
			t.Fatalf("not stamped: %+v", got)
		}
		if h, m, s := start.Clock(); got.CreatedAt.SinceMidnight() != time.Duration(h)*time.Hour+time.Duration(m)*time.Minute+time.Duration(s)*time.Second {
			t.Fatalf("createdAt %v, want the time of %v", got.CreatedAt, start)
		}
	})
	t.Run("AWSTimestamp", func(t *testing.T) {
		start := clock.peek()
		d := &dsm.EpochStamped{}
		must(t, ds.EpochStamped.Save(ctx, d))
		got, err := ds.EpochStamped.Get(ctx, d.ID)
		must(t, err)
		if got.CreatedAt == nil || *got.CreatedAt != scalar.NewTimestamp(start) || got.UpdatedAt != scalar.NewTimestamp(start) {
			t.Fatalf("stamped %v / %v, want %d", got.CreatedAt, got.UpdatedAt, start.Unix())
		}
		// An update moves updatedAt and keeps createdAt.
		created, updated := *got.CreatedAt, got.UpdatedAt
		must(t, ds.EpochStamped.Save(ctx, got))
		again, err := ds.EpochStamped.Get(ctx, d.ID)
		must(t, err)
		if *again.CreatedAt != created || again.UpdatedAt <= updated {
			t.Fatalf("after update %v / %v, was %v / %v", *again.CreatedAt, again.UpdatedAt, created, updated)
		}
	})
	t.Run("String", func(t *testing.T) {
		start := clock.peek()
		d := &dsm.TextStamped{}
		must(t, ds.TextStamped.Save(ctx, d))
		got, err := ds.TextStamped.Get(ctx, d.ID)
		must(t, err)
		if want := scalar.NewDateTime(start).String(); got.CreatedAt == nil || *got.CreatedAt != want {
			t.Fatalf("createdAt %v, want %q", got.CreatedAt, want)
		}
	})
}

// TestTimestampsRenamed covers @model(timestamps: {...}): a renamed
// createdAt, a disabled updatedAt, renamed declared ones and none at all.
func TestTimestampsRenamed(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	ds := openShapes(t, datastore.Clock(clock.Now))

	start := clock.peek()
	r := &dsm.Renamed{Title: ptr("x")}
	must(t, ds.Renamed.Save(ctx, r))
	got, err := ds.Renamed.Get(ctx, r.ID)
	must(t, err)
	if got.CreatedOn == nil || !got.CreatedOn.Equal(scalar.NewDateTime(start)) {
		t.Fatalf("createdOn = %v, want %v", got.CreatedOn, start)
	}
	must(t, ds.Renamed.Save(ctx, got))
	again, err := ds.Renamed.Get(ctx, r.ID)
	must(t, err)
	if !again.CreatedOn.Equal(*got.CreatedOn) {
		t.Fatalf("update moved createdOn: %v -> %v", got.CreatedOn, again.CreatedOn)
	}

	start = clock.peek()
	rd := &dsm.RenamedDeclared{}
	must(t, ds.RenamedDeclared.Save(ctx, rd))
	gotd, err := ds.RenamedDeclared.Get(ctx, rd.ID)
	must(t, err)
	if gotd.CreatedOn == nil || *gotd.CreatedOn != scalar.NewTimestamp(start) || gotd.ChangedOn == nil || !gotd.ChangedOn.Equal(scalar.NewDate(start.Date())) {
		t.Fatalf("renamed declared = %+v", gotd)
	}

	u := &dsm.Unstamped{}
	must(t, ds.Unstamped.Save(ctx, u))
	if _, err := ds.Unstamped.Get(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
}

// TestTimestampsCallerValues follows Amplify's resolvers: a declared
// timestamp the caller sets is kept, one left null is stamped; updatedAt
// read with the record and saved unchanged is stamped anew. Timestamps the
// schema does not declare are the store's alone.
func TestTimestampsCallerValues(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	ds := openShapes(t, datastore.Clock(clock.Now))

	given := scalar.MustParseDate("2001-02-03")
	d := &dsm.DateStamped{CreatedAt: &given, UpdatedAt: given}
	must(t, ds.DateStamped.Save(ctx, d))
	got, err := ds.DateStamped.Get(ctx, d.ID)
	must(t, err)
	if !got.CreatedAt.Equal(given) || !got.UpdatedAt.Equal(given) {
		t.Fatalf("explicit values not kept: %v / %v", got.CreatedAt, got.UpdatedAt)
	}
	// Saved again as read: updatedAt is stamped, createdAt kept.
	must(t, ds.DateStamped.Save(ctx, got))
	again, err := ds.DateStamped.Get(ctx, d.ID)
	must(t, err)
	if !again.CreatedAt.Equal(given) || again.UpdatedAt.Equal(given) {
		t.Fatalf("after a plain update: %v / %v", again.CreatedAt, again.UpdatedAt)
	}
	// A changed updatedAt is the caller's.
	later := scalar.MustParseDate("2030-01-01")
	again.UpdatedAt = later
	again.CreatedAt = nil
	must(t, ds.DateStamped.Save(ctx, again))
	third, err := ds.DateStamped.Get(ctx, d.ID)
	must(t, err)
	if !third.UpdatedAt.Equal(later) || !third.CreatedAt.Equal(given) {
		t.Fatalf("after an explicit update: %v / %v, want %v / %v", third.CreatedAt, third.UpdatedAt, given, later)
	}

	// Implicit timestamps ignore what callers set.
	start := clock.peek()
	old := scalar.MustParseDateTime("2001-02-03T04:05:06.000Z")
	r := &dsm.Renamed{CreatedOn: &old}
	must(t, ds.Renamed.Save(ctx, r))
	gr, err := ds.Renamed.Get(ctx, r.ID)
	must(t, err)
	if !gr.CreatedOn.Equal(scalar.NewDateTime(start)) {
		t.Fatalf("implicit createdOn = %v, want the store's %v", gr.CreatedOn, start)
	}
}
