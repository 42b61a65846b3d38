package datastore_test

import (
	"context"
	"testing"

	dsm "github.com/dsgen/dsgen/golden/data-shapes/model"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// TestDefaultsOnRequiredFields: every required field with a @default is a
// pointer; left nil it gets its default (a required enum among them, which
// used to fail validation, and an Int that used to stay 0), and values
// given are kept, zero values and false included.
func TestDefaultsOnRequiredFields(t *testing.T) {
	ctx := context.Background()
	ds := openShapes(t)
	d := &dsm.Defaults{}
	must(t, ds.Defaults.Save(ctx, d))
	got, err := ds.Defaults.Get(ctx, d.ID)
	must(t, err)
	if *got.Color != dsm.ColorGreen || *got.Count != 5 || *got.Name != "unnamed" || *got.Ratio != 0.5 || !*got.On ||
		!got.Day.Equal(scalar.MustParseDate("2020-01-02")) || *got.Epoch != 1700000000 || *got.Maybe != 7 {
		t.Fatalf("defaults not applied: %+v", got)
	}

	given := &dsm.Defaults{Color: ptr(dsm.ColorRed), Count: ptr(0), Name: ptr(""), Ratio: ptr(0.0), On: ptr(false),
		Day: ptr(scalar.MustParseDate("1999-12-31")), Epoch: ptr(scalar.Timestamp(0)), Maybe: ptr(0)}
	must(t, ds.Defaults.Save(ctx, given))
	got, err = ds.Defaults.Get(ctx, given.ID)
	must(t, err)
	if *got.Color != dsm.ColorRed || *got.Count != 0 || *got.Name != "" || *got.Ratio != 0 || *got.On ||
		!got.Day.Equal(scalar.MustParseDate("1999-12-31")) || *got.Epoch != 0 || *got.Maybe != 0 {
		t.Fatalf("given values replaced: %+v", got)
	}
}
