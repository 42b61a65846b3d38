package storage

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/fb"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/dgraph-io/ristretto/v2/z"
	"google.golang.org/protobuf/proto"
)

// The pre-flight check.
//
// Badger (v4.9.6) repairs a damaged directory in ways that lose data without
// a word, and crashes on some damage: it deletes every table the MANIFEST
// does not list (so a lost or cut MANIFEST empties the store), skips tables
// whose checksum fails, replays each memtable log (.mem) and the newest
// value log (.vlog) up to the first bad entry and cuts the file there (so
// everything behind a damaged entry is gone), and panics, in a goroutine no
// caller can recover, on a cut table. Those repairs happen inside
// badger.Open, so the check reads every file first, changes nothing unless
// every file passes, and refuses with a *CorruptError naming the file where
// Badger would lose or invent data.
//
// What it accepts, because a kill -9 (or a power cut) leaves it behind and
// nothing is lost:
//   - the newest .mem or .vlog file ending in a torn entry: one entry whose
//     header is plausible, followed by nothing but zeros, and (.mem) a
//     transaction without its commit marker. Such writes were never
//     acknowledged.
//   - an empty newest .mem file (created, killed before it was sized):
//     removed, which is Badger's known "Create a new file" failure.
//   - tables the MANIFEST does not list that an interrupted flush or
//     compaction left: their data is still in a .mem file or in the
//     tables they were compacted from (checked by version, see orphans).
//   - a MANIFEST whose last record is cut short, when nothing is lost by
//     it (checked the same way).
//   - a DISCARD file that is not well formed: it only steers the value-log
//     GC, so it is removed and Badger starts a new one.
//
// Values in the value log are checked after Badger opened, and only when a
// pointer in a table or memtable log reaches into a value log that is
// missing or shorter (verifyValues); the refusal then comes after Badger
// created its new log files, though no record was changed.
//
// What it cannot see:
//   - the newest .mem deleted or cut to zero bytes, or a .mem cut exactly
//     at an entry boundary: nothing else records what the log held.
//   - in an encrypted store, damage to the key registry's header, which
//     reads as a wrong key (ErrEncryptionKey); and a table the MANIFEST
//     does not list is checked without its data key, so it is taken for a
//     leftover.
//   - damage done while the store is open. Badger reads lazily: an
//     iteration skips a block it cannot read, and a value it cannot read
//     (VerifyValueChecksum is on) is returned empty with the error only
//     logged (badger v4.9.6, Item.yieldItemValue). The next Open finds it.
//   - a damaged compressed block may make the decoder allocate the length
//     it claims before its checksum is checked (Badger does the same).

const (
	logHeaderSize   = 20        // key id (8) and base IV (12) heading every .mem and .vlog file
	maxEntryHeader  = 22        // Badger's maxHeaderSize
	maxLogKey       = 1 << 16   // Badger's replay refuses longer keys
	maxMemValue     = 1<<20 + 1 // a WAL value is below ValueThreshold, at most 1 MiB, or a value pointer
	bitTxn          = 1 << 6
	bitValuePointer = 1 << 1
	vptrSize        = 12 // a value pointer: file id, length, offset (uint32s, native order)
	bitFinTxn       = 1 << 7
	manifestVersion = 8 // Badger's badgerMagicVersion
	discardFile     = "DISCARD"
	memSuffix       = ".mem"
	vlogSuffix      = ".vlog"
)

var sanityText = []byte("Hello Badger")

// preflight checks the store in dir before Badger opens it (see above).
// It returns nil when the directory does not exist yet, or when the key
// registry does not match the key (Badger reports that, as
// ErrEncryptionKey).
//
// checkValues reports whether a table or memtable log points into a value
// log that is missing or shorter than the pointer, so that values must be
// checked after Badger opened (verifyValues): pointers left behind by the
// value-log GC are harmless, but only Badger knows which are.
func preflight(dir string, o Options, bo badger.Options, log *slog.Logger) (checkValues bool, err error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: open %q: %w", dir, err)
	}
	c := &checker{dir: dir, o: o, bo: bo, log: log, tables: map[uint64]bool{},
		vlogEnd: map[uint32]int64{}, refs: map[uint32]uint64{}}
	for _, e := range ents {
		name := e.Name()
		switch {
		case name == badger.ManifestFilename:
			c.haveManifest = true
		case name == badger.KeyRegistryFileName:
			c.haveRegistry = true
		case name == discardFile:
			c.haveDiscard = true
		case strings.HasSuffix(name, ".sst"):
			if id, ok := table.ParseFileID(name); ok {
				c.tables[id] = true
			}
		case strings.HasSuffix(name, memSuffix):
			if fid, err := strconv.ParseUint(strings.TrimSuffix(name, memSuffix), 10, 32); err == nil {
				c.mems = append(c.mems, uint32(fid))
			}
		case strings.HasSuffix(name, vlogSuffix):
			if fid, err := strconv.ParseUint(strings.TrimSuffix(name, vlogSuffix), 10, 32); err == nil {
				c.vlogs = append(c.vlogs, uint32(fid))
			}
		}
	}
	slices.Sort(c.mems)
	slices.Sort(c.vlogs)
	if err = c.run(); err != nil {
		return false, err
	}
	for fid, end := range c.refs {
		if have, ok := c.vlogEnd[fid]; !ok || int64(end) > have {
			return true, nil
		}
	}
	return false, nil
}

