package syncengine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/storage"
)

// syncAll runs every model's sync query, at most Parallel models at once.
// Each model's pages start coming as soon as it has a slot, but it applies
// them only once every model of the levels before its own has synced
// (parents before children): a child's first pages download while its
// parents are written. The first model to fail cancels the others and its
// error is returned.
func (e *Engine) syncAll(ctx context.Context) error {
	var names []string
	for _, level := range e.levels {
		for _, m := range level {
			names = append(names, m.Name)
		}
	}
	e.events.emit(SyncQueriesStarted{Models: names})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		cancel()
	}
	// Slots are taken in level order, so a model waiting for its parents
	// never holds the slot a parent needs.
	sem := make(chan struct{}, e.cfg.Parallel)
	parents := make(chan struct{})
	close(parents)
launch:
	for _, level := range e.levels {
		after, done := parents, make(chan struct{})
		var left atomic.Int32
		left.Store(int32(len(level)))
		for _, m := range level {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break launch
			}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := e.syncModel(ctx, m, after); err != nil {
					fail(err)
					return
				}
				if left.Add(-1) == 0 {
					close(done)
				}
			})
		}
		parents = done
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err() // ended before every model had a slot
	}
	if firstErr != nil {
		return firstErr
	}
	e.events.emit(SyncQueriesReady{})
	return nil
}

// syncModel runs one model's sync query to its last page. A full sync
// (no lastSync yet, the last full sync older than FullSyncInterval, or a
// changed sync expression) also removes local records the backend no
// longer lists. Progress is stored after every page, so a sync cut short
// resumes from its last page. Pages are fetched at once but applied only
// after parents is closed.
func (e *Engine) syncModel(ctx context.Context, m *meta.Model, parents <-chan struct{}) error {
	if len(e.auth.choices(m.Name, opSync)) == 0 {
		e.log.Warn("no configured auth mode may sync the model; it stays local", "model", m.Name)
		return nil
	}
	md, err := e.store.ModelMetadata(ctx, m.Name)
	if err != nil {
		return err
	}
	filter, predJSON, err := e.syncFilter(m.Name)
	if err != nil {
		return err
	}
	now := e.cfg.Now().UnixMilli()
	full := md.LastSync == nil || md.LastFullSync == nil ||
		md.LastSyncPredicate == nil || *md.LastSyncPredicate != predJSON ||
		now-*md.LastFullSync > e.cfg.FullSyncInterval.Milliseconds()
	var lastSync, startedAt int64
	if !full {
		lastSync = *md.LastSync
	}
	token := ""
	if md.SyncNextToken != nil && md.SyncStartedAt != nil && md.SyncFull == full {
		token, startedAt = *md.SyncNextToken, *md.SyncStartedAt
	}
	// A full sync from the start into a model holding no backend record
	// has nothing to sweep at its end: no session applies anything else
	// to the model until it is done.
	sweep := full
	if full && token == "" {
		had, err := e.store.HasSyncMeta(ctx, m.Name)
		if err != nil {
			return err
		}
		sweep = had
	}
	limit := e.cfg.MaxRecordsToSync
	if n, ok := e.cfg.MaxRecordsPerModel[m.Name]; ok && n > 0 {
		limit = n
	}
	items, applied, truncated := 0, 0, false
	pages, stop := e.prefetch(ctx, m, client.SyncArgs{
		Filter: filter, Limit: e.cfg.SyncPageSize, NextToken: token, LastSync: lastSync, RawItems: true,
	})
	defer stop()
	select {
	case <-parents:
	case <-ctx.Done():
		return fmt.Errorf("sync %s: %w", m.Name, ctx.Err())
	}
	for {
		var page client.SyncPage
		select {
		case f := <-pages:
			if e.auth.skippable(f.err) {
				e.log.Warn("every configured auth mode the model allows was refused; it is not synced this time", "model", m.Name, "error", f.err)
				return nil
			}
			if f.err != nil {
				return fmt.Errorf("sync %s: %w", m.Name, f.err)
			}
			page = f.page
		case <-ctx.Done():
			return fmt.Errorf("sync %s: %w", m.Name, ctx.Err())
		}
		if startedAt == 0 {
			startedAt = page.StartedAt
		}
		if len(page.Errors) > 0 {
			e.events.emit(NonApplicableDataReceived{Model: m.Name, Errors: page.Errors})
		}
		var opts []datastore.ApplyOption
		if full {
			opts = append(opts, datastore.SeenIn(startedAt))
		}
		n := len(page.Items) + len(page.RawItems)
		more := page.NextToken != "" && items+n < limit
		lastOpts := opts
		if more {
			// The position after the page is stored with it, so a sync
			// cut short resumes at the first page not applied.
			token = page.NextToken
			md.SyncStartedAt, md.SyncNextToken, md.SyncFull = &startedAt, &token, full
			lastOpts = append(opts[:len(opts):len(opts)], datastore.WithModelMetadata(md))
		}
		res, err := applyInParts(n, func(lo, hi int, last bool) (datastore.ApplyResult, error) {
			o := opts
			if last {
				o = lastOpts
			}
			if page.RawItems != nil {
				return e.store.ApplyRemoteJSON(ctx, m.Name, page.RawItems[lo:hi], o...)
			}
			return e.store.ApplyRemote(ctx, m.Name, page.Items[lo:hi], o...)
		})
		if err != nil {
			return fmt.Errorf("sync %s: %w", m.Name, err)
		}
		for _, r := range res.Rejected {
			e.log.Warn("the backend sent a record that does not fit the schema", "model", m.Name, "error", r)
		}
		items += n
		applied += res.Applied
		if page.NextToken == "" {
			break
		}
		if !more {
			truncated = true
			e.log.Warn("sync stopped at the record limit", "model", m.Name, "limit", limit)
			break
		}
	}
	stop()
	removed := 0
	if sweep && !truncated {
		if removed, err = e.store.SweepUnseen(ctx, m.Name, startedAt); err != nil {
			return err
		}
	}
	md.LastSync = &startedAt
	if full {
		md.LastFullSync = &startedAt
	}
	md.LastSyncPredicate = &predJSON
	md.SyncStartedAt, md.SyncNextToken, md.SyncFull = nil, nil, false
	if err := e.store.SetModelMetadata(ctx, md); err != nil {
		return err
	}
	e.store.SetSynced(m.Name, true)
	e.events.emit(ModelSynced{Model: m.Name, IsFullSync: full, IsDeltaSync: !full, Items: items, Applied: applied, Removed: removed})
	return nil
}

