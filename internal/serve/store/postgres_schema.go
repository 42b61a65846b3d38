package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The PostgreSQL table layout, in the schema the connection's search_path
// names first (set it with ?search_path=NAME in the URL). Every table is
// prefixed dsgen_ so the schema may hold other tables.
//
//	dsgen_meta     one row: the layout version and the key that signs
//	               nextTokens, shared by every instance
//	dsgen_clock    one row: the commit sequence, the last LastChangedAt
//	               handed out and the watermark floor. Every write takes its
//	               row lock last and holds it to its commit, so the row's
//	               order is commit order (see Postgres).
//	dsgen_records  the base table: one row per (model, pk) with the latest
//	               image, tombstones included; pk is the order-preserving
//	               key encoding of the Badger engine, so bytea order is key
//	               order and Scan pages on the primary key
//	dsgen_log      the change log: one row per committed write, keyed by
//	               seq, indexed by (model, lca, seq) for delta reads and by
//	               (model, pk, seq) to find a key's later change
//
// key and item are json (not jsonb): the text is kept as written, so a
// string holding U+0000 round-trips as it does on Badger.
//
// pgMigrations[i] upgrades layout version i to i+1; len(pgMigrations) is
// the version this code writes. OpenPostgres upgrades an older layout in
// place and refuses a newer one.
var pgMigrations = []string{
	// Version 1.
	`CREATE TABLE dsgen_clock (
		id    smallint PRIMARY KEY CHECK (id = 1),
		seq   bigint NOT NULL,
		last  bigint NOT NULL,
		floor bigint NOT NULL
	);
	INSERT INTO dsgen_clock VALUES (1, 0, 0, 0);
	CREATE TABLE dsgen_records (
		model     text    NOT NULL,
		pk        bytea   NOT NULL,
		key       json    NOT NULL,
		item      json    NOT NULL,
		version   bigint  NOT NULL,
		lca       bigint  NOT NULL,
		seq       bigint  NOT NULL,
		deleted   boolean NOT NULL,
		expire_at bigint,
		PRIMARY KEY (model, pk)
	);
	CREATE INDEX dsgen_records_tombstones ON dsgen_records (expire_at) WHERE deleted;
	CREATE TABLE dsgen_log (
		seq       bigint   PRIMARY KEY,
		model     text     NOT NULL,
		pk        bytea    NOT NULL,
		op        smallint NOT NULL,
		key       json     NOT NULL,
		item      json     NOT NULL,
		version   bigint   NOT NULL,
		lca       bigint   NOT NULL,
		deleted   boolean  NOT NULL,
		expire_at bigint   NOT NULL
	);
	CREATE INDEX dsgen_log_delta ON dsgen_log (model, lca, seq);
	CREATE INDEX dsgen_log_key ON dsgen_log (model, pk, seq);
	CREATE INDEX dsgen_log_expiry ON dsgen_log (expire_at);`,
	// Version 2: secondary indexes (postgres_index.go).
	pgIndexLayout,
}

// Advisory lock classes (the first key of pg_advisory_xact_lock(int, int));
// the second key is the hash of the schema, so stores in different schemas
// of one database do not wait for each other.
const (
	lockMigrate int32 = 0x6473_6701 // "dsg" 1
	lockExpire  int32 = 0x6473_6702
)

// migrate creates or upgrades the tables under an advisory lock, so that
// instances starting together run each step once, and returns the schema
// the tables are in and the token key.
func migrate(ctx context.Context, pool *pgxpool.Pool) (schema string, tokenKey []byte, err error) {
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return err
		}
		if schema == "" {
			return errors.New("no schema: the search_path names none that exists")
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, lockMigrate); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS dsgen_meta (
			id        smallint PRIMARY KEY CHECK (id = 1),
			version   int   NOT NULL,
			token_key bytea NOT NULL
		)`); err != nil {
			return err
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO dsgen_meta VALUES (1, 0, $1) ON CONFLICT (id) DO NOTHING`, key); err != nil {
			return err
		}
		var version int
		if err := tx.QueryRow(ctx, `SELECT version, token_key FROM dsgen_meta`).Scan(&version, &tokenKey); err != nil {
			return err
		}
		if version > len(pgMigrations) {
			return fmt.Errorf("%w: layout version %d, this dsgen knows up to %d", ErrSchemaTooNew, version, len(pgMigrations))
		}
		for v := version; v < len(pgMigrations); v++ {
			if _, err := tx.Exec(ctx, pgMigrations[v]); err != nil {
				return fmt.Errorf("upgrade to layout version %d: %w", v+1, err)
			}
		}
		if version < len(pgMigrations) {
			if _, err := tx.Exec(ctx, `UPDATE dsgen_meta SET version = $1`, len(pgMigrations)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("store: open postgres: create tables: %w", err)
	}
	return schema, tokenKey, nil
}
