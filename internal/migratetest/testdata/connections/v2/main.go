// Command v2 is the connections app as built from schema v2, where
// Comment.post is a @belongsTo whose foreign key is postCommentsId. It
// reports what it finds after the migration ("local": comment c1, the
// comments of p1, the outbox), then syncs with -url until the outbox is
// empty ("synced").
package main

import (
	"context"
	"flag"

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

func run(ctx context.Context, ds *model.DataStore, url, key string) error {
	c1, err := ds.Comment.Get(ctx, "c1")
	if err != nil {
		return err
	}
	p1, err := ds.Post.Get(ctx, "p1")
	if err != nil {
		return err
	}
	of, err := ds.Post.QueryComments(p1).All(ctx)
	if err != nil {
		return err
	}
	box, err := ds.Store().Outbox(ctx)
	if err != nil {
		return err
	}
	appkit.Emit(map[string]any{"event": "local", "c1": c1, "commentsOfP1": of, "outbox": box})
	dead, err := appkit.Sync(ctx, ds.Store(), url, key)
	if err != nil {
		return err
	}
	appkit.Emit(map[string]any{"event": "synced", "deadLetters": dead})
	return nil
}
