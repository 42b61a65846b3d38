package datastore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/datastore/internal/engine"
	"github.com/dsgen/dsgen/runtime/datastore/internal/syncrec"
	"github.com/dsgen/dsgen/runtime/scalar"
	"github.com/dsgen/dsgen/runtime/storage"
)

// SyncMeta is a record's sync metadata, kept beside the record and never in
// the user's struct (ARCHITECTURE.md rule 3).
type SyncMeta struct {
	Version       int64 `json:"v"`
	LastChangedAt int64 `json:"t"`
	Deleted       bool  `json:"d,omitempty"`
	// Seen is the startedAt of the last full sync that listed the record.
	Seen int64 `json:"s,omitempty"`
	// Held is the newest backend copy that arrived while a local mutation
	// of the record was pending (JSON), and HeldVersion its _version. It
	// is applied when the last pending mutation completes, if the answer is
	// older: an event can overtake the answer to our own mutation, and
	// dropping it would leave the record behind the backend until the next
	// full sync.
	Held        json.RawMessage `json:"h,omitempty"`
	HeldVersion int64           `json:"hv,omitempty"`
}

// ApplyOption tunes ApplyRemote.
type ApplyOption func(*applyOptions)

type applyOptions struct {
	seen int64
	md   *ModelMetadata
}

// SeenIn marks every record of the page as listed by the full sync that
// started at startedAt, for SweepUnseen.
func SeenIn(startedAt int64) ApplyOption { return func(o *applyOptions) { o.seen = startedAt } }

// WithModelMetadata stores md, the model's sync state after the page (the
// position a sync cut short resumes from), in the page's transaction: the
// page and the position are stored together, with one commit instead of
// two.
func WithModelMetadata(md ModelMetadata) ApplyOption {
	return func(o *applyOptions) { o.md = &md }
}

func syncMetaKey(t *engine.Table, recordKey []byte) []byte {
	return append(storage.SyncMetaPrefix(t.ID), recordKey[len(t.Prefix):]...)
}

func readSyncMeta(txn storage.Txn, t *engine.Table, recordKey []byte) (*SyncMeta, error) {
	b, err := engine.Get(txn, syncMetaKey(t, recordKey))
	if err != nil || b == nil {
		return nil, err
	}
	var m SyncMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errorf("%s: sync metadata: %w", t.Model.Name, err)
	}
	return &m, nil
}

func writeSyncMeta(txn storage.Txn, t *engine.Table, recordKey []byte, m SyncMeta) error {
	return txn.Set(syncMetaKey(t, recordKey), m.appendJSON(nil))
}

// appendJSON appends m as json.Marshal writes it (same keys, order and
// omissions), without reflection: a base sync writes it for every record.
func (m SyncMeta) appendJSON(b []byte) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, m.Version, 10)
	b = append(b, `,"t":`...)
	b = strconv.AppendInt(b, m.LastChangedAt, 10)
	if m.Deleted {
		b = append(b, `,"d":true`...)
	}
	if m.Seen != 0 {
		b = append(b, `,"s":`...)
		b = strconv.AppendInt(b, m.Seen, 10)
	}
	if len(m.Held) > 0 {
		b = append(b, `,"h":`...)
		b = append(b, m.Held...)
	}
	if m.HeldVersion != 0 {
		b = append(b, `,"hv":`...)
		b = strconv.AppendInt(b, m.HeldVersion, 10)
	}
	return append(b, '}')
}

// seenOf reads Seen from sync metadata as appendJSON (and json.Marshal)
// writes it, without decoding the rest: SweepUnseen reads it for every
// record after a full sync. ok is false for any other shape.
func seenOf(b []byte) (int64, bool) {
	num := func(b []byte) ([]byte, []byte) {
		i := 0
		if i < len(b) && b[i] == '-' {
			i++
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return b[:i], b[i:]
	}
	rest, ok := bytes.CutPrefix(b, []byte(`{"v":`))
	if !ok {
		return 0, false
	}
	v, rest := num(rest)
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"t":`)); !ok || len(v) == 0 {
		return 0, false
	}
	if v, rest = num(rest); len(v) == 0 {
		return 0, false
	}
	rest, _ = bytes.CutPrefix(rest, []byte(`,"d":true`))
	if rest, ok := bytes.CutPrefix(rest, []byte(`,"s":`)); ok {
		n, rest := num(rest)
		seen, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || len(rest) == 0 || (rest[0] != '}' && rest[0] != ',') {
			return 0, false
		}
		return seen, true
	}
	if bytes.Equal(rest, []byte("}")) || bytes.HasPrefix(rest, []byte(`,"h`)) {
		return 0, true
	}
	return 0, false
}

