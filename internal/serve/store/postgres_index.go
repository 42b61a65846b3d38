package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Secondary indexes on PostgreSQL: the side table dsgen_index holds one
// row per (model, index id, entry key) with the record's pk, where the
// entry key is the Badger engine's (index field components then the
// primary key), so bytea order is the index order and a page is
// `ek > last ORDER BY ek LIMIT n` on the table's primary key. A write
// replaces its record's rows in its transaction, before the commit clock
// (see Postgres). dsgen_index_catalog lists the built indexes.
const pgIndexLayout = `CREATE TABLE dsgen_index (
		model text  NOT NULL,
		ix    text  NOT NULL,
		ek    bytea NOT NULL,
		pk    bytea NOT NULL,
		PRIMARY KEY (model, ix, ek)
	);
	CREATE INDEX dsgen_index_record ON dsgen_index (model, pk);
	CREATE TABLE dsgen_index_catalog (
		model  text NOT NULL,
		ix     text NOT NULL,
		def    json NOT NULL,
		PRIMARY KEY (model, ix)
	);`

// indexRows returns the index ids and entry keys of item (nil: none) for
// record pk of model, and whether model has indexes at all.
func (s *Postgres) indexRows(model string, pk []byte, item map[string]any) (ids []string, eks [][]byte, has bool) {
	set := s.indexes.Load()
	if set == nil || len(set.byModel[model]) == 0 {
		return nil, nil, false
	}
	ids, eks = []string{}, [][]byte{}
	for _, ix := range set.byModel[model] {
		if item == nil {
			break
		}
		if k, ok := entryKey(ix, item); ok {
			ids = append(ids, ix.id())
			eks = append(eks, append(k, pk...))
		}
	}
	return ids, eks, true
}

