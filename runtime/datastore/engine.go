package datastore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
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

// table is a model's storage: its table id, key fields and access paths.
type table struct {
	model  *meta.Model
	id     uint32
	prefix []byte // record key prefix

	// slots are the fields the engine reads from records: primary key,
	// index and relation key fields, each once.
	slots []slot
	// pk holds the slot numbers of the primary key fields.
	pk      []int
	indexes []*index
	// children are the hasMany and hasOne relations that cascade deletes.
	children []*link
	// parents are the belongsTo relations whose parent must exist.
	parents []*link
	// timestamps are the createdAt and updatedAt field names ("" if off).
	createdAt, updatedAt string
	// defaults is a record of the @default values, for defaultFields.
	defaults      []byte
	defaultFields []string
}

// slot is a field the engine reads from records.
type slot struct {
	field *meta.Field
	num   int // codec field number
}

// index is a secondary index: a declared @index, or one the engine adds so
// that a relation can find its records without a scan.
type index struct {
	name   string
	id     uint16
	slots  []int
	prefix []byte
}

// path is a way to reach a table's records in key order: its primary key
// (index == nil) or a secondary index.
type path struct {
	index *index
	slots []int
}

// link is a relation between two tables: records of to whose fields toSlots
// equal the from record's fields fromSlots.
type link struct {
	field     string
	to        *table
	fromSlots []int
	// via is the access path of to that starts with the relation's fields.
	via path
}

// engine holds the tables of a schema.
type engine struct {
	schema *meta.Schema
	tables map[string]*table
}

// slotOf returns the slot number of field name, adding the slot if needed.
func (t *table) slotOf(name string) (int, error) {
	for i, s := range t.slots {
		if s.field.Name == name {
			return i, nil
		}
	}
	f := t.model.Field(name)
	if f == nil || !f.Stored() {
		return 0, fmt.Errorf("datastore: model %s has no stored field %q", t.model.Name, name)
	}
	t.slots = append(t.slots, slot{field: f, num: codec.FieldNumber(t.model.Fields, name)})
	return len(t.slots) - 1, nil
}

func (t *table) slotsOf(names []string) ([]int, error) {
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

// paths returns the table's access paths, primary key first.
func (t *table) paths() []path {
	out := []path{{slots: t.pk}}
	for _, ix := range t.indexes {
		out = append(out, path{index: ix, slots: ix.slots})
	}
	return out
}

// pathFor returns an access path whose leading fields are slots, if any.
func (t *table) pathFor(slots []int) (path, bool) {
	for _, p := range t.paths() {
		if len(p.slots) >= len(slots) && slices.Equal(p.slots[:len(slots)], slots) {
			return p, true
		}
	}
	return path{}, false
}

// newEngine builds the tables of s. Table and index ids are assigned by
// loadCatalog.
func newEngine(s *meta.Schema) (*engine, error) {
	e := &engine{schema: s, tables: map[string]*table{}}
	for _, m := range s.Models {
		t := &table{model: m, createdAt: m.Options.Timestamps.CreatedAt, updatedAt: m.Options.Timestamps.UpdatedAt}
		pk, err := t.slotsOf(m.PrimaryKey.Fields())
		if err != nil {
			return nil, err
		}
		t.pk = pk
		if t.defaults, t.defaultFields, err = defaultsRecord(s, m); err != nil {
			return nil, err
		}
		for _, ix := range m.Indexes {
			slots, err := t.slotsOf(ix.Fields)
			if err != nil {
				return nil, err
			}
			t.indexes = append(t.indexes, &index{name: ix.Name, slots: slots})
		}
		e.tables[m.Name] = t
	}
	// Relations: every relation gets an access path on the related table
	// that starts with the related fields, adding an index when no primary
	// key or declared index does.
	for _, m := range s.Models {
		t := e.tables[m.Name]
		for _, f := range m.Fields {
			if f.Relation == nil {
				continue
			}
			to := e.tables[f.Relation.Model]
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
			via, ok := to.pathFor(toSlots)
			if !ok {
				ix := &index{name: "rel:" + strings.Join(toFields, ","), slots: toSlots}
				to.indexes = append(to.indexes, ix)
				via = path{index: ix, slots: toSlots}
			}
			l := &link{field: f.Name, to: to, fromSlots: fromSlots, via: via}
			switch f.Relation.Kind {
			case meta.HasMany, meta.HasOne:
				t.children = append(t.children, l)
			case meta.BelongsTo:
				t.parents = append(t.parents, l)
			}
		}
	}
	return e, nil
}

// loadCatalog reads the table and index ids from the catalog, assigning
// ids to new models and indexes in the same transaction.
func (e *engine) loadCatalog(txn storage.Txn) error {
	used := map[uint32]bool{}
	var next uint32 = 1
	ids := map[string]uint32{}
	it := txn.Iterate(storage.IterOptions{Prefix: storage.TableIDPrefix()})
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.ValueCopy(nil)
		if err != nil || len(v) != 4 {
			it.Close()
			return fmt.Errorf("datastore: catalog entry %q is damaged", it.Key())
		}
		id := binary.BigEndian.Uint32(v)
		ids[string(it.Key()[len(storage.TableIDPrefix()):])] = id
		used[id] = true
		next = max(next, id+1)
	}
	it.Close()
	for _, m := range e.schema.Models {
		t := e.tables[m.Name]
		id, ok := ids[m.Name]
		if !ok {
			id = next
			next++
			if err := txn.Set(storage.TableIDKey(m.Name), binary.BigEndian.AppendUint32(nil, id)); err != nil {
				return err
			}
		}
		t.id = id
		t.prefix = storage.RecordPrefix(id)
		if err := e.loadIndexIDs(txn, t); err != nil {
			return err
		}
	}
	return nil
}