// RecordSyncMeta returns the sync metadata of the record of model under
// key, and false when the record has never been synced.
func (s *Store) RecordSyncMeta(ctx context.Context, model string, key ...any) (SyncMeta, bool, error) {
	var out SyncMeta
	var found bool
	if err := s.live(ctx); err != nil {
		return out, false, err
	}
	t, err := s.table(model)
	if err != nil {
		return out, false, err
	}
	rk, err := keyFromValues(t, key)
	if err != nil {
		return out, false, err
	}
	err = s.view(nil, func(txn storage.Txn) error {
		m, err := readSyncMeta(txn, t, rk)
		if m != nil {
			out, found = *m, true
		}
		return err
	})
	return out, found, err
}

func (s *Store) table(model string) (*engine.Table, error) {
	t := s.eng.Tables[model]
	if t == nil {
		return nil, errorf("no model %q: %w", model, ErrNotFound)
	}
	return t, nil
}

// keyFromValues builds a record key of t from primary key values as they
// come over the wire; a value that makes no key is a ValidationError.
func keyFromValues(t *engine.Table, values []any) ([]byte, error) {
	k, err := t.KeyFromValues(values)
	var ke *engine.KeyError
	if errors.As(err, &ke) {
		return nil, &ValidationError{Model: t.Model.Name, Field: ke.Field, Reason: ke.Reason}
	}
	if err != nil {
		return nil, errorf("%w", err)
	}
	return k, nil
}

// ApplyResult counts what ApplyRemote did with a page of records.
type ApplyResult struct {
	Applied int
	// Skipped records were held back (a local mutation for them is
	// pending) or not newer than the local copy.
	Skipped int
	// Rejected records could not be stored (they do not fit the schema);
	// the local copy, if any, is kept.
	Rejected []error
}

// ApplyRemote applies records received from the backend (a sync page or a
// subscription event) to model, in one transaction: a record is applied
// only when no local mutation for it is pending and its _version is newer
// than the local copy's; a tombstone (_deleted) deletes the local record
// (not its children: their own tombstones arrive separately). Observers see
// the changes with FromSync set.
func (y SyncStore) ApplyRemote(ctx context.Context, model string, items []map[string]any, opts ...ApplyOption) (ApplyResult, error) {
	return y.applyRemote(ctx, model, len(items), func(t *engine.Table, out []remoteItem, rks [][]byte, slab *applyPage) error {
		// The page's key values share one allocation.
		values := make([]any, len(items)*len(t.PK))
		for i, item := range items {
			v := values[i*len(t.PK) : (i+1)*len(t.PK) : (i+1)*len(t.PK)]
			out[i] = mapItem(item, t.KeyValuesInto(v, item))
			rks[i] = slab.key(t, out[i].key)
		}
		return nil
	}, opts)
}

// ApplyRemoteJSON is ApplyRemote of records given as JSON objects (as
// client.SyncPage.RawItems holds them), with numbers read as
// json.Number: the result is ApplyRemote's for the decoded records. A
// record whose fields are of the common kinds is read straight into its
// stored form, without a map; any other is decoded and applied as
// ApplyRemote does. Text that is not a JSON object (or null) fails the
// page before anything is applied.
func (y SyncStore) ApplyRemoteJSON(ctx context.Context, model string, items []json.RawMessage, opts ...ApplyOption) (ApplyResult, error) {
	return y.applyRemote(ctx, model, len(items), func(t *engine.Table, out []remoteItem, rks [][]byte, slab *applyPage) error {
		rd := newJSONRecord(y.s.schema, t)
		keys := map[string]string{} // interned by the records decoded
		for i, raw := range items {
			if rd.read(raw, &out[i], &rks[i], slab) {
				continue
			}
			m, err := decodeItem(raw, keys)
			if err != nil {
				return errorf("%s: record %d of the page: %w", model, i, err)
			}
			out[i] = mapItem(m, t.KeyValues(m))
			rks[i] = slab.key(t, out[i].key)
		}
		return nil
	}, opts)
}

