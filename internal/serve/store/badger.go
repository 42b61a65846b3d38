package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

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
// Every write runs read-decide-write-commit-publish under one commit mutex:
// that makes commit order, the commit clock, the sequence and the feed
// order the same thing with no further coordination. BenchmarkMutate
// measures what it costs against a raw Badger write.
type Badger struct {
	db       *storage.DB
	bdb      *badger.DB
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

	// mu is the commit mutex; it guards the fields below it.
	mu       sync.Mutex
	seq      uint64 // last committed sequence number
	last     int64  // last assigned LastChangedAt
	floor    int64  // highest watermark handed out by StartedAt
	reserved int64  // persisted floor (>= floor), restored on open

	feedMu    sync.Mutex // serialises changes to listeners
	listeners atomic.Pointer[[]*listener]
}

var _ Store = (*Badger)(nil)

// listener is one Feed registration.
type listener struct {
	fn   func(Change)
	stop func() bool // unregisters the context.AfterFunc
}

// Open opens (creating it if needed) the store in opts.Dir, or in memory
// with opts.InMemory, and starts its background expiry, which runs every
// min(DeltaTTL/4, 1 minute) until Close.
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
	db, err := storage.Open(ctx, opts.Dir, storage.Options{InMemory: opts.InMemory})
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	s := &Badger{
		db:         db,
		bdb:        db.Badger(),
		now:        opts.Now,
		baseTTL:    opts.BaseTTL.Milliseconds(),
		deltaTTL:   opts.DeltaTTL.Milliseconds(),
		expiryDone: make(chan struct{}),
	}
	s.listeners.Store(new([]*listener))
	if err := s.loadMeta(); err != nil {
		return nil, errors.Join(err, db.Close())
	}

	interval := min(opts.DeltaTTL/4, maxExpiryInterval)
	interval = max(interval, time.Millisecond)
	expCtx, cancel := context.WithCancel(context.Background())
	s.stopExpiry = cancel
	go s.runExpiry(expCtx, interval)
	return s, nil
}

// loadMeta restores the sequence, the clock and the floor.
func (s *Badger) loadMeta() error {
	return s.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(metaKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: open: read state: %w", err)
		}
		return item.Value(func(v []byte) error {
			if len(v) != 24 {
				return fmt.Errorf("store: open: %w: engine state is %d bytes, want 24", errCorruptRow, len(v))
			}
			s.seq = binary.BigEndian.Uint64(v)
			s.last = readI64(v[8:])
			s.reserved = readI64(v[16:])
			s.floor = s.reserved
			return nil
		})
	})
}

func metaValue(seq uint64, last, reserved int64) []byte {
	v := make([]byte, 0, 24)
	v = binary.BigEndian.AppendUint64(v, seq)
	v = appendI64(v, last)
	return appendI64(v, reserved)
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
	err = s.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(recordKey(model, pk))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			r, err := decodeRow(v)
			if err != nil {
				return err
			}
			rec, err = r.record(model)
			return err
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Record{}, fmt.Errorf("store: get %s %v: %w", model, norm, ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("store: get %s %v: %w", model, norm, err)
	}
	return rec, nil
}

