package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The PostgreSQL engine keeps its SchemaMark in a table of its own,
// created by the first instance that migrates (under lockAppMigrate):
//
//	dsgen_app_schema  one row: the SchemaMark as JSON
const pgCreateMark = `CREATE TABLE IF NOT EXISTS dsgen_app_schema (
	id   smallint PRIMARY KEY CHECK (id = 1),
	mark json NOT NULL
)`

const pgUpsertMark = `INSERT INTO dsgen_app_schema VALUES (1, $1::json)
	ON CONFLICT (id) DO UPDATE SET mark = excluded.mark`

// lockAppMigrate is the advisory lock class of data migrations (see
// lockMigrate for the scheme).
const lockAppMigrate int32 = 0x6473_6710

// SchemaMark returns the recorded mark; ok is false when none was.
func (s *Postgres) SchemaMark(ctx context.Context) (SchemaMark, bool, error) {
	if err := s.begin(ctx); err != nil {
		return SchemaMark{}, false, err
	}
	defer s.ops.Done()
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT mark FROM dsgen_app_schema`).Scan(&b)
	var pe *pgconn.PgError
	if errors.Is(err, pgx.ErrNoRows) || (errors.As(err, &pe) && pe.Code == "42P01") { // undefined_table
		return SchemaMark{}, false, nil
	}
	if err != nil {
		return SchemaMark{}, false, fmt.Errorf("store: read the schema mark: %w", err)
	}
	var m SchemaMark
	if err := json.Unmarshal(b, &m); err != nil {
		return SchemaMark{}, false, fmt.Errorf("store: read the schema mark: %w", err)
	}
	return m, true, nil
}

// SetSchemaMark records m.
func (s *Postgres) SetSchemaMark(ctx context.Context, m SchemaMark) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.ops.Done()
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: write the schema mark: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, pgCreateMark); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, pgUpsertMark, string(b))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: write the schema mark: %w", err)
	}
	return nil
}

// LockMigration takes a session advisory lock on a connection of its own,
// held until unlock (or until the process dies, which ends the session),
// and creates the mark's table.
func (s *Postgres) LockMigration(ctx context.Context) (func(), error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.ops.Done()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, hashtext(current_schema()))`, lockAppMigrate); err != nil {
		conn.Release()
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	unlock := func() {
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, lockAppMigrate); err != nil {
			conn.Conn().Close(context.Background()) // ending the session releases the lock
		}
		conn.Release()
	}
	if _, err := conn.Exec(ctx, pgCreateMark); err != nil {
		unlock()
		return nil, fmt.Errorf("store: migration lock: create dsgen_app_schema: %w", err)
	}
	return unlock, nil
}

// RewriteBatch runs one batch of rw in one transaction with its mark.
// Cursors are the last pk (base table) or seq (change log) done.
func (s *Postgres) RewriteBatch(ctx context.Context, rw Rewrite) (next []byte, done bool, err error) {
	if err := checkRewrite(rw); err != nil {
		return nil, false, err
	}
	if err := s.begin(ctx); err != nil {
		return nil, false, err
	}
	defer s.ops.Done()
	if !rw.Log && rw.Cursor == nil {
		if err := s.forgetIndexes(ctx, rw.Model, rw.To); err != nil {
			return nil, false, fmt.Errorf("store: rewrite %s: %w", rw.Model, err)
		}
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if rw.Log {
			next, done, err = rewriteLogPG(ctx, tx, rw)
		} else {
			next, done, err = rewriteRecordsPG(ctx, tx, rw)
		}
		if err != nil {
			return err
		}
		b, err := json.Marshal(rw.Mark(next, done))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, pgCreateMark); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, pgUpsertMark, string(b))
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: migrate %s: %w", rw.Model, err)
	}
	return next, done, nil
}

type pgRow struct {
	pk, key, item []byte
	seq           int64
}

