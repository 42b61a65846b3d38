package datastore

import (
	"errors"
	"testing"

	"github.com/dsgen/dsgen/runtime/storage"
)

// TestLinkLogCheck: a cascade conflicts when a parent it deleted was
// checked by a commit after it began, or when more parents were checked
// meanwhile than the log holds; otherwise it commits.
func TestLinkLogCheck(t *testing.T) {
	l := newLinkLog()
	blog, other := []byte("blog b"), []byte("blog c")
	l.add([]uint64{l.hash(other)}) // before the cascade: visible to it
	cascade := &Txn{since: l.pos.Load(), doomed: map[uint64]bool{l.hash(blog): true}}
	if err := l.check(cascade); err != nil {
		t.Fatalf("nothing saved since the cascade began: %v", err)
	}
	l.add([]uint64{l.hash(other), l.hash(other)})
	if err := l.check(cascade); err != nil {
		t.Fatalf("only another blog's children saved since: %v", err)
	}
	l.add([]uint64{l.hash(blog)})
	if err := l.check(cascade); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("a child of the deleted blog saved since: got %v, want ErrConflict", err)
	}
	if err := l.check(&Txn{since: l.pos.Load()}); err != nil {
		t.Fatalf("a transaction that deleted no parent: %v", err)
	}

	fresh := &Txn{since: l.pos.Load(), doomed: map[uint64]bool{l.hash(blog): true}}
	for range linkLogSize {
		l.add([]uint64{l.hash(other)})
	}
	if err := l.check(fresh); err != nil {
		t.Fatalf("exactly a full log of other parents: %v", err)
	}
	l.add([]uint64{l.hash(other)})
	if err := l.check(fresh); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("more parents checked than the log holds: got %v, want ErrConflict", err)
	}
}