// applyRemote is ApplyRemote of n records that read fills in, with their
// record keys (nil for a key that does not parse: applyRemoteKey words it)
// carved from slab.
func (y SyncStore) applyRemote(ctx context.Context, model string, n int, read func(t *engine.Table, out []remoteItem, rks [][]byte, slab *applyPage) error, opts []ApplyOption) (ApplyResult, error) {
	s := y.s
	var res ApplyResult
	var o applyOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := s.live(ctx); err != nil {
		return res, err
	}
	t, err := s.table(model)
	if err != nil {
		return res, err
	}
	var mdJSON []byte
	if o.md != nil {
		if o.md.Model != model {
			return res, errorf("sync state of %q given with a page of %q", o.md.Model, model)
		}
		if mdJSON, err = json.Marshal(o.md); err != nil {
			return res, err
		}
	}
	items := make([]remoteItem, n)
	rks := make([][]byte, n)
	var slab applyPage
	if err := read(t, items, rks, &slab); err != nil {
		return res, err
	}
	// One ApplyRemote of a model at a time: see pageScan.
	mu := s.applyMu[model]
	mu.Lock()
	defer mu.Unlock()
	attempt := 0
	err = s.update(ctx, func(tx *Txn) error {
		res = ApplyResult{}
		attempt++
		tx.events = slices.Grow(tx.events, len(items))
		pg := &applyPage{}
		// After a conflict, look every record up: skipping the lookups
		// makes a page conflict with any concurrent local write (see
		// pageScan), which a busy app could repeat every time.
		if err := tx.pageScan(t, rks, attempt == 1, pg); err != nil {
			return err
		}
		if s.pageScanned != nil {
			s.pageScanned()
		}
		for i := range items {
			applied, err := tx.applyRemoteKey(t, &items[i], rks[i], false, pg, o.seen)
			switch {
			case err == nil && applied:
				res.Applied++
			case err == nil:
				res.Skipped++
			default:
				// rej only here: errors.As makes it escape, an
				// allocation per record otherwise.
				var rej *RemoteRecordError
				if !errors.As(err, &rej) {
					return err
				}
				res.Rejected = append(res.Rejected, err)
			}
		}
		if mdJSON != nil {
			return tx.btx.Set(storage.ModelMetaKey(model), mdJSON)
		}
		return nil
	})
	return res, err
}

// remoteItem is a record from the backend as applyRemoteKey takes it:
// decoded (m, with its key values), or read from its JSON text (raw)
// straight into its stored form (data) by jsonRecord.
type remoteItem struct {
	m   map[string]any
	key []any
	raw []byte
	// data is the encoded record of a record read from raw.
	data             []byte
	version, changed int64
	deleted          bool
}

// mapItem is the remoteItem of a decoded record with key values key.
func mapItem(item map[string]any, key []any) remoteItem {
	version, _ := scalar.Int64Of(item["_version"])
	changed, _ := scalar.Int64Of(item["_lastChangedAt"])
	deleted, _ := item["_deleted"].(bool)
	return remoteItem{m: item, key: key, version: version, changed: changed, deleted: deleted}
}

// item returns the record decoded.
func (it *remoteItem) item() (map[string]any, error) {
	if it.raw == nil {
		return it.m, nil
	}
	return decodeItem(it.raw, nil)
}

// minFreshPage is the smallest page pageScan looks at: for fewer records
// (a subscription event is one) the point reads cost less than its
// iterators.
const minFreshPage = 16

