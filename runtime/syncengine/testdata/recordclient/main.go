// Command recordclient is a sync-engine client in its own process for the
// interop suite, over a generated package other than the blog's: -schema
// shapes opens golden/data-shapes (nullable list elements, declared
// timestamps, @default), -schema v1blog golden/v1-blog (a transformer v1
// schema), -schema keys golden/composite-keys (primary keys with sort
// keys). It opens the store in -dir, syncs with -url using the API key
// -key (logging the engine's work on stderr with -v) and obeys JSON lines
// on stdin, answering each with one JSON line on stdout, in order:
//
//	{"op":"save","model":"Lists","record":{...}}  creates the record, or updates the stored one with the
//	                                               fields given (JSON as the generated struct's tags name them);
//	                                               answers {"ok":true} once committed locally
//	{"op":"get","model":"Lists","key":["l1"]}     answers {"record":{...}} (the struct as JSON, plus
//	                                               "_version", "_lastChangedAt", "_deleted") or {"record":null}
//	{"op":"delete","model":"Lists","key":["l1"]}  deletes locally; answers {"ok":true}
//	{"op":"outbox"}                               answers {"outbox":N,"deadLetters":M}
//	{"op":"report"}                               answers {"failed":[{"model","op","error"}]}
//
// A command carrying "req" gets it back in its answer; a command that fails
// answers {"error":"..."}. It prints {"ready":true} when the engine's first
// sync is done, and exits when stdin closes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"

	keys "github.com/dsgen/dsgen/golden/composite-keys/model"
	shapes "github.com/dsgen/dsgen/golden/data-shapes/model"
	v1blog "github.com/dsgen/dsgen/golden/v1-blog/model"
	"github.com/dsgen/dsgen/internal/testenv/clientprog"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

