// Package datastore is the runtime behind generated dsgen packages: the
// DataStore lifecycle, typed repositories over a schema-driven storage
// engine, queries and observation.
//
// Generated code wraps the generic types here (Repo, Query) in small typed
// methods; users rarely import this package except for options, errors and
// the Change and Snapshot types.
//
// Status: this version defines the API that generated code compiles against.
// The storage engine behind it (Badger, indexes, observation) is not wired
// yet: opening a store succeeds, and every operation that needs storage
// returns ErrNotImplemented.
package datastore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/predicate"
)

// ErrNotImplemented is returned by operations whose storage engine is not
// part of this build yet.
var ErrNotImplemented = errors.New("datastore: storage engine not implemented yet")

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("datastore: store is closed")

// ErrNotFound is returned when a record asked for by key does not exist.
var ErrNotFound = errors.New("datastore: record not found")

// ErrConditionFailed is returned when a write's condition predicate does
// not hold for the stored record.
var ErrConditionFailed = errors.New("datastore: condition failed")

// Option configures Open.
type Option func(*config)

type config struct {
	inMemory bool
}

// InMemory keeps all data in memory; nothing is written to dir. For tests.
func InMemory() Option { return func(c *config) { c.inMemory = true } }

// Store is an open local DataStore for one schema. It is safe for
// concurrent use.
type Store struct {
	schema *meta.Schema
	dir    string
	cfg    config

	mu     sync.Mutex
	closed bool
}

// Open opens the store for schema in dir. The store starts on first use or
// with Start.
func Open(ctx context.Context, schema *meta.Schema, dir string, opts ...Option) (*Store, error) {
	if schema == nil {
		return nil, errors.New("datastore: open: nil schema")
	}
	s := &Store{schema: schema, dir: dir}
	for _, o := range opts {
		o(&s.cfg)
	}
	if dir == "" && !s.cfg.inMemory {
		return nil, errors.New("datastore: open: empty directory (use InMemory for a store without one)")
	}
	return s, ctx.Err()
}

// Schema returns the schema the store was opened with.
func (s *Store) Schema() *meta.Schema { return s.schema }

// Start brings the store up: storage, migrations and, when configured,
// sync. Operations start the store on demand, so calling it is optional.
func (s *Store) Start(ctx context.Context) error { return s.live(ctx) }

// Stop stops background work (sync). The store stays open; the next
// operation starts it again.
func (s *Store) Stop(ctx context.Context) error { return ctx.Err() }

// Clear deletes all local data.
func (s *Store) Clear(ctx context.Context) error {
	if err := s.live(ctx); err != nil {
		return err
	}
	return ErrNotImplemented
}

// Close stops the store and releases its files. Close is idempotent.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Batch runs fn in one atomic transaction: all of its writes happen, or
// none do.
func (s *Store) Batch(ctx context.Context, fn func(*Txn) error) error {
	if err := s.live(ctx); err != nil {
		return err
	}
	return ErrNotImplemented
}

