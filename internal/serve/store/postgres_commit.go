package store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Group commit on PostgreSQL. Mutate queues its write for the store's
// committer goroutine, which takes every write queued meanwhile (at most
// maxPGBatch, one per key) and commits them in one transaction: one
// statement locks their records in key order, each MutateFunc runs in
// arrival order, and one statement sent with COMMIT increments the commit
// clock once by the number of writes and writes the log rows, the records
// and one NOTIFY. The clock row lock is still held to COMMIT (see
// Postgres), but one flush now commits the whole batch.
//
// A key appears at most once in a batch; a second write of it waits for
// the next batch, so its MutateFunc sees the first's committed record,
// LastChangedAt included (which is only known once the clock is
// incremented, at commit).

// maxPGBatch bounds the writes of one transaction.
const maxPGBatch = 256

// States of a queued write: the committer takes it just before running
// its MutateFunc; the writer abandons it when its ctx ends first.
const (
	pgQueued int32 = iota
	pgTaken
	pgAbandoned
)

// pgWrite is one Mutate waiting for the committer.
type pgWrite struct {
	ctx     context.Context
	model   string
	pk      []byte
	norm    []any
	keyJSON []byte
	fn      MutateFunc
	state   atomic.Int32
	done    chan pgAnswer // buffered: one answer
	stop    func() bool   // ends the abandonment hook; set by the committer

	// The decision of the attempt under way.
	created  bool // no record row when the batch locked
	ok       bool // fn decided a write
	err      error
	panicked any
	item     map[string]any
	itemJSON []byte
	version  int64
	op       Op
}

type pgAnswer struct {
	ch       Change
	err      error
	panicked any // fn panicked: re-panic in the writer's goroutine
}

type pgKey struct{ model, pk string }

// queueWrite hands w to the committer and waits for its answer. Until the
// committer takes w, an end of ctx returns ctx.Err() and w is not written.
func (s *Postgres) queueWrite(ctx context.Context, w *pgWrite) (Change, error) {
	select {
	case s.writes <- w:
	case <-ctx.Done():
		return Change{}, ctx.Err()
	}
	a := <-w.done
	if a.panicked != nil {
		panic(a.panicked)
	}
	return a.ch, a.err
}

// watch arranges for w to be answered with ctx.Err() if its ctx ends
// before the committer takes it.
func watch(w *pgWrite) *pgWrite {
	w.stop = context.AfterFunc(w.ctx, func() {
		if w.state.CompareAndSwap(pgQueued, pgAbandoned) {
			w.done <- pgAnswer{err: w.ctx.Err()}
		}
	})
	return w
}

// take reports whether w is (now) the committer's to write; a write whose
// ctx has ended before is answered with ctx.Err().
func take(w *pgWrite) bool {
	switch w.state.Load() {
	case pgTaken:
		return true
	case pgAbandoned:
		return false
	}
	if err := w.ctx.Err(); err != nil {
		if w.state.CompareAndSwap(pgQueued, pgAbandoned) {
			w.stop()
			w.done <- pgAnswer{err: err}
		}
		return false
	}
	return w.state.CompareAndSwap(pgQueued, pgTaken)
}

// answer sends w its answer unless its writer has gone.
func answer(w *pgWrite, a pgAnswer) {
	if take(w) {
		w.stop()
		w.done <- a
	}
}

// commitLoop is the committer: it runs until ctx ends, which Close does
// once every Mutate has returned.
func (s *Postgres) commitLoop(ctx context.Context) {
	var queue []*pgWrite // received, not committed yet, in arrival order
	for {
		if len(queue) == 0 {
			select {
			case w := <-s.writes:
				queue = append(queue, watch(w))
			case <-ctx.Done():
				return
			}
		}
	drain:
		for range maxPGBatch {
			select {
			case w := <-s.writes:
				queue = append(queue, watch(w))
			default:
				break drain
			}
		}
		var batch []*pgWrite
		batch, queue = nextBatch(queue)
		if len(batch) > 0 {
			s.commitWrites(ctx, batch)
		}
	}
}

