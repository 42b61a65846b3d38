// Package datastore is the runtime behind generated dsgen packages: the
// DataStore lifecycle, typed repositories over a schema-driven storage
// engine on Badger, queries, relations and observation.
//
// Generated code wraps the generic types here (Repo, Query) in small typed
// methods; users rarely import this package except for options, errors and
// the Change and Snapshot types.
//
// # Semantics
//
// Saves create or update by primary key. A save keeps the createdAt and
// updatedAt fields (or their @model(timestamps) names): createdAt is set on
// create and kept on update, updatedAt is set on every save. Before anything
// is written a save checks required fields, enum values, AWS scalar formats,
// key fields and that belongsTo parents exist, and fails with a
// *ValidationError naming the model, field and reason.
//
// Deletes cascade, as Amplify DataStore does locally: deleting a record also
// deletes its hasMany and hasOne children and many-to-many join rows,
// recursively, in the same transaction when they fit in one; a larger
// delete runs in several, children before their parents (see
// Repo.DeleteKey and PartialDeleteError). belongsTo parents are never
// touched.
//
// A write condition (If) is checked against the stored record in the write's
// transaction. As in Amplify, a save that creates a record ignores its
// condition; a delete of a record that does not exist fails with ErrNotFound.
//
// # Null semantics
//
// Predicates follow Amplify DataStore's local semantics (see package
// predicate): a null field fails eq, gt, ge, lt, le, between, beginsWith,
// contains and in, and passes ne, notContains and notIn. In sort orders a
// null sorts before every value ascending and after every value descending.
// Results with equal sort values are ordered by primary key.
//
// # Concurrency
//
// A Store is safe for concurrent use. Writes are Badger transactions; a
// write that conflicts with a concurrent one is retried (see Store.Batch).
// Observers never slow writers down: events are queued per observer after
// commit (see Repo.Observe).
package datastore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/datastore/internal/migrator"
	"github.com/dsgen/dsgen/runtime/datastore/internal/syncrec"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/storage"
)

// Option configures Open.
type Option func(*config)

type config struct {
	storage        storage.Options
	snapshotCount  int
	snapshotWindow time.Duration
	backlog        int
	now            func() time.Time
	outbox         bool
	onMigrate      func(MigrationProgress)
}

// InMemory keeps all data in memory; nothing is written to dir, which may
// be "" (Open(ctx, schema, "", InMemory())), and everything is lost on
// Close. For tests and caches. Without it an empty dir is refused with
// ErrNoDirectory.
func InMemory() Option { return func(c *config) { c.storage.InMemory = true } }

// EncryptionKey encrypts the store at rest with AES (a key of 16, 24 or 32
// bytes). The same key must be given every time the store is opened.
func EncryptionKey(key []byte) Option {
	return func(c *config) { c.storage.EncryptionKey = key }
}

// MemoryPreset sizes the store's caches and tables for the machine:
// storage.PresetLaptop (the default), storage.PresetDevice or
// storage.PresetServer.
func MemoryPreset(p storage.Preset) Option { return func(c *config) { c.storage.Preset = p } }

// ValueLogGC sets how often the store reclaims space from its value log in
// the background (default 5 minutes); a negative interval turns it off.
func ValueLogGC(interval time.Duration) Option {
	return func(c *config) { c.storage.GCInterval = interval }
}

// Logger receives the storage engine's warnings and errors. By default they
// are discarded.
func Logger(l *slog.Logger) Option { return func(c *config) { c.storage.Logger = l } }

// SnapshotBatch sets how ObserveQuery batches changes into snapshots: a
// snapshot is sent once count changes have arrived or window has passed
// since the first change not yet in a snapshot, whichever is first. The
// default is 1000 changes or 10 ms.
func SnapshotBatch(count int, window time.Duration) Option {
	return func(c *config) { c.snapshotCount, c.snapshotWindow = count, window }
}

// ObserveBacklog sets how many undelivered changes an Observe channel may
// fall behind before the store gives up on it (default 100,000); see
// Repo.Observe.
func ObserveBacklog(n int) Option { return func(c *config) { c.backlog = n } }

// Outbox makes every local write also queue its mutation in the outbox,
// in the same transaction, for the sync engine to send. Records applied
// with SyncStore.ApplyRemote are never queued.
func Outbox() Option { return func(c *config) { c.outbox = true } }