var fidInLog = regexp.MustCompile(`(?:file with ID: |Fid:)(\d+)`)

// verifyValues reads every value stored in the value log, after Badger
// opened the store. A value log that was deleted, or cut at an entry
// boundary, passes preflight (nothing in the log files says what they
// should hold), and Badger answers a value it cannot read with an empty
// value and no error, logging the reason (Item.yieldItemValue in v4.9.6).
// So a value that should be there (ValueSize > 0) and reads empty is
// damage; the file is named from Badger's log message.
func verifyValues(bdb *badger.DB, dir string, bl *badgerLogger) error {
	var fid atomic.Int64
	fid.Store(-1)
	capture := func(msg string) {
		if m := fidInLog.FindStringSubmatch(msg); m != nil && fid.Load() < 0 {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			fid.Store(n)
		}
	}
	bl.capture.Store(&capture)
	defer bl.capture.Store(nil)
	return bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if item.ValueSize() <= 0 {
				continue
			}
			n := 0
			if err := item.Value(func(v []byte) error { n = len(v); return nil }); err != nil {
				return fmt.Errorf("storage: open %q: read a value: %w", dir, err)
			}
			if n > 0 {
				continue
			}
			file := "a value log file (*.vlog)"
			if f := fid.Load(); f >= 0 {
				file = fmt.Sprintf("%06d%s", f, vlogSuffix)
			}
			return &CorruptError{Dir: dir, File: file, afterOpen: true,
				Reason: fmt.Sprintf("value log file is missing or cut short: the value of key %q cannot be read", truncKey(item.Key()))}
		}
		return nil
	})
}

func truncKey(k []byte) []byte {
	if len(k) > 64 {
		return k[:64]
	}
	return k
}

type checker struct {
	dir string
	o   Options
	bo  badger.Options
	log *slog.Logger

	haveManifest, haveRegistry, haveDiscard bool
	tables                                  map[uint64]bool // .sst files on disk
	mems, vlogs                             []uint32        // sorted file ids

	keys     map[uint64]*pb.DataKey // the registry's data keys, decrypted
	manifest badger.Manifest
	torn     bool              // the MANIFEST's last record is cut short
	tornAt   int               // where that record starts
	vlogEnd  map[uint32]int64  // value log file id: end of its last good entry
	refs     map[uint32]uint64 // value log file id: end of the furthest pointer into it
	refsMu   sync.Mutex
	memMax   []uint64 // newest version in each .mem file (committed entries)
	tableMax uint64   // newest version in the tables the MANIFEST lists
	empty    []string // empty newest .mem and .vlog files, to remove
	icache   *ristretto.Cache[uint64, *fb.TableIndex]
}

func (c *checker) corrupt(file, format string, args ...any) error {
	return &CorruptError{Dir: c.dir, File: file, Reason: fmt.Sprintf(format, args...)}
}

func (c *checker) run() error {
	if mismatch, err := c.registry(); err != nil || mismatch {
		return err
	}
	if err := c.readManifest(); err != nil {
		return err
	}
	for i, fid := range c.mems {
		if err := c.checkLog(fmt.Sprintf("%05d%s", fid, memSuffix), fid, true, i == len(c.mems)-1); err != nil {
			return err
		}
	}
	for i, fid := range c.vlogs {
		if err := c.checkLog(fmt.Sprintf("%06d%s", fid, vlogSuffix), fid, false, i == len(c.vlogs)-1); err != nil {
			return err
		}
	}
	if err := c.checkTables(); err != nil {
		return err
	}
	// Everything passed: now the repairs.
	if c.o.ReadOnly {
		if len(c.empty) > 0 {
			return c.corrupt(c.empty[0], "empty log file, left by a crash while it was being created; open the store read-write once to remove it")
		}
		return nil
	}
	for _, name := range c.empty {
		c.log.Warn("removing an empty log file left by a crash while it was being created", "file", name)
		if err := os.Remove(filepath.Join(c.dir, name)); err != nil {
			return fmt.Errorf("storage: open %q: %w", c.dir, err)
		}
	}
	if c.haveDiscard {
		if why := c.badDiscard(); why != "" {
			c.log.Warn("removing a damaged value-log discard file; it only guides the value-log GC", "file", discardFile, "why", why)
			if err := os.Remove(filepath.Join(c.dir, discardFile)); err != nil {
				return fmt.Errorf("storage: open %q: %w", c.dir, err)
			}
		}
	}
	return nil
}

