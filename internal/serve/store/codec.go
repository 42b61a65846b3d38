package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strconv"

	"github.com/dsgen/dsgen/runtime/storage"
)

// The Badger engine's key layout. Every key starts with a one-byte
// namespace; model names and key values are storage key components, which
// are self-delimiting and order-preserving, so one model's rows never
// interleave with another's and a model's records sort by primary key.
//
//	'm'                                          engine state: seq, last assigned ms, reserved floor
//	'r' <model> <pk>                             record: rowValue
//	'l' <model> <lca: 8> <seq: 8> <pk>           change-log entry: rowValue (full post-write image)
//	'k' <model> <pk> 0x00 <lca: 8> <seq: 8>      per-key log index: empty; finds a key's later changes
//	'e' <expireAt: 8> 't' <record key>           expiry of a tombstone: empty
//	'e' <expireAt: 8> 'l' <seq: 8>               expiry of a log entry, written before 2026-12 (value =
//	                                             log key, index key); still honoured, no longer written
//
// Times and sequence numbers are big-endian with the sign bit flipped, so
// byte order is numeric order. Log keys of one model sort by (lca, seq),
// which is commit order because the commit clock never goes backwards, and
// which lets Expire find a model's due log entries at the head of its log
// without an expiry entry per write.
const (
	nsMeta   = 'm'
	nsRecord = 'r'
	nsLog    = 'l'
	nsKeyLog = 'k'
	nsExpiry = 'e'

	expLog       = 'l'
	expTombstone = 't'

	// keyLogSep ends the primary key in a per-key index key. No component
	// tag is 0x00, so it keeps one key's entries apart from those of a key
	// that extends it.
	keyLogSep = 0x00
)

var metaKey = []byte{nsMeta}

// appendI64 appends v big-endian with the sign bit flipped.
func appendI64(b []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(v)^(1<<63))
}

func readI64(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

// modelPrefix returns ns followed by the model's component.
func modelPrefix(ns byte, model string) []byte {
	return storage.AppendString([]byte{ns}, model)
}

// decided checks what a MutateFunc returned for the stored record cur (nil
// when there is none) and returns what both engines write: the item (a
// delete without one keeps cur's, so the tombstone still says what it
// was), its JSON and the record's next version. Errors leave the caller to
// say which record.
func decided(cur *Record, item map[string]any, op Op) (map[string]any, []byte, int64, error) {
	switch op {
	case OpCreate, OpUpdate:
		if item == nil {
			return nil, nil, 0, fmt.Errorf("%s with a nil item", op)
		}
	case OpDelete:
		if item == nil {
			item = map[string]any{}
			if cur != nil && cur.Item != nil {
				item = cur.Item
			}
		}
	default:
		return nil, nil, 0, fmt.Errorf("MutateFunc returned unknown op %d", op)
	}
	itemJSON, err := marshalJSON(item)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("item: %w", err)
	}
	version := int64(1)
	if cur != nil {
		version = cur.Version + 1
	}
	return item, itemJSON, version, nil
}

// encodeKey normalises key (every number becomes a float64, the type JSON
// decoding gives) and encodes it as key components.
func encodeKey(model string, key []any) (pk []byte, norm []any, err error) {
	if model == "" {
		return nil, nil, fmt.Errorf("%w: empty model name", ErrInvalidKey)
	}
	if len(key) == 0 {
		return nil, nil, fmt.Errorf("%w: %s: no key values", ErrInvalidKey, model)
	}
	norm = make([]any, len(key))
	size := 0 // the usual encoded length, so pk is one allocation
	for _, v := range key {
		if s, ok := v.(string); ok {
			size += len(s) + 3
		} else {
			size += 9
		}
	}
	pk = make([]byte, 0, size)
	for i, v := range key {
		n, err := normKeyValue(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s key value %d (%#v): %v", ErrInvalidKey, model, i, v, err)
		}
		norm[i] = n
		switch n := n.(type) {
		case string:
			pk = storage.AppendString(pk, n)
		case float64:
			pk = storage.AppendFloat(pk, n)
		case bool:
			pk = storage.AppendBool(pk, n)
		}
	}
	return pk, norm, nil
}

// maxExact is 2^53: integers up to it in magnitude are exact as float64.
const maxExact = 1 << 53

// normKeyValue maps a key value to string, float64 or bool. All numbers
// become float64 so that 3, int64(3), 3.0 and json.Number("3") name the same
// record; integers a float64 cannot hold exactly are refused rather than
// silently merged with a neighbour.
func normKeyValue(v any) (any, error) {
	switch v := v.(type) {
	case string, bool:
		return v, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("not a finite number")
		}
		return v, nil
	case float32:
		return normKeyValue(float64(v))
	case int:
		return normInt(int64(v))
	case int8:
		return normInt(int64(v))
	case int16:
		return normInt(int64(v))
	case int32:
		return normInt(int64(v))
	case int64:
		return normInt(v)
	case uint:
		return normUint(uint64(v))
	case uint8:
		return normUint(uint64(v))
	case uint16:
		return normUint(uint64(v))
	case uint32:
		return normUint(uint64(v))
	case uint64:
		return normUint(v)
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return normInt(i)
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return nil, fmt.Errorf("not a number: %w", err)
		}
		return normKeyValue(f)
	case nil:
		return nil, errors.New("null")
	}
	return nil, fmt.Errorf("unsupported type %T (want string, number or bool)", v)
}

