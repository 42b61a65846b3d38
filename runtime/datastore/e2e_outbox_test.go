package datastore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
)

// outboxOf lists the outbox as (op, id) pairs with their data.
func outboxOf(t *testing.T, s *datastore.Store) []datastore.Mutation {
	t.Helper()
	out, err := s.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOutboxMergesPerRecord(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	s := ds.Post.Repo().Store()

	p := &blogm.Post{Title: "draft", Rating: ptr(1)}
	must(t, ds.Post.Save(ctx, p))
	p.Rating = ptr(2)
	must(t, ds.Post.Save(ctx, p))
	box := outboxOf(t, s)
	if len(box) != 1 || box[0].Op != datastore.MutationCreate || box[0].Data["rating"] != json.Number("2") || box[0].Data["title"] != "draft" {
		t.Fatalf("create+update = %+v, want one create with the current values", box)
	}

	// create+delete: nothing reaches the backend.
	must(t, ds.Post.Delete(ctx, p))
	if box := outboxOf(t, s); len(box) != 0 {
		t.Fatalf("create+delete left %+v", box)
	}

	// A record the backend knows: updates merge to the union of changed
	// fields, then a delete replaces them.
	q := &blogm.Post{ID: "q1", Title: "known", Rating: ptr(1)}
	applyOne(t, s, "Post", map[string]any{"id": "q1", "title": "known", "rating": 1, "_version": 3, "_lastChangedAt": 1000})
	q, err := ds.Post.Get(ctx, "q1")
	must(t, err)
	q.Title = "renamed"
	must(t, ds.Post.Save(ctx, q))
	q.Rating = ptr(5)
	must(t, ds.Post.Save(ctx, q))
	box = outboxOf(t, s)
	if len(box) != 1 || box[0].Op != datastore.MutationUpdate {
		t.Fatalf("update+update = %+v", box)
	}
	d := box[0].Data
	if d["id"] != "q1" || d["title"] != "renamed" || d["rating"] != json.Number("5") {
		t.Fatalf("merged update data = %v, want id, title and rating", d)
	}
	if _, has := d["status"]; has {
		t.Fatalf("unchanged field status sent: %v", d)
	}

	// The entry in flight is not merged into: the next write queues behind.
	m, err := s.Sync().NextMutation(ctx)
	must(t, err)
	if m == nil || m.Version != 3 {
		t.Fatalf("NextMutation = %+v, want the update with version 3 from sync metadata", m)
	}
	must(t, ds.Post.Delete(ctx, q))
	box = outboxOf(t, s)
	if len(box) != 2 || box[1].Op != datastore.MutationDelete || !box[0].InFlight {
		t.Fatalf("after a write during a send = %+v, want the in-flight update then a delete", box)
	}

	// The update's answer moves the version on; the delete is then sent
	// with it (the record is gone locally, its metadata is not).
	must(t, s.Sync().CompleteMutation(ctx, m, map[string]any{"id": "q1", "title": "renamed", "rating": json.Number("5"), "_version": json.Number("4"), "_lastChangedAt": json.Number("2000")}))
	if _, err := ds.Post.Get(ctx, "q1"); !errors.Is(err, datastore.ErrNotFound) {
		t.Fatalf("the update's answer brought back a record deleted locally: %v", err)
	}
	m, err = s.Sync().NextMutation(ctx)
	must(t, err)
	if m == nil || m.Op != datastore.MutationDelete || m.Version != 4 {
		t.Fatalf("next = %+v, want the delete at version 4", m)
	}
}

func applyOne(t *testing.T, s *datastore.Store, model string, item map[string]any) datastore.ApplyResult {
	t.Helper()
	b, _ := json.Marshal(item)
	var wire map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	must(t, d.Decode(&wire))
	res, err := s.Sync().ApplyRemote(context.Background(), model, []map[string]any{wire})
	must(t, err)
	return res
}

func TestApplyRemote(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	s := ds.Post.Repo().Store()
	changes := ds.Post.Observe(ctx)

	res := applyOne(t, s, "Post", map[string]any{"id": "r1", "title": "from server", "rating": 2, "status": "DRAFT", "_version": 2, "_lastChangedAt": 10, "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z", "blog": map[string]any{"id": "b", "_deleted": nil}})
	if res.Applied != 1 {
		t.Fatalf("apply = %+v", res)
	}
	p, err := ds.Post.Get(ctx, "r1")
	must(t, err)
	if p.Title != "from server" || *p.Rating != 2 || *p.Status != blogm.PostStatusDraft {
		t.Fatalf("applied record = %+v", p)
	}
	if len(outboxOf(t, s)) != 0 {
		t.Fatal("a record from the backend was queued in the outbox")
	}
	select {
	case c := <-changes:
		if !c.FromSync || c.Element.ID != "r1" {
			t.Fatalf("observed %+v, want r1 from sync", c)
		}
	case <-time.After(hangGuard):
		t.Fatal("no change observed for the applied record")
	}

	// Not newer: skipped.
	if res := applyOne(t, s, "Post", map[string]any{"id": "r1", "title": "old", "_version": 2, "_lastChangedAt": 9}); res.Skipped != 1 {
		t.Fatalf("same version = %+v, want skipped", res)
	}
	// A pending local mutation holds incoming versions back.
	p.Title = "local edit"
	must(t, ds.Post.Save(ctx, p))
	if res := applyOne(t, s, "Post", map[string]any{"id": "r1", "title": "remote edit", "_version": 3, "_lastChangedAt": 11}); res.Skipped != 1 {
		t.Fatalf("pending = %+v, want skipped", res)
	}
	if p, _ := ds.Post.Get(ctx, "r1"); p.Title != "local edit" {
		t.Fatalf("local edit overwritten: %q", p.Title)
	}
	// A tombstone deletes.
	if res := applyOne(t, s, "Post", map[string]any{"id": "r2", "title": "x", "_version": 1, "_lastChangedAt": 1}); res.Applied != 1 {
		t.Fatal(res)
	}
	if res := applyOne(t, s, "Post", map[string]any{"id": "r2", "title": "x", "_version": 2, "_lastChangedAt": 2, "_deleted": true}); res.Applied != 1 {
		t.Fatal(res)
	}
	if _, err := ds.Post.Get(ctx, "r2"); !errors.Is(err, datastore.ErrNotFound) {
		t.Fatalf("tombstone did not delete: %v", err)
	}
	if sm, ok, err := s.RecordSyncMeta(ctx, "Post", "r2"); err != nil || !ok || !sm.Deleted || sm.Version != 2 {
		t.Fatalf("tombstone meta = %+v %v %v", sm, ok, err)
	}
	// A record that does not fit the schema is rejected, not stored, and
	// the rest of the page still applies.
	bad := map[string]any{"id": "r3", "title": "t", "rating": "five", "_version": json.Number("1")}
	good := map[string]any{"id": "r4", "title": "t", "_version": json.Number("1")}
	res, err = s.Sync().ApplyRemote(ctx, "Post", []map[string]any{bad, good})
	must(t, err)
	if res.Applied != 1 || len(res.Rejected) != 1 {
		t.Fatalf("mixed page = %+v", res)
	}
	var rej *datastore.RemoteRecordError
	if !errors.As(res.Rejected[0], &rej) || rej.Key[0] != "r3" {
		t.Fatalf("rejection = %v", res.Rejected[0])
	}
}

func TestOutboxSurvivesReopenAndDeadLetters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ds, err := blogm.Open(ctx, dir, datastore.Outbox())
	must(t, err)
	must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: "b1", Name: "one"}))
	must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: "b2", Name: "two"}))
	must(t, ds.Close(ctx))

	ds, err = blogm.Open(ctx, dir, datastore.Outbox())
	must(t, err)
	closeAtEnd(t, ds)
	s := ds.Blog.Repo().Store()
	if box := outboxOf(t, s); len(box) != 2 || box[0].Key[0] != "b1" || box[1].Key[0] != "b2" {
		t.Fatalf("outbox after reopen = %+v", box)
	}
	if err := ds.Clear(ctx); !errors.Is(err, datastore.ErrPendingMutations) {
		t.Fatalf("Clear with pending mutations = %v, want ErrPendingMutations", err)
	}

	m, err := s.Sync().NextMutation(ctx)
	must(t, err)
	must(t, s.Sync().FailMutation(ctx, m, "Unauthorized: Not Authorized to access createBlog on type Blog"))
	dead, err := s.DeadLetters(ctx)
	must(t, err)
	if len(dead) != 1 || dead[0].Key[0] != "b1" || dead[0].Reason == "" {
		t.Fatalf("dead letters = %+v", dead)
	}
	if box := outboxOf(t, s); len(box) != 1 || box[0].Key[0] != "b2" {
		t.Fatalf("outbox after a failure = %+v", box)
	}
	must(t, s.RetryDeadLetter(ctx, dead[0].Seq))
	if box := outboxOf(t, s); len(box) != 2 || box[1].Key[0] != "b1" {
		t.Fatalf("outbox after retrying the dead letter = %+v, want it at the end", box)
	}
	if dead, _ := s.DeadLetters(ctx); len(dead) != 0 {
		t.Fatalf("dead letter kept after retry: %+v", dead)
	}
	must(t, s.Clear(ctx, datastore.Force()))
	if box := outboxOf(t, s); len(box) != 0 {
		t.Fatalf("forced Clear kept %+v", box)
	}
}