// registry reads KEYREGISTRY: the sanity text, then data keys, each a
// length, a CRC and a protobuf (Badger's key_registry.go). mismatch is
// true when the registry does not fit the key; Badger then reports that.
func (c *checker) registry() (mismatch bool, err error) {
	c.keys = map[uint64]*pb.DataKey{}
	if !c.haveRegistry {
		return false, nil // checked against the files that need keys later
	}
	const name = badger.KeyRegistryFileName
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		return false, fmt.Errorf("storage: open %q: %w", c.dir, err)
	}
	const ivLen = 16
	if len(b) < ivLen+len(sanityText) {
		return false, c.corrupt(name, "key registry is %d bytes, shorter than its %d-byte header", len(b), ivLen+len(sanityText))
	}
	sanity := b[ivLen : ivLen+len(sanityText)]
	if len(c.o.EncryptionKey) > 0 {
		if sanity, err = y.XORBlockAllocate(sanity, c.o.EncryptionKey, b[:ivLen]); err != nil {
			return false, fmt.Errorf("storage: open %q: %w", c.dir, err)
		}
	}
	if !bytes.Equal(sanity, sanityText) {
		if len(c.o.EncryptionKey) > 0 || c.looksEncrypted() {
			return true, nil // a wrong key, or no key for an encrypted store
		}
		return false, c.corrupt(name, "key registry header is damaged (and the store's files are not encrypted)")
	}
	for off := ivLen + len(sanityText); off < len(b); {
		if len(b)-off < 8 {
			return false, c.corrupt(name, "key registry ends in a cut record at offset %d", off)
		}
		n := int(binary.BigEndian.Uint32(b[off:]))
		sum := binary.BigEndian.Uint32(b[off+4:])
		if n > len(b)-off-8 {
			return false, c.corrupt(name, "key registry record at offset %d runs past the end of the file", off)
		}
		data := b[off+8 : off+8+n]
		if crc32.Checksum(data, y.CastagnoliCrcTable) != sum {
			return false, c.corrupt(name, "key registry record at offset %d fails its checksum", off)
		}
		dk := &pb.DataKey{}
		if err := proto.Unmarshal(data, dk); err != nil {
			return false, c.corrupt(name, "key registry record at offset %d does not decode: %v", off, err)
		}
		if len(c.o.EncryptionKey) > 0 {
			if dk.Data, err = y.XORBlockAllocate(dk.Data, c.o.EncryptionKey, dk.Iv); err != nil {
				return false, c.corrupt(name, "key registry record at offset %d: %v", off, err)
			}
		}
		c.keys[dk.KeyId] = dk
		off += 8 + n
	}
	return false, nil
}

// looksEncrypted reports whether a log file names a data key, which only
// an encrypted store writes.
func (c *checker) looksEncrypted() bool {
	for _, f := range c.logNames() {
		if fh, err := os.Open(filepath.Join(c.dir, f)); err == nil {
			var id [8]byte
			_, err := io.ReadFull(fh, id[:])
			fh.Close()
			if err == nil && binary.BigEndian.Uint64(id[:]) != 0 {
				return true
			}
		}
	}
	return false
}

func (c *checker) logNames() []string {
	var names []string
	for _, fid := range c.mems {
		names = append(names, fmt.Sprintf("%05d%s", fid, memSuffix))
	}
	for _, fid := range c.vlogs {
		names = append(names, fmt.Sprintf("%06d%s", fid, vlogSuffix))
	}
	return names
}

