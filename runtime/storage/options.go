package storage

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Preset sizes Badger's memory for the machine the app runs on.
type Preset int

const (
	// PresetLaptop is the default: desktop apps, CLIs and services with a
	// local cache. Badger's memory stays in the tens of megabytes.
	PresetLaptop Preset = iota
	// PresetDevice is for edge/IoT gateways and small devices: the smallest
	// footprint, a few megabytes of Badger memory on top of the Go runtime.
	PresetDevice
	// PresetServer keeps Badger's own defaults (64 MiB memtables, a 256 MiB
	// block cache): for a dedicated host where throughput matters more than
	// memory.
	PresetServer
)

// String returns the preset's name as used in docs and logs.
func (p Preset) String() string {
	switch p {
	case PresetLaptop:
		return "laptop"
	case PresetDevice:
		return "device"
	case PresetServer:
		return "server"
	}
	return fmt.Sprintf("Preset(%d)", int(p))
}

// defaultGCInterval is the value-log GC period used when Options.GCInterval
// is zero.
const defaultGCInterval = 5 * time.Minute

// Options configures Open. The zero value is a laptop-sized, unencrypted,
// read-write store on disk.
type Options struct {
	// InMemory keeps everything in memory and writes no files; the
	// directory passed to Open is ignored. Meant for tests.
	InMemory bool

	// EncryptionKey, when set, must be 16, 24 or 32 bytes (AES-128, -192 or
	// -256) and enables encryption at rest. Every preset then also sets the
	// block and index caches Badger needs to read encrypted tables. A store
	// created with a key can only be opened with the same key, and a store
	// created without one only without one.
	EncryptionKey []byte

	// Preset sizes Badger's memory; the zero value is PresetLaptop.
	Preset Preset

	// GCInterval is the value-log GC period: 0 means 5 minutes, a negative
	// value disables the GC. The GC never runs for InMemory or
	// ReadOnly stores.
	GCInterval time.Duration

	// Logger receives Badger's logs. Badger's errors and warnings are logged
	// at slog.LevelError and slog.LevelWarn, its info and debug chatter at
	// slog.LevelDebug (so a logger at the usual Info level stays quiet).
	// When nil, Badger's info and debug logs are discarded and its warnings
	// and errors go to slog.Default().
	Logger *slog.Logger

	// ReadOnly opens an existing store for reading only. Several read-only
	// processes may share a directory, but not with a read-write one.
	ReadOnly bool

	// SyncWrites makes every Badger commit return only once its write-ahead
	// log (and value log) is synced to disk, so a committed write survives
	// an OS crash or power loss, not only a process crash. Badger syncs once
	// per committed transaction: callers that want one sync shared by many
	// writes batch them into one transaction.
	SyncWrites bool

	// LeanSync, with SyncWrites, has this package sync each commit instead
	// of Badger, which syncs the value log on every commit even when
	// nothing went there (values below the value threshold stay in the
	// memtable log): a second device flush per commit. Txn.Commit then
	// syncs the memtable log, and the value logs only when the transaction
	// wrote a value that goes there. As with Badger's own sync, Commit
	// returns once the write is durable, and a transaction started
	// meanwhile waits for the sync, so no reader sees a write a power loss
	// could take back. Writes made on the Badger handle itself
	// (DB.Badger) are not synced.
	LeanSync bool

	// tune, set only by this package's tests, adjusts the Badger options
	// after the preset is applied.
	tune func(*badger.Options)
}

