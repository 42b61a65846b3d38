// Package appkit is the plumbing the test apps share: JSON lines on stdout,
// migration progress, and syncing until the outbox is empty. The tests copy
// it into each generated app as example.com/app/appkit.
package appkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// syncTimeout bounds how long Sync waits for the engine, so a broken
// engine ends the app with an error instead of hanging the test.
const syncTimeout = 30 * time.Second

// Emit writes v to stdout as one JSON line.
func Emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		Fail(err)
	}
	os.Stdout.Write(append(b, '\n'))
}

// Fail reports err on stderr and exits with status 1.
func Fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// Progress is an OnMigrate option that emits every report as
// {"event":"progress",...}. With stallAt > 0 it stops the migration for
// good after the stallAt-th "records" report (the batch is committed), so
// a test can kill the process at a known point.
func Progress(stallAt int) datastore.Option {
	batches := 0
	return datastore.OnMigrate(func(p datastore.MigrationProgress) {
		Emit(map[string]any{"event": "progress", "progress": p})
		if p.Phase == "records" {
			batches++
			if stallAt > 0 && batches == stallAt {
				select {}
			}
		}
	})
}

// MissingModelMetadata returns the models of st's schema that have no sync
// state row: a migrated store must have one for every model, including
// those the migration added, or the sync engine cannot start.
func MissingModelMetadata(ctx context.Context, st *datastore.Store) ([]string, error) {
	var missing []string
	for _, m := range st.Schema().Models {
		_, err := st.ModelMetadata(ctx, m.Name)
		if errors.Is(err, datastore.ErrNotFound) {
			missing = append(missing, m.Name)
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	return missing, nil
}

// Sync runs a sync engine on st against url until its first sync is done
// and the outbox is empty, then stops it. It returns the dead letters.
func Sync(ctx context.Context, st *datastore.Store, url, key string) ([]datastore.DeadLetter, error) {
	// The engine's log goes to stderr, which the tests show when they fail.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng, err := syncengine.New(st, syncengine.Config{Endpoint: url, Auth: client.APIKey(key), MaxBackoff: 200 * time.Millisecond, Logger: logger})
	if err != nil {
		return nil, err
	}
	defer eng.Close(ctx)
	failed := make(chan string, 100)
	evCtx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	go func(evs <-chan syncengine.Event) {
		for ev := range evs {
			if f, ok := ev.(syncengine.MutationFailed); ok {
				select {
				case failed <- fmt.Sprintf("%s %s: %v", f.Model, f.Op, f.Err):
				default:
				}
			}
		}
	}(eng.Events(evCtx))
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	deadline := time.After(syncTimeout)
	select {
	case <-eng.Ready():
	case <-deadline:
		return nil, errors.New("sync engine not ready in time")
	}
	for {
		box, err := st.Outbox(ctx)
		if err != nil {
			return nil, err
		}
		if len(box) == 0 {
			break
		}
		select {
		case <-deadline:
			return nil, fmt.Errorf("outbox still holds %d mutations: %+v", len(box), box)
		case msg := <-failed:
			Emit(map[string]any{"event": "mutationFailed", "error": msg})
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := eng.Stop(ctx); err != nil {
		return nil, err
	}
	return st.DeadLetters(ctx)
}
