// Command v1 is the connections app as built from schema v1, whose
// Comment.post is a named @connection: its foreign key is commentPostId.
// It saves post p1 and comment c1 of p1 without syncing, so both stay in the
// outbox, and reports the outbox.
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
	flag.Parse()
	ctx := context.Background()
	ds, err := model.Open(ctx, *dir, datastore.Outbox())
	if err != nil {
		appkit.Fail(err)
	}
	defer ds.Close(ctx)
	p1 := "p1"
	if err := ds.Post.Save(ctx, &model.Post{ID: p1, Title: "First"}); err != nil {
		appkit.Fail(err)
	}
	if err := ds.Comment.Save(ctx, &model.Comment{ID: "c1", Content: "kept", CommentPostID: &p1}); err != nil {
		appkit.Fail(err)
	}
	box, err := ds.Store().Outbox(ctx)
	if err != nil {
		appkit.Fail(err)
	}
	appkit.Emit(map[string]any{"event": "offline", "outbox": box})
}
