// The unmodified Amplify DataStore client syncing data moved off AppSync:
// the DynamoDB JSON fixture of internal/serve/dynamo (a scan output, a table
// export with gzip'ed partitions and export lines) is loaded with
// `dsgen serve import`, then served.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BLOG_SCHEMA, dsgenBin, pick, startClient, startServer } from './harness.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixture = path.join(repoRoot, 'internal', 'serve', 'dynamo', 'testdata', 'blog');

test('a fresh client syncs tables imported from AppSync, versions and tombstones included', async (t) => {
  const data = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-import-'));
  t.after(() => rmSync(data, { recursive: true, force: true }));
  execFileSync(dsgenBin(), ['serve', 'import', '--schema', BLOG_SCHEMA, '--data', data,
    path.join(fixture, 'Blog-abc123xyz-prod.json'), path.join(fixture, 'post-export'),
    path.join(fixture, 'Comment-abc123xyz-prod.json')], { stdio: ['ignore', 'ignore', 'inherit'] });

  const server = await startServer({ t, data });
  const a = await startClient(server, { name: 'A', t });

  const p1 = await a.call('get', { model: 'Post', id: 'p1' });
  assert.deepEqual(pick(p1, ['title', 'rating', 'status', 'blogPostsId', '_version', '_lastChangedAt', 'createdAt']),
    { title: 'Hello', rating: 4, status: 'PUBLISHED', blogPostsId: 'b1', _version: 5, _lastChangedAt: 1795417200000,
      createdAt: '2026-11-20T08:10:00.000Z' },
    'p1 as the AppSync table held it');
  const p4 = await a.call('get', { model: 'Post', id: 'p4' });
  assert.equal(p4?._version, 7);
  assert.equal(p4.rating ?? null, null);
  assert.equal(await a.call('get', { model: 'Post', id: 'p3' }), null, 'a tombstone in the table is not in the client');
  assert.equal(await a.call('get', { model: 'Blog', id: 'b2' }), null, 'a tombstoned blog is not in the client');
  const b1 = await a.call('get', { model: 'Blog', id: 'b1' });
  assert.equal(b1?.name, 'Offline first');
  assert.equal(b1._version, 3);
  const comments = await a.call('relation', { model: 'Post', id: 'p1', field: 'comments' });
  assert.deepEqual(comments.map((c) => c.id), ['c1'], "p1's comments hold the live one only");

  // The imported version is where the next write continues.
  const { server: updated } = await a.call('update', { model: 'Post', id: 'p1', fields: { title: 'After the move' }, awaitServer: true });
  assert.equal(updated._version, 6);
  assert.equal(updated.title, 'After the move');

  const report = await a.call('report');
  assert.deepEqual(report.errors, [], 'the client reported no sync errors');
});