// Clock replaces the clock used for the createdAt and updatedAt timestamps.
// For tests.
func Clock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// Store is an open local DataStore for one schema. It is safe for
// concurrent use.
type Store struct {
	schema *meta.Schema
	cfg    config
	db     *storage.DB
	eng    *engine.Engine
	hub    *hub

	mu      sync.Mutex // guards started, closed and catalog
	started bool
	closed  bool
	// catalog is set once the engine's table and index ids are loaded.
	// They never change afterwards (Clear keeps the catalog), so a restart
	// after Stop or Clear leaves the engine alone while other operations
	// read it.
	catalog bool
	// ready is started && !closed, readable without mu.
	ready atomic.Bool
	done  chan struct{} // closed by Close: observers end
	wg    sync.WaitGroup

	// ops counts the operations using Badger; Close adds closingBias and
	// waits for them (see enter), since Badger panics when used after
	// Close.
	ops     atomic.Int64
	drained chan struct{} // capacity 1: ops fell to closingBias

	// commitMu orders commits with the publication of their changes, so
	// observers see changes in commit order.
	commitMu sync.Mutex
	// linked is what a cascade delete checks at its commit for children
	// saved after it began (see linkLog); written under commitMu.
	linked *linkLog

	// outboxSignal gets a token after each commit that queued a mutation.
	outboxSignal chan struct{}
	// outboxHead is a sequence number no live outbox entry is below:
	// NextMutation seeks to it instead of walking, from the start of the
	// outbox, the delete markers every sent mutation leaves until
	// compaction (which made a drain quadratic). Sequence numbers only
	// grow (Clear keeps the counter), so it never passes a live entry.
	outboxHead atomic.Uint64
	// syncMu guards synced and syncChange: which models have completed a
	// sync, and a channel closed (and replaced) when that changes.
	syncMu     sync.Mutex
	synced     map[string]bool
	syncChange chan struct{}
	// applyMu holds a mutex per model (fixed at Open) that ApplyRemote
	// holds while it applies a page: a page whose records are all new
	// writes them without reading them (see pageScan), so another
	// ApplyRemote of the same model must not commit in between.
	applyMu map[string]*sync.Mutex
	// pageScanned, when set (by tests), runs in ApplyRemote's transaction
	// between pageScan and applying the records: the moment a concurrent
	// write must not slip into unseen.
	pageScanned func()
	// chunkDone, when set (by tests), runs after each transaction of a
	// cascade delete split over several has committed, with how many
	// records it deleted: the moment a crash or error part way leaves.
	chunkDone func(records int)
}

// OutboxSignal returns a channel that receives a token after a local write
// queues a mutation: the sync engine's mutation processor waits on it.
func (y SyncStore) OutboxSignal() <-chan struct{} { return y.s.outboxSignal }

// SetSynced records whether model has completed a sync with the backend;
// ObserveQuery snapshots report it as IsSynced (a store without Outbox is
// local-only and always synced).
func (y SyncStore) SetSynced(model string, synced bool) {
	s := y.s
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced[model] == synced {
		return
	}
	s.synced[model] = synced
	close(s.syncChange)
	s.syncChange = make(chan struct{})
}

// syncState returns whether model is synced and a channel closed when any
// model's state changes.
func (s *Store) syncState(model string) (bool, <-chan struct{}) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	return !s.cfg.outbox || s.synced[model], s.syncChange
}

