package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsgen/dsgen/runtime/storage"
)

// Postgres is the engine of Store on PostgreSQL, for several `dsgen serve`
// instances sharing one database (see postgres_schema.go for the tables).
//
// Commit order. Writes are group committed (postgres_commit.go): a batch
// of writes arriving together locks its records (SELECT … ORDER BY pk FOR
// UPDATE), runs each MutateFunc, and then, in its last statement,
// increments the one-row commit clock (dsgen_clock) once by the number of
// writes, whose row lock it holds until COMMIT. The clock therefore hands
// out seq and LastChangedAt in commit order across all instances: seq is
// dense (an aborted batch rolls its increment back; a batch's writes get
// consecutive seqs and one LastChangedAt), and LastChangedAt = max(now,
// last, floor) never goes back. StartedAt raises the clock's floor to
// max(now, last) with the same row lock: it waits for the batch that holds
// the lock to commit, and every write after it is stamped at or after the
// watermark, so a delta sync from startedAt misses nothing, whichever
// instance wrote. Commits of the whole database still queue on one row
// lock, held for one round trip and the WAL flush of each commit, but one
// commit now carries every write its instance queued meanwhile.
//
// Feed. Each batch also sends NOTIFY with its last seq. Every instance keeps a
// listening connection and, on a notification (and after each reconnect),
// reads the change log from the last seq it delivered up to the notified
// one, so every instance's listeners see every commit, from any instance,
// in seq order; a write's own change is delivered before Mutate returns.
type Postgres struct {
	pool     *pgxpool.Pool
	now      func() time.Time
	baseTTL  int64 // ms
	deltaTTL int64 // ms
	schema   string
	channel  string // NOTIFY channel: one per schema
	tokenKey []byte
	log      *slog.Logger

	// life guards closed; ops counts operations under way so Close can
	// wait for them.
	life      sync.RWMutex
	closed    bool
	ops       sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	stopBG context.CancelFunc // ends the listener and the expiry
	bg     sync.WaitGroup

	// feedMu serialises deliveries; it guards the fields below.
	feedMu    sync.Mutex
	delivered uint64 // every change up to this seq was delivered (or had no listener)
	listeners []*pgListener

	// indexes are the declared secondary indexes (postgres_index.go).
	indexes atomic.Pointer[loadedIndexes]
	gaps    gapSignal // feed gaps: see feedgap.go

	// writes queues Mutates for the committer (postgres_commit.go), which
	// runs until stopCommit, called by Close once no Mutate is under way.
	writes     chan *pgWrite
	stopCommit context.CancelFunc
	// txns and written count the committed transactions and their
	// writes, for tests and benchmarks.
	txns, written atomic.Uint64
}

var _ Store = (*Postgres)(nil)

type pgListener struct {
	fn   func(Change)
	stop func() bool
}

