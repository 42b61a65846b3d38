// Package pgtest gives tests a PostgreSQL schema of their own on the
// server named by DSGEN_TEST_POSTGRES (`make test` starts one with
// scripts/pg-test.sh). Without the variable a test is skipped, except
// under CI (CI=true), where a missing server is a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the variable holding the test server's URL.
const EnvVar = "DSGEN_TEST_POSTGRES"

// Server returns the test server's URL, or skips t (fails it under CI)
// when there is none.
func Server(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvVar)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: under CI every PostgreSQL test must run (scripts/pg-test.sh start)", EnvVar)
		}
		t.Skipf("no PostgreSQL: set %s (scripts/pg-test.sh start prints a URL)", EnvVar)
	}
	return u
}

// Schema creates a fresh schema on the test server, dropped when t ends,
// and returns a URL whose search_path names it.
func Schema(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return NamedSchema(t, "t_"+hex.EncodeToString(b))
}

// SchemaFor returns the URL of the schema named after key (a directory, a
// test name): the same key gives the same schema within one test, as a
// data directory would.
func SchemaFor(t testing.TB, key string) string {
	t.Helper()
	h := sha256.Sum256([]byte(key))
	return NamedSchema(t, "t_"+hex.EncodeToString(h[:8]))
}

// NamedSchema creates the schema name unless it exists (then dropping it
// when t ends) and returns a URL whose search_path names it.
func NamedSchema(t testing.TB, name string) string {
	t.Helper()
	base := Server(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvVar, err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, name).Scan(&exists); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+ident); err != nil {
			t.Fatalf("pgtest: create schema %s: %v", name, err)
		}
		t.Cleanup(func() {
			conn, err := pgx.Connect(ctx, base)
			if err != nil {
				t.Errorf("pgtest: drop schema %s: %v", name, err)
				return
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "DROP SCHEMA "+ident+" CASCADE"); err != nil {
				t.Errorf("pgtest: drop schema %s: %v", name, err)
			}
		})
	}
	return WithSearchPath(t, base, name)
}

// WithSearchPath returns u with its search_path set to schema.
func WithSearchPath(t testing.TB, u, schema string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatalf("pgtest: %s is not a URL: %v", EnvVar, err)
	}
	q := p.Query()
	q.Set("search_path", schema)
	p.RawQuery = q.Encode()
	return p.String()
}
