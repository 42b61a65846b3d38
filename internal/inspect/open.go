// Package inspect reads a local dsgen store (the directory an app passes
// to model.Open) without the app's generated code: its models and record
// counts, records with their sync metadata, the outbox, dead letters,
// per-model sync state, schema version and migration state. It is
// `dsgen inspect`.
//
// The store is opened read-only. Badger lets no reader in while a process
// has the directory open for writing (the writer holds an exclusive flock
// on the directory, a reader asks for a shared one), and replays a memtable log
// holding unflushed writes (a killed app's) only when it may write; such a
// store is read from a snapshot: its files copied to a temporary directory,
// which is opened there and removed by Close. Nothing in the store's
// directory is ever written.
package inspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/storage"
)

// Copy says when Open reads a snapshot copy of the store.
type Copy int

const (
	// CopyIfLocked reads the directory in place, or a copy when another
	// process has it open.
	CopyIfLocked Copy = iota
	// CopyNever fails with a *LockedError when another process has the
	// directory open.
	CopyNever
	// CopyAlways always reads a copy.
	CopyAlways
)

// Options configure Open.
type Options struct {
	// Schema decodes the records; nil means the stored shape of the
	// schema, which the store keeps (see SchemaFromStore).
	Schema *meta.Schema
	// Copy says when to read a snapshot copy; see Copy.
	Copy Copy
	// EncryptionKey opens an encrypted store.
	EncryptionKey []byte
}

// Store is an open store under inspection. Close it.
type Store struct {
	db     *storage.DB
	schema *meta.Schema
	// Dir is the store's directory; Snapshot the copy read instead, ""
	// when the directory is read in place.
	Dir, Snapshot string
	// LockedBy names the process that had Dir open when a copy was
	// taken because of it, "" otherwise.
	LockedBy string
	// Why says why a copy was read: "--copy", "it is open by pid 1234
	// (app)", or what a crash left that only a writer may replay.
	Why string
	// FromStore is set when the schema was read from the store's layout
	// rather than given.
	FromStore bool
}

// LockedError reports a store another process has open, when Open may not
// copy it.
type LockedError struct {
	Dir string
	// Holder names the process, as "pid 1234 (myapp)", or "" when the
	// lock file does not say.
	Holder string
	Err    error
}

// Error names the store and the process and says what to do.
func (e *LockedError) Error() string {
	who := "another process"
	if e.Holder != "" {
		who = e.Holder
	}
	return fmt.Sprintf("inspect: %s is open by %s: Badger lets no reader in beside a writer (the writer holds an exclusive flock on the directory); read a copy of it instead (dsgen inspect without --no-copy), or stop the app",
		e.Dir, who)
}

// Unwrap returns the open's error (wrapping storage.ErrLocked).
func (e *LockedError) Unwrap() error { return e.Err }

// truncateNeeded is in the error of Badger's read-only open of a store
// whose memtable log holds unflushed writes: Badger formats its errors
// with %+v rather than wrapping them (memtable.go, ErrTruncateNeeded).
const truncateNeeded = "Log truncate required"

// readWriteOnce ends the reason storage gives for an empty memtable log a
// crash left, which only a read-write open removes (preflight.go).
const readWriteOnce = "open the store read-write once"

func orUnknown(s string) string {
	if s == "" {
		return "another process"
	}
	return s
}

// snapshotAttempts bounds the copies Open takes of a store in use: a copy
// can catch a compaction half done (a table the copied MANIFEST names is
// already gone), which the open's file check reports; the next copy is
// taken after it.
const snapshotAttempts = 3

