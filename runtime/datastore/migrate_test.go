package datastore_test

// Migrations at start: a store written by the generated blog package
// (schema v1) is opened with a v2 schema and its migrations, as code
// generated from v2 would open it. The end-to-end tests with code generated
// for both versions, dsgen serve and killed processes are in
// internal/migratetest.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/meta"
)

// lockedBlog returns the blog schema as a first lock numbers it (fields by
// position), ready to be edited into a v2.
func lockedBlog() *meta.Schema {
	s := blogm.Schema()
	for _, m := range s.Models {
		for i, f := range m.Fields {
			if f.Stored() {
				f.Number = i + 1
			}
		}
	}
	s.Version = "v2"
	return s
}

// writeV1 fills a blog store with n posts (rating i, status DRAFT for even
// i), ten of them synced from a backend, and leaves these local changes in
// the outbox: n-10 creates, updates of p0 and p1 (title), a delete of p2 and
// a tag.
func writeV1(t *testing.T, dir string, n int) {
	t.Helper()
	ctx := context.Background()
	ds, err := blogm.Open(ctx, dir, datastore.Outbox())
	must(t, err)
	s := ds.Store()
	draft := blogm.PostStatusDraft
	for i := range n {
		p := &blogm.Post{ID: fmt.Sprintf("p%04d", i), Title: fmt.Sprintf("title %d", i), Rating: ptr(i)}
		if i%2 == 0 {
			p.Status = &draft
		}
		if i < 10 {
			applyOne(t, s, "Post", map[string]any{"id": p.ID, "title": p.Title, "rating": i, "status": "DRAFT", "_version": 3, "_lastChangedAt": 1})
			continue
		}
		must(t, ds.Post.Save(ctx, p))
	}
	for _, id := range []string{"p0000", "p0001"} {
		p, err := ds.Post.Get(ctx, id)
		must(t, err)
		p.Title = "edited " + id
		must(t, ds.Post.Save(ctx, p))
	}
	p2, err := ds.Post.Get(ctx, "p0002")
	must(t, err)
	must(t, ds.Post.Delete(ctx, p2))
	must(t, ds.Tag.Save(ctx, &blogm.Tag{ID: "t1", Label: "go"}))
	must(t, ds.Close(ctx))
}

func openV2(t *testing.T, dir string, s *meta.Schema, opts ...datastore.Option) *datastore.Store {
	t.Helper()
	st, err := datastore.Open(context.Background(), s, dir, append(opts, datastore.Outbox())...)
	must(t, err)
	closeAtEnd(t, st)
	return st
}

func records(t *testing.T, s *datastore.Store, model string) map[string]map[string]any {
	t.Helper()
	recs, err := datastore.RecordsForTest(context.Background(), s, model)
	must(t, err)
	out := map[string]map[string]any{}
	for _, r := range recs {
		out[r["id"].(string)] = r
	}
	return out
}

