package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var _ Bulk = (*Postgres)(nil)

// pgImportTable keeps the import epoch. It is created by the first import
// or the first ImportEpoch rather than by the layout migrations; with no
// row ImportEpoch reads 0.
const pgImportTable = `CREATE TABLE IF NOT EXISTS dsgen_import (
	id    smallint PRIMARY KEY CHECK (id = 1),
	epoch bigint   NOT NULL
)`

// pgLoad inserts a loaded record; with merge (the ON CONFLICT clause
// appended) it replaces a stored one of a lower version only. $1 model,
// $2 pk, $3 key, $4 item, $5 version, $6 lca, $7 deleted, $8 expire_at.
const (
	pgLoad = `INSERT INTO dsgen_records (model, pk, key, item, version, lca, seq, deleted, expire_at)
		VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)`
	pgLoadMerge = pgLoad + ` ON CONFLICT (model, pk) DO UPDATE SET key = EXCLUDED.key, item = EXCLUDED.item,
		version = EXCLUDED.version, lca = EXCLUDED.lca, seq = 0, deleted = EXCLUDED.deleted, expire_at = EXCLUDED.expire_at
		WHERE dsgen_records.version < EXCLUDED.version`
)

// Load writes recs of model with their own metadata (see Bulk.Load) in one
// transaction: all of them or, on an error, none; with them the index rows
// of the written records (see loadIndexRows). A transaction PostgreSQL
// aborts for a concurrent Mutate of the same keys (a deadlock between the
// record and index row locks, which both take) is tried again, as Mutate's
// are.
func (s *Postgres) Load(ctx context.Context, model string, recs []Loaded, merge bool) (LoadStats, error) {
	if err := s.begin(ctx); err != nil {
		return LoadStats{}, err
	}
	defer s.ops.Done()
	stmt := pgLoad
	if merge {
		stmt = pgLoadMerge
	}
	norms := make([][]any, len(recs))
	pks := make([][]byte, len(recs))
	args := make([][]any, len(recs))
	for i, r := range recs {
		pk, norm, keyJSON, itemJSON, err := checkLoaded(model, r)
		if err != nil {
			return LoadStats{}, fmt.Errorf("store: load %s: %w", model, err)
		}
		norms[i], pks[i] = norm, pk
		var exp *int64
		if r.Deleted {
			e := loadExpiry(r, s.baseTTL)
			exp = &e
		}
		args[i] = []any{model, pk, string(keyJSON), string(itemJSON), r.Version, r.LastChangedAt, r.Deleted, exp}
	}
	for attempt := 1; ; attempt++ {
		var stats LoadStats
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			b := &pgx.Batch{}
			for _, a := range args {
				b.Queue(stmt, a...)
			}
			var written []int // indexes into recs
			br := tx.SendBatch(ctx, b)
			for i := range recs {
				tag, err := br.Exec()
				var pe *pgconn.PgError
				if errors.As(err, &pe) && pe.Code == "23505" {
					br.Close()
					return fmt.Errorf("%v: %w", norms[i], ErrExists)
				}
				if err != nil {
					br.Close()
					return fmt.Errorf("%v: %w", norms[i], err)
				}
				if tag.RowsAffected() == 1 {
					stats.Written++
					written = append(written, i)
				} else {
					stats.Kept++
				}
			}
			if err := br.Close(); err != nil {
				return err
			}
			return s.loadIndexRows(ctx, tx, model, recs, pks, written)
		})
		var pe *pgconn.PgError
		if err != nil && errors.As(err, &pe) && retryable(pe.Code) && attempt < maxMutateAttempts && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return LoadStats{}, fmt.Errorf("store: load %s: %w", model, err)
		}
		return stats, nil
	}
}

// MarkImport sets the import epoch (see Bulk.MarkImport). It raises the
// commit clock's floor under the clock's row lock, as StartedAt does, so
// it orders with every instance's writes and watermarks.
func (s *Postgres) MarkImport(ctx context.Context, after, notBefore int64) (int64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	defer s.ops.Done()
	if _, err := s.pool.Exec(ctx, pgImportTable); err != nil {
		return 0, fmt.Errorf("store: mark import: create table: %w", err)
	}
	var epoch int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// +1: a watermark handed out before may equal the max, and it
		// must be before the epoch.
		err := tx.QueryRow(ctx, `UPDATE dsgen_clock SET floor = greatest(floor, last, $1::bigint, $2::bigint) + 1 RETURNING floor`,
			s.now().UnixMilli(), after).Scan(&epoch)
		if err != nil {
			return err
		}
		epoch = max(epoch, notBefore)
		_, err = tx.Exec(ctx, `INSERT INTO dsgen_import VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET epoch = EXCLUDED.epoch`, epoch)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: mark import: %w", err)
	}
	return epoch, nil
}

