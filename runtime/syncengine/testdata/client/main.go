// Command client is a sync-engine client in its own process, for tests that
// kill it (kill -9) and restart it, or drive it next to other clients (the
// interop suite runs it beside the Amplify JS client). It opens the blog
// store in -dir, syncs with -url (logging the engine's work on stderr with
// -v) and obeys JSON lines on stdin, answering
// each with one JSON line on stdout, in order:
//
//	{"op":"save","id":"p1","title":"t"}   create or update a post; answers {"ok":"p1"} once committed locally.
//	                                       "title", "rating" (number or null), "status" (string or null) and
//	                                       "blogPostsId" (string or null) are set when present, kept when absent.
//	{"op":"delete","id":"p1"}             delete a post locally; answers {"ok":"p1"}
//	{"op":"get","id":"p1"}                answers {"post":{...}} or {"post":null}
//	{"op":"list"}                         answers {"posts":[...]}, ordered by id
//	{"op":"outbox"}                       answers {"outbox":N,"deadLetters":M}
//	{"op":"stop"}                         stops syncing (offline; local writes queue); answers {"stopped":true}
//	{"op":"start"}                        starts syncing again; answers {"started":true} once that start is ready
//	{"op":"report"}                       answers what the engine reported so far: {"syncsStarted":N,
//	                                       "synced":[{"model","full","delta","items"}], "conflicts":[{"model","op","resolution"}],
//	                                       "failed":[{"model","op","error"}]}
//
// A post is {"id","title","rating","status","blogPostsId"} plus the record's
// sync metadata "_version", "_lastChangedAt" and "_deleted" (null until the
// record has been synced). A command carrying "req" gets it back in its
// answer; a command that fails answers {"error":"..."} and the program goes
// on. It prints {"ready":true} when the engine's first sync is done, and
// exits when stdin closes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/testenv/clientprog"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// readyTimeout bounds how long "start" waits for the engine to be ready.
const readyTimeout = 60 * time.Second