// Open opens the store for schema in dir, creating it if needed; dir is
// "" for an in-memory store (InMemory), and refused as empty otherwise
// (ErrNoDirectory). It fails
// with ErrLocked when another process has dir open, with ErrEncryptionKey
// when the key does not fit the store, and with ErrCorrupt (a
// *CorruptError naming the file, for errors.As) when a file in dir
// is damaged: dir is then left as it was, and a store that syncs can be
// moved aside and synced again. The store starts
// (catalog, schema check) on first use or with Start.
func Open(ctx context.Context, schema *meta.Schema, dir string, opts ...Option) (*Store, error) {
	if schema == nil {
		return nil, errors.New("datastore: open: nil schema")
	}
	cfg := config{snapshotCount: 1000, snapshotWindow: 10 * time.Millisecond, backlog: 100_000, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.snapshotCount < 1 || cfg.snapshotWindow < 0 || cfg.backlog < 1 {
		return nil, errors.New("datastore: open: SnapshotBatch needs a count of at least 1 and a window of at least 0, ObserveBacklog at least 1")
	}
	if err := checkDir(dir, &cfg); err != nil {
		return nil, err
	}
	eng, err := engine.New(schema, defaultsRecord)
	if err != nil {
		return nil, err
	}
	db, err := storage.Open(ctx, dir, cfg.storage)
	if err != nil {
		return nil, errorf("open: %w", err)
	}
	applyMu := make(map[string]*sync.Mutex, len(schema.Models))
	for _, m := range schema.Models {
		applyMu[m.Name] = new(sync.Mutex)
	}
	return &Store{schema: schema, cfg: cfg, db: db, eng: eng, hub: newHub(), done: make(chan struct{}), drained: make(chan struct{}, 1),
		outboxSignal: make(chan struct{}, 1), linked: newLinkLog(), synced: map[string]bool{}, syncChange: make(chan struct{}), applyMu: applyMu}, nil
}

// Schema returns the schema the store was opened with.
func (s *Store) Schema() *meta.Schema { return s.schema }

// Start brings the store up: it loads the catalog, checks that the stored
// data was written with this schema's shape and creates the system tables.
// Operations start the store on demand, so calling it is optional. Start is
// idempotent.
func (s *Store) Start(ctx context.Context) error { return s.live(ctx) }

// Stop stops background work (sync, when configured). Local data, open
// observers and the files stay; the next operation starts the store again.
// Stop is idempotent.
func (s *Store) Stop(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.started = false
	s.ready.Store(false)
	return nil
}

// Clear deletes every record, index entry and sync state of the store,
// keeping the catalog. Open observers are ended (their channels close), as
// Amplify's clear stops its observers.
func (s *Store) Clear(ctx context.Context, opts ...ClearOption) error {
	if err := s.live(ctx); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	var co clearOptions
	for _, o := range opts {
		o(&co)
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if !co.force {
		var pending bool
		_ = s.db.View(func(txn storage.Txn) error { pending = hasPending(txn); return nil })
		if pending {
			return ErrPendingMutations
		}
	}
	s.hub.closeAll()
	for _, p := range storage.DataPrefixes() {
		if err := s.db.DropPrefix(p); err != nil {
			return errorf("clear: %w", err)
		}
	}
	// The next operation recreates the system rows.
	s.mu.Lock()
	s.started = false
	s.ready.Store(false)
	s.mu.Unlock()
	return nil
}

// ClearOption tunes Clear.
type ClearOption func(*clearOptions)

type clearOptions struct{ force bool }

// Force lets Clear delete mutations that have not reached the backend.
func Force() ClearOption { return func(o *clearOptions) { o.force = true } }

// Close ends every observer, waits for their goroutines and for the
// operations under way, and releases the store's files; operations that
// start later fail with ErrClosed. Close is idempotent. It must not be
// called inside Batch, whose operation it would wait for.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.ready.Store(false)
	s.ops.Add(closingBias)
	close(s.done)
	s.mu.Unlock()
	s.hub.closeAll()
	s.wg.Wait()
	for s.ops.Load() != closingBias {
		<-s.drained
	}
	if err := s.db.Close(); err != nil {
		return errorf("close: %w", err)
	}
	return ctx.Err()
}

// closingBias is added to Store.ops by Close: once it is, enter fails.
const closingBias = -1 << 40

// enter registers an operation that uses Badger, or fails with ErrClosed
// once Close has begun. Each enter that succeeds is paired with an exit.
func (s *Store) enter() error {
	if s.ops.Add(1) < 0 {
		s.exit()
		return ErrClosed
	}
	return nil
}

// exit ends an operation registered by enter, waking Close when it was the
// last one.
func (s *Store) exit() {
	if s.ops.Add(-1) == closingBias {
		select {
		case s.drained <- struct{}{}:
		default:
		}
	}
}

// live makes sure the store can serve an operation, starting it if needed.
func (s *Store) live(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.ready.Load() {
		return nil // the common case, without the lock
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return nil
	}
	if err := s.start(); err != nil {
		return err
	}
	s.started = true
	s.ready.Store(true)
	return nil
}

// Setting keys.
const (
	settingSchemaVersion = "schemaVersion"
	settingLayout        = "layout"
)

// layout is the stored shape of the schema: the fields of every model in
// codec field order. Records can be read back only with the same layout.
func layout(s *meta.Schema) []byte {
	type field struct {
		Name, Type string
		List       bool `json:",omitempty"`
	}
	shape := map[string][]field{}
	for _, m := range s.Models {
		fs := []field{}
		for _, f := range m.Fields {
			fs = append(fs, field{f.Name, f.Type, f.IsList})
		}
		shape[m.Name] = fs
	}
	for _, n := range s.NonModels {
		fs := []field{}
		for _, f := range n.Fields {
			fs = append(fs, field{f.Name, f.Type, f.IsList})
		}
		shape["nonModel:"+n.Name] = fs
	}
	b, _ := json.Marshal(shape) // maps marshal sorted: deterministic
	return b
}

// start migrates the store when the schema has migrations it has not had
// (see migrate.go), loads the catalog and checks the schema. It runs with
// s.mu held.
func (s *Store) start() error {
	var pending *migrator.State
	err := s.db.View(func(txn storage.Txn) error {
		var err error
		pending, err = s.pendingMigration(txn)
		return err
	})
	if err != nil {
		return errorf("start: %w", err)
	}
	if pending != nil {
		if err := s.migrate(pending); err != nil {
			return err
		}
	}
	err = s.db.Update(func(txn storage.Txn) error {
		want := layout(s.schema)
		have, err := engine.Get(txn, storage.SettingKey(settingLayout))
		if err != nil {
			return err
		}
		if pending == nil && have != nil && string(have) != string(want) {
			empty, err := noRecords(txn)
			if err != nil {
				return err
			}
			if !empty {
				version, _ := engine.Get(txn, storage.SettingKey(settingSchemaVersion))
				return errorf("start: store written with schema version %s, generated code has %s and no migration between them (run dsgen migrate, then dsgen generate): %w", version, s.schema.Version, ErrSchemaChanged)
			}
		}
		if err := txn.Set(storage.SettingKey(settingLayout), want); err != nil {
			return err
		}
		if err := txn.Set(storage.SettingKey(settingSchemaVersion), []byte(s.schema.Version)); err != nil {
			return err
		}
		if err := txn.Set(migrator.NumberKey, []byte(strconv.Itoa(s.schema.Migration))); err != nil {
			return err
		}
		if !s.catalog {
			if err := s.eng.LoadCatalog(txn); err != nil {
				return err
			}
		}
		return createModelMetadata(txn, s.schema)
	})
	if err != nil {
		return errorf("start: %w", err)
	}
	s.catalog = true
	return s.buildNewIndexes()
}

// pendingMigration returns the migration the store needs before use: one
// a previous run left part way, or one from the store's migration number to
// the schema's. It refuses a store migrated further than the schema.
func (s *Store) pendingMigration(txn storage.Txn) (*migrator.State, error) {
	b, err := engine.Get(txn, migrator.StateKey)
	if err != nil {
		return nil, err
	}
	if b != nil {
		st := &migrator.State{}
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("the state of the migration under way is damaged: %w", err)
		}
		return st, nil
	}
	lay, err := engine.Get(txn, storage.SettingKey(settingLayout))
	if err != nil || lay == nil {
		return nil, err // a new store starts at the schema's migration
	}
	stored := 0
	if b, err = engine.Get(txn, migrator.NumberKey); err != nil {
		return nil, err
	}
	if b != nil {
		if stored, err = strconv.Atoi(string(b)); err != nil {
			return nil, fmt.Errorf("the store's migration number %q is damaged", b)
		}
	}
	switch {
	case stored > s.schema.Migration:
		version, _ := engine.Get(txn, storage.SettingKey(settingSchemaVersion))
		return nil, fmt.Errorf("the store is at migration %d (schema version %s), this code's schema at migration %d (version %s): open it with an app built from the newer schema: %w",
			stored, version, s.schema.Migration, s.schema.Version, ErrStoreNewer)
	case stored < s.schema.Migration:
		return &migrator.State{From: stored, To: s.schema.Migration}, nil
	}
	return nil, nil
}