func TestOutboxCascadeQueuesEveryDelete(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	s := ds.Blog.Repo().Store()
	applyOne(t, s, "Blog", map[string]any{"id": "b", "name": "n", "_version": 1, "_lastChangedAt": 1})
	applyOne(t, s, "Post", map[string]any{"id": "p", "title": "t", "blogPostsId": "b", "_version": 7, "_lastChangedAt": 1})
	b, err := ds.Blog.Get(ctx, "b")
	must(t, err)
	must(t, ds.Blog.Delete(ctx, b))
	box := outboxOf(t, s)
	if len(box) != 2 || box[0].Model != "Post" || box[1].Model != "Blog" || box[0].Op != datastore.MutationDelete {
		t.Fatalf("cascade outbox = %+v, want the post's delete then the blog's", box)
	}
	m, err := s.Sync().NextMutation(ctx)
	must(t, err)
	if m.Version != 7 {
		t.Fatalf("child delete version = %d, want 7 (kept after the local delete)", m.Version)
	}
}

func TestOutboxConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	s := ds.Post.Repo().Store()
	const writers, each = 8, 40
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range each {
				p := &blogm.Post{ID: fmt.Sprintf("w%d-%d", w, i), Title: "t"}
				if err := ds.Post.Save(ctx, p); err != nil {
					errs <- err
					return
				}
				p.Title = "t2"
				if err := ds.Post.Save(ctx, p); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		must(t, <-errs)
	}
	box := outboxOf(t, s)
	if len(box) != writers*each {
		t.Fatalf("outbox holds %d entries, want %d (one merged create per record)", len(box), writers*each)
	}
	seen := map[any]bool{}
	for i, m := range box {
		if i > 0 && m.Seq <= box[i-1].Seq {
			t.Fatalf("outbox out of order at %d: %d after %d", i, m.Seq, box[i-1].Seq)
		}
		if seen[m.Key[0]] || m.Op != datastore.MutationCreate || m.Data["title"] != "t2" {
			t.Fatalf("entry %+v: duplicate or not merged", m)
		}
		seen[m.Key[0]] = true
	}
}

