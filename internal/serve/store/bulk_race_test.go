package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
)

// errTaken is what a client's create of a key already stored gets (the
// resolver's conditional check failure): the only error a create racing
// an import may see.
var errTaken = errors.New("the key is already stored")

// TestLoadBesideCreates runs an import (Load with merge, in batches each
// spread over the keys, in descending order) of keys half of which are
// stored already, while clients create, then update, records of the same
// keys (in ascending order; an update follows a create that found the key
// taken too) and of keys only they write. Whatever the
// interleaving, no error reaches either side but errTaken for a create of
// a key the import stored first, no record is lost or doubled, each holds
// the import's copy (version 3) or the client's update of it (version 4),
// and the index holds exactly the stored records. On PostgreSQL the import
// is another instance on the same database, so its transactions and the
// creates' lock each other's rows: deadlocks and serialization failures
// must be retried where they happen, not returned.
func TestLoadBesideCreates(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		dir := t.TempDir()
		s := e.open(t, store.Options{Dir: dir})
		if err := s.Indexes(ctx, []store.Index{byBlog}); err != nil {
			t.Fatal(err)
		}
		importer := s
		if e.name == "postgres" {
			importer = e.open(t, store.Options{Dir: dir})
			if err := importer.Indexes(ctx, []store.Index{byBlog}); err != nil {
				t.Fatal(err)
			}
		}
		const shared, own, creators, batch = 600, 200, 4, 10
		// Half the imported keys are stored already: the import replaces
		// them (merge) while clients edit them.
		for i := 0; i < shared; i += 2 {
			id := fmt.Sprintf("k%03d", i)
			put(t, s, "Post", []any{id}, post(id, "b0", 0))
		}
		sharedID := func(i int) string { return fmt.Sprintf("k%03d", i) }
		ownID := func(i int) string { return fmt.Sprintf("c%03d", i) }

		var wg sync.WaitGroup
		errs := make(chan error, creators+1)
		taken := make([]bool, shared) // creates that found the key stored
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := importer.(store.Bulk)
			// Each batch spreads over the whole range, so the creates meet
			// keys of a transaction under way all along.
			const batches = shared / batch
			for j := range batches {
				var recs []store.Loaded
				for k := batch - 1; k >= 0; k-- {
					i := j + k*batches
					item := post(sharedID(i), fmt.Sprintf("b%d", i%3), float64(i))
					item["title"] = "imported"
					recs = append(recs, store.Loaded{Record: store.Record{Model: "Post", Key: []any{sharedID(i)}, Item: item, Version: 3, LastChangedAt: 1000}})
				}
				if _, err := b.Load(ctx, "Post", recs, true); err != nil {
					errs <- fmt.Errorf("import: %w", err)
					return
				}
			}
		}()
		write := func(id, title string, create bool) error {
			_, err := s.Mutate(ctx, "Post", []any{id}, func(cur *store.Record) (map[string]any, store.Op, error) {
				exists := cur != nil && !cur.Deleted
				if create && exists {
					return nil, 0, errTaken
				}
				if !create && !exists {
					return nil, 0, fmt.Errorf("update of %s: the record is gone", id)
				}
				item := post(id, "b1", -1)
				item["title"] = title
				if create {
					return item, store.OpCreate, nil
				}
				return item, store.OpUpdate, nil
			})
			return err
		}
		for g := range creators {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < max(shared, own); i += creators {
					if i < own {
						if err := write(ownID(i), "created", true); err != nil {
							errs <- fmt.Errorf("create %s: %w", ownID(i), err)
							return
						}
						if err := write(ownID(i), "updated", false); err != nil {
							errs <- fmt.Errorf("update %s: %w", ownID(i), err)
							return
						}
					}
					if i < shared {
						err := write(sharedID(i), "created", true)
						if errors.Is(err, errTaken) {
							taken[i] = true // and the client edits the record it found
						} else if err != nil {
							errs <- fmt.Errorf("create %s: %w", sharedID(i), err)
							return
						}
						if err := write(sharedID(i), "updated", false); err != nil {
							errs <- fmt.Errorf("update %s: %w", sharedID(i), err)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}

		recs := scanAll(t, s, "Post", 100)
		if len(recs) != shared+own {
			t.Fatalf("%d records stored, want %d", len(recs), shared+own)
		}
		seen := map[string]bool{}
		byBlogWant := map[string]int{}
		for _, r := range recs {
			id := r.Item["id"].(string)
			if seen[id] || fmt.Sprint(r.Key) != fmt.Sprint([]any{id}) || r.Deleted {
				t.Fatalf("record %v (item %v) doubled, misplaced or deleted", r.Key, r.Item)
			}
			seen[id] = true
			byBlogWant[r.Item["blogID"].(string)]++
			title := r.Item["title"]
			switch {
			case id[0] == 'c' && (r.Version != 2 || title != "updated"):
				t.Errorf("%s: version %d %q, want the client's update (2)", id, r.Version, title)
			case id[0] == 'k' && !(r.Version == 3 && title == "imported") && !(r.Version == 4 && title == "updated"):
				t.Errorf("%s: version %d %q, want the import's copy (3) or the client's update of it (4)", id, r.Version, title)
			}
		}
		nTaken := 0
		for _, tk := range taken {
			if tk {
				nTaken++
			}
		}
		for _, blog := range []string{"b0", "b1", "b2"} {
			got := queryAll(t, s, store.Query{Model: "Post", Index: "byBlog", Eq: []any{blog}}, 100)
			if len(got) != byBlogWant[blog] {
				t.Errorf("byBlog %s holds %d entries, want %d (the stored records of the blog)", blog, len(got), byBlogWant[blog])
			}
		}
		t.Logf("%d of %d creates of imported keys found them stored", nTaken, shared)
	})
}
