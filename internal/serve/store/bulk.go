package store

import (
	"context"
	"errors"
)

// ErrExists is returned (wrapped, naming the record) by Bulk.Load without
// merge when a key is already stored.
var ErrExists = errors.New("store: record already stored")

// Loaded is a record as an import writes it and an export reads it: with
// its own version, LastChangedAt and tombstone flag, which Load keeps as
// they are (Mutate would bump and stamp them).
type Loaded struct {
	Record
	// ExpireAt is when a tombstone is removed, in epoch ms (AppSync's
	// _ttl × 1000). On Load, 0 means LastChangedAt + the base TTL; it is
	// ignored for live records, and Dump returns 0 for them.
	ExpireAt int64
}

// LoadStats counts what one Load wrote.
type LoadStats struct {
	// Written records were stored; Kept ones were skipped by a merge
	// because the stored version was the same or newer.
	Written, Kept int
}

// DumpPage is one page of Bulk.Dump.
type DumpPage struct {
	Records []Loaded
	// Next resumes the read; nil on the last page.
	Next []byte
}

// page is d without the tombstone expiries (what Scan returns).
func (d DumpPage) page() Page {
	if d.Records == nil {
		return Page{Next: d.Next}
	}
	recs := make([]Record, len(d.Records))
	for i, l := range d.Records {
		recs[i] = l.Record
	}
	return Page{Records: recs, Next: d.Next}
}

// Bulk is what `dsgen serve import` and `export` need beyond Store; both
// engines implement it. Loaded records go to the base table only, not the
// change log or the feed: clients get them by a base sync, which the
// import epoch forces on every client that synced before the import. They
// keep their LastChangedAt, which may be older than the commit clock: they
// are not writes in the sense of StartedAt, the epoch stands for them.
type Bulk interface {
	Store
	// Load writes recs of model with their metadata as they are, atomically
	// with concurrent Mutates of the same keys. Without merge a key already
	// stored fails with ErrExists (records before it in recs may be
	// written). With merge a record replaces the stored one only when its
	// version is higher; otherwise the stored one is kept.
	Load(ctx context.Context, model string, recs []Loaded, merge bool) (LoadStats, error)
	// MarkImport ends an import: it raises the commit clock past
	// max(now, every watermark and write so far, after) and records that
	// time, or notBefore when later, as the import epoch, which it
	// returns. Every earlier write and StartedAt is before the epoch;
	// every later one is at or after the raised clock (and so after the
	// epoch unless notBefore put it later: a cutover time still to come).
	MarkImport(ctx context.Context, after, notBefore int64) (int64, error)
	// ImportEpoch returns the epoch of the last import, 0 when there was
	// none. A sync whose lastSync is before it must be a base sync: the
	// imported records are not in the change log.
	ImportEpoch(ctx context.Context) (int64, error)
	// Dump reads model's records in key order like Scan, with each
	// tombstone's expiry.
	Dump(ctx context.Context, model string, cursor []byte, limit int) (DumpPage, error)
}

// loadExpiry returns the expireAt a loaded record is stored with.
func loadExpiry(r Loaded, baseTTL int64) int64 {
	switch {
	case !r.Deleted:
		return 0
	case r.ExpireAt != 0:
		return r.ExpireAt
	}
	return r.LastChangedAt + baseTTL
}

// loadOp is the op stored with a loaded record.
func loadOp(r Loaded) Op {
	if r.Deleted {
		return OpDelete
	}
	if r.Version > 1 {
		return OpUpdate
	}
	return OpCreate
}
