package datastore_test

// Migrations of what pending mutations hold: values of non-model types
// (nested in the records and mutations of the models that hold them, at
// any depth and in lists) and conditions.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	enm "github.com/dsgen/dsgen/golden/enums-nonmodels/model"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/predicate"
)

// writeSitesV1 stores, with the enums-nonmodels package (schema v1), a
// local site s1 (a pending create) and a synced site s2 whose address a
// local update changed (a pending update), both holding Address values
// (with a nested Geo) in a field and in a list.
func writeSitesV1(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	ds, err := enm.Open(ctx, dir, datastore.Outbox())
	must(t, err)
	city := "Paris"
	must(t, ds.Site.Save(ctx, &enm.Site{ID: "s1",
		Address:  &enm.Address{Line1: "1 Main St", City: &city, Geo: &enm.Geo{Lat: 1.5, Lng: 2.5}, Tags: []string{"home"}},
		Previous: []enm.Address{{Line1: "old 1", Geo: &enm.Geo{Lat: 3, Lng: 4}}, {Line1: "old 2", Tags: []string{"x"}}},
	}))
	applyOne(t, ds.Store(), "Site", map[string]any{"id": "s2", "name": "remote", "previous": []any{},
		"address": map[string]any{"line1": "9 Rue", "tags": []any{}}, "_version": 2, "_lastChangedAt": 1})
	s2, err := ds.Site.Get(ctx, "s2")
	must(t, err)
	s2.Address = &enm.Address{Line1: "10 Rue", Geo: &enm.Geo{Lat: 7, Lng: 8}, Tags: []string{"moved"}}
	must(t, ds.Site.Save(ctx, s2))
	must(t, ds.Close(ctx))
}

// lockedSites returns the enums-nonmodels schema as a first lock numbers
// it (fields by position), ready to be edited into a v2.
func lockedSites() *meta.Schema {
	s := enm.Schema()
	for _, m := range s.Models {
		for i, f := range m.Fields {
			f.Number = i + 1
		}
	}
	for _, n := range s.NonModels {
		for i, f := range n.Fields {
			f.Number = i + 1
		}
	}
	return s
}

// sitesV2 is the enums-nonmodels schema, locked, with Address.line1
// renamed street, Address.tags dropped, Address.zip added with a
// @default, and Geo (nested in Address) renamed Point, its lat latitude.
func sitesV2() *meta.Schema {
	s := lockedSites()
	addr, geo := s.NonModel("Address"), s.NonModel("Geo")
	geo.Name, geo.Fields[0].Name = "Point", "latitude"
	addr.Fields[2].Type = "Point"
	addr.Fields[0].Name = "street"
	addr.Fields = slices.DeleteFunc(addr.Fields, func(f *meta.Field) bool { return f.Name == "tags" })
	addr.Fields = append(addr.Fields, &meta.Field{Name: "zip", Type: meta.String, Required: true, Default: meta.Ptr("00000"), Number: 5})
	s.Version = "v2"
	s.Migration = 1
	s.Migrations = []*meta.Migration{{Number: 1, From: enm.SchemaVersion, To: "v2", Steps: []*meta.MigrationStep{
		{Kind: meta.AddField, Model: "Address", NonModel: true, Field: "zip", Default: meta.Ptr("00000"), Effect: meta.Preserving},
		{Kind: meta.RenameField, Model: "Address", NonModel: true, Field: "street", FieldID: 1, From: "line1", To: "street", Effect: meta.Preserving},
		{Kind: meta.RenameModel, Model: "Point", NonModel: true, From: "Geo", To: "Point", Effect: meta.Preserving},
		{Kind: meta.RenameField, Model: "Point", NonModel: true, Field: "latitude", FieldID: 1, From: "lat", To: "latitude", Effect: meta.Preserving},
		{Kind: meta.DropField, Model: "Address", NonModel: true, Field: "tags", FieldID: 4, Effect: meta.Drops},
	}}}
	return s
}

// jsonOf renders v with sorted keys and JSON numbers, so values from
// records (float64) and from the outbox (json.Number) compare as text.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	var x any
	must(t, json.Unmarshal(b, &x))
	b, err = json.Marshal(x)
	must(t, err)
	return string(b)
}