// OpenPostgres connects to the database at url (a postgres:// URL or a
// key=value connection string; pgxpool settings such as pool_max_conns
// apply), creates or upgrades the tables in the first schema of the
// search_path under an advisory lock, and starts the change listener and
// the background expiry (every opts.ExpiryInterval, by default
// min(DeltaTTL/4, 1 minute), on one instance at a time). opts.Dir and
// opts.InMemory must be empty; opts.UnsafeNoFsync sets synchronous_commit
// to off for the store's sessions.
func OpenPostgres(ctx context.Context, url string, opts Options) (*Postgres, error) {
	if opts.Dir != "" || opts.InMemory {
		return nil, fmt.Errorf("store: open postgres: %w: Dir and InMemory are Badger settings", storage.ErrInvalidOptions)
	}
	if opts.BaseTTL < 0 || opts.DeltaTTL < 0 {
		return nil, fmt.Errorf("store: open postgres: %w: negative TTL (BaseTTL %v, DeltaTTL %v)",
			storage.ErrInvalidOptions, opts.BaseTTL, opts.DeltaTTL)
	}
	if opts.BaseTTL == 0 {
		opts.BaseTTL = DefaultBaseTTL
	}
	if opts.DeltaTTL == 0 {
		opts.DeltaTTL = DefaultDeltaTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The URL may hold a password: pgconn's error does not repeat it.
		return nil, fmt.Errorf("store: open postgres: %w: %w", storage.ErrInvalidOptions, err)
	}
	if opts.UnsafeNoFsync {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	schema, key, err := migrate(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := &Postgres{
		pool:     pool,
		now:      opts.Now,
		baseTTL:  opts.BaseTTL.Milliseconds(),
		deltaTTL: opts.DeltaTTL.Milliseconds(),
		schema:   schema,
		channel:  "dsgen_changes:" + schema,
		tokenKey: key,
		log:      slog.Default(),
		writes:   make(chan *pgWrite),
	}
	if err := pool.QueryRow(ctx, `SELECT seq FROM dsgen_clock`).Scan(&s.delivered); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: open postgres: read the clock: %w", err)
	}
	bgCtx, cancel := context.WithCancel(context.Background())
	s.stopBG = cancel
	commitCtx, stopCommit := context.WithCancel(context.Background())
	s.stopCommit = stopCommit
	s.bg.Go(func() { s.commitLoop(commitCtx) })
	listening := make(chan struct{})
	s.bg.Go(func() { s.listen(bgCtx, listening) })
	interval := opts.ExpiryInterval
	if interval == 0 {
		interval = max(min(opts.DeltaTTL/4, maxExpiryInterval), time.Millisecond)
	}
	if interval > 0 {
		s.bg.Go(func() { s.runExpiry(bgCtx, interval) })
	}
	// Wait for the first LISTEN, so a change committed on another
	// instance once Open has returned reaches this one's feed.
	select {
	case <-listening:
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("store: open postgres: %w", ctx.Err())
	}
	return s, nil
}

// TokenKey returns the key that signs nextTokens, kept in the database so
// that a token issued by one instance is valid on every other.
func (s *Postgres) TokenKey() []byte { return slices.Clone(s.tokenKey) }

// Schema returns the schema that holds the store's tables.
func (s *Postgres) Schema() string { return s.schema }

func (s *Postgres) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	s.ops.Add(1)
	return nil
}

// pgRecord decodes a row's key and item JSON into a Record, the item read
// by items (nil: none).
func pgRecord(model string, key, item []byte, version, lca int64, deleted bool, items *itemReader) (Record, error) {
	r := row{key: key, item: item, version: version, lca: lca, deleted: deleted}
	return r.recordWith(model, items)
}

