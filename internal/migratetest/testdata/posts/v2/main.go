// Command v2 is the posts app as built from schema v2. It opens the store
// (migrating it), reports the posts it finds and what the byViews index
// answers, archives p4 (an enum value v1 lacked) and writes a comment (a
// model v1 lacked), then syncs with -url until the outbox is empty.
package main

import (
	"context"
	"flag"
	"slices"
	"strings"

	"example.com/app/appkit"
	"example.com/app/model"
	"example.com/app/model/post"

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
	if err := ds.Start(ctx); err != nil {
		return err
	}
	posts, err := ds.Post.Query().All(ctx)
	if err != nil {
		return err
	}
	slices.SortFunc(posts, func(a, b *model.Post) int { return strings.Compare(a.ID, b.ID) })
	q := ds.Post.QueryByViews(7)
	byViews, err := q.All(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(byViews))
	for _, p := range byViews {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	// The typed predicate on the new field is planned on the new index too.
	where := ds.Post.Query().Where(post.Views.Eq(7))
	n, err := where.Count(ctx)
	if err != nil {
		return err
	}
	tags, err := ds.Tag.Query().Count(ctx)
	if err != nil {
		return err
	}
	box, err := ds.Store().Outbox(ctx)
	if err != nil {
		return err
	}
	appkit.Emit(map[string]any{"event": "local", "posts": posts, "byViews": ids, "byViewsPlan": q.Plan(),
		"whereCount": n, "wherePlan": where.Plan(), "tags": tags, "outbox": box})

	p4, err := ds.Post.Get(ctx, "p4")
	if err != nil {
		return err
	}
	p4.Status = new(model.PostStatusArchived)
	if err := ds.Post.Save(ctx, p4); err != nil {
		return err
	}
	if err := ds.Comment.Save(ctx, &model.Comment{ID: "c1", Content: "migrated fine"}); err != nil {
		return err
	}
	missing, err := appkit.MissingModelMetadata(ctx, ds.Store())
	if err != nil {
		return err
	}
	appkit.Emit(map[string]any{"event": "syncState", "missing": missing})
	dead, err := appkit.Sync(ctx, ds.Store(), url, key)
	if err != nil {
		return err
	}
	appkit.Emit(map[string]any{"event": "synced", "deadLetters": dead})
	return nil
}
