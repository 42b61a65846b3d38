// Package storage is the storage layer of dsgen's runtime: the adapter that
// opens, tunes and closes the embedded Badger store holding an app's local
// data, and the layout of the keys written to it (layout.go).
//
// Open returns a DB that owns the Badger handle and its background
// value-log garbage collection. Every Badger call lives in this package:
// the engines above it read and write through Txn (DB.View, DB.Update,
// DB.NewTxn, Txn.Iterate), WriteBatch and DropPrefix, and branch on
// ErrNotFound, ErrConflict and ErrTxnTooBig.
// Before Badger sees the directory, Open checks its files and refuses a
// damaged store with a *CorruptError naming the file (preflight.go says what
// is checked, what a crash may leave and is accepted, and what cannot be
// detected).
package storage
