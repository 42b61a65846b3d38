// Command v2 opens the store with the corpus schema
// api-iterative-push-add-sort-to-primary-key-final-schema (Blog keyed by id
// and name: the records are re-keyed), reports the blogs, whether each is
// found by its new key, and the outbox, then syncs with -url.
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
	if err := ds.Start(ctx); err != nil {
		appkit.Fail(err)
	}
	blogs, err := ds.Blog.Query().All(ctx)
	if err != nil {
		appkit.Fail(err)
	}
	slices.SortFunc(blogs, func(a, b *model.Blog) int { return strings.Compare(a.ID, b.ID) })
	var byKey []string
	for _, b := range blogs {
		if got, err := ds.Blog.Get(ctx, b.ID, b.Name); err == nil && got.ID == b.ID {
			byKey = append(byKey, b.ID)
		}
	}
	box, err := ds.Store().Outbox(ctx)
	if err != nil {
		appkit.Fail(err)
	}
	appkit.Emit(map[string]any{"event": "local", "records": blogs, "byKey": byKey, "outbox": box})
	if *url == "" {
		return
	}
	dead, err := appkit.Sync(ctx, ds.Store(), *url, *key)
	if err != nil {
		appkit.Fail(err)
	}
	appkit.Emit(map[string]any{"event": "synced", "deadLetters": dead})
}
