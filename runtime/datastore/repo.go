package datastore

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/scalar"
	"github.com/dsgen/dsgen/runtime/storage"
)

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
	table *engine.Table
}

// Bind returns the repository of model m on store s, or inside transaction
// t when t is not nil.
func Bind[T any](s *Store, t *Txn, m *Model[T]) *Repo[T] {
	if t == nil {
		register(s, m)
	}
	return &Repo[T]{store: s, txn: t, model: m, table: s.eng.Tables[m.Meta.Name]}
}

// Model returns the model description.
func (r *Repo[T]) Model() *Model[T] { return r.model }

// Store returns the store the repository writes to: the sync engine's
// entry point (Store.Sync).
func (r *Repo[T]) Store() *Store { return r.store }

// WriteOption adjusts a save or delete.
type WriteOption[T any] struct {
	cond predicate.Predicate[T]
}

// If makes a write conditional: it happens only when p holds for the stored
// record, and fails with ErrConditionFailed otherwise. A save that creates a
// record ignores the condition, as Amplify DataStore does.
func If[T any](p predicate.Predicate[T]) WriteOption[T] { return WriteOption[T]{cond: p} }

func condition[T any](opts []WriteOption[T]) predicate.Predicate[T] {
	ps := make([]predicate.Predicate[T], len(opts))
	for i, o := range opts {
		ps[i] = o.cond
	}
	return predicate.And(ps...)
}

// begin checks that the repository can serve an operation.
func (r *Repo[T]) begin(ctx context.Context) error {
	if r.table == nil {
		return errorf("model %s is not in the store's schema", r.model.Meta.Name)
	}
	if r.txn != nil {
		return ctx.Err()
	}
	return r.store.live(ctx)
}

// write runs fn in the repository's transaction, or in a new one.
func (r *Repo[T]) write(ctx context.Context, fn func(*Txn) error) error {
	if r.txn != nil {
		return fn(r.txn)
	}
	return r.store.update(ctx, fn)
}

// Save creates or updates v. A missing id is generated, null fields with a
// @default get it, and createdAt and updatedAt are kept by the store. The
// record is validated before anything is written; see ValidationError.
func (r *Repo[T]) Save(ctx context.Context, v *T, opts ...WriteOption[T]) error {
	if v == nil {
		return errorf("save %s: nil record", r.model.Meta.Name)
	}
	if err := r.begin(ctx); err != nil {
		return err
	}
	if err := r.prepare(v); err != nil {
		return err
	}
	cond := condition(opts)
	return r.write(ctx, func(tx *Txn) error { return r.save(tx, v, cond, false) })
}

// save writes v in tx. fromSync marks changes applied by the sync engine.
func (r *Repo[T]) save(tx *Txn, v *T, cond predicate.Predicate[T], fromSync bool) error {
	t := r.table
	key, err := r.recordKey(r.model.Key(v))
	if err != nil {
		return err
	}
	old, err := engine.Get(tx.btx, key)
	if err != nil {
		return err
	}
	if old != nil && cond.Expr().Kind != predicate.KindTrue {
		stored, err := r.decode(old)
		if err != nil {
			return err
		}
		if !cond.Match(stored) {
			return errorf("save %s %s: %w (%s)", t.Model.Name, keyString(r.model.Key(v)), ErrConditionFailed, cond)
		}
	}
	if err := r.stamp(v, old); err != nil {
		return err
	}
	var e codec.Encoder
	e.Reset(make([]byte, 0, 128))
	r.model.Encode(&e, v)
	data := e.Bytes()
	row, err := t.Project(data)
	if err != nil {
		return err
	}
	if !fromSync {
		for _, l := range t.Parents {
			if err := r.checkParent(tx, l, row); err != nil {
				return err
			}
		}
	}
	if err := t.WriteRecord(tx.btx, key, data, row, old); err != nil {
		return errorf("save %s: %w", t.Model.Name, err)
	}
	op := OpCreate
	if old != nil {
		op = OpUpdate
	}
	if tx.store.cfg.outbox && !fromSync {
		mop := MutationCreate
		if old != nil {
			mop = MutationUpdate
		}
		var c map[string]any
		if e := cond.Expr(); e.Kind != predicate.KindTrue {
			c = e.GraphQLFilter()
			if err := checkConditionInts(t.Model, c); err != nil && old != nil {
				return err // a create's condition is not sent
			}
		}
		if err := tx.enqueue(t, mop, key, data, old, c); err != nil {
			return errorf("save %s: outbox: %w", t.Model.Name, err)
		}
	}
	tx.events = append(tx.events, event{table: t, op: op, key: key, data: data, fromSync: fromSync})
	return nil
}

