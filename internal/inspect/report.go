package inspect

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/storage"
)

// Summary is what a store holds, without its records.
type Summary struct {
	// SchemaVersion is the version (a hash of the stored shape) of the
	// schema that last started the store; Migration its migration number.
	SchemaVersion string `json:"schemaVersion"`
	Migration     int    `json:"migration"`
	// Migrating is the stored position of a migration a run started and
	// did not finish (phase, model, counters), nil when none is under way.
	Migrating map[string]any `json:"migrating,omitempty"`
	// SchemaMismatch is set when the schema given to decode records is
	// not the version the store was written with.
	SchemaMismatch string         `json:"schemaMismatch,omitempty"`
	Models         []ModelSummary `json:"models"`
	// Outbox holds the unsent mutations in send order, each already merged
	// with the later local writes to its record (Rev counts the merges).
	Outbox      []OutboxEntry `json:"outbox"`
	DeadLetters []DeadEntry   `json:"deadLetters"`
}

// OutboxEntry is an outbox entry with its sequence number.
type OutboxEntry struct {
	Seq uint64 `json:"seq"`
	datastore.Mutation
}

// DeadEntry is a dead letter with its sequence number.
type DeadEntry struct {
	Seq uint64 `json:"seq"`
	datastore.DeadLetter
}

// ModelSummary is one model's record count and sync state.
type ModelSummary struct {
	Name    string `json:"name"`
	Records int    `json:"records"`
	// Sync is the model's sync state (lastSync, lastFullSync, the
	// selective-sync expression of the last sync, a sync under way).
	Sync datastore.ModelMetadata `json:"sync"`
}

// Record is one stored record with its sync metadata.
type Record struct {
	Values map[string]any `json:"values"`
	// Sync is nil for a record the backend has never acknowledged.
	Sync *datastore.SyncMeta `json:"sync,omitempty"`
	// Pending is set when an outbox entry for the record waits.
	Pending bool `json:"pending,omitempty"`
	// Key is the record's key in the store, set with Error: why the
	// record could not be decoded with the schema (a record a migration
	// under way already converted, or damage).
	Key   []byte `json:"key,omitempty"`
	Error string `json:"error,omitempty"`
}

// tableIDs reads the catalog: model name to table id. Placeholders of
// migrations (names starting with a zero byte) are left out.
func tableIDs(txn storage.Txn) (map[string]uint32, error) {
	ids := map[string]uint32{}
	p := storage.TableIDPrefix()
	it := txn.Iterate(storage.IterOptions{Prefix: p})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		name := string(it.Key()[len(p):])
		v, err := it.ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		if len(v) != 4 {
			return nil, fmt.Errorf("inspect: catalog entry of %q is damaged (%d bytes, want 4)", name, len(v))
		}
		if name != "" && name[0] != 0 {
			ids[name] = binary.BigEndian.Uint32(v)
		}
	}
	return ids, nil
}

// Summary reads the store's models, outbox, dead letters and settings.
func (s *Store) Summary(ctx context.Context) (*Summary, error) {
	sum := &Summary{Outbox: []OutboxEntry{}, DeadLetters: []DeadEntry{}}
	err := s.db.View(func(txn storage.Txn) error {
		if err := s.settings(txn, sum); err != nil {
			return err
		}
		ids, err := tableIDs(txn)
		if err != nil {
			return err
		}
		for _, m := range s.schema.Models {
			if err := ctx.Err(); err != nil {
				return err
			}
			ms := ModelSummary{Name: m.Name, Sync: datastore.ModelMetadata{Model: m.Name}}
			if id, ok := ids[m.Name]; ok {
				ms.Records = count(txn, storage.RecordPrefix(id))
			}
			b, err := get(txn, storage.ModelMetaKey(m.Name))
			if err != nil {
				return err
			}
			if b != nil {
				if err := json.Unmarshal(b, &ms.Sync); err != nil {
					return fmt.Errorf("inspect: sync state of %s is damaged: %w", m.Name, err)
				}
			}
			sum.Models = append(sum.Models, ms)
		}
		return s.mutations(txn, sum)
	})
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	return sum, nil
}

