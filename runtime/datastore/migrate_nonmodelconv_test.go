package datastore_test

// Conversions of fields of non-model types: the developer's function runs
// on every value of the type a record or an unsent mutation holds, in a
// field, in a list and nested in another non-model value.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	enm "github.com/dsgen/dsgen/golden/enums-nonmodels/model"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/meta"
)

// writeSitesConv stores, with the enums-nonmodels package (schema v1):
// s1, a local create holding an Address (with a Geo) and a list of two
// (one with a Geo, one without); s2, synced, then updated locally (a
// pending update of its address, whose city is null); s3, synced, with no
// address at all; s4, a local create with a null address and a list of
// one; and n synced sites b0000... whose address's geo.lat is i+0.25.
func writeSitesConv(t *testing.T, dir string, n int) {
	t.Helper()
	ctx := context.Background()
	ds, err := enm.Open(ctx, dir, datastore.Outbox())
	must(t, err)
	paris, lyon := "Paris", "Lyon"
	must(t, ds.Site.Save(ctx, &enm.Site{ID: "s1",
		Address:  &enm.Address{Line1: "1 Main St", City: &paris, Geo: &enm.Geo{Lat: 1.5, Lng: 2.5}, Tags: []string{"home"}},
		Previous: []enm.Address{{Line1: "old 1", Geo: &enm.Geo{Lat: 3, Lng: 4}}, {Line1: "old 2", Tags: []string{"x"}}},
	}))
	items := []map[string]any{
		{"id": "s2", "name": "remote", "previous": []any{}, "address": map[string]any{"line1": "9 Rue", "city": "Nice", "tags": []any{}}, "_version": 2, "_lastChangedAt": 1},
		{"id": "s3", "name": "bare", "_version": 1, "_lastChangedAt": 1},
	}
	for i := range n {
		items = append(items, map[string]any{"id": fmt.Sprintf("b%04d", i), "name": "bulk", "_version": 1, "_lastChangedAt": 1,
			"address": map[string]any{"line1": "bulk", "geo": map[string]any{"lat": float64(i) + 0.25, "lng": 0}}})
	}
	b, err := json.Marshal(items)
	must(t, err)
	var wire []map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	must(t, d.Decode(&wire))
	_, err = ds.Store().Sync().ApplyRemote(ctx, "Site", wire)
	must(t, err)
	s2, err := ds.Site.Get(ctx, "s2")
	must(t, err)
	s2.Address = &enm.Address{Line1: "10 Rue", Geo: &enm.Geo{Lat: 7, Lng: 8}, Tags: []string{"moved"}}
	must(t, ds.Site.Save(ctx, s2))
	must(t, ds.Site.Save(ctx, &enm.Site{ID: "s4", Previous: []enm.Address{{Line1: "x", City: &lyon, Geo: &enm.Geo{Lat: 5, Lng: 6}}}}))
	must(t, ds.Close(ctx))
}

// siteConversions counts the calls of the conversions of sitesConv.
type siteConversions struct {
	lat, city atomic.Int64
	// failLat, when set, makes the Geo.lat conversion fail for a value.
	failLat func(v float64) bool
}

// sitesConv is the enums-nonmodels schema, locked, with Geo.lat (nested
// in Address, which Site holds in a field and in a list) changed from
// Float! to String!, Address.city from String to the enum Priority, now
// required, and the model field Site.floors from Int to String. The
// conversions are strict: a value of the wrong type
// (one converted twice, say) is an error.
func sitesConv(c *siteConversions) *meta.Schema {
	s := lockedSites()
	lat := s.NonModel("Geo").Fields[0]
	oldLat := *lat
	lat.Type = meta.String
	city := s.NonModel("Address").Fields[1]
	oldCity := *city
	city.Type, city.Kind, city.Required = "Priority", meta.KindEnum, true
	floors := s.Model("Site").Field("floors")
	oldFloors := *floors
	floors.Type = meta.String
	s.Version = "v2"
	s.Migration = 1
	s.Migrations = []*meta.Migration{{Number: 1, From: enm.SchemaVersion, To: "v2", Steps: []*meta.MigrationStep{
		{Kind: meta.ChangeFieldType, Model: "Address", NonModel: true, Field: "city", FieldID: city.Number, From: "String", To: "Priority!",
			Old: &oldCity, Effect: meta.NeedsCode, Func: "cityPriority", Convert: func(v any) (any, error) {
				c.city.Add(1)
				switch v {
				case nil:
					return "MEDIUM", nil
				case "Paris":
					return "HIGH", nil
				}
				if _, ok := v.(string); !ok {
					return nil, fmt.Errorf("want a string, got %T %v", v, v)
				}
				return "LOW", nil
			}},
		{Kind: meta.ChangeFieldType, Model: "Geo", NonModel: true, Field: "lat", FieldID: lat.Number, From: "Float!", To: "String!",
			Old: &oldLat, Effect: meta.NeedsCode, Func: "latText", Convert: func(v any) (any, error) {
				c.lat.Add(1)
				f, ok := v.(float64)
				if !ok {
					return nil, fmt.Errorf("want a float64, got %T %v", v, v)
				}
				if c.failLat != nil && c.failLat(f) {
					return nil, fmt.Errorf("no text for %v", f)
				}
				return strconv.FormatFloat(f, 'f', -1, 64), nil
			}},
		// A model field's conversion in the same migration reads its own
		// old value beside the nested ones.
		{Kind: meta.ChangeFieldType, Model: "Site", Field: "floors", FieldID: floors.Number, From: "Int", To: "String",
			Old: &oldFloors, Effect: meta.NeedsCode, Func: "floorsText", Convert: func(v any) (any, error) {
				if v == nil {
					return nil, nil
				}
				n, ok := v.(int64)
				if !ok {
					return nil, fmt.Errorf("want an int64, got %T %v", v, v)
				}
				return fmt.Sprintf("%d floor(s)", n), nil
			}},
	}}}
	return s
}