// TestMigrateNonModelFields migrates records and pending mutations through
// a rename, a drop and an added field with a default of non-model types,
// nested two deep and in a list: the values keep their data under the new
// names, and what the outbox will send names only fields the new schema
// has.
func TestMigrateNonModelFields(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeSitesV1(t, dir)
	st := openV2(t, dir, sitesV2())

	sites := records(t, st, "Site")
	wantRec := map[string][2]string{
		"s1": {`{"city":"Paris","geo":{"latitude":1.5,"lng":2.5},"street":"1 Main St","zip":"00000"}`,
			`[{"geo":{"latitude":3,"lng":4},"street":"old 1","zip":"00000"},{"street":"old 2","zip":"00000"}]`},
		"s2": {`{"geo":{"latitude":7,"lng":8},"street":"10 Rue","zip":"00000"}`, `[]`},
	}
	for id, want := range wantRec {
		if got := jsonOf(t, sites[id]["address"]); got != want[0] {
			t.Errorf("record %s address = %s, want %s", id, got, want[0])
		}
		if got := jsonOf(t, sites[id]["previous"]); got != want[1] {
			t.Errorf("record %s previous = %s, want %s", id, got, want[1])
		}
	}

	box := outboxOf(t, st)
	if len(box) != 2 {
		t.Fatalf("outbox has %d entries, want 2: %+v", len(box), box)
	}
	for _, m := range box {
		id := fmt.Sprint(m.Key[0])
		if got := jsonOf(t, m.Data["address"]); got != wantRec[id][0] {
			t.Errorf("%s %s: address to send = %s, want %s", m.Op, id, got, wantRec[id][0])
		}
		if m.Op == datastore.MutationCreate {
			if got := jsonOf(t, m.Data["previous"]); got != wantRec[id][1] {
				t.Errorf("%s %s: previous to send = %s, want %s", m.Op, id, got, wantRec[id][1])
			}
		}
	}

	// The sync engine sends what NextMutation hands out.
	m, err := st.Sync().NextMutation(ctx)
	must(t, err)
	id := fmt.Sprint(m.Key[0])
	if got := jsonOf(t, m.Data["address"]); got != wantRec[id][0] {
		t.Errorf("NextMutation %s %s: address = %s, want %s", m.Op, id, got, wantRec[id][0])
	}
}

// TestMigrateConditionOnDroppedField: pending conditional writes whose
// condition tests a field the migration drops (or converts with a
// developer function) cannot be checked by the backend any more. Sending
// them without that clause would apply a write the condition was meant to
// stop, so they go to the dead letters, naming the field; a condition on a
// renamed field is renamed and sent.
func TestMigrateConditionOnDroppedField(t *testing.T) {
	for _, change := range []string{"drop", "convert"} {
		t.Run(change, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			ds, err := blogm.Open(ctx, dir, datastore.Outbox())
			must(t, err)
			for _, id := range []string{"p1", "p2", "p3"} {
				applyOne(t, ds.Store(), "Post", map[string]any{"id": id, "title": "t", "rating": 3, "_version": 1, "_lastChangedAt": 1})
			}
			p1, err := ds.Post.Get(ctx, "p1")
			must(t, err)
			p1.Title = "edited"
			must(t, ds.Post.Save(ctx, p1, datastore.If(post.Rating.Lt(5))))
			p2, err := ds.Post.Get(ctx, "p2")
			must(t, err)
			must(t, ds.Post.Delete(ctx, p2, datastore.If(predicate.Or(post.Rating.Lt(5), post.Title.Eq("x")))))
			p3, err := ds.Post.Get(ctx, "p3")
			must(t, err)
			p3.Title = "edited"
			must(t, ds.Post.Save(ctx, p3, datastore.If(post.Title.Eq("t"))))
			must(t, ds.Close(ctx))

			s := lockedBlog()
			ps := s.Model("Post")
			ps.Field("title").Name = "headline"
			steps := []*meta.MigrationStep{
				{Kind: meta.RenameField, Model: "Post", Field: "headline", FieldID: 2, From: "title", To: "headline", Effect: meta.Preserving},
			}
			if change == "drop" {
				ps.Fields = slices.DeleteFunc(ps.Fields, func(f *meta.Field) bool { return f.Name == "rating" })
				steps = append(steps, &meta.MigrationStep{Kind: meta.DropField, Model: "Post", Field: "rating", FieldID: 3, Effect: meta.Drops})
			} else {
				rating := ps.Field("rating")
				old := *rating
				rating.Type = meta.String
				steps = append(steps, &meta.MigrationStep{Kind: meta.ChangeFieldType, Model: "Post", Field: "rating", FieldID: 3, From: "Int", To: "String",
					Old: &old, Effect: meta.NeedsCode, Func: "ratingText", Convert: func(v any) (any, error) {
						if v == nil {
							return nil, nil
						}
						return fmt.Sprint(v), nil
					}})
			}
			s.Migration = 1
			s.Migrations = []*meta.Migration{{Number: 1, From: blogm.SchemaVersion, To: "v2", Steps: steps}}
			var last datastore.MigrationProgress
			st := openV2(t, dir, s, datastore.OnMigrate(func(p datastore.MigrationProgress) { last = p }))

			box := outboxOf(t, st)
			if len(box) != 1 || box[0].Key[0] != "p3" || fmt.Sprint(box[0].Condition) != "map[headline:map[eq:t]]" {
				t.Fatalf("outbox = %+v, want only p3's update, its condition on headline", box)
			}
			dead, err := st.DeadLetters(ctx)
			must(t, err)
			if len(dead) != 2 || last.MutationsDeadLettered != 2 {
				t.Fatalf("dead letters = %+v (progress %+v), want p1's update and p2's delete", dead, last)
			}
			for _, d := range dead {
				if !strings.Contains(d.Reason, "Post.rating") || !strings.Contains(d.Reason, "condition") {
					t.Errorf("dead letter of %v: reason %q, want it to name Post.rating and the condition", d.Key, d.Reason)
				}
			}
		})
	}
}

