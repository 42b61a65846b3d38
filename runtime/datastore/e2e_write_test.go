package datastore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	scm "github.com/dsgen/dsgen/golden/aws-scalars/model"
	ckm "github.com/dsgen/dsgen/golden/composite-keys/model"
	enm "github.com/dsgen/dsgen/golden/enums-nonmodels/model"
	relm "github.com/dsgen/dsgen/golden/relations/model"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/scalar"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestE2ECreateUpdateTimestamps(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	ds := openBlog(t, datastore.Clock(clock.Now))
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes := ds.Post.Observe(obsCtx)

	// Create: an id is generated, both timestamps are now; values the
	// caller put in the timestamps are ignored.
	t0 := clock.peek()
	p := &blogm.Post{Title: "first", CreatedAt: ptr(scalar.MustParseDateTime("2000-01-01T00:00:00Z"))}
	must(t, ds.Post.Save(ctx, p))
	if !uuidV4.MatchString(p.ID) {
		t.Errorf("generated id %q is not a UUID v4", p.ID)
	}
	c := recv(t, changes, "create")
	if c.Op != datastore.OpCreate || c.Op.String() != "INSERT" || c.Element.ID != p.ID || c.FromSync || c.Err != nil {
		t.Errorf("create change: %+v", c)
	}
	got, err := ds.Post.Get(ctx, p.ID)
	must(t, err)
	if !got.CreatedAt.Time().Equal(t0) || !got.UpdatedAt.Time().Equal(t0) {
		t.Errorf("after create: createdAt %v updatedAt %v, want both %v", got.CreatedAt, got.UpdatedAt, t0)
	}
	if p.CreatedAt.String() != got.CreatedAt.String() || p.UpdatedAt.String() != got.UpdatedAt.String() {
		t.Errorf("the saved struct has timestamps %v %v, the store %v %v", p.CreatedAt, p.UpdatedAt, got.CreatedAt, got.UpdatedAt)
	}

	// Update: createdAt is kept, even if the caller changed it; updatedAt
	// moves on.
	t1 := clock.peek()
	upd := *got
	upd.Title = "second"
	upd.CreatedAt = ptr(scalar.MustParseDateTime("2030-01-01T00:00:00Z"))
	upd.UpdatedAt = nil
	must(t, ds.Post.Save(ctx, &upd))
	c = recv(t, changes, "update")
	if c.Op != datastore.OpUpdate || c.Op.String() != "UPDATE" || c.Element.Title != "second" {
		t.Errorf("update change: %+v", c)
	}
	if !c.Element.CreatedAt.Time().Equal(t0) || !c.Element.UpdatedAt.Time().Equal(t1) {
		t.Errorf("update event: createdAt %v updatedAt %v, want %v %v", c.Element.CreatedAt, c.Element.UpdatedAt, t0, t1)
	}
	got, err = ds.Post.Get(ctx, p.ID)
	must(t, err)
	if got.Title != "second" || !got.CreatedAt.Time().Equal(t0) || !got.UpdatedAt.Time().Equal(t1) {
		t.Errorf("after update: %q createdAt %v updatedAt %v, want %v %v", got.Title, got.CreatedAt, got.UpdatedAt, t0, t1)
	}
	// A save of the same values is still an update.
	must(t, ds.Post.Save(ctx, got))
	if c := recv(t, changes, "same values"); c.Op != datastore.OpUpdate {
		t.Errorf("saving unchanged record: %v", c.Op)
	}

	// The generated id is kept by the struct: saving it again updates.
	n, err := ds.Post.Query().Count(ctx)
	if err != nil || n != 1 {
		t.Errorf("Count = %d, %v; want 1", n, err)
	}
	// A given id is kept.
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "mine", Title: "x"}))
	if _, err := ds.Post.Get(ctx, "mine"); err != nil {
		t.Errorf("Get given id: %v", err)
	}
	// Ids are unique.
	ids := map[string]bool{}
	for range 200 {
		p := &blogm.Post{Title: "many"}
		must(t, ds.Post.Save(ctx, p))
		if ids[p.ID] || !uuidV4.MatchString(p.ID) {
			t.Fatalf("id %q repeated or malformed", p.ID)
		}
		ids[p.ID] = true
	}
}

