package datastore

import (
	"context"
	"errors"

	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/storage"
)

// A cascade delete (DeleteKey, DeleteWhere) first runs as one transaction,
// as any write: atomic, and what nearly every call fits in. Only when
// Badger refuses that transaction as too big (storage.ErrTxnTooBig) is the
// work split into several, each walking the trees afresh and deleting a
// prefix of their post-order (a record only after all of its children),
// the roots last. Trying first rather than counting first: the count of
// entries a delete writes depends on the outbox (a pending create is
// dropped, an update merged) and on Badger's own accounting, so only
// Badger knows whether it fits; a delete that fits pays nothing. The one
// count that is sure: every record deleted is at least two writes (the
// record, its sync metadata), so a first walk that finds more records than
// half of Badger's limit stops there and goes to chunks without writing.
//
// Each chunk re-reads in its own transaction what it deletes, so a record
// changed since the walk is deleted with its current index entries and a
// child saved since is found and deleted before its parent; a concurrent
// write to what a chunk read makes the chunk conflict and run again.

// cascade is one DeleteKey or DeleteWhere: root records to delete with
// their hasOne and hasMany children and join rows.
type cascade[T any] struct {
	r     *Repo[T]
	roots []root
	// named is the key DeleteKey was given, for its errors: its root must
	// exist and match cond, or the delete fails. DeleteWhere ("") skips a
	// root that is gone or no longer matches.
	named string
	// cond is what a root must match when it is deleted.
	cond predicate.Predicate[T]
	// conds holds the outbox conditions by record key.
	conds map[string]map[string]any
}

// root is a record a cascade deletes, with its children.
type root struct {
	key []byte
	// data is the record as read by the scan of the same transaction
	// (DeleteWhere's first attempt), or nil: read it and check cond.
	data []byte
}

// chunkResult is what one transaction of a cascade deleted.
type chunkResult struct {
	next    int // roots[:next] are done with
	roots   int // roots deleted
	records int // records deleted, roots and children
}

// errChunkFull stops a walk that has collected as many records as a chunk
// may delete.
var errChunkFull = errors.New("datastore: chunk full")

// run deletes the cascade and returns how many roots it deleted. scan,
// when not nil, fills c.roots in the transaction of the first attempt.
func (c *cascade[T]) run(ctx context.Context, scan func(*Txn) error) (int, error) {
	r := c.r
	if r.txn != nil {
		// The caller's Batch: one transaction, bounded as documented.
		if scan != nil {
			if err := scan(r.txn); err != nil {
				return 0, err
			}
		}
		res, err := c.chunk(r.txn, 0, 0)
		return res.roots, err
	}
	maxCount, _ := r.store.db.TxnLimits()
	var res chunkResult
	fitted := 0
	err := r.store.updateFirm(ctx, func(tx *Txn) error {
		if scan != nil {
			if err := scan(tx); err != nil {
				return err
			}
		}
		var err error
		res, err = c.chunk(tx, 0, -int(maxCount/2))
		if errors.Is(err, storage.ErrTxnTooBig) {
			// deleteAll adds an event per record once all its writes
			// are in: what fits is the first guess at a chunk's size
			// (none when the walk stopped before writing).
			fitted = len(tx.events)
		}
		return err
	})
	switch {
	case errors.Is(err, storage.ErrTxnTooBig):
		if fitted == 0 {
			fitted = c.guess(maxCount)
		}
		return c.chunked(ctx, fitted)
	case err != nil:
		return 0, err
	}
	return res.roots, nil
}

// guess returns how many records a chunk may hold when no attempt has
// said: Badger's limit of writes over the most one record deletes (the
// record, its sync metadata and index entries, four outbox writes), so
// that nearly always it fits.
func (c *cascade[T]) guess(maxCount int64) int {
	per := 2
	for _, t := range c.r.store.eng.Tables {
		per = max(per, 2+len(t.Indexes))
	}
	if c.r.store.cfg.outbox {
		per += 4
	}
	return int(maxCount) * 9 / 10 / per
}