// Get returns the record (live or tombstone) under key; an error wrapping
// ErrNotFound when there is none.
func (s *Postgres) Get(ctx context.Context, model string, key []any) (Record, error) {
	if err := s.begin(ctx); err != nil {
		return Record{}, err
	}
	defer s.ops.Done()
	pk, norm, err := encodeKey(model, key)
	if err != nil {
		return Record{}, err
	}
	var k, item []byte
	var version, lca int64
	var deleted bool
	err = s.pool.QueryRow(ctx, `SELECT key, item, version, lca, deleted FROM dsgen_records WHERE model = $1 AND pk = $2`,
		model, pk).Scan(&k, &item, &version, &lca, &deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, fmt.Errorf("store: get %s %v: %w", model, norm, ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("store: get %s %v: %w", model, norm, err)
	}
	rec, err := pgRecord(model, k, item, version, lca, deleted, nil)
	if err != nil {
		return Record{}, fmt.Errorf("store: get %s %v: %w", model, norm, err)
	}
	return rec, nil
}

// maxMutateAttempts bounds the retries of a write that lost a race to
// create the same key (or a deadlock).
const maxMutateAttempts = 20

// Mutate reads and locks the record under key, asks fn for the write and
// commits it with the version bump and the change-log entry in one
// transaction, then delivers it to this instance's feed. Writes arriving
// together share the transaction (group commit: postgres_commit.go). fn
// runs once per attempt: again when a concurrent create of a key of the
// batch won or the batch deadlocked, and when a batch that failed is
// replayed one write at a time. Until the write is sent, an end of ctx
// returns ctx.Err(); once it is sent, ctx no longer cancels it: Mutate
// returns once it is committed (durable unless Options.UnsafeNoFsync).
func (s *Postgres) Mutate(ctx context.Context, model string, key []any, fn MutateFunc) (Change, error) {
	if err := s.begin(ctx); err != nil {
		return Change{}, err
	}
	defer s.ops.Done()
	pk, norm, err := encodeKey(model, key)
	if err != nil {
		return Change{}, err
	}
	keyJSON, err := json.Marshal(norm)
	if err != nil {
		return Change{}, fmt.Errorf("store: mutate %s %v: %w", model, norm, err)
	}
	return s.queueWrite(ctx, &pgWrite{
		ctx: ctx, model: model, pk: pk, norm: norm, keyJSON: keyJSON, fn: fn,
		done: make(chan pgAnswer, 1),
	})
}

// retryable reports the errors after which a write is tried again:
// unique_violation (a concurrent create of the key won),
// serialization_failure and deadlock_detected.
func retryable(code string) bool {
	return code == "23505" || code == "40001" || code == "40P01"
}

// StartedAt raises the commit clock's floor to W = max(now, last, floor)
// and returns W. It takes the clock's row lock, so it returns after the
// write that holds it has committed, and every write after it is stamped
// >= W: see Postgres.
func (s *Postgres) StartedAt(ctx context.Context) (int64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	defer s.ops.Done()
	var w int64
	err := s.pool.QueryRow(ctx, `UPDATE dsgen_clock SET floor = greatest(floor, last, $1::bigint) RETURNING floor`,
		s.now().UnixMilli()).Scan(&w)
	if err != nil {
		return 0, fmt.Errorf("store: started at: %w", err)
	}
	return w, nil
}

// Scan reads model's records in key order, tombstones included, after
// cursor (nil: from the start), at most limit (> 0) of them, on the
// primary key index. Next is nil exactly when no record follows.
func (s *Postgres) Scan(ctx context.Context, model string, cursor []byte, limit int) (Page, error) {
	d, err := s.readRecords(ctx, "scan", model, cursor, limit)
	return d.page(), err
}

// Changes reads model's change log for since <= LastChangedAt < until in
// commit order, skipping every change that a later change of the same key
// before until supersedes, paging on the (model, lca, seq) index. Next is
// nil exactly when no further change is to be returned; a cursor only
// resumes the same (model, since, until).
func (s *Postgres) Changes(ctx context.Context, model string, since, until int64, cursor []byte, limit int) (Page, error) {
	if err := s.begin(ctx); err != nil {
		return Page{}, err
	}
	defer s.ops.Done()
	if limit <= 0 {
		return Page{}, fmt.Errorf("store: changes %s: limit %d, want > 0", model, limit)
	}
	if until <= since {
		if cursor != nil {
			return Page{}, fmt.Errorf("%w: changes of %s: empty range", ErrBadCursor, model)
		}
		return Page{}, nil
	}
	afterLCA, afterSeq := since, uint64(0) // seq starts at 1
	if cursor != nil {
		k, err := changesCursor(model, since, until, cursor)
		if err != nil {
			return Page{}, err
		}
		n := len(modelPrefix(nsLog, model))
		afterLCA, afterSeq = readI64(k[n:]), binary.BigEndian.Uint64(k[n+8:])
	}
	rows, err := s.pool.Query(ctx, `SELECT l.seq, l.lca, l.pk, l.key, l.item, l.version, l.deleted FROM dsgen_log l
		WHERE l.model = $1 AND (l.lca, l.seq) > ($2::bigint, $3::bigint) AND l.lca < $4
		AND NOT EXISTS (SELECT 1 FROM dsgen_log n WHERE n.model = $1 AND n.pk = l.pk AND n.seq > l.seq AND n.lca < $4)
		ORDER BY l.lca, l.seq LIMIT $5`, model, afterLCA, int64(afterSeq), until, limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("store: changes %s: %w", model, err)
	}
	defer rows.Close()
	var page Page
	var lastLCA int64
	var lastSeq uint64
	var lastPK []byte
	items := newItemReader()
	for rows.Next() {
		if len(page.Records) == limit {
			page.Next = makeChangesCursor(since, until, logKey(model, lastLCA, lastSeq, lastPK))
			break
		}
		var pk, k, item []byte
		var seq uint64
		var version, lca int64
		var deleted bool
		if err := rows.Scan(&seq, &lca, &pk, &k, &item, &version, &deleted); err != nil {
			return Page{}, fmt.Errorf("store: changes %s: %w", model, err)
		}
		rec, err := pgRecord(model, k, item, version, lca, deleted, items)
		if err != nil {
			return Page{}, fmt.Errorf("store: changes %s: %w", model, err)
		}
		page.Records = append(page.Records, rec)
		lastLCA, lastSeq, lastPK = lca, seq, pk
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("store: changes %s: %w", model, err)
	}
	return page, nil
}

// Feed calls fn with every change committed through any instance from now
// until ctx ends or the store closes, in commit (seq) order, once it is
// committed. This instance's writes are delivered before their Mutate
// returns; other instances' writes once their notification arrives. fn
// runs with the feed lock held: it must return quickly, must not call the
// store, and must not modify the change's Item.
func (s *Postgres) Feed(ctx context.Context, fn func(Change)) {
	if ctx.Err() != nil {
		return
	}
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return
	}
	l := &pgListener{fn: fn}
	s.feedMu.Lock()
	s.listeners = append(slices.Clone(s.listeners), l)
	// Set stop before AfterFunc can fire: removal needs the lock we hold.
	l.stop = context.AfterFunc(ctx, func() { s.removeListener(l) })
	s.feedMu.Unlock()
}