func noRecords(txn storage.Txn) (bool, error) {
	it := txn.Iterate(storage.IterOptions{Prefix: storage.RecordPrefix(0)[:1]})
	defer it.Close()
	it.Rewind()
	return !it.Valid(), nil
}

// ModelMetadata is the sync state of one model, kept in the system table
// the sync engine reads (Amplify's ModelMetadata): the last sync, the last
// full sync, its predicate, and a sync under way.
type ModelMetadata = syncrec.ModelMetadata

// SetModelMetadata stores the sync state of a model.
func (y SyncStore) SetModelMetadata(ctx context.Context, md ModelMetadata) error {
	s := y.s
	if err := s.live(ctx); err != nil {
		return err
	}
	if s.eng.Tables[md.Model] == nil {
		return errorf("no model %q: %w", md.Model, ErrNotFound)
	}
	b, err := json.Marshal(md)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *Txn) error { return tx.btx.Set(storage.ModelMetaKey(md.Model), b) })
}

// createModelMetadata adds the sync state row of every model that lacks one.
func createModelMetadata(txn storage.Txn, s *meta.Schema) error {
	for _, m := range s.Models {
		key := storage.ModelMetaKey(m.Name)
		have, err := engine.Get(txn, key)
		if err != nil {
			return err
		}
		if have != nil {
			continue
		}
		b, _ := json.Marshal(ModelMetadata{Model: m.Name})
		if err := txn.Set(key, b); err != nil {
			return err
		}
	}
	return nil
}

