package storage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/dsgen/dsgen/internal/testenv/testfs"
)

// smallTune makes Badger flush and compact often and spread values over
// several value-log files, so that a store of a few tens of thousands of
// records has every kind of file: several tables on more than one level,
// memtable logs (after a kill), value logs with data, KEYREGISTRY, DISCARD.
func smallTune(bo *badger.Options) {
	bo.MemTableSize = 1 << 20
	bo.NumMemtables = 2
	bo.BaseTableSize = 256 << 10
	bo.BaseLevelSize = 1 << 20
	bo.NumLevelZeroTables = 2
	bo.NumLevelZeroTablesStall = 8
	bo.ValueThreshold = 1 << 10
	bo.ValueLogFileSize = 1 << 20
}

func smallOptions() Options { return Options{GCInterval: -1, tune: smallTune} }

const damageRecords = 30_000

// recordKV is record i: small values stay in the tables, every 16th is
// big enough for the value log.
func recordKV(i int) (key, val []byte) {
	key = fmt.Appendf(nil, "rec/%06d", i)
	n := 40 + i%90
	if i%16 == 0 {
		n = 1500 + i%500
	}
	val = make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(i), 7))
	for j := range val {
		val[j] = byte('a' + r.IntN(26))
	}
	return key, val
}

// fillRecords writes records [from, to) in transactions of 50.
func fillRecords(db *DB, from, to int) error {
	for i := from; i < to; i += 50 {
		err := db.Badger().Update(func(txn *badger.Txn) error {
			for j := i; j < min(i+50, to); j++ {
				k, v := recordKV(j)
				if err := txn.Set(k, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkRecords reads every record back and compares it with recordKV:
// it returns how many are intact and a description of the first problem.
func checkRecords(db *DB, n int) (int, error) {
	intact := 0
	err := db.Badger().View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("rec/")})
		defer it.Close()
		i := 0
		for it.Rewind(); it.Valid(); it.Next() {
			wantK, wantV := recordKV(i)
			item := it.Item()
			if !bytes.Equal(item.Key(), wantK) {
				return fmt.Errorf("record %d: key %q, want %q", i, item.Key(), wantK)
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("record %d: read value: %w", i, err)
			}
			if !bytes.Equal(v, wantV) {
				return fmt.Errorf("record %d: value differs", i)
			}
			intact++
			i++
		}
		return nil
	})
	if err == nil && intact != n {
		err = fmt.Errorf("%d of %d records", intact, n)
	}
	return intact, err
}

// dirState lists the files of dir with their sizes and contents' hash,
// to show that a refused Open changed nothing.
func dirState(t testing.TB, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		if e.Name() == "LOCK" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%d:%x ", e.Name(), len(data), crc(data))
	}
	return b.String()
}

func crc(b []byte) uint32 {
	var h uint32 = 2166136261
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// pristine is a store of damageRecords records made once per test binary
// run and kind (closed cleanly or killed), copied for each case.
func pristineStore(t *testing.T, killed bool) string {
	t.Helper()
	dir := t.TempDir()
	if !killed {
		db := openT(t, dir, smallOptions())
		if err := fillRecords(db, 0, damageRecords); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	killChild(t, dir, strconv.Itoa(damageRecords), "FILLED")
	return dir
}

// killChild starts the "fill" child on dir and kills it (SIGKILL) once it
// has printed a line starting with until. It returns the child's output.
func killChild(t *testing.T, dir, arg, until string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"=fill", envChildDir+"="+dir, envChildArg+"="+arg)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), until) {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], until) {
		t.Fatalf("fill child ended before %q: %v", until, lines)
	}
	return lines
}

