// dsgen's Go sync engine (the Go client program) and the unmodified Amplify
// JS DataStore client, both syncing the blog schema with one dsgen serve:
// each sees the other's changes through its subscription, and edits of the
// same post made while one of them is offline converge to the server's
// record under automerge and optimistic concurrency.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { POST_FIELDS, startClient, startGoClient, startServer } from './harness.mjs';

const VIEW_KEYS = ['id', 'title', 'rating', 'status', 'blogPostsId', '_version', '_lastChangedAt', '_deleted'];

/**
 * view is the part of a post the clients and the server must agree on, with
 * their spellings of "nothing" made one: an absent or null field is null, a
 * live record's _deleted is false.
 */
function view(p) {
  if (p == null) return null;
  const out = Object.fromEntries(VIEW_KEYS.map((k) => [k, p[k] ?? null]));
  out._deleted = out._deleted === true;
  return out;
}

/** serverPost returns the server's copy of post id (tombstones included). */
async function serverPost(server, id) {
  return (await server.gql(`query ($id: ID!) { getPost(id: $id) { ${POST_FIELDS} } }`, { id })).getPost;
}

/**
 * converged waits until both clients hold the server's record of post id
 * (or, for a tombstone, no post) and asserts the three are equal. It returns
 * the server's view.
 */
async function converged(server, js, go, id) {
  await go.waitOutboxEmpty();
  const truth = view(await serverPost(server, id));
  assert.ok(truth, `the server holds post ${id}`);
  if (truth._deleted) {
    await go.waitPost(id, { absent: true });
    await js.call('waitRecord', { model: 'Post', id, absent: true });
    return truth;
  }
  await go.waitPost(id, { match: truth });
  // Amplify leaves fields it never set out of a record; wait on the others.
  const set = Object.fromEntries(Object.entries(truth).filter(([k, v]) => v !== null && k !== '_deleted'));
  await js.call('waitRecord', { model: 'Post', id, match: set });
  assert.deepEqual(view(await go.get(id)), truth, 'the Go client holds the server record');
  assert.deepEqual(view(await js.call('get', { model: 'Post', id })), truth, 'the JS client holds the server record');
  return truth;
}

/** clean asserts that neither client saw an error, a conflict or a refused mutation. */
async function clean(js, go) {
  const { errors, conflicts } = await js.call('report');
  assert.deepEqual(errors, [], 'the JS client reported no errors');
  assert.deepEqual(conflicts, [], 'no conflict reached the JS client');
  assert.deepEqual(await go.outbox(), { outbox: 0, deadLetters: 0 }, 'the Go client sent everything and nothing was refused');
  const rep = await go.report();
  assert.deepEqual(rep.conflicts, [], 'no conflict reached the Go client');
  assert.deepEqual(rep.failed, [], 'the Go client reported no failed mutation');
}

