package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// DB is an open Badger store and the value-log GC that runs beside it.
type DB struct {
	bdb *badger.DB
	dir string
	log *slog.Logger // for the adapter's own messages (GC errors)

	stop   chan struct{} // closed by Close to stop the GC goroutine
	gcDone chan struct{} // closed when the GC goroutine has returned

	// lean is Options.LeanSync for an on-disk store: Txn.Commit syncs
	// (syncCommitted, whose state wal is) while holding visible, which
	// every new transaction takes shared to get its snapshot, so none
	// sees a commit before it is synced.
	lean    bool
	visible sync.RWMutex
	wal     walSync

	closeOnce sync.Once
	closeErr  error

	// gcRewrites counts RunValueLogGC calls that rewrote a file; tests
	// read it.
	gcRewrites atomic.Int64
	// gcTicks counts completed GC rounds; tests read it.
	gcTicks atomic.Int64
}

// Open opens (creating it if needed, unless o.ReadOnly) the Badger store in
// dir, sized by o.Preset. ctx is checked before Badger's open, which itself
// cannot be interrupted: it replays the memtable logs and may take a while
// on a large store.
//
// Before Badger sees the directory, Open checks its files (see
// preflight.go): a damaged or missing file that Badger would silently
// drop data for, or crash on, is reported as a *CorruptError (wrapping
// ErrCorrupt) naming the file, and the directory is left untouched. An
// empty memtable log left by a crash is removed, as it holds nothing.
//
// Errors name the directory and wrap ErrInvalidOptions, ErrLocked,
// ErrEncryptionKey or ErrCorrupt where those apply, and Badger's error
// otherwise.
func Open(ctx context.Context, dir string, o Options) (*DB, error) {
	if o.InMemory {
		dir = ""
	}
	if err := o.validate(dir); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", describe(dir, o.InMemory), err)
	}

	bo := o.badgerOptions(dir)
	var checkValues bool
	if !o.InMemory && lockedByOther(dir, o.ReadOnly) {
		return nil, fmt.Errorf("storage: open %s: %w (another open holds Badger's lock on the directory)", describe(dir, false), ErrLocked)
	}
	if !o.InMemory {
		var err error
		if checkValues, err = preflight(dir, o, bo, adapterLogger(o.Logger, dir)); err != nil {
			return nil, err
		}
	}
	bdb, err := openBadger(bo)
	if err != nil {
		// Badger may return a half-built (already cleaned up) DB along with
		// the error; it is not ours to use.
		return nil, mapOpenError(dir, o, err)
	}
	if bl, ok := bo.Logger.(*badgerLogger); ok && checkValues {
		if err := verifyValues(bdb, dir, bl); err != nil {
			return nil, errors.Join(err, bdb.Close())
		}
	}

	db := &DB{
		bdb:    bdb,
		dir:    dir,
		log:    adapterLogger(o.Logger, dir),
		stop:   make(chan struct{}),
		gcDone: make(chan struct{}),

		lean: o.LeanSync && o.SyncWrites && !o.InMemory && !o.ReadOnly,
	}
	interval := o.GCInterval
	if interval == 0 {
		interval = defaultGCInterval
	}
	if o.InMemory || o.ReadOnly || interval < 0 {
		close(db.gcDone)
	} else {
		go db.runGC(interval)
	}
	return db, nil
}

// openBadger is badger.Open with a panic on this goroutine turned into an
// error. Badger's deferred release of the directory lock runs while the
// panic unwinds, so the directory is free again (TestOpenPanicReleasesLock);
// what Badger had started before the panic (a few goroutines, mappings of
// memtable logs) is not cleaned up. Panics in the goroutines Badger starts
// to open tables cannot be recovered: preflight checks the tables first.
func openBadger(bo badger.Options) (bdb *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprint(r)
			if len(msg) > 300 {
				msg = msg[:300] + "…"
			}
			bdb, err = nil, fmt.Errorf("%w: %s", errBadgerPanic, msg)
		}
	}()
	return badger.Open(bo)
}