// live reports whether the store can serve an operation.
func (s *Store) live(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// Txn is a transaction of Store.Batch. Repositories bound to it write
// atomically.
type Txn struct {
	store *Store
}

// Store returns the store the transaction belongs to.
func (t *Txn) Store() *Store { return t.store }

// Model describes a generated model type to the runtime: its metadata and
// reflection-free access to its fields by GraphQL name.
type Model[T any] struct {
	// Meta is the model's schema metadata.
	Meta *meta.Model
	// Get returns the value of a stored field by GraphQL name; ok is false
	// when the value is null or the field is unknown.
	Get func(v *T, field string) (value any, ok bool)
	// Set assigns a stored field by GraphQL name; nil clears a nullable
	// field. It fails when the value has the wrong type.
	Set func(v *T, field string, value any) error
	// Encode appends v's stored fields to e in the record format of
	// package codec, without reflection.
	Encode func(e *codec.Encoder, v *T)
	// Decode reads a record written by Encode (or by codec's schema-driven
	// encoder) into v. Fields the record lacks are left as they are.
	Decode func(d *codec.Decoder, v *T) error
}

// Key returns the primary key values of v, in key order.
func (m *Model[T]) Key(v *T) []any {
	fields := m.Meta.PrimaryKey.Fields()
	key := make([]any, len(fields))
	for i, f := range fields {
		key[i], _ = m.Get(v, f)
	}
	return key
}

// Repo is the generic repository of one model, bound to a store or to a
// transaction. Generated repositories wrap it with typed methods.
type Repo[T any] struct {
	store *Store
	txn   *Txn
	model *Model[T]
}

// Bind returns the repository of model m on store s, or inside transaction
// t when t is not nil.
func Bind[T any](s *Store, t *Txn, m *Model[T]) *Repo[T] {
	return &Repo[T]{store: s, txn: t, model: m}
}

// Model returns the model description.
func (r *Repo[T]) Model() *Model[T] { return r.model }

// WriteOption adjusts a save or delete.
type WriteOption[T any] struct {
	cond predicate.Predicate[T]
}

// If makes a write conditional: it happens only when p holds for the stored
// record, and fails with ErrConditionFailed otherwise.
func If[T any](p predicate.Predicate[T]) WriteOption[T] { return WriteOption[T]{cond: p} }

// Save creates or updates v. A missing id is generated, and createdAt and
// updatedAt are kept by the store.
func (r *Repo[T]) Save(ctx context.Context, v *T, opts ...WriteOption[T]) error {
	if v == nil {
		return fmt.Errorf("datastore: save %s: nil record", r.model.Meta.Name)
	}
	if err := r.store.live(ctx); err != nil {
		return err
	}
	return ErrNotImplemented
}

// Get returns the record with the given primary key values, or ErrNotFound.
func (r *Repo[T]) Get(ctx context.Context, key ...any) (*T, error) {
	if err := r.checkKey(key); err != nil {
		return nil, err
	}
	if err := r.store.live(ctx); err != nil {
		return nil, err
	}
	return nil, ErrNotImplemented
}

// Delete deletes v (by its primary key), cascading to hasOne and hasMany
// children and join rows.
func (r *Repo[T]) Delete(ctx context.Context, v *T, opts ...WriteOption[T]) error {
	if v == nil {
		return fmt.Errorf("datastore: delete %s: nil record", r.model.Meta.Name)
	}
	return r.DeleteKey(ctx, r.model.Key(v), opts...)
}

// DeleteKey deletes the record with the given primary key values.
func (r *Repo[T]) DeleteKey(ctx context.Context, key []any, opts ...WriteOption[T]) error {
	if err := r.checkKey(key); err != nil {
		return err
	}
	if err := r.store.live(ctx); err != nil {
		return err
	}
	return ErrNotImplemented
}

// DeleteWhere deletes every record matching p and returns how many.
func (r *Repo[T]) DeleteWhere(ctx context.Context, p predicate.Predicate[T]) (int, error) {
	if err := r.store.live(ctx); err != nil {
		return 0, err
	}
	return 0, ErrNotImplemented
}

func (r *Repo[T]) checkKey(key []any) error {
	if want := len(r.model.Meta.PrimaryKey.Fields()); len(key) != want {
		return fmt.Errorf("datastore: %s: key has %d values, want %d (%v)", r.model.Meta.Name, len(key), want, r.model.Meta.PrimaryKey.Fields())
	}
	return nil
}

// Query starts a query over all records of the model.
func (r *Repo[T]) Query() *Query[T] { return &Query[T]{repo: r} }

// Op is the kind of a change.
type Op uint8

// The change operations.
const (
	OpCreate Op = iota + 1
	OpUpdate
	OpDelete
)

// String names the operation as Amplify does (INSERT, UPDATE, DELETE).
func (o Op) String() string {
	switch o {
	case OpCreate:
		return "INSERT"
	case OpUpdate:
		return "UPDATE"
	case OpDelete:
		return "DELETE"
	}
	return "UNKNOWN"
}

// Change is one committed change to a record.
type Change[T any] struct {
	Op      Op
	Element *T
	// FromSync is true when the change came from the sync engine rather
	// than a local write.
	FromSync bool
}

// Snapshot is the state of an observed query.
type Snapshot[T any] struct {
	Items []*T
	// IsSynced is true once the model has synced with the backend; always
	// true in local-only mode.
	IsSynced bool
}

// Observe delivers changes to records matching all of ps until ctx ends,
// then closes the channel.
func (r *Repo[T]) Observe(ctx context.Context, ps ...predicate.Predicate[T]) <-chan Change[T] {
	ch := make(chan Change[T])
	close(ch) // observation is not wired yet: see the package status
	return ch
}

// ObserveQuery delivers a snapshot of q's results, then a new snapshot
// whenever they may have changed, until ctx ends.
func (r *Repo[T]) ObserveQuery(ctx context.Context, q *Query[T]) <-chan Snapshot[T] {
	ch := make(chan Snapshot[T])
	close(ch) // observation is not wired yet: see the package status
	return ch
}

// Query is a query under construction. Methods return the query so calls
// chain; a Query is not safe for concurrent modification.
type Query[T any] struct {
	repo   *Repo[T]
	where  []predicate.Predicate[T]
	orders []predicate.Order[T]
	limit  int
	page   int
}

// Where adds predicates that must all hold.
func (q *Query[T]) Where(ps ...predicate.Predicate[T]) *Query[T] {
	q.where = append(q.where, ps...)
	return q
}

// Order sorts the results by the given orders, first one first.
func (q *Query[T]) Order(os ...predicate.Order[T]) *Query[T] {
	q.orders = append(q.orders, os...)
	return q
}

// Limit caps the number of results (the page size when paging). Zero means
// no limit.
func (q *Query[T]) Limit(n int) *Query[T] {
	q.limit = n
	return q
}

// Page selects the zero-based page of Limit results.
func (q *Query[T]) Page(n int) *Query[T] {
	q.page = n
	return q
}

// Predicate returns the conjunction of the query's predicates.
func (q *Query[T]) Predicate() predicate.Predicate[T] { return predicate.And(q.where...) }

// All returns every matching record.
func (q *Query[T]) All(ctx context.Context) ([]*T, error) {
	if err := q.repo.store.live(ctx); err != nil {
		return nil, err
	}
	return nil, ErrNotImplemented
}

// First returns the first matching record, or ErrNotFound.
func (q *Query[T]) First(ctx context.Context) (*T, error) {
	items, err := q.Limit(1).All(ctx)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, ErrNotFound
	}
	return items[0], nil
}

// Count returns the number of matching records.
func (q *Query[T]) Count(ctx context.Context) (int, error) {
	items, err := q.All(ctx)
	return len(items), err
}