// nextBatch splits queue into the next batch (at most maxPGBatch writes,
// one per key, in arrival order) and the writes left for later, dropping
// abandoned ones.
func nextBatch(queue []*pgWrite) (batch, rest []*pgWrite) {
	keys := map[pgKey]bool{}
	for _, w := range queue {
		if w.state.Load() == pgAbandoned {
			continue
		}
		k := pgKey{w.model, string(w.pk)}
		if len(batch) == maxPGBatch || keys[k] {
			// Later writes of a key stay behind the first.
			keys[k] = true
			rest = append(rest, w)
			continue
		}
		keys[k] = true
		batch = append(batch, w)
	}
	return batch, rest
}

// errInDoubt marks a failure after the write was sent that may have
// committed: it is answered as is, neither retried nor replayed.
var errInDoubt = errors.New("the commit may have happened")

// commitWrites commits batch, retrying it after a lost race (a concurrent
// create of one of its keys, a deadlock), and answers every write. A
// failure that no retry mends and that is not the database being
// unreachable is not blamed on every write: each is tried alone.
func (s *Postgres) commitWrites(ctx context.Context, batch []*pgWrite) {
	for attempt := 1; ; attempt++ {
		left, err := s.commitOnce(ctx, batch)
		if err == nil {
			return
		}
		batch = slices.DeleteFunc(left, func(w *pgWrite) bool { return w.state.Load() == pgAbandoned })
		if len(batch) == 0 {
			return
		}
		var pe *pgconn.PgError
		isPG := errors.As(err, &pe)
		switch {
		case isPG && retryable(pe.Code) && attempt < maxMutateAttempts:
			continue
		case len(batch) > 1 && !errors.Is(err, errInDoubt) && !Unavailable(err):
			for _, w := range batch {
				s.commitWrites(ctx, []*pgWrite{w})
			}
			return
		}
		for _, w := range batch {
			answer(w, pgAnswer{err: fmt.Errorf("store: mutate %s %v: %w", w.model, w.norm, err)})
		}
		return
	}
}

const (
	// pgLockMany reads and locks the records of a batch, in key order so
	// that batches of several instances do not deadlock. $1 models, $2 pks.
	pgLockMany = `SELECT r.model, r.pk, r.key, r.item, r.version, r.lca, r.deleted FROM dsgen_records r
		WHERE (r.model, r.pk) IN (SELECT * FROM unnest($1::text[], $2::bytea[]))
		ORDER BY r.model, r.pk FOR UPDATE`

	// pgWriteMany writes a batch: the clock increment by $1 writes comes
	// first (every other row needs c) and its row lock is held to COMMIT,
	// which the caller sends in the same round trip. The i-th write gets
	// seq base+i. $2 now, $3..$10 the writes' model, pk, op, key, item,
	// version, deleted, created; $11 base TTL, $12 delta TTL, $13 channel.
	// One NOTIFY carries the last seq: listeners read the log up to it
	// from the last seq they delivered.
	pgWriteMany = `WITH c AS (
		UPDATE dsgen_clock SET seq = seq + $1::bigint, last = greatest(last, floor, $2::bigint)
		RETURNING seq - $1::bigint AS base, last
	), w AS (
		SELECT * FROM unnest($3::text[], $4::bytea[], $5::smallint[], $6::text[], $7::text[], $8::bigint[], $9::boolean[], $10::boolean[])
			WITH ORDINALITY AS w(model, pk, op, key, item, version, deleted, created, i)
	), l AS (
		INSERT INTO dsgen_log (seq, model, pk, op, key, item, version, lca, deleted, expire_at)
		SELECT c.base + w.i, w.model, w.pk, w.op, w.key::json, w.item::json, w.version, c.last, w.deleted, c.last + $12::bigint
		FROM c, w
	), ins AS (
		INSERT INTO dsgen_records (model, pk, key, item, version, lca, seq, deleted, expire_at)
		SELECT w.model, w.pk, w.key::json, w.item::json, w.version, c.last, c.base + w.i, w.deleted,
			CASE WHEN w.deleted THEN c.last + $11::bigint END
		FROM c, w WHERE w.created
	), upd AS (
		UPDATE dsgen_records r SET key = w.key::json, item = w.item::json, version = w.version, lca = c.last,
			seq = c.base + w.i, deleted = w.deleted, expire_at = CASE WHEN w.deleted THEN c.last + $11::bigint END
		FROM c, w WHERE NOT w.created AND r.model = w.model AND r.pk = w.pk
	)
	SELECT c.base, c.last, pg_notify($13::text, (c.base + $1::bigint)::text) IS NULL FROM c`

	// pgIndexDeleteMany and pgIndexInsertMany replace the index rows of a
	// batch's records: $1 models, $2 pks; $1 models, $2 pks, $3 index
	// ids, $4 entry keys.
	pgIndexDeleteMany = `DELETE FROM dsgen_index WHERE (model, pk) IN (SELECT * FROM unnest($1::text[], $2::bytea[]))`
	pgIndexInsertMany = `INSERT INTO dsgen_index (model, ix, ek, pk)
		SELECT x.model, x.ix, x.ek, x.pk FROM unnest($1::text[], $2::bytea[], $3::text[], $4::bytea[]) AS x(model, pk, ix, ek)`
)