// TestMigrateRenameAddConvertIndex migrates 1,200 posts (three batches)
// through a field rename, an added field with a default and an index on
// it, and a type change with a developer conversion.
func TestMigrateRenameAddConvertIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const n = 1200
	writeV1(t, dir, n)

	s := lockedBlog()
	post := s.Model("Post")
	post.Field("title").Name = "headline"
	rating := post.Field("rating")
	old := *rating
	rating.Type = meta.Float
	post.Fields = append(post.Fields, &meta.Field{Name: "views", Type: meta.Int, Required: true, Default: meta.Ptr("7"), Number: 20})
	post.Indexes = append(post.Indexes, &meta.Index{Name: "byViews", Fields: []string{"views", "headline"}})
	var calls atomic.Int64
	s.Migration = 1
	s.Migrations = []*meta.Migration{{Number: 1, From: blogm.SchemaVersion, To: "v2", Steps: []*meta.MigrationStep{
		{Kind: meta.RenameField, Model: "Post", Field: "headline", FieldID: 2, From: "title", To: "headline", Effect: meta.Preserving},
		{Kind: meta.AddField, Model: "Post", Field: "views", Default: meta.Ptr("7"), Effect: meta.Preserving},
		{Kind: meta.ChangeFieldType, Model: "Post", Field: "rating", FieldID: 3, From: "Int", To: "Float", Old: &old, Effect: meta.NeedsCode,
			Func: "convertRating", Convert: func(v any) (any, error) {
				calls.Add(1)
				if v == nil {
					return nil, nil
				}
				return float64(v.(int64)) + 0.5, nil
			}},
		{Kind: meta.AddIndex, Model: "Post", Index: "byViews", To: "views,headline", Effect: meta.Preserving},
	}}}

	var progress []datastore.MigrationProgress
	st := openV2(t, dir, s, datastore.OnMigrate(func(p datastore.MigrationProgress) { progress = append(progress, p) }))
	posts := records(t, st, "Post")
	if len(posts) != n-1 {
		t.Fatalf("%d posts after the migration, want %d (p0002 was deleted)", len(posts), n-1)
	}
	for i := range n {
		id := fmt.Sprintf("p%04d", i)
		p := posts[id]
		if i == 2 {
			continue
		}
		wantTitle := fmt.Sprintf("title %d", i)
		if i < 2 {
			wantTitle = "edited " + id
		}
		if p["headline"] != wantTitle || p["rating"] != float64(i)+0.5 || p["views"] != int64(7) {
			t.Fatalf("%s after the migration = %v", id, p)
		}
		if _, has := p["title"]; has {
			t.Fatalf("%s still has title: %v", id, p)
		}
	}
	entries, err := datastore.IndexForTest(ctx, st, "Post", "byViews")
	must(t, err)
	if len(entries) != n-1 || entries[0][0] != "7" || entries[0][1] != `"edited p0000"` {
		t.Fatalf("byViews has %d entries, first %v", len(entries), entries[0])
	}

	// The outbox keeps its order and speaks v2.
	box := outboxOf(t, st)
	if len(box) != n-10+3+1 {
		t.Fatalf("outbox has %d entries, want %d", len(box), n-10+4)
	}
	seen := map[string]bool{}
	for _, m := range box {
		if m.Model == "Post" {
			if _, has := m.Data["title"]; has {
				t.Fatalf("outbox entry still has title: %+v", m)
			}
		}
		key := fmt.Sprint(m.Model, m.Key[0])
		seen[key] = true
		switch {
		case m.Model == "Post" && m.Op == datastore.MutationCreate:
			i := 0
			fmt.Sscanf(m.Key[0].(string), "p%04d", &i)
			// The outbox keeps numbers as JSON does.
			if m.Data["headline"] != fmt.Sprintf("title %d", i) || fmt.Sprint(m.Data["rating"]) != fmt.Sprint(float64(i)+0.5) || fmt.Sprint(m.Data["views"]) != "7" {
				t.Fatalf("create after the migration = %v", m.Data)
			}
		case m.Model == "Post" && m.Op == datastore.MutationUpdate:
			// Only what changed: an update does not gain the backfilled views.
			if _, has := m.Data["views"]; m.Data["headline"] != "edited "+m.Key[0].(string) || has {
				t.Fatalf("update after the migration = %v", m.Data)
			}
		}
	}
	if !seen["Postp0002"] || !seen["Tagt1"] {
		t.Fatalf("outbox lost entries: %v", seen)
	}
	last := progress[len(progress)-1]
	if last.Phase != "done" || last.From != 0 || last.To != 1 || last.Mutations != len(box) || last.Resumed {
		t.Fatalf("last progress = %+v", last)
	}
	if c := calls.Load(); c != int64(n-1+(n-10)) {
		t.Fatalf("conversion called %d times, want once per record and per create in the outbox (%d)", c, n-1+n-10)
	}
	must(t, st.Close(ctx))

	// Reopened with the same code: nothing runs again.
	progress = nil
	st = openV2(t, dir, s, datastore.OnMigrate(func(p datastore.MigrationProgress) { progress = append(progress, p) }))
	if got := records(t, st, "Post")["p0005"]; got["rating"] != 5.5 || len(progress) != 0 {
		t.Fatalf("reopen: p0005 = %v, progress %v", got, progress)
	}
	must(t, st.Close(ctx))

	// Older code refuses the store, which stays as it is.
	ds, err := blogm.Open(ctx, dir)
	must(t, err)
	_, err = ds.Post.Get(ctx, "p0005")
	if !errors.Is(err, datastore.ErrStoreNewer) || !strings.Contains(err.Error(), "migration 1") {
		t.Fatalf("v1 code on a v2 store: %v, want ErrStoreNewer naming migration 1", err)
	}
	must(t, ds.Close(ctx))
}

