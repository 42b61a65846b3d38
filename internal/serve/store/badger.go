package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dsgen/dsgen/runtime/storage"
)

// Defaults for Options, as the Amplify CLI configures AppSync.
const (
	// DefaultBaseTTL is how long a tombstone is kept (BaseTableTTL).
	DefaultBaseTTL = 30 * 24 * time.Hour
	// DefaultDeltaTTL is how long a change-log entry is kept
	// (DeltaSyncTableTTL).
	DefaultDeltaTTL = 30 * time.Minute
)

const (
	// maxExpiryInterval caps the period of the background Expire.
	maxExpiryInterval = time.Minute
	// expireBatch is how many expiry entries one Expire transaction
	// removes: at most three deletes each, far below Badger's transaction
	// limit (~13k entries with the laptop preset).
	expireBatch = 256
	// floorReserve is how far ahead of a watermark the persisted floor is
	// set, so StartedAt writes at most once per reserve period while still
	// guaranteeing, across a restart with a clock that went back, that
	// later writes are stamped at or after every watermark handed out.
	floorReserve = int64(time.Second / time.Millisecond)
)

// Badger is the single-process engine of Store, on one Badger database.
//
// Every write is decided (read, decide, stamp, sequence) under one commit
// mutex, which makes decision order, the commit clock and the sequence the
// same thing. The decided writes are then committed by one goroutine in
// group commits: every write decided while the previous group was being
// committed goes into the next Badger transaction, so concurrent writers
// share one WAL sync (one per transaction: storage.Options.LeanSync syncs
// the memtable log alone, where Badger's SyncWrites would flush the
// untouched value log too).
// A writer is answered, and its change published on the feed, only once
// its group is on disk, in decision order. Until then the decided rows
// wait in an overlay that later decisions read, so each write still sees
// the one before it. BenchmarkMutate measures what it costs against a raw
// Badger write.
type Badger struct {
	db       *storage.DB
	now      func() time.Time
	baseTTL  int64 // ms
	deltaTTL int64 // ms

	// life guards closed; ops counts operations under way so Close can
	// wait for them.
	life      sync.RWMutex
	closed    bool
	ops       sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	stopExpiry context.CancelFunc
	expiryDone chan struct{}
	// expMu runs one Expire at a time: each reads the expiry index as the
	// previous one's commit left it, so none removes (and counts) an entry
	// twice.
	expMu sync.Mutex

	// mu is the commit mutex; it guards the fields below it.
	mu       sync.Mutex
	seq      uint64 // last committed sequence number
	last     int64  // last assigned LastChangedAt
	floor    int64  // highest watermark handed out by StartedAt
	reserved int64  // persisted floor (>= floor), restored on open

	// rtxn is the Badger snapshot decisions read (rtxnOK: it is open). One
	// serves every decision until the next commit, which drops it: the
	// overlay holds what is decided and not yet committed, and a commit
	// moves rows from the overlay to Badger, so a snapshot from before it
	// would miss them. Opening a transaction per decision cost more than
	// the read itself (Badger's read watermark goes through a channel).
	rtxn   storage.Txn
	rtxnOK bool

	// Group commit state, guarded by mu.
	queue   []*batch           // decided, not yet taken by the committer; the last one takes more writes
	tail    *batch             // the newest batch given writes (queued, committing or done)
	overlay map[string]pending // record rows decided but not committed yet
	failed  error              // set when a commit fails: no later write can be trusted

	maxCount, maxSize int64         // the limits of one batch, below Badger's transaction limits
	kick              chan struct{} // (cap 1) the queue has writes
	stopCommit        chan struct{} // closed by Close once no operation is under way
	commitDone        chan struct{} // closed when the committer has returned

	// Gathering (see gather), guarded by mu: queuedWrites counts the
	// Mutates queued and otherQueued says other work is (StartedAt,
	// Expire, …); lastWrites is how many Mutates the last round of commits
	// answered, lastRound how long it took; gatherFor > 0 while the
	// committer waits for that many queued Mutates.
	queuedWrites, lastWrites, gatherFor int
	otherQueued                         bool
	lastRound                           time.Duration

	commits atomic.Uint64 // Badger transactions the committer made (for benchmarks)

	feedMu    sync.Mutex // serialises changes to listeners
	listeners atomic.Pointer[[]*listener]

	// indexes are the declared secondary indexes (badger_index.go); set
	// under mu, read by writes under mu and by queries without it.
	indexes atomic.Pointer[loadedIndexes]
}

var _ Store = (*Badger)(nil)

