// Package engine is the storage engine under package datastore: the
// tables and secondary indexes of a schema, their ids in the catalog, the
// key components records and index entries are keyed by, and the writes
// that keep a record and its index entries together. It works from the
// schema metadata alone and reads and writes through storage.Txn.
package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"strings"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/scalar"
	"github.com/dsgen/dsgen/runtime/storage"
)

// The storage engine works from the schema alone: it reads key and index
// fields straight out of encoded records, so index upkeep, cascades and the
// planner need neither the generated types nor reflection. The typed layer
// (Repo) encodes, decodes and matches predicates.

// Table is a model's storage: its table id, key fields and access paths.
type Table struct {
	Model  *meta.Model
	ID     uint32
	Prefix []byte // record key prefix

	// slots are the fields the engine reads from records: primary key,
	// index and relation key fields, each once.
	Slots []Slot
	// pk holds the slot numbers of the primary key fields.
	PK      []int
	Indexes []*Index
	// children are the hasMany and hasOne relations that cascade deletes.
	Children []*Link
	// parents are the belongsTo relations whose parent must exist.
	Parents []*Link
	// timestamps are the createdAt and updatedAt field names ("" if off).
	CreatedAt, UpdatedAt string
	// defaults is a record of the @default values, for defaultFields.
	Defaults      []byte
	DefaultFields []string
}

// Slot is a field the engine reads from records.
type Slot struct {
	Field *meta.Field
	Num   int // codec field number
}

// Index is a secondary index: a declared @index, or one the engine adds so
// that a relation can find its records without a scan.
type Index struct {
	Name   string
	ID     uint16
	Slots  []int
	Prefix []byte
}

// Path is a way to reach a table's records in key order: its primary key
// (index == nil) or a secondary index.
type Path struct {
	Index *Index
	Slots []int
}

// Link is a relation between two tables: records of to whose fields toSlots
// equal the from record's fields fromSlots.
type Link struct {
	Field     string
	To        *Table
	FromSlots []int
	// via is the access path of to that starts with the relation's fields.
	Via Path
}

// Engine holds the tables of a schema.
type Engine struct {
	Schema *meta.Schema
	Tables map[string]*Table
}

// slotOf returns the slot number of field name, adding the slot if needed.
func (t *Table) slotOf(name string) (int, error) {
	for i, s := range t.Slots {
		if s.Field.Name == name {
			return i, nil
		}
	}
	f := t.Model.Field(name)
	if f == nil || !f.Stored() {
		return 0, Errorf("model %s has no stored field %q", t.Model.Name, name)
	}
	t.Slots = append(t.Slots, Slot{Field: f, Num: codec.FieldNumber(t.Model.Fields, name)})
	return len(t.Slots) - 1, nil
}