test("a JS and a Go client receive each other's creates, updates and deletes through their subscriptions", async (t) => {
  const server = await startServer({ t });
  const js = await startClient(server, { name: 'JS', t });
  const go = await startGoClient(server, { name: 'Go', t });
  await js.call('observe', { model: 'Post' });
  const sees = (op, id, pred = () => true) => js.waitObserved(`${op} of Post ${id}`,
    (e) => e.model === 'Post' && e.opType === op && e.element.id === id && pred(e.element));

  // JS creates; Go receives.
  const { server: fromJS } = await js.call('create', {
    model: 'Post', fields: { title: 'From JS', rating: 2, status: 'DRAFT' }, awaitServer: true,
  });
  const jsID = fromJS.id;
  assert.equal(fromJS._version, 1);
  await go.waitPost(jsID, { match: { title: 'From JS', rating: 2, status: 'DRAFT', _version: 1 } });

  // Go creates; the server and JS receive.
  const goID = randomUUID();
  await go.save(goID, { title: 'From Go', rating: 4, status: 'PUBLISHED' });
  await go.waitOutboxEmpty();
  assert.deepEqual(
    view(await serverPost(server, goID)),
    { ...view(await go.get(goID)), id: goID, title: 'From Go', rating: 4, status: 'PUBLISHED', blogPostsId: null, _version: 1, _deleted: false },
    "the server holds Go's post at version 1, and Go holds the server's metadata");
  await sees('INSERT', goID);
  await js.call('waitRecord', { model: 'Post', id: goID, match: { title: 'From Go', rating: 4, status: 'PUBLISHED', _version: 1 } });

  // Go updates its post (only the title: the server keeps the rating).
  await go.save(goID, { title: 'From Go, edited' });
  await sees('UPDATE', goID, (p) => p.title === 'From Go, edited');
  assert.deepEqual((await converged(server, js, go, goID)).rating, 4, "Go's update kept the fields it did not change");

  // JS updates Go's post; Go updates JS's post.
  await js.call('update', { model: 'Post', id: goID, fields: { rating: 5 }, awaitServer: true });
  await go.waitPost(goID, { match: { title: 'From Go, edited', rating: 5, _version: 3 } });
  await go.save(jsID, { status: 'PUBLISHED' });
  await sees('UPDATE', jsID, (p) => p.status === 'PUBLISHED');
  const jsPost = await converged(server, js, go, jsID);
  assert.deepEqual([jsPost.title, jsPost.status, jsPost._version], ['From JS', 'PUBLISHED', 2]);

  // Go deletes JS's post; JS deletes Go's.
  await go.delete(jsID);
  await sees('DELETE', jsID);
  const gone = await converged(server, js, go, jsID);
  assert.deepEqual([gone._deleted, gone._version], [true, 3], 'the server keeps a tombstone at version 3');
  await js.call('delete', { model: 'Post', id: goID, awaitServer: true });
  await go.waitPost(goID, { absent: true });
  assert.deepEqual([(await serverPost(server, goID))._deleted], [true]);

  assert.deepEqual(await go.list(), [], 'the Go client holds no posts');
  assert.deepEqual(await js.call('list', { model: 'Post' }), [], 'the JS client holds no posts');
  const { hubEvents } = await js.call('report');
  assert.equal(hubEvents.filter((e) => e.event === 'syncQueriesStarted').length, 1,
    'JS synced once, at start: every change came through its subscription');
  assert.equal((await go.report()).syncsStarted, 1, 'Go synced once, at start: every change came through its subscription');
  await clean(js, go);
});

/**
 * goOffline: JS creates a post; Go goes offline and edits it (title and the
 * rating the server lacks) while JS changes its status online; Go comes back.
 * Returns the converged server view.
 */
async function goOffline(t, conflictDefault) {
  const server = await startServer({ conflictDefault, t });
  const js = await startClient(server, { name: 'JS', t });
  const go = await startGoClient(server, { name: 'Go', t });
  const { server: created } = await js.call('create', {
    model: 'Post', fields: { title: 'Original', status: 'DRAFT' }, awaitServer: true,
  });
  const id = created.id;
  await go.waitPost(id, { match: { title: 'Original', _version: 1 } });

  await go.offline();
  await go.save(id, { title: 'Go title', rating: 7 });
  assert.deepEqual(await go.outbox(), { outbox: 1, deadLetters: 0 }, "Go's offline edit waits in its outbox");
  const { server: v2 } = await js.call('update', { model: 'Post', id, fields: { status: 'PUBLISHED' }, awaitServer: true });
  assert.equal(v2._version, 2, "JS's edit made version 2 while Go was offline");
  await go.waitPost(id, { match: { title: 'Go title', rating: 7, status: 'DRAFT', _version: 1 } });

  await go.online();
  const postSyncs = (r) => r.synced.filter((s) => s.model === 'Post');
  const { synced } = await go.waitReport('a second Post sync', (r) => postSyncs(r).length >= 2);
  assert.deepEqual(postSyncs({ synced }).map((s) => [s.full, s.delta]), [[true, false], [false, true]],
    'Go ran a full sync at start and a delta sync when it came back online');
  return { js, go, truth: await converged(server, js, go, id) };
}