// wop is one Badger write of a batch.
type wop struct {
	key, val []byte
	del      bool // delete key (val unused)
}

// batch is one group commit: the writes of every operation decided while
// the previous batch was committing, committed in one Badger transaction.
type batch struct {
	ops     []wop
	changes []Change // published in this order once committed
	keys    []string // overlay entries this batch set
	count   int64    // Badger entries, as Badger counts them
	size    int64    // bytes, estimated as Badger does
	// meta is the engine state (sequence, clock, floor) as of the batch's
	// last decision, written once with it when hasMeta; room for it is
	// counted in every batch.
	meta    metaState
	hasMeta bool
	done    chan struct{}
	err     error // set before done is closed
}

// metaState is the persisted engine state: the last sequence and clock
// value assigned and the reserved floor.
type metaState struct {
	seq            uint64
	last, reserved int64
}

// setMeta records that b leaves the engine state at seq, last, reserved.
// Only the batch's last state is written: each batch commits whole, so
// the state of an earlier decision in it is never on disk alone.
func (b *batch) setMeta(seq uint64, last, reserved int64) {
	b.meta = metaState{seq: seq, last: last, reserved: reserved}
	b.hasMeta = true
}

// wait returns once b is committed (or failed) and its error.
func (b *batch) wait() error {
	<-b.done
	return b.err
}

// pending is a record row in the overlay: decided, not committed yet.
type pending struct {
	val []byte // the encoded row; nil when the record was removed
	b   *batch
}

// Per-entry bytes Badger adds in its transaction size check (metas and the
// version suffix), rounded up, and room kept for the commit's own entry.
// metaCost is the engine state entry every batch keeps room for.
const (
	entryOverhead = 16
	batchSlack    = 256
	metaCost      = 1 + 24 + entryOverhead
)

// listener is one Feed registration.
type listener struct {
	fn   func(Change)
	stop func() bool // unregisters the context.AfterFunc
}