func (s *Postgres) removeListener(l *pgListener) {
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	s.listeners = slices.DeleteFunc(slices.Clone(s.listeners), func(o *pgListener) bool { return o == l })
}

// deliverAll publishes this instance's committed changes chs (in seq
// order), each after every earlier change not delivered yet (other
// instances' writes), read from the log.
func (s *Postgres) deliverAll(ctx context.Context, chs []Change) {
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	for _, ch := range chs {
		if ch.Seq <= s.delivered {
			continue // the listener read it from the log first
		}
		if ch.Seq > s.delivered+1 {
			s.catchUpLocked(ctx, ch.Seq-1)
		}
		for _, l := range s.listeners {
			l.fn(ch)
		}
		s.delivered = ch.Seq
	}
}

// catchUp delivers every change up to seq upTo not delivered yet.
func (s *Postgres) catchUp(ctx context.Context, upTo uint64) {
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	s.catchUpLocked(ctx, upTo)
}

// feedBatch is how many log rows one catch-up read returns.
const feedBatch = 1000

// catchUpLocked reads the log from the last delivered seq to upTo and
// delivers it. Every seq up to upTo is committed: a write takes its seq
// under the clock's row lock, which the previous one held to its commit.
// A change gone from the log (expired before this instance read it) is
// skipped with a warning. Called with feedMu held.
func (s *Postgres) catchUpLocked(ctx context.Context, upTo uint64) {
	if upTo <= s.delivered {
		return
	}
	if len(s.listeners) == 0 {
		s.delivered = upTo
		return
	}
	for s.delivered < upTo {
		chs, err := s.readLog(ctx, s.delivered, upTo)
		if err != nil {
			s.log.Warn("store: feed: reading the change log failed; changes skipped",
				"from", s.delivered+1, "to", upTo, "err", err)
			s.delivered = upTo
			s.gaps.signal(GapLogUnread)
			return
		}
		if len(chs) == 0 {
			s.log.Warn("store: feed: changes expired before they were delivered", "from", s.delivered+1, "to", upTo)
			s.delivered = upTo
			s.gaps.signal(GapLogExpired)
			return
		}
		for _, ch := range chs {
			if ch.Seq != s.delivered+1 {
				s.log.Warn("store: feed: changes expired before they were delivered", "from", s.delivered+1, "to", ch.Seq-1)
				s.gaps.signal(GapLogExpired)
			}
			for _, l := range s.listeners {
				l.fn(ch)
			}
			s.delivered = ch.Seq
		}
	}
}