func TestSweepUnseenAndSyncedState(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	s := ds.Post.Repo().Store()
	snaps := ds.Post.ObserveQuery(ctx, ds.Post.Query())
	first := <-snaps
	if first.IsSynced {
		t.Fatal("a store with an outbox reports IsSynced before any sync")
	}
	for _, id := range []string{"a", "b", "c"} {
		applyOne(t, s, "Post", map[string]any{"id": id, "title": id, "_version": 1, "_lastChangedAt": 1})
	}
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "local", Title: "never synced"}))
	// A full sync at 500 lists a and b only (c's tombstone expired on the
	// backend); c goes, the local record with a pending create stays.
	page := []map[string]any{
		{"id": "a", "title": "a", "_version": json.Number("1"), "_lastChangedAt": json.Number("1")},
		{"id": "b", "title": "b2", "_version": json.Number("2"), "_lastChangedAt": json.Number("2")},
	}
	res, err := s.Sync().ApplyRemote(ctx, "Post", page, datastore.SeenIn(500))
	must(t, err)
	if res.Applied != 1 || res.Skipped != 1 {
		t.Fatalf("page = %+v", res)
	}
	n, err := s.Sync().SweepUnseen(ctx, "Post", 500)
	must(t, err)
	if n != 1 {
		t.Fatalf("swept %d, want 1", n)
	}
	all, err := ds.Post.Query().All(ctx)
	must(t, err)
	var ids []string
	for _, p := range all {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"a", "b", "local"}) {
		t.Fatalf("after the sweep: %v", ids)
	}
	s.Sync().SetSynced("Post", true)
	deadline := time.After(hangGuard)
	for {
		select {
		case snap := <-snaps:
			if snap.IsSynced {
				return
			}
		case <-deadline:
			t.Fatal("ObserveQuery never reported IsSynced after SetSynced")
		}
	}
}