// readManifest replays the MANIFEST as Badger's ReplayManifestFile does,
// but strictly: Badger takes a record cut short at the end for the end,
// and a run of zeros for empty records.
func (c *checker) readManifest() error {
	const name = badger.ManifestFilename
	if !c.haveManifest {
		if len(c.tables) > 0 {
			return c.corrupt(name, "missing while %d table files (.sst) exist; opening would start a new MANIFEST and delete them all", len(c.tables))
		}
		return nil // a store with nothing flushed yet: Badger starts a new one and loses nothing
	}
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		return fmt.Errorf("storage: open %q: %w", c.dir, err)
	}
	if len(b) < 8 {
		return c.corrupt(name, "is %d bytes, shorter than its 8-byte header", len(b))
	}
	if !bytes.Equal(b[:4], []byte("Bdgr")) {
		return c.corrupt(name, "does not start with Badger's magic text")
	}
	if v := binary.BigEndian.Uint16(b[6:8]); v != manifestVersion || binary.BigEndian.Uint16(b[4:6]) != c.bo.ExternalMagicVersion {
		return nil // another Badger version: Badger says so
	}
	m := badger.Manifest{Tables: map[uint64]badger.TableManifest{}}
	for off, first := 8, true; off < len(b); first = false {
		if len(b)-off < 8 {
			c.torn, c.tornAt = true, off
			break
		}
		n := int(binary.BigEndian.Uint32(b[off:]))
		sum := binary.BigEndian.Uint32(b[off+4:])
		if n == 0 && !first {
			// Badger writes an empty change set only as the first record
			// of a new or rewritten MANIFEST; a run of zeros reads as many.
			return c.corrupt(name, "holds zeros instead of a record at offset %d", off)
		}
		if n > len(b)-off-8 {
			if bytes.Count(b[off:], []byte{0}) == len(b)-off {
				return c.corrupt(name, "holds zeros instead of a record at offset %d", off)
			}
			c.torn, c.tornAt = true, off
			break
		}
		data := b[off+8 : off+8+n]
		if crc32.Checksum(data, y.CastagnoliCrcTable) != sum {
			return c.corrupt(name, "record at offset %d fails its checksum", off)
		}
		var cs pb.ManifestChangeSet
		if err := proto.Unmarshal(data, &cs); err != nil {
			return c.corrupt(name, "record at offset %d does not decode: %v", off, err)
		}
		for _, ch := range cs.Changes {
			switch ch.Op {
			case pb.ManifestChange_CREATE:
				if _, ok := m.Tables[ch.Id]; ok {
					return c.corrupt(name, "record at offset %d creates table %d twice", off, ch.Id)
				}
				m.Tables[ch.Id] = badger.TableManifest{Level: uint8(ch.Level), KeyID: ch.KeyId, Compression: options.CompressionType(ch.Compression)}
			case pb.ManifestChange_DELETE:
				delete(m.Tables, ch.Id)
			default:
				return c.corrupt(name, "record at offset %d has an unknown change %d", off, ch.Op)
			}
		}
		off += 8 + n
	}
	c.manifest = m
	for id := range m.Tables {
		if !c.tables[id] {
			if c.torn {
				return c.corrupt(name, "ends in a damaged or cut record at offset %d, and the records before it list table %s, which does not exist (the lost records deleted it)",
					c.tornAt, table.IDToFilename(id))
			}
			return c.corrupt(table.IDToFilename(id), "table file is missing: the MANIFEST lists it")
		}
	}
	return nil
}

// logScan is what checkLog learns from a .mem or .vlog file.
type logScan struct {
	size      int64
	keyID     uint64
	valid     int64  // end of the last entry whose checksum holds
	committed int64  // end of the last entry Badger replays (a .mem's last commit)
	maxTs     uint64 // newest version among the committed entries (.mem)
	// The entry at valid, when its checksum fails or it is cut short.
	bad     string // why it is not an entry
	wild    bool   // its header gives a length past the end of the file
	nonZero int64  // end of the last non-zero byte at or after valid, or valid
}