// ImportEpoch returns the epoch of the last import (0: none).
func (s *Postgres) ImportEpoch(ctx context.Context) (int64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	defer s.ops.Done()
	var epoch int64
	err := s.pool.QueryRow(ctx, `SELECT epoch FROM dsgen_import`).Scan(&epoch)
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, nil
	case errors.As(err, &pe) && pe.Code == "42P01": // undefined_table: never imported
		// Create it, so this query does not fail (and log) on every sync.
		// Two instances creating it at once: one fails on the catalog's
		// unique index, and the table exists.
		if _, err := s.pool.Exec(ctx, pgImportTable); err != nil && !(errors.As(err, &pe) && pe.Code == "23505") {
			return 0, fmt.Errorf("store: import epoch: create table: %w", err)
		}
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("store: import epoch: %w", err)
	}
	return epoch, nil
}

// Dump reads model's records in key order with their tombstone expiry;
// cursors are Scan's.
func (s *Postgres) Dump(ctx context.Context, model string, cursor []byte, limit int) (DumpPage, error) {
	return s.readRecords(ctx, "dump", model, cursor, limit)
}

// readRecords is Scan and Dump (op names which in errors): model's
// records in key order after cursor, with their tombstone expiry.
func (s *Postgres) readRecords(ctx context.Context, op, model string, cursor []byte, limit int) (DumpPage, error) {
	if err := s.begin(ctx); err != nil {
		return DumpPage{}, err
	}
	defer s.ops.Done()
	if limit <= 0 {
		return DumpPage{}, fmt.Errorf("store: %s %s: limit %d, want > 0", op, model, limit)
	}
	after := []byte{}
	if cursor != nil {
		k, err := scanCursor(model, cursor)
		if err != nil {
			return DumpPage{}, err
		}
		after = k[len(modelPrefix(nsRecord, model)):]
	}
	rows, err := s.pool.Query(ctx, `SELECT pk, key, item, version, lca, deleted, coalesce(expire_at, 0) FROM dsgen_records
		WHERE model = $1 AND pk > $2 ORDER BY pk LIMIT $3`, model, after, limit+1)
	if err != nil {
		return DumpPage{}, fmt.Errorf("store: %s %s: %w", op, model, err)
	}
	defer rows.Close()
	var page DumpPage
	var last []byte
	items := newItemReader()
	for rows.Next() {
		if len(page.Records) == limit {
			page.Next = sealCursor(cursorScan, recordKey(model, last))
			break
		}
		var pk, k, item []byte
		var version, lca, exp int64
		var deleted bool
		if err := rows.Scan(&pk, &k, &item, &version, &lca, &deleted, &exp); err != nil {
			return DumpPage{}, fmt.Errorf("store: %s %s: %w", op, model, err)
		}
		rec, err := pgRecord(model, k, item, version, lca, deleted, items)
		if err != nil {
			return DumpPage{}, fmt.Errorf("store: %s %s: %w", op, model, err)
		}
		l := Loaded{Record: rec}
		if deleted {
			l.ExpireAt = exp
		}
		page.Records = append(page.Records, l)
		last = pk
	}
	if err := rows.Err(); err != nil {
		return DumpPage{}, fmt.Errorf("store: %s %s: %w", op, model, err)
	}
	return page, nil
}

// loadIndexRows replaces, in Load's transaction tx, the index rows of the
// records recs[i] for i in written (pks their encoded keys) by the rows of
// every index built for model (dsgen_index_catalog): those of the running
// instances, which then answer index queries with the loaded records, with
// no rebuild. The ROW EXCLUSIVE lock waits for an index build (Indexes
// holds a SHARE lock while it reads the records), so the catalog read after
// it lists the index that build added; a build starting later waits for
// this transaction and reads the loaded records itself.
func (s *Postgres) loadIndexRows(ctx context.Context, tx pgx.Tx, model string, recs []Loaded, pks [][]byte, written []int) error {
	if len(written) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE dsgen_index IN ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("lock the index rows: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT def FROM dsgen_index_catalog WHERE model = $1`, model)
	if err != nil {
		return fmt.Errorf("read the index catalog: %w", err)
	}
	var ixs []Index
	for rows.Next() {
		var def []byte
		if err := rows.Scan(&def); err != nil {
			return fmt.Errorf("read the index catalog: %w", err)
		}
		var ix Index
		if err := json.Unmarshal(def, &ix); err != nil {
			return fmt.Errorf("%w: index catalog of %s: %v", errCorruptRow, model, err)
		}
		ixs = append(ixs, ix)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the index catalog: %w", err)
	}
	if len(ixs) == 0 {
		return nil
	}
	var del, pkCol [][]byte
	var ids []string
	var eks [][]byte
	for _, i := range written {
		pk := pks[i]
		del = append(del, pk)
		for _, ix := range ixs {
			if k, ok := entryKey(ix, recs[i].Item); ok {
				ids, eks, pkCol = append(ids, ix.id()), append(eks, append(k, pk...)), append(pkCol, pk)
			}
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM dsgen_index WHERE model = $1 AND pk = ANY($2::bytea[])`, model, del); err != nil {
		return fmt.Errorf("delete the replaced records' index rows: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO dsgen_index (model, ix, ek, pk)
		SELECT $1, x.ix, x.ek, x.pk FROM unnest($2::text[], $3::bytea[], $4::bytea[]) AS x(ix, ek, pk)`, model, ids, eks, pkCol)
	if err != nil {
		return fmt.Errorf("write index rows: %w", err)
	}
	return nil
}