// TestMigrateResumesAfterFailure stops a migration in its third batch (the
// conversion fails on one record) and checks that the next start resumes
// after the last committed batch: no record converted twice, none missed.
func TestMigrateResumesAfterFailure(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const n = 1500
	writeV1(t, dir, n)
	build := func(fail string) *meta.Schema {
		s := lockedBlog()
		rating := s.Model("Post").Field("rating")
		old := *rating
		rating.Type = meta.Float
		s.Migration = 1
		s.Migrations = []*meta.Migration{{Number: 1, Steps: []*meta.MigrationStep{
			{Kind: meta.ChangeFieldType, Model: "Post", Field: "rating", FieldID: 3, Old: &old, Effect: meta.NeedsCode, Func: "double",
				Convert: func(v any) (any, error) {
					if fail != "" && v == int64(1100) {
						return nil, errors.New(fail)
					}
					return float64(v.(int64)) * 2, nil
				}},
		}}}
		return s
	}
	st, err := datastore.Open(ctx, build("the conversion is not written yet"), dir)
	must(t, err)
	err = st.Start(ctx)
	var me *datastore.MigrationError
	if !errors.As(err, &me) || me.Migration != 1 || me.Field != "rating" || !strings.Contains(err.Error(), `record "p1100"`) {
		t.Fatalf("failing migration: %v, want a MigrationError naming migration 1, Post.rating and p1100", err)
	}
	checkPrefixOnce(t, "failing migration", err)
	must(t, st.Close(ctx))

	var progress []datastore.MigrationProgress
	st = openV2(t, dir, build(""), datastore.OnMigrate(func(p datastore.MigrationProgress) { progress = append(progress, p) }))
	posts := records(t, st, "Post")
	for i := range n {
		id := fmt.Sprintf("p%04d", i)
		if i != 2 && posts[id]["rating"] != float64(2*i) {
			t.Fatalf("%s rating = %v, want %d (converted exactly once)", id, posts[id]["rating"], 2*i)
		}
	}
	first := progress[0]
	if !first.Resumed || first.Phase != "records" || first.Records >= n-1 {
		t.Fatalf("resumed run: first progress %+v, want a resumed records batch", first)
	}
}

// TestMigrateModelRenameDropAndEnum renames a model, drops one (its records,
// indexes and unsent mutations go), and removes an enum value.
func TestMigrateModelRenameDropAndEnum(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeV1(t, dir, 40)

	s := lockedBlog()
	s.Model("Tag").Name = "Label"
	for _, m := range s.Models {
		for _, f := range m.Fields {
			if f.Relation != nil && f.Relation.Model == "Tag" {
				f.Relation.Model, f.Type = "Label", "Label"
			}
			if f.Type == "Tag" {
				f.Type = "Label"
			}
		}
	}
	s.Models = slices.DeleteFunc(s.Models, func(m *meta.Model) bool { return m.Name == "Comment" })
	for _, f := range s.Model("Post").Fields {
		if f.Name == "comments" {
			f.Kind, f.Type, f.Relation = meta.KindScalar, meta.String, nil // keep the slot, drop the relation
		}
	}
	post := s.Model("Post")
	post.Fields = slices.DeleteFunc(post.Fields, func(f *meta.Field) bool { return f.Name == "comments" })
	s.Enum("PostStatus").Values = []string{"PUBLISHED", "ARCHIVED"}
	s.Migration = 1
	s.Migrations = []*meta.Migration{{Number: 1, Steps: []*meta.MigrationStep{
		{Kind: meta.RenameModel, Model: "Label", From: "Tag", To: "Label", Effect: meta.Preserving},
		{Kind: meta.DropModel, Model: "Comment", Effect: meta.Drops},
		{Kind: meta.AddEnumValue, Model: "PostStatus", Value: "ARCHIVED", Effect: meta.Preserving},
		{Kind: meta.RemoveEnumValue, Model: "PostStatus", Value: "DRAFT", Effect: meta.NeedsCode, Func: "draft",
			Convert: func(v any) (any, error) { return "ARCHIVED", nil }},
	}}}
	// v1 wrote comments too: add two (one pending) before migrating.
	ds, err := blogm.Open(ctx, dir, datastore.Outbox())
	must(t, err)
	must(t, ds.Comment.Save(ctx, &blogm.Comment{ID: "c1", Content: "hi", PostCommentsID: ptr("p0011")}))
	must(t, ds.Close(ctx))

	var last datastore.MigrationProgress
	st := openV2(t, dir, s, datastore.OnMigrate(func(p datastore.MigrationProgress) { last = p }))
	labels := records(t, st, "Label")
	if len(labels) != 1 || labels["t1"]["label"] != "go" {
		t.Fatalf("labels after the rename = %v", labels)
	}
	for id, p := range records(t, st, "Post") {
		if p["status"] == "DRAFT" {
			t.Fatalf("%s still DRAFT: %v", id, p)
		}
	}
	if p := records(t, st, "Post")["p0012"]; p["status"] != "ARCHIVED" {
		t.Fatalf("p0012 = %v, want ARCHIVED", p)
	}
	box := outboxOf(t, st)
	var labelsQueued int
	for _, m := range box {
		switch m.Model {
		case "Comment", "Tag":
			t.Fatalf("outbox still has %s: %+v", m.Model, m)
		case "Label":
			labelsQueued++
		case "Post":
			if m.Data["status"] == "DRAFT" {
				t.Fatalf("outbox entry still DRAFT: %+v", m)
			}
		}
	}
	if labelsQueued != 1 || last.MutationsDropped != 1 {
		t.Fatalf("label mutations %d, dropped %d (want 1 and 1: the comment's)", labelsQueued, last.MutationsDropped)
	}
	recs, _, _, err := datastore.TableCountForTest(st)
	must(t, err)
	if recs != 40-1+1 { // posts (one deleted) + the label; the comment's table is gone
		t.Fatalf("%d records on disk, want %d", recs, 40)
	}
}