func TestE2EDefaults(t *testing.T) {
	ctx := context.Background()
	ds := openEnums(t)
	s := &enm.Site{ID: "s1", Name: ptr("named")}
	must(t, ds.Site.Save(ctx, s))
	got, err := ds.Site.Get(ctx, "s1")
	must(t, err)
	if got.Priority == nil || *got.Priority != enm.PriorityMedium || got.Floors == nil || *got.Floors != 1 || *got.Name != "named" {
		t.Errorf("defaults: priority %v floors %v name %q", got.Priority, got.Floors, *got.Name)
	}
	// Values given are kept, including zero values.
	must(t, ds.Site.Save(ctx, &enm.Site{ID: "s2", Name: ptr("x"), Priority: ptr(enm.PriorityHigh), Floors: ptr(0)}))
	got, err = ds.Site.Get(ctx, "s2")
	must(t, err)
	if *got.Priority != enm.PriorityHigh || *got.Floors != 0 {
		t.Errorf("given values: priority %v floors %v", *got.Priority, *got.Floors)
	}
	// Clearing a defaulted field on update sets the default again.
	got.Floors = nil
	must(t, ds.Site.Save(ctx, got))
	got, err = ds.Site.Get(ctx, "s2")
	must(t, err)
	if got.Floors == nil || *got.Floors != 1 {
		t.Errorf("cleared floors: %v", got.Floors)
	}
	// Non-model values and lists round-trip.
	full := &enm.Site{ID: "s4", Name: ptr("full"), Units: ptr(enm.UnitSystemImperial),
		Address:  &enm.Address{Line1: "1 Main St", City: ptr("Springfield"), Geo: &enm.Geo{Lat: 1.5, Lng: -2.25}, Tags: []string{"a", "b"}},
		Previous: []enm.Address{{Line1: "old"}, {Line1: "older", Tags: []string{}}},
		Levels:   []*enm.Priority{ptr(enm.PriorityLow), nil, ptr(enm.PriorityHigh)},
		Notes:    []*string{ptr(""), nil, ptr("x")},
	}
	must(t, ds.Site.Save(ctx, full))
	got, err = ds.Site.Get(ctx, "s4")
	must(t, err)
	full.CreatedAt, full.UpdatedAt = got.CreatedAt, got.UpdatedAt
	full.Priority, full.Floors = ptr(enm.PriorityMedium), ptr(1)
	g, err := json.Marshal(got)
	must(t, err)
	w, err := json.Marshal(full)
	must(t, err)
	if string(g) != string(w) {
		t.Errorf("non-model round trip:\n got  %s\n want %s", g, w)
	}
}

// TestE2EDefaultRequiredString: a required String with @default is a
// *string; nil is "not set" and gets the default, "" is a value.
func TestE2EDefaultRequiredString(t *testing.T) {
	ctx := context.Background()
	ds := openEnums(t)
	must(t, ds.Site.Save(ctx, &enm.Site{ID: "s3"}))
	got, err := ds.Site.Get(ctx, "s3")
	must(t, err)
	if got.Name == nil || *got.Name != "unnamed" {
		t.Errorf("name not set: stored %v, want the @default \"unnamed\"", got.Name)
	}
	must(t, ds.Site.Save(ctx, &enm.Site{ID: "s5", Name: ptr("")}))
	if got, err = ds.Site.Get(ctx, "s5"); err != nil || *got.Name != "" {
		t.Errorf("an empty name given was replaced: %v, %v", got.Name, err)
	}
}