// Open opens (creating it if needed) the store in opts.Dir, or in memory
// with opts.InMemory, and starts its committer and its background expiry,
// which runs every opts.ExpiryInterval (by default min(DeltaTTL/4,
// 1 minute)) until Close. Unless opts.UnsafeNoFsync, a write returns only
// once it is synced to disk.
//
// Errors wrap storage.ErrInvalidOptions (bad options), storage.ErrLocked
// (another process has the directory), storage.ErrCorrupt (a
// *storage.CorruptError naming a damaged file in opts.Dir) or Badger's
// error.
func Open(ctx context.Context, opts Options) (*Badger, error) {
	if opts.BaseTTL < 0 || opts.DeltaTTL < 0 {
		return nil, fmt.Errorf("store: open: %w: negative TTL (BaseTTL %v, DeltaTTL %v)",
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
	// LeanSync: Badger's own sync would flush the value log on every
	// commit too, nearly always untouched, a second device flush each.
	db, err := storage.Open(ctx, opts.Dir, storage.Options{InMemory: opts.InMemory, SyncWrites: !opts.UnsafeNoFsync, LeanSync: true})
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	maxCount, maxSize := db.TxnLimits()
	s := &Badger{
		db:         db,
		now:        opts.Now,
		baseTTL:    opts.BaseTTL.Milliseconds(),
		deltaTTL:   opts.DeltaTTL.Milliseconds(),
		expiryDone: make(chan struct{}),
		overlay:    map[string]pending{},
		maxCount:   maxCount - 8,
		maxSize:    maxSize - batchSlack,
		kick:       make(chan struct{}, 1),
		stopCommit: make(chan struct{}),
		commitDone: make(chan struct{}),
	}
	s.listeners.Store(new([]*listener))
	if err := s.loadMeta(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	go s.runCommits()

	interval := opts.ExpiryInterval
	if interval == 0 {
		interval = max(min(opts.DeltaTTL/4, maxExpiryInterval), time.Millisecond)
	}
	expCtx, cancel := context.WithCancel(context.Background())
	s.stopExpiry = cancel
	if interval > 0 {
		go s.runExpiry(expCtx, interval)
	} else {
		close(s.expiryDone)
	}
	return s, nil
}

// Size reports the bytes on disk of the LSM tree and of the value log, as
// Badger last measured them (at open and every minute after); both are 0
// in memory.
func (s *Badger) Size() (lsm, vlog int64) { return s.db.Size() }

// loadMeta restores the sequence, the clock and the floor.
func (s *Badger) loadMeta() error {
	return s.db.View(func(txn storage.Txn) error {
		v, err := txn.Get(metaKey)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: open: read state: %w", err)
		}
		if len(v) != 24 {
			return fmt.Errorf("store: open: %w: engine state is %d bytes, want 24", errCorruptRow, len(v))
		}
		s.seq = binary.BigEndian.Uint64(v)
		s.last = readI64(v[8:])
		s.reserved = readI64(v[16:])
		s.floor = s.reserved
		return nil
	})
}

func (m metaState) value() []byte {
	v := make([]byte, 0, 24)
	v = binary.BigEndian.AppendUint64(v, m.seq)
	v = appendI64(v, m.last)
	return appendI64(v, m.reserved)
}

// begin admits an operation: it fails on a done ctx or a closed store, and
// otherwise counts the operation until the matching s.ops.Done.
func (s *Badger) begin(ctx context.Context) error {
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

// Get returns the record (live or tombstone) under key; an error wrapping
// ErrNotFound when there is none.
func (s *Badger) Get(ctx context.Context, model string, key []any) (Record, error) {
	if err := s.begin(ctx); err != nil {
		return Record{}, err
	}
	defer s.ops.Done()
	pk, norm, err := encodeKey(model, key)
	if err != nil {
		return Record{}, err
	}
	var rec Record
	err = s.db.View(func(txn storage.Txn) error {
		return txn.Value(recordKey(model, pk), func(v []byte) error {
			r, err := decodeRow(v)
			if err != nil {
				return err
			}
			rec, err = r.record(model)
			return err
		})
	})
	if errors.Is(err, storage.ErrNotFound) {
		return Record{}, fmt.Errorf("store: get %s %v: %w", model, norm, ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("store: get %s %v: %w", model, norm, err)
	}
	return rec, nil
}

// Mutate reads the record under key, asks fn for the write and commits it
// with the version bump, the change-log entry and the expiry entries
// atomically, then publishes it to the feed. fn runs exactly once, under
// the commit mutex, so it must be quick. Mutate returns once the write is
// durable (unless Options.UnsafeNoFsync), whatever ctx does meanwhile: a
// write decided is committed. The returned change holds the item as fn
// returned it; Get and Scan return it decoded from JSON.
func (s *Badger) Mutate(ctx context.Context, model string, key []any, fn MutateFunc) (Change, error) {
	if err := s.begin(ctx); err != nil {
		return Change{}, err
	}
	defer s.ops.Done()
	pk, norm, err := encodeKey(model, key)
	if err != nil {
		return Change{}, err
	}
	keyJSON, err := marshalJSON(norm)
	if err != nil {
		return Change{}, fmt.Errorf("store: mutate %s %v: key: %w", model, norm, err)
	}
	ch, b, err := s.decide(ctx, model, pk, norm, keyJSON, fn)
	if err != nil {
		return Change{}, err
	}
	if err := b.wait(); err != nil {
		return Change{}, fmt.Errorf("store: mutate %s %v: commit: %w", model, norm, err)
	}
	return ch, nil
}

// decide runs Mutate's read-decide-stamp under the commit mutex and queues
// the writes; the caller waits for the returned batch.
func (s *Badger) decide(ctx context.Context, model string, pk []byte, norm []any, keyJSON []byte, fn MutateFunc) (Change, *batch, error) {
	rk := recordKey(model, pk)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return Change{}, nil, err
	}
	if s.failed != nil {
		return Change{}, nil, fmt.Errorf("store: mutate %s %v: %w", model, norm, s.failed)
	}

	var cur *Record
	curRow, found, err := s.currentRow(rk)
	if err == nil && found {
		var rec Record
		rec, err = curRow.record(model)
		cur = &rec
	}
	if err != nil {
		return Change{}, nil, fmt.Errorf("store: mutate %s %v: read: %w", model, norm, err)
	}

	item, op, err := fn(cur)
	if err != nil {
		return Change{}, nil, err
	}
	item, itemJSON, version, err := decided(cur, item, op)
	if err != nil {
		return Change{}, nil, fmt.Errorf("store: mutate %s %v: %w", model, norm, err)
	}

	lca := max(s.now().UnixMilli(), s.last, s.floor)
	seq := s.seq + 1
	r := row{op: op, deleted: op == OpDelete, version: version, lca: lca, seq: seq, key: keyJSON, item: itemJSON}
	if r.deleted {
		r.expireAt = lca + s.baseTTL
	}
	// Without indexes a write is at most five entries; the slice stays on
	// the stack (enqueue copies it).
	var small [5]wop
	writes := small[:0]
	if cur != nil && curRow.deleted && curRow.expireAt != 0 {
		// The old tombstone is replaced: its expiry entry goes with it.
		writes = append(writes, wop{key: expiryTombstoneKey(curRow.expireAt, rk), del: true})
	}
	lw := s.logWrites(rk, pk, &r)
	val := lw[0].val
	writes = append(writes, lw[:]...)
	if r.deleted {
		writes = append(writes, wop{key: expiryTombstoneKey(r.expireAt, rk)})
	}
	var oldItem map[string]any
	if cur != nil {
		oldItem = cur.Item
	}
	writes = append(writes, s.indexWrites(model, pk, oldItem, item)...)
	ch := Change{Op: op, Seq: seq, Record: Record{
		Model: model, Key: norm, Item: item,
		Version: r.version, LastChangedAt: lca, Deleted: r.deleted,
	}}
	b, err := s.enqueue(writes, &ch)
	if err != nil {
		return Change{}, nil, fmt.Errorf("store: mutate %s %v: %w", model, norm, err)
	}
	s.setPending(b, rk, val)
	s.seq, s.last = seq, lca
	b.setMeta(seq, lca, s.reserved)
	return ch, b, nil
}

// logWrites returns the three writes of row r of record key rk (primary
// key pk): the record, its change-log entry and the per-key log index
// entry, in that order, the value and the two log keys carved from one
// allocation.
// The log entry needs no expiry entry: Expire finds due log entries by the
// commit time that leads their keys.
func (s *Badger) logWrites(rk, pk []byte, r *row) [3]wop {
	mc := rk[1 : len(rk)-len(pk)] // the model's key component
	lkLen := 1 + len(mc) + 16 + len(pk)
	kkLen := 1 + len(mc) + len(pk) + 1 + 16
	buf := make([]byte, 0, r.encodedLen()+lkLen+kkLen)
	carve := func(from int) []byte { return buf[from:len(buf):len(buf)] }

	n := len(buf)
	buf = r.appendTo(buf)
	val := carve(n)

	n = len(buf)
	buf = append(append(buf, nsLog), mc...)
	buf = appendI64(buf, r.lca)
	buf = binary.BigEndian.AppendUint64(buf, r.seq)
	buf = append(buf, pk...)
	lk := carve(n)

	n = len(buf)
	buf = append(append(append(buf, nsKeyLog), mc...), pk...)
	buf = append(buf, keyLogSep)
	buf = appendI64(buf, r.lca)
	buf = binary.BigEndian.AppendUint64(buf, r.seq)
	kk := carve(n)

	return [3]wop{{key: rk, val: val}, {key: lk, val: val}, {key: kk}}
}

// currentRow returns the row under rk as the decided writes leave it: from
// the overlay when a write of it is still committing, else from Badger.
// Called with mu held.
func (s *Badger) currentRow(rk []byte) (r row, found bool, err error) {
	if p, ok := s.overlay[string(rk)]; ok {
		if p.val == nil {
			return row{}, false, nil
		}
		r, err = decodeRow(p.val)
		return r, err == nil, err
	}
	v, err := s.readView().Get(rk)
	if errors.Is(err, storage.ErrNotFound) {
		return row{}, false, nil
	}
	if err != nil {
		return row{}, false, err
	}
	r, err = decodeRow(v)
	return r, err == nil, err
}

// readView returns the snapshot decisions read, opening one after a
// commit. Called with mu held.
func (s *Badger) readView() storage.Txn {
	if !s.rtxnOK {
		s.rtxn, s.rtxnOK = s.db.NewTxn(false), true
	}
	return s.rtxn
}

// dropReadView closes the decisions' snapshot once Badger has new writes.
// Called with mu held.
func (s *Badger) dropReadView() {
	if s.rtxnOK {
		s.rtxn.Discard()
		s.rtxn, s.rtxnOK = storage.Txn{}, false
	}
}

// setPending records in the overlay that batch b writes val (nil: removes
// the record) under rk. Called with mu held.
func (s *Badger) setPending(b *batch, rk, val []byte) {
	k := string(rk)
	s.overlay[k] = pending{val: val, b: b}
	b.keys = append(b.keys, k)
}

// enqueue adds one operation's writes, which must commit together, to the
// last queued batch, or to a new one when there is none or it is full, and
// wakes the committer. ch, when not nil, is published once they commit.
// Called with mu held.
func (s *Badger) enqueue(ops []wop, ch *Change) (*batch, error) {
	count, size := int64(len(ops))+1, int64(metaCost)
	for _, o := range ops {
		size += int64(len(o.key)+len(o.val)) + entryOverhead
	}
	if count > s.maxCount || size > s.maxSize {
		return nil, fmt.Errorf("%w: %d writes of %d bytes, the limit is %d writes of %d bytes",
			storage.ErrTxnTooBig, count, size, s.maxCount, s.maxSize)
	}
	var b *batch
	if n := len(s.queue); n > 0 {
		b = s.queue[n-1]
	}
	if b == nil || b.count+count-1 > s.maxCount || b.size+size-metaCost > s.maxSize {
		b = &batch{done: make(chan struct{}), count: 1, size: metaCost}
		s.queue = append(s.queue, b)
	}
	b.ops = append(b.ops, ops...)
	b.count += count - 1
	b.size += size - metaCost
	if ch != nil {
		b.changes = append(b.changes, *ch)
		s.queuedWrites++
	} else {
		s.otherQueued = true
	}
	s.tail = b
	// While the committer gathers, only the write it waits for wakes it;
	// other work (StartedAt, Expire) never waits for writers.
	if s.gatherFor == 0 || s.queuedWrites >= s.gatherFor || ch == nil {
		select {
		case s.kick <- struct{}{}:
		default: // the committer is already due to look
		}
	}
	return b, nil
}

// runCommits is the committer: it commits the queued batches in order
// until Close, which stops it once no operation is under way.
func (s *Badger) runCommits() {
	defer close(s.commitDone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-s.kick:
			s.gather(timer)
			s.commitQueued()
		case <-s.stopCommit:
			s.commitQueued()
			return
		}
	}
}

// maxGather bounds how long the committer waits for writers to join a
// group commit.
const maxGather = 2 * time.Millisecond

// gather waits, before a round of commits, for the writers the previous
// round answered to queue their next writes, for at most half as long as
// that round took (and maxGather). Without it, writers answered by one
// commit queue while the next is already under way, and a fixed set of
// concurrent writers settles into two halves taking turns, one sync each:
// waiting a fraction of a sync for the other half to come back halves the
// syncs, commits and wake-ups per write. One writer, or writers that all
// queued already, never wait; neither do StartedAt and Expire (enqueue
// wakes the committer for them).
func (s *Badger) gather(timer *time.Timer) {
	s.mu.Lock()
	want := s.queuedWrites + s.lastWrites
	wait := min(s.lastRound/2, maxGather)
	if s.lastWrites <= 1 || s.queuedWrites == 0 || s.otherQueued || wait <= 0 {
		s.mu.Unlock()
		return
	}
	// A kick sent before now is for writes already counted; from here
	// enqueue kicks only for the write that completes the group, or for
	// other work.
	select {
	case <-s.kick:
	default:
	}
	s.gatherFor = want
	s.mu.Unlock()
	timer.Reset(wait)
	select {
	case <-s.kick:
	case <-timer.C:
	}
	timer.Stop()
	s.mu.Lock()
	s.gatherFor = 0
	s.mu.Unlock()
}

// commitQueued takes every queued batch and commits them in order.
func (s *Badger) commitQueued() {
	s.mu.Lock()
	q := s.queue
	s.queue = nil
	s.queuedWrites, s.otherQueued = 0, false
	s.mu.Unlock()
	if len(q) == 0 {
		return // a kick for writes an earlier round took
	}
	start := time.Now()
	n := 0
	for _, b := range q {
		s.commit(b)
		n += len(b.changes)
	}
	s.mu.Lock()
	s.lastWrites, s.lastRound = n, time.Since(start)
	s.mu.Unlock()
}

// commit writes b in one Badger transaction (synced unless UnsafeNoFsync),
// drops its rows from the overlay (Badger serves them from now on),
// publishes its changes and answers its writers. After a failed commit the
// store refuses writes: later batches were decided on top of this one,
// and after a failed sync the state of the files is unknown.
func (s *Badger) commit(b *batch) {
	s.mu.Lock()
	err := s.failed
	s.mu.Unlock()
	if err == nil {
		err = s.write(b)
		s.commits.Add(1)
	}
	s.mu.Lock()
	if err != nil && s.failed == nil {
		s.failed = fmt.Errorf("a commit failed, the store takes no more writes until it is reopened: %w", err)
	}
	// The next snapshot is taken now, between commits: a decision taking
	// it during the next commit would wait for that commit to be synced
	// (a new transaction waits for commits under way), holding the commit
	// mutex, so no write could be decided while the group commits.
	s.dropReadView()
	if s.failed == nil {
		s.readView()
	}
	for _, k := range b.keys {
		if s.overlay[k].b == b {
			delete(s.overlay, k)
		}
	}
	s.mu.Unlock()
	b.err = err
	if err == nil {
		for _, ch := range b.changes {
			for _, l := range *s.listeners.Load() {
				l.fn(ch)
			}
		}
	}
	close(b.done)
}

// write commits b's operations in one Badger transaction. A later write of
// a key in the same transaction replaces an earlier one, as it would in
// separate ones.
func (s *Badger) write(b *batch) error {
	txn := s.db.NewTxn(true)
	defer txn.Discard()
	for _, o := range b.ops {
		var err error
		if o.del {
			err = txn.Delete(o.key)
		} else {
			err = txn.Set(o.key, o.val)
		}
		if err != nil {
			return err
		}
	}
	if b.hasMeta {
		if err := txn.Set(metaKey, b.meta.value()); err != nil {
			return err
		}
	}
	return txn.Commit()
}

// StartedAt returns the watermark W = max(now, last assigned, previous
// watermarks) and raises the commit clock's floor to W, so every write
// committing afterwards is stamped >= W while none committed before is
// stamped > W. It returns once every write decided before it is committed
// (so a read that follows sees them all) and the raised floor is durable.
func (s *Badger) StartedAt(ctx context.Context) (int64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	defer s.ops.Done()
	w, b, err := s.raiseFloor()
	if err != nil {
		return 0, fmt.Errorf("store: started at: %w", err)
	}
	if b != nil {
		if err := b.wait(); err != nil {
			return 0, fmt.Errorf("store: started at: commit: %w", err)
		}
	}
	return w, nil
}

// raiseFloor is StartedAt's decision under the commit mutex: it returns
// the watermark and the batch to wait for (nil when none was ever queued).
func (s *Badger) raiseFloor() (int64, *batch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return 0, nil, s.failed
	}
	w := max(s.now().UnixMilli(), s.last, s.floor)
	s.floor = w
	if w > s.reserved {
		reserved := w + floorReserve
		b, err := s.enqueue(nil, nil)
		if err != nil {
			return 0, nil, fmt.Errorf("persist floor: %w", err)
		}
		b.setMeta(s.seq, s.last, reserved)
		s.reserved = reserved
	}
	return w, s.tail, nil
}

// Scan reads model's records in key order, tombstones included, after
// cursor (nil: from the start), at most limit (> 0) of them. Next is nil
// exactly when no record follows.
func (s *Badger) Scan(ctx context.Context, model string, cursor []byte, limit int) (Page, error) {
	var page Page
	next, err := s.readRecords(ctx, "scan", model, cursor, limit, func(rec Record, _ int64) {
		if page.Records == nil {
			// Sized for a full page, up to a sync page of 1,000: grown
			// record by record, it would copy itself a dozen times.
			page.Records = make([]Record, 0, min(limit, 1000))
		}
		page.Records = append(page.Records, rec)
	})
	if err != nil {
		return Page{}, err
	}
	page.Next = next
	return page, nil
}

// Changes reads model's change log for since <= LastChangedAt < until in
// commit order, skipping every change that a later change of the same key
// before until supersedes. Next is nil exactly when no further change is
// to be returned; a cursor only resumes the same (model, since, until).
func (s *Badger) Changes(ctx context.Context, model string, since, until int64, cursor []byte, limit int) (Page, error) {
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
	prefix := modelPrefix(nsLog, model)
	start := appendI64(bytes.Clone(prefix), since)
	if cursor != nil {
		k, err := changesCursor(model, since, until, cursor)
		if err != nil {
			return Page{}, err
		}
		start = append(bytes.Clone(k), 0)
	}
	end := appendI64(bytes.Clone(prefix), until)

	txn := s.db.NewTxn(false)
	defer txn.Discard()
	it := txn.Iterate(storage.IterOptions{Prefix: prefix})
	defer it.Close()
	kit := txn.Iterate(storage.IterOptions{Prefix: modelPrefix(nsKeyLog, model)})
	defer kit.Close()

	var page Page
	items := newItemReader()
	var last []byte
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		k := it.Key()
		if bytes.Compare(k, end) >= 0 {
			break
		}
		if len(k) < len(prefix)+16 {
			return Page{}, fmt.Errorf("store: changes %s: %w: short log key", model, errCorruptRow)
		}
		lca := readI64(k[len(prefix):])
		seq := binary.BigEndian.Uint64(k[len(prefix)+8:])
		pk := k[len(prefix)+16:]

		// A later change of this key before until supersedes this one.
		kp := keyLogPrefix(model, pk)
		kit.Seek(append(keyLogKey(model, pk, lca, seq), 0))
		if kit.ValidForPrefix(kp) {
			if later := kit.Key(); len(later) >= len(kp)+8 && readI64(later[len(kp):]) < until {
				last = it.KeyCopy(last)
				continue
			}
		}
		if len(page.Records) == limit {
			page.Next = makeChangesCursor(since, until, last)
			break
		}
		var rec Record
		err := it.Value(func(v []byte) error {
			r, err := decodeRow(v)
			if err != nil {
				return err
			}
			rec, err = r.recordWith(model, items)
			return err
		})
		if err != nil {
			return Page{}, fmt.Errorf("store: changes %s: %w", model, err)
		}
		page.Records = append(page.Records, rec)
		last = it.KeyCopy(last)
	}
	return page, nil
}