func (e *engine) loadIndexIDs(txn storage.Txn, t *table) error {
	prefix := storage.IndexIDPrefix(t.model.Name)
	ids := map[string]uint16{}
	var next uint16 = 1
	it := txn.Iterate(storage.IterOptions{Prefix: prefix})
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.ValueCopy(nil)
		if err != nil || len(v) != 2 {
			it.Close()
			return fmt.Errorf("datastore: catalog entry %q is damaged", it.Key())
		}
		id := binary.BigEndian.Uint16(v)
		ids[string(it.Key()[len(prefix):])] = id
		next = max(next, id+1)
	}
	it.Close()
	for _, ix := range t.indexes {
		id, ok := ids[ix.name]
		if !ok {
			id = next
			next++
			if err := txn.Set(storage.IndexIDKey(t.model.Name, ix.name), binary.BigEndian.AppendUint16(nil, id)); err != nil {
				return err
			}
		}
		ix.id = id
		ix.prefix = storage.IndexPrefix(t.id, id)
	}
	return nil
}

// row holds the key components of one record, by slot.
type row [][]byte

// project reads the slot fields of an encoded record as key components.
// Null or absent fields are null components.
func (t *table) project(data []byte) (row, error) {
	r := make(row, len(t.slots))
	var d codec.Decoder
	d.Reset(data)
	for d.Next() {
		i := -1
		for j := range t.slots {
			if t.slots[j].num == d.Field() {
				i = j
				break
			}
		}
		if i < 0 {
			d.Skip()
			continue
		}
		c, err := decodeComponent(&d, t.slots[i].field)
		if err != nil {
			return nil, fmt.Errorf("datastore: %s.%s: %w", t.model.Name, t.slots[i].field.Name, err)
		}
		r[i] = c
	}
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("datastore: %s record: %w", t.model.Name, err)
	}
	for i := range r {
		if r[i] == nil {
			r[i] = storage.AppendNull(nil)
		}
	}
	return r, nil
}