func TestE2EConditionalWrites(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes := ds.Post.Observe(obsCtx)
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p", Title: "orig", Rating: ptr(3)}))
	recv(t, changes, "create")

	// A failing condition changes nothing and publishes nothing.
	err := ds.Post.Save(ctx, &blogm.Post{ID: "p", Title: "changed", Rating: ptr(9)}, datastore.If(post.Rating.Gt(5)))
	if !errors.Is(err, datastore.ErrConditionFailed) {
		t.Fatalf("save with failing condition: %v", err)
	}
	// The condition is checked against the stored record, not the new one.
	err = ds.Post.Save(ctx, &blogm.Post{ID: "p", Title: "changed", Rating: ptr(9)}, datastore.If(post.Title.Eq("changed")))
	if !errors.Is(err, datastore.ErrConditionFailed) {
		t.Fatalf("save with a condition only the new record meets: %v", err)
	}
	// Several conditions must all hold.
	err = ds.Post.Save(ctx, &blogm.Post{ID: "p", Title: "changed"}, datastore.If(post.Rating.Eq(3)), datastore.If(post.Title.Eq("nope")))
	if !errors.Is(err, datastore.ErrConditionFailed) {
		t.Fatalf("save with one of two conditions failing: %v", err)
	}
	got, err := ds.Post.Get(ctx, "p")
	must(t, err)
	if got.Title != "orig" || *got.Rating != 3 {
		t.Errorf("after failed conditional saves: %+v", got)
	}
	quiet(t, changes, 50*time.Millisecond, "failed conditional save")

	// A holding condition writes.
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p", Title: "changed", Rating: ptr(4)}, datastore.If(post.Rating.Eq(3)), datastore.If(post.Title.Eq("orig"))))
	if c := recv(t, changes, "conditional update"); c.Op != datastore.OpUpdate || c.Element.Title != "changed" {
		t.Errorf("conditional update: %+v", c)
	}
	// A save that creates ignores its condition, as Amplify does.
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "new", Title: "n"}, datastore.If(post.Rating.Gt(100))))
	recv(t, changes, "conditional create")

	// Conditional delete.
	err = ds.Post.DeleteKey(ctx, "p", datastore.If(post.Rating.Lt(0)))
	if !errors.Is(err, datastore.ErrConditionFailed) {
		t.Errorf("delete with failing condition: %v", err)
	}
	if _, err := ds.Post.Get(ctx, "p"); err != nil {
		t.Errorf("record gone after failed conditional delete: %v", err)
	}
	err = ds.Post.Delete(ctx, &blogm.Post{ID: "p"}, datastore.If(post.Title.Eq("other")))
	if !errors.Is(err, datastore.ErrConditionFailed) {
		t.Errorf("Delete with failing condition: %v", err)
	}
	quiet(t, changes, 50*time.Millisecond, "failed conditional delete")
	must(t, ds.Post.Delete(ctx, &blogm.Post{ID: "p"}, datastore.If(post.Title.Eq("changed"))))
	if c := recv(t, changes, "delete"); c.Op != datastore.OpDelete || c.Op.String() != "DELETE" || c.Element.Title != "changed" || *c.Element.Rating != 4 {
		t.Errorf("delete change: %+v", c)
	}
	if _, err := ds.Post.Get(ctx, "p"); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("Get after delete: %v", err)
	}

	// Deleting what is not there.
	if err := ds.Post.DeleteKey(ctx, "p"); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
	if err := ds.Post.Delete(ctx, &blogm.Post{ID: "never"}, datastore.If(post.Rating.Eq(1))); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("conditional delete of missing: %v", err)
	}
	if err := ds.Post.Delete(ctx, nil); err == nil {
		t.Errorf("Delete(nil): no error")
	}
	if err := ds.Post.Save(ctx, nil); err == nil {
		t.Errorf("Save(nil): no error")
	}
	quiet(t, changes, 50*time.Millisecond, "deletes of missing records")
}

