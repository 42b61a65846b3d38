// Command v2 is the notes app as built from schema v2, whose Note key
// gained a sort key on a new field (kind), so the migration re-syncs Note:
// it keeps only the notes with unsent changes. The app reports the notes
// it has after the migration ("local"), then, with -url, syncs until the
// outbox is empty and reports them again ("synced").
package main

import (
	"context"
	"flag"
	"slices"
	"strings"

	"example.com/app/appkit"
	"example.com/app/model"

	"github.com/dsgen/dsgen/runtime/datastore"
)

func main() {
	dir := flag.String("dir", "", "store directory")
	url := flag.String("url", "", "GraphQL endpoint")
	key := flag.String("key", "", "API key")
	flag.Parse()
	ctx := context.Background()
	ds, err := model.Open(ctx, *dir, datastore.Outbox(), appkit.Progress(0))
	if err != nil {
		appkit.Fail(err)
	}
	defer ds.Close(ctx)
	if err := run(ctx, ds, *url, *key); err != nil {
		appkit.Fail(err)
	}
}

func notes(ctx context.Context, ds *model.DataStore) ([]*model.Note, error) {
	ns, err := ds.Note.Query().All(ctx)
	slices.SortFunc(ns, func(a, b *model.Note) int { return strings.Compare(a.ID, b.ID) })
	return ns, err
}

func run(ctx context.Context, ds *model.DataStore, url, key string) error {
	if err := ds.Start(ctx); err != nil {
		return err
	}
	ns, err := notes(ctx, ds)
	if err != nil {
		return err
	}
	box, err := ds.Store().Outbox(ctx)
	if err != nil {
		return err
	}
	md, err := ds.Store().ModelMetadata(ctx, "Note")
	if err != nil {
		return err
	}
	appkit.Emit(map[string]any{"event": "local", "notes": ns, "outbox": box, "lastSync": md.LastSync})
	if url == "" {
		return nil
	}
	dead, err := appkit.Sync(ctx, ds.Store(), url, key)
	if err != nil {
		return err
	}
	if ns, err = notes(ctx, ds); err != nil {
		return err
	}
	appkit.Emit(map[string]any{"event": "synced", "notes": ns, "deadLetters": dead})
	return nil
}