// ModelMetadata returns the sync state of model.
func (s *Store) ModelMetadata(ctx context.Context, model string) (ModelMetadata, error) {
	var md ModelMetadata
	if err := s.live(ctx); err != nil {
		return md, err
	}
	if err := s.enter(); err != nil {
		return md, err
	}
	defer s.exit()
	err := s.db.View(func(txn storage.Txn) error {
		b, err := engine.Get(txn, storage.ModelMetaKey(model))
		if err != nil {
			return err
		}
		if b == nil {
			return errorf("no model %q: %w", model, ErrNotFound)
		}
		return json.Unmarshal(b, &md)
	})
	return md, err
}

// buildNewIndexes fills indexes that have no entries while their table has
// records: indexes added to the schema since the data was written.
func (s *Store) buildNewIndexes() error {
	bdb := s.db
	for _, m := range s.schema.Models {
		t := s.eng.Tables[m.Name]
		for _, ix := range t.Indexes {
			var need bool
			err := bdb.View(func(txn storage.Txn) error {
				need = hasPrefix(txn, t.Prefix) && !hasPrefix(txn, ix.Prefix)
				return nil
			})
			if err != nil || !need {
				continue
			}
			wb := bdb.NewWriteBatch()
			err = bdb.View(func(txn storage.Txn) error {
				it := txn.Iterate(storage.IterOptions{Prefix: t.Prefix})
				defer it.Close()
				for it.Rewind(); it.Valid(); it.Next() {
					data, err := it.ValueCopy(nil)
					if err != nil {
						return err
					}
					r, err := t.Project(data)
					if err != nil {
						return err
					}
					if err := wb.Set(t.IndexKey(ix, r), nil); err != nil {
						return err
					}
				}
				return nil
			})
			if err == nil {
				err = wb.Flush()
			} else {
				wb.Cancel()
			}
			if err != nil {
				return errorf("start: building index %s of %s: %w", ix.Name, m.Name, err)
			}
		}
	}
	return nil
}