// commitOnce is one attempt at batch in one transaction: BEGIN and the
// locking read in one round trip, the MutateFuncs, then the writes and
// COMMIT in another. On success every write is answered and nil returned;
// on error, the writes still to answer.
func (s *Postgres) commitOnce(ctx context.Context, batch []*pgWrite) (left []*pgWrite, err error) {
	// Until the writes are taken, the read gives up when every writer has.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !slices.ContainsFunc(batch, func(w *pgWrite) bool { return w.state.Load() == pgTaken }) {
		var waiting atomic.Int32
		waiting.Store(int32(len(batch)))
		for _, w := range batch {
			stop := context.AfterFunc(w.ctx, func() {
				if waiting.Add(-1) == 0 {
					cancel()
				}
			})
			defer stop()
		}
	}
	conn, err := s.pool.Acquire(rctx)
	if err != nil {
		return batch, err
	}
	// A connection left inside a transaction (an error anywhere below) is
	// rolled back here; pgxpool destroys one it cannot reset.
	defer func() {
		if conn.Conn().PgConn().TxStatus() != 'I' {
			if _, rbErr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
				conn.Conn().Close(context.WithoutCancel(ctx))
			}
		}
		conn.Release()
	}()

	cur, err := readLocked(rctx, conn, batch)
	if err != nil {
		return batch, err
	}

	// Decide, in arrival order. A write whose ctx has ended is left out.
	var writes []*pgWrite
	for _, w := range batch {
		if !take(w) {
			continue
		}
		c := cur[pgKey{w.model, string(w.pk)}]
		w.created = c == nil
		w.decide(c)
		if w.ok {
			writes = append(writes, w)
		}
	}
	if len(writes) == 0 {
		answerAll(batch, nil)
		return nil, nil
	}

	// From here the batch goes through: a write that reached the server
	// must not be left in doubt.
	base, lca, err := s.sendWrites(ctx, conn, writes)
	if err != nil {
		return batch, err
	}
	n := len(writes)
	s.txns.Add(1)
	s.written.Add(uint64(n))

	chs := make([]Change, n)
	for i, w := range writes {
		chs[i] = Change{Op: w.op, Seq: base + uint64(i) + 1, Record: Record{
			Model: w.model, Key: w.norm, Item: w.item,
			Version: w.version, LastChangedAt: lca, Deleted: w.op == OpDelete,
		}}
	}
	s.deliverAll(ctx, chs)
	answerAll(batch, chs)
	return nil, nil
}