// withoutNulls drops the null entries of maps in v, at any depth: records
// have no nulls, mutations carry them.
func withoutNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			if e != nil {
				out[k] = withoutNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = withoutNulls(e)
		}
		return out
	}
	return v
}

// wantSites are the address and previous values of s1..s4 after the
// conversions ("null": none).
var wantSites = map[string][2]string{
	"s1": {`{"city":"HIGH","geo":{"lat":"1.5","lng":2.5},"line1":"1 Main St","tags":["home"]}`,
		`[{"city":"MEDIUM","geo":{"lat":"3","lng":4},"line1":"old 1"},{"city":"MEDIUM","line1":"old 2","tags":["x"]}]`},
	"s2": {`{"city":"MEDIUM","geo":{"lat":"7","lng":8},"line1":"10 Rue","tags":["moved"]}`, `[]`},
	"s3": {`null`, `null`},
	"s4": {`null`, `[{"city":"LOW","geo":{"lat":"5","lng":6},"line1":"x"}]`},
}

// checkSitesConverted checks the records and the outbox of a store
// migrated to sitesConv.
func checkSitesConverted(t *testing.T, st *datastore.Store, bulk int) {
	t.Helper()
	sites := records(t, st, "Site")
	if len(sites) != 4+bulk {
		t.Fatalf("%d sites after the migration, want %d", len(sites), 4+bulk)
	}
	for id, want := range wantSites {
		if got := jsonOf(t, sites[id]["address"]); got != want[0] {
			t.Errorf("record %s address = %s, want %s", id, got, want[0])
		}
		if got := jsonOf(t, sites[id]["previous"]); got != want[1] {
			t.Errorf("record %s previous = %s, want %s", id, got, want[1])
		}
	}
	for _, id := range []string{"s1", "s4"} {
		if got := sites[id]["floors"]; got != "1 floor(s)" {
			t.Errorf("record %s floors = %#v, want the converted default", id, got)
		}
	}
	for i := range bulk {
		id := fmt.Sprintf("b%04d", i)
		want := fmt.Sprintf(`{"city":"MEDIUM","geo":{"lat":"%s","lng":0},"line1":"bulk"}`, strconv.FormatFloat(float64(i)+0.25, 'f', -1, 64))
		if got := jsonOf(t, sites[id]["address"]); got != want {
			t.Fatalf("record %s address = %s, want %s", id, got, want)
		}
	}

	box := outboxOf(t, st)
	ops := map[string]datastore.MutationOp{}
	for _, m := range box {
		id := fmt.Sprint(m.Key[0])
		ops[id] = m.Op
		if got := jsonOf(t, withoutNulls(m.Data["address"])); got != wantSites[id][0] {
			t.Errorf("%s %s: address to send = %s, want %s", m.Op, id, got, wantSites[id][0])
		}
		if m.Op == datastore.MutationCreate {
			if got := jsonOf(t, withoutNulls(m.Data["previous"])); got != wantSites[id][1] {
				t.Errorf("%s %s: previous to send = %s, want %s", m.Op, id, got, wantSites[id][1])
			}
			if got := m.Data["floors"]; got != "1 floor(s)" {
				t.Errorf("%s %s: floors to send = %#v, want the converted default", m.Op, id, got)
			}
		}
	}
	if len(box) != 3 || ops["s1"] != datastore.MutationCreate || ops["s2"] != datastore.MutationUpdate || ops["s4"] != datastore.MutationCreate {
		t.Fatalf("outbox = %+v, want the creates of s1 and s4 and the update of s2", box)
	}
	dead, err := st.DeadLetters(context.Background())
	must(t, err)
	if len(dead) != 0 {
		t.Errorf("dead letters after the migration: %+v", dead)
	}
}

