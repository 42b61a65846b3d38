package datastore_test

import (
	"context"
	"reflect"
	"testing"

	dsm "github.com/dsgen/dsgen/golden/data-shapes/model"
	"github.com/dsgen/dsgen/golden/data-shapes/model/lists"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// fullLists returns a Lists record with a null element in every list of
// nullable elements ([T], []*T) and values in every list of non-null ones
// ([T!], []T), for every scalar, an enum and a non-model type.
func fullLists(id string) *dsm.Lists {
	return &dsm.Lists{
		ID:           id,
		Colors:       []*dsm.Color{ptr(dsm.ColorRed), nil, ptr(dsm.ColorBlue)},
		ColorsReq:    []dsm.Color{dsm.ColorGreen},
		Strings:      []*string{nil, ptr(""), ptr("x")},
		StringsReq:   []string{"", "y"},
		Ids:          []*string{ptr("a"), nil},
		Ints:         []*int{ptr(0), nil, ptr(-3)},
		IntsReq:      []int{0, 7},
		Floats:       []*float64{nil, ptr(0.0), ptr(1.5)},
		FloatsReq:    []float64{0, -2.5},
		Bools:        []*bool{ptr(false), nil, ptr(true)},
		BoolsReq:     []bool{false, true},
		Dates:        []*scalar.Date{nil, ptr(scalar.MustParseDate("2024-02-29"))},
		DatesReq:     []scalar.Date{scalar.MustParseDate("2024-01-01Z")},
		Times:        []*scalar.Time{ptr(scalar.MustParseTime("12:30")), nil},
		TimesReq:     []scalar.Time{scalar.MustParseTime("00:00:00.000Z")},
		DateTimes:    []*scalar.DateTime{nil},
		DateTimesReq: []scalar.DateTime{scalar.MustParseDateTime("2024-01-01T00:00:00.000Z")},
		Epochs:       []*scalar.Timestamp{ptr(scalar.Timestamp(0)), nil},
		EpochsReq:    []scalar.Timestamp{0, 1700000000},
		Emails:       []*scalar.Email{nil, ptr(scalar.MustParseEmail("a@example.com"))},
		EmailsReq:    []scalar.Email{scalar.MustParseEmail("b@example.com")},
		Jsons:        []*scalar.JSON{ptr(scalar.MustParseJSON(`null`)), nil, ptr(scalar.MustParseJSON(`{"a":1}`))},
		JsonsReq:     []scalar.JSON{scalar.MustParseJSON(`[]`)},
		Urls:         []*scalar.URL{nil, ptr(scalar.MustParseURL("https://example.com"))},
		UrlsReq:      []scalar.URL{scalar.MustParseURL("https://example.org")},
		Phones:       []*scalar.Phone{ptr(scalar.MustParsePhone("+1 555 0100")), nil},
		PhonesReq:    []scalar.Phone{scalar.MustParsePhone("555-0100")},
		Ips:          []*scalar.IPAddress{nil, ptr(scalar.MustParseIPAddress("::1"))},
		IpsReq:       []scalar.IPAddress{scalar.MustParseIPAddress("10.0.0.1")},
		Points:       []*dsm.Point{{X: 1}, nil, {X: 0, Label: ptr("p")}},
		PointsReq:    []dsm.Point{{X: 2}},
	}
}

// TestListNullElements saves null elements in every nullable-element list
// (an enum among them, which used to fail validation as "" is no Color)
// and reads them back as nil, beside zero values that stay values; lists of
// non-null elements round-trip too. A predicate on a list skips nulls.
func TestListNullElements(t *testing.T) {
	ctx := context.Background()
	ds := openShapes(t)
	in := fullLists("l1")
	must(t, ds.Lists.Save(ctx, in))
	got, err := ds.Lists.Get(ctx, "l1")
	must(t, err)
	got.CreatedAt, got.UpdatedAt = in.CreatedAt, in.UpdatedAt
	if !reflect.DeepEqual(got, in) {
		gv, iv := reflect.ValueOf(*got), reflect.ValueOf(*in)
		for i := range gv.NumField() {
			if !reflect.DeepEqual(gv.Field(i).Interface(), iv.Field(i).Interface()) {
				t.Errorf("%s: got %v, want %v", gv.Type().Field(i).Name, show(gv.Field(i)), show(iv.Field(i)))
			}
		}
	}

	found, err := ds.Lists.Query().Where(lists.Colors.Contains(dsm.ColorBlue), lists.Ints.NotContains(5)).All(ctx)
	must(t, err)
	if len(found) != 1 {
		t.Fatalf("colors contains BLUE: %d records", len(found))
	}
}

// show renders a list of pointers with their values.
func show(v reflect.Value) []any {
	if v.Kind() != reflect.Slice {
		return []any{v.Interface()}
	}
	out := make([]any, v.Len())
	for i := range v.Len() {
		e := v.Index(i)
		if e.Kind() == reflect.Pointer {
			if e.IsNil() {
				out[i] = nil
				continue
			}
			e = e.Elem()
		}
		out[i] = e.Interface()
	}
	return out
}
