// Package syncrec holds the records a datastore keeps for sync, in their
// stored form: outbox entries (Mutation), dead letters, each model's sync
// state (ModelMetadata), the outbox sequence counter and the pending marks
// that point a record at its newest outbox entry. Package datastore exposes
// the types under the same names; the migrator rewrites them without
// importing datastore.
package syncrec

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"

	"github.com/dsgen/dsgen/runtime/storage"
)

// MutationOp is the kind of a queued mutation.
type MutationOp string

// The mutation kinds, named as the GraphQL mutations.
const (
	MutationCreate MutationOp = "create"
	MutationUpdate MutationOp = "update"
	MutationDelete MutationOp = "delete"
)

// Mutation is one outbox entry.
type Mutation struct {
	// Seq orders the outbox; it is the entry's key.
	Seq   uint64     `json:"-"`
	Model string     `json:"model"`
	Op    MutationOp `json:"op"`
	// Key holds the record's primary key values, in key order.
	Key []any `json:"key"`
	// Data holds the values to send, JSON-shaped: the whole record for a
	// create, the key and the changed fields for an update, the key for a
	// delete.
	Data map[string]any `json:"data"`
	// Condition is the GraphQL condition input to send, or nil.
	Condition map[string]any `json:"condition,omitempty"`
	// InFlight is set while the sync engine sends the entry; a later local
	// write to the record queues behind it instead of merging.
	InFlight bool `json:"inFlight,omitempty"`
	// Rev counts the merges into the entry, so completing a send that
	// raced with a merge keeps the merged entry for another send.
	Rev uint64 `json:"rev"`
	// Attempts counts the sends that failed and will be retried.
	Attempts int `json:"attempts,omitempty"`
	// Enqueued is when the entry was made (ms since the epoch).
	Enqueued int64 `json:"enqueued"`
	// RecordKey is the entry's record in the store's key space.
	RecordKey []byte `json:"recordKey"`
	// Version is the record's _version when NextMutation handed the entry
	// out (0 for a record the backend has never acknowledged): send it.
	Version int64 `json:"-"`
	// Resent is set when NextMutation hands out an entry that was already
	// in flight (the process stopped during its send): the backend may
	// have applied it.
	Resent bool `json:"-"`
}

// DeadLetter is a mutation the backend refused for good, with why.
type DeadLetter struct {
	Mutation
	Reason string `json:"reason"`
	Failed int64  `json:"failed"`
}

// ModelMetadata is the sync state of one model, kept in the system table
// the sync engine reads (Amplify's ModelMetadata).
type ModelMetadata struct {
	Model string `json:"model"`
	// LastSync is the server's startedAt of the last completed sync (ms).
	LastSync *int64 `json:"lastSync"`
	// LastFullSync is the startedAt of the last full (base) sync (ms).
	LastFullSync *int64 `json:"lastFullSync"`
	// LastSyncPredicate is the sync expression of the last sync, as JSON.
	LastSyncPredicate *string `json:"lastSyncPredicate"`
	// A sync under way: its startedAt, the nextToken of the next page and
	// whether it is a full sync, so a crash mid-sync resumes it.
	SyncStartedAt *int64  `json:"syncStartedAt,omitempty"`
	SyncNextToken *string `json:"syncNextToken,omitempty"`
	SyncFull      bool    `json:"syncFull,omitempty"`
}

// SeqKey holds the last sequence number given to an outbox entry or dead
// letter. Reading and writing it in each enqueue makes concurrent enqueues
// conflict (and retry) instead of taking the same number.
var SeqKey = storage.SettingKey("outboxSeq")

// LastSeq returns the last sequence number given out (0 when none).
func LastSeq(txn storage.Txn) (uint64, error) {
	b, err := txn.Get(SeqKey)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && len(b) != 8) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b), nil
}

// NextSeq takes the next sequence number, in txn.
func NextSeq(txn storage.Txn) (uint64, error) {
	n, err := LastSeq(txn)
	if err != nil {
		return 0, err
	}
	n++
	return n, txn.Set(SeqKey, binary.BigEndian.AppendUint64(nil, n))
}

// PendingSeq returns the sequence number of the newest outbox entry of the
// record under recordKey; ok is false when it has none.
func PendingSeq(txn storage.Txn, recordKey []byte) (seq uint64, ok bool, err error) {
	b, err := txn.Get(storage.PendingKey(recordKey))
	if errors.Is(err, storage.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil || len(b) != 8 {
		return 0, false, err
	}
	return binary.BigEndian.Uint64(b), true, nil
}

// SetPending marks seq as the newest outbox entry of the record under
// recordKey.
func SetPending(txn storage.Txn, recordKey []byte, seq uint64) error {
	return txn.Set(storage.PendingKey(recordKey), binary.BigEndian.AppendUint64(nil, seq))
}

// Unmarshal decodes a stored entry keeping numbers exact (json.Number).
func Unmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
