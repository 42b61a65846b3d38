package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/dsgen/dsgen/internal/testenv/poll"
)

// hangGuard bounds a wait for something that must happen, so a broken
// test fails instead of hanging. It is no timing assertion: minutes, so a
// loaded machine never trips it.
const hangGuard = 5 * time.Minute

// The child-process helper (TestHelperProcess) is driven by these variables.
const (
	envChild    = "DSGEN_STORAGE_CHILD" // what the child does: "open", "measure"
	envChildDir = "DSGEN_STORAGE_CHILD_DIR"
	envChildArg = "DSGEN_STORAGE_CHILD_ARG"
	// envMeasure, set to 1, makes TestPresetMemory measure and log memory.
	envMeasure = "DSGEN_STORAGE_MEASURE"
)

var (
	key16 = bytes.Repeat([]byte{0x42}, 16)
	key32 = []byte("0123456789abcdef0123456789abcdef")
	other = []byte("fedcba9876543210fedcba9876543210")
)

func openT(t *testing.T, dir string, o Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func put(t *testing.T, db *DB, kv ...string) {
	t.Helper()
	err := db.Badger().Update(func(txn *badger.Txn) error {
		for i := 0; i+1 < len(kv); i += 2 {
			if err := txn.Set([]byte(kv[i]), []byte(kv[i+1])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("put: %v", err)
	}
}

func get(t *testing.T, db *DB, k string) (string, bool) {
	t.Helper()
	var v []byte
	err := db.Badger().View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(k))
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatalf("get %q: %v", k, err)
	}
	return string(v), true
}

func TestInMemory(t *testing.T) {
	db := openT(t, "ignored", Options{InMemory: true})
	put(t, db, "a", "1")
	if v, ok := get(t, db, "a"); !ok || v != "1" {
		t.Fatalf("get a = %q, %v", v, ok)
	}
	if _, err := os.Stat("ignored"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("InMemory created the directory: %v", err)
	}
	select {
	case <-db.gcDone:
	default:
		t.Error("InMemory store started the value-log GC")
	}
}

func TestPresetsRoundTrip(t *testing.T) {
	for _, p := range []Preset{PresetLaptop, PresetDevice, PresetServer} {
		for _, key := range [][]byte{nil, key16, key32} {
			t.Run(fmt.Sprintf("%v/key%d", p, len(key)), func(t *testing.T) {
				dir := t.TempDir()
				o := Options{Preset: p, EncryptionKey: key}
				db := openT(t, dir, o)
				big := strings.Repeat("v", 200<<10) // above every ValueThreshold: goes to the value log
				put(t, db, "small", "s", "big", big)
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				db = openT(t, dir, o)
				if v, _ := get(t, db, "small"); v != "s" {
					t.Errorf("small = %q", v)
				}
				if v, _ := get(t, db, "big"); v != big {
					t.Errorf("big: got %d bytes", len(v))
				}
			})
		}
	}
}

func TestPresetOptions(t *testing.T) {
	for _, p := range []Preset{PresetLaptop, PresetDevice, PresetServer} {
		for _, key := range [][]byte{nil, key16} {
			bo := Options{Preset: p, EncryptionKey: key}.badgerOptions("/x")
			if len(key) > 0 && (bo.BlockCacheSize <= 0 || bo.IndexCacheSize <= 0) {
				t.Errorf("%v encrypted: BlockCacheSize=%d IndexCacheSize=%d, both must be > 0",
					p, bo.BlockCacheSize, bo.IndexCacheSize)
			}
			// Badger refuses a ValueThreshold above its largest batch
			// (15% of MemTableSize).
			if max := 15 * bo.MemTableSize / 100; bo.ValueThreshold > max {
				t.Errorf("%v: ValueThreshold %d > max batch %d", p, bo.ValueThreshold, max)
			}
			if bo.NumCompactors == 1 {
				t.Errorf("%v: Badger refuses one compactor", p)
			}
			// Compaction buffers are about twice a table each: tables
			// that double per level make them grow with the store (see
			// badgerOptions).
			if p != PresetServer && bo.TableSizeMultiplier != 1 {
				t.Errorf("%v: TableSizeMultiplier %d, want 1", p, bo.TableSizeMultiplier)
			}
			if bo.Logger == nil {
				t.Errorf("%v: no logger adapter", p)
			}
		}
	}
	if PresetLaptop != 0 {
		t.Error("PresetLaptop must be the zero value")
	}
	// The key is copied: the caller may wipe its slice.
	k := bytes.Clone(key16)
	bo := Options{EncryptionKey: k}.badgerOptions("/x")
	k[0] = 0
	if !bytes.Equal(bo.EncryptionKey, key16) {
		t.Error("badgerOptions aliases the caller's key")
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  string
		o    Options
		want string
	}{
		{"empty dir", "", Options{}, "empty directory"},
		{"key length", "d", Options{EncryptionKey: []byte("short")}, "5 bytes"},
		{"preset", "d", Options{Preset: 7}, "unknown preset 7"},
		{"in-memory read-only", "", Options{InMemory: true, ReadOnly: true}, "InMemory and ReadOnly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir != "" {
				dir = filepath.Join(t.TempDir(), dir)
			}
			db, err := Open(context.Background(), dir, tc.o)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalidOptions mentioning %q", err, tc.want)
			}
			if dir != "" && !strings.Contains(err.Error(), dir) {
				t.Errorf("error does not name the directory: %v", err)
			}
			if dir != "" {
				if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("invalid options still created the directory")
				}
			}
		})
	}
}