// badgerOptions maps o onto Badger's options for dir.
//
// Where the memory goes in Badger v4, and so what the presets trade:
//   - Memtables: each is a skiplist arena of MemTableSize (plus ~15% for the
//     largest batch) allocated on the Go heap, and a write-ahead file mmapped
//     at twice that. Up to NumMemtables exist at once (one taking writes,
//     the rest waiting to be flushed to level 0). This is the largest fixed
//     cost, and the knob that matters most.
//   - A transaction may hold at most 15% of MemTableSize in bytes and
//     15% of MemTableSize / 96 in entries (Badger's ErrTxnTooBig), so small
//     memtables also cap the size of one transaction.
//   - Block cache (ristretto): decompressed/decrypted blocks. Badger refuses
//     to run compressed or encrypted tables without one; for plain tables it
//     is optional, reads then come from the mmapped files (the kernel's page
//     cache, which it can reclaim under pressure, unlike the Go heap).
//   - Index cache: plain tables keep their indexes and bloom filters in the
//     mmapped files, but encrypted ones must be decrypted first and Badger
//     panics without an index cache to hold them, so it is set exactly when a
//     key is given.
//   - Compaction: each table is built in a buffer of at least twice its
//     target size (BaseTableSize, times TableSizeMultiplier per level
//     below the base one), and Badger keeps up to 8 + (splits) finished
//     builders per compaction in flight while their files are written.
//     With Badger's doubling of the table size per level this grew with
//     the store (a 1,000,000-record base sync: 342-370 MB of live heap,
//     304 MB of it builder buffers); the laptop and device presets keep
//     every level's tables at BaseTableSize (TableSizeMultiplier 1),
//     which halved it (issue 16). No option bounds the in-flight count;
//     smaller tables make smaller builders but more of them over a sync,
//     and cost client CPU. A builder holds more
//     than its table: with Snappy each block's output is allocated at its
//     largest encoded size (n + n/6), so about 2.2× the table, and
//     finished builders' buffers go back to a pool of eight that frees
//     one only after two seconds without a build, so through a long sync
//     they stay on the heap. A level-0 flush builds one table of the whole
//     memtable (its builder held 12 MB for an 8 MiB memtable); an
//     L0→L0 compaction (Badger merges four or more level-0 tables older
//     than ten seconds into one when the base level is busy) starts its
//     builder at 256 MiB, mostly untouched pages but all of it Go heap.
//     Pacing the writer on Badger's compaction scores did not lower a
//     300,000-record sync's peak (the buffers belong to one compaction,
//     not to the backlog), and neither did sending record values to the
//     value log (ValueThreshold 64 bytes) at 100,000 (issue 16).
//   - Value log: values above ValueThreshold go to vlog files mmapped at
//     twice ValueLogFileSize; that is address space, not RSS, but it counts
//     on 32-bit devices and it is the unit the GC rewrites.
//
// It is one long function on purpose: a flat list of settings, each with its
// reason, reads best in one place next to the budget above.
func (o Options) badgerOptions(dir string) badger.Options {
	var bo badger.Options
	if o.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
	} else {
		bo = badger.DefaultOptions(dir)
	}
	encrypted := len(o.EncryptionKey) > 0

	switch o.Preset {
	case PresetLaptop:
		// 8 MiB memtables (Badger: 64) flush often enough that an app
		// writing steadily never holds much unflushed data, yet still
		// admit transactions of ~1.2 MiB / ~13k entries, far above what
		// an app's unit of work writes. Three of them let a burst keep
		// writing while one flushes, without the 5×64 MiB Badger allows.
		// Each is a 10.4 MiB arena on the Go heap (8 MiB plus the batch
		// margin). A base sync holds two most of the time once it writes
		// more than one (the one taking writes, the one being flushed);
		// one queued instead of three bounded the worst case but did not
		// lower the peak measured at 100,000 records (issue 16). Smaller
		// memtables (4 or 2 MiB, two of them) lower a 10,000-record
		// sync's peak heap from ~31 to ~21 MB, but 100,000's went from
		// 75-83 MB to anywhere between 56 and 145 MB (more flushes feed
		// more compactions) and the client's CPU per record rose by
		// 15-100%; the one run at 56 MB (4 MiB, plain tables) took
		// 24 µs per record against 13. Re-measured once the base sync
		// no longer read each record of a fresh page (h18mem): 4 MiB
		// still peaked at 111 MB at 100,000 (a quarter of the records/s:
		// writes stalled on level 0) and 2 MiB at 175 MB. Only keeping
		// compaction out of the burst met 1.5× (5 runs of 6): 2 MiB, plain
		// 1 MiB tables (the flush builder then fits its first 2 MiB
		// buffer) and level-0 compaction at 30 tables went from 22 MB at
		// 10,000 to 29-34 MB at 100,000, but took 14-30% more client CPU
		// per record (a flush and a table file per 2 MiB, more GC
		// cycles), postponed the compaction rather than shrank it (30
		// overlapping tables merged at once) and left reads up to 30
		// level-0 tables to probe. A 2 MiB memtable also caps a
		// transaction (a sync page) at ~315 KiB and 3,276 entries: a page
		// of 1,000 blog Posts fits, but at 1 MiB the sync never reached
		// Ready, so larger records or more indexes would not fit.
		bo.MemTableSize = 8 << 20
		bo.NumMemtables = 3
		// Level-0 tables overlap, so every read may probe each one; with
		// small memtables they are cheap to compact, so compact early
		// (4, Badger: 5) and stall late enough (10) to absorb bursts.
		bo.NumLevelZeroTables = 4
		bo.NumLevelZeroTablesStall = 10
		// Badger's 2 MiB tables / 10 MiB L1 already suit a small store.
		bo.BaseTableSize = 2 << 20
		bo.BaseLevelSize = 10 << 20
		// Tables of every level stay 2 MiB (Badger doubles them per
		// level below the base): a compaction's builders are about twice
		// their table each, up to 8 + splits of them in flight, so with
		// doubling tables they grew with the store. A base sync of
		// 1,000,000 records peaked at 639-726 MB of heap (342-370 MB live,
		// 304 MB of it builder buffers), and 350 MB (177 MB live) with
		// this, at the same records/s and client CPU; 100,000 records and
		// fewer are unchanged (issue 16). 1 MiB tables saved another 18%
		// at 1M but cost 12% more client CPU per record.
		bo.TableSizeMultiplier = 1
		// Two is Badger's minimum (one compactor is refused, zero disables
		// compaction); four only helps sustained heavy ingest.
		bo.NumCompactors = 2
		// App records are small; keeping them in the LSM tree makes a read
		// one lookup and leaves the value log (and its GC) idle. Blobs
		// above 64 KiB (Badger: 1 MiB, which would let a few of them fill
		// a memtable) go to the value log instead of being rewritten by
		// every compaction.
		bo.ValueThreshold = 64 << 10
		// The GC rewrites a whole file to reclaim it, and files are
		// mmapped at twice their size: 128 MiB (Badger: 1 GiB) keeps both
		// proportionate to a desktop app's data.
		bo.ValueLogFileSize = 128 << 20
		// Snappy (Badger's default) stays: it is cheap and shrinks the
		// files, but needs a cache of decompressed blocks. 16 MiB holds
		// the hot set of a typical local store (Badger: 256 MiB).
		// Plain tables (issue 16) did not lower a base sync's peak heap
		// at 300,000 records and cost more client CPU; without a block
		// cache every read parses its block again (an indexed query over
		// 100,000 records took about 3× as long).
		bo.BlockCacheSize = 16 << 20
		if encrypted {
			// Decrypted table indexes and bloom filters; ~5% of the data
			// they index, so 8 MiB covers a store of well over 100 MiB
			// before indexes get evicted and re-decrypted.
			bo.IndexCacheSize = 8 << 20
		}
		// Only the Stream framework (backup, export) uses these.
		bo.NumGoroutines = 4

	case PresetDevice:
		// 2 MiB memtables, at most two: ~5 MiB of arena in the worst case,
		// usually one partly filled. A transaction is then capped at
		// ~300 KiB / ~3.2k entries: enough for an app's unit of work on a
		// device; bulk imports must be batched (badger.WriteBatch does).
		bo.MemTableSize = 2 << 20
		bo.NumMemtables = 2
		// Fewer, smaller L0 tables: less to probe per read and a smaller
		// compaction each time; stall sooner rather than grow memory.
		bo.NumLevelZeroTables = 3
		bo.NumLevelZeroTablesStall = 8
		// 1 MiB tables halve the compaction buffers (2 × table size each);
		// a 4 MiB L1 keeps the level shape sensible for that table size.
		bo.BaseTableSize = 1 << 20
		bo.BaseLevelSize = 4 << 20
		// As for the laptop preset: tables do not grow per level, so
		// neither do the compaction buffers as the store grows.
		bo.TableSizeMultiplier = 1
		bo.NumCompactors = 2
		// Must stay below the 15% batch limit (~300 KiB) and well below a
		// 2 MiB memtable, so larger payloads go to the value log.
		bo.ValueThreshold = 16 << 10
		// 16 MiB vlog files: 32 MiB of address space each (a 1 GiB file
		// would map 2 GiB, impossible on a 32-bit device) and small
		// rewrite bursts on slow flash when the GC reclaims one.
		bo.ValueLogFileSize = 16 << 20
		// No compression: plain tables need no block cache, so reads come
		// from the page cache, which the kernel reclaims under pressure,
		// instead of a fixed slab of Go heap. Costs disk, not memory.
		bo.Compression = options.None
		bo.BlockCacheSize = 0
		if encrypted {
			// Encrypted blocks must be decrypted into a cache: keep it
			// small, and the index cache smaller still.
			bo.BlockCacheSize = 2 << 20
			bo.IndexCacheSize = 1 << 20
		}
		bo.NumGoroutines = 2

	case PresetServer:
		// Badger's defaults, except that encryption needs an index cache,
		// which Badger leaves at 0 (it panics on the first encrypted read
		// without one). The block cache keeps its 256 MiB default.
		if encrypted {
			bo.IndexCacheSize = 64 << 20
		}
	}

	if encrypted {
		key := make([]byte, len(o.EncryptionKey))
		copy(key, o.EncryptionKey)
		bo.EncryptionKey = key
		// Belt and braces: whatever a preset says, Badger panics at Open
		// without a block cache when tables are encrypted.
		if bo.BlockCacheSize <= 0 {
			bo.BlockCacheSize = 2 << 20
		}
		if bo.IndexCacheSize <= 0 {
			bo.IndexCacheSize = 1 << 20
		}
	}
	if bo.Compression != options.None && bo.BlockCacheSize <= 0 {
		bo.BlockCacheSize = 2 << 20
	}

	// A value read from the value log is checked against its CRC, so a
	// damaged one is an error (y.ErrChecksumMismatch) instead of wrong
	// data. Tables need no such option: Open verifies them all.
	bo.VerifyValueChecksum = true
	bo.ReadOnly = o.ReadOnly
	bo.SyncWrites = o.SyncWrites && !o.InMemory && !o.LeanSync
	bo.Logger = newBadgerLogger(o.Logger, dir)
	if o.tune != nil {
		o.tune(&bo)
	}
	return bo
}