// checkLog checks a memtable log (mem) or value log. Badger replays a .mem
// file up to the last commit before the first bad entry and cuts it there,
// and does the same to the newest .vlog; entries behind that point are
// lost, and an older .vlog behind a bad entry is lost when the GC rewrites
// the file. So data behind a bad entry is refused, except for a torn write
// at the end of the newest file.
func (c *checker) checkLog(name string, fid uint32, mem, newest bool) error {
	path := filepath.Join(c.dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("storage: open %q: %w", c.dir, err)
	}
	kind := "value log"
	if mem {
		kind = "memtable log"
	}
	switch size := fi.Size(); {
	case size == 0 && newest:
		// Created, then killed before it was sized: nothing was written to
		// it, and Badger fails on it ("Create a new file"). (A newest value
		// log cut to nothing looks the same; the values it held are missed
		// by the check after open.)
		c.empty = append(c.empty, name)
		if mem {
			c.memMax = append(c.memMax, 0)
		}
		return nil
	case size == 0:
		return c.corrupt(name, "%s is empty but newer ones exist, so it held data", kind)
	case size < logHeaderSize:
		return c.corrupt(name, "%s is %d bytes, shorter than its %d-byte header", kind, size, logHeaderSize)
	}
	s, err := c.scanLog(path, fi.Size(), mem)
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) && ce.File == "" {
			ce.File = name
		}
		return err
	}
	if s == nil {
		return nil // encrypted with a key we were not given: Badger reports it
	}
	if mem {
		c.memMax = append(c.memMax, s.maxTs)
	} else {
		c.vlogEnd[fid] = s.valid
	}
	torn := false
	if newest && s.nonZero > s.valid && s.nonZero < s.size {
		// (A log is preallocated, so one whose data runs to its end was
		// cut, not torn.)
		// A kill during the copy of an entry into the mapped file leaves
		// any part of it written (Go's memmove does not copy front to
		// back), so a torn entry is recognised by what follows it: no
		// entry, within the length of one. (A value log entry may be any
		// length; references into a cut value log are caught by
		// verifyValues.)
		if torn, err = c.tornTail(path, s, mem); err != nil {
			return err
		}
	}
	switch {
	case s.wild:
		return c.corrupt(name, "%s has an entry at offset %d whose header is damaged or cut (%s, past the end of the file); opening would discard it and everything after it",
			kind, s.valid, s.bad)
	case s.nonZero > s.valid && !torn:
		return c.corrupt(name, "%s has a bad entry at offset %d (%s) and %d bytes of data after it up to offset %d, which opening would discard",
			kind, s.valid, s.bad, s.nonZero-s.valid, s.nonZero)
	case s.committed < s.valid && !newest:
		return c.corrupt(name, "%s ends in a transaction without its commit at offset %d, but it is not the newest log, so that part was damaged", kind, s.committed)
	case s.nonZero > s.valid || s.committed < s.valid:
		c.log.Info("the newest log ends in an unfinished write (the process was killed while writing); it was never acknowledged and is dropped",
			"file", name, "offset", s.committed)
	}
	return nil
}

// maxTornSpan bounds the bytes a torn write leaves after the last good
// entry of a memtable log: one entry, and the gap a zeroed header makes.
const maxTornSpan = maxEntryHeader + maxLogKey + maxMemValue + crc32.Size

// tornTail reports whether the bytes after the last good entry of the
// newest log s are what a write cut by a kill leaves: no whole entry
// among them (which Badger would discard), and for a memtable log no more
// than one entry's worth.
func (c *checker) tornTail(path string, s *logScan, mem bool) (bool, error) {
	span := s.nonZero - s.valid
	if mem && span > maxTornSpan || span > 64<<20 {
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("storage: open %q: %w", c.dir, err)
	}
	defer f.Close()
	b := make([]byte, span)
	if _, err := f.ReadAt(b, s.valid); err != nil {
		return false, fmt.Errorf("storage: open %q: %w", c.dir, err)
	}
	for i := 1; i < len(b); i++ {
		if entryAt(b[i:]) {
			return false, nil
		}
	}
	return true, nil
}

// entryAt reports whether b starts with a whole log entry whose checksum
// holds.
func entryAt(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	n := 2
	klen, k := binary.Uvarint(b[n:])
	if k <= 0 || klen == 0 || klen > maxLogKey {
		return false
	}
	n += k
	vlen, k := binary.Uvarint(b[n:])
	if k <= 0 || vlen > uint64(len(b)) {
		return false
	}
	n += k
	if _, k = binary.Uvarint(b[n:]); k <= 0 {
		return false
	}
	n += k
	end := n + int(klen) + int(vlen)
	if end+crc32.Size > len(b) {
		return false
	}
	return crc32.Checksum(b[:end], y.CastagnoliCrcTable) == binary.BigEndian.Uint32(b[end:])
}

// hashReader reads a log file, hashing what it reads, counting bytes.
type hashReader struct {
	r *bufio.Reader
	h hash.Hash32
	n int64
}

func (hr *hashReader) ReadByte() (byte, error) {
	b, err := hr.r.ReadByte()
	if err == nil {
		hr.h.Write([]byte{b})
		hr.n++
	}
	return b, err
}

func (hr *hashReader) read(p []byte) error {
	n, err := io.ReadFull(hr.r, p)
	hr.h.Write(p[:n])
	hr.n += int64(n)
	return err
}

