package datastore

import "context"

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