func (t *Table) slotsOf(names []string) ([]int, error) {
	out := make([]int, len(names))
	for i, n := range names {
		s, err := t.slotOf(n)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// Paths returns the table's access paths, primary key first.
func (t *Table) Paths() []Path {
	out := []Path{{Slots: t.PK}}
	for _, ix := range t.Indexes {
		out = append(out, Path{Index: ix, Slots: ix.Slots})
	}
	return out
}

// PathFor returns an access path whose leading fields are slots, if any.
func (t *Table) PathFor(slots []int) (Path, bool) {
	for _, p := range t.Paths() {
		if len(p.Slots) >= len(slots) && slices.Equal(p.Slots[:len(slots)], slots) {
			return p, true
		}
	}
	return Path{}, false
}

// New builds the tables of s. Table and index ids are assigned by
// LoadCatalog. defaults builds a model's Defaults and DefaultFields (the
// datastore applies them on save).
func New(s *meta.Schema, defaults func(*meta.Schema, *meta.Model) ([]byte, []string, error)) (*Engine, error) {
	e := &Engine{Schema: s, Tables: map[string]*Table{}}
	for _, m := range s.Models {
		t := &Table{Model: m, CreatedAt: m.Options.Timestamps.CreatedAt, UpdatedAt: m.Options.Timestamps.UpdatedAt}
		pk, err := t.slotsOf(m.PrimaryKey.Fields())
		if err != nil {
			return nil, err
		}
		t.PK = pk
		if t.Defaults, t.DefaultFields, err = defaults(s, m); err != nil {
			return nil, err
		}
		for _, ix := range m.Indexes {
			slots, err := t.slotsOf(ix.Fields)
			if err != nil {
				return nil, err
			}
			t.Indexes = append(t.Indexes, &Index{Name: ix.Name, Slots: slots})
		}
		e.Tables[m.Name] = t
	}
	// Relations: every relation gets an access path on the related table
	// that starts with the related fields, adding an index when no primary
	// key or declared index does.
	for _, m := range s.Models {
		t := e.Tables[m.Name]
		for _, f := range m.Fields {
			if f.Relation == nil {
				continue
			}
			to := e.Tables[f.Relation.Model]
			from, toFields := s.RelationKeys(m, f)
			if to == nil || len(from) == 0 {
				continue
			}
			fromSlots, err := t.slotsOf(from)
			if err != nil {
				return nil, err
			}
			toSlots, err := to.slotsOf(toFields)
			if err != nil {
				return nil, err
			}
			via, ok := to.PathFor(toSlots)
			if !ok {
				ix := &Index{Name: "rel:" + strings.Join(toFields, ","), Slots: toSlots}
				to.Indexes = append(to.Indexes, ix)
				via = Path{Index: ix, Slots: toSlots}
			}
			l := &Link{Field: f.Name, To: to, FromSlots: fromSlots, Via: via}
			switch f.Relation.Kind {
			case meta.HasMany, meta.HasOne:
				t.Children = append(t.Children, l)
			case meta.BelongsTo:
				t.Parents = append(t.Parents, l)
			}
		}
	}
	return e, nil
}

// LoadCatalog reads the table and index ids from the catalog, assigning
// ids to new models and indexes in the same transaction.
func (e *Engine) LoadCatalog(txn storage.Txn) error {
	used := map[uint32]bool{}
	var next uint32 = 1
	ids := map[string]uint32{}
	it := txn.Iterate(storage.IterOptions{Prefix: storage.TableIDPrefix()})
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.ValueCopy(nil)
		if err != nil || len(v) != 4 {
			it.Close()
			return Errorf("catalog entry %q is damaged", it.Key())
		}
		id := binary.BigEndian.Uint32(v)
		ids[string(it.Key()[len(storage.TableIDPrefix()):])] = id
		used[id] = true
		next = max(next, id+1)
	}
	it.Close()
	for _, m := range e.Schema.Models {
		t := e.Tables[m.Name]
		id, ok := ids[m.Name]
		if !ok {
			id = next
			next++
			if err := txn.Set(storage.TableIDKey(m.Name), binary.BigEndian.AppendUint32(nil, id)); err != nil {
				return err
			}
		}
		t.ID = id
		t.Prefix = storage.RecordPrefix(id)
		if err := e.loadIndexIDs(txn, t); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) loadIndexIDs(txn storage.Txn, t *Table) error {
	prefix := storage.IndexIDPrefix(t.Model.Name)
	ids := map[string]uint16{}
	var next uint16 = 1
	it := txn.Iterate(storage.IterOptions{Prefix: prefix})
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.ValueCopy(nil)
		if err != nil || len(v) != 2 {
			it.Close()
			return Errorf("catalog entry %q is damaged", it.Key())
		}
		id := binary.BigEndian.Uint16(v)
		ids[string(it.Key()[len(prefix):])] = id
		next = max(next, id+1)
	}
	it.Close()
	for _, ix := range t.Indexes {
		id, ok := ids[ix.Name]
		if !ok {
			id = next
			next++
			if err := txn.Set(storage.IndexIDKey(t.Model.Name, ix.Name), binary.BigEndian.AppendUint16(nil, id)); err != nil {
				return err
			}
		}
		ix.ID = id
		ix.Prefix = storage.IndexPrefix(t.ID, id)
	}
	return nil
}

// Row holds the key components of one record, by slot.
type Row [][]byte

// Project reads the slot fields of an encoded record as key components.
// Null or absent fields are null components.
func (t *Table) Project(data []byte) (Row, error) {
	r, _, err := t.ProjectInto(nil, nil, data)
	return r, err
}

// ProjectInto is Project reusing r's elements when it has enough and
// writing the components into buf[:0] (it returns both, grown as needed):
// for a caller that projects record after record and keeps neither the row
// nor buf past the next call.
func (t *Table) ProjectInto(r Row, buf, data []byte) (Row, []byte, error) {
	if cap(r) < len(t.Slots) {
		r = make(Row, len(t.Slots))
	} else {
		r = r[:len(t.Slots)]
		clear(r)
	}
	buf = buf[:0]
	// A component is sliced from buf as soon as it is written (capped):
	// when buf grows into a new array, the old one keeps the components
	// written so far.
	comp := func(start int) []byte { return buf[start:len(buf):len(buf)] }
	var d codec.Decoder
	d.Reset(data)
	for d.Next() {
		i := -1
		for j := range t.Slots {
			if t.Slots[j].Num == d.Field() {
				i = j
				break
			}
		}
		if i < 0 {
			d.Skip()
			continue
		}
		start := len(buf)
		var err error
		if buf, err = appendComponent(buf, &d, t.Slots[i].Field); err != nil {
			return nil, buf, Errorf("%s.%s: %w", t.Model.Name, t.Slots[i].Field.Name, err)
		}
		r[i] = comp(start)
	}
	if err := d.Err(); err != nil {
		return nil, buf, Errorf("%s record: %w", t.Model.Name, err)
	}
	for i := range r {
		if r[i] == nil {
			start := len(buf)
			buf = storage.AppendNull(buf)
			r[i] = comp(start)
		}
	}
	return r, buf, nil
}

// appendComponent appends the current field of d as a key component.
func appendComponent(dst []byte, d *codec.Decoder, f *meta.Field) ([]byte, error) {
	if f.IsList || f.Kind == meta.KindNonModel {
		d.Skip() // not orderable: never a key field
		return storage.AppendNull(dst), nil
	}
	if f.Kind == meta.KindEnum {
		return storage.AppendStringBytes(dst, d.Raw()), nil
	}
	switch f.Type {
	case meta.Int, meta.AWSTimestamp:
		return storage.AppendInt(dst, d.Int()), nil
	case meta.Float:
		return storage.AppendFloat(dst, d.Float()), nil
	case meta.Boolean:
		return storage.AppendBool(dst, d.Bool()), nil
	case meta.AWSDate, meta.AWSTime, meta.AWSDateTime:
		return temporalComponent(dst, f.Type, d.String())
	}
	return storage.AppendStringBytes(dst, d.Raw()), nil
}

// temporalComponent encodes the text of an AWS temporal scalar.
func temporalComponent(b []byte, typ, text string) ([]byte, error) {
	switch typ {
	case meta.AWSDate:
		v, err := scalar.ParseDate(text)
		if err != nil {
			return nil, err
		}
		return storage.AppendInstant(b, v.Time().Unix(), 0, text), nil
	case meta.AWSTime:
		v, err := scalar.ParseTime(text)
		if err != nil {
			return nil, err
		}
		off, _ := v.Offset()
		ns := int64(v.SinceMidnight() - off)
		return storage.AppendInstant(b, floorDiv(ns, 1e9), int32(ns-floorDiv(ns, 1e9)*1e9), text), nil
	default:
		v, err := scalar.ParseDateTime(text)
		if err != nil {
			return nil, err
		}
		tm := v.Time()
		return storage.AppendInstant(b, tm.Unix(), int32(tm.Nanosecond()), text), nil
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// ValueComponent encodes a Go value of field f (as a generated Get or a
// predicate operand holds it) as a key component; ok is false for values
// of the wrong type.
func ValueComponent(b []byte, f *meta.Field, v any) ([]byte, bool) {
	if v == nil {
		return storage.AppendNull(b), true
	}
	switch x := v.(type) {
	case string:
		if f.Kind == meta.KindScalar && (f.Type == meta.AWSDate || f.Type == meta.AWSTime || f.Type == meta.AWSDateTime) {
			out, err := temporalComponent(b, f.Type, x)
			return out, err == nil
		}
		return storage.AppendString(b, x), true
	case int:
		return storage.AppendInt(b, int64(x)), true
	case int64:
		return storage.AppendInt(b, x), true
	case scalar.Timestamp:
		return storage.AppendInt(b, int64(x)), true
	case float64:
		return storage.AppendFloat(b, x), true
	case bool:
		return storage.AppendBool(b, x), true
	case scalar.DateTime:
		tm := x.Time()
		return storage.AppendInstant(b, tm.Unix(), int32(tm.Nanosecond()), x.String()), true
	case scalar.Date:
		return storage.AppendInstant(b, x.Time().Unix(), 0, x.String()), true
	case scalar.Time:
		out, err := temporalComponent(b, meta.AWSTime, x.String())
		return out, err == nil
	case scalar.JSON:
		return storage.AppendString(b, string(x)), true
	}
	// Enums and the string-based AWS scalars are named string types.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		return storage.AppendString(b, rv.String()), true
	}
	return b, false
}

// IndexKey returns the entry key of r in ix.
func (t *Table) IndexKey(ix *Index, r Row) []byte {
	n := len(ix.Prefix) // one allocation of the key's size
	for _, s := range ix.Slots {
		n += len(r[s])
	}
	for _, s := range t.PK {
		n += len(r[s])
	}
	return t.AppendIndexKey(make([]byte, 0, n), ix, r)
}

// AppendIndexKey is IndexKey appending the key to dst.
func (t *Table) AppendIndexKey(dst []byte, ix *Index, r Row) []byte {
	k := append(dst, ix.Prefix...)
	for _, s := range ix.Slots {
		k = append(k, r[s]...)
	}
	for _, s := range t.PK {
		k = append(k, r[s]...)
	}
	return k
}

// PathPrefix returns the key prefix of access path p.
func (t *Table) PathPrefix(p Path) []byte {
	if p.Index != nil {
		return p.Index.Prefix
	}
	return t.Prefix
}

// RecordKeyFromEntry returns the record key an entry of p points at: for the
// primary path the key itself, for an index the primary key components
// after the index fields.
func (t *Table) RecordKeyFromEntry(p Path, key []byte) ([]byte, error) {
	if p.Index == nil {
		return key, nil
	}
	return t.AppendRecordKeyFromEntry(nil, p, key)
}

// AppendRecordKeyFromEntry is RecordKeyFromEntry writing into dst[:0], so
// that a walk over many entries can reuse one buffer.
func (t *Table) AppendRecordKeyFromEntry(dst []byte, p Path, key []byte) ([]byte, error) {
	if p.Index == nil {
		return append(dst[:0], key...), nil
	}
	pk, ok := storage.SkipComponents(key[len(p.Index.Prefix):], len(p.Index.Slots))
	if !ok {
		return nil, Errorf("%s index %s: damaged entry %x", t.Model.Name, p.Index.Name, key)
	}
	return append(append(dst[:0], t.Prefix...), pk...), nil
}

// WriteRecord stores data under key with its index entries, given the
// previous version (nil when new). It is the only way records are written.
func (t *Table) WriteRecord(txn storage.Txn, key, data []byte, nr Row, old []byte) error {
	return t.WriteRecordKeys(txn, key, data, nr, old, nil)
}

// WriteRecordKeys is WriteRecord building the new index keys with
// indexKey(ix, nr) (nil: t.IndexKey), so that a caller writing many
// records can give them memory it holds until the commit.
func (t *Table) WriteRecordKeys(txn storage.Txn, key, data []byte, nr Row, old []byte, indexKey func(ix *Index, r Row) []byte) error {
	if indexKey == nil {
		indexKey = t.IndexKey
	}
	var or Row
	var err error
	if old != nil {
		if or, err = t.Project(old); err != nil {
			return Errorf("%w: %w", ErrDamaged, err)
		}
	}
	for _, ix := range t.Indexes {
		nk := indexKey(ix, nr)
		if or != nil {
			ok := t.IndexKey(ix, or)
			if bytes.Equal(ok, nk) {
				continue
			}
			if err := txn.Delete(ok); err != nil {
				return err
			}
		}
		if err := txn.Set(nk, nil); err != nil {
			return err
		}
	}
	return txn.Set(key, data)
}

// DeleteRecord removes the record under key (whose fields are r) and its
// index entries.
func (t *Table) DeleteRecord(txn storage.Txn, key []byte, r Row) error {
	for _, ix := range t.Indexes {
		if err := txn.Delete(t.IndexKey(ix, r)); err != nil {
			return err
		}
	}
	if err := txn.Delete(append(storage.SyncMetaPrefix(t.ID), key[len(t.Prefix):]...)); err != nil {
		return err
	}
	return txn.Delete(key)
}

// Get returns a copy of the record under key, or nil when there is none.
func Get(txn storage.Txn, key []byte) ([]byte, error) {
	b, err := txn.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return b, err
}

// Related calls fn for every record of l.to related to the record r of the
// table l belongs to, in l.via's order. A null key field relates nothing.
func (l *Link) Related(txn storage.Txn, r Row, fn func(key, data []byte) error) error {
	prefix := bytes.Clone(l.To.PathPrefix(l.Via))
	for _, s := range l.FromSlots {
		if storage.IsNull(r[s]) {
			return nil
		}
		prefix = append(prefix, r[s]...)
	}
	if l.Via.Index == nil && len(l.FromSlots) == len(l.To.PK) {
		// The whole primary key: one get, no iterator.
		data, err := Get(txn, prefix)
		if err != nil || data == nil {
			return err
		}
		return fn(prefix, data)
	}
	// Collect first: a read-write transaction allows one iterator at a
	// time, and fn may cascade into another scan.
	var keys [][]byte
	it := txn.Iterate(storage.IterOptions{Prefix: prefix})
	for it.Rewind(); it.Valid(); it.Next() {
		rk, err := l.To.RecordKeyFromEntry(l.Via, it.KeyCopy(nil))
		if err != nil {
			it.Close()
			return err
		}
		keys = append(keys, rk)
	}
	it.Close()
	for _, rk := range keys {
		data, err := Get(txn, rk)
		if err != nil {
			return err
		}
		if data == nil {
			continue
		}
		if err := fn(rk, data); err != nil {
			return err
		}
	}
	return nil
}
