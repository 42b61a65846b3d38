// Command v2 is the sites app as built from schema v2, which renamed
// Address.line1 to street, Geo to Point and its lat to latitude, dropped
// Address.tags and added Address.zip with a @default. It reports the sites
// and the outbox after the migration ("local"), then syncs with -url until
// the outbox is empty and reports the sites and dead letters ("synced").
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

func sites(ctx context.Context, ds *model.DataStore) ([]*model.Site, error) {
	ss, err := ds.Site.Query().All(ctx)
	slices.SortFunc(ss, func(a, b *model.Site) int { return strings.Compare(a.ID, b.ID) })
	return ss, err
}

func run(ctx context.Context, ds *model.DataStore, url, key string) error {
	if err := ds.Start(ctx); err != nil {
		return err
	}
	ss, err := sites(ctx, ds)
	if err != nil {
		return err
	}
	box, err := ds.Store().Outbox(ctx)
	if err != nil {
		return err
	}
	appkit.Emit(map[string]any{"event": "local", "sites": ss, "outbox": box})
	dead, err := appkit.Sync(ctx, ds.Store(), url, key)
	if err != nil {
		return err
	}
	if ss, err = sites(ctx, ds); err != nil {
		return err
	}
	appkit.Emit(map[string]any{"event": "synced", "sites": ss, "deadLetters": dead})
	return nil
}
