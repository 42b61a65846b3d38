// Command v1 is the posts app as built from schema v1. With -url it
// creates p1 and p2 (and tag t1 on p1) and syncs them; without, it works
// offline: it edits p2 and creates p3, p4 and tag t2 on p3, leaving those
// changes in the outbox.
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
	url := flag.String("url", "", "GraphQL endpoint: sync p1 and p2 there")
	key := flag.String("key", "", "API key")
	flag.Parse()
	ctx := context.Background()
	ds, err := model.Open(ctx, *dir, datastore.Outbox())
	if err != nil {
		appkit.Fail(err)
	}
	defer ds.Close(ctx)
	if err := run(ctx, ds, *url, *key); err != nil {
		appkit.Fail(err)
	}
}

func run(ctx context.Context, ds *model.DataStore, url, key string) error {
	if url != "" {
		err := ds.Batch(ctx, func(tx *model.Tx) error {
			for _, p := range []*model.Post{
				{ID: "p1", Title: "First", Rating: new(4), Status: new(model.PostStatusPublished)},
				{ID: "p2", Title: "Second", Rating: new(3), Status: new(model.PostStatusDraft)},
			} {
				if err := tx.Post.Save(ctx, p); err != nil {
					return err
				}
			}
			return tx.Tag.Save(ctx, &model.Tag{ID: "t1", Label: "go", PostTagsID: new("p1")})
		})
		if err != nil {
			return err
		}
		dead, err := appkit.Sync(ctx, ds.Store(), url, key)
		if err != nil {
			return err
		}
		appkit.Emit(map[string]any{"event": "synced", "deadLetters": len(dead)})
		return nil
	}
	p2, err := ds.Post.Get(ctx, "p2")
	if err != nil {
		return err
	}
	p2.Title, p2.Rating = "Second, edited", new(5)
	if err := ds.Post.Save(ctx, p2); err != nil {
		return err
	}
	for _, p := range []*model.Post{
		{ID: "p3", Title: "Third", Rating: new(1)},
		{ID: "p4", Title: "Fourth", Status: new(model.PostStatusDraft)},
	} {
		if err := ds.Post.Save(ctx, p); err != nil {
			return err
		}
	}
	if err := ds.Tag.Save(ctx, &model.Tag{ID: "t2", Label: "sync", PostTagsID: new("p3")}); err != nil {
		return err
	}
	box, err := ds.Store().Outbox(ctx)
	if err != nil {
		return err
	}
	appkit.Emit(map[string]any{"event": "offline", "outbox": box})
	return nil
}