func hasPrefix(txn storage.Txn, p []byte) bool {
	it := txn.Iterate(storage.IterOptions{Prefix: p})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

// Txn is a transaction of Store.Batch. Repositories bound to it read their
// own writes, and their writes commit together.
type Txn struct {
	store  *Store
	btx    storage.Txn
	events []event
	// since is the store's linkLog position when the transaction began.
	since uint64
	// parents holds the linkLog hashes of the parents that the saves of
	// the transaction checked; doomed those of the records with children
	// it deleted.
	parents []uint64
	doomed  map[uint64]bool
	// enqueued is set when the transaction queued a mutation.
	enqueued bool
	// conds holds the GraphQL conditions of conditional deletes under way,
	// by record key, for their outbox entries.
	conds map[string]map[string]any
}

// Store returns the store the transaction belongs to.
func (t *Txn) Store() *Store { return t.store }

// Batch runs fn in one atomic transaction: all of its writes happen, or
// none do (when fn returns an error, or a write fails). Repositories bound
// to the Txn (the generated Tx) see the transaction's own writes.
//
// When the transaction conflicts with a concurrent write to the same
// records, Batch runs fn again on fresh data, up to 64 times, so fn must not
// have effects outside the transaction that cannot be repeated. A batch is
// bounded by Badger's transaction size (storage.ErrTxnTooBig).
func (s *Store) Batch(ctx context.Context, fn func(*Txn) error) error {
	if err := s.live(ctx); err != nil {
		return err
	}
	return s.update(ctx, fn)
}

// update runs fn in a read-write transaction, retrying on conflicts, and
// publishes its changes after commit.
func (s *Store) update(ctx context.Context, fn func(*Txn) error) error {
	return s.updateTxn(ctx, fn, false)
}

// updateFirm is update for a cascade delete. A cascade reads every record
// of a tree and conflicts with any child saved into it meanwhile (see
// linkLog), so children saved without pause could make every attempt
// conflict. After one conflict it runs its attempts holding commitMu from
// the transaction's start to its commit: no commit of this store can then
// come between, so the attempt cannot conflict with one, and other
// writers wait for it instead. fn must not run code that writes through
// the store (a caller's Batch callback could, so Batch never uses this).
func (s *Store) updateFirm(ctx context.Context, fn func(*Txn) error) error {
	return s.updateTxn(ctx, fn, true)
}

func (s *Store) updateTxn(ctx context.Context, fn func(*Txn) error, firm bool) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	exclusive := false
	return storage.RetryConflicts(ctx, func() error {
		if exclusive {
			s.commitMu.Lock()
			defer s.commitMu.Unlock()
		}
		// The position is read before the transaction begins: a commit
		// it cannot see is logged after it.
		t := &Txn{store: s, since: s.linked.pos.Load()}
		t.btx = s.db.NewTxn(true)
		defer t.btx.Discard()
		if err := fn(t); err != nil {
			return err
		}
		if !exclusive {
			s.commitMu.Lock()
			defer s.commitMu.Unlock()
		}
		err := s.linked.check(t)
		if err == nil {
			err = t.btx.Commit()
		}
		if err != nil {
			exclusive = firm && errors.Is(err, storage.ErrConflict)
			return err
		}
		s.linked.add(t.parents)
		s.hub.publish(t.events)
		if t.enqueued {
			select {
			case s.outboxSignal <- struct{}{}:
			default:
			}
		}
		return nil
	})
}

// view runs fn in a read-only transaction, or in t when it is not nil.
func (s *Store) view(t *Txn, fn func(storage.Txn) error) error {
	if t != nil {
		return fn(t.btx)
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	return s.db.View(fn)
}

// linkLog closes the one gap in Badger's conflict detection that the store
// meets: Badger checks the keys a transaction read, not the ranges it
// scanned, so a child saved while a cascade delete of its parent ran was
// neither seen by the delete's scan nor refused by the save's parent
// check, and outlived its parent. Every commit logs a hash of each parent
// its saves checked; a transaction that deleted records with children (a
// cascade) fails with storage.ErrConflict at its commit when a commit it
// could not see logged one of them, and runs again, finding the child. A
// Badger key written by each save would do the same through Badger's own
// check, but made a save about a quarter slower.
//
// The log is a ring of the last linkLogSize hashes: a cascade during
// which more parents were checked, or whose keys share a hash with one,
// runs again rather than risk missing a child.
type linkLog struct {
	seed maphash.Seed
	// pos counts the hashes logged: written under commitMu, read without
	// it when a transaction begins.
	pos    atomic.Uint64
	hashes [linkLogSize]uint64
}

// linkLogSize bounds the log (64 KiB): the parents checked by the commits
// during one cascade attempt.
const linkLogSize = 8192

func newLinkLog() *linkLog { return &linkLog{seed: maphash.MakeSeed()} }

// hash returns the hash of a record key that the log holds.
func (l *linkLog) hash(key []byte) uint64 { return maphash.Bytes(l.seed, key) }

// add logs the hashes of a commit's parents; the caller holds commitMu.
func (l *linkLog) add(parents []uint64) {
	n := l.pos.Load()
	for _, h := range parents {
		n++
		l.hashes[n%linkLogSize] = h
	}
	l.pos.Store(n)
}

// check fails with storage.ErrConflict when t deleted a record with
// children that a commit after t began, and so invisible to it, checked
// as a child's parent; the caller holds commitMu.
func (l *linkLog) check(t *Txn) error {
	if len(t.doomed) == 0 {
		return nil
	}
	now := l.pos.Load()
	if now-t.since > linkLogSize {
		return fmt.Errorf("datastore: delete: more children saved meanwhile than the store tracks: %w", storage.ErrConflict)
	}
	for n := t.since + 1; n <= now; n++ {
		if t.doomed[l.hashes[n%linkLogSize]] {
			return fmt.Errorf("datastore: delete: a child was saved meanwhile: %w", storage.ErrConflict)
		}
	}
	return nil
}