// Feed calls fn with every change committed from now until ctx ends or the
// store closes, in commit order, once it is durable (before its writer is
// answered), on the committer goroutine: fn must return quickly, must not
// call Mutate, StartedAt or Expire (they wait for the committer), and must
// not modify the change's Item, which every listener and the writer share.
func (s *Badger) Feed(ctx context.Context, fn func(Change)) {
	if ctx.Err() != nil {
		return
	}
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return
	}
	l := &listener{fn: fn}
	s.feedMu.Lock()
	s.setListeners(append(cloneListeners(*s.listeners.Load()), l))
	// Set stop before AfterFunc can fire: removal needs the lock we hold.
	l.stop = context.AfterFunc(ctx, func() { s.removeListener(l) })
	s.feedMu.Unlock()
}

func cloneListeners(ls []*listener) []*listener {
	return append(make([]*listener, 0, len(ls)+1), ls...)
}

func (s *Badger) setListeners(ls []*listener) { s.listeners.Store(&ls) }

func (s *Badger) removeListener(l *listener) {
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	old := *s.listeners.Load()
	ls := make([]*listener, 0, len(old))
	for _, o := range old {
		if o != l {
			ls = append(ls, o)
		}
	}
	s.setListeners(ls)
}

// Expire removes tombstones BaseTTL after their deletion and change-log
// entries DeltaTTL after their commit, as of Options.Now, in transactions
// of a bounded size, and reports how many it removed. It reads only the
// expiry index, never the live data.
func (s *Badger) Expire(ctx context.Context) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	defer s.ops.Done()
	s.expMu.Lock()
	defer s.expMu.Unlock()
	now := s.now().UnixMilli()
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, more, b, err := s.expireBatch(now)
		if err == nil && b != nil {
			err = b.wait()
		}
		if err != nil {
			return total, fmt.Errorf("store: expire: %w", err)
		}
		total += n
		if !more {
			return total, nil
		}
	}
}