// readLog returns up to feedBatch changes with after < seq <= upTo.
func (s *Postgres) readLog(ctx context.Context, after, upTo uint64) ([]Change, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, op, model, key, item, version, lca, deleted FROM dsgen_log
		WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`, int64(after), int64(upTo), feedBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var seq uint64
		var op int16
		var model string
		var k, item []byte
		var version, lca int64
		var deleted bool
		if err := rows.Scan(&seq, &op, &model, &k, &item, &version, &lca, &deleted); err != nil {
			return nil, err
		}
		rec, err := pgRecord(model, k, item, version, lca, deleted, nil)
		if err != nil {
			return nil, fmt.Errorf("seq %d: %w", seq, err)
		}
		out = append(out, Change{Op: Op(op), Seq: seq, Record: rec})
	}
	return out, rows.Err()
}

// listen keeps a LISTEN connection open until ctx ends, reconnecting with
// a growing pause; ready is closed after the first LISTEN (or when ctx
// ends first).
func (s *Postgres) listen(ctx context.Context, ready chan struct{}) {
	var once sync.Once
	markReady := func() { once.Do(func() { close(ready) }) }
	defer markReady()
	pause := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, markReady)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("store: feed: the listening connection failed; reconnecting", "err", err, "in", pause)
		// Other instances' changes are held back until the reconnect:
		// subscribers must not wait silently (see feedgap.go).
		s.gaps.signal(GapListenerLost)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// listenOnce connects, LISTENs, catches up on what was committed while it
// was not listening, then delivers on every notification until the
// connection fails or ctx ends.
func (s *Postgres) listenOnce(ctx context.Context, ready func()) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	// Named, so an operator (or a test) can tell it in pg_stat_activity.
	cfg.RuntimeParams["application_name"] = "dsgen-listen " + s.schema
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return err
	}
	ready()
	var seq uint64
	if err := conn.QueryRow(ctx, `SELECT seq FROM dsgen_clock`).Scan(&seq); err != nil {
		return err
	}
	s.catchUp(ctx, seq)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		seq, err := strconv.ParseUint(n.Payload, 10, 64)
		if err != nil {
			s.log.Warn("store: feed: a notification that is not a seq", "channel", n.Channel, "payload", n.Payload)
			continue
		}
		s.catchUp(ctx, seq)
	}
}

// expireBatchPG is how many rows of each table one Expire transaction
// removes.
const expireBatchPG = 1000

// Expire removes tombstones BaseTTL after their deletion and change-log
// entries DeltaTTL after their commit, as of Options.Now, in transactions
// of a bounded size, and reports how many it removed. Expiries of all
// instances take turns on an advisory lock.
func (s *Postgres) Expire(ctx context.Context) (int, error) {
	return s.expire(ctx, false)
}

// expire is Expire; with try it returns (0, nil) at once when another
// instance is expiring.
func (s *Postgres) expire(ctx context.Context, try bool) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	defer s.ops.Done()
	now := s.now().UnixMilli()
	total := 0
	for {
		var logN, recN int64
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			lockFn := "pg_advisory_xact_lock"
			if try {
				lockFn = "pg_try_advisory_xact_lock"
			}
			var got any
			if err := tx.QueryRow(ctx, `SELECT `+lockFn+`($1, hashtext(current_schema()))`, lockExpire).Scan(&got); err != nil {
				return err
			}
			if ok, isBool := got.(bool); isBool && !ok {
				return errBusy
			}
			tag, err := tx.Exec(ctx, `DELETE FROM dsgen_log WHERE seq IN (
				SELECT seq FROM dsgen_log WHERE expire_at <= $1 ORDER BY expire_at LIMIT $2)`, now, expireBatchPG)
			if err != nil {
				return err
			}
			logN = tag.RowsAffected()
			// The outer condition is checked again on a row a concurrent
			// write changed: a re-created record is not removed.
			// A removed tombstone's index rows go with it.
			err = tx.QueryRow(ctx, `WITH d AS (DELETE FROM dsgen_records WHERE (model, pk) IN (
				SELECT model, pk FROM dsgen_records WHERE deleted AND expire_at <= $1 ORDER BY expire_at LIMIT $2)
				AND deleted AND expire_at <= $1 RETURNING model, pk
			), x AS (DELETE FROM dsgen_index i USING d WHERE i.model = d.model AND i.pk = d.pk)
			SELECT count(*) FROM d`, now, expireBatchPG).Scan(&recN)
			if err != nil {
				return err
			}
			return nil
		})
		if errors.Is(err, errBusy) {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("store: expire: %w", err)
		}
		total += int(logN + recN)
		if logN < expireBatchPG && recN < expireBatchPG {
			return total, nil
		}
	}
}

// runExpiry runs the expiry every interval until ctx ends, skipping a turn
// when another instance holds the expiry lock.
func (s *Postgres) runExpiry(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.expire(ctx, true); err != nil && !errors.Is(err, ErrClosed) && ctx.Err() == nil {
			s.log.Warn("store: background expiry failed", "err", err)
		}
	}
}

// Close stops the listener and the background expiry, waits for
// operations under way, unregisters every feed listener and closes the
// connections. Later operations return ErrClosed. It is idempotent.
func (s *Postgres) Close() error {
	s.closeOnce.Do(func() {
		s.life.Lock()
		s.closed = true
		s.life.Unlock()
		s.stopBG()
		s.ops.Wait()
		s.stopCommit()
		s.bg.Wait()
		s.feedMu.Lock()
		for _, l := range s.listeners {
			l.stop()
		}
		s.listeners = nil
		s.feedMu.Unlock()
		s.pool.Close()
	})
	return s.closeErr
}