// pageScan looks at the key range of a page (by record keys, nil for a key
// that did not parse) before it is applied, with one iterator seek per key
// space, and sets what it finds in pg. It answers only for pages in
// strictly ascending key order (as the server lists them); otherwise
// both flags stay false and every record is looked up.
//
// pg.fresh: no record of the page has a pending mutation or sync metadata,
// as a base sync into an empty model finds. applyRemoteKey then skips
// those two point reads per record and reads only the record itself. That
// keeps conflict detection: every transaction that creates a pending mark
// also writes the record, which applyRemoteKey then reads (so a concurrent
// local write conflicts), and the one that writes sync metadata without
// the record (a tombstone for a record not stored here) deletes the record
// key too.
//
// pg.absent (only when blind, and only in a store with an outbox): the
// page is fresh and no record is stored in its key range either, so
// applyRemoteKey need not read the records at all (a base sync from
// dsgen serve, which lists records in key order, finds this on every
// page). The reads it skips are also what made a concurrent write of one
// of the page's records conflict with the page; instead:
//   - every local write of a record in an outbox store either creates a
//     pending mark, which takes a number from syncrec.SeqKey, or merges
//     into one that was there already (then the page is not fresh, or the
//     mark is newer than the page's snapshot and its creation wrote
//     SeqKey): pageScan reads SeqKey, so any such write conflicts;
//   - writes from the backend's side (ApplyRemote) of the same model are
//     kept out by Store.applyMu, and the others (a completed mutation, a
//     held copy released) concern records with a pending mark;
//   - records of earlier pages are committed before this page begins, and
//     a page repeats no key (ascending order).
func (tx *Txn) pageScan(t *engine.Table, rks [][]byte, blind bool, pg *applyPage) error {
	if len(rks) < minFreshPage {
		return nil
	}
	for i, rk := range rks {
		if rk == nil || (i > 0 && bytes.Compare(rks[i-1], rk) >= 0) {
			return nil
		}
	}
	first, last := rks[0], rks[len(rks)-1]
	inRange := func(prefix, from, to []byte) bool {
		it := tx.btx.Iterate(storage.IterOptions{Prefix: prefix})
		defer it.Close()
		it.Seek(from)
		return it.Valid() && bytes.Compare(it.Key(), to) <= 0
	}
	if inRange(storage.PendingKey(t.Prefix), storage.PendingKey(first), storage.PendingKey(last)) ||
		inRange(storage.SyncMetaPrefix(t.ID), syncMetaKey(t, first), syncMetaKey(t, last)) {
		return nil
	}
	pg.fresh = true
	if !blind || !tx.store.cfg.outbox || inRange(t.Prefix, first, last) {
		return nil
	}
	if _, err := tx.btx.Get(syncrec.SeqKey); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	pg.absent = true
	return nil
}

// applyRemote writes one backend record. force skips the pending and
// version checks (a mutation's own response).
func (tx *Txn) applyRemote(t *engine.Table, item map[string]any, force bool, seen int64) (bool, error) {
	key := t.KeyValues(item)
	rk, err := keyFromValues(t, key)
	if err != nil {
		return false, &RemoteRecordError{Model: t.Model.Name, Key: key, Err: err}
	}
	it := mapItem(item, key)
	return tx.applyRemoteKey(t, &it, rk, force, nil, seen)
}

// applyPage is what the records of one page share in applyRemoteKey:
// what pageScan found and memory reused from one record to the next.
type applyPage struct {
	fresh, absent bool
	// row and comps are reused by project.
	row   engine.Row
	comps []byte
	// slab is carved into the encoded records and their sync metadata
	// (one allocation for many records instead of several for each).
	slab []byte
	// metaPrefix is the page's table's SyncMetaPrefix.
	metaPrefix []byte
	// ixKey is indexKey's function, made once per page.
	ixKey func(ix *engine.Index, r engine.Row) []byte
}

// carve calls fill with an empty slice of spare capacity from p's slab
// and returns what fill appended, capped so that later appends to it
// cannot reach the next record's bytes. A nil p allocates as usual.
func (p *applyPage) carve(fill func(dst []byte) ([]byte, error)) ([]byte, error) {
	if p == nil {
		return fill(nil)
	}
	const slabSize, minSpare = 64 << 10, 1 << 10
	if cap(p.slab)-len(p.slab) < minSpare {
		p.slab = make([]byte, 0, slabSize)
	}
	start := len(p.slab)
	spare := cap(p.slab) - start
	b, err := fill(p.slab[start:start])
	if err != nil || len(b) == 0 {
		return b, err
	}
	if cap(b) == spare { // still in the slab: it did not outgrow it
		p.slab = p.slab[:start+len(b)]
	}
	return b[:len(b):len(b)], nil
}

// key returns the record key of t with key values key, carved from p's
// slab, or nil when they make no key.
func (p *applyPage) key(t *engine.Table, key []any) []byte {
	rk, _ := p.carve(func(dst []byte) ([]byte, error) { return t.AppendKeyFromValues(dst, key) })
	return rk
}

