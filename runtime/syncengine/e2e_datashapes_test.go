package syncengine_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	dsm "github.com/dsgen/dsgen/golden/data-shapes/model"
	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/scalar"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// shapesClient opens a golden/data-shapes store synced with the backend at
// url.
func shapesClient(t *testing.T, url string) *dsm.DataStore {
	t.Helper()
	ctx := context.Background()
	ds, err := dsm.Open(ctx, t.TempDir(), datastore.Outbox())
	if err != nil {
		t.Fatal(err)
	}
	eng, err := syncengine.New(ds.Store(), syncengine.Config{Endpoint: url, Auth: client.APIKey(apiKey), MaxBackoff: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if err := eng.Close(ctx); err != nil {
			t.Errorf("engine close: %v", err)
		}
		if err := ds.Close(ctx); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	must(t, eng.Start(ctx))
	select {
	case <-eng.Ready():
	case <-time.After(hangGuard):
		t.Fatal("engine not ready before the hang guard")
	}
	return ds
}

// TestSyncDataShapes sends null list elements, declared timestamps and
// @default values from one Go client through dsgen serve to another: what
// the second reads equals what the first saved.
func TestSyncDataShapes(t *testing.T) {
	sch, err := schema.LoadPath(filepath.Join("..", "..", "golden", "data-shapes", "schema.graphql"), schema.Options{})
	must(t, err)
	st, err := store.Open(context.Background(), store.Options{Dir: t.TempDir()})
	must(t, err)
	srv, err := serve.New(serve.Config{Schema: sch, Store: st, Auth: auth.Config{APIKeys: []auth.APIKey{{Key: apiKey}}}})
	must(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
		_ = st.Close()
	})
	a := shapesClient(t, ts.URL+"/graphql")
	b := shapesClient(t, ts.URL+"/graphql")
	ctx := context.Background()

	lists := &dsm.Lists{
		ID:        "l1",
		Colors:    []*dsm.Color{ptr(dsm.ColorRed), nil},
		ColorsReq: []dsm.Color{dsm.ColorBlue},
		Strings:   []*string{nil, ptr("")},
		Ints:      []*int{ptr(0), nil},
		Floats:    []*float64{nil, ptr(2.5)},
		Bools:     []*bool{nil, ptr(false)},
		Dates:     []*scalar.Date{nil, ptr(scalar.MustParseDate("2024-02-29"))},
		Epochs:    []*scalar.Timestamp{nil, ptr(scalar.Timestamp(0))},
		Jsons:     []*scalar.JSON{ptr(scalar.MustParseJSON(`{"a":1}`)), nil},
		Points:    []*dsm.Point{nil, {X: 3}},
	}
	must(t, a.Lists.Save(ctx, lists))
	stamped := &dsm.EpochStamped{ID: "e1"}
	must(t, a.EpochStamped.Save(ctx, stamped))

	var got *dsm.Lists
	poll.Until(t, "the lists reach client b", func() bool {
		got, err = b.Lists.Get(ctx, "l1")
		return err == nil
	})
	got.CreatedAt, got.UpdatedAt = lists.CreatedAt, lists.UpdatedAt
	if !reflect.DeepEqual(got, lists) {
		t.Errorf("client b read\n%+v\nclient a saved\n%+v", got, lists)
	}
	var gotStamped *dsm.EpochStamped
	poll.Until(t, "the stamped record reaches client b", func() bool {
		gotStamped, err = b.EpochStamped.Get(ctx, "e1")
		return err == nil
	})
	if *gotStamped.CreatedAt != *stamped.CreatedAt || gotStamped.UpdatedAt != stamped.UpdatedAt {
		t.Errorf("timestamps %v/%v on b, %v/%v on a", *gotStamped.CreatedAt, gotStamped.UpdatedAt, *stamped.CreatedAt, stamped.UpdatedAt)
	}
}