// expireBatch queues the removal of up to expireBatch expired entries as
// one unit, under the commit mutex so it never races a write of the same
// record; the caller waits for the returned batch (nil: nothing was due).
// Tombstones are found through the expiry index; change-log entries by
// their commit time, which leads every model's log keys.
func (s *Badger) expireBatch(now int64) (removed int, more bool, b *batch, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return 0, false, nil, s.failed
	}
	txn := s.db.NewTxn(false)
	defer txn.Discard()

	var ops []wop
	var gone [][]byte // record keys removed
	due, err := dueExpiries(txn, now)
	if err != nil {
		return 0, false, nil, err
	}
	var legacy map[string]bool // log keys removed through old expiry entries
	for _, e := range due {
		ops = append(ops, wop{key: e.key, del: true})
		switch e.key[9] {
		case expLog:
			// Written by earlier versions, which indexed log entries here.
			n, w := binary.Uvarint(e.val)
			if w <= 0 || uint64(len(e.val)-w) < n {
				continue // unreadable: drop the expiry entry alone
			}
			lk, kk := e.val[w:w+int(n)], e.val[w+int(n):]
			ops = append(ops, wop{key: lk, del: true}, wop{key: kk, del: true})
			if _, err := txn.Get(lk); err == nil && !legacy[string(lk)] {
				if legacy == nil {
					legacy = map[string]bool{}
				}
				legacy[string(lk)] = true
				removed++
			}
		case expTombstone:
			rk := e.key[10:]
			r, found, err := s.currentRow(rk)
			if err != nil || !found {
				// Unreadable or gone: the record row keeps its own expiry.
				continue
			}
			// Only remove the tombstone this entry was made for: a write
			// since (committed or still committing) replaced it.
			if r.deleted && r.expireAt == readI64(e.key[1:]) {
				ixOps, err := s.indexDeletesFor(rk, r)
				if err != nil {
					return 0, false, nil, err
				}
				ops = append(ops, wop{key: rk, del: true})
				ops = append(ops, ixOps...)
				gone = append(gone, rk)
				removed++
			}
		}
	}
	n := len(due)
	if n < expireBatch {
		logOps, err := dueLogEntries(txn, now-s.deltaTTL, expireBatch-n, legacy)
		if err != nil {
			return 0, false, nil, err
		}
		ops = append(ops, logOps...)
		removed += len(logOps) / 2
		n += len(logOps) / 2
	}
	if len(ops) == 0 {
		return 0, false, nil, nil
	}
	b, err = s.enqueue(ops, nil)
	if err != nil {
		return 0, false, nil, err
	}
	for _, rk := range gone {
		s.setPending(b, rk, nil)
	}
	return removed, n == expireBatch, b, nil
}