// fetched is one page of a sync query, or the error that ended the run.
type fetched struct {
	page client.SyncPage
	err  error
}

// prefetch fetches the pages of m's sync query from args on, one ahead of
// the caller: page k+1 is requested and decoded while the caller applies
// page k, so the server's work and the local writes overlap. It holds at
// most one page besides the caller's, and stops after the last page or an
// error. stop cancels it and waits for it to end; it may be called more
// than once.
func (e *Engine) prefetch(ctx context.Context, m *meta.Model, args client.SyncArgs) (<-chan fetched, func()) {
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan fetched)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			page, err := withAuth(e, m.Name, opSync, func(c authChoice) (client.SyncPage, error) {
				return c.client.Sync(ctx, e.docs[m.Name], args)
			})
			select {
			case out <- fetched{page: page, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil || page.NextToken == "" {
				return
			}
			args.NextToken = page.NextToken
		}
	}()
	return out, func() {
		cancel()
		<-done
	}
}

// applyInParts applies the n records of a page with apply, in one call
// when they fit one local transaction. A page whose bytes pass what one
// transaction may hold (storage.ErrTxnTooBig: large records, or a small
// memtable preset) is split in halves, again as needed, in order; only the
// call for the last part has last set, so the position after the page is
// stored with it and a sync cut short part way applies the page again,
// which is harmless: a record already stored at its version is left as it
// is. The results of the parts are added up.
func applyInParts(n int, apply func(lo, hi int, last bool) (datastore.ApplyResult, error)) (datastore.ApplyResult, error) {
	var part func(lo, hi int, last bool) (datastore.ApplyResult, error)
	part = func(lo, hi int, last bool) (datastore.ApplyResult, error) {
		res, err := apply(lo, hi, last)
		if err == nil || !errors.Is(err, storage.ErrTxnTooBig) || hi-lo < 2 {
			return res, err
		}
		mid := lo + (hi-lo)/2
		first, err := part(lo, mid, false)
		if err != nil {
			return first, err
		}
		second, err := part(mid, hi, last)
		second.Applied += first.Applied
		second.Skipped += first.Skipped
		second.Rejected = append(first.Rejected, second.Rejected...)
		return second, err
	}
	return part(0, n, true)
}