// Open opens the store in dir for inspection.
func Open(ctx context.Context, dir string, o Options) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		return nil, fmt.Errorf("inspect: %s is not a dsgen store (no Badger MANIFEST): %w", dir, err)
	}
	s := &Store{Dir: dir}
	so := storage.Options{ReadOnly: true, GCInterval: -1, EncryptionKey: o.EncryptionKey}
	var err error
	if o.Copy != CopyAlways {
		s.db, err = storage.Open(ctx, dir, so)
		if err == nil {
			return s.withSchema(o.Schema)
		}
		var ce *storage.CorruptError
		switch {
		case errors.Is(err, storage.ErrLocked):
			s.LockedBy = holder(dir)
			if o.Copy == CopyNever {
				return nil, &LockedError{Dir: dir, Holder: s.LockedBy, Err: err}
			}
			s.Why = "it is open by " + orUnknown(s.LockedBy)
		case strings.Contains(err.Error(), truncateNeeded):
			if o.Copy == CopyNever {
				return nil, fmt.Errorf("inspect: %s was not closed cleanly (its app stopped without closing it, or was killed): Badger replays its write-ahead log only when it may write, so inspect reads a copy; drop --no-copy: %w", dir, err)
			}
			s.Why = "it was not closed cleanly (its write-ahead log is replayed in the copy)"
		case errors.As(err, &ce) && strings.Contains(ce.Reason, readWriteOnce):
			if o.Copy == CopyNever {
				return nil, fmt.Errorf("inspect: %w; drop --no-copy to read a copy, where it is removed", err)
			}
			s.Why = "a crash left an empty log file, removed in the copy"
		default:
			return nil, fmt.Errorf("inspect: %w", err)
		}
	} else {
		s.Why = "--copy"
		// A writer may hold it: the pid Badger wrote is a running process
		// (a crash leaves the file behind, naming a process that is gone).
		if h := holder(dir); strings.Contains(h, "(") {
			s.LockedBy = h
		}
	}
	// A snapshot is opened read-write: Badger refuses to open a memtable
	// log read-only unless it was closed cleanly, and the copy is ours. What
	// Badger says while it repairs the copy is about a temporary directory
	// (Why says what was found); damage is still an error.
	so.ReadOnly = false
	so.Logger = slog.New(slog.DiscardHandler)
	for attempt := 1; ; attempt++ {
		if s.Snapshot, err = snapshot(dir); err != nil {
			return nil, err
		}
		s.db, err = openSnapshot(ctx, s.Snapshot, so, s.LockedBy != "")
		if err == nil {
			return s.withSchema(o.Schema)
		}
		_ = os.RemoveAll(s.Snapshot)
		s.Snapshot = ""
		if !errors.Is(err, storage.ErrCorrupt) || attempt == snapshotAttempts {
			return nil, fmt.Errorf("inspect: a copy of %s: %w", dir, err)
		}
	}
}

// badEntry finds the offset in the reason of a *storage.CorruptError for a
// log file with a bad entry followed by data (preflight.go words it "has a
// bad entry at offset N").
var badEntry = regexp.MustCompile(`bad entry at offset (\d+)`)

// openSnapshot opens a copy. The newest memtable log and value log were
// being appended to while they were copied, so the copy can hold an entry
// only partly written followed by bytes of later ones: what no crash
// leaves, and what the open's check refuses. Every entry before it is
// whole (each carries a checksum), so the copy's tail from that entry on
// is cleared, as if the copy had been taken just before that write, and
// the copy opened again. Only when live is set: in a store nobody was
// writing, such an entry is damage, and is reported.
func openSnapshot(ctx context.Context, dir string, so storage.Options, live bool) (*storage.DB, error) {
	for cleared := map[string]bool{}; ; {
		db, err := storage.Open(ctx, dir, so)
		var ce *storage.CorruptError
		if err == nil || !live || !errors.As(err, &ce) || cleared[ce.File] || !newestOfKind(dir, ce.File) {
			return db, err
		}
		m := badEntry.FindStringSubmatch(ce.Reason)
		if m == nil {
			return nil, err
		}
		off, _ := strconv.ParseInt(m[1], 10, 64)
		if zerr := zeroFrom(filepath.Join(dir, ce.File), off); zerr != nil {
			return nil, errors.Join(err, zerr)
		}
		cleared[ce.File] = true
	}
}