func normInt(i int64) (any, error) {
	if i > maxExact || i < -maxExact {
		return nil, errors.New("integer beyond ±2^53 is not exact as a JSON number")
	}
	return float64(i), nil
}

func normUint(u uint64) (any, error) {
	if u > maxExact {
		return nil, errors.New("integer beyond 2^53 is not exact as a JSON number")
	}
	return float64(u), nil
}

func recordKey(model string, pk []byte) []byte {
	k := make([]byte, 0, 1+len(model)+3+len(pk)) // one allocation unless model holds 0x00
	k = storage.AppendString(append(k, nsRecord), model)
	return append(k, pk...)
}

func logKey(model string, lca int64, seq uint64, pk []byte) []byte {
	k := modelPrefix(nsLog, model)
	k = appendI64(k, lca)
	k = binary.BigEndian.AppendUint64(k, seq)
	return append(k, pk...)
}

// keyLogPrefix is the prefix of every per-key index entry of one key.
func keyLogPrefix(model string, pk []byte) []byte {
	k := append(modelPrefix(nsKeyLog, model), pk...)
	return append(k, keyLogSep)
}

func keyLogKey(model string, pk []byte, lca int64, seq uint64) []byte {
	k := appendI64(keyLogPrefix(model, pk), lca)
	return binary.BigEndian.AppendUint64(k, seq)
}

func expiryTombstoneKey(expireAt int64, recKey []byte) []byte {
	k := appendI64([]byte{nsExpiry}, expireAt)
	k = append(k, expTombstone)
	return append(k, recKey...)
}

// row is the value of a record and of a change-log entry: the metadata,
// then the normalised key and the item as JSON.
type row struct {
	op       Op
	deleted  bool
	version  int64
	lca      int64
	seq      uint64
	expireAt int64 // tombstones: when the expiry index removes it; else 0
	key      []byte
	item     []byte
}

const rowFormat = 1

// rowHeader is format, op, flags, version, lca, seq, expireAt.
const rowHeader = 3 + 4*8

func (r *row) encode() []byte { return r.appendTo(make([]byte, 0, r.encodedLen())) }

// encodedLen is an upper bound of the length of r's encoding.
func (r *row) encodedLen() int { return rowHeader + binary.MaxVarintLen64 + len(r.key) + len(r.item) }

// appendTo appends r's encoding to b.
func (r *row) appendTo(b []byte) []byte {
	var flags byte
	if r.deleted {
		flags = 1
	}
	b = append(b, rowFormat, byte(r.op), flags)
	b = binary.BigEndian.AppendUint64(b, uint64(r.version))
	b = binary.BigEndian.AppendUint64(b, uint64(r.lca))
	b = binary.BigEndian.AppendUint64(b, r.seq)
	b = binary.BigEndian.AppendUint64(b, uint64(r.expireAt))
	b = binary.AppendUvarint(b, uint64(len(r.key)))
	b = append(b, r.key...)
	return append(b, r.item...)
}

