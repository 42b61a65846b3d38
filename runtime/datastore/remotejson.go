package datastore

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/jsonread"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/storage"
)

// jsonRecord reads backend records of one table from their JSON text
// straight into what applyRemoteKey needs (record key, encoded record,
// sync fields), without a map[string]any per record: a base sync reads
// every record once. It reads only records whose every stored value it
// converts exactly as the map path does (engine.WireValue, then
// codec.EncodeFields): single-valued strings, enums, AWS text scalars,
// integers, floats and booleans, with a primary key of ID, String or enum
// fields. read reports false for any other record (lists, non-model
// values, AWSJSON, a value of an unexpected JSON type, a missing key,
// text it cannot check); the caller then decodes it and takes the map
// path, which also words its errors.
type jsonRecord struct {
	s      *meta.Schema
	t      *engine.Table
	fields []*meta.Field
	// pk are the indexes in fields of the primary key fields; nil when
	// one is not of a kind read keeps as text.
	pk []int
	// vals holds the text of each field's value in the record being
	// read (nil: absent).
	vals [][]byte
	// hint[k] is the k-th key of the last record and the field it named
	// (-1: none): the backend writes every record's keys in one order.
	hint []keyHint
	enc  codec.Encoder
}

func newJSONRecord(s *meta.Schema, t *engine.Table) *jsonRecord {
	d := &jsonRecord{s: s, t: t, fields: t.Model.Fields, vals: make([][]byte, len(t.Model.Fields))}
	for _, sl := range t.PK {
		f := t.Slots[sl].Field
		i := fieldIndex(d.fields, f.Name)
		if i < 0 || f.IsList || !(f.Kind == meta.KindEnum || (f.Kind == meta.KindScalar && (f.Type == meta.ID || f.Type == meta.String))) {
			d.pk = nil // ValueComponent has other cases for these
			return d
		}
		d.pk = append(d.pk, i)
	}
	return d
}