// scanLog reads a .mem (mem) or .vlog file of size bytes entry by entry, as
// Badger will replay it, and reports where the valid entries end and why.
// It is one function, longer than our usual limit, on purpose: the verdict
// on the bytes after a bad entry (a torn last write, or damage hiding
// entries) depends on state carried across the whole walk (the open
// transaction, the last commit, the offset), which split-up helpers would
// have to pass back and forth.
func (c *checker) scanLog(path string, size int64, mem bool) (*logScan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("storage: open %q: %w", c.dir, err)
	}
	defer f.Close()
	s := &logScan{size: size, valid: logHeaderSize, committed: logHeaderSize}
	var head [logHeaderSize]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return nil, fmt.Errorf("storage: open %q: %w", c.dir, err)
	}
	s.keyID = binary.BigEndian.Uint64(head[:8])
	var dk *pb.DataKey
	switch {
	case s.keyID == 0 && len(c.o.EncryptionKey) > 0 && c.haveRegistry:
		return nil, &CorruptError{Dir: c.dir, Reason: "header says the file is not encrypted, in an encrypted store"}
	case s.keyID != 0:
		if dk = c.keys[s.keyID]; dk == nil {
			if !c.haveRegistry {
				return nil, c.corrupt(badger.KeyRegistryFileName, "missing, and the store's files are encrypted with the keys it held")
			}
			if len(c.o.EncryptionKey) == 0 {
				return nil, nil
			}
			return nil, &CorruptError{Dir: c.dir, Reason: fmt.Sprintf("header names data key %d, which the key registry does not hold", s.keyID)}
		}
	}
	baseIV := head[8:]

	hr := &hashReader{r: bufio.NewReaderSize(f, 256<<10), h: crc32.New(y.CastagnoliCrcTable), n: logHeaderSize}
	var key []byte
	inTxn := false
	var txnMax uint64
	for hr.n < size {
		start := hr.n
		hr.h.Reset()
		meta, klen, vlen, err := readEntryHeader(hr)
		if err != nil {
			s.bad = "its header is cut short"
			break
		}
		hlen := hr.n - start
		// Badger's replay allocates key and value before it reads them,
		// with their sum in a uint32 (a wrap makes it panic); a real
		// entry, even a torn one, fits in its preallocated file.
		wild := klen <= maxLogKey && uint64(start)+uint64(hlen)+klen+vlen+crc32.Size > uint64(size)
		if wild || klen > maxLogKey || (mem && vlen > maxMemValue) {
			s.bad = fmt.Sprintf("its header gives a %d-byte key and a %d-byte value", klen, vlen)
			s.wild = wild
			break
		}
		end := start + hlen + int64(klen) + int64(vlen) + crc32.Size
		if klen == 0 {
			s.bad = "it is empty"
			if meta == 0 && vlen == 0 {
				s.bad = "zeros"
			}
			break
		}
		key = slices.Grow(key[:0], int(klen))[:klen]
		if err := hr.read(key); err != nil {
			s.bad = "read: " + err.Error()
			break
		}
		var vptr [vptrSize]byte
		if mem && meta&bitValuePointer != 0 && vlen == vptrSize {
			if err := hr.read(vptr[:]); err != nil {
				s.bad = "read: " + err.Error()
				break
			}
		} else {
			if _, err := io.CopyN(hr.h, hr.r, int64(vlen)); err != nil {
				s.bad = "read: " + err.Error()
				break
			}
			hr.n += int64(vlen)
		}
		var sum [crc32.Size]byte
		want := hr.h.Sum32()
		if err := hr.read(sum[:]); err != nil {
			s.bad = "read: " + err.Error()
			break
		}
		if binary.BigEndian.Uint32(sum[:]) != want {
			s.bad = "its checksum fails"
			break
		}
		s.valid = end
		if mem && meta&bitValuePointer != 0 && vlen == vptrSize {
			c.noteRef(vptr[:])
		}
		if !mem {
			s.committed = end
			continue
		}
		ts := uint64(0)
		if len(key) >= 8 {
			plain := key
			if dk != nil {
				iv := make([]byte, 16)
				copy(iv, baseIV)
				binary.BigEndian.PutUint32(iv[12:], uint32(start))
				if plain, err = y.XORBlockAllocate(key, dk.Data, iv); err != nil {
					return nil, err
				}
			}
			ts = math.MaxUint64 - binary.BigEndian.Uint64(plain[len(plain)-8:])
		}
		switch {
		case meta&bitTxn != 0:
			inTxn = true
			txnMax = max(txnMax, ts)
		case meta&bitFinTxn != 0:
			inTxn = false
			s.committed = end
			s.maxTs = max(s.maxTs, txnMax, ts)
			txnMax = 0
		case !inTxn:
			s.committed = end
			s.maxTs = max(s.maxTs, ts)
		}
	}
	s.nonZero = s.valid
	if s.valid < size {
		if s.nonZero, err = lastNonZero(f, s.valid, size); err != nil {
			return nil, fmt.Errorf("storage: open %q: %w", c.dir, err)
		}
	}
	return s, nil
}