// Mutate reads the record under key, asks fn for the write and commits it
// with the version bump, the change-log entry and the expiry entries in one
// Badger transaction, then publishes it to the feed. fn runs exactly once,
// under the commit mutex, so it must be quick. The returned change holds
// the item as fn returned it; Get and Scan return it decoded from JSON.
func (s *Badger) Mutate(ctx context.Context, model string, key []any, fn MutateFunc) (Change, error) {
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
		return Change{}, fmt.Errorf("store: mutate %s %v: key: %w", model, norm, err)
	}
	rk := recordKey(model, pk)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	txn := s.bdb.NewTransaction(true)
	defer txn.Discard()

	var (
		cur    *Record
		curRow row
	)
	switch item, err := txn.Get(rk); {
	case errors.Is(err, badger.ErrKeyNotFound):
	case err != nil:
		return Change{}, fmt.Errorf("store: mutate %s %v: read: %w", model, norm, err)
	default:
		v, err := item.ValueCopy(nil)
		if err == nil {
			curRow, err = decodeRow(v)
		}
		var rec Record
		if err == nil {
			rec, err = curRow.record(model)
		}
		if err != nil {
			return Change{}, fmt.Errorf("store: mutate %s %v: read: %w", model, norm, err)
		}
		cur = &rec
	}

	item, op, err := fn(cur)
	if err != nil {
		return Change{}, err
	}
	switch op {
	case OpCreate, OpUpdate:
		if item == nil {
			return Change{}, fmt.Errorf("store: mutate %s %v: %s with a nil item", model, norm, op)
		}
	case OpDelete:
		if item == nil {
			item = map[string]any{}
			if cur != nil && cur.Item != nil {
				item = cur.Item
			}
		}
	default:
		return Change{}, fmt.Errorf("store: mutate %s %v: MutateFunc returned unknown op %d", model, norm, op)
	}
	itemJSON, err := json.Marshal(item)
	if err != nil {
		return Change{}, fmt.Errorf("store: mutate %s %v: item: %w", model, norm, err)
	}

	lca := max(s.now().UnixMilli(), s.last, s.floor)
	seq := s.seq + 1
	r := row{op: op, deleted: op == OpDelete, version: 1, lca: lca, seq: seq, key: keyJSON, item: itemJSON}
	if cur != nil {
		r.version = cur.Version + 1
	}
	if cur != nil && curRow.deleted && curRow.expireAt != 0 {
		// The old tombstone is replaced: its expiry entry goes with it.
		if err := txn.Delete(expiryTombstoneKey(curRow.expireAt, rk)); err != nil {
			return Change{}, fmt.Errorf("store: mutate %s %v: %w", model, norm, err)
		}
	}
	if r.deleted {
		r.expireAt = lca + s.baseTTL
	}
	val := r.encode()
	lk := logKey(model, lca, seq, pk)
	kk := keyLogKey(model, pk, lca, seq)
	expVal := binary.AppendUvarint(nil, uint64(len(lk)))
	expVal = append(append(expVal, lk...), kk...)
	writes := [][2][]byte{
		{rk, val},
		{lk, val},
		{kk, nil},
		{expiryLogKey(lca+s.deltaTTL, seq), expVal},
		{metaKey, metaValue(seq, lca, s.reserved)},
	}
	if r.deleted {
		writes = append(writes, [2][]byte{expiryTombstoneKey(r.expireAt, rk), nil})
	}
	for _, w := range writes {
		if err := txn.Set(w[0], w[1]); err != nil {
			return Change{}, fmt.Errorf("store: mutate %s %v: %w", model, norm, err)
		}
	}
	if err := txn.Commit(); err != nil {
		return Change{}, fmt.Errorf("store: mutate %s %v: commit: %w", model, norm, err)
	}
	s.seq, s.last = seq, lca

	ch := Change{Op: op, Seq: seq, Record: Record{
		Model: model, Key: norm, Item: item,
		Version: r.version, LastChangedAt: lca, Deleted: r.deleted,
	}}
	for _, l := range *s.listeners.Load() {
		l.fn(ch)
	}
	return ch, nil
}

// StartedAt returns the watermark W = max(now, last assigned, previous
// watermarks) and raises the commit clock's floor to W, so every write
// committing afterwards is stamped >= W while none committed before is
// stamped > W.
func (s *Badger) StartedAt(ctx context.Context) (int64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	defer s.ops.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	w := max(s.now().UnixMilli(), s.last, s.floor)
	s.floor = w
	if w > s.reserved {
		reserved := w + floorReserve
		err := s.bdb.Update(func(txn *badger.Txn) error {
			return txn.Set(metaKey, metaValue(s.seq, s.last, reserved))
		})
		if err != nil {
			return 0, fmt.Errorf("store: started at: persist floor: %w", err)
		}
		s.reserved = reserved
	}
	return w, nil
}