// TestMigrateRekey adds the title as a sort key: records, sync metadata
// and unsent mutations move to the new keys.
func TestMigrateRekey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeV1(t, dir, 30)
	s := lockedBlog()
	s.Model("Post").PrimaryKey = meta.PrimaryKey{Field: "id", SortKeys: []string{"title"}, Custom: true}
	s.Migration = 1
	s.Migrations = []*meta.Migration{{Number: 1, Steps: []*meta.MigrationStep{
		{Kind: meta.ChangePrimaryKey, Model: "Post", From: "id", To: "id,title", Effect: meta.Preserving},
	}}}
	st := openV2(t, dir, s)
	posts := records(t, st, "Post")
	if len(posts) != 29 {
		t.Fatalf("%d posts after re-keying, want 29", len(posts))
	}
	sm, ok, err := st.RecordSyncMeta(ctx, "Post", "p0005", "title 5")
	must(t, err)
	if !ok || sm.Version != 3 {
		t.Fatalf("sync metadata of p0005 under its new key: %+v %v", sm, ok)
	}
	box := outboxOf(t, st)
	for _, m := range box {
		if m.Model != "Post" {
			continue
		}
		if len(m.Key) != 2 {
			t.Fatalf("outbox entry keeps the old key: %+v", m)
		}
		if m.Op == datastore.MutationUpdate && (m.Key[1] != "edited "+m.Key[0].(string) || m.Data["title"] != m.Key[1]) {
			t.Fatalf("update after re-keying = %+v", m)
		}
	}
	// The pending delete of p0002 carried only its id: it cannot name the
	// new key and is moved to the dead letters, with why.
	dead, err := st.DeadLetters(ctx)
	must(t, err)
	if len(dead) != 1 || dead[0].Key[0] != "p0002" || !strings.Contains(dead[0].Reason, "primary key changed") {
		t.Fatalf("dead letters = %+v", dead)
	}
	// Local writes merge into the moved entries.
	m, err := st.Sync().NextMutation(ctx)
	must(t, err)
	if m.Model != "Post" || m.Op != datastore.MutationCreate || len(m.Key) != 2 {
		t.Fatalf("first mutation = %+v", m)
	}
}

