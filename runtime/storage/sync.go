package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Badger's file names (badger/v4 memtable.go and value.go): memtable logs
// are %05d.mem with ids that only grow, the newest taking the writes, and
// value logs are %06d.vlog.
const (
	memLogExt   = ".mem"
	valueLogExt = ".vlog"
)

// walSync is the state of syncCommitted: the memtable log it last synced,
// open, so a sync is one system call.
type walSync struct {
	mu  sync.Mutex
	fid int      // id of f; 0 before the first sync
	f   *os.File // the newest memtable log seen, nil before the first sync
}

// syncCommitted makes every commit that has returned durable (LeanSync):
// it syncs the memtable log that takes the writes and any newer one, and,
// when maxValueLen (the largest value written since the last call)
// reaches the value threshold, every memtable and value log file and the
// directory, since such a value went to the value log.
func (db *DB) syncCommitted(maxValueLen int) error {
	if int64(maxValueLen) >= db.bdb.Opts().ValueThreshold {
		return db.syncAll()
	}
	db.wal.mu.Lock()
	defer db.wal.mu.Unlock()
	if db.wal.f == nil {
		// The first time, sync everything: Badger's open may have written
		// headers of new logs (a fresh value log's included) that its own
		// first synced commit would have synced.
		if err := db.syncAll(); err != nil {
			return err
		}
		fid, err := newestMemLog(db.dir)
		if err != nil {
			return fmt.Errorf("storage: sync %s: %w", db.dir, err)
		}
		f, err := os.Open(db.memLogPath(fid))
		if err != nil {
			return fmt.Errorf("storage: sync %s: %w", db.dir, err)
		}
		db.wal.fid, db.wal.f = fid, f
	}
	// Badger creates the next log (id + 1) when a memtable is full, before
	// writing to it: sync the open one, then every newer one there is.
	for {
		if err := datasync(db.wal.f); err != nil {
			return fmt.Errorf("storage: sync %s: %w", db.wal.f.Name(), err)
		}
		next, err := os.Open(db.memLogPath(db.wal.fid + 1))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("storage: sync %s: %w", db.dir, err)
		}
		_ = db.wal.f.Close() // read-only: nothing to lose
		db.wal.fid, db.wal.f = db.wal.fid+1, next
	}
}

func (db *DB) memLogPath(fid int) string {
	return filepath.Join(db.dir, fmt.Sprintf("%05d%s", fid, memLogExt))
}

// newestMemLog returns the highest memtable log id in dir.
func newestMemLog(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	best := -1
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), memLogExt)
		if !ok {
			continue
		}
		if id, err := strconv.Atoi(name); err == nil && id > best {
			best = id
		}
	}
	if best < 0 {
		return 0, fmt.Errorf("no memtable log (*%s) in the directory", memLogExt)
	}
	return best, nil
}

// syncAll syncs every memtable and value log file in the directory, and
// the directory: what a synced commit of a value-log value, or a value-log
// GC rewrite, may have written to (a value log Badger finished and a new
// one it created included).
func (db *DB) syncAll() error {
	entries, err := os.ReadDir(db.dir)
	if err != nil {
		return fmt.Errorf("storage: sync %s: %w", db.dir, err)
	}
	var errs []error
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), memLogExt) && !strings.HasSuffix(e.Name(), valueLogExt) {
			continue
		}
		f, err := os.Open(filepath.Join(db.dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // flushed (memtable) or collected (value log) meanwhile
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, f.Sync(), f.Close())
	}
	if d, err := os.Open(db.dir); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, syncDir(d), d.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("storage: sync %s: %w", db.dir, err)
	}
	return nil
}

// closeWAL closes the file syncCommitted keeps open.
func (db *DB) closeWAL() {
	db.wal.mu.Lock()
	defer db.wal.mu.Unlock()
	if db.wal.f != nil {
		_ = db.wal.f.Close()
		db.wal.f = nil
	}
}