// indexKey returns the index key builder of WriteRecordKeys for t: keys
// carved from p's slab (nil p: t.IndexKey). A carved key stays valid: the
// slab is not reused.
func (p *applyPage) indexKey(t *engine.Table) func(ix *engine.Index, r engine.Row) []byte {
	if p == nil {
		return nil
	}
	if p.ixKey == nil {
		p.ixKey = func(ix *engine.Index, r engine.Row) []byte {
			k, _ := p.carve(func(dst []byte) ([]byte, error) { return t.AppendIndexKey(dst, ix, r), nil })
			return k
		}
	}
	return p.ixKey
}

// project is t.Project of data, reusing the row and component buffer of
// the page's previous record (WriteRecord keeps neither).
func (p *applyPage) project(t *engine.Table, data []byte) (engine.Row, error) {
	if p == nil {
		return t.Project(data)
	}
	var err error
	p.row, p.comps, err = t.ProjectInto(p.row, p.comps, data)
	return p.row, err
}

// writeSyncMeta writes m as the sync metadata of the record under rk,
// in p's slab.
func (p *applyPage) writeSyncMeta(txn storage.Txn, t *engine.Table, rk []byte, m SyncMeta) error {
	if p == nil {
		return writeSyncMeta(txn, t, rk, m)
	}
	if p.metaPrefix == nil {
		p.metaPrefix = storage.SyncMetaPrefix(t.ID)
	}
	kv, _ := p.carve(func(dst []byte) ([]byte, error) {
		dst = append(append(dst, p.metaPrefix...), rk[len(t.Prefix):]...)
		return m.appendJSON(dst), nil
	})
	n := len(p.metaPrefix) + len(rk) - len(t.Prefix)
	return txn.Set(kv[:n:n], kv[n:])
}

// applyRemoteKey is applyRemote with the record's key values and record
// key (nil when they make no key) worked out. pg is the page's shared
// state (nil for a record on its own); when it is fresh, the page's
// records had no pending mutation and no sync metadata when the
// transaction began, and when it is absent, they were not stored either
// (see pageScan).
func (tx *Txn) applyRemoteKey(t *engine.Table, it *remoteItem, rk []byte, force bool, pg *applyPage, seen int64) (bool, error) {
	fresh := pg != nil && pg.fresh
	if rk == nil {
		_, err := keyFromValues(t, it.key)
		return false, &RemoteRecordError{Model: t.Model.Name, Key: it.key, Err: err}
	}
	version, changed, deleted := it.version, it.changed, it.deleted
	var old []byte
	looked := false // old is the stored record
	if fresh && !force {
		// Nothing of the record was there when the page began but
		// perhaps the record itself; its own write earlier in this page
		// would show here (keys are distinct in a fresh page, so that
		// cannot happen, but stay exact).
		if !pg.absent {
			var err error
			if old, err = engine.Get(tx.btx, rk); err != nil {
				return false, err
			}
			fresh = old == nil
		}
		looked = true
	}
	if !force && !fresh {
		_, pending, err := syncrec.PendingSeq(tx.btx, rk)
		if err != nil {
			return false, err
		}
		m, err := readSyncMeta(tx.btx, t, rk)
		if err != nil {
			return false, err
		}
		if pending {
			item, err := it.item()
			if err != nil {
				return false, err
			}
			return false, tx.hold(t, rk, m, item, version, seen)
		}
		if m != nil && m.Version >= version {
			if seen != 0 && m.Seen != seen {
				m.Seen = seen
				return false, writeSyncMeta(tx.btx, t, rk, *m)
			}
			return false, nil
		}
	}
	if !looked {
		var err error
		if old, err = engine.Get(tx.btx, rk); err != nil {
			return false, err
		}
	}
	if deleted {
		if old == nil {
			// Not stored here: only the sync metadata is written. Delete
			// the record key as well, so a transaction that read it (a
			// fresh page applying the record, see pageScan) conflicts.
			if err := tx.btx.Delete(rk); err != nil {
				return false, err
			}
		} else {
			rw, err := t.Project(old)
			if err != nil {
				return false, err
			}
			if err := tx.deleteAll([]doomed{{t: t, key: rk, data: old, row: rw}}, true); err != nil {
				return false, err
			}
		}
		return true, writeSyncMeta(tx.btx, t, rk, SyncMeta{Version: version, LastChangedAt: changed, Deleted: true, Seen: seen})
	}
	data := it.data
	if it.raw == nil {
		fields, item := t.Model.Fields, it.m
		var err error
		data, err = pg.carve(func(dst []byte) ([]byte, error) {
			return codec.EncodeFields(tx.store.schema, fields, func(i int) (any, bool) {
				if f := fields[i]; f.Stored() {
					if v, ok := item[f.Name]; ok {
						return engine.WireValue(f, v), true
					}
				}
				return nil, false
			}, dst)
		})
		if err != nil {
			return false, &RemoteRecordError{Model: t.Model.Name, Key: it.key, Err: err}
		}
	}
	rw, err := pg.project(t, data)
	if err != nil {
		key := it.key
		if it.raw != nil { // words the error as for the decoded record
			if item, derr := it.item(); derr == nil {
				key = t.KeyValues(item)
			}
		}
		return false, &RemoteRecordError{Model: t.Model.Name, Key: key, Err: err}
	}
	if err := t.WriteRecordKeys(tx.btx, rk, data, rw, old, pg.indexKey(t)); err != nil {
		return false, err
	}
	op := OpCreate
	if old != nil {
		op = OpUpdate
	}
	tx.events = append(tx.events, event{table: t, op: op, key: rk, data: data, fromSync: true})
	return true, pg.writeSyncMeta(tx.btx, t, rk, SyncMeta{Version: version, LastChangedAt: changed, Seen: seen})
}