func TestOutboxCarriesConditions(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	s := ds.Store()
	applyOne(t, s, "Post", map[string]any{"id": "c1", "title": "t", "rating": 3, "_version": 1, "_lastChangedAt": 1})
	p, err := ds.Post.Get(ctx, "c1")
	must(t, err)
	p.Title = "t2"
	must(t, ds.Post.Save(ctx, p, datastore.If(post.Rating.Lt(5))))
	box := outboxOf(t, s)
	want := map[string]any{"rating": map[string]any{"lt": json.Number("5")}}
	if len(box) != 1 || !reflect.DeepEqual(box[0].Condition, want) {
		t.Fatalf("condition = %#v, want %#v", box[0].Condition, want)
	}
	p.Title = "t3"
	must(t, ds.Post.Save(ctx, p, datastore.If(post.Title.Eq("t2"))))
	box = outboxOf(t, s)
	if c := box[0].Condition; len(box) != 1 || c["and"] == nil {
		t.Fatalf("merged update conditions = %#v, want both joined by and", c)
	}
	must(t, ds.Post.Delete(ctx, p, datastore.If(post.Title.Eq("t3"))))
	box = outboxOf(t, s)
	if len(box) != 1 || box[0].Op != datastore.MutationDelete || box[0].Condition["title"] == nil {
		t.Fatalf("conditional delete = %#v", box)
	}
}

// TestOutboxConditionIntRange refuses a condition the backend would refuse:
// an Int beyond 32 bits (AppSync's filter inputs take GraphQL's Int), in
// an update or a delete, nested under not or in a between. Nothing is
// written or queued; the same condition is fine without an outbox.
func TestOutboxConditionIntRange(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	s := ds.Store()
	applyOne(t, s, "Post", map[string]any{"id": "r1", "title": "t", "rating": 3, "_version": 1, "_lastChangedAt": 1})
	p, err := ds.Post.Get(ctx, "r1")
	must(t, err)
	p.Title = "changed"
	wantInvalid(t, ds.Post.Save(ctx, p, datastore.If(post.Rating.Lt(1<<31))), "Post", "rating", "condition lt: 2147483648 does not fit the 32-bit Int")
	wantInvalid(t, ds.Post.Save(ctx, p, datastore.If(predicate.Not(post.Rating.Between(10, 1<<40)))), "Post", "rating", "condition between: 1099511627776")
	wantInvalid(t, ds.Post.Delete(ctx, p, datastore.If(post.Rating.Gt(-1<<31-1))), "Post", "rating", "condition gt: -2147483649")
	if box := outboxOf(t, s); len(box) != 0 {
		t.Fatalf("refused writes queued %+v", box)
	}
	if got, err := ds.Post.Get(ctx, "r1"); err != nil || got.Title != "t" {
		t.Fatalf("after refused writes: %+v, %v", got, err)
	}
	must(t, ds.Post.Save(ctx, p, datastore.If(post.Rating.Lt(1<<31-1))))

	local := openBlog(t)
	must(t, local.Post.Save(ctx, &blogm.Post{ID: "l1", Title: "t", Rating: ptr(3)}))
	must(t, local.Post.Save(ctx, &blogm.Post{ID: "l1", Title: "u", Rating: ptr(3)}, datastore.If(post.Rating.Lt(1<<40))))
}

func TestFailMutationTakesTheServerCopy(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	s := ds.Store()
	applyOne(t, s, "Post", map[string]any{"id": "f1", "title": "server", "_version": 2, "_lastChangedAt": 1})
	p, err := ds.Post.Get(ctx, "f1")
	must(t, err)
	p.Title = "refused"
	must(t, ds.Post.Save(ctx, p))
	m, err := s.Sync().NextMutation(ctx)
	must(t, err)
	server := map[string]any{"id": "f1", "title": "server v3", "_version": json.Number("3"), "_lastChangedAt": json.Number("2")}
	must(t, s.Sync().FailMutation(ctx, m, "ConditionalCheckFailed", datastore.WithServerCopy(server)))
	if got, _ := ds.Post.Get(ctx, "f1"); got == nil || got.Title != "server v3" {
		t.Fatalf("local record after a refusal = %+v, want the server's copy", got)
	}
	dead, err := s.DeadLetters(ctx)
	must(t, err)
	if len(dead) != 1 || dead[0].Data["title"] != "refused" {
		t.Fatalf("dead letter = %+v, want the refused change kept", dead)
	}

	// A record the backend does not have goes away locally.
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "f2", Title: "unknown there"}))
	m, err = s.Sync().NextMutation(ctx)
	must(t, err)
	must(t, s.Sync().FailMutation(ctx, m, "Unauthorized", datastore.WithServerCopy(nil)))
	if _, err := ds.Post.Get(ctx, "f2"); !errors.Is(err, datastore.ErrNotFound) {
		t.Fatalf("record the backend lacks still present: %v", err)
	}
}

