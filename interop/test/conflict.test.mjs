// An offline edit that conflicts with a change made on the server meanwhile,
// resolved under automerge (by the server) and under optimistic concurrency
// (by the Amplify client's conflict handler after ConflictUnhandled).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { POST_FIELDS, pick, startClient, startServer } from './harness.mjs';

const KEYS = ['title', 'rating', 'status', '_version', '_deleted'];

/**
 * offlineConflict drives the shared scenario: A creates a post (version 1) and
 * goes offline; the server's copy is edited directly (version 2: new title);
 * A edits its stale copy offline (title and the rating the server lacks);
 * A comes back online, its outbox sends `_version: 1`, and the function
 * returns what A's mutation finally got from the server.
 */
async function offlineConflict(t, server, clientOpts = {}) {
  const a = await startClient(server, { name: 'A', t, ...clientOpts });
  const { server: created } = await a.call('create', {
    model: 'Post', fields: { title: 'Original', status: 'DRAFT' }, awaitServer: true,
  });
  const id = created.id;
  assert.equal(created._version, 1);

  await a.call('network', { online: false });
  const { updatePost: v2 } = await server.gql(
    `mutation ($input: UpdatePostInput!) { updatePost(input: $input) { ${POST_FIELDS} } }`,
    { input: { id, title: 'Server title', _version: 1 } });
  assert.equal(v2._version, 2, 'the direct server edit made version 2');

  const local = await a.call('update', { model: 'Post', id, fields: { title: 'Client title', rating: 5 } });
  assert.equal(local._version, 1, "A's offline edit is based on version 1");

  const answered = a.call('waitProcessed', { model: 'Post', id });
  answered.catch(() => {}); // awaited below; do not let an early failure go unhandled
  await a.call('network', { online: true });
  const { server: answer } = await answered;
  const { getPost: onServer } = await server.gql(`query ($id: ID!) { getPost(id: $id) { ${POST_FIELDS} } }`, { id });
  return { a, id, answer, onServer };
}

test('automerge: an offline edit on a stale version is merged by the server, and A ends up with the merge', async (t) => {
  const server = await startServer({ conflictDefault: 'automerge', t });
  const { a, id, answer, onServer } = await offlineConflict(t, server);

  // AppSync automerge: a scalar the server changed keeps the server's value;
  // a field that is null on the server takes the incoming value.
  const want = { title: 'Server title', rating: 5, status: 'DRAFT', _version: 3, _deleted: null };
  assert.deepEqual(pick(onServer, KEYS), want, 'the server holds the merged record');
  assert.deepEqual(pick(answer, KEYS), want, "the server answered A's mutation with the merged record");
  await a.call('waitRecord', { model: 'Post', id, match: { title: 'Server title', rating: 5, _version: 3 } });

  const { conflicts, errors, hubEvents } = await a.call('report');
  const postSyncs = hubEvents.filter((e) => e.event === 'modelSynced' && e.data.model === 'Post');
  assert.deepEqual(postSyncs.map((e) => [e.data.isFullSync, e.data.isDeltaSync]), [[true, false], [false, true]],
    'A ran a full sync at start and a delta sync when it came back online');
  assert.deepEqual(conflicts, [], 'the server resolved it: no ConflictUnhandled reached the client');
  assert.deepEqual(errors, [], 'A reported no errors');
});

test("optimistic concurrency: the server rejects the stale edit and Amplify's default handler retries it on the server's version", async (t) => {
  const server = await startServer({ conflictDefault: 'optimistic', t });
  const { a, id, answer, onServer } = await offlineConflict(t, server);

  // The default handler rebuilds the model from the conflicting input (A's
  // changed fields only) on the remote _version and resends every field of
  // it: A's values win, and fields A did not touch are sent, and stored, as
  // null (status was DRAFT). That is Amplify's behaviour, not the server's:
  // the retry's input carries "status":null.
  const want = { title: 'Client title', rating: 5, status: null, _version: 3, _deleted: null };
  assert.deepEqual(pick(onServer, KEYS), want, 'the server holds the handler\'s choice');
  assert.deepEqual(pick(answer, KEYS), want);
  await a.call('waitRecord', { model: 'Post', id, match: { title: 'Client title', rating: 5, _version: 3 } });

  const { conflicts } = await a.call('report');
  assert.equal(conflicts.length, 1, 'the ConflictUnhandled rejection reached the conflict handler once');
  assert.equal(conflicts[0].remote.title, 'Server title', "the handler saw the server's current record");
  assert.equal(conflicts[0].remote._version, 2);
  assert.equal(conflicts[0].local.title, 'Client title');
});

test('optimistic concurrency: a handler that returns DISCARD keeps the server version on both sides', async (t) => {
  const server = await startServer({ conflictDefault: 'optimistic', t });
  const { a, id, answer, onServer } = await offlineConflict(t, server, { conflict: 'discard' });

  const want = { title: 'Server title', rating: null, status: 'DRAFT', _version: 2, _deleted: null };
  assert.deepEqual(pick(onServer, KEYS), want, 'the server kept its record');
  assert.deepEqual(pick(answer, KEYS), want, 'A fetched the server record');
  await a.call('waitRecord', { model: 'Post', id, match: { title: 'Server title', rating: null, _version: 2 } });

  const { conflicts } = await a.call('report');
  assert.equal(conflicts.length, 1, 'the conflict handler ran once');
});