// decodeComponent reads the current field of d as a key component.
func decodeComponent(d *codec.Decoder, f *meta.Field) ([]byte, error) {
	if f.IsList || f.Kind == meta.KindNonModel {
		d.Skip() // not orderable: never a key field
		return storage.AppendNull(nil), nil
	}
	if f.Kind == meta.KindEnum {
		return storage.AppendString(nil, d.String()), nil
	}
	switch f.Type {
	case meta.Int, meta.AWSTimestamp:
		return storage.AppendInt(nil, d.Int()), nil
	case meta.Float:
		return storage.AppendFloat(nil, d.Float()), nil
	case meta.Boolean:
		return storage.AppendBool(nil, d.Bool()), nil
	case meta.AWSDate, meta.AWSTime, meta.AWSDateTime:
		return temporalComponent(nil, f.Type, d.String())
	}
	return storage.AppendString(nil, d.String()), nil
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

// valueComponent encodes a Go value of field f (as a generated Get or a
// predicate operand holds it) as a key component; ok is false for values
// of the wrong type.
func valueComponent(b []byte, f *meta.Field, v any) ([]byte, bool) {
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

// indexKey returns the entry key of r in ix.
func (t *table) indexKey(ix *index, r row) []byte {
	k := bytes.Clone(ix.prefix)
	for _, s := range ix.slots {
		k = append(k, r[s]...)
	}
	for _, s := range t.pk {
		k = append(k, r[s]...)
	}
	return k
}

// pathPrefix returns the key prefix of access path p.
func (t *table) pathPrefix(p path) []byte {
	if p.index != nil {
		return p.index.prefix
	}
	return t.prefix
}

// recordKeyFromEntry returns the record key an entry of p points at: for the
// primary path the key itself, for an index the primary key components
// after the index fields.
func (t *table) recordKeyFromEntry(p path, key []byte) ([]byte, error) {
	if p.index == nil {
		return key, nil
	}
	pk, ok := storage.SkipComponents(key[len(p.index.prefix):], len(p.index.slots))
	if !ok {
		return nil, fmt.Errorf("datastore: %s index %s: damaged entry %x", t.model.Name, p.index.name, key)
	}
	return append(bytes.Clone(t.prefix), pk...), nil
}

// errDamaged marks records the engine cannot read.
var errDamaged = errors.New("damaged record")

// errStop ends a scan early; it never leaves the package.
var errStop = errors.New("stop")

// writeRecord stores data under key with its index entries, given the
// previous version (nil when new). It is the only way records are written.
func (t *table) writeRecord(txn storage.Txn, key, data []byte, nr row, old []byte) error {
	var or row
	var err error
	if old != nil {
		if or, err = t.project(old); err != nil {
			return fmt.Errorf("%w: %w", errDamaged, err)
		}
	}
	for _, ix := range t.indexes {
		nk := t.indexKey(ix, nr)
		if or != nil {
			ok := t.indexKey(ix, or)
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

// deleteRecord removes the record under key (whose fields are r) and its
// index entries.
func (t *table) deleteRecord(txn storage.Txn, key []byte, r row) error {
	for _, ix := range t.indexes {
		if err := txn.Delete(t.indexKey(ix, r)); err != nil {
			return err
		}
	}
	if err := txn.Delete(append(storage.SyncMetaPrefix(t.id), key[len(t.prefix):]...)); err != nil {
		return err
	}
	return txn.Delete(key)
}

// get returns a copy of the record under key, or nil when there is none.
func get(txn storage.Txn, key []byte) ([]byte, error) {
	b, err := txn.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return b, err
}

// related calls fn for every record of l.to related to the record r of the
// table l belongs to, in l.via's order. A null key field relates nothing.
func (l *link) related(txn storage.Txn, r row, fn func(key, data []byte) error) error {
	prefix := bytes.Clone(l.to.pathPrefix(l.via))
	for _, s := range l.fromSlots {
		if storage.IsNull(r[s]) {
			return nil
		}
		prefix = append(prefix, r[s]...)
	}
	if l.via.index == nil && len(l.fromSlots) == len(l.to.pk) {
		// The whole primary key: one get, no iterator.
		data, err := get(txn, prefix)
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
		rk, err := l.to.recordKeyFromEntry(l.via, it.KeyCopy(nil))
		if err != nil {
			it.Close()
			return err
		}
		keys = append(keys, rk)
	}
	it.Close()
	for _, rk := range keys {
		data, err := get(txn, rk)
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
