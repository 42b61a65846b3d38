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

func rewriteRecordsPG(ctx context.Context, tx pgx.Tx, rw Rewrite) ([]byte, bool, error) {
	after := rw.Cursor
	if after == nil {
		after = []byte{}
	}
	rows, more, err := readRows(ctx, tx, rw.Limit, false, `SELECT pk, key, item FROM dsgen_records
		WHERE model = $1 AND pk > $2 ORDER BY pk LIMIT $3 FOR UPDATE`, rw.Model, after, rw.Limit+1)
	if err != nil {
		return nil, false, err
	}
	var next []byte
	for _, r := range rows {
		next = r.pk
		if rw.To == "" {
			if _, err := tx.Exec(ctx, `DELETE FROM dsgen_records WHERE model = $1 AND pk = $2`, rw.Model, r.pk); err != nil {
				return nil, false, err
			}
			continue
		}
		pk, key, item, err := rw.rewritten(r.key, r.item)
		if err != nil {
			return nil, false, err
		}
		if rw.To == rw.Model {
			if string(pk) != string(r.pk) {
				return nil, false, fmt.Errorf("%s %s: a rewrite in place changed the key to %s", rw.Model, r.key, key)
			}
			if _, err := tx.Exec(ctx, `UPDATE dsgen_records SET key = $3, item = $4 WHERE model = $1 AND pk = $2`,
				rw.Model, r.pk, string(key), string(item)); err != nil {
				return nil, false, err
			}
			continue
		}
		_, err = tx.Exec(ctx, `INSERT INTO dsgen_records (model, pk, key, item, version, lca, seq, deleted, expire_at)
			SELECT $3, $4, $5, $6, version, lca, seq, deleted, expire_at FROM dsgen_records WHERE model = $1 AND pk = $2`,
			rw.Model, r.pk, rw.To, pk, string(key), string(item))
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return nil, false, fmt.Errorf("%w: %s %s", ErrKeyTaken, rw.To, key)
		}
		if err != nil {
			return nil, false, err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM dsgen_records WHERE model = $1 AND pk = $2`, rw.Model, r.pk); err != nil {
			return nil, false, err
		}
	}
	return next, !more, nil
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
	var next []byte
	for _, r := range rows {
		next = binary.BigEndian.AppendUint64(nil, uint64(r.seq))
		if rw.To == "" {
			if _, err := tx.Exec(ctx, `DELETE FROM dsgen_log WHERE seq = $1`, r.seq); err != nil {
				return nil, false, err
			}
			continue
		}
		pk, key, item, err := rw.rewritten(r.key, r.item)
		if err != nil {
			return nil, false, err
		}
		if _, err := tx.Exec(ctx, `UPDATE dsgen_log SET model = $2, pk = $3, key = $4, item = $5 WHERE seq = $1`,
			r.seq, rw.To, pk, string(key), string(item)); err != nil {
			return nil, false, err
		}
	}
	return next, !more, nil
}
