package datastore

import (
	"context"

	"github.com/dsgen/dsgen/runtime/storage"
)

// SyncStore is the store as the sync engine drives it: the outbox queue
// (NextMutation and the calls that settle a sent mutation), records from
// the backend (ApplyRemote, SweepUnseen) and per-model sync state. Get it
// with Store.Sync. Apps read the outbox, dead letters and sync metadata
// through Store; they call SyncStore only to drive a sync of their own.
//
// A SyncStore is a small handle, passed by value, and as safe for
// concurrent use as its Store.
type SyncStore struct{ s *Store }

// Sync returns the sync plumbing of the store, for the sync engine
// (package syncengine).
func (s *Store) Sync() SyncStore { return SyncStore{s} }

// ModelMetadata returns the sync state of model (as Store.ModelMetadata).
func (y SyncStore) ModelMetadata(ctx context.Context, model string) (ModelMetadata, error) {
	return y.s.ModelMetadata(ctx, model)
}

// HasSyncMeta reports whether any record of model holds sync metadata
// (a version from the backend). A full sync that starts when it reports
// false, with nothing else applying backend records meanwhile, leaves
// nothing for SweepUnseen to remove: every record with sync metadata at
// its end was seen by it.
func (y SyncStore) HasSyncMeta(ctx context.Context, model string) (bool, error) {
	s := y.s
	if err := s.live(ctx); err != nil {
		return false, err
	}
	t, err := s.table(model)
	if err != nil {
		return false, err
	}
	found := false
	err = s.view(nil, func(txn storage.Txn) error {
		prefix := storage.SyncMetaPrefix(t.ID)
		it := txn.Iterate(storage.IterOptions{Prefix: prefix})
		defer it.Close()
		it.Seek(prefix)
		found = it.Valid()
		return nil
	})
	return found, err
}