func TestOpenCanceledContext(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	db, err := Open(ctx, dir, Options{})
	if err == nil {
		db.Close()
		t.Fatal("Open with a canceled context succeeded")
	}
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("err = %v, want context.Canceled naming %s", err, dir)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Error("Open touched the directory after the context was canceled")
	}
}

func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{})
	put(t, db, "a", "1")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro1 := openT(t, dir, Options{ReadOnly: true})
	ro2 := openT(t, dir, Options{ReadOnly: true}) // readers share the directory
	for _, db := range []*DB{ro1, ro2} {
		if v, _ := get(t, db, "a"); v != "1" {
			t.Errorf("a = %q", v)
		}
		select {
		case <-db.gcDone:
		default:
			t.Error("read-only store started the value-log GC")
		}
	}
	err := ro1.Badger().Update(func(txn *badger.Txn) error { return txn.Set([]byte("b"), []byte("2")) })
	if err == nil {
		t.Error("write to a read-only store succeeded")
	}
	// A writer is kept out while readers hold the directory.
	if db, err := Open(context.Background(), dir, Options{}); !errors.Is(err, ErrLocked) {
		if err == nil {
			db.Close()
		}
		t.Errorf("read-write Open beside readers: err = %v, want ErrLocked", err)
	}
}

func TestOpenLockedSameProcess(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{})

	type result struct {
		db  *DB
		err error
	}
	ch := make(chan result, 1)
	go func() {
		db, err := Open(context.Background(), dir, Options{})
		ch <- result{db, err}
	}()
	select {
	case r := <-ch:
		if r.err == nil {
			r.db.Close()
			t.Fatal("second Open of a held directory succeeded")
		}
		if !errors.Is(r.err, ErrLocked) {
			t.Fatalf("err = %v, want ErrLocked", r.err)
		}
		if !strings.Contains(r.err.Error(), dir) {
			t.Errorf("error does not name the directory: %v", r.err)
		}
	case <-time.After(hangGuard):
		t.Fatal("second Open hangs instead of failing with ErrLocked")
	}

	// The holder is unaffected, and once it closes the directory opens.
	put(t, db, "a", "1")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2 := openT(t, dir, Options{})
	if v, _ := get(t, db2, "a"); v != "1" {
		t.Errorf("a = %q after reopening", v)
	}
}