// stamp sets the timestamps of v before it is written over old (nil for a
// new record), each in its field's own type (AWSDateTime, AWSDate, AWSTime,
// AWSTimestamp or String). Timestamps the schema does not declare are the
// store's alone: createdAt is the stored one (now for a new record),
// updatedAt is now. Declared ones follow Amplify's resolvers, which stamp
// only what the input leaves out: a value the caller sets is kept, a null
// one gets the stored createdAt or now. On update an updatedAt equal to the
// stored one counts as not set: it was read with the record (Amplify
// clients send only the fields a caller changed).
func (r *Repo[T]) stamp(v *T, old []byte) error {
	t := r.table
	if t.CreatedAt == "" && t.UpdatedAt == "" {
		return nil
	}
	now := r.store.cfg.now()
	if name := t.UpdatedAt; name != "" {
		f := t.Model.Field(name)
		cur, set := r.model.Get(v, name)
		set = set && !f.ReadOnly && !unsetStamp(cur)
		if set && old != nil {
			if stored, ok := storedValue(old, t.Model.Fields, f); ok && stored == stampText(cur) {
				set = false
			}
		}
		if !set {
			if err := r.model.Set(v, name, stampValue(f.Type, now)); err != nil {
				return errorf("%s.%s: %w", t.Model.Name, name, err)
			}
		}
	}
	if name := t.CreatedAt; name != "" {
		f := t.Model.Field(name)
		cur, set := r.model.Get(v, name)
		if set && !f.ReadOnly && !unsetStamp(cur) {
			return nil
		}
		val := stampValue(f.Type, now)
		if old != nil {
			if text, ok := storedValue(old, t.Model.Fields, f); ok {
				if p, err := parseStamp(f.Type, text); err == nil {
					val = p
				}
			}
		}
		if err := r.model.Set(v, name, val); err != nil {
			return errorf("%s.%s: %w", t.Model.Name, name, err)
		}
	}
	return nil
}

// unsetStamp reports whether a timestamp value counts as not set: the zero
// value of its Go type, so that a required (non-pointer) timestamp field
// left alone is stamped.
func unsetStamp(v any) bool {
	switch x := v.(type) {
	case string:
		return x == ""
	case scalar.Timestamp:
		return x == 0
	}
	return isZeroScalar(v)
}

// stampValue returns now as a value of a timestamp field of type typ, as
// the generated setters take it. AWSDate and AWSTime are the UTC date and
// time of day.
func stampValue(typ string, now time.Time) any {
	now = now.UTC()
	switch typ {
	case meta.AWSDate:
		return scalar.NewDate(now.Date())
	case meta.AWSTime:
		t, _ := scalar.ParseTime(now.Format("15:04:05.000Z")) // always valid
		return t
	case meta.AWSTimestamp:
		return scalar.NewTimestamp(now)
	case meta.String:
		return scalar.NewDateTime(now).String()
	}
	return scalar.NewDateTime(now)
}