func main() {
	dir := flag.String("dir", "", "store directory")
	url := flag.String("url", "", "GraphQL endpoint")
	key := flag.String("key", "", "API key")
	verbose := flag.Bool("v", false, "log the engine's work on stderr")
	flag.Parse()
	if err := run(*dir, *url, *key, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// command is one line of input. Optional fields are raw so that "absent"
// (keep the value) and null (clear it) differ.
type command struct {
	Op          string          `json:"op"`
	Req         json.RawMessage `json:"req"`
	ID          string          `json:"id"`
	Title       json.RawMessage `json:"title"`
	Rating      json.RawMessage `json:"rating"`
	Status      json.RawMessage `json:"status"`
	BlogPostsID json.RawMessage `json:"blogPostsId"`
}

// Header returns the command's op and req.
func (c command) Header() (string, json.RawMessage) { return c.Op, c.Req }

// app is the store, its engine, and the command handlers.
type app struct {
	ds  *model.DataStore
	eng *syncengine.Engine

	mu  sync.Mutex
	rep report
}

// report is the record of the engine's events that "report" answers with.
type report struct {
	SyncsStarted int              `json:"syncsStarted"`
	Synced       []map[string]any `json:"synced"`
	Conflicts    []map[string]any `json:"conflicts"`
	Failed       []map[string]any `json:"failed"`
}

// record keeps one event of the engine.
func (a *app) record(ev syncengine.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch ev := ev.(type) {
	case syncengine.SyncQueriesStarted:
		a.rep.SyncsStarted++
	case syncengine.ModelSynced:
		a.rep.Synced = append(a.rep.Synced, map[string]any{"model": ev.Model, "full": ev.IsFullSync, "delta": ev.IsDeltaSync, "items": ev.Items})
	case syncengine.ConflictSeen:
		a.rep.Conflicts = append(a.rep.Conflicts, map[string]any{"model": ev.Model, "op": ev.Op, "resolution": ev.Resolution})
	case syncengine.MutationFailed:
		a.rep.Failed = append(a.rep.Failed, map[string]any{"model": ev.Model, "op": ev.Op, "error": ev.Err.Error()})
	}
}

func run(dir, url, key string, verbose bool) error {
	ctx := context.Background()
	ds, err := model.Open(ctx, dir, datastore.Outbox())
	if err != nil {
		return err
	}
	defer ds.Close(ctx)
	a := &app{ds: ds, rep: report{Synced: []map[string]any{}, Conflicts: []map[string]any{}, Failed: []map[string]any{}}}
	eng, err := clientprog.Start(ctx, ds.Post.Repo().Store(), clientprog.Flags{URL: url, Key: key, Verbose: verbose}, a.record)
	if err != nil {
		return err
	}
	defer eng.Close(ctx)
	a.eng = eng.Engine
	return clientprog.Serve(ctx, eng.Ready(), os.Stdin, os.Stdout, a.do)
}

// do runs one command and returns its answer.
func (a *app) do(ctx context.Context, cmd command) (map[string]any, error) {
	switch cmd.Op {
	case "save":
		return a.save(ctx, cmd)
	case "delete":
		if cmd.ID == "" {
			return nil, errors.New(`"id" is required`)
		}
		if err := a.ds.Post.DeleteKey(ctx, cmd.ID); err != nil {
			return nil, err
		}
		return map[string]any{"ok": cmd.ID}, nil
	case "get":
		if cmd.ID == "" {
			return nil, errors.New(`"id" is required`)
		}
		p, err := a.ds.Post.Get(ctx, cmd.ID)
		if errors.Is(err, datastore.ErrNotFound) {
			return map[string]any{"post": nil}, nil
		}
		if err != nil {
			return nil, err
		}
		out, err := a.describe(ctx, p)
		return map[string]any{"post": out}, err
	case "list":
		ps, err := a.ds.Post.Query().All(ctx)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(ps, func(x, y *model.Post) int { return strings.Compare(x.ID, y.ID) })
		out := make([]map[string]any, 0, len(ps))
		for _, p := range ps {
			d, err := a.describe(ctx, p)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		return map[string]any{"posts": out}, nil
	case "outbox":
		st := a.ds.Post.Repo().Store()
		box, err := st.Outbox(ctx)
		if err != nil {
			return nil, err
		}
		dead, err := st.DeadLetters(ctx)
		if err != nil {
			return nil, err
		}
		return map[string]any{"outbox": len(box), "deadLetters": len(dead)}, nil
	case "stop":
		if err := a.eng.Stop(ctx); err != nil {
			return nil, err
		}
		return map[string]any{"stopped": true}, nil
	case "start":
		if err := a.eng.Start(ctx); err != nil {
			return nil, err
		}
		select {
		case <-a.eng.Ready():
			return map[string]any{"started": true}, nil
		case <-time.After(readyTimeout):
			return nil, fmt.Errorf("engine not ready within %v", readyTimeout)
		}
	case "report":
		a.mu.Lock()
		defer a.mu.Unlock()
		b, err := json.Marshal(a.rep)
		if err != nil {
			return nil, err
		}
		var out map[string]any
		return out, json.Unmarshal(b, &out)
	default:
		return nil, fmt.Errorf("unknown op %q (known: save, delete, get, list, outbox, stop, start, report)", cmd.Op)
	}
}

// save creates the post cmd.ID or updates it with the fields cmd holds.
func (a *app) save(ctx context.Context, cmd command) (map[string]any, error) {
	if cmd.ID == "" {
		return nil, errors.New(`"id" is required`)
	}
	p, err := a.ds.Post.Get(ctx, cmd.ID)
	if errors.Is(err, datastore.ErrNotFound) {
		p, err = &model.Post{ID: cmd.ID}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := setField(cmd.Title, "title", &p.Title); err != nil {
		return nil, err
	}
	if err := setField(cmd.Rating, "rating", &p.Rating); err != nil {
		return nil, err
	}
	if err := setField(cmd.Status, "status", &p.Status); err != nil {
		return nil, err
	}
	if err := setField(cmd.BlogPostsID, "blogPostsId", &p.BlogPostsID); err != nil {
		return nil, err
	}
	if err := a.ds.Post.Save(ctx, p); err != nil {
		return nil, err
	}
	return map[string]any{"ok": cmd.ID}, nil
}

// setField decodes raw into *dst when the command holds the field.
func setField[T any](raw json.RawMessage, name string, dst *T) error {
	if len(raw) == 0 {
		return nil
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("field %q: %w", name, err)
	}
	*dst = v
	return nil
}

// describe returns p as JSON fields with its sync metadata.
func (a *app) describe(ctx context.Context, p *model.Post) (map[string]any, error) {
	out := map[string]any{
		"id": p.ID, "title": p.Title, "rating": p.Rating, "status": p.Status, "blogPostsId": p.BlogPostsID,
		"_version": nil, "_lastChangedAt": nil, "_deleted": nil,
	}
	sm, ok, err := a.ds.Post.Repo().Store().RecordSyncMeta(ctx, "Post", p.ID)
	if err != nil {
		return nil, err
	}
	if ok {
		out["_version"], out["_lastChangedAt"], out["_deleted"] = sm.Version, sm.LastChangedAt, sm.Deleted
	}
	return out, nil
}
