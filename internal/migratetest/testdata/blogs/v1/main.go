// Command v1 writes blogs b1..b3 offline with Blog keyed by id, and
// reports its outbox.
package main

import (
	"context"
	"flag"
	"fmt"

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
	for i := 1; i <= 3; i++ {
		if err := ds.Blog.Save(ctx, &model.Blog{ID: fmt.Sprintf("b%d", i), Name: fmt.Sprintf("blog %d", i)}); err != nil {
			appkit.Fail(err)
		}
	}
	box, err := ds.Store().Outbox(ctx)
	if err != nil {
		appkit.Fail(err)
	}
	appkit.Emit(map[string]any{"event": "written", "outbox": box})
}