func TestE2EDeleteWhere(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)
	all := seedPosts(t, ds, 100, 9)
	comments := 0
	for i, p := range all {
		if i%3 == 0 {
			must(t, ds.Comment.Save(ctx, &blogm.Comment{Content: "c", PostCommentsID: &p.ID}))
			comments++
		}
	}
	pred := predicate.And(post.Rating.Ge(2), post.Status.Ne(blogm.PostStatusDraft))
	want := bruteForce(all, pred, func(a, b *blogm.Post) int { return strings.Compare(a.ID, b.ID) })
	wantComments := 0
	for _, p := range want {
		if n, _ := ds.Post.QueryComments(p).Count(ctx); n > 0 {
			wantComments += n
		}
	}
	n, err := ds.Post.DeleteWhere(ctx, pred)
	must(t, err)
	if n != len(want) || n == 0 {
		t.Errorf("DeleteWhere = %d, want %d", n, len(want))
	}
	left, err := ds.Post.Query().All(ctx)
	must(t, err)
	if len(left) != len(all)-len(want) {
		t.Errorf("%d posts left, want %d", len(left), len(all)-len(want))
	}
	for _, p := range left {
		if pred.Match(p) {
			t.Errorf("post %s matches and was not deleted", p.ID)
		}
	}
	if nc, _ := ds.Comment.Query().Count(ctx); nc != comments-wantComments {
		t.Errorf("%d comments left, want %d", nc, comments-wantComments)
	}
	// Nothing matches now.
	if n, err := ds.Post.DeleteWhere(ctx, pred); n != 0 || err != nil {
		t.Errorf("second DeleteWhere = %d, %v", n, err)
	}
	// Through an index, and everything.
	n, err = ds.Post.DeleteWhere(ctx, post.BlogPostsID.Eq("b"))
	must(t, err)
	wantB := 0
	for _, p := range left {
		if p.BlogPostsID != nil && *p.BlogPostsID == "b" {
			wantB++
		}
	}
	if n != wantB {
		t.Errorf("DeleteWhere blog b = %d, want %d", n, wantB)
	}
	n, err = ds.Post.DeleteWhere(ctx, predicate.All[blogm.Post]())
	if err != nil || n != len(left)-wantB {
		t.Errorf("DeleteWhere all = %d, %v; want %d", n, err, len(left)-wantB)
	}
	if nc, _ := ds.Comment.Query().Count(ctx); nc != 0 {
		t.Errorf("%d comments left after deleting every post", nc)
	}
	// Blogs (belongsTo parents) are untouched.
	if nb, _ := ds.Blog.Query().Count(ctx); nb != len(blogIDs) {
		t.Errorf("%d blogs left, want %d", nb, len(blogIDs))
	}
}

// wantInvalid checks that err is a *ValidationError for model.field
// wrapping ErrInvalidValue, whose reason contains reason.
func wantInvalid(t *testing.T, err error, model, field, reason string) {
	t.Helper()
	var ve *datastore.ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("%s.%s: got %v, want a *ValidationError", model, field, err)
		return
	}
	if !errors.Is(err, datastore.ErrInvalidValue) {
		t.Errorf("%s.%s: %v does not wrap ErrInvalidValue", model, field, err)
	}
	if ve.Model != model || ve.Field != field || !strings.Contains(ve.Reason, reason) {
		t.Errorf("got %s.%s %q, want %s.%s with reason containing %q", ve.Model, ve.Field, ve.Reason, model, field, reason)
	}
}