// readLocked begins the transaction and reads and locks the records of
// batch, by key.
func readLocked(ctx context.Context, conn *pgxpool.Conn, batch []*pgWrite) (map[pgKey]*Record, error) {
	models := make([]string, len(batch))
	pks := make([][]byte, len(batch))
	for i, w := range batch {
		models[i], pks[i] = w.model, w.pk
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(pgLockMany, models, pks)
	br := conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, fmt.Errorf("begin: %w", err)
	}
	cur := map[pgKey]*Record{}
	rows, err := br.Query()
	if err == nil {
		for rows.Next() {
			var model string
			var pk, k, item []byte
			var version, lca int64
			var deleted bool
			if err = rows.Scan(&model, &pk, &k, &item, &version, &lca, &deleted); err != nil {
				break
			}
			rec, rerr := pgRecord(model, k, item, version, lca, deleted, nil)
			if rerr != nil {
				err = fmt.Errorf("%s %x: %w", model, pk, rerr)
				break
			}
			cur[pgKey{model, string(pk)}] = &rec
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return cur, nil
}

// sendWrites sends the decided writes with COMMIT, in one round trip, and
// returns the seq before the first and their LastChangedAt. The index
// rows go in key order, as the records were locked.
func (s *Postgres) sendWrites(ctx context.Context, conn *pgxpool.Conn, writes []*pgWrite) (base uint64, lca int64, err error) {
	n := len(writes)
	var (
		ops      = make([]int16, n)
		keys     = make([]string, n)
		items    = make([]string, n)
		versions = make([]int64, n)
		deleted  = make([]bool, n)
		created  = make([]bool, n)
		ixModels []string
		ixPKs    [][]byte
		ieModels []string
		iePKs    [][]byte
		ieIDs    []string
		ieEKs    [][]byte
	)
	models := make([]string, 0, n)
	pks := make([][]byte, 0, n)
	for i, w := range writes {
		models = append(models, w.model)
		pks = append(pks, w.pk)
		ops[i], keys[i], items[i] = int16(w.op), string(w.keyJSON), string(w.itemJSON)
		versions[i], deleted[i], created[i] = w.version, w.op == OpDelete, w.created
	}
	// Index rows in key order, as the records are locked.
	byKey := slices.Clone(writes)
	slices.SortFunc(byKey, func(a, b *pgWrite) int {
		if c := cmp.Compare(a.model, b.model); c != 0 {
			return c
		}
		return bytes.Compare(a.pk, b.pk)
	})
	for _, w := range byKey {
		ids, eks, has := s.indexRows(w.model, w.pk, w.item)
		if !has {
			continue
		}
		ixModels, ixPKs = append(ixModels, w.model), append(ixPKs, w.pk)
		for j := range ids {
			ieModels, iePKs = append(ieModels, w.model), append(iePKs, w.pk)
			ieIDs, ieEKs = append(ieIDs, ids[j]), append(ieEKs, eks[j])
		}
	}
	b := &pgx.Batch{}
	// The index rows first: Indexes' build holds a SHARE lock on them.
	if len(ixModels) > 0 {
		b.Queue(pgIndexDeleteMany, ixModels, ixPKs)
		b.Queue(pgIndexInsertMany, ieModels, iePKs, ieIDs, ieEKs)
	}
	nIndex := b.Len()
	b.Queue(pgWriteMany, int64(n), s.now().UnixMilli(), models, pks, ops, keys, items, versions, deleted, created,
		s.baseTTL, s.deltaTTL, s.channel)
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	var notified bool
	for range nIndex {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return 0, 0, sentErr("write index", err)
		}
	}
	if err := br.QueryRow().Scan(&base, &lca, &notified); err != nil {
		br.Close()
		return 0, 0, sentErr("write", err)
	}
	tag, err := br.Exec()
	if err == nil && tag.String() != "COMMIT" {
		err = fmt.Errorf("the server answered %q", tag.String())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, sentErr("commit", err)
	}
	return base, lca, nil
}

// sentErr wraps an error met after the writes were sent: one the server
// reported rolled the transaction back; any other (the connection broke)
// leaves the commit in doubt.
func sentErr(what string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && !Unavailable(err) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w (%w)", what, err, errInDoubt)
}

// decide runs w's MutateFunc on cur and keeps its decision (or error, or
// panic) in w.
func (w *pgWrite) decide(cur *Record) {
	w.ok, w.err, w.panicked = false, nil, nil
	defer func() {
		if p := recover(); p != nil {
			w.ok, w.panicked = false, p
		}
	}()
	item, op, err := w.fn(cur)
	if err != nil {
		w.err = err
		return
	}
	item, itemJSON, version, err := decided(cur, item, op)
	if err != nil {
		w.err = fmt.Errorf("store: mutate %s %v: %w", w.model, w.norm, err)
		return
	}
	w.ok, w.item, w.itemJSON, w.version, w.op = true, item, itemJSON, version, op
}

// answerAll answers every taken write of a finished attempt: its change
// from chs (in the order of the decided writes) or its MutateFunc's error.
func answerAll(batch []*pgWrite, chs []Change) {
	i := 0
	for _, w := range batch {
		if w.state.Load() != pgTaken {
			continue
		}
		switch {
		case w.panicked != nil:
			answer(w, pgAnswer{panicked: w.panicked})
		case !w.ok:
			answer(w, pgAnswer{err: w.err})
		default:
			answer(w, pgAnswer{ch: chs[i]})
			i++
		}
	}
}