func (s *Store) settings(txn storage.Txn, sum *Summary) error {
	v, err := get(txn, storage.SettingKey(settingSchemaVersion))
	if err != nil {
		return err
	}
	sum.SchemaVersion = string(v)
	if v, err = get(txn, storage.SettingKey(settingMigration)); err != nil {
		return err
	}
	if v != nil {
		if sum.Migration, err = strconv.Atoi(string(v)); err != nil {
			return fmt.Errorf("inspect: the store's migration number %q is damaged", v)
		}
	}
	if v, err = get(txn, storage.SettingKey(settingMigrating)); err != nil {
		return err
	}
	if v != nil {
		if err := json.Unmarshal(v, &sum.Migrating); err != nil {
			return fmt.Errorf("inspect: the state of the migration under way is damaged: %w", err)
		}
	}
	if !s.FromStore && s.schema.Version != "" && sum.SchemaVersion != "" && s.schema.Version != sum.SchemaVersion {
		sum.SchemaMismatch = fmt.Sprintf("the store was last started with schema version %s, the schema given is version %s: records may not decode as they were written", sum.SchemaVersion, s.schema.Version)
	}
	return nil
}

// mutations reads the outbox and the dead letters in sequence (send) order.
func (s *Store) mutations(txn storage.Txn, sum *Summary) error {
	read := func(prefix []byte, fn func(seq uint64, b []byte) error) error {
		it := txn.Iterate(storage.IterOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Key()
			if len(k) != len(prefix)+8 {
				return fmt.Errorf("inspect: a key %x under %x is damaged", k, prefix)
			}
			b, err := it.ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := fn(binary.BigEndian.Uint64(k[len(prefix):]), b); err != nil {
				return err
			}
		}
		return nil
	}
	err := read(storage.OutboxPrefix(), func(seq uint64, b []byte) error {
		var m datastore.Mutation
		if err := decodeJSON(b, &m); err != nil {
			return fmt.Errorf("inspect: outbox entry %d is damaged: %w", seq, err)
		}
		m.Seq = seq
		sum.Outbox = append(sum.Outbox, OutboxEntry{seq, m})
		return nil
	})
	if err != nil {
		return err
	}
	return read(storage.DeadLetterPrefix(), func(seq uint64, b []byte) error {
		var d datastore.DeadLetter
		if err := decodeJSON(b, &d); err != nil {
			return fmt.Errorf("inspect: dead letter %d is damaged: %w", seq, err)
		}
		d.Seq = seq
		sum.DeadLetters = append(sum.DeadLetters, DeadEntry{seq, d})
		return nil
	})
}

// decodeJSON decodes with numbers kept exact, as the store writes them.
func decodeJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func count(txn storage.Txn, prefix []byte) int {
	it := txn.Iterate(storage.IterOptions{Prefix: prefix})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		n++
	}
	return n
}

// Records returns up to limit records of model (every record when limit is
// 0) in primary key order, decoded with the schema.
func (s *Store) Records(ctx context.Context, model string, limit int) ([]Record, error) {
	m := s.schema.Model(model)
	if m == nil {
		return nil, fmt.Errorf("inspect: no model %q in the schema (models: %s)", model, modelNames(s.schema))
	}
	recs := []Record{}
	err := s.db.View(func(txn storage.Txn) error {
		ids, err := tableIDs(txn)
		if err != nil {
			return err
		}
		id, ok := ids[model]
		if !ok {
			return nil // never written
		}
		prefix := storage.RecordPrefix(id)
		it := txn.Iterate(storage.IterOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid() && (limit <= 0 || len(recs) < limit); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			key := it.KeyCopy(nil)
			r, err := s.record(txn, m, id, key, it)
			if err != nil {
				return err
			}
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inspect: %s: %w", model, err)
	}
	return recs, nil
}

func (s *Store) record(txn storage.Txn, m *meta.Model, id uint32, key []byte, it storage.Iterator) (Record, error) {
	var r Record
	err := it.Value(func(v []byte) error {
		var err error
		r.Values, err = codec.DecodeMap(s.schema, m.Fields, v)
		return err
	})
	if err != nil {
		r.Values, r.Key, r.Error = nil, key, err.Error()
	}
	pk := key[len(storage.RecordPrefix(id)):]
	b, err := get(txn, append(storage.SyncMetaPrefix(id), pk...))
	if err != nil {
		return r, err
	}
	if b != nil {
		r.Sync = &datastore.SyncMeta{}
		if err := json.Unmarshal(b, r.Sync); err != nil {
			return r, fmt.Errorf("record %x: sync metadata is damaged: %w", key, err)
		}
	}
	p, err := get(txn, storage.PendingKey(key))
	r.Pending = p != nil
	return r, err
}

func modelNames(s *meta.Schema) string {
	var b bytes.Buffer
	for i, m := range s.Models {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.Name)
	}
	return b.String()
}
