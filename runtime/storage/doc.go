// Package storage is the storage layer of dsgen's runtime: the adapter that
// opens, tunes and closes the embedded Badger store holding an app's local
// data (and, later, the layout of the keys written to it).
//
// Open returns a DB that owns the Badger handle and its background
// value-log garbage collection. Every Badger call lives in this package:
// the engines above it read and write through Txn (DB.View, DB.Update,
// DB.NewTxn, Txn.Iterate), WriteBatch and DropPrefix, and branch on
// ErrNotFound, ErrConflict and ErrTxnTooBig.
package storage