// readEntryHeader reads a log entry's header: meta, user meta, key length,
// value length, expiry (Badger's header.Encode).
func readEntryHeader(hr *hashReader) (meta byte, klen, vlen uint64, err error) {
	if meta, err = hr.ReadByte(); err != nil {
		return
	}
	if _, err = hr.ReadByte(); err != nil {
		return
	}
	if klen, err = binary.ReadUvarint(hr); err != nil {
		return
	}
	if vlen, err = binary.ReadUvarint(hr); err != nil {
		return
	}
	if vlen > math.MaxUint32 || klen > math.MaxUint32 {
		return meta, klen, vlen, nil
	}
	_, err = binary.ReadUvarint(hr)
	return
}

// lastNonZero returns the end of the last non-zero byte of f in
// [from, size), or from when there is none. Preallocated logs are mostly
// holes, which nextData skips.
func lastNonZero(f *os.File, from, size int64) (int64, error) {
	last := from
	buf := make([]byte, 1<<20)
	for off := from; off < size; {
		next, err := nextData(f, off)
		if err != nil {
			return 0, err
		}
		if next >= size {
			break
		}
		off = next
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if n == 0 && err != nil {
			return 0, err
		}
		for i := n - 1; i >= 0; i-- {
			if buf[i] != 0 {
				last = off + int64(i) + 1
				break
			}
		}
		off += int64(n)
	}
	return last, nil
}

// checkTables verifies every table: the index and every block against
// their checksums (what Badger's ChecksumVerificationMode OnTableRead does
// at open, but on this goroutine, so that a cut table's panic becomes an
// error), then the tables the MANIFEST does not list.
func (c *checker) checkTables() error {
	defer func() {
		if c.icache != nil {
			c.icache.Close()
		}
	}()
	if len(c.keys) > 0 {
		var err error
		if c.icache, err = ristretto.NewCache(&ristretto.Config[uint64, *fb.TableIndex]{
			NumCounters: 1 << 12, MaxCost: 64 << 20, BufferItems: 64,
		}); err != nil {
			return fmt.Errorf("storage: open %q: %w", c.dir, err)
		}
	}
	ids := make([]uint64, 0, len(c.tables))
	for id := range c.tables {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var orphans, listed []uint64
	for _, id := range ids {
		if _, ok := c.manifest.Tables[id]; ok {
			listed = append(listed, id)
		} else {
			orphans = append(orphans, id)
		}
	}
	// Reading and checksumming every block is most of Open's time on a
	// large store: spread the tables over the CPUs.
	type result struct {
		mv  uint64
		err error
	}
	results := make([]result, len(listed))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(listed)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				mv, err := c.verifyTable(listed[i], c.manifest.Tables[listed[i]])
				results[i] = result{mv, err}
			}
		}()
	}
	for i := range listed {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, r := range results {
		if r.err != nil {
			return c.corrupt(table.IDToFilename(listed[i]), "table: %v", r.err)
		}
		c.tableMax = max(c.tableMax, r.mv)
	}
	for _, id := range orphans {
		name := table.IDToFilename(id)
		// An orphan is a flush or compaction the process died in: a flush
		// holds exactly the versions of a memtable log still on disk, a
		// compaction no version newer than the tables it read. Anything
		// newer is a table whose MANIFEST record was lost.
		mv, err := c.verifyTable(id, badger.TableManifest{Compression: c.bo.Compression})
		if err != nil {
			c.log.Warn("a table the MANIFEST does not list is unreadable, left by an interrupted flush or compaction; Badger will delete it", "file", name, "err", err)
			continue
		}
		if mv <= c.tableMax || slices.Contains(c.memMax, mv) {
			c.log.Info("a table the MANIFEST does not list, left by an interrupted flush or compaction, holds nothing new; Badger will delete it", "file", name)
			continue
		}
		why := "records are missing from it"
		if c.torn {
			why = "its last record is cut short"
		}
		return c.corrupt(badger.ManifestFilename, "does not list table %s, which holds newer data (version %d) than the listed tables (up to %d) and the memtable logs: %s; opening would delete the table",
			name, mv, c.tableMax, why)
	}
	if c.torn {
		c.log.Warn("the MANIFEST ends in a record cut short by a crash; nothing depends on it", "file", badger.ManifestFilename)
	}
	return nil
}

