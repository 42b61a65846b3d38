package inspect

import (
	"fmt"

	"github.com/dsgen/dsgen/internal/migrate"
	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/runtime/meta"
)

// LoadSchema reads the schema at path (a file or a directory of them) and,
// when it has one, its lock (dsgen.lock.json next to it), whose field ids
// are the numbers the records are stored under: the metadata generated
// code has. A schema that changed since its lock is refused: its records
// are stored under the lock, which the schema no longer matches.
func LoadSchema(path string, directives []string) (*meta.Schema, error) {
	srcs, err := schema.ReadPath(path)
	if err != nil {
		return nil, err
	}
	s, err := schema.Load(srcs, schema.Options{Directives: directives})
	if err != nil {
		return nil, err
	}
	lockPath, _ := migrate.Paths(path, "", "")
	lock, err := migrate.LoadLock(lockPath)
	if err != nil {
		return nil, err
	}
	if lock == nil {
		return s, nil
	}
	renamed := lock
	if renames, err := migrate.ReadRenames(srcs); err == nil {
		if r, err := lock.ApplyRenames(renames); err == nil {
			renamed = r
		}
	}
	if plan, err := migrate.Diff(renamed, s); err != nil || !plan.Unchanged() {
		return nil, fmt.Errorf("inspect: %s changed since its lock %s (run dsgen migrate first, or read the store's own layout with --stored-layout)", path, lockPath)
	}
	if err := lock.Apply(s); err != nil {
		return nil, fmt.Errorf("inspect: %s: %w", lockPath, err)
	}
	return s, nil
}
