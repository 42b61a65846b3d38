// Command client is a sync-engine client in its own process, for tests that
// kill it (kill -9) and restart it. It opens the blog store in -dir, syncs
// with -url and obeys JSON lines on stdin:
//
//	{"op":"save","id":"p1","title":"t"}   save a post; answers {"ok":"p1"} once committed locally
//	{"op":"outbox"}                        answers {"outbox":N}
//
// It prints {"ready":true} when the engine's first sync is done.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

func main() {
	dir := flag.String("dir", "", "store directory")
	url := flag.String("url", "", "GraphQL endpoint")
	key := flag.String("key", "", "API key")
	flag.Parse()
	if err := run(*dir, *url, *key); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(dir, url, key string) error {
	ctx := context.Background()
	ds, err := model.Open(ctx, dir, datastore.Outbox())
	if err != nil {
		return err
	}
	defer ds.Close(ctx)
	eng, err := syncengine.New(ds.Post.Repo().Store(), syncengine.Config{Endpoint: url, Auth: client.APIKey(key), MaxBackoff: 300 * time.Millisecond})
	if err != nil {
		return err
	}
	defer eng.Close(ctx)
	if err := eng.Start(ctx); err != nil {
		return err
	}
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	say := func(v any) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(v)
	}
	go func() {
		<-eng.Ready()
		say(map[string]any{"ready": true})
	}()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var cmd struct{ Op, ID, Title string }
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			return fmt.Errorf("bad command %q: %w", sc.Text(), err)
		}
		switch cmd.Op {
		case "save":
			p, err := ds.Post.Get(ctx, cmd.ID)
			if errors.Is(err, datastore.ErrNotFound) {
				p, err = &model.Post{ID: cmd.ID}, nil
			}
			if err != nil {
				return err
			}
			p.Title = cmd.Title
			if err := ds.Post.Save(ctx, p); err != nil {
				return err
			}
			say(map[string]any{"ok": cmd.ID})
		case "outbox":
			box, err := ds.Post.Repo().Store().Outbox(ctx)
			if err != nil {
				return err
			}
			say(map[string]any{"outbox": len(box)})
		default:
			return fmt.Errorf("unknown op %q", cmd.Op)
		}
	}
	return sc.Err()
}