// runChild re-executes this test binary as TestHelperProcess with the given
// mode, and returns its combined output, how long it ran and its error.
func runChild(t *testing.T, mode, dir, arg string, timeout time.Duration) (string, time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envChildDir+"="+dir, envChildArg+"="+arg)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("child %s did not exit within %v; output:\n%s", mode, timeout, out)
	}
	return string(out), time.Since(start), err
}

// TestHelperProcess is not a test: it is the body of the child processes
// that the tests start (see runChild). It does nothing in a normal run.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(envChild)
	if mode == "" {
		t.Skip("helper for the multi-process tests")
	}
	dir, arg := os.Getenv(envChildDir), os.Getenv(envChildArg)
	switch mode {
	case "open":
		start := time.Now()
		db, err := Open(context.Background(), dir, Options{ReadOnly: arg == "ro"})
		took := time.Since(start)
		switch {
		case errors.Is(err, ErrLocked):
			fmt.Printf("RESULT locked in %v: %v\n", took, err)
		case err != nil:
			fmt.Printf("RESULT error: %v\n", err)
		default:
			v, _ := get(t, db, "parent")
			fmt.Printf("RESULT opened in %v, parent=%q\n", took, v)
			db.Close()
		}
	case "measure":
		measureChild(dir, arg)
	case "fill":
		fillChild(dir, arg)
	default:
		fmt.Printf("RESULT unknown mode %q\n", mode)
	}
	os.Exit(0)
}

func TestOpenLockedOtherProcess(t *testing.T) {
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no processes")
	}
	dir := t.TempDir()
	db := openT(t, dir, Options{})
	put(t, db, "parent", "here")

	for _, mode := range []string{"rw", "ro"} {
		out, took, err := runChild(t, "open", dir, mode, hangGuard)
		if err != nil {
			t.Fatalf("child (%s): %v\n%s", mode, err, out)
		}
		if !strings.Contains(out, "RESULT locked") || !strings.Contains(out, dir) {
			t.Fatalf("child (%s) did not report ErrLocked naming %s:\n%s", mode, dir, out)
		}
		t.Logf("child (%s) exited after %v: %s", mode, took, firstResult(out))
	}

	// Released on Close: the child now opens the store and sees our data.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	out, _, err := runChild(t, "open", dir, "rw", hangGuard)
	if err != nil || !strings.Contains(out, `RESULT opened`) || !strings.Contains(out, `parent="here"`) {
		t.Fatalf("child after Close: %v\n%s", err, out)
	}
}

func firstResult(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "RESULT") {
			return l
		}
	}
	return out
}