// readRows reads the rows of a batch and whether more follow.
func readRows(ctx context.Context, tx pgx.Tx, limit int, log bool, sql string, args ...any) ([]pgRow, bool, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []pgRow
	for rows.Next() {
		var r pgRow
		if log {
			err = rows.Scan(&r.seq, &r.key, &r.item)
		} else {
			err = rows.Scan(&r.pk, &r.key, &r.item)
		}
		if err != nil {
			return nil, false, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// rewriteRecordsPG is one batch of a pass over rw.Model's base table:
// one read, then one statement per kind of write, over arrays. A move
// first checks that no new key is taken (by a record already there or by
// another of the batch), so the error names the record.
func rewriteRecordsPG(ctx context.Context, tx pgx.Tx, rw Rewrite) ([]byte, bool, error) {
	after := rw.Cursor
	if after == nil {
		after = []byte{}
	}
	rows, more, err := readRows(ctx, tx, rw.Limit, false, `SELECT pk, key, item FROM dsgen_records
		WHERE model = $1 AND pk > $2 ORDER BY pk LIMIT $3 FOR UPDATE`, rw.Model, after, rw.Limit+1)
	if err != nil || len(rows) == 0 {
		return nil, !more, err
	}
	next := rows[len(rows)-1].pk
	oldPKs := make([][]byte, len(rows))
	for i, r := range rows {
		oldPKs[i] = r.pk
	}
	if rw.To == "" {
		_, err := tx.Exec(ctx, `DELETE FROM dsgen_records WHERE model = $1 AND pk = ANY($2)`, rw.Model, oldPKs)
		return next, !more, err
	}
	newPKs := make([][]byte, len(rows))
	keys, items := make([]string, len(rows)), make([]string, len(rows))
	seen := map[string]string{} // new pk -> new key JSON
	for i, r := range rows {
		pk, key, item, err := rw.rewritten(r.key, r.item)
		if err != nil {
			return nil, false, err
		}
		if rw.To == rw.Model && string(pk) != string(r.pk) {
			return nil, false, fmt.Errorf("%s %s: a rewrite in place changed the key to %s", rw.Model, r.key, key)
		}
		if _, dup := seen[string(pk)]; dup {
			return nil, false, fmt.Errorf("%w: %s %s", ErrKeyTaken, rw.To, key)
		}
		seen[string(pk)] = string(key)
		newPKs[i], keys[i], items[i] = pk, string(key), string(item)
	}
	if rw.To == rw.Model {
		_, err := tx.Exec(ctx, `UPDATE dsgen_records r SET key = u.key::json, item = u.item::json
			FROM unnest($2::bytea[], $3::text[], $4::text[]) AS u(pk, key, item) WHERE r.model = $1 AND r.pk = u.pk`,
			rw.Model, oldPKs, keys, items)
		return next, !more, err
	}
	var taken []byte
	err = tx.QueryRow(ctx, `SELECT pk FROM dsgen_records WHERE model = $1 AND pk = ANY($2) LIMIT 1`, rw.To, newPKs).Scan(&taken)
	if err == nil {
		return nil, false, fmt.Errorf("%w: %s %s", ErrKeyTaken, rw.To, seen[string(taken)])
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, false, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO dsgen_records (model, pk, key, item, version, lca, seq, deleted, expire_at)
		SELECT $2, u.npk, u.key::json, u.item::json, r.version, r.lca, r.seq, r.deleted, r.expire_at
		FROM unnest($3::bytea[], $4::bytea[], $5::text[], $6::text[]) AS u(opk, npk, key, item)
		JOIN dsgen_records r ON r.model = $1 AND r.pk = u.opk`, rw.Model, rw.To, oldPKs, newPKs, keys, items); err != nil {
		return nil, false, err
	}
	_, err = tx.Exec(ctx, `DELETE FROM dsgen_records WHERE model = $1 AND pk = ANY($2)`, rw.Model, oldPKs)
	return next, !more, err
}

func rewriteLogPG(ctx context.Context, tx pgx.Tx, rw Rewrite) ([]byte, bool, error) {
	var after int64
	if rw.Cursor != nil {
		if len(rw.Cursor) != 8 {
			return nil, false, fmt.Errorf("%w: migration cursor of the log of %s", ErrBadCursor, rw.Model)
		}
		after = int64(binary.BigEndian.Uint64(rw.Cursor))
	}
	rows, more, err := readRows(ctx, tx, rw.Limit, true, `SELECT seq, key, item FROM dsgen_log
		WHERE model = $1 AND seq > $2 ORDER BY seq LIMIT $3 FOR UPDATE`, rw.Model, after, rw.Limit+1)
	if err != nil {
		return nil, false, err
	}
	if len(rows) == 0 {
		return nil, !more, nil
	}
	next := binary.BigEndian.AppendUint64(nil, uint64(rows[len(rows)-1].seq))
	seqs := make([]int64, len(rows))
	for i, r := range rows {
		seqs[i] = r.seq
	}
	if rw.To == "" {
		_, err := tx.Exec(ctx, `DELETE FROM dsgen_log WHERE seq = ANY($1)`, seqs)
		return next, !more, err
	}
	pks := make([][]byte, len(rows))
	keys, items := make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		pk, key, item, err := rw.rewritten(r.key, r.item)
		if err != nil {
			return nil, false, err
		}
		pks[i], keys[i], items[i] = pk, string(key), string(item)
	}
	_, err = tx.Exec(ctx, `UPDATE dsgen_log l SET model = $1, pk = u.pk, key = u.key::json, item = u.item::json
		FROM unnest($2::bigint[], $3::bytea[], $4::text[], $5::text[]) AS u(seq, pk, key, item) WHERE l.seq = u.seq`,
		rw.To, seqs, pks, keys, items)
	return next, !more, err
}