// newestOfKind reports whether name is the highest-numbered .mem or .vlog
// file in dir: the one a writer appends to.
func newestOfKind(dir, name string) bool {
	ext := filepath.Ext(name)
	if ext != ".mem" && ext != ".vlog" {
		return false
	}
	files, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil || len(files) == 0 {
		return false
	}
	num := func(p string) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(p), ext))
		return n
	}
	newest := slices.MaxFunc(files, func(a, b string) int { return num(a) - num(b) })
	return filepath.Base(newest) == name
}

// zeroFrom overwrites the file at path with zeros from off to its end,
// keeping its size (Badger's logs are preallocated, zeros past the end).
func zeroFrom(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil || off >= st.Size() {
		return errors.Join(err, f.Close())
	}
	zeros := make([]byte, 64<<10)
	for pos := off; pos < st.Size(); pos += int64(len(zeros)) {
		n := min(int64(len(zeros)), st.Size()-pos)
		if _, err := f.WriteAt(zeros[:n], pos); err != nil {
			return errors.Join(err, f.Close())
		}
	}
	return f.Close()
}

// Close closes the store and removes its snapshot copy.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.Snapshot != "" {
		err = errors.Join(err, os.RemoveAll(s.Snapshot))
	}
	return err
}

// Schema returns the schema records are decoded with.
func (s *Store) Schema() *meta.Schema { return s.schema }

// withSchema sets the schema records are decoded with: given, else the
// store's layout. On failure it closes s.
func (s *Store) withSchema(given *meta.Schema) (*Store, error) {
	if given != nil {
		s.schema = given
		return s, nil
	}
	var err error
	s.schema, err = SchemaFromStore(s.db)
	s.FromStore = true
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// holder names the process holding dir's lock from the pid Badger writes
// into DIR/LOCK, "" when it cannot tell; the name, in parentheses, only
// when the process is running (read from /proc).
func holder(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "LOCK"))
	if err != nil {
		return ""
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return ""
	}
	name := ""
	if c, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil {
		name = " (" + strings.TrimSpace(string(c)) + ")"
	}
	return fmt.Sprintf("pid %d%s", pid, name)
}

// snapshot copies the files of the store in dir to a new temporary
// directory, in the order that keeps what a writer does meanwhile
// readable: the memtable logs first (a memtable flushed after its log was
// copied is then read twice, which is harmless, rather than lost), then
// the MANIFEST and the key registry, the tables, and the value logs last,
// so every value pointer copied before points into copied bytes. LOCK is
// left out.
func snapshot(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("inspect: %w", err)
	}
	rank := func(name string) int {
		switch {
		case strings.HasSuffix(name, ".mem"):
			return 0
		case name == "MANIFEST", name == "KEYREGISTRY":
			return 1
		case strings.HasSuffix(name, ".sst"):
			return 2
		case strings.HasSuffix(name, ".vlog"):
			return 4
		}
		return 3
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && e.Name() != "LOCK" {
			names = append(names, e.Name())
		}
	}
	slices.SortStableFunc(names, func(a, b string) int { return rank(a) - rank(b) })
	to, err := os.MkdirTemp("", "dsgen-inspect-")
	if err != nil {
		return "", fmt.Errorf("inspect: %w", err)
	}
	for _, n := range names {
		if err := copyFile(filepath.Join(dir, n), filepath.Join(to, n)); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // removed meanwhile (a compacted table); the open check says if it mattered
			}
			_ = os.RemoveAll(to)
			return "", fmt.Errorf("inspect: copy %s: %w", dir, err)
		}
	}
	return to, nil
}

// copyFile copies from to to, leaving runs of zeros as holes: Badger
// preallocates its logs (a value log is 128 MiB on the laptop preset), and
// a copy of mostly empty files should not write them out.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	var size int64
	for {
		n, rerr := io.ReadFull(in, buf)
		if n > 0 {
			chunk := buf[:n]
			if allZero(chunk) {
				_, err = out.Seek(int64(n), io.SeekCurrent)
			} else {
				_, err = out.Write(chunk)
			}
			if err != nil {
				return errors.Join(err, out.Close())
			}
			size += int64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return errors.Join(rerr, out.Close())
		}
	}
	return errors.Join(out.Truncate(size), out.Close())
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
