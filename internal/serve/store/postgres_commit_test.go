package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store"
)

// increment is a MutateFunc adding one to the record's n, creating it at 1.
func increment(saw *int64) store.MutateFunc {
	return func(cur *store.Record) (map[string]any, store.Op, error) {
		if cur == nil {
			*saw = 0
			return map[string]any{"n": float64(1)}, store.OpCreate, nil
		}
		*saw = cur.Version
		return map[string]any{"n": cur.Item["n"].(float64) + 1}, store.OpUpdate, nil
	}
}

// TestPostgresGroupCommitConcurrentWriters runs 32 writers, each creating
// keys of its own and incrementing four shared counters: the writes share
// transactions (far fewer than writes), and no increment is lost: every
// counter ends at the number of its increments, each write saw the version
// before its own, and a counter's versions in the feed are 1, 2, 3, … in
// seq order, with the seqs 1..N once each.
func TestPostgresGroupCommitConcurrentWriters(t *testing.T) {
	_, ss := instances(t, 1, store.Options{})
	s := ss[0]
	ctx := context.Background()
	f := &feedLog{}
	s.Feed(ctx, f.add)

	const writers, each, counters = 32, 30, 4
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if i%2 == 0 {
					put(t, s, "Post", []any{fmt.Sprintf("w%02d-%02d", w, i)}, map[string]any{"w": float64(w)})
					continue
				}
				var saw int64
				ch, err := s.Mutate(ctx, "Counter", []any{fmt.Sprint((w + i) % counters)}, increment(&saw))
				if err != nil {
					t.Error(err)
					return
				}
				if ch.Record.Version != saw+1 || ch.Record.Item["n"] != float64(ch.Record.Version) {
					t.Errorf("increment saw version %d, wrote version %d with n %v", saw, ch.Record.Version, ch.Record.Item["n"])
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	total := writers * each
	increments := map[string]int64{}
	for w := range writers {
		for i := 1; i < each; i += 2 {
			increments[fmt.Sprint((w+i)%counters)]++
		}
	}
	for k, n := range increments {
		r := get(t, s, "Counter", k)
		if r.Version != n || r.Item["n"] != float64(n) {
			t.Fatalf("counter %s: version %d, n %v after %d increments: an update was lost", k, r.Version, r.Item["n"], n)
		}
	}
	got := f.waitFor(t, total)
	versions := map[string]int64{}
	for i, ch := range got {
		if ch.Seq != uint64(i+1) {
			t.Fatalf("feed change %d has seq %d: not 1..%d in order", i, ch.Seq, total)
		}
		if ch.Record.Model != "Counter" {
			continue
		}
		k := ch.Record.Key[0].(string)
		if ch.Record.Version != versions[k]+1 {
			t.Fatalf("counter %s: version %d after %d in seq order", k, ch.Record.Version, versions[k])
		}
		versions[k] = ch.Record.Version
	}
	txns, writes := store.PostgresCommits(s)
	t.Logf("%d writes in %d transactions", writes, txns)
	if writes != uint64(total) || txns*2 > writes {
		t.Fatalf("%d writes in %d transactions: want %d writes, at least two per transaction on average", writes, txns, total)
	}
}

// TestPostgresGroupCommitErrorAndRetry commits one batch holding a write
// whose MutateFunc fails, a create that loses to another instance's create
// of the same key (so the batch is retried and its MutateFunc runs again
// on the other instance's record), and a plain create. The failing write
// fails alone; the others commit in one transaction with consecutive seqs.
func TestPostgresGroupCommitErrorAndRetry(t *testing.T) {
	_, ss := instances(t, 2, store.Options{})
	s, other := ss[0], ss[1]
	ctx := context.Background()
	// The three writes go in while a first write holds the committer; they
	// then share the next batch, unless one reached the queue late: then
	// the round is tried again with new keys.
	for round := range 20 {
		txns0, writes0 := store.PostgresCommits(s)
		entered, release := make(chan struct{}), make(chan struct{})
		hold := make(chan error, 1)
		go func() {
			_, err := s.Mutate(ctx, "Post", []any{fmt.Sprint("hold", round)}, func(*store.Record) (map[string]any, store.Op, error) {
				close(entered)
				<-release
				return map[string]any{}, store.OpCreate, nil
			})
			hold <- err
		}()
		<-entered

		raced := fmt.Sprint("raced", round)
		var runs []*store.Record // what the racing create's fn saw, per run
		var otherErr error
		var started sync.WaitGroup
		started.Add(3)
		results := make([]chan error, 3)
		changes := make([]store.Change, 3)
		fns := []store.MutateFunc{
			func(*store.Record) (map[string]any, store.Op, error) { return nil, 0, errConditionFailed },
			func(cur *store.Record) (map[string]any, store.Op, error) {
				runs = append(runs, cur)
				if cur == nil {
					// Another instance creates the key first.
					_, otherErr = other.Mutate(ctx, "Post", []any{raced}, create(map[string]any{"by": "other"}))
					return map[string]any{"by": "this"}, store.OpCreate, nil
				}
				return map[string]any{"by": "this", "after": cur.Item["by"]}, store.OpUpdate, nil
			},
			create(map[string]any{"id": fmt.Sprint("plain", round)}),
		}
		keys := []string{fmt.Sprint("refused", round), raced, fmt.Sprint("plain", round)}
		for i := range 3 {
			results[i] = make(chan error, 1)
			go func() {
				started.Done()
				ch, err := s.Mutate(ctx, "Post", []any{keys[i]}, fns[i])
				changes[i] = ch
				results[i] <- err
			}()
		}
		started.Wait()
		close(release)
		if err := <-hold; err != nil {
			t.Fatal(err)
		}
		errs := []error{<-results[0], <-results[1], <-results[2]}
		if otherErr != nil {
			t.Fatal(otherErr)
		}
		if !errors.Is(errs[0], errConditionFailed) {
			t.Fatalf("refused write: %v", errs[0])
		}
		if errs[1] != nil || errs[2] != nil {
			t.Fatalf("writes beside a refused one: %v, %v", errs[1], errs[2])
		}
		if _, err := s.Get(ctx, "Post", []any{keys[0]}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("refused write stored: %v", err)
		}
		r := get(t, s, "Post", raced)
		if len(runs) != 2 || runs[0] != nil || runs[1] == nil || runs[1].Item["by"] != "other" ||
			r.Version != 2 || r.Item["after"] != "other" {
			t.Fatalf("racing create: fn saw %v, stored version %d %v; want nil then the other instance's record, then version 2",
				runs, r.Version, r.Item)
		}
		get(t, s, "Post", keys[2])
		txns, writes := store.PostgresCommits(s)
		if txns-txns0 == 2 && writes-writes0 == 3 {
			// The hold, then one transaction for both writes, after the retry.
			if changes[2].Seq != changes[1].Seq+1 && changes[1].Seq != changes[2].Seq+1 {
				t.Fatalf("one batch, seqs %d and %d", changes[1].Seq, changes[2].Seq)
			}
			if changes[1].Record.LastChangedAt != changes[2].Record.LastChangedAt {
				t.Fatalf("one batch, LastChangedAt %d and %d", changes[1].Record.LastChangedAt, changes[2].Record.LastChangedAt)
			}
			return
		}
		t.Logf("round %d: %d writes in %d transactions; again", round, writes-writes0, txns-txns0)
	}
	t.Fatal("the three writes never shared a batch")
}

// TestPostgresGroupCommitContext: a write whose ctx ends while it waits for
// the committer returns ctx.Err() and is not written; one whose ctx ends
// after its MutateFunc ran is committed.
func TestPostgresGroupCommitContext(t *testing.T) {
	_, ss := instances(t, 1, store.Options{})
	s := ss[0]
	ctx := context.Background()
	release, hold := holdCommitter(t, s, map[string]any{})
	// The committer is busy: these wait in its queue, or to enter it.
	gone := make(chan error, 2)
	for _, k := range []string{"hold", "other"} {
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			_, err := s.Mutate(cctx, "Post", []any{k}, func(*store.Record) (map[string]any, store.Op, error) {
				t.Errorf("fn of the write of %s whose ctx ended ran", k)
				return map[string]any{}, store.OpUpdate, nil
			})
			gone <- err
		}()
		cancel()
	}
	for range 2 {
		if err := <-gone; !errors.Is(err, context.Canceled) {
			t.Fatalf("queued write whose ctx ended: %v", err)
		}
	}
	close(release)
	if err := <-hold; err != nil {
		t.Fatal(err)
	}
	if r := get(t, s, "Post", "hold"); r.Version != 1 {
		t.Fatalf("held record version %d: the cancelled write was stored", r.Version)
	}
	if _, err := s.Get(ctx, "Post", []any{"other"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancelled write stored: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	ch, err := s.Mutate(cctx, "Post", []any{"late"}, func(*store.Record) (map[string]any, store.Op, error) {
		cancel() // decided: from here the write goes through
		return map[string]any{}, store.OpCreate, nil
	})
	if err != nil || ch.Record.Version != 1 {
		t.Fatalf("write whose ctx ended after its fn ran: %v", err)
	}
	get(t, s, "Post", "late")
}

// TestPostgresGroupCommitBadWriteAlone: a write the database refuses (an
// indexed field too long for a btree entry) fails alone, not the writes
// that shared its transaction, which the committer replays one by one.
func TestPostgresGroupCommitBadWriteAlone(t *testing.T) {
	_, ss := instances(t, 1, store.Options{})
	s := ss[0]
	ctx := context.Background()
	if err := s.Indexes(ctx, []store.Index{{Model: "Post", Name: "byTitle", Fields: []string{"title"}}}); err != nil {
		t.Fatal(err)
	}
	release, hold := holdCommitter(t, s, map[string]any{"id": "hold", "title": "t"})
	const n = 8
	errs := make([]error, n)
	var started, done sync.WaitGroup
	var bad atomic.Int32
	for i := range n {
		started.Add(1)
		done.Go(func() {
			title := fmt.Sprint("title ", i)
			if i == n/2 {
				// Beyond a btree entry (~2.7 KB), compressed or not.
				var b strings.Builder
				for range 20_000 {
					b.WriteByte("0123456789abcdef"[rand.IntN(16)])
				}
				title = b.String()
			}
			started.Done()
			_, errs[i] = s.Mutate(ctx, "Post", []any{fmt.Sprint(i)}, func(*store.Record) (map[string]any, store.Op, error) {
				if i == n/2 {
					bad.Add(1)
				}
				return map[string]any{"id": fmt.Sprint(i), "title": title}, store.OpCreate, nil
			})
		})
	}
	started.Wait()
	close(release)
	done.Wait()
	if err := <-hold; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if i == n/2 {
			if err == nil {
				t.Fatalf("write of an over-long indexed field succeeded")
			}
			continue
		}
		if err != nil {
			t.Fatalf("write %d beside a refused one: %v", i, err)
		}
		get(t, s, "Post", fmt.Sprint(i))
	}
	t.Logf("refused write: %v (its fn ran %d times)", errs[n/2], bad.Load())
}

// TestPostgresGroupCommitTwoInstances: two instances, 16 writers each, on
// shared and own keys: both feeds hold every seq once, in order, each
// key's versions consecutive; every write took its own version.
func TestPostgresGroupCommitTwoInstances(t *testing.T) {
	_, ss := instances(t, 2, store.Options{})
	ctx := context.Background()
	feeds := []*feedLog{{}, {}}
	for i, s := range ss {
		s.Feed(ctx, feeds[i].add)
	}
	const writers, each, shared = 16, 25, 5
	var wg sync.WaitGroup
	for in, s := range ss {
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					k := fmt.Sprintf("i%d-w%02d-%02d", in, w, i)
					if i%3 == 0 {
						k = fmt.Sprint("shared", (w+i)%shared)
					}
					var saw int64
					ch, err := s.Mutate(ctx, "Counter", []any{k}, increment(&saw))
					if err != nil {
						t.Error(err)
						return
					}
					if ch.Record.Version != saw+1 {
						t.Errorf("%s: saw version %d, wrote %d", k, saw, ch.Record.Version)
					}
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	total := 2 * writers * each
	// Each write set n to the version it read plus one: no lost update.
	checkFeedsInCommitOrder(t, feeds, total, func(ch store.Change) error {
		if ch.Record.Item["n"] != float64(ch.Record.Version) {
			return fmt.Errorf("version %d holds n %v", ch.Record.Version, ch.Record.Item["n"])
		}
		return nil
	})
	var txns, writes uint64
	for _, s := range ss {
		t0, w0 := store.PostgresCommits(s)
		txns, writes = txns+t0, writes+w0
	}
	t.Logf("%d writes in %d transactions", writes, txns)
	if writes != uint64(total) || txns*2 > writes {
		t.Fatalf("%d writes in %d transactions: want %d writes, at least two per transaction on average", writes, txns, total)
	}
}

// TestPostgresGroupCommitWatermark: with batches committing on an
// instance whose clock is a second behind the other's, every write that
// began after a StartedAt (through either instance) returned is stamped at
// or after its watermark.
func TestPostgresGroupCommitWatermark(t *testing.T) {
	ahead := func() time.Time { return time.Now().Add(time.Second) }
	url, _ := instances(t, 0, store.Options{})
	open := func(now func() time.Time) *store.Postgres {
		s, err := store.OpenPostgres(context.Background(), url, store.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	ss := []*store.Postgres{open(time.Now), open(ahead)}
	ctx := context.Background()
	var mark atomic.Int64 // the latest watermark returned
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	for w := range 16 {
		s := ss[0]
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				before := mark.Load()
				ch := put(t, s, "Post", []any{fmt.Sprintf("w%02d-%d", w, i%10)}, map[string]any{})
				writes.Add(1)
				if ch.Record.LastChangedAt < before {
					t.Errorf("write begun after StartedAt returned %d is stamped %d", before, ch.Record.LastChangedAt)
				}
			}
		})
	}
	for i := range 60 {
		m, err := ss[i%2].StartedAt(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m < mark.Load() {
			t.Fatalf("watermark %d after %d", m, mark.Load())
		}
		mark.Store(m)
		for n := writes.Load(); writes.Load() < n+4 && !t.Failed(); {
			time.Sleep(time.Millisecond) // let some writes begin after m
		}
	}
	close(stop)
	wg.Wait()
}

// holdCommitter keeps s's committer busy with a create of Post "hold"
// (item) whose MutateFunc waits until release is closed; the create's
// result arrives on hold. Writes made meanwhile queue for the next batch.
func holdCommitter(t *testing.T, s store.Store, item map[string]any) (release chan struct{}, hold <-chan error) {
	t.Helper()
	entered, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := s.Mutate(context.Background(), "Post", []any{"hold"}, func(*store.Record) (map[string]any, store.Op, error) {
			close(entered)
			<-release
			return item, store.OpCreate, nil
		})
		done <- err
	}()
	<-entered
	return release, done
}
