package store

import (
	"context"
	"fmt"
)

// A migration's rewrite bypasses Mutate and keeps no index entries (an
// import's Load writes its own: see Badger.loadIndexes and
// Postgres.loadIndexRows). Before a rewrite, the model's built indexes are
// forgotten: entries and catalog rows go, and the next Indexes (the next
// serve start declares the schema's indexes) builds them again from the
// stored records. So an index never answers with entries that do not
// match the records.

// forgetIndexes drops every built index of the models named.
func (s *Badger) forgetIndexes(ctx context.Context, models ...string) error {
	built, err := s.builtIndexes()
	if err != nil {
		return err
	}
	for key, ix := range built {
		for _, m := range models {
			if m != "" && ix.Model == m {
				if err := s.dropIndex(ctx, ix, []byte(key)); err != nil {
					return fmt.Errorf("drop index %s of %s: %w", ix.Name, ix.Model, err)
				}
			}
		}
	}
	return nil
}

// forgetIndexes drops every built index of the models named.
func (s *Postgres) forgetIndexes(ctx context.Context, models ...string) error {
	for _, m := range models {
		if m == "" {
			continue
		}
		if _, err := s.pool.Exec(ctx, `DELETE FROM dsgen_index WHERE model = $1`, m); err != nil {
			return fmt.Errorf("drop the indexes of %s: %w", m, err)
		}
		if _, err := s.pool.Exec(ctx, `DELETE FROM dsgen_index_catalog WHERE model = $1`, m); err != nil {
			return fmt.Errorf("drop the indexes of %s: %w", m, err)
		}
	}
	return nil
}