func TestE2EValidation(t *testing.T) {
	ctx := context.Background()
	blog := openBlog(t)
	scalars := openScalars(t)
	keys := openKeys(t)
	rel := openRelations(t)
	enums := openEnums(t)
	at := scalar.MustParseDateTime("2024-01-01T00:00:00Z")
	obsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	postChanges := blog.Post.Observe(obsCtx)
	sampleChanges := scalars.Sample.Observe(obsCtx)

	// Blog: enum, Int range, belongsTo parent.
	wantInvalid(t, blog.Post.Save(ctx, &blogm.Post{ID: "bad1", Title: "t", Status: ptr(blogm.PostStatus("ARCHIVED"))}), "Post", "status", "not a value of enum PostStatus")
	wantInvalid(t, blog.Post.Save(ctx, &blogm.Post{ID: "bad2", Title: "t", Rating: ptr(math.MaxInt32 + 1)}), "Post", "rating", "32-bit")
	wantInvalid(t, blog.Post.Save(ctx, &blogm.Post{ID: "bad3", Title: "t", Rating: ptr(math.MinInt32 - 1)}), "Post", "rating", "32-bit")
	wantInvalid(t, blog.Post.Save(ctx, &blogm.Post{ID: "bad4", Title: "t", BlogPostsID: ptr("no-such-blog")}), "Post", "blog", "does not exist")
	wantInvalid(t, blog.Comment.Save(ctx, &blogm.Comment{ID: "c", Content: "t", PostCommentsID: ptr("no-such-post")}), "Comment", "post", "does not exist")
	wantInvalid(t, blog.PostTags.Save(ctx, &blogm.PostTags{ID: "j", PostID: ptr("x"), TagID: ptr("y")}), "PostTags", "post", "does not exist")
	for _, id := range []string{"bad1", "bad2", "bad3", "bad4"} {
		if _, err := blog.Post.Get(ctx, id); !errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("invalid post %s was written: %v", id, err)
		}
	}
	// An invalid update leaves the stored record as it was.
	must(t, blog.Post.Save(ctx, &blogm.Post{ID: "ok", Title: "fine", Rating: ptr(1)}))
	recv(t, postChanges, "valid create")
	wantInvalid(t, blog.Post.Save(ctx, &blogm.Post{ID: "ok", Title: "changed", Rating: ptr(1 << 40)}), "Post", "rating", "32-bit")
	if got, err := blog.Post.Get(ctx, "ok"); err != nil || got.Title != "fine" || *got.Rating != 1 {
		t.Errorf("after invalid update: %+v, %v", got, err)
	}
	// Inside a batch, an invalid record fails the batch and nothing of it
	// is written.
	err := blog.Batch(ctx, func(tx *blogm.Tx) error {
		if err := tx.Blog.Save(ctx, &blogm.Blog{ID: "in-batch", Name: "b"}); err != nil {
			return err
		}
		return tx.Post.Save(ctx, &blogm.Post{ID: "in-batch", Title: "t", BlogPostsID: ptr("not-saved")})
	})
	wantInvalid(t, err, "Post", "blog", "does not exist")
	if _, err := blog.Blog.Get(ctx, "in-batch"); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("blog of a failed batch was written: %v", err)
	}
	quiet(t, postChanges, 50*time.Millisecond, "invalid posts")

	// AWS scalars.
	base := func() *scm.Sample { return &scm.Sample{ID: "s", Text: "t", At: at} }
	with := func(f func(*scm.Sample)) *scm.Sample { s := base(); f(s); return s }
	for _, c := range []struct {
		s      *scm.Sample
		field  string
		reason string
	}{
		{with(func(s *scm.Sample) { s.At = scalar.DateTime{} }), "at", "required field is null"},
		{with(func(s *scm.Sample) { s.Contact = ptr(scalar.Email("not-an-email")) }), "contact", "invalid AWSEmail"},
		{with(func(s *scm.Sample) { s.Homepage = ptr(scalar.URL("example.com/no-scheme")) }), "homepage", "invalid AWSURL"},
		{with(func(s *scm.Sample) { s.Phone = ptr(scalar.Phone("call me")) }), "phone", "invalid AWSPhone"},
		{with(func(s *scm.Sample) { s.Peer = ptr(scalar.IPAddress("999.1.1.1")) }), "peer", "invalid AWSIPAddress"},
		{with(func(s *scm.Sample) { s.Payload = ptr(scalar.JSON(`{"a":`)) }), "payload", "invalid AWSJSON"},
		{with(func(s *scm.Sample) { s.Payloads = []*scalar.JSON{ptr(scalar.JSON(`1`)), ptr(scalar.JSON(`nope`))} }), "payloads", "element 1"},
		{with(func(s *scm.Sample) { s.Count = ptr(1 << 32) }), "count", "32-bit"},
		{with(func(s *scm.Sample) { s.Counts = []*int{ptr(1), ptr(math.MaxInt32 + 1)} }), "counts", "element 1"},
		{with(func(s *scm.Sample) { s.Ratio = ptr(math.NaN()) }), "ratio", "not a GraphQL Float"},
		{with(func(s *scm.Sample) { s.Ratio = ptr(math.Inf(-1)) }), "ratio", "not a GraphQL Float"},
	} {
		wantInvalid(t, scalars.Sample.Save(ctx, c.s), "Sample", c.field, c.reason)
	}
	if n, _ := scalars.Sample.Query().Count(ctx); n != 0 {
		t.Errorf("%d invalid samples written", n)
	}
	quiet(t, sampleChanges, 50*time.Millisecond, "invalid samples")
	// And a valid one with every field set passes.
	must(t, scalars.Sample.Save(ctx, &scm.Sample{ID: "full", Text: "t", At: at, Count: ptr(math.MinInt32), Ratio: ptr(1e-300),
		Ok: ptr(false), Day: ptr(scalar.MustParseDate("2024-02-29")), Clock: ptr(scalar.MustParseTime("23:59:59.999+05:30")),
		Epoch: ptr(scalar.Timestamp(-1)), Contact: ptr(scalar.Email("a@b.co")), Payload: ptr(scalar.MustParseJSON(`{"k":[1,null]}`)),
		Homepage: ptr(scalar.URL("https://example.com/p?q=1")), Phone: ptr(scalar.Phone("+1 206 555 0100")), Peer: ptr(scalar.IPAddress("2001:db8::1")),
		Days: []scalar.Date{scalar.MustParseDate("2024-01-01")}, Counts: []*int{ptr(math.MaxInt32)}, Payloads: []*scalar.JSON{ptr(scalar.MustParseJSON(`[]`))}}))

	// Keys: empty and null key fields; a date key field left zero.
	d := scalar.MustParseDate("2024-01-01")
	wantInvalid(t, keys.Task.Save(ctx, &ckm.Task{TaskID: "", DueOn: d, Priority: 1}), "Task", "taskId", "key field is empty")
	wantInvalid(t, keys.Task.Save(ctx, &ckm.Task{TaskID: "t", Priority: 1}), "Task", "dueOn", "required field is null")
	wantInvalid(t, keys.Project.Save(ctx, &ckm.Project{ProjectID: "p", Name: ""}), "Project", "name", "key field is empty")
	wantInvalid(t, keys.Project.Save(ctx, &ckm.Project{ProjectID: "", Name: "n"}), "Project", "projectId", "key field is empty")
	wantInvalid(t, keys.Reading.Save(ctx, &ckm.Reading{Sensor: "s", TakenAt: at, Value: math.NaN()}), "Reading", "value", "not a GraphQL Float")
	wantInvalid(t, keys.Task.Save(ctx, &ckm.Task{TaskID: "t", DueOn: d, ProjectTasksProjectID: ptr("p"), ProjectTasksName: ptr("n")}), "Task", "project", "does not exist")
	must(t, keys.Project.Save(ctx, &ckm.Project{ProjectID: "p", Name: "n"}))
	must(t, keys.Task.Save(ctx, &ckm.Task{TaskID: "t", DueOn: d, ProjectTasksProjectID: ptr("p"), ProjectTasksName: ptr("n")}))
	for _, m := range []string{"task", "project", "reading"} {
		var n int
		switch m {
		case "task":
			n, _ = keys.Task.Query().Count(ctx)
		case "project":
			n, _ = keys.Project.Query().Count(ctx)
		case "reading":
			n, _ = keys.Reading.Query().Count(ctx)
		}
		if n != map[string]int{"task": 1, "project": 1}[m] {
			t.Errorf("%d %s records after invalid saves", n, m)
		}
	}
	// Get with a key that cannot be a key.
	if _, err := keys.Task.Get(ctx, "", scalar.Date{}, 0); err == nil {
		t.Errorf("Get with a zero date key: no error")
	}

	// Relations: a belongsTo by an explicit field; references.
	wantInvalid(t, rel.Book.Save(ctx, &relm.Book{ID: "b", Title: "t", AuthorID: "nobody"}), "Book", "author", "does not exist")
	wantInvalid(t, rel.Review.Save(ctx, &relm.Review{ID: "r", Stars: 5, BookID: "nothing"}), "Review", "book", "does not exist")

	// Enums in lists.
	wantInvalid(t, enums.Site.Save(ctx, &enm.Site{ID: "s", Name: ptr("n"), Levels: []*enm.Priority{ptr(enm.PriorityLow), ptr(enm.Priority("URGENT"))}}), "Site", "levels", "element 1")
	wantInvalid(t, enums.Site.Save(ctx, &enm.Site{ID: "s", Name: ptr("n"), Units: ptr(enm.UnitSystem("METRIC"))}), "Site", "units", "not a value of enum")
	// Values of non-model types are checked field by field.
	wantInvalid(t, enums.Site.Save(ctx, &enm.Site{ID: "s", Name: ptr("n"), Address: &enm.Address{Line1: "x", Geo: &enm.Geo{Lat: math.NaN()}}}), "Site", "address", "geo: lat: NaN is not a GraphQL Float")
	wantInvalid(t, enums.Site.Save(ctx, &enm.Site{ID: "s", Name: ptr("n"), Previous: []enm.Address{{Line1: "ok"}, {Line1: "x", Geo: &enm.Geo{Lng: math.Inf(1)}}}}), "Site", "previous", "element 1: geo: lng:")
	if n, _ := enums.Site.Query().Count(ctx); n != 0 {
		t.Errorf("%d invalid sites written", n)
	}
	must(t, enums.Site.Save(ctx, &enm.Site{ID: "s", Name: ptr("n"), Address: &enm.Address{Line1: "x", Geo: &enm.Geo{Lat: -90, Lng: 180}}, Previous: []enm.Address{{Line1: "y", Tags: []string{"t"}}}}))
}