// Scan reads model's records in key order, tombstones included, after
// cursor (nil: from the start), at most limit (> 0) of them. Next is nil
// exactly when no record follows.
func (s *Badger) Scan(ctx context.Context, model string, cursor []byte, limit int) (Page, error) {
	if err := s.begin(ctx); err != nil {
		return Page{}, err
	}
	defer s.ops.Done()
	if limit <= 0 {
		return Page{}, fmt.Errorf("store: scan %s: limit %d, want > 0", model, limit)
	}
	prefix := modelPrefix(nsRecord, model)
	start := prefix
	if cursor != nil {
		k, err := scanCursor(model, cursor)
		if err != nil {
			return Page{}, err
		}
		start = append(bytes.Clone(k), 0) // the smallest key after k
	}
	txn := s.bdb.NewTransaction(false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()

	var page Page
	var last []byte
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		if len(page.Records) == limit {
			page.Next = sealCursor(cursorScan, last)
			break
		}
		var rec Record
		err := item.Value(func(v []byte) error {
			r, err := decodeRow(v)
			if err != nil {
				return err
			}
			rec, err = r.record(model)
			return err
		})
		if err != nil {
			return Page{}, fmt.Errorf("store: scan %s: %w", model, err)
		}
		page.Records = append(page.Records, rec)
		last = item.KeyCopy(last)
	}
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

	txn := s.bdb.NewTransaction(false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	kit := txn.NewIterator(badger.IteratorOptions{Prefix: modelPrefix(nsKeyLog, model)})
	defer kit.Close()

	var page Page
	var last []byte
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		k := item.Key()
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
			if later := kit.Item().Key(); len(later) >= len(kp)+8 && readI64(later[len(kp):]) < until {
				last = item.KeyCopy(last)
				continue
			}
		}
		if len(page.Records) == limit {
			page.Next = makeChangesCursor(since, until, last)
			break
		}
		var rec Record
		err := item.Value(func(v []byte) error {
			r, err := decodeRow(v)
			if err != nil {
				return err
			}
			rec, err = r.record(model)
			return err
		})
		if err != nil {
			return Page{}, fmt.Errorf("store: changes %s: %w", model, err)
		}
		page.Records = append(page.Records, rec)
		last = item.KeyCopy(last)
	}
	return page, nil
}

// Feed calls fn with every change committed from now until ctx ends or the
// store closes, in commit order, on the committing goroutine (under the
// commit mutex): fn must return quickly, must not call Mutate, StartedAt
// or Expire (they wait for that mutex), and must not modify the change's Item, which every listener and the
// writer share.
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
	now := s.now().UnixMilli()
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, more, err := s.expireBatch(now)
		total += n
		if err != nil {
			return total, fmt.Errorf("store: expire: %w", err)
		}
		if !more {
			return total, nil
		}
	}
}

// expireBatch removes up to expireBatch expired entries in one transaction,
// under the commit mutex so it never races a write of the same record.
func (s *Badger) expireBatch(now int64) (removed int, more bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	txn := s.bdb.NewTransaction(true)
	defer txn.Discard()

	type entry struct{ key, val []byte }
	var due []entry
	prefix := []byte{nsExpiry}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	for it.Seek(prefix); it.ValidForPrefix(prefix) && len(due) < expireBatch; it.Next() {
		item := it.Item()
		k := item.Key()
		if len(k) < 10 || readI64(k[1:]) > now {
			break
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			it.Close()
			return 0, false, err
		}
		due = append(due, entry{item.KeyCopy(nil), v})
	}
	it.Close()

	for _, e := range due {
		if err := txn.Delete(e.key); err != nil {
			return 0, false, err
		}
		switch e.key[9] {
		case expLog:
			n, w := binary.Uvarint(e.val)
			if w <= 0 || uint64(len(e.val)-w) < n {
				continue // unreadable: drop the expiry entry alone
			}
			lk, kk := e.val[w:w+int(n)], e.val[w+int(n):]
			if err := txn.Delete(lk); err != nil {
				return 0, false, err
			}
			if err := txn.Delete(kk); err != nil {
				return 0, false, err
			}
			removed++
		case expTombstone:
			rk := e.key[10:]
			item, err := txn.Get(rk)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return 0, false, err
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return 0, false, err
			}
			// The record row keeps its expiry; only remove the tombstone
			// this entry was made for.
			if r, err := decodeRow(v); err == nil && r.deleted && r.expireAt == readI64(e.key[1:]) {
				if err := txn.Delete(rk); err != nil {
					return 0, false, err
				}
				removed++
			}
		}
	}
	if len(due) == 0 {
		return 0, false, nil
	}
	if err := txn.Commit(); err != nil {
		return 0, false, err
	}
	return removed, len(due) == expireBatch, nil
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