// verifyTable opens table id as Badger would and checks every block,
// turning a panic into an error. It returns the table's newest version.
func (c *checker) verifyTable(id uint64, tf badger.TableManifest) (mv uint64, err error) {
	path := table.NewFilename(id, c.dir)
	var mf *z.MmapFile
	phase := "its index or footer is damaged or cut"
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s (reading it makes Badger panic)", phase)
			if msg, _, _ := strings.Cut(strings.TrimSpace(fmt.Sprint(r)), "\n"); !strings.HasPrefix(msg, "==") {
				err = fmt.Errorf("%s (reading it makes Badger panic: %.120s)", phase, msg)
			}
		}
		if err != nil && mf != nil {
			// OpenTable closes (and unmaps) the file on some errors only;
			// a second Close of the fd tells which.
			if mf.Fd.Close() == nil {
				_ = z.Munmap(mf.Data)
			}
		}
	}()
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	if fi.Size() < 8 {
		return 0, fmt.Errorf("it is %d bytes, too short to be a table", fi.Size())
	}
	dk, err := c.dataKey(tf.KeyID)
	if err != nil {
		return 0, err
	}
	opts := table.Options{
		ChkMode:     options.NoVerification,
		BlockSize:   c.bo.BlockSize,
		Compression: tf.Compression,
		DataKey:     dk,
	}
	if dk != nil {
		opts.IndexCache = c.icache // Badger panics without one on encrypted tables
	}
	if mf, err = z.OpenMmapFile(path, os.O_RDONLY, 0); err != nil {
		mf = nil
		return 0, err
	}
	t, err := table.OpenTable(mf, opts)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", phase, err)
	}
	mf = nil // t owns it now
	defer func() {
		if cerr := t.Close(-1); err == nil {
			err = cerr
		}
	}()
	// Table.VerifyChecksum dereferences a nil block on a block it cannot
	// read (badger v4.9.6), so its panic is the usual way a bad block shows.
	phase = "a data block is damaged (its checksum fails or it does not decode)"
	if err := t.VerifyChecksum(); err != nil {
		return 0, fmt.Errorf("%s: %w", phase, err)
	}
	// The value pointers, for checkValues. A table's OnDiskSize is its
	// blocks and index plus the length of every value it points to in the
	// value log (table.Builder), so a table without pointers is skipped.
	footer := int64(8 + binary.BigEndian.Uint32(t.Data[len(t.Data)-4:]))
	if int64(t.OnDiskSize()) <= t.Size()-footer {
		return t.MaxVersion(), nil
	}
	it := t.NewIterator(table.NOCACHE)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if vs := it.Value(); vs.Meta&bitValuePointer != 0 && len(vs.Value) >= vptrSize {
			c.noteRef(vs.Value)
		}
	}
	return t.MaxVersion(), nil
}

// noteRef records a value pointer (Badger's valuePointer, copied as it is
// in memory, hence native byte order).
func (c *checker) noteRef(vp []byte) {
	fid := binary.NativeEndian.Uint32(vp[0:])
	end := uint64(binary.NativeEndian.Uint32(vp[4:])) + uint64(binary.NativeEndian.Uint32(vp[8:]))
	c.refsMu.Lock()
	c.refs[fid] = max(c.refs[fid], end)
	c.refsMu.Unlock()
}

func (c *checker) dataKey(id uint64) (*pb.DataKey, error) {
	if id == 0 {
		return nil, nil
	}
	if dk := c.keys[id]; dk != nil {
		return dk, nil
	}
	if !c.haveRegistry {
		return nil, fmt.Errorf("encrypted with data key %d, and the key registry (%s) is missing", id, badger.KeyRegistryFileName)
	}
	return nil, fmt.Errorf("encrypted with data key %d, which the key registry does not hold", id)
}

// badDiscard says what is wrong with the DISCARD file, if anything: a
// sorted array of (value-log file id, discarded bytes) pairs of 8 bytes
// each, ending at the first zero id, in a file of whole slots.
func (c *checker) badDiscard() string {
	b, err := os.ReadFile(filepath.Join(c.dir, discardFile))
	if err != nil {
		return err.Error()
	}
	if len(b) < 16 || len(b)%16 != 0 {
		return fmt.Sprintf("%d bytes, not a whole number of 16-byte slots", len(b))
	}
	var prev uint64
	for off := 0; off < len(b); off += 16 {
		fid := binary.BigEndian.Uint64(b[off:])
		if fid == 0 {
			break
		}
		if fid <= prev || fid > math.MaxUint32 {
			return fmt.Sprintf("slot at offset %d is out of order", off)
		}
		prev = fid
	}
	return ""
}
