package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// BulkLoad writes items of model as version-1 records keyed on their "id",
// straight into the engine's base table (no change log, no feed), so a
// benchmark can hold a million records without a million commits. It is
// test support: the records read like any others.
func BulkLoad(ctx context.Context, s Store, model string, items []map[string]any) error {
	type rec struct{ pk, key, item []byte }
	recs := make([]rec, 0, len(items))
	for _, it := range items {
		pk, norm, err := encodeKey(model, []any{it["id"]})
		if err != nil {
			return err
		}
		k, _ := json.Marshal(norm)
		v, err := json.Marshal(it)
		if err != nil {
			return err
		}
		recs = append(recs, rec{pk, k, v})
	}
	switch s := s.(type) {
	case *Badger:
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		for _, r := range recs {
			row := row{op: OpCreate, version: 1, lca: 1, seq: 1, key: r.key, item: r.item}
			if err := wb.Set(recordKey(model, r.pk), row.encode()); err != nil {
				return err
			}
		}
		return wb.Flush()
	case *Postgres:
		rows := make([][]any, len(recs))
		for i, r := range recs {
			rows[i] = []any{model, r.pk, string(r.key), string(r.item), int64(1), int64(1), int64(1), false}
		}
		_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"dsgen_records"},
			[]string{"model", "pk", "key", "item", "version", "lca", "seq", "deleted"}, pgx.CopyFromRows(rows))
		if err == nil {
			_, err = s.pool.Exec(ctx, "ANALYZE dsgen_records")
		}
		return err
	}
	return fmt.Errorf("BulkLoad: unknown engine %T", s)
}