// TestMigrateConditionOnRemovedEnumValue: a pending conditional write
// whose condition compares an enum field with a value the migration
// removes would be refused by the backend (the value no longer exists),
// and mapping the operand as the records were mapped would change what
// the clause matches, so it goes to the dead letters naming the field and
// the value; a condition on another value of the same enum is sent.
func TestMigrateConditionOnRemovedEnumValue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ds, err := blogm.Open(ctx, dir, datastore.Outbox())
	must(t, err)
	for _, id := range []string{"p1", "p2", "p3"} {
		applyOne(t, ds.Store(), "Post", map[string]any{"id": id, "title": "t", "status": "DRAFT", "_version": 1, "_lastChangedAt": 1})
	}
	edit := func(id string, cond predicate.Predicate[blogm.Post], del bool) {
		t.Helper()
		p, err := ds.Post.Get(ctx, id)
		must(t, err)
		if del {
			must(t, ds.Post.Delete(ctx, p, datastore.If(cond)))
			return
		}
		p.Title = "edited"
		must(t, ds.Post.Save(ctx, p, datastore.If(cond)))
	}
	edit("p1", post.Status.Eq(blogm.PostStatusDraft), false)
	edit("p2", predicate.Not(predicate.Or(post.Status.Ne(blogm.PostStatusDraft), post.Title.Eq("x"))), true)
	edit("p3", post.Status.Ne(blogm.PostStatusPublished), false)
	must(t, ds.Close(ctx))

	s := lockedBlog()
	s.Enum("PostStatus").Values = []string{"PUBLISHED", "ARCHIVED"}
	s.Migration = 1
	s.Migrations = []*meta.Migration{{Number: 1, From: blogm.SchemaVersion, To: "v2", Steps: []*meta.MigrationStep{
		{Kind: meta.AddEnumValue, Model: "PostStatus", Value: "ARCHIVED", Effect: meta.Preserving},
		{Kind: meta.RemoveEnumValue, Model: "PostStatus", Value: "DRAFT", Effect: meta.NeedsCode, Func: "draft",
			Convert: func(v any) (any, error) { return "ARCHIVED", nil }},
	}}}
	var last datastore.MigrationProgress
	st := openV2(t, dir, s, datastore.OnMigrate(func(p datastore.MigrationProgress) { last = p }))

	box := outboxOf(t, st)
	if len(box) != 1 || box[0].Key[0] != "p3" || fmt.Sprint(box[0].Condition) != "map[status:map[ne:PUBLISHED]]" {
		t.Fatalf("outbox = %+v, want only p3's update, its condition unchanged", box)
	}
	dead, err := st.DeadLetters(ctx)
	must(t, err)
	if len(dead) != 2 || last.MutationsDeadLettered != 2 {
		t.Fatalf("dead letters = %+v (progress %+v), want p1's update and p2's delete", dead, last)
	}
	for _, d := range dead {
		if !strings.Contains(d.Reason, "Post.status against DRAFT") || !strings.Contains(d.Reason, "enum PostStatus") {
			t.Errorf("dead letter of %v: reason %q, want it to name Post.status, DRAFT and the enum", d.Key, d.Reason)
		}
	}
}