func (o Options) validate(dir string) error {
	var problems []string
	if !o.InMemory && dir == "" {
		problems = append(problems, "empty directory (set InMemory for a store without files)")
	}
	switch n := len(o.EncryptionKey); n {
	case 0, 16, 24, 32:
	default:
		problems = append(problems, fmt.Sprintf("encryption key is %d bytes, want 16, 24 or 32 (AES-128/192/256)", n))
	}
	switch o.Preset {
	case PresetLaptop, PresetDevice, PresetServer:
	default:
		problems = append(problems, fmt.Sprintf("unknown preset %d", int(o.Preset)))
	}
	if o.InMemory && o.ReadOnly {
		problems = append(problems, "InMemory and ReadOnly together (an in-memory store starts empty)")
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("storage: open %s: %w: %s", describe(dir, o.InMemory), ErrInvalidOptions, strings.Join(problems, "; "))
}

// describe names the store in messages.
func describe(dir string, inMemory bool) string {
	if inMemory {
		return "(in memory)"
	}
	return fmt.Sprintf("%q", dir)
}

// Badger formats its errors with %+v rather than wrapping them, so the lock
// error can only be recognised by its text (dir_unix.go, dir_windows.go,
// dir_plan9.go in badger v4.9.6). TestOpenLocked* pin this down.
var lockMessages = []string{
	"Cannot acquire directory lock",                 // unix: flock(LOCK_EX|LOCK_NB) failed
	"Another process is using this Badger database", // unix, windows, plan9
}

func mapOpenError(dir string, o Options, err error) error {
	msg := err.Error()
	for _, m := range lockMessages {
		if strings.Contains(msg, m) {
			return fmt.Errorf("storage: open %s: %w (badger: %v)", describe(dir, o.InMemory), ErrLocked, err)
		}
	}
	if errors.Is(err, badger.ErrEncryptionKeyMismatch) {
		var why string
		switch {
		case len(o.EncryptionKey) == 0:
			why = "the store is encrypted and no key was given"
		case !o.InMemory && storeIsPlain(dir):
			why = "a key was given but the store is not encrypted"
		default:
			why = "wrong key: the store was encrypted with a different one"
		}
		return fmt.Errorf("storage: open %s: %w: %s (%w)", describe(dir, o.InMemory), ErrEncryptionKey, why, err)
	}
	if errors.Is(err, badger.ErrInvalidEncryptionKey) {
		return fmt.Errorf("storage: open %s: %w: %w", describe(dir, o.InMemory), ErrInvalidOptions, err)
	}
	return fmt.Errorf("storage: open %s: %w", describe(dir, o.InMemory), err)
}

// storeIsPlain reports whether dir's key registry was written without a
// key. Badger's registry starts with a 16-byte IV and the sanity text
// "Hello Badger", stored as is without a key and AES-CTR encrypted with
// one (key_registry.go); Badger reports every mismatch the same way, so
// this tells "key given for a plain store" from "wrong key".
func storeIsPlain(dir string) bool {
	f, err := os.Open(filepath.Join(dir, badger.KeyRegistryFileName))
	if err != nil {
		return false
	}
	defer f.Close()
	const ivLen = 16
	sanity := []byte("Hello Badger")
	buf := make([]byte, ivLen+len(sanity))
	if _, err := io.ReadFull(f, buf); err != nil {
		return false
	}
	return bytes.Equal(buf[ivLen:], sanity)
}

// Badger returns the underlying Badger handle, for this package's tests
// and for benchmarks that measure raw Badger as the floor under the store.
// Everything else goes through Txn (NewTxn, View, Update). It must not be
// closed directly (use DB.Close) and must not be used after Close.
func (db *DB) Badger() *badger.DB { return db.bdb }

// Close stops the value-log GC, waits for it to return, then closes Badger
// (flushing its memtables). It is idempotent and safe to call concurrently:
// every call returns the first call's result once closing has finished.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.stop)
		<-db.gcDone
		db.closeWAL()
		if err := db.bdb.Close(); err != nil {
			db.closeErr = fmt.Errorf("storage: close %s: %w", describe(db.dir, db.dir == ""), err)
		}
	})
	return db.closeErr
}

