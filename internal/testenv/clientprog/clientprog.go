// Package clientprog is what the Go client programs the tests run in
// their own processes (runtime/syncengine/testdata/client and
// testdata/recordclient, which the interop suite drives too) share: the
// sync engine they run over a local store, and their command loop of JSON
// lines on stdin, each answered with one JSON line on stdout.
package clientprog

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// Flags are the command-line settings both programs take.
type Flags struct {
	// URL is the GraphQL endpoint and Key its API key.
	URL, Key string
	// Verbose logs the engine's work on stderr.
	Verbose bool
}

// Engine is a started sync engine whose events go to a recorder.
type Engine struct {
	*syncengine.Engine
	stopEvents context.CancelFunc
	recorded   chan struct{}
}

// Start starts a sync engine over st as f says (backoff capped at 300 ms,
// so the tests' outages end fast) and passes each of its events, in order
// and from one goroutine, to onEvent, which listens from before the first
// start. Close stops the recorder, then the engine.
func Start(ctx context.Context, st *datastore.Store, f Flags, onEvent func(syncengine.Event)) (*Engine, error) {
	cfg := syncengine.Config{Endpoint: f.URL, Auth: client.APIKey(f.Key), MaxBackoff: 300 * time.Millisecond}
	if f.Verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	eng, err := syncengine.New(st, cfg)
	if err != nil {
		return nil, err
	}
	evCtx, stop := context.WithCancel(ctx)
	e := &Engine{Engine: eng, stopEvents: stop, recorded: make(chan struct{})}
	go func(evs <-chan syncengine.Event) {
		defer close(e.recorded)
		for ev := range evs {
			onEvent(ev)
		}
	}(eng.Events(evCtx))
	if err := eng.Start(ctx); err != nil {
		e.Close(ctx)
		return nil, err
	}
	return e, nil
}

// Close stops the event recorder, waits for it, and closes the engine.
func (e *Engine) Close(ctx context.Context) {
	e.stopEvents()
	<-e.recorded
	_ = e.Engine.Close(ctx)
}

// Command is one decoded input line: its op and the "req" it carries,
// which the answer echoes.
type Command interface {
	Header() (op string, req json.RawMessage)
}

// Serve reads JSON lines from in until it closes, decodes each into a C
// and answers with do's result, one JSON line on out per command in
// order; a command that fails (or a line that does not decode) answers
// {"error":"<op>: ..."} and the loop goes on. It prints {"ready":true}
// once ready is closed (the engine's first sync), unless in closes first.
func Serve[C Command](ctx context.Context, ready <-chan struct{}, in io.Reader, out io.Writer, do func(context.Context, C) (map[string]any, error)) error {
	var mu sync.Mutex
	enc := json.NewEncoder(out)
	say := func(v map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(v)
	}
	// The first Ready is announced once; the goroutine ends with it or
	// when Serve returns.
	quit := make(chan struct{})
	announced := make(chan struct{})
	defer func() {
		close(quit)
		<-announced
	}()
	go func() {
		defer close(announced)
		select {
		case <-ready:
			say(map[string]any{"ready": true})
		case <-quit:
		}
	}()

	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var cmd C
		ans, err := map[string]any(nil), json.Unmarshal(sc.Bytes(), &cmd)
		if err != nil {
			err = fmt.Errorf("bad command line %q: %w", sc.Text(), err)
		} else {
			ans, err = do(ctx, cmd)
		}
		op, req := cmd.Header()
		if err != nil && op != "" {
			err = fmt.Errorf("%s: %w", op, err)
		}
		if err != nil {
			ans = map[string]any{"error": err.Error()}
		}
		if ans == nil {
			ans = map[string]any{}
		}
		if len(req) > 0 {
			ans["req"] = req
		}
		say(ans)
	}
	return sc.Err()
}