// TestE2ELargeValues stores records far above Badger's value threshold
// (64 KiB, kept in the value log), with and without encryption, and reads
// them back through every path: Get, scans with a prefilter, sorted
// queries, relations, observers and a reopen.
func TestE2ELargeValues(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(fmt.Sprint("encrypted=", encrypted), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			var opts []datastore.Option
			if encrypted {
				opts = append(opts, datastore.EncryptionKey([]byte("0123456789abcdef")))
			}
			ds, err := blogm.Open(ctx, dir, opts...)
			must(t, err)
			obsCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			changes := ds.Post.Observe(obsCtx, post.Title.Contains("needle"))
			big := func(i int, mark string) string {
				return strings.Repeat(fmt.Sprintf("%03d-", i), 75_000) + mark // 300 KB
			}
			must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: "b", Name: strings.Repeat("n", 100_000)}))
			must(t, ds.Batch(ctx, func(tx *blogm.Tx) error {
				for i := range 6 {
					mark := ""
					if i%2 == 0 {
						mark = "needle"
					}
					if err := tx.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("p", i), Title: big(i, mark), Rating: ptr(i), BlogPostsID: ptr("b")}); err != nil {
						return err
					}
				}
				return nil
			}))
			for i := 0; i < 6; i += 2 {
				if c := recv(t, changes, "large change"); c.Element.ID != fmt.Sprint("p", i) || len(c.Element.Title) != 300_006 {
					t.Errorf("change %s with a title of %d bytes", c.Element.ID, len(c.Element.Title))
				}
			}
			check := func(ds *blogm.DataStore) {
				t.Helper()
				p, err := ds.Post.Get(ctx, "p3")
				if err != nil || p.Title != big(3, "") {
					t.Fatalf("Get: %v (%d bytes)", err, len(p.Title))
				}
				got, err := ds.Post.Query().Where(post.Title.Contains("needle")).All(ctx)
				if s := strings.Join(sortedKeys(got, postKey), " "); err != nil || s != "p0 p2 p4" {
					t.Errorf("contains: %q, %v", s, err)
				}
				got, err = ds.Post.Query().Where(post.Title.BeginsWith("004-")).All(ctx)
				if err != nil || len(got) != 1 || got[0].Title != big(4, "needle") {
					t.Errorf("beginsWith: %d, %v", len(got), err)
				}
				got, err = ds.Post.Query().Order(post.Title.Desc()).Limit(2).All(ctx)
				if s := strings.Join(keysOf(got, postKey), " "); err != nil || s != "p5 p4" {
					t.Errorf("sorted: %q, %v", s, err)
				}
				b, err := ds.Post.QueryBlog(&blogm.Post{BlogPostsID: ptr("b")}).First(ctx)
				if err != nil || len(b.Name) != 100_000 {
					t.Errorf("blog: %v", err)
				}
				if n, err := ds.Blog.QueryPosts(b).Count(ctx); n != 6 || err != nil {
					t.Errorf("posts of b: %d, %v", n, err)
				}
			}
			check(ds)
			must(t, ds.Close(ctx))
			ds, err = blogm.Open(ctx, dir, opts...)
			must(t, err)
			defer ds.Close(ctx)
			check(ds)
			must(t, ds.Blog.DeleteKey(ctx, "b"))
			if n, _ := ds.Post.Query().Count(ctx); n != 0 {
				t.Errorf("%d posts after deleting the blog", n)
			}
		})
	}
}