// Indexes declares the secondary indexes. Under the layout's advisory
// lock it drops the rows of indexes no longer declared and builds the
// missing ones from every record, holding a SHARE lock on dsgen_index
// meanwhile: writes, which touch dsgen_index first, wait, so none is
// undone by a stale row. An instance started with other indexes keeps
// its own set: the index rows are those of the instances' schemas.
func (s *Postgres) Indexes(ctx context.Context, defs []Index) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.ops.Done()
	if err := validIndexes(defs); err != nil {
		return err
	}
	loaded := newLoadedIndexes(defs)
	s.indexes.Store(loaded)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, lockMigrate); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		built := map[[2]string]bool{}
		rows, err := tx.Query(ctx, `SELECT model, ix FROM dsgen_index_catalog`)
		if err != nil {
			return err
		}
		var stale [][2]string
		for rows.Next() {
			var k [2]string
			if err := rows.Scan(&k[0], &k[1]); err != nil {
				return err
			}
			built[k] = true
			if !declares(loaded, k[0], k[1]) {
				stale = append(stale, k)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range stale {
			if _, err := tx.Exec(ctx, `DELETE FROM dsgen_index WHERE model = $1 AND ix = $2`, k[0], k[1]); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM dsgen_index_catalog WHERE model = $1 AND ix = $2`, k[0], k[1]); err != nil {
				return err
			}
		}
		for _, d := range defs {
			if built[[2]string{d.Model, d.id()}] {
				continue
			}
			if err := s.buildIndex(ctx, tx, d); err != nil {
				return fmt.Errorf("build %s of %s: %w", d.Name, d.Model, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: indexes: %w", err)
	}
	return nil
}

func declares(l *loadedIndexes, model, id string) bool {
	for _, ix := range l.byModel[model] {
		if ix.id() == id {
			return true
		}
	}
	return false
}

// buildIndex writes the rows of ix for every record of its model in tx.
func (s *Postgres) buildIndex(ctx context.Context, tx pgx.Tx, ix Index) error {
	if _, err := tx.Exec(ctx, `LOCK TABLE dsgen_index IN SHARE MODE`); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT pk, item FROM dsgen_records WHERE model = $1`, ix.Model)
	if err != nil {
		return err
	}
	var entries [][]any
	for rows.Next() {
		var pk, itemJSON []byte
		if err := rows.Scan(&pk, &itemJSON); err != nil {
			return err
		}
		var item map[string]any
		if err := json.Unmarshal(itemJSON, &item); err != nil {
			return fmt.Errorf("%w: item: %v", errCorruptRow, err)
		}
		if k, ok := entryKey(ix, item); ok {
			entries = append(entries, []any{ix.Model, ix.id(), append(k, pk...), pk})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"dsgen_index"}, []string{"model", "ix", "ek", "pk"}, pgx.CopyFromRows(entries)); err != nil {
		return err
	}
	def, err := json.Marshal(ix)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO dsgen_index_catalog VALUES ($1, $2, $3)`, ix.Model, ix.id(), string(def))
	return err
}

// Query reads the records in q's key range in key order (reversed with
// Desc), after cursor, at most limit of them: a range read on the primary
// key of dsgen_records or of dsgen_index, limit+1 rows.
func (s *Postgres) Query(ctx context.Context, q Query, cursor []byte, limit int) (Page, error) {
	if err := s.begin(ctx); err != nil {
		return Page{}, err
	}
	defer s.ops.Done()
	if limit <= 0 {
		return Page{}, fmt.Errorf("store: query %s: limit %d, want > 0", q.Model, limit)
	}
	nFields, id := -1, ""
	if q.Index != "" {
		set := s.indexes.Load()
		d, ok := Index{}, false
		if set != nil {
			d, ok = set.byName[q.Model][q.Index]
		}
		if !ok {
			return Page{}, fmt.Errorf("%w: %s has no declared index %s", ErrBadQuery, q.Model, q.Index)
		}
		nFields, id = len(d.Fields), d.id()
	}
	orig, r, err := pageRanges(q, nFields, cursor)
	if err != nil {
		return Page{}, err
	}
	var page Page
	if r.empty() {
		return page, nil
	}
	order := "ASC"
	if r.desc {
		order = "DESC"
	}
	var sql string
	args := []any{q.Model, r.lo, limit + 1}
	if id == "" {
		sql = `SELECT pk, key, item, version, lca, deleted FROM dsgen_records WHERE model = $1 AND pk >= $2`
	} else {
		sql = `SELECT i.ek, r.key, r.item, r.version, r.lca, r.deleted FROM dsgen_index i
			JOIN dsgen_records r ON r.model = i.model AND r.pk = i.pk
			WHERE i.model = $1 AND i.ek >= $2 AND i.ix = $4`
		args = append(args, id)
	}
	col := "pk"
	if id != "" {
		col = "i.ek"
	}
	if r.hi != nil {
		sql += fmt.Sprintf(" AND %s < $%d", col, len(args)+1)
		args = append(args, r.hi)
	}
	sql += fmt.Sprintf(" ORDER BY %s %s LIMIT $3", col, order)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return Page{}, fmt.Errorf("store: query %s %s: %w", q.Model, indexLabel(q.Index), err)
	}
	defer rows.Close()
	var last []byte
	items := newItemReader()
	for rows.Next() {
		if len(page.Records) == limit {
			page.Next = orig.cursor(q, last)
			break
		}
		var ek, k, item []byte
		var version, lca int64
		var deleted bool
		if err := rows.Scan(&ek, &k, &item, &version, &lca, &deleted); err != nil {
			return Page{}, fmt.Errorf("store: query %s %s: %w", q.Model, indexLabel(q.Index), err)
		}
		rec, err := pgRecord(q.Model, k, item, version, lca, deleted, items)
		if err != nil {
			return Page{}, fmt.Errorf("store: query %s %s: %w", q.Model, indexLabel(q.Index), err)
		}
		page.Records = append(page.Records, rec)
		last = bytes.Clone(ek)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("store: query %s %s: %w", q.Model, indexLabel(q.Index), err)
	}
	return page, nil
}
