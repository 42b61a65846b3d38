// Command v1 is the notes app as built from schema v1. -mode sync creates
// n1..n5 and syncs them with -url; -mode offline edits n1 and creates n6,
// leaving both in the outbox; -mode list lists the notes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"example.com/app/appkit"
	"example.com/app/model"

	"github.com/dsgen/dsgen/runtime/datastore"
)

func main() {
	dir := flag.String("dir", "", "store directory")
	mode := flag.String("mode", "list", "sync, offline or list")
	url := flag.String("url", "", "GraphQL endpoint (sync)")
	key := flag.String("key", "", "API key")
	flag.Parse()
	ctx := context.Background()
	ds, err := model.Open(ctx, *dir, datastore.Outbox())
	if err != nil {
		appkit.Fail(err)
	}
	defer ds.Close(ctx)
	if err := run(ctx, ds, *mode, *url, *key); err != nil {
		if errors.Is(err, datastore.ErrStoreNewer) {
			appkit.Emit(map[string]any{"event": "storeNewer"})
		}
		appkit.Fail(err)
	}
}

func run(ctx context.Context, ds *model.DataStore, mode, url, key string) error {
	switch mode {
	case "sync":
		for i := 1; i <= 5; i++ {
			if err := ds.Note.Save(ctx, &model.Note{ID: fmt.Sprintf("n%d", i), Text: fmt.Sprintf("note %d", i)}); err != nil {
				return err
			}
		}
		dead, err := appkit.Sync(ctx, ds.Store(), url, key)
		if err != nil {
			return err
		}
		appkit.Emit(map[string]any{"event": "synced", "deadLetters": len(dead)})
	case "offline":
		n1, err := ds.Note.Get(ctx, "n1")
		if err != nil {
			return err
		}
		n1.Text = "note 1, edited offline"
		if err := ds.Note.Save(ctx, n1); err != nil {
			return err
		}
		if err := ds.Note.Save(ctx, &model.Note{ID: "n6", Text: "note 6, offline"}); err != nil {
			return err
		}
		box, err := ds.Store().Outbox(ctx)
		if err != nil {
			return err
		}
		appkit.Emit(map[string]any{"event": "offline", "outbox": box})
	case "list":
		notes, err := ds.Note.Query().All(ctx)
		if err != nil {
			return err
		}
		appkit.Emit(map[string]any{"event": "notes", "notes": notes})
	default:
		return fmt.Errorf("unknown -mode %q", mode)
	}
	return nil
}
