// The unmodified Amplify DataStore client syncing data moved off AppSync:
// the DynamoDB JSON fixture of internal/serve/dynamo (a scan output, a table
// export with gzip'ed partitions and export lines) is loaded with
// `dsgen serve import`, then served.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BLOG_SCHEMA, POST_FIELDS, dsgenBin, pick, startClient, startServer } from './harness.mjs';

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

test('an offline edit made against the old backend goes through after the move (base sync, automerge)', async (t) => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-move-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const [dataA, dataB, exported, certDir] = ['a', 'b', 'export', 'cert'].map((d) => path.join(tmp, d));
  mkdirSync(certDir);

  // The old backend (standing in for AppSync: same versions, same tombstones).
  const old = await startServer({ t, data: dataA, conflictDefault: 'automerge' });
  const create = async (input) => (await old.gql(
    `mutation ($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`, { input })).createPost;
  const p1 = await create({ title: 'One' });
  const p2 = await create({ title: 'Two' });
  const a = await startClient(old, { name: 'A', t });
  await a.call('waitRecord', { model: 'Post', id: p2.id, match: { _version: 1 } });

  // A goes offline and edits; the old backend changes meanwhile.
  await a.call('network', { online: false });
  await a.call('update', { model: 'Post', id: p1.id, fields: { title: 'One, edited offline' } });
  await a.call('update', { model: 'Post', id: p2.id, fields: { rating: 5 } });
  await old.gql(`mutation ($input: UpdatePostInput!) { updatePost(input: $input) { ${POST_FIELDS} } }`,
    { input: { id: p2.id, title: 'Two, edited on the server', _version: 1 } });
  const p3 = await create({ title: 'Three, new while A was away' });

  // The move: stop the old backend, export, import, serve at the same address
  // (the app's endpoint does not change) with the same dev certificate.
  for (const f of ['dev-cert.pem', 'dev-key.pem']) copyFileSync(path.join(path.dirname(old.devCert), f), path.join(certDir, f));
  const addr = old.addr;
  await old.stop();
  execFileSync(dsgenBin(), ['serve', 'export', '--schema', BLOG_SCHEMA, '--data', dataA, '--out', exported], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(dsgenBin(), ['serve', 'import', '--schema', BLOG_SCHEMA, '--data', dataB, exported], { stdio: ['ignore', 'ignore', 'inherit'] });
  const moved = await startServer({ t, data: dataB, conflictDefault: 'automerge', extraArgs: ['--addr', addr, '--dev-tls-dir', certDir] });

  await a.call('network', { online: true });
  await a.call('waitRecord', { model: 'Post', id: p3.id, match: { title: 'Three, new while A was away' } });
  await a.call('waitRecord', { model: 'Post', id: p2.id, match: { title: 'Two, edited on the server', rating: 5, _version: 3 } });
  await a.call('waitRecord', { model: 'Post', id: p1.id, match: { title: 'One, edited offline', _version: 2 } });
  const get = async (id) => (await moved.gql(`query ($id: ID!) { getPost(id: $id) { ${POST_FIELDS} } }`, { id })).getPost;
  assert.deepEqual(pick(await get(p1.id), ['title', '_version']), { title: 'One, edited offline', _version: 2 },
    'the edit of a record unchanged since A last synced landed');
  assert.deepEqual(pick(await get(p2.id), ['title', 'rating', '_version']), { title: 'Two, edited on the server', rating: 5, _version: 3 },
    'the edit of a record changed meanwhile was merged (automerge: the server\'s title, A\'s rating)');
  const { errors } = await a.call('report');
  assert.deepEqual(errors, [], 'A reported no errors');
});