// fillChild is the "fill" child: with a count, it writes that many records
// and prints FILLED; with "loop:<seed>", it writes batches for ever,
// printing "ACK <n>" after batch n is committed.
func fillChild(dir, arg string) {
	db, err := Open(context.Background(), dir, smallOptions())
	if err != nil {
		fmt.Printf("RESULT error: %v\n", err)
		return
	}
	if seed, ok := strings.CutPrefix(arg, "loop:"); ok {
		s, _ := strconv.Atoi(seed)
		for n := 0; ; n++ {
			err := db.Badger().Update(func(txn *badger.Txn) error {
				for j := 0; j < 1+n%40; j++ {
					v := bytes.Repeat([]byte{byte('a' + (n+j)%26)}, 30+(n*j)%3000)
					if err := txn.Set(fmt.Appendf(nil, "loop/%d/%08d/%03d", s, n, j), v); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				fmt.Printf("RESULT error: %v\n", err)
				return
			}
			fmt.Printf("ACK %d\n", n)
		}
	}
	n, _ := strconv.Atoi(arg)
	if err := fillRecords(db, 0, n); err != nil {
		fmt.Printf("RESULT error: %v\n", err)
		return
	}
	fmt.Println("FILLED")
	select {} // wait for the kill
}

// knownLoss says why damage to file cannot be told from a legitimate
// state, or "" when it can. The newest memtable log is the only record of
// the writes since the last flush, and nothing else in the directory says
// it should exist or what it held: deleted, it leaves no trace; cut to
// zero bytes, it is the file a crash leaves when it strikes between the
// log's creation and its sizing (removed so that the store opens).
func knownLoss(dir, file, how string) string {
	if !strings.HasSuffix(file, ".mem") || (how != "delete" && how != "truncate-0") {
		return ""
	}
	mems, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	sort.Strings(mems)
	if len(mems) > 0 && filepath.Base(mems[len(mems)-1]) == file {
		return "the newest memtable log, " + how + ", cannot be told from a legitimate state"
	}
	return ""
}

type damage struct {
	name string
	do   func(path string, data []byte) error
}

// region is where damage goes in a file: for a log (.mem, .vlog), the
// part holding entries (they are preallocated and end in zeros), else the
// whole file.
func region(path string, data []byte) (start, end int) {
	end = len(data)
	if strings.HasSuffix(path, ".mem") || strings.HasSuffix(path, ".vlog") {
		start = logHeaderSize
		for end > start && data[end-1] == 0 {
			end--
		}
	}
	return start, end
}

func damages() []damage {
	overwrite := func(fill func([]byte)) func(string, []byte) error {
		return func(path string, data []byte) error {
			s, e := region(path, data)
			mid := s + (e-s)/2
			n := min(4096, e-mid)
			if e-s < 8192 {
				mid, n = s+(e-s)/4, max((e-s)/2, 1)
			}
			fill(data[mid : mid+n])
			return os.WriteFile(path, data, 0o644)
		}
	}
	return []damage{
		{"truncate-half", func(path string, data []byte) error {
			s, e := region(path, data)
			return os.Truncate(path, int64(s+(e-s)/2))
		}},
		{"truncate-0", func(path string, _ []byte) error { return os.Truncate(path, 0) }},
		{"zero", overwrite(func(b []byte) { clear(b) })},
		{"garbage", overwrite(func(b []byte) {
			r := rand.New(rand.NewPCG(1, 2))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
		})},
		{"delete", func(path string, _ []byte) error { return os.Remove(path) }},
	}
}

// targets picks the files to damage in dir: each fixed file, the largest
// and the newest table, the oldest and the newest memtable log, and the
// oldest and newest value logs that hold entries.
func targets(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	byExt := map[string][]string{}
	sizes := map[string]int64{}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		sizes[e.Name()] = fi.Size()
		byExt[filepath.Ext(e.Name())] = append(byExt[filepath.Ext(e.Name())], e.Name())
	}
	var out []string
	for _, f := range []string{"MANIFEST", "KEYREGISTRY", "DISCARD"} {
		if _, ok := sizes[f]; ok {
			out = append(out, f)
		}
	}
	add := func(names ...string) {
		for _, n := range names {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	if ssts := byExt[".sst"]; len(ssts) > 0 {
		sort.Strings(ssts)
		largest := slices.MaxFunc(ssts, func(a, b string) int { return int(sizes[a] - sizes[b]) })
		add(largest, ssts[len(ssts)-1], ssts[0])
	}
	if mems := byExt[".mem"]; len(mems) > 0 {
		sort.Strings(mems)
		for _, m := range mems {
			if hasEntries(t, filepath.Join(dir, m)) {
				add(m)
			}
		}
	}
	var vlogs []string
	for _, v := range byExt[".vlog"] {
		if hasEntries(t, filepath.Join(dir, v)) {
			vlogs = append(vlogs, v)
		}
	}
	if len(vlogs) > 0 {
		sort.Strings(vlogs)
		add(vlogs[0], vlogs[len(vlogs)-1])
	}
	return out
}

func hasEntries(t *testing.T, path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, e := region(path, data)
	return e > s
}

// TestDamageMatrix damages each kind of file in each way and opens the
// store: it must open with every record intact, or refuse with a
// *CorruptError naming the damaged file and leave the directory as it was.
// Never a panic, never fewer records.
func TestDamageMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two stores of 30,000 records")
	}
	for _, kind := range []string{"closed", "killed"} {
		t.Run(kind, func(t *testing.T) {
			pristine := pristineStore(t, kind == "killed")
			files := targets(t, pristine)
			t.Logf("%s store: %d files damaged: %v", kind, len(files), files)
			has := func(suffix string) bool {
				return slices.ContainsFunc(files, func(f string) bool { return strings.HasSuffix(f, suffix) })
			}
			if !has(".sst") || !has(".vlog") || !has("MANIFEST") || kind == "killed" && !has(".mem") {
				t.Fatalf("the store lacks a kind of file: %v", files)
			}
			for _, f := range files {
				for _, d := range damages() {
					t.Run(f+"/"+d.name, func(t *testing.T) {
						dir := testfs.CopyStore(t, pristine)
						path := filepath.Join(dir, f)
						data, err := os.ReadFile(path)
						if err != nil {
							t.Fatal(err)
						}
						if err := d.do(path, data); err != nil {
							t.Fatal(err)
						}
						before := dirState(t, dir)
						db, err := Open(context.Background(), dir, smallOptions())
						if err != nil {
							var ce *CorruptError
							if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
								t.Fatalf("Open: %v; want a *CorruptError", err)
							}
							if ce.File != f || !strings.Contains(err.Error(), filepath.Join(dir, f)) {
								t.Fatalf("Open: %v; want it to name %s", err, f)
							}
							if after := dirState(t, dir); after != before && !ce.afterOpen {
								t.Errorf("a refused Open changed the directory:\nbefore %s\nafter  %s", before, after)
							}
							t.Logf("refused: %s", ce.Reason)
							return
						}
						defer db.Close()
						if n, err := checkRecords(db, damageRecords); err != nil {
							if why := knownLoss(pristine, f, d.name); why != "" {
								t.Logf("KNOWN LIMIT: opened with %d of %d records: %s", n, damageRecords, why)
								return
							}
							t.Fatalf("opened with %d intact records: %v", n, err)
						}
						t.Logf("opened, all %d records intact", damageRecords)
					})
				}
			}
		})
	}
}