func main() {
	schema := flag.String("schema", "", "the generated package: shapes, v1blog or keys")
	dir := flag.String("dir", "", "store directory")
	url := flag.String("url", "", "GraphQL endpoint")
	key := flag.String("key", "", "API key")
	verbose := flag.Bool("v", false, "log the engine's work on stderr")
	flag.Parse()
	if err := run(*schema, *dir, *url, *key, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// model is what the commands need of one model's repository.
type model struct {
	get    func(ctx context.Context, key []any) (any, error)
	save   func(ctx context.Context, key []any, record json.RawMessage) error
	delete func(ctx context.Context, key []any) error
}

// entry adapts a generic repository.
func entry[T any](r *datastore.Repo[T]) model {
	return model{
		get: func(ctx context.Context, key []any) (any, error) { return r.Get(ctx, key...) },
		save: func(ctx context.Context, key []any, record json.RawMessage) error {
			v, err := r.Get(ctx, key...)
			if errors.Is(err, datastore.ErrNotFound) {
				v, err = new(T), nil
			}
			if err != nil {
				return err
			}
			if err := json.Unmarshal(record, v); err != nil {
				return fmt.Errorf("record: %w", err)
			}
			return r.Save(ctx, v)
		},
		delete: func(ctx context.Context, key []any) error { return r.DeleteKey(ctx, key) },
	}
}

// open opens the named generated package's store.
func open(ctx context.Context, schema, dir string) (*datastore.Store, map[string]model, func(context.Context) error, error) {
	switch schema {
	case "shapes":
		ds, err := shapes.Open(ctx, dir, datastore.Outbox())
		if err != nil {
			return nil, nil, nil, err
		}
		return ds.Store(), map[string]model{"Lists": entry(ds.Lists.Repo()), "Defaults": entry(ds.Defaults.Repo())}, ds.Close, nil
	case "v1blog":
		ds, err := v1blog.Open(ctx, dir, datastore.Outbox())
		if err != nil {
			return nil, nil, nil, err
		}
		return ds.Store(), map[string]model{"Blog": entry(ds.Blog.Repo()), "Post": entry(ds.Post.Repo()),
			"Comment": entry(ds.Comment.Repo()), "Author": entry(ds.Author.Repo())}, ds.Close, nil
	case "keys":
		ds, err := keys.Open(ctx, dir, datastore.Outbox())
		if err != nil {
			return nil, nil, nil, err
		}
		return ds.Store(), map[string]model{"Project": entry(ds.Project.Repo()), "Team": entry(ds.Team.Repo()),
			"Task": entry(ds.Task.Repo()), "Reading": entry(ds.Reading.Repo())}, ds.Close, nil
	}
	return nil, nil, nil, fmt.Errorf("-schema %q: want shapes, v1blog or keys", schema)
}

// command is one line of input.
type command struct {
	Op     string          `json:"op"`
	Req    json.RawMessage `json:"req"`
	Model  string          `json:"model"`
	Key    []any           `json:"key"`
	Record json.RawMessage `json:"record"`
}

// Header returns the command's op and req.
func (c command) Header() (string, json.RawMessage) { return c.Op, c.Req }

// app is the store, its models and what the engine reported.
type app struct {
	st     *datastore.Store
	models map[string]model
	mu     sync.Mutex
	failed []map[string]any
}

func run(schema, dir, url, key string, verbose bool) error {
	ctx := context.Background()
	st, models, closeStore, err := open(ctx, schema, dir)
	if err != nil {
		return err
	}
	defer closeStore(ctx)
	a := &app{st: st, models: models, failed: []map[string]any{}}
	eng, err := clientprog.Start(ctx, st, clientprog.Flags{URL: url, Key: key, Verbose: verbose}, a.record)
	if err != nil {
		return err
	}
	defer eng.Close(ctx)
	return clientprog.Serve(ctx, eng.Ready(), os.Stdin, os.Stdout, a.do)
}

// record keeps the failed mutations the engine reports.
func (a *app) record(ev syncengine.Event) {
	if f, ok := ev.(syncengine.MutationFailed); ok {
		a.mu.Lock()
		a.failed = append(a.failed, map[string]any{"model": f.Model, "op": f.Op, "error": f.Err.Error()})
		a.mu.Unlock()
	}
}

// do runs one command and returns its answer.
func (a *app) do(ctx context.Context, cmd command) (map[string]any, error) {
	switch cmd.Op {
	case "outbox":
		box, err := a.st.Outbox(ctx)
		if err != nil {
			return nil, err
		}
		dead, err := a.st.DeadLetters(ctx)
		if err != nil {
			return nil, err
		}
		return map[string]any{"outbox": len(box), "deadLetters": len(dead)}, nil
	case "report":
		a.mu.Lock()
		defer a.mu.Unlock()
		return map[string]any{"failed": a.failed}, nil
	}
	m, ok := a.models[cmd.Model]
	if !ok {
		return nil, fmt.Errorf("unknown model %q", cmd.Model)
	}
	if len(cmd.Key) == 0 {
		return nil, errors.New(`"key" is required`)
	}
	switch cmd.Op {
	case "save":
		if err := m.save(ctx, cmd.Key, cmd.Record); err != nil {
			return nil, err
		}
		return map[string]any{"ok": true}, nil
	case "delete":
		if err := m.delete(ctx, cmd.Key); err != nil {
			return nil, err
		}
		return map[string]any{"ok": true}, nil
	case "get":
		v, err := m.get(ctx, cmd.Key)
		if errors.Is(err, datastore.ErrNotFound) {
			return map[string]any{"record": nil}, nil
		}
		if err != nil {
			return nil, err
		}
		return a.describe(ctx, cmd.Model, cmd.Key, v)
	}
	return nil, fmt.Errorf("unknown op %q (known: save, get, delete, outbox, report)", cmd.Op)
}

// describe answers a get: the record as JSON with its sync metadata.
func (a *app) describe(ctx context.Context, model string, key []any, v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	rec["_version"], rec["_lastChangedAt"], rec["_deleted"] = nil, nil, nil
	sm, ok, err := a.st.RecordSyncMeta(ctx, model, key...)
	if err != nil {
		return nil, err
	}
	if ok {
		rec["_version"], rec["_lastChangedAt"], rec["_deleted"] = sm.Version, sm.LastChangedAt, sm.Deleted
	}
	return map[string]any{"record": rec}, nil
}
