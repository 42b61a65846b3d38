// Command v1 is the sites app as built from schema v1. -mode sync creates
// s1 and s2 and syncs them with -url; -mode offline moves s1 to a new
// address and creates s3, leaving both in the outbox.
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
	mode := flag.String("mode", "sync", "sync or offline")
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
		appkit.Fail(err)
	}
}

func run(ctx context.Context, ds *model.DataStore, mode, url, key string) error {
	switch mode {
	case "sync":
		for i := 1; i <= 2; i++ {
			s := &model.Site{ID: fmt.Sprintf("s%d", i), Name: fmt.Sprintf("site %d", i),
				Address: &model.Address{Line1: fmt.Sprintf("%d Main St", i), Geo: &model.Geo{Lat: float64(i), Lng: 1}, Tags: []string{"old"}}}
			if err := ds.Site.Save(ctx, s); err != nil {
				return err
			}
		}
		dead, err := appkit.Sync(ctx, ds.Store(), url, key)
		if err != nil {
			return err
		}
		appkit.Emit(map[string]any{"event": "synced", "deadLetters": len(dead)})
	case "offline":
		s1, err := ds.Site.Get(ctx, "s1")
		if err != nil {
			return err
		}
		city := "Lyon"
		s1.Previous = []model.Address{*s1.Address}
		s1.Address = &model.Address{Line1: "1 Quai", City: &city, Geo: &model.Geo{Lat: 45.5, Lng: 4.5}, Tags: []string{"moved"}}
		if err := ds.Site.Save(ctx, s1); err != nil {
			return err
		}
		s3 := &model.Site{ID: "s3", Name: "site 3", Address: &model.Address{Line1: "3 Rue", Geo: &model.Geo{Lat: 3, Lng: 3}}}
		if err := ds.Site.Save(ctx, s3); err != nil {
			return err
		}
		box, err := ds.Store().Outbox(ctx)
		if err != nil {
			return err
		}
		appkit.Emit(map[string]any{"event": "offline", "outbox": box})
	default:
		return fmt.Errorf("unknown -mode %q", mode)
	}
	return nil
}
