package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
	"github.com/dsgen/dsgen/runtime/storage"
)

// instances opens n stores on one schema, as n `dsgen serve` processes
// sharing a database would.
func instances(t *testing.T, n int, o store.Options) (string, []*store.Postgres) {
	t.Helper()
	url := pgtest.Schema(t)
	out := make([]*store.Postgres, n)
	for i := range out {
		s, err := store.OpenPostgres(context.Background(), url, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		out[i] = s
	}
	return url, out
}

// TestPostgresConcurrentStarts opens many instances at once on an empty
// schema: the advisory lock makes one of them create the tables and the
// others find them.
func TestPostgresConcurrentStarts(t *testing.T) {
	url := pgtest.Schema(t)
	const n = 8
	stores := make([]*store.Postgres, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = store.OpenPostgres(context.Background(), url, store.Options{}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	// One token key for all, so a nextToken of one is valid on another.
	for i, s := range stores {
		if !slices.Equal(s.TokenKey(), stores[0].TokenKey()) || len(s.TokenKey()) != 32 {
			t.Fatalf("instance %d has another token key", i)
		}
	}
	ch := put(t, stores[3], "Post", []any{"a"}, map[string]any{})
	if r := get(t, stores[5], "Post", "a"); r.Version != 1 || r.LastChangedAt != ch.Record.LastChangedAt {
		t.Fatalf("write on one instance read on another: %+v", r)
	}
}

func TestPostgresOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := store.OpenPostgres(ctx, "postgres://%zz", store.Options{}); !errors.Is(err, storage.ErrInvalidOptions) {
		t.Errorf("bad URL: %v, want ErrInvalidOptions", err)
	}
	url := pgtest.Schema(t)
	if _, err := store.OpenPostgres(ctx, url, store.Options{Dir: t.TempDir()}); !errors.Is(err, storage.ErrInvalidOptions) {
		t.Errorf("Dir with postgres: %v, want ErrInvalidOptions", err)
	}
	if _, err := store.OpenPostgres(ctx, url, store.Options{BaseTTL: -1}); !errors.Is(err, storage.ErrInvalidOptions) {
		t.Errorf("negative TTL: %v, want ErrInvalidOptions", err)
	}
	// A layout written by a newer dsgen is refused, not overwritten.
	s, err := store.OpenPostgres(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE dsgen_meta SET version = 99`); err != nil {
		t.Fatal(err)
	}
	if _, err := store.OpenPostgres(ctx, url, store.Options{}); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Errorf("newer layout: %v, want ErrSchemaTooNew", err)
	}
}

// TestPostgresWatermarkAcrossInstances is checklist item 15 across
// instances: writers on three instances commit concurrently while a reader
// syncs through all three in turn, chaining delta reads on the watermarks.
// Once the writers stop, the reader's copy must equal the store.
func TestPostgresWatermarkAcrossInstances(t *testing.T) {
	c := newClock()
	_, ss := instances(t, 3, store.Options{Now: c.Now})
	ctx := context.Background()
	const keys = 40

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		s := ss[w%3]
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				switch {
				case i%7 == 0:
					c.Add(-2 * time.Millisecond) // instance clocks disagree
				case i%3 == 0:
					c.Add(time.Millisecond)
				}
				k := fmt.Sprint(rng.IntN(keys))
				_, err := s.Mutate(ctx, "Post", []any{k}, func(cur *store.Record) (map[string]any, store.Op, error) {
					switch {
					case cur == nil || cur.Deleted:
						return map[string]any{"w": float64(w)}, store.OpCreate, nil
					case rng.IntN(4) == 0:
						return cur.Item, store.OpDelete, nil
					}
					return map[string]any{"w": float64(w)}, store.OpUpdate, nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}

	local := map[string]store.Record{}
	merge := func(recs []store.Record) {
		for _, r := range recs {
			k := r.Key[0].(string)
			if r.Version > local[k].Version {
				local[k] = r
			}
		}
	}
	w, err := ss[0].StartedAt(ctx)
	if err != nil {
		t.Fatal(err)
	}
	merge(scanAll(t, ss[1], "Post", 7))
	for i := range 30 {
		next, err := ss[i%3].StartedAt(ctx)
		if err != nil {
			t.Fatal(err)
		}
		merge(changesAll(t, ss[(i+1)%3], "Post", w, next+1, 5))
		w = next
	}
	close(stop)
	wg.Wait()
	final, err := ss[2].StartedAt(ctx)
	if err != nil {
		t.Fatal(err)
	}
	merge(changesAll(t, ss[0], "Post", w, final+1, 5))

	stored := scanAll(t, ss[0], "Post", 100)
	if len(stored) != len(local) {
		t.Fatalf("reader has %d keys, store %d", len(local), len(stored))
	}
	for _, r := range stored {
		l := local[r.Key[0].(string)]
		if l.Version != r.Version || l.Deleted != r.Deleted || l.LastChangedAt != r.LastChangedAt {
			t.Fatalf("key %v: reader has version %d, store %d: a write was missed", r.Key, l.Version, r.Version)
		}
	}
}

// feedLog collects a feed's changes.
type feedLog struct {
	mu  sync.Mutex
	chs []store.Change
}

func (f *feedLog) add(ch store.Change) {
	f.mu.Lock()
	f.chs = append(f.chs, ch)
	f.mu.Unlock()
}

// waitFor waits until the log holds n changes (a hang guard of a minute).
func (f *feedLog) waitFor(t *testing.T, n int) []store.Change {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		f.mu.Lock()
		got := slices.Clone(f.chs)
		f.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("feed has %d changes after a minute, want %d", len(got), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPostgresFeedAcrossInstances: a commit through any instance reaches
// the feed of every instance, each in commit order with no gap.
func TestPostgresFeedAcrossInstances(t *testing.T) {
	_, ss := instances(t, 3, store.Options{})
	ctx := context.Background()
	feeds := make([]*feedLog, len(ss))
	for i, s := range ss {
		feeds[i] = &feedLog{}
		s.Feed(ctx, feeds[i].add)
	}
	const perInstance, keys = 60, 7
	var wg sync.WaitGroup
	for w, s := range ss {
		wg.Go(func() {
			for i := range perInstance {
				put(t, s, "Post", []any{fmt.Sprint((w + i) % keys)}, map[string]any{"by": float64(w)})
			}
		})
	}
	wg.Wait()
	checkFeedsInCommitOrder(t, feeds, perInstance*len(ss), nil)
}

// checkFeedsInCommitOrder waits for total changes on every feed and wants
// each in commit order: seqs 1..total with no gap, and every key's
// versions one after another; check, when set, is asked about each
// change too.
func checkFeedsInCommitOrder(t *testing.T, feeds []*feedLog, total int, check func(ch store.Change) error) {
	t.Helper()
	for i, f := range feeds {
		got := f.waitFor(t, total)
		if len(got) != total {
			t.Fatalf("instance %d: %d changes, want %d", i, len(got), total)
		}
		versions := map[string]int64{}
		for j, ch := range got {
			if ch.Seq != uint64(j+1) {
				t.Fatalf("instance %d: change %d has seq %d: not in commit order", i, j, ch.Seq)
			}
			k := ch.Record.Key[0].(string)
			if ch.Record.Version != versions[k]+1 {
				t.Fatalf("instance %d: key %s version %d after %d", i, k, ch.Record.Version, versions[k])
			}
			if check != nil {
				if err := check(ch); err != nil {
					t.Fatalf("instance %d: key %s: %v", i, k, err)
				}
			}
			versions[k] = ch.Record.Version
		}
	}
}

// TestPostgresFeedRecoversAfterReconnect drops the listening connection of
// one instance while another writes: once it reconnects it reads what it
// missed from the change log, so its feed has no gap.
func TestPostgresFeedRecoversAfterReconnect(t *testing.T) {
	url, ss := instances(t, 2, store.Options{})
	ctx := context.Background()
	f := &feedLog{}
	ss[0].Feed(ctx, f.add)
	put(t, ss[1], "Post", []any{"a"}, map[string]any{})
	f.waitFor(t, 1)

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Every LISTEN connection of the schema's channel: both instances'.
	var killed int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'dsgen-listen ' || current_schema()) k`).Scan(&killed)
	if err != nil || killed != 2 {
		t.Fatalf("terminated %d listening connections (%v), want 2", killed, err)
	}
	for i := range 20 {
		put(t, ss[1], "Post", []any{fmt.Sprint(i % 3)}, map[string]any{})
	}
	got := f.waitFor(t, 21)
	for i, ch := range got {
		if ch.Seq != uint64(i+1) {
			t.Fatalf("change %d has seq %d", i, ch.Seq)
		}
	}
}