// TestMigrateNonModelConversion converts a field of a non-model type
// nested two deep (Site.address.geo.lat, Site.previous[i].geo.lat) and a
// field of the type holding it (Address.city, now a required enum) in
// every record and pending mutation: each value of the types goes through
// its conversion once (a null city too, as a model field's null does),
// null and absent non-model values stay as they are, and what the outbox
// will send has the new types.
func TestMigrateNonModelConversion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeSitesConv(t, dir, 0)
	var c siteConversions
	var last datastore.MigrationProgress
	st := openV2(t, dir, sitesConv(&c), datastore.OnMigrate(func(p datastore.MigrationProgress) { last = p }))
	checkSitesConverted(t, st, 0)
	if last.Phase != "done" || last.Mutations != 3 || last.MutationsDeadLettered != 0 {
		t.Errorf("last progress %+v", last)
	}
	// Records hold 4 Geo values (s1 two, s2 and s4 one) and 5 Address
	// values; the outbox (creates of s1 and s4, the update of s2) as many.
	if lat, city := c.lat.Load(), c.city.Load(); lat != 8 || city != 10 {
		t.Errorf("conversions called: lat %d, city %d times, want 8 and 10", lat, city)
	}

	// The sync engine sends what NextMutation hands out.
	m, err := st.Sync().NextMutation(ctx)
	must(t, err)
	id := fmt.Sprint(m.Key[0])
	if got := jsonOf(t, withoutNulls(m.Data["address"])); got != wantSites[id][0] {
		t.Errorf("NextMutation %s %s: address = %s, want %s", m.Op, id, got, wantSites[id][0])
	}
	must(t, st.Close(ctx))

	// Reopened: nothing converts again.
	var again siteConversions
	st = openV2(t, dir, sitesConv(&again))
	checkSitesConverted(t, st, 0)
	if n := again.lat.Load() + again.city.Load(); n != 0 {
		t.Errorf("reopen ran %d conversions", n)
	}
}

// TestMigrateNonModelConversionFails: a conversion of a nested value that
// fails stops the migration with an error naming the migration, the
// model, the record or mutation and the path of the value; the next start
// with the conversion fixed resumes where it stopped and converts every
// value exactly once (the strict conversions fail on a value converted
// twice), with nothing lost. In the records phase the failure is in the
// third batch of 1,200 records; in the outbox phase, in a pending create.
func TestMigrateNonModelConversionFails(t *testing.T) {
	cases := []struct {
		name     string
		bulk     int
		fail     func(v float64) bool
		path     string
		where    string
		resumeAt string
	}{
		{name: "records", bulk: 1200, fail: func(v float64) bool { return v == 1100.25 },
			path: "address.geo.lat", where: `record "b1100"`, resumeAt: "records"},
		{name: "list in a record", bulk: 0, fail: func(v float64) bool { return v == 3 },
			path: "previous[0].geo.lat", where: `record "s1"`, resumeAt: "records"},
		{name: "outbox", bulk: 0, path: "previous[0].geo.lat", where: "create mutation", resumeAt: "outbox"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			writeSitesConv(t, dir, tc.bulk)
			bad := &siteConversions{failLat: tc.fail}
			if tc.fail == nil {
				// Fail on s1's previous[0] the second time it is seen: in
				// its pending create, once its record is converted.
				var seen atomic.Int64
				bad.failLat = func(v float64) bool { return v == 3 && seen.Add(1) == 2 }
			}
			st, err := datastore.Open(ctx, sitesConv(bad), dir, datastore.Outbox())
			must(t, err)
			err = st.Start(ctx)
			var me *datastore.MigrationError
			if !errors.As(err, &me) || me.Migration != 1 || me.Model != "Site" || me.Field != tc.path ||
				!strings.Contains(err.Error(), tc.where) || !strings.Contains(err.Error(), "Geo.lat: latText: no text for") ||
				!strings.Contains(err.Error(), "Site."+tc.path) {
				t.Fatalf("failing migration: %v (%+v), want a MigrationError naming migration 1, Site.%s, %s and latText", err, me, tc.path, tc.where)
			}
			checkPrefixOnce(t, "failing migration", err)
			must(t, st.Close(ctx))

			// Code older than the migration does not read the half-migrated
			// store.
			old, err := enm.Open(ctx, dir)
			must(t, err)
			if _, err := old.Site.Get(ctx, "s1"); err == nil || !strings.Contains(err.Error(), "part way through migrating") {
				t.Errorf("v1 code on the half-migrated store: %v, want a refusal", err)
			}
			must(t, old.Close(ctx))

			var c siteConversions
			var progress []datastore.MigrationProgress
			st = openV2(t, dir, sitesConv(&c), datastore.OnMigrate(func(p datastore.MigrationProgress) { progress = append(progress, p) }))
			checkSitesConverted(t, st, tc.bulk)
			if len(progress) == 0 || !progress[0].Resumed || progress[0].Phase != tc.resumeAt {
				t.Errorf("resumed run: progress %+v, want a resumed %s phase first", progress, tc.resumeAt)
			}
		})
	}
}