// kv is a copied Badger entry.
type kv struct{ key, val []byte }

// dueExpiries reads up to expireBatch entries of the expiry index due at
// now.
func dueExpiries(txn storage.Txn, now int64) ([]kv, error) {
	var due []kv
	prefix := []byte{nsExpiry}
	it := txn.Iterate(storage.IterOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix) && len(due) < expireBatch; it.Next() {
		k := it.Key()
		if len(k) < 10 || readI64(k[1:]) > now {
			break
		}
		v, err := it.ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		due = append(due, kv{it.KeyCopy(nil), v})
	}
	return due, nil
}

// dueLogEntries returns the deletes of up to limit change-log entries (and
// their per-key index entries) committed at or before cutoff, skipping
// those in skip. Each model's log is in commit-time order, so the walk
// reads the due entries at the head of each and seeks past the rest.
func dueLogEntries(txn storage.Txn, cutoff int64, limit int, skip map[string]bool) ([]wop, error) {
	prefix := []byte{nsLog}
	it := txn.Iterate(storage.IterOptions{Prefix: prefix})
	defer it.Close()
	var ops []wop
	for it.Seek(prefix); it.ValidForPrefix(prefix) && len(ops) < 2*limit; {
		k := it.Key()
		_, rest, ok := storage.SplitComponent(k[1:])
		if !ok || len(rest) < 16 {
			it.Next() // not a log key this version wrote: leave it
			continue
		}
		mc := k[1 : len(k)-len(rest)] // the model's component
		if readI64(rest) > cutoff {
			// The rest of this model's log is newer: on to the next model.
			it.Seek(storage.Successor(k[:len(k)-len(rest)]))
			continue
		}
		if !skip[string(k)] {
			lk := it.KeyCopy(nil)
			pk := rest[16:]
			kk := make([]byte, 0, 1+len(mc)+len(pk)+1+16)
			kk = append(append(append(kk, nsKeyLog), mc...), pk...)
			kk = append(append(kk, keyLogSep), rest[:16]...)
			ops = append(ops, wop{key: lk, del: true}, wop{key: kk, del: true})
		}
		it.Next()
	}
	return ops, nil
}

// runExpiry runs Expire every interval until ctx (cancelled by Close) ends.
func (s *Badger) runExpiry(ctx context.Context, interval time.Duration) {
	defer close(s.expiryDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.Expire(ctx); err != nil && !errors.Is(err, ErrClosed) && ctx.Err() == nil {
			slog.Default().Warn("store: background expiry failed", "err", err)
		}
	}
}

// Close stops the background expiry, waits for operations under way,
// unregisters every feed listener and closes Badger. Later operations
// return ErrClosed. It is idempotent.
func (s *Badger) Close() error {
	s.closeOnce.Do(func() {
		s.life.Lock()
		s.closed = true
		s.life.Unlock()
		s.stopExpiry()
		<-s.expiryDone
		s.ops.Wait()
		// Every writer has its answer, so nothing is left to commit.
		close(s.stopCommit)
		<-s.commitDone
		s.mu.Lock()
		s.dropReadView()
		s.mu.Unlock()
		s.feedMu.Lock()
		for _, l := range *s.listeners.Load() {
			l.stop()
		}
		s.setListeners(nil)
		s.feedMu.Unlock()
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("store: close: %w", err)
		}
	})
	return s.closeErr
}