// hold keeps item, a backend copy that arrived while a local mutation of
// the record is pending, in the record's sync metadata when it is the
// newest seen, so releaseHeld can apply it once the mutation completes. A
// full sync that listed the record (seen) marks it, as applyRemote does.
func (tx *Txn) hold(t *engine.Table, rk []byte, m *SyncMeta, item map[string]any, version, seen int64) error {
	if m == nil {
		m = &SyncMeta{}
	}
	if version <= m.Version || version <= m.HeldVersion {
		if seen != 0 && m.Seen != seen {
			m.Seen = seen
			return writeSyncMeta(tx.btx, t, rk, *m)
		}
		return nil
	}
	if seen != 0 {
		m.Seen = seen
	}
	b, err := json.Marshal(item)
	if err != nil {
		return errorf("datastore: %s: hold a backend copy: %w", t.Model.Name, err)
	}
	m.Held, m.HeldVersion = b, version
	return writeSyncMeta(tx.btx, t, rk, *m)
}

// releaseHeld applies the backend copy held back while the record had
// pending mutations (none is pending now) when it is newer than what the
// record took since, and forgets it either way.
func (tx *Txn) releaseHeld(t *engine.Table, rk []byte, held json.RawMessage, heldVersion int64) error {
	if held == nil {
		return nil
	}
	m, err := readSyncMeta(tx.btx, t, rk)
	if err != nil {
		return err
	}
	if m != nil && m.Version >= heldVersion {
		if m.Held == nil {
			return nil
		}
		m.Held, m.HeldVersion = nil, 0
		return writeSyncMeta(tx.btx, t, rk, *m)
	}
	d := json.NewDecoder(bytes.NewReader(held))
	d.UseNumber()
	var item map[string]any
	if err := d.Decode(&item); err != nil {
		return errorf("datastore: %s: held backend copy: %w", t.Model.Name, err)
	}
	var seen int64
	if m != nil {
		seen = m.Seen
	}
	_, err = tx.applyRemote(t, item, true, seen)
	var rej *RemoteRecordError
	if errors.As(err, &rej) {
		return nil // it did not fit the schema when it arrived either
	}
	return err
}