// decodeRow parses v; key and item alias v.
func decodeRow(v []byte) (row, error) {
	if len(v) < rowHeader || v[0] != rowFormat {
		return row{}, errCorruptRow
	}
	r := row{
		op:       Op(v[1]),
		deleted:  v[2]&1 != 0,
		version:  int64(binary.BigEndian.Uint64(v[3:])),
		lca:      int64(binary.BigEndian.Uint64(v[11:])),
		seq:      binary.BigEndian.Uint64(v[19:]),
		expireAt: int64(binary.BigEndian.Uint64(v[27:])),
	}
	rest := v[rowHeader:]
	n, w := binary.Uvarint(rest)
	if w <= 0 || uint64(len(rest)-w) < n {
		return row{}, errCorruptRow
	}
	r.key = rest[w : w+int(n)]
	r.item = rest[w+int(n):]
	return r, nil
}

// record decodes the key and item JSON into a Record of model.
func (r *row) record(model string) (Record, error) { return r.recordWith(model, nil) }

// recordWith is record with the item read by items, which one read
// shares across its records (nil: none).
func (r *row) recordWith(model string, items *itemReader) (Record, error) {
	rec := Record{Model: model, Version: r.version, LastChangedAt: r.lca, Deleted: r.deleted}
	var err error
	if rec.Key, err = unmarshalKey(r.key); err != nil {
		return Record{}, fmt.Errorf("%w: key: %v", errCorruptRow, err)
	}
	if rec.Item, err = unmarshalItem(r.item, items); err != nil {
		return Record{}, fmt.Errorf("%w: item: %v", errCorruptRow, err)
	}
	return rec, nil
}

// Cursors are a kind byte, a payload and a CRC-32C of both. The checksum
// catches truncated or altered cursors; it is not a signature (the server
// seals its nextTokens), so the payload is also checked against the read.
const (
	cursorScan    = 's'
	cursorChanges = 'c'
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func sealCursor(kind byte, payload []byte) []byte {
	c := make([]byte, 0, 1+len(payload)+4)
	c = append(c, kind)
	c = append(c, payload...)
	return binary.BigEndian.AppendUint32(c, crc32.Checksum(c, castagnoli))
}

func openCursor(kind byte, c []byte) ([]byte, bool) {
	if len(c) < 5 || c[0] != kind {
		return nil, false
	}
	body, sum := c[:len(c)-4], binary.BigEndian.Uint32(c[len(c)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, false
	}
	return body[1:], true
}

// validPK reports whether pk is one or more whole key components.
func validPK(pk []byte) bool {
	if len(pk) == 0 {
		return false
	}
	for len(pk) > 0 {
		var ok bool
		if _, pk, ok = storage.SplitComponent(pk); !ok {
			return false
		}
	}
	return true
}

// scanCursor returns the record key a scan cursor resumes after.
func scanCursor(model string, c []byte) ([]byte, error) {
	k, ok := openCursor(cursorScan, c)
	prefix := modelPrefix(nsRecord, model)
	if !ok || !bytes.HasPrefix(k, prefix) || !validPK(k[len(prefix):]) {
		return nil, fmt.Errorf("%w: scan of %s", ErrBadCursor, model)
	}
	return k, nil
}

// changesCursor returns the log key a changes cursor resumes after. The
// cursor pins since and until: a cursor of another range is refused.
func changesCursor(model string, since, until int64, c []byte) ([]byte, error) {
	p, ok := openCursor(cursorChanges, c)
	bad := fmt.Errorf("%w: changes of %s", ErrBadCursor, model)
	if !ok || len(p) < 16 || readI64(p) != since || readI64(p[8:]) != until {
		return nil, bad
	}
	k := p[16:]
	prefix := modelPrefix(nsLog, model)
	if !bytes.HasPrefix(k, prefix) || len(k) < len(prefix)+16 || !validPK(k[len(prefix)+16:]) {
		return nil, bad
	}
	if lca := readI64(k[len(prefix):]); lca < since || lca >= until {
		return nil, bad
	}
	return k, nil
}

func makeChangesCursor(since, until int64, last []byte) []byte {
	p := make([]byte, 0, 16+len(last))
	p = appendI64(p, since)
	p = appendI64(p, until)
	return sealCursor(cursorChanges, append(p, last...))
}