// grepDir reports the files under dir that contain needle.
func grepDir(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			hits = append(hits, filepath.Base(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func TestEncryptionAtRest(t *testing.T) {
	const canary = "canary-7d1f0c9e-plaintext-on-disk"
	big := canary + strings.Repeat("#", 100<<10) // goes to the value log

	write := func(t *testing.T, dir string, key []byte, reopen bool) {
		db := openT(t, dir, Options{EncryptionKey: key, GCInterval: -1})
		put(t, db, "small", canary, "big", big)
		if reopen {
			// Closing flushes the memtable into an SST table, so the
			// canary is in all three kinds of file: WAL, vlog and table.
			put(t, db, "unflushed", canary)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if reopen {
			db = openT(t, dir, Options{EncryptionKey: key, GCInterval: -1})
			put(t, db, "in-wal", canary)
			if err := db.Badger().Sync(); err != nil {
				t.Fatal(err)
			}
			// Leave it open: the WAL (.mem) file is read while open.
			hits := grepDir(t, dir, []byte(canary))
			db.Close()
			if key == nil && len(hits) == 0 {
				t.Fatal("control: the plain store does not show the canary; the grep proves nothing")
			}
			if key != nil && len(hits) > 0 {
				t.Fatalf("plaintext canary found on disk in %v", hits)
			}
		}
	}

	t.Run("control", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, nil, true)
		if hits := grepDir(t, dir, []byte(canary)); len(hits) == 0 {
			t.Fatal("control: canary not found in a plain store")
		}
	})

	dir := t.TempDir()
	write(t, dir, key32, true)
	if hits := grepDir(t, dir, []byte(canary)); len(hits) > 0 {
		t.Fatalf("plaintext canary found on disk in %v", hits)
	}

	for _, tc := range []struct {
		name string
		key  []byte
		want string
	}{
		{"no key", nil, "no key was given"},
		{"wrong key", other, "wrong key"},
		{"wrong key size", key16, "wrong key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(context.Background(), dir, Options{EncryptionKey: tc.key})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrEncryptionKey) || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), dir) {
				t.Fatalf("err = %v, want ErrEncryptionKey saying %q and naming the directory", err, tc.want)
			}
			if !errors.Is(err, badger.ErrEncryptionKeyMismatch) {
				t.Errorf("Badger's error is not wrapped: %v", err)
			}
		})
	}

	t.Run("key for a plain store", func(t *testing.T) {
		plain := t.TempDir()
		write(t, plain, nil, false)
		_, err := Open(context.Background(), plain, Options{EncryptionKey: key32})
		if !errors.Is(err, ErrEncryptionKey) || !strings.Contains(err.Error(), "not encrypted") {
			t.Fatalf("err = %v, want ErrEncryptionKey saying the store is not encrypted", err)
		}
	})

	t.Run("right key", func(t *testing.T) {
		// The failed opens above must have released the lock.
		db := openT(t, dir, Options{EncryptionKey: key32})
		for _, k := range []string{"small", "unflushed", "in-wal"} {
			if v, _ := get(t, db, k); v != canary {
				t.Errorf("%s = %q", k, v)
			}
		}
		if v, _ := get(t, db, "big"); v != big {
			t.Errorf("big: %d bytes", len(v))
		}
	})
}

