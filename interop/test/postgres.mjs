// postgres.mjs gives a test a PostgreSQL schema of its own on the server
// named by DSGEN_TEST_POSTGRES (`make test` starts one with
// scripts/pg-test.sh), through the psql client of that installation.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';

/**
 * pgSkipReason is why PostgreSQL tests cannot run here, or '' when they can.
 * Under CI (CI=true) a missing server is a failure, never a skip.
 */
export function pgSkipReason() {
  if (process.env.DSGEN_TEST_POSTGRES) return '';
  if (process.env.CI === 'true') {
    throw new Error('DSGEN_TEST_POSTGRES is not set: under CI the PostgreSQL interop tests must run (scripts/pg-test.sh start)');
  }
  return 'no PostgreSQL: set DSGEN_TEST_POSTGRES (scripts/pg-test.sh start prints a URL)';
}

function psqlBin() {
  const dirs = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)).map((v) => `/usr/lib/postgresql/${v}/bin/psql`)
    : [];
  return dirs.find((p) => existsSync(p)) ?? 'psql';
}

/** psql runs sql on the test server and returns its unaligned output. */
export function psql(sql) {
  return execFileSync(psqlBin(), [process.env.DSGEN_TEST_POSTGRES, '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', sql],
    { encoding: 'utf8' }).trim();
}

/**
 * pgSchema creates a fresh schema, dropped when t ends, and returns its name
 * and a URL whose search_path names it (what `dsgen serve --store` takes).
 * @param {import('node:test').TestContext} t
 */
export function pgSchema(t) {
  const name = `interop_${randomBytes(6).toString('hex')}`;
  psql(`CREATE SCHEMA ${name}`);
  t.after(() => psql(`DROP SCHEMA ${name} CASCADE`));
  const u = new URL(process.env.DSGEN_TEST_POSTGRES);
  u.searchParams.set('search_path', name);
  return { name, url: u.toString() };
}

/**
 * killListeners terminates the backends of every dsgen instance's listening
 * connection on schema (they are named "dsgen-listen <schema>") and
 * returns how many it terminated.
 */
export function killListeners(schema) {
  const out = psql(`SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'dsgen-listen ${schema}'`);
  return Number(out);
}