// chunked deletes the cascade in transactions of at most limit records
// each, halving limit when one is still too big, and returns how many
// roots it deleted.
func (c *cascade[T]) chunked(ctx context.Context, limit int) (int, error) {
	for i := range c.roots {
		c.roots[i].data = nil // read in a transaction now gone
	}
	limit = max(limit, 1)
	roots, records := 0, 0
	for next := 0; next < len(c.roots); {
		var res chunkResult
		err := ctx.Err()
		if err == nil {
			err = c.r.store.updateFirm(ctx, func(tx *Txn) error {
				var err error
				res, err = c.chunk(tx, next, limit)
				return err
			})
		}
		if errors.Is(err, storage.ErrTxnTooBig) && limit > 1 {
			limit /= 2
			continue
		}
		if err != nil {
			if records == 0 {
				return 0, err
			}
			return roots, &PartialDeleteError{Model: c.r.table.Model.Name, Deleted: records, Err: err}
		}
		next, roots, records = res.next, roots+res.roots, records+res.records
		if f := c.r.store.chunkDone; f != nil && next < len(c.roots) {
			f(res.records)
		}
	}
	return roots, nil
}

// chunk deletes in tx the trees of c.roots[from:], in order, each record
// after its children, up to limit records (0: no limit). When the limit
// falls inside a tree it deletes the part of the tree walked so far, which
// holds no record without all of its children, and the next chunk resumes
// at that tree's root. A negative limit is a whole delete's: it fails
// with storage.ErrTxnTooBig, writing nothing, when the trees hold more
// than -limit records.
func (c *cascade[T]) chunk(tx *Txn, from, limit int) (chunkResult, error) {
	whole := limit < 0
	limit = max(limit, -limit)
	r := c.r
	t := r.table
	res := chunkResult{next: from}
	visited := map[string]bool{}
	var recs []doomed
	for ; res.next < len(c.roots); res.next++ {
		rt := c.roots[res.next]
		if visited[string(rt.key)] {
			continue // deleted with an earlier root, counted there
		}
		data := rt.data
		if data == nil {
			var err error
			if data, err = engine.Get(tx.btx, rt.key); err != nil {
				return res, err
			}
			if data == nil {
				if c.named != "" {
					return res, errorf("delete %s %s: %w", t.Model.Name, c.named, ErrNotFound)
				}
				continue // deleted meanwhile
			}
			if c.cond.Expr().Kind != predicate.KindTrue {
				stored, err := r.decode(data)
				if err != nil {
					return res, err
				}
				if !c.cond.Match(stored) {
					if c.named != "" {
						return res, errorf("delete %s %s: %w (%s)", t.Model.Name, c.named, ErrConditionFailed, c.cond)
					}
					continue // changed meanwhile: no longer a match
				}
			}
		}
		err := collectTree(tx.btx, t, rt.key, data, visited, &recs, limit)
		if errors.Is(err, errChunkFull) {
			if whole {
				return res, errorf("delete %s: more than %d records: %w", t.Model.Name, limit, storage.ErrTxnTooBig)
			}
			break
		}
		if err != nil {
			return res, err
		}
		res.roots++
	}
	if c.conds != nil {
		tx.conds = c.conds
		defer func() { tx.conds = nil }()
	}
	if err := tx.deleteAll(recs, false); err != nil {
		return res, err
	}
	res.records = len(recs)
	return res, nil
}

// doomed is a record a delete removes.
type doomed struct {
	t         *engine.Table
	key, data []byte
	row       engine.Row
}

// collectTree appends the record under key and its hasOne and hasMany
// children to out, children first, each once; with a limit above 0 it
// stops with errChunkFull rather than let out grow past it, leaving out
// with no record whose children are not all in it (or already visited).
// It only reads: every iterator of a read-write transaction copies and
// sorts the transaction's pending writes, so deleting while walking the
// tree would make a cascade quadratic in its size.
func collectTree(txn storage.Txn, t *engine.Table, key, old []byte, visited map[string]bool, out *[]doomed, limit int) error {
	if visited[string(key)] {
		return nil
	}
	visited[string(key)] = true
	rw, err := t.Project(old)
	if err != nil {
		return err
	}
	for _, l := range t.Children {
		err := l.Related(txn, rw, func(ck, cd []byte) error {
			return collectTree(txn, l.To, ck, cd, visited, out, limit)
		})
		if err != nil {
			return err
		}
	}
	if limit > 0 && len(*out) >= limit {
		return errChunkFull
	}
	*out = append(*out, doomed{t: t, key: key, data: old, row: rw})
	return nil
}