func TestCloseIdempotentConcurrent(t *testing.T) {
	db, err := Open(context.Background(), t.TempDir(), Options{GCInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = db.Close() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Close #%d: %v", i, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close after Close: %v", err)
	}
	select {
	case <-db.gcDone:
	default:
		t.Error("Close returned before the GC goroutine")
	}
}

func TestGCNoLeak(t *testing.T) {
	settle := func() int {
		runtime.GC()
		return runtime.NumGoroutine()
	}
	base := settle()
	for _, o := range []Options{
		{GCInterval: time.Millisecond},
		{GCInterval: -1},
		{Preset: PresetDevice, EncryptionKey: key16},
		{InMemory: true},
	} {
		db, err := Open(context.Background(), t.TempDir(), o)
		if err != nil {
			t.Fatal(err)
		}
		if o.GCInterval > 0 {
			poll.Until(t, "a GC round", func() bool { return db.gcTicks.Load() > 0 })
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Badger's and ristretto's goroutines are all joined by Close, ours
	// too; allow a moment for the last ones to be descheduled.
	deadline := time.Now().Add(hangGuard)
	n := settle()
	for n > base && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = settle()
	}
	if n > base {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, base, buf)
	}
}

// TestGCRewrites checks that a GC round calls RunValueLogGC until Badger has
// nothing left to rewrite: overwriting large values leaves value-log files
// that are mostly garbage, and the GC goroutine must reclaim them.
func TestGCRewrites(t *testing.T) {
	// With LeanSync the GC holds an iterator open while it rewrites, so
	// that Badger deletes the old file only after the sync.
	t.Run("badger syncs", func(t *testing.T) { testGCRewrites(t, false) })
	t.Run("LeanSync", func(t *testing.T) { testGCRewrites(t, true) })
}

func testGCRewrites(t *testing.T, lean bool) {
	dir := t.TempDir()
	o := Options{
		SyncWrites: true,
		LeanSync:   lean,
		GCInterval: -1, // started below, once there is garbage
		tune: func(bo *badger.Options) {
			bo.ValueLogFileSize = 1 << 20
			bo.ValueThreshold = 1 << 10
			// Compaction is what tells the value log which entries are
			// garbage: compact L0 on Close, so that the second session's
			// table is merged with the first's and the overwritten
			// versions are dropped.
			bo.CompactL0OnClose = true
		},
	}
	val := bytes.Repeat([]byte("x"), 8<<10)
	for session := range 2 {
		db := openT(t, dir, o)
		for round := range 10 {
			err := db.Badger().Update(func(txn *badger.Txn) error {
				for k := range 16 {
					if err := txn.Set(fmt.Appendf(nil, "k%02d", k), val); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("session %d round %d: %v", session, round, err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	before := vlogFiles(t, dir)

	// Reopen with a fast GC and let it run a round.
	o.GCInterval = 10 * time.Millisecond
	db := openT(t, dir, o)
	poll.Until(t, "a GC round", func() bool { return db.gcTicks.Load() > 0 })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	after := vlogFiles(t, dir)
	t.Logf("vlog files: %d before GC, %d after; %d rewrites", before, after, db.gcRewrites.Load())
	if db.gcRewrites.Load() < 2 {
		t.Errorf("%d rewrites in one GC round, want several (one per mostly-garbage file)", db.gcRewrites.Load())
	}
	if after >= before {
		t.Errorf("the GC reclaimed no value-log file: %d before, %d after", before, after)
	}
	db = openT(t, dir, o)
	if v, _ := get(t, db, "k07"); v != string(val) {
		t.Errorf("k07 after GC: %d bytes", len(v))
	}
}

func vlogFiles(t *testing.T, dir string) int {
	m, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// recorder is a slog.Handler that keeps the records it is given.
type recorder struct {
	level slog.Level
	mu    sync.Mutex
	recs  []slog.Record
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }
func (r *recorder) records() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]slog.Record(nil), r.recs...)
}

func TestLogger(t *testing.T) {
	t.Run("info level stays quiet", func(t *testing.T) {
		rec := &recorder{level: slog.LevelInfo}
		db := openT(t, t.TempDir(), Options{Logger: slog.New(rec)})
		put(t, db, "a", "1")
		db.Close()
		for _, r := range rec.records() {
			t.Errorf("unexpected %v record: %s", r.Level, r.Message)
		}
	})
	t.Run("debug level shows Badger's info", func(t *testing.T) {
		rec := &recorder{level: slog.LevelDebug}
		db := openT(t, t.TempDir(), Options{Logger: slog.New(rec)})
		db.Close()
		if len(rec.records()) == 0 {
			t.Error("no Badger records at debug level")
		}
	})
	t.Run("warnings and errors", func(t *testing.T) {
		rec := &recorder{level: slog.LevelDebug}
		bl := newBadgerLogger(slog.New(rec), "/d")
		bl.Warningf("w %d\n", 1)
		bl.Errorf("e %d", 2)
		bl.Infof("i")
		bl.Debugf("d")
		got := rec.records()
		want := []struct {
			level slog.Level
			msg   string
		}{{slog.LevelWarn, "w 1"}, {slog.LevelError, "e 2"}, {slog.LevelDebug, "i"}, {slog.LevelDebug, "d"}}
		if len(got) != len(want) {
			t.Fatalf("got %d records, want %d", len(got), len(want))
		}
		for i, w := range want {
			if got[i].Level != w.level || got[i].Message != w.msg {
				t.Errorf("record %d = %v %q, want %v %q", i, got[i].Level, got[i].Message, w.level, w.msg)
			}
		}
	})
	t.Run("nil logger", func(t *testing.T) {
		rec := &recorder{level: slog.LevelDebug}
		prev := slog.Default()
		slog.SetDefault(slog.New(rec))
		defer slog.SetDefault(prev)
		bl := newBadgerLogger(nil, "/d")
		bl.Infof("i")
		bl.Debugf("d")
		bl.Warningf("w")
		bl.Errorf("e")
		got := rec.records()
		if len(got) != 2 || got[0].Message != "w" || got[1].Message != "e" {
			var msgs []string
			for _, r := range got {
				msgs = append(msgs, r.Message)
			}
			t.Errorf("slog.Default got %q, want only the warning and the error", msgs)
		}
	})
}

// TestPresetMemory measures, in a fresh process per preset, what opening an
// empty store and writing 10k small records costs. It only logs (memory is
// machine-dependent, nothing is asserted) and only runs when asked:
//
//	DSGEN_STORAGE_MEASURE=1 go test -run TestPresetMemory -v ./runtime/storage/
func TestPresetMemory(t *testing.T) {
	if os.Getenv(envMeasure) != "1" {
		t.Skip("set " + envMeasure + "=1 to measure")
	}
	for _, arg := range []string{"laptop", "laptop+enc", "device", "device+enc", "server", "server+enc"} {
		out, _, err := runChild(t, "measure", t.TempDir(), arg, 5*time.Minute)
		if err != nil {
			t.Fatalf("%s: %v\n%s", arg, err, out)
		}
		t.Log(firstResult(out))
	}
}

// measureChild is TestPresetMemory's child: it opens a store in dir with the
// preset named by arg, writes 10k records of ~100 bytes, and prints memory
// figures (MiB) before, after writing, and the process's peak RSS.
func measureChild(dir, arg string) {
	name, enc, _ := strings.Cut(arg, "+")
	var o Options
	switch name {
	case "laptop":
		o.Preset = PresetLaptop
	case "device":
		o.Preset = PresetDevice
	case "server":
		o.Preset = PresetServer
	}
	if enc == "enc" {
		o.EncryptionKey = key32
	}
	runtime.GC()
	rssBase, _ := procStatus("VmRSS")
	anonBase, _ := procStatus("RssAnon")

	db, err := Open(context.Background(), dir, o)
	if err != nil {
		fmt.Printf("RESULT %s: %v\n", arg, err)
		return
	}
	rssOpen, _ := procStatus("VmRSS")
	val := bytes.Repeat([]byte("v"), 100)
	for batch := range 20 { // 20 transactions of 500 records
		err := db.Badger().Update(func(txn *badger.Txn) error {
			for i := range 500 {
				k := fmt.Appendf(nil, "rec/%06d", batch*500+i)
				if err := txn.Set(k, val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			fmt.Printf("RESULT %s: write: %v\n", arg, err)
			return
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapInuse := ms.HeapInuse
	runtime.GC()
	runtime.ReadMemStats(&ms)
	rss, _ := procStatus("VmRSS")
	anon, _ := procStatus("RssAnon")
	file, _ := procStatus("RssFile")
	hwm, _ := procStatus("VmHWM")
	db.Close()
	const mib = 1 << 20
	fmt.Printf("RESULT %-10s RSS MiB: base %.1f (anon %.1f), open %.1f, after 10k writes %.1f (anon %.1f + file %.1f), peak %.1f; "+
		"Go heap MiB: in use %.1f, live after GC %.1f; runtime Sys %.1f\n",
		arg, rssBase/1024, anonBase/1024, rssOpen/1024, rss/1024, anon/1024, file/1024, hwm/1024,
		float64(heapInuse)/mib, float64(ms.HeapAlloc)/mib, float64(ms.Sys)/mib)
}

// procStatus returns a kB figure from /proc/self/status (Linux only).
func procStatus(field string) (float64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			var kb float64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%f kB", &kb); err == nil {
				return kb, true
			}
		}
	}
	return 0, false
}