// An event can overtake the answer to our own mutation: another client's
// newer write, arriving while ours is in flight, must not be lost when our
// (older) answer lands.
func TestNewerEventDuringSendIsNotLost(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	s := ds.Post.Repo().Store()
	applyOne(t, s, "Post", map[string]any{"id": "r1", "title": "v1", "rating": 1, "_version": 1, "_lastChangedAt": 1000})

	p, err := ds.Post.Get(ctx, "r1")
	must(t, err)
	p.Title = "ours"
	must(t, ds.Post.Save(ctx, p))
	m, err := s.Sync().NextMutation(ctx)
	must(t, err)

	// The other client's update (v3, after ours became v2) arrives first:
	// held back while ours is pending.
	res, err := s.Sync().ApplyRemote(ctx, "Post", []map[string]any{{"id": "r1", "title": "theirs", "rating": json.Number("7"), "_version": json.Number("3"), "_lastChangedAt": json.Number("3000")}})
	must(t, err)
	if res.Applied != 0 {
		t.Fatalf("an event for a record with a pending mutation was applied: %+v", res)
	}
	if got, _ := ds.Post.Get(ctx, "r1"); got.Title != "ours" {
		t.Fatalf("local title = %q while our mutation is pending, want ours", got.Title)
	}

	// Our answer (v2) lands: the held v3 wins.
	must(t, s.Sync().CompleteMutation(ctx, m, map[string]any{"id": "r1", "title": "ours", "rating": json.Number("1"), "_version": json.Number("2"), "_lastChangedAt": json.Number("2000")}))
	got, err := ds.Post.Get(ctx, "r1")
	must(t, err)
	if got.Title != "theirs" || got.Rating == nil || *got.Rating != 7 {
		t.Fatalf("after our older answer: %q rating %v, want the newer event's values", got.Title, got.Rating)
	}
	sm, ok, err := s.RecordSyncMeta(ctx, "Post", "r1")
	must(t, err)
	if !ok || sm.Version != 3 || sm.Held != nil {
		t.Fatalf("sync metadata = %+v, want version 3 and nothing held", sm)
	}

	// An event older than our answer is simply dropped.
	p = got
	p.Title = "ours again"
	must(t, ds.Post.Save(ctx, p))
	m, err = s.Sync().NextMutation(ctx)
	must(t, err)
	_, err = s.Sync().ApplyRemote(ctx, "Post", []map[string]any{{"id": "r1", "title": "stale", "_version": json.Number("4"), "_lastChangedAt": json.Number("4000")}})
	must(t, err)
	must(t, s.Sync().CompleteMutation(ctx, m, map[string]any{"id": "r1", "title": "ours again", "rating": json.Number("7"), "_version": json.Number("5"), "_lastChangedAt": json.Number("5000")}))
	if got, _ := ds.Post.Get(ctx, "r1"); got.Title != "ours again" {
		t.Fatalf("title = %q, want our newer answer", got.Title)
	}
}

// TestHasSyncMeta: a model holds sync metadata once a backend record is
// applied to it; local records waiting in the outbox have none.
func TestHasSyncMeta(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t, datastore.Outbox())
	y := ds.Store().Sync()
	has := func(model string) bool {
		t.Helper()
		ok, err := y.HasSyncMeta(ctx, model)
		must(t, err)
		return ok
	}
	if has("Post") {
		t.Fatal("a new store reports sync metadata for Post")
	}
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "local", Title: "never synced"}))
	if has("Post") {
		t.Fatal("a local save alone made sync metadata")
	}
	applyOne(t, ds.Store(), "Post", map[string]any{"id": "a", "title": "a", "_version": 1, "_lastChangedAt": 1})
	if !has("Post") {
		t.Fatal("no sync metadata after a backend record was applied")
	}
	if has("Blog") {
		t.Fatal("Post's sync metadata reported for Blog")
	}
	if _, err := y.HasSyncMeta(ctx, "NoSuchModel"); err == nil {
		t.Fatal("HasSyncMeta of an unknown model: no error")
	}
}