// runGC is the value-log GC goroutine: every interval it asks Badger to
// rewrite value-log files that are at least half garbage, file after file,
// until Badger finds none (ErrNoRewrite) or Close is called.
func (db *DB) runGC(interval time.Duration) {
	defer close(db.gcDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
		}
		db.gcRound()
		db.gcTicks.Add(1)
	}
}

// gcRound runs one round of value-log GC.
func (db *DB) gcRound() {
	for {
		select {
		case <-db.stop:
			return
		default:
		}
		err := db.runValueLogGC()
		switch {
		case err == nil:
			db.gcRewrites.Add(1)
			continue
		case errors.Is(err, badger.ErrNoRewrite):
			return
		case errors.Is(err, badger.ErrRejected):
			// Another GC is running (the engine may call RunValueLogGC
			// itself) or Badger is closing: try again next tick.
			return
		default:
			db.log.Warn("value-log GC failed", "err", err)
			return
		}
	}
}

// badgerLogger adapts badger.Logger to slog. Badger's errors and warnings
// go to warn (nil: slog.Default()); its info and debug messages go to
// chatty at slog.LevelDebug, or nowhere when chatty is nil. Badger logs
// a dozen info lines on every open and close, hence the demotion.
type badgerLogger struct {
	warn   *slog.Logger
	chatty *slog.Logger
	// capture, while set, receives Badger's error messages instead of
	// warn (verifyValues reads the failing file from them).
	capture atomic.Pointer[func(string)]
}

func newBadgerLogger(l *slog.Logger, dir string) badger.Logger {
	bl := &badgerLogger{warn: adapterLogger(l, dir)}
	if l != nil {
		bl.chatty = bl.warn
	}
	return bl
}

// adapterLogger is l (or slog.Default()) tagged with the component and dir.
func adapterLogger(l *slog.Logger, dir string) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	return l.With("component", "badger", "dir", dir)
}

func (b *badgerLogger) log(l *slog.Logger, level slog.Level, format string, args []any) {
	if l == nil {
		return
	}
	ctx := context.Background()
	if !l.Enabled(ctx, level) {
		return
	}
	l.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (b *badgerLogger) Errorf(format string, args ...any) {
	if strings.HasPrefix(format, "Received err: ") {
		// Badger's Open logs the error it is about to return ("Received
		// err: %v. Cleaning up..."); Open returns it too, so it is no
		// news to the caller.
		b.log(b.chatty, slog.LevelDebug, format, args)
		return
	}
	if c := b.capture.Load(); c != nil {
		(*c)(fmt.Sprintf(format, args...))
		return
	}
	b.log(b.warn, slog.LevelError, format, args)
}

func (b *badgerLogger) Warningf(format string, args ...any) {
	b.log(b.warn, slog.LevelWarn, format, args)
}

func (b *badgerLogger) Infof(format string, args ...any) {
	b.log(b.chatty, slog.LevelDebug, format, args)
}

func (b *badgerLogger) Debugf(format string, args ...any) {
	b.log(b.chatty, slog.LevelDebug, format, args)
}

// runValueLogGC runs one value-log GC step. Badger's GC moves the live
// values of a file elsewhere, then deletes the file, at once unless an
// iterator is open. With LeanSync nothing syncs the moved values, so an
// iterator is held open meanwhile to defer the deletion until they are
// synced: a crash in between loses nothing.
func (db *DB) runValueLogGC() error {
	if !db.lean {
		return db.bdb.RunValueLogGC(0.5)
	}
	txn := db.bdb.NewTransaction(false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{})
	err := db.bdb.RunValueLogGC(0.5)
	if err == nil {
		err = db.syncAll()
	}
	it.Close() // deletes the rewritten file, if none else is open
	return err
}
