package datastore_test

import (
	"context"
	"errors"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	"github.com/dsgen/dsgen/internal/testenv/errtest"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/storage"
)

// checkPrefixOnce fails unless err's message starts with "datastore: " and
// names no package prefix twice.
func checkPrefixOnce(t *testing.T, what string, err error) {
	t.Helper()
	errtest.PrefixOnce(t, what, err, nil, "datastore: ", "storage: ", "codec: ", "scalar: ")
}

// TestErrorMessagesCarryThePrefixOnce walks the error paths a user meets
// (a missing record, a failed condition, an invalid value, a damaged
// record, a closed store, a refused Clear, a remote record that does not
// fit) and checks each message reads "datastore: ..." once, while
// errors.Is and errors.As still find the sentinel or type behind it.
func TestErrorMessagesCarryThePrefixOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ds, err := blogm.Open(ctx, dir, datastore.Outbox())
	if err != nil {
		t.Fatal(err)
	}
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p1", Title: "one"}))

	_, err = ds.Post.Get(ctx, "missing")
	checkPrefixOnce(t, "get of a missing record", err)
	if !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("get of a missing record: %v is not ErrNotFound", err)
	}
	_, err = ds.Post.Query().Where(post.Title.Eq("nope")).First(ctx)
	checkPrefixOnce(t, "First with no match", err)
	err = ds.Post.DeleteKey(ctx, "missing")
	checkPrefixOnce(t, "delete of a missing record", err)

	err = ds.Post.Save(ctx, &blogm.Post{ID: "p1", Title: "two"}, datastore.If(post.Title.Eq("other")))
	checkPrefixOnce(t, "save whose condition fails", err)
	if !errors.Is(err, datastore.ErrConditionFailed) {
		t.Errorf("save whose condition fails: %v is not ErrConditionFailed", err)
	}

	bad := blogm.PostStatus("BOGUS")
	err = ds.Post.Save(ctx, &blogm.Post{ID: "p2", Title: "bad", Status: &bad})
	checkPrefixOnce(t, "save of an invalid enum value", err)
	var ve *datastore.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, datastore.ErrInvalidValue) {
		t.Errorf("save of an invalid enum value: %v is no ValidationError wrapping ErrInvalidValue", err)
	}
	err = ds.Post.Save(ctx, &blogm.Post{ID: "p3", Title: "orphan", BlogPostsID: ptr("no-such-blog")})
	checkPrefixOnce(t, "save with a missing parent", err)

	err = ds.Clear(ctx)
	checkPrefixOnce(t, "Clear with pending mutations", err)
	if !errors.Is(err, datastore.ErrPendingMutations) {
		t.Errorf("Clear with pending mutations: %v is not ErrPendingMutations", err)
	}

	res, err := ds.Store().Sync().ApplyRemote(ctx, "Post", []map[string]any{{"title": "no id", "_version": 1}})
	must(t, err)
	if len(res.Rejected) != 1 {
		t.Fatalf("ApplyRemote of a record without its key: %+v, want one rejection", res)
	}
	checkPrefixOnce(t, "remote record without a key", res.Rejected[0])
	_, err = ds.Store().ModelMetadata(ctx, "NoSuchModel")
	checkPrefixOnce(t, "sync state of an unknown model", err)

	must(t, ds.Close(ctx))
	_, err = ds.Post.Get(ctx, "p1")
	checkPrefixOnce(t, "get on a closed store", err)
	if !errors.Is(err, datastore.ErrClosed) {
		t.Errorf("get on a closed store: %v is not ErrClosed", err)
	}

	// Damage p1's bytes, as a bad disk would, and read and write it.
	db, err := storage.Open(ctx, dir, storage.Options{})
	must(t, err)
	err = db.Update(func(txn storage.Txn) error {
		it := txn.Iterate(storage.IterOptions{Prefix: storage.RecordPrefix(0)[:1]})
		defer it.Close()
		it.Rewind()
		if !it.Valid() {
			return errors.New("no record to damage")
		}
		key := it.KeyCopy(nil)
		it.Close()
		return txn.Set(key, []byte{0xff, 0xff, 0xff})
	})
	must(t, err)
	must(t, db.Close())
	ds, err = blogm.Open(ctx, dir, datastore.Outbox())
	must(t, err)
	defer ds.Close(ctx)
	_, err = ds.Post.Get(ctx, "p1")
	checkPrefixOnce(t, "get of a damaged record", err)
	_, err = ds.Post.Query().All(ctx)
	checkPrefixOnce(t, "query over a damaged record", err)
	err = ds.Post.Save(ctx, &blogm.Post{ID: "p1", Title: "over the damage"})
	checkPrefixOnce(t, "save over a damaged record", err)
	err = ds.Post.Delete(ctx, &blogm.Post{ID: "p1"})
	checkPrefixOnce(t, "delete of a damaged record", err)
	_, err = ds.Post.DeleteWhere(ctx, predicate.All[blogm.Post]())
	checkPrefixOnce(t, "delete-where over a damaged record", err)
}