// SweepUnseen deletes the local records of model that the backend knows
// (they have sync metadata) but the full sync that started at startedAt
// did not list: records deleted on the backend whose tombstones expired.
// Records with a pending mutation are kept. It works in bounded
// transactions and reports how many records it removed.
func (y SyncStore) SweepUnseen(ctx context.Context, model string, startedAt int64) (int, error) {
	s := y.s
	if err := s.live(ctx); err != nil {
		return 0, err
	}
	t, err := s.table(model)
	if err != nil {
		return 0, err
	}
	prefix := storage.SyncMetaPrefix(t.ID)
	removed := 0
	var after []byte
	for {
		var batch [][]byte
		err := s.view(nil, func(txn storage.Txn) error {
			it := txn.Iterate(storage.IterOptions{Prefix: prefix})
			defer it.Close()
			start := prefix
			if after != nil {
				start = append(after, 0)
			}
			// After a full sync nearly every record was seen: read each
			// one's metadata in place and copy only the keys kept.
			for it.Seek(start); it.Valid() && len(batch) < 500; it.Next() {
				var seen int64
				var ok bool
				if err := it.Value(func(b []byte) error {
					if seen, ok = seenOf(b); !ok {
						var m SyncMeta
						if json.Unmarshal(b, &m) == nil {
							seen, ok = m.Seen, true
						}
					}
					return nil
				}); err != nil {
					return err
				}
				if ok && seen != startedAt {
					batch = append(batch, it.KeyCopy(nil))
				}
			}
			after = nil
			if it.Valid() { // the batch is full: go on after its last key
				after = bytes.Clone(batch[len(batch)-1])
			}
			return nil
		})
		if err != nil {
			return removed, err
		}
		n := 0
		err = s.update(ctx, func(tx *Txn) error {
			n = 0
			for _, mk := range batch {
				rk := append(bytes.Clone(t.Prefix), mk[len(prefix):]...)
				if _, pending, err := syncrec.PendingSeq(tx.btx, rk); err != nil || pending {
					if err != nil {
						return err
					}
					continue
				}
				old, err := engine.Get(tx.btx, rk)
				if err != nil {
					return err
				}
				if old != nil {
					rw, err := t.Project(old)
					if err != nil {
						return err
					}
					if err := tx.deleteAll([]doomed{{t: t, key: rk, data: old, row: rw}}, true); err != nil {
						return err
					}
					n++
				}
				if err := tx.btx.Delete(mk); err != nil {
					return err
				}
			}
			return nil
		})
		removed += n
		if err != nil || after == nil {
			return removed, err
		}
	}
}

// CompleteMutation records the backend's answer to a sent mutation: the
// record's sync metadata takes the answer's version, the entry leaves the
// outbox (unless a local write merged into it while it was sent: then it is
// sent again), and, when no other mutation of the record is pending, the
// answer (which may hold the server's merge) replaces the local copy.
func (y SyncStore) CompleteMutation(ctx context.Context, m *Mutation, result map[string]any) error {
	s := y.s
	if err := s.live(ctx); err != nil {
		return err
	}
	t, err := s.table(m.Model)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *Txn) error {
		e, err := readMutation(tx.btx, m.Seq)
		if err != nil {
			return err
		}
		if e != nil && e.Rev != m.Rev {
			e.InFlight = false
			if err := writeMutation(tx.btx, e); err != nil {
				return err
			}
		} else if e != nil {
			if err := tx.dropEntry(e); err != nil {
				return err
			}
		}
		if result == nil {
			return nil
		}
		rk, err := keyFromValues(t, t.KeyValues(result))
		if err != nil {
			return err
		}
		prev, err := readSyncMeta(tx.btx, t, rk)
		if err != nil {
			return err
		}
		var held json.RawMessage
		var heldVersion int64
		if prev != nil {
			held, heldVersion = prev.Held, prev.HeldVersion
		}
		if _, pending, err := syncrec.PendingSeq(tx.btx, rk); err != nil {
			return err
		} else if pending {
			// Later writes are queued: keep the local values, take
			// the version they will be sent with, and keep holding a
			// newer backend copy until they are done.
			version, _ := scalar.Int64Of(result["_version"])
			changed, _ := scalar.Int64Of(result["_lastChangedAt"])
			deleted, _ := result["_deleted"].(bool)
			m := SyncMeta{Version: version, LastChangedAt: changed, Deleted: deleted}
			if heldVersion > version {
				m.Held, m.HeldVersion = held, heldVersion
			}
			return writeSyncMeta(tx.btx, t, rk, m)
		}
		if _, err := tx.applyRemote(t, maps.Clone(result), true, 0); err != nil {
			return err
		}
		return tx.releaseHeld(t, rk, held, heldVersion)
	})
}
