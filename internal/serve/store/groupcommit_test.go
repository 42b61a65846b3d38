package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
)

var errConditionFailed = errors.New("condition failed")

// TestGroupCommitOutcomes runs many concurrent writers, so their writes
// share group commits, with every third write refused by its condition.
// A refused write fails alone (the others in its commit succeed, are
// stored, published once and numbered without gaps); a lone writer and
// StartedAt after the crowd are answered, not held for writers who left;
// and after a reopen the sequence and clock continue from the last write,
// though the engine state is written once per commit, not per write.
func TestGroupCommitOutcomes(t *testing.T) { forEngines(t, testGroupCommitOutcomes) }

func testGroupCommitOutcomes(t *testing.T, e engine) {
	c := newClock()
	dir := t.TempDir()
	ctx := context.Background()
	s, err := e.openRaw(t, store.Options{Dir: dir, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	first := s
	t.Cleanup(func() { first.Close() }) // a no-op after the Close below
	var mu sync.Mutex
	var fed []store.Change
	s.Feed(ctx, func(ch store.Change) {
		mu.Lock()
		fed = append(fed, ch)
		mu.Unlock()
	})

	const writers, each = 32, 12
	written := make([][]string, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%02d-%02d", w, i)
				refuse := i%3 == 2
				_, err := s.Mutate(ctx, "Post", []any{id}, func(cur *store.Record) (map[string]any, store.Op, error) {
					if refuse {
						return nil, 0, errConditionFailed
					}
					return map[string]any{"id": id, "w": float64(w)}, store.OpCreate, nil
				})
				switch {
				case refuse && !errors.Is(err, errConditionFailed):
					t.Errorf("%s: refused write returned %v", id, err)
				case !refuse && err != nil:
					t.Errorf("%s: %v", id, err)
				case !refuse:
					written[w] = append(written[w], id)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	n := writers * each * 2 / 3

	// The crowd is gone: one writer alone, then a watermark.
	last := put(t, s, "Post", []any{"alone"}, map[string]any{"id": "alone"})
	if last.Seq != uint64(n+1) {
		t.Fatalf("lone write after %d: seq %d", n, last.Seq)
	}
	w, err := s.StartedAt(ctx)
	if err != nil || w < last.Record.LastChangedAt {
		t.Fatalf("StartedAt %d, %v; want >= %d", w, err, last.Record.LastChangedAt)
	}

	mu.Lock()
	got := len(fed)
	seen := map[uint64]bool{}
	for _, ch := range fed {
		seen[ch.Seq] = true
	}
	mu.Unlock()
	if got != n+1 || len(seen) != n+1 || !seen[1] || !seen[uint64(n+1)] {
		t.Fatalf("feed: %d changes, %d distinct seqs; want 1..%d once each", got, len(seen), n+1)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = e.open(t, store.Options{Dir: dir, Now: c.Now})
	for w := range writers {
		for i := range each {
			id := fmt.Sprintf("w%02d-%02d", w, i)
			_, err := s.Get(ctx, "Post", []any{id})
			if i%3 == 2 && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s: refused write stored (%v)", id, err)
			}
			if i%3 != 2 && err != nil {
				t.Fatalf("%s: acknowledged write lost: %v", id, err)
			}
		}
	}
	next := put(t, s, "Post", []any{"after"}, map[string]any{"id": "after"})
	if next.Seq != last.Seq+1 || next.Record.LastChangedAt < w {
		t.Fatalf("write after reopen: seq %d, LastChangedAt %d; want seq %d, LastChangedAt >= %d",
			next.Seq, next.Record.LastChangedAt, last.Seq+1, w)
	}
}