// stampText returns a timestamp value as the text storedValue returns.
func stampText(v any) string {
	switch x := v.(type) {
	case scalar.Timestamp:
		return x.String()
	case fmt.Stringer:
		return x.String()
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// parseStamp parses the text of a stored timestamp of type typ.
func parseStamp(typ, text string) (any, error) {
	switch typ {
	case meta.AWSDate:
		return scalar.ParseDate(text)
	case meta.AWSTime:
		return scalar.ParseTime(text)
	case meta.AWSTimestamp:
		return scalar.ParseTimestamp(text)
	case meta.String:
		return text, nil
	}
	return scalar.ParseDateTime(text)
}

// storedValue returns the value of field f in an encoded record as text
// (an AWSTimestamp in decimal).
func storedValue(data []byte, fields []*meta.Field, f *meta.Field) (string, bool) {
	num := codec.FieldNumber(fields, f.Name)
	var d codec.Decoder
	d.Reset(data)
	for d.Next() {
		if d.Field() != num {
			continue
		}
		if f.Type == meta.AWSTimestamp {
			n := d.Int()
			return strconv.FormatInt(n, 10), d.Err() == nil
		}
		return d.String(), d.Err() == nil
	}
	return "", false
}

// checkParent fails unless the belongsTo parent l points at exists. Null
// foreign keys point at nothing and pass. It notes the parent's key in tx
// for the cascade check (linkLog).
func (r *Repo[T]) checkParent(tx *Txn, l *engine.Link, rw engine.Row) error {
	txn := tx.btx
	found := false
	isNull := false
	for _, s := range l.FromSlots {
		if storage.IsNull(rw[s]) {
			isNull = true
		}
	}
	if isNull {
		return nil
	}
	err := l.Related(txn, rw, func(pk, _ []byte) error {
		found = true
		// A batch of one parent's children logs it once.
		if h := tx.store.linked.hash(pk); len(tx.parents) == 0 || tx.parents[len(tx.parents)-1] != h {
			tx.parents = append(tx.parents, h)
		}
		return engine.ErrStop
	})
	if err != nil && err != engine.ErrStop {
		return err
	}
	if !found {
		names := make([]string, len(l.FromSlots))
		for i, s := range l.FromSlots {
			names[i] = r.table.Slots[s].Field.Name
		}
		return &ValidationError{Model: r.table.Model.Name, Field: l.Field,
			Reason: fmt.Sprintf("parent %s %s does not exist (from %s); save it first",
				l.To.Model.Name, componentsString(rw, l.FromSlots), strings.Join(names, ", "))}
	}
	return nil
}

// prepare fills generated values (id, @default) into v and validates it.
func (r *Repo[T]) prepare(v *T) error {
	m := r.table.Model
	if pk := m.PrimaryKey; pk.Field == "id" && len(pk.SortKeys) == 0 {
		if id, ok := r.model.Get(v, "id"); ok && id == "" {
			if err := r.model.Set(v, "id", scalar.NewID()); err != nil {
				return err
			}
		}
	}
	if err := r.applyDefaults(v); err != nil {
		return err
	}
	return r.validate(v)
}

// recordKey builds the record key from primary key values.
func (r *Repo[T]) recordKey(values []any) ([]byte, error) {
	t := r.table
	if len(values) != len(t.PK) {
		return nil, errorf("%s: key has %d values, want %d (%v)", t.Model.Name, len(values), len(t.PK), t.Model.PrimaryKey.Fields())
	}
	// Sized once: a string component is its bytes plus 3 (tag and
	// terminator), other components are at most a few dozen bytes.
	n := len(t.Prefix)
	for _, v := range values {
		if s, ok := v.(string); ok {
			n += len(s) + 3
		} else {
			n += 32
		}
	}
	k := append(make([]byte, 0, n), t.Prefix...)
	for i, s := range t.PK {
		f := t.Slots[s].Field
		var ok bool
		v := values[i]
		if v == nil {
			return nil, &ValidationError{Model: t.Model.Name, Field: f.Name, Reason: "primary key field is null"}
		}
		// A key decoded from JSON holds float64 (or json.Number) where the
		// field is an Int: take a whole number as the Int it stands for,
		// as the sync does with the backend's keys, rather than encode a
		// float key that matches no record.
		if fl, isFloat := v.(float64); isFloat && (f.Type == meta.Int || f.Type == meta.AWSTimestamp) && fl != math.Trunc(fl) {
			return nil, &ValidationError{Model: t.Model.Name, Field: f.Name, Reason: fmt.Sprintf("key value %v is not a whole number (%s)", fl, f.Type)}
		}
		v = engine.WireValue(f, v)
		if k, ok = engine.ValueComponent(k, f, v); !ok {
			return nil, &ValidationError{Model: t.Model.Name, Field: f.Name, Reason: fmt.Sprintf("key value %v has type %T, not %s", v, v, f.Type)}
		}
	}
	return k, nil
}

// decode reads a stored record.
func (r *Repo[T]) decode(data []byte) (*T, error) {
	v := new(T)
	var d codec.Decoder
	d.Reset(data)
	if err := r.model.Decode(&d, v); err != nil {
		return nil, errorf("reading %s: %w", r.table.Model.Name, err)
	}
	return v, nil
}

// Get returns the record with the given primary key values, or an error
// wrapping ErrNotFound.
func (r *Repo[T]) Get(ctx context.Context, key ...any) (*T, error) {
	if err := r.begin(ctx); err != nil {
		return nil, err
	}
	k, err := r.recordKey(key)
	if err != nil {
		return nil, err
	}
	v := new(T)
	err = r.store.view(r.txn, func(txn storage.Txn) error {
		// Decoded in place: the record's strings are copied out of
		// Badger's buffer by the decoder.
		err := txn.Value(k, func(data []byte) error {
			var d codec.Decoder
			d.Reset(data)
			if err := r.model.Decode(&d, v); err != nil {
				return errorf("reading %s: %w", r.table.Model.Name, err)
			}
			return nil
		})
		if err == storage.ErrNotFound {
			return errorf("%s %s: %w", r.table.Model.Name, keyString(key), ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Delete deletes v (by its primary key), cascading to hasOne and hasMany
// children and join rows (see DeleteKey).
func (r *Repo[T]) Delete(ctx context.Context, v *T, opts ...WriteOption[T]) error {
	if v == nil {
		return errorf("delete %s: nil record", r.model.Meta.Name)
	}
	return r.DeleteKey(ctx, r.model.Key(v), opts...)
}

// DeleteKey deletes the record with the given primary key values, with its
// hasOne and hasMany children and join rows. It fails with ErrNotFound when
// there is no such record, and with ErrConditionFailed when a condition does
// not hold.
//
// The delete is one transaction when it fits in one (see Store.Batch). A
// tree too large for that is deleted in several transactions, children
// before their parents and the record itself (its condition checked again)
// last, so a crash or error part way leaves some of the children deleted
// and no record without its parent; an error part way is a
// *PartialDeleteError. Inside Batch the delete is always the batch's.
func (r *Repo[T]) DeleteKey(ctx context.Context, key []any, opts ...WriteOption[T]) error {
	if err := r.begin(ctx); err != nil {
		return err
	}
	k, err := r.recordKey(key)
	if err != nil {
		return err
	}
	c := &cascade[T]{r: r, roots: []root{{key: k}}, named: keyString(key), cond: condition(opts)}
	if e := c.cond.Expr(); e.Kind != predicate.KindTrue && r.store.cfg.outbox {
		// The backend checks the condition too, on its copy.
		gc := e.GraphQLFilter()
		if err := checkConditionInts(r.table.Model, gc); err != nil {
			return err
		}
		c.conds = map[string]map[string]any{string(k): gc}
	}
	_, err = c.run(ctx, nil)
	return err
}

// DeleteWhere deletes every record matching p, with their children, and
// returns how many records matched and were deleted (a match deleted as
// the child of another counts once, as a child).
//
// The delete is one transaction when it fits in one (see Store.Batch).
// More is deleted in several transactions, each record's children before
// it, so a crash or error part way leaves some of the matches (and
// children) deleted and no record without its parent. A match that no
// longer matches p when its transaction runs is left. An error part way
// is a *PartialDeleteError, returned with the number of matches deleted.
// Inside Batch the delete is always the batch's.
func (r *Repo[T]) DeleteWhere(ctx context.Context, p predicate.Predicate[T]) (int, error) {
	if err := r.begin(ctx); err != nil {
		return 0, err
	}
	c := &cascade[T]{r: r, cond: p}
	return c.run(ctx, func(tx *Txn) error {
		c.roots = c.roots[:0]
		return r.Query().Where(p).scan(tx.btx, func(key, data []byte, _ *T) (bool, error) {
			c.roots = append(c.roots, root{key: bytes.Clone(key), data: data})
			return true, nil
		})
	})
}

// deleteAll deletes recs, in order, with their index entries.
func (tx *Txn) deleteAll(recs []doomed, fromSync bool) error {
	queue := tx.store.cfg.outbox && !fromSync
	for _, d := range recs {
		var sm *SyncMeta
		if queue {
			var err error
			if sm, err = readSyncMeta(tx.btx, d.t, d.key); err != nil {
				return err
			}
			if err := tx.enqueue(d.t, MutationDelete, d.key, nil, d.data, tx.conds[string(d.key)]); err != nil {
				return errorf("delete %s: outbox: %w", d.t.Model.Name, err)
			}
		}
		if err := d.t.DeleteRecord(tx.btx, d.key, d.row); err != nil {
			return errorf("delete %s: %w", d.t.Model.Name, err)
		}
		if len(d.t.Children) > 0 {
			if tx.doomed == nil {
				tx.doomed = map[uint64]bool{}
			}
			tx.doomed[tx.store.linked.hash(d.key)] = true
		}
		if sm != nil {
			// The delete is sent with the version the backend knows.
			sm.Deleted = true
			if err := writeSyncMeta(tx.btx, d.t, d.key, *sm); err != nil {
				return err
			}
		}
		tx.events = append(tx.events, event{table: d.t, op: OpDelete, key: d.key, data: d.data, fromSync: fromSync})
	}
	return nil
}

// keyString formats key values for errors.
func keyString(key []any) string {
	if len(key) == 1 {
		return fmt.Sprintf("%q", fmt.Sprint(key[0]))
	}
	parts := make([]string, len(key))
	for i, v := range key {
		parts[i] = fmt.Sprintf("%q", fmt.Sprint(v))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// componentsString formats the key components at slots for errors as the
// values the caller gave: "b1" for one component, ("p1", 3) for several.
func componentsString(rw engine.Row, slots []int) string {
	parts := make([]string, len(slots))
	for i, s := range slots {
		parts[i] = storage.DescribeComponent(rw[s])
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