// TestOpenPanicReleasesLock: Badger panics while replaying a memtable log
// whose entry header gives a key length and a value length that overflow
// when added (badger v4.9.6, safeRead.Entry: slice bounds). openBadger turns
// that into an error and the directory lock is released; Open does not get
// that far, as preflight refuses the file.
func TestOpenPanicReleasesLock(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, smallOptions())
	put(t, db, "k", "v")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	entry := make([]byte, logHeaderSize, 4096)
	entry = append(entry, 0, 0)
	entry = binary.AppendUvarint(entry, 1<<16)
	entry = binary.AppendUvarint(entry, 1<<32-1<<16+10) // klen+vlen wraps to 10 in uint32
	entry = binary.AppendUvarint(entry, 0)
	entry = append(entry, bytes.Repeat([]byte{'x'}, 14)...)
	bad := filepath.Join(dir, "00099.mem")
	if err := os.WriteFile(bad, entry[:cap(entry)], 0o644); err != nil {
		t.Fatal(err)
	}

	bdb, err := openBadger(smallOptions().badgerOptions(dir))
	if err == nil {
		bdb.Close()
		t.Fatal("badger opened a log that makes it panic")
	}
	if !errors.Is(err, errBadgerPanic) {
		t.Fatalf("openBadger: %v, want the recovered panic", err)
	}
	t.Logf("recovered: %v", err)

	_, err = Open(context.Background(), dir, smallOptions())
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != "00099.mem" {
		t.Fatalf("Open: %v, want a *CorruptError naming 00099.mem", err)
	}
	// The lock the panicking open took is free again.
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	db = openT(t, dir, smallOptions())
	if v, _ := get(t, db, "k"); v != "v" {
		t.Fatalf("k = %q", v)
	}
}

// TestEmptyMemtableLog is the reproduction: a 0-byte .mem file, as
// a crash between its creation and its sizing leaves, made the next Open
// fail ("while opening memtables ... Create a new file"). The newest one
// holds nothing and is removed; an older one held data and is refused.
func TestEmptyMemtableLog(t *testing.T) {
	pristine := pristineStore(t, true)
	dir := testfs.CopyStore(t, pristine)
	empty := filepath.Join(dir, "00050.mem")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db := openT(t, dir, smallOptions())
	if n, err := checkRecords(db, damageRecords); err != nil {
		t.Fatalf("%d records intact: %v", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// An empty log older than one holding entries was not just created.
	dir = testfs.CopyStore(t, pristine)
	if err := os.WriteFile(filepath.Join(dir, "00001.mem"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), dir, smallOptions())
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != "00001.mem" {
		t.Fatalf("older empty log: err = %v, want a *CorruptError naming 00001.mem", err)
	}
}

// TestKillLoopNoFalseRefusal kills a writer (SIGKILL) at varying points,
// several times over the same store, and reopens it each time: Open must
// never refuse what a kill leaves behind, and every batch the writer
// reported committed must be there.
func TestKillLoopNoFalseRefusal(t *testing.T) {
	if testing.Short() {
		t.Skip("several child processes")
	}
	dir := t.TempDir()
	for round := range 6 {
		until := 50 + round*97 // batches before the kill
		lines := killChild(t, dir, "loop:"+strconv.Itoa(round), "ACK "+strconv.Itoa(until))
		acked := -1
		for _, l := range lines {
			if n, ok := strings.CutPrefix(l, "ACK "); ok {
				acked, _ = strconv.Atoi(n)
			}
		}
		db, err := Open(context.Background(), dir, smallOptions())
		if err != nil {
			t.Fatalf("round %d: Open after kill -9: %v", round, err)
		}
		for r := 0; r <= round; r++ {
			last := 50 + r*97
			if r == round {
				last = acked
			}
			for n := 0; n <= last; n++ {
				k := fmt.Sprintf("loop/%d/%08d/000", r, n)
				if _, ok := get(t, db, k); !ok {
					t.Fatalf("round %d: batch %d of round %d, committed before the kill, is missing", round, n, r)
				}
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