// TestMigrateNonModelConversionChain opens a store two migrations behind:
// the first converts Geo.lat from Float to String, the second renames Geo
// to Point and lat to latitude and converts it back to Float. Each value
// goes through both conversions in order (the second accepts only what the
// first returns), under the final names, in records and in the outbox.
func TestMigrateNonModelConversionChain(t *testing.T) {
	dir := t.TempDir()
	writeSitesConv(t, dir, 0)
	s := lockedSites()
	geo := s.NonModel("Geo")
	lat := geo.Fields[0]
	asFloat, asText := *lat, *lat
	asText.Type = meta.String
	geo.Name, lat.Name = "Point", "latitude"
	s.NonModel("Address").Fields[2].Type = "Point"
	s.Version, s.Migration = "v3", 2
	var calls atomic.Int64
	s.Migrations = []*meta.Migration{
		{Number: 1, From: enm.SchemaVersion, To: "v2", Steps: []*meta.MigrationStep{
			{Kind: meta.ChangeFieldType, Model: "Geo", NonModel: true, Field: "lat", FieldID: 1, From: "Float!", To: "String!",
				Old: &asFloat, Effect: meta.NeedsCode, Func: "toText", Convert: func(v any) (any, error) {
					calls.Add(1)
					f, ok := v.(float64)
					if !ok {
						return nil, fmt.Errorf("want a float64, got %T %v", v, v)
					}
					return fmt.Sprintf("%v deg", f), nil
				}},
		}},
		{Number: 2, From: "v2", To: "v3", Steps: []*meta.MigrationStep{
			{Kind: meta.RenameModel, Model: "Point", NonModel: true, From: "Geo", To: "Point", Effect: meta.Preserving},
			{Kind: meta.RenameField, Model: "Point", NonModel: true, Field: "latitude", FieldID: 1, From: "lat", To: "latitude", Effect: meta.Preserving},
			{Kind: meta.ChangeFieldType, Model: "Point", NonModel: true, Field: "latitude", FieldID: 1, From: "String!", To: "Float!",
				Old: &asText, Effect: meta.NeedsCode, Func: "toDoubleFloat", Convert: func(v any) (any, error) {
					calls.Add(1)
					text, ok := v.(string)
					if !ok || !strings.HasSuffix(text, " deg") {
						return nil, fmt.Errorf("want the first conversion's text, got %T %v", v, v)
					}
					f, err := strconv.ParseFloat(strings.TrimSuffix(text, " deg"), 64)
					return 2 * f, err
				}},
		}},
	}
	st := openV2(t, dir, s)
	want := map[string][2]string{
		"s1": {`{"city":"Paris","geo":{"latitude":3,"lng":2.5},"line1":"1 Main St","tags":["home"]}`,
			`[{"geo":{"latitude":6,"lng":4},"line1":"old 1"},{"line1":"old 2","tags":["x"]}]`},
		"s2": {`{"geo":{"latitude":14,"lng":8},"line1":"10 Rue","tags":["moved"]}`, `[]`},
		"s4": {`null`, `[{"city":"Lyon","geo":{"latitude":10,"lng":6},"line1":"x"}]`},
	}
	sites := records(t, st, "Site")
	for id, w := range want {
		if got := jsonOf(t, sites[id]["address"]) + " " + jsonOf(t, sites[id]["previous"]); got != w[0]+" "+w[1] {
			t.Errorf("record %s address and previous = %s, want %s %s", id, got, w[0], w[1])
		}
	}
	box := outboxOf(t, st)
	for _, m := range box {
		id := fmt.Sprint(m.Key[0])
		if got := jsonOf(t, withoutNulls(m.Data["address"])); got != want[id][0] {
			t.Errorf("%s %s: address to send = %s, want %s", m.Op, id, got, want[id][0])
		}
		if m.Op == datastore.MutationCreate {
			if got := jsonOf(t, withoutNulls(m.Data["previous"])); got != want[id][1] {
				t.Errorf("%s %s: previous to send = %s, want %s", m.Op, id, got, want[id][1])
			}
		}
	}
	// 4 Geo values in records and 4 in the outbox, each converted twice.
	if len(box) != 3 || calls.Load() != 16 {
		t.Errorf("outbox of %d entries, %d conversion calls; want 3 and 16", len(box), calls.Load())
	}
}