func fieldIndex(fields []*meta.Field, name string) int {
	for i, f := range fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// read reads raw into it and its record key into *rk, both carved from
// slab. It reports false, leaving them to the caller, when raw is not a
// record it reads (see jsonRecord).
func (d *jsonRecord) read(raw []byte, it *remoteItem, rk *[]byte, slab *applyPage) bool {
	if d.pk == nil {
		return false
	}
	clear(d.vals)
	var version, changed, deleted []byte
	pos := 0
	r := jsonread.NewReader(raw, jsonread.Options{})
	if !r.Byte('{') {
		return false
	}
	if !r.Byte('}') {
		for {
			k, ok := r.StrBytes()
			if !ok || !r.Byte(':') {
				return false
			}
			// Compared before the value is read: k may be a buffer the
			// value's strings reuse.
			i := d.field(pos, k)
			pos++
			var sync *[]byte
			switch string(k) {
			case "_version":
				sync = &version
			case "_lastChangedAt":
				sync = &changed
			case "_deleted":
				sync = &deleted
			}
			v, ok := r.RawValue()
			if !ok {
				return false
			}
			if i >= 0 {
				d.vals[i] = v // a repeated key: the last wins, as in a map
			}
			if sync != nil {
				*sync = v
			}
			if r.Byte('}') {
				break
			}
			if !r.Byte(',') {
				return false
			}
		}
	}
	if !r.End() {
		return false
	}
	var ok bool
	if it.version, ok = syncInt(version); !ok {
		return false
	}
	if it.changed, ok = syncInt(changed); !ok {
		return false
	}
	// item["_deleted"].(bool): anything but true is false.
	it.deleted = string(deleted) == "true"
	key, err := slab.carve(func(dst []byte) ([]byte, error) {
		dst = append(dst, d.t.Prefix...)
		for _, i := range d.pk {
			s, ok := text(d.vals[i])
			if !ok {
				return nil, errNotRead
			}
			dst = storage.AppendStringBytes(dst, s)
		}
		return dst, nil
	})
	if err != nil {
		return false
	}
	data, err := slab.carve(d.encode)
	if err != nil {
		return false
	}
	it.raw, it.data, *rk = raw, data, key
	return true
}

// field returns the index in d.fields of the field named k, the pos-th key
// of a record, or -1.
func (d *jsonRecord) field(pos int, k []byte) int {
	if pos < len(d.hint) && string(k) == d.hint[pos].key {
		return d.hint[pos].field
	}
	h := keyHint{key: string(k), field: -1}
	for j, f := range d.fields {
		if h.key == f.Name {
			h.field = j
			break
		}
	}
	if pos < len(d.hint) {
		d.hint[pos] = h
	} else if pos < 2*len(d.fields)+8 { // bounded: keys may be unknown ones
		d.hint = append(d.hint, h)
	}
	return h.field
}

type keyHint struct {
	key   string
	field int
}

// errNotRead stops a carve when read leaves a record to the map path.
var errNotRead = errorf("record not read from JSON")

// encode appends the record read to dst, as codec.EncodeFields writes
// the values WireValue makes of the decoded ones, or fails with
// errNotRead.
func (d *jsonRecord) encode(dst []byte) ([]byte, error) {
	d.enc.Reset(dst)
	for i, f := range d.fields {
		v := d.vals[i]
		if v == nil || !f.Stored() || string(v) == "null" {
			continue // null: not written
		}
		if f.IsList || f.Kind == meta.KindNonModel {
			return nil, errNotRead
		}
		n := codec.Number(d.fields, i)
		switch {
		case f.Kind == meta.KindEnum, f.Type == meta.ID, f.Type == meta.String:
			s, ok := text(v)
			if !ok {
				return nil, errNotRead
			}
			d.enc.Raw(n, s) // the same bytes as String
		case f.Type == meta.Int, f.Type == meta.AWSTimestamp:
			x, err := strconv.ParseInt(string(v), 10, 64) // json.Number.Int64
			if err != nil || !isNumber(v) {
				return nil, errNotRead
			}
			d.enc.Int(n, x)
		case f.Type == meta.Float:
			x, err := strconv.ParseFloat(string(v), 64) // json.Number.Float64
			if err != nil || !isNumber(v) {
				return nil, errNotRead
			}
			d.enc.Float(n, x)
		case f.Type == meta.Boolean:
			switch string(v) {
			case "true":
				d.enc.Bool(n, true)
			case "false":
				d.enc.Bool(n, false)
			default:
				return nil, errNotRead
			}
		case f.Type == meta.AWSJSON:
			return nil, errNotRead
		default:
			s, ok := text(v)
			if !ok || codec.CheckText(f.Type, string(s)) != nil {
				return nil, errNotRead
			}
			d.enc.Raw(n, s)
		}
	}
	return d.enc.Bytes(), nil
}

// text returns the string a JSON string value v holds (valid until the
// next call), and false when v is no string.
func text(v []byte) ([]byte, bool) {
	if len(v) == 0 || v[0] != '"' {
		return nil, false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], true // RawValue checked it
	}
	r := jsonread.NewReader(v, jsonread.Options{})
	return r.StrBytes()
}

// isNumber reports whether v, a JSON value's text, is a number (so that
// strconv reads what json.Number holds, not true or a string).
func isNumber(v []byte) bool { return len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) }

// syncInt is scalar.Int64Of of a sync field's value v (nil when absent),
// for a null, missing or integer value; ok is false for any other, which
// read leaves to the map path.
func syncInt(v []byte) (int64, bool) {
	if v == nil || string(v) == "null" {
		return 0, true
	}
	if !isNumber(v) {
		return 0, false
	}
	x, err := strconv.ParseInt(string(v), 10, 64)
	return x, err == nil
}

// decodeItem decodes the JSON text of a record as the AppSync client
// decodes a sync page (numbers as json.Number), interning keys in keys
// (nil: none). null is a nil map.
func decodeItem(raw []byte, keys map[string]string) (map[string]any, error) {
	var v any
	if pv, ok := jsonread.Parse(raw, jsonread.Options{Keys: keys, MaxKeys: 1024}); ok {
		v = pv
	} else {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		if d.More() {
			return nil, errorf("data after the record")
		}
	}
	m, ok := v.(map[string]any)
	if !ok && v != nil {
		return nil, errorf("a record is a JSON object, not %T", v)
	}
	return m, nil
}