/**
 * jsOffline: Go creates a post; JS goes offline and edits it (title and
 * rating) while Go changes its title online; JS comes back. Returns the
 * converged server view.
 */
async function jsOffline(t, conflictDefault) {
  const server = await startServer({ conflictDefault, t });
  const js = await startClient(server, { name: 'JS', t });
  const go = await startGoClient(server, { name: 'Go', t });
  const id = randomUUID();
  await go.save(id, { title: 'Original', status: 'DRAFT' });
  await js.call('waitRecord', { model: 'Post', id, match: { title: 'Original', _version: 1 } });

  await js.call('network', { online: false });
  await go.save(id, { title: 'Go title' });
  await go.waitPost(id, { match: { title: 'Go title', _version: 2 } });
  const local = await js.call('update', { model: 'Post', id, fields: { title: 'JS title', rating: 9 } });
  assert.equal(local._version, 1, "JS's offline edit is based on version 1");

  const answered = js.call('waitProcessed', { model: 'Post', id });
  answered.catch(() => {}); // awaited below
  await js.call('network', { online: true });
  await answered;
  return { js, go, truth: await converged(server, js, go, id) };
}

test('automerge: Go edits offline while JS edits online; both end with the merge the server made', async (t) => {
  const { js, go, truth } = await goOffline(t, 'automerge');
  // Go sent its changed fields on version 1; the server kept its own
  // scalars (title), took Go's rating (null on the server) and kept JS's
  // status.
  assert.deepEqual([truth.title, truth.rating, truth.status, truth._version], ['Original', 7, 'PUBLISHED', 3]);
  await clean(js, go);
});

test('automerge: JS edits offline while Go edits online; both end with the merge the server made', async (t) => {
  const { js, go, truth } = await jsOffline(t, 'automerge');
  assert.deepEqual([truth.title, truth.rating, truth.status, truth._version], ['Go title', 9, 'DRAFT', 3]);
  await clean(js, go);
});

test("optimistic concurrency: Go's offline edit is rejected, retried on the server's version, and both converge", async (t) => {
  const { js, go, truth } = await goOffline(t, 'optimistic');
  // Go's default handler resends its changed fields (title, rating) on
  // version 2: JS's status stays.
  assert.deepEqual([truth.title, truth.rating, truth.status, truth._version], ['Go title', 7, 'PUBLISHED', 3]);
  const { conflicts, failed } = await go.waitReport('one conflict', (r) => r.conflicts.length > 0);
  assert.deepEqual(conflicts, [{ model: 'Post', op: 'update', resolution: 'retry' }], 'the Go handler saw one conflict and retried');
  assert.deepEqual(failed, []);
  const { errors, conflicts: jsConflicts } = await js.call('report');
  assert.deepEqual([errors, jsConflicts], [[], []], 'the JS client saw no error and no conflict');
  assert.deepEqual(await go.outbox(), { outbox: 0, deadLetters: 0 });
});

test("optimistic concurrency: JS's offline edit is rejected, retried by Amplify's handler, and both converge", async (t) => {
  const { js, go, truth } = await jsOffline(t, 'optimistic');
  // Amplify's default handler resends every field of the model it rebuilt
  // from its changed fields: JS's title and rating win, and the status JS
  // did not touch is written as null (see conflict.test.mjs).
  assert.deepEqual([truth.title, truth.rating, truth.status, truth._version], ['JS title', 9, null, 3]);
  const { conflicts, errors } = await js.call('report');
  assert.equal(conflicts.length, 1, 'the conflict reached the JS handler once');
  assert.equal(conflicts[0].remote.title, 'Go title', "JS's handler saw Go's edit on the server");
  // Amplify resends the handler's model by throwing "RetryMutation", which
  // its own mutation processor also reports to the error handler; nothing
  // else may be there.
  assert.deepEqual(errors.filter((e) => e.message !== 'RetryMutation'), [], 'the JS client reported no other errors');
  assert.deepEqual(await go.outbox(), { outbox: 0, deadLetters: 0 });
  assert.deepEqual((await go.report()).conflicts, [], 'no conflict reached the Go client');
});