// TestMigrateResync moves the key onto a new field: only records with
// unsent changes stay (under their new keys) and the model's lastSync is
// cleared so the next sync is a full one.
func TestMigrateResync(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeV1(t, dir, 20)
	ds, err := blogm.Open(ctx, dir, datastore.Outbox())
	must(t, err)
	must(t, ds.Store().Sync().SetModelMetadata(ctx, datastore.ModelMetadata{Model: "Post", LastSync: ptr(int64(99)), LastFullSync: ptr(int64(99))}))
	must(t, ds.Close(ctx))

	s := lockedBlog()
	post := s.Model("Post")
	post.Fields = append(post.Fields, &meta.Field{Name: "slug", Type: meta.String, Required: true, Default: meta.Ptr("x"), Number: 30})
	post.PrimaryKey = meta.PrimaryKey{Field: "id", SortKeys: []string{"slug"}, Custom: true}
	s.Migration = 1
	s.Migrations = []*meta.Migration{{Number: 1, Steps: []*meta.MigrationStep{
		{Kind: meta.AddField, Model: "Post", Field: "slug", Default: meta.Ptr("x"), Effect: meta.Preserving},
		{Kind: meta.ChangePrimaryKey, Model: "Post", From: "id", To: "id,slug", Effect: meta.Resync},
	}}}
	var last datastore.MigrationProgress
	st := openV2(t, dir, s, datastore.OnMigrate(func(p datastore.MigrationProgress) { last = p }))
	posts := records(t, st, "Post")
	// p0000 and p0001 (synced, then edited) and p0010..p0019 (created
	// locally) have unsent changes; p0003..p0009 are the backend's and go.
	if len(posts) != 12 || posts["p0005"] != nil || posts["p0001"]["slug"] != "x" {
		t.Fatalf("posts after re-sync: %d, p0005 %v, p0001 %v", len(posts), posts["p0005"], posts["p0001"])
	}
	md, err := st.ModelMetadata(ctx, "Post")
	must(t, err)
	if md.LastSync != nil || md.LastFullSync != nil || !slices.Equal(last.Resynced, []string{"Post"}) {
		t.Fatalf("Post sync state after re-sync = %+v (resynced %v), want cleared", md, last.Resynced)
	}
	for _, m := range outboxOf(t, st) {
		if m.Model == "Post" && m.Op != datastore.MutationDelete && (len(m.Key) != 2 || m.Key[1] != "x") {
			t.Fatalf("outbox entry after re-sync = %+v", m)
		}
	}
}

// TestMigrateSwapFieldNames opens a blog store with a v2 whose one
// migration swaps two field names (title is called rating and rating title,
// as `dsgen migrate` plans two @renamedFrom that point at each other): both
// values stay, under their new names, in every record and in every mutation
// the outbox has not sent yet.
func TestMigrateSwapFieldNames(t *testing.T) {
	dir := t.TempDir()
	const n = 30
	writeV1(t, dir, n)

	s := lockedBlog()
	post := s.Model("Post")
	title, rating := post.Field("title"), post.Field("rating")
	title.Name, rating.Name = "rating", "title"
	s.Migration = 1
	s.Migrations = []*meta.Migration{{Number: 1, From: blogm.SchemaVersion, To: "v2", Steps: []*meta.MigrationStep{
		{Kind: meta.RenameField, Model: "Post", Field: "rating", FieldID: title.Number, From: "title", To: "rating", Effect: meta.Preserving},
		{Kind: meta.RenameField, Model: "Post", Field: "title", FieldID: rating.Number, From: "rating", To: "title", Effect: meta.Preserving},
	}}}
	st := openV2(t, dir, s)
	posts := records(t, st, "Post")
	for i := range n {
		id := fmt.Sprintf("p%04d", i)
		if i == 2 {
			continue
		}
		wantText := fmt.Sprintf("title %d", i)
		if i < 2 {
			wantText = "edited " + id
		}
		if p := posts[id]; p["rating"] != wantText || p["title"] != int64(i) {
			t.Fatalf("%s after the swap = %v, want rating %q and title %d", id, p, wantText, i)
		}
	}
	creates := 0
	for _, m := range outboxOf(t, st) {
		if m.Model != "Post" || m.Op == datastore.MutationDelete {
			continue
		}
		id := m.Key[0].(string)
		switch m.Op {
		case datastore.MutationCreate:
			creates++
			i := 0
			fmt.Sscanf(id, "p%04d", &i)
			if m.Data["rating"] != fmt.Sprintf("title %d", i) || fmt.Sprint(m.Data["title"]) != fmt.Sprint(i) {
				t.Fatalf("create of %s after the swap = %v", id, m.Data)
			}
		case datastore.MutationUpdate:
			if _, has := m.Data["title"]; m.Data["rating"] != "edited "+id || has {
				t.Fatalf("update of %s after the swap = %v, want only rating %q", id, m.Data, "edited "+id)
			}
		}
	}
	if creates != n-10 {
		t.Fatalf("outbox has %d creates of Post, want %d", creates, n-10)
	}
}
