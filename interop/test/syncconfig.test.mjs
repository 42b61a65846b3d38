// DataStore sync configuration an app sets in DataStore.configure: selective
// sync (syncExpressions, sent as `filter` on the sync queries and the
// subscriptions), small pages (syncPageSize), a capped base sync
// (maxRecordsToSync), and DataStore.clear() followed by a fresh start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { POST_FIELDS, startServer, startClient } from './harness.mjs';

const createPost = async (server, input) => (await server.gql(
  `mutation ($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`, { input })).createPost;
const deletePost = async (server, id, version) => (await server.gql(
  `mutation ($input: DeletePostInput!) { deletePost(input: $input) { ${POST_FIELDS} } }`, { input: { id, _version: version } })).deletePost;

/** seed creates one post per rating (null allowed) and returns them in creation order. */
async function seed(server, ratings, statuses = []) {
  const posts = [];
  for (const [i, rating] of ratings.entries()) {
    posts.push(await createPost(server, { title: `seed ${i}`, rating, ...(statuses[i] ? { status: statuses[i] } : {}) }));
  }
  return posts;
}

const ids = (recs) => recs.map((r) => r.id).sort();
const postSynced = (report) => report.hubEvents.filter((e) => e.event === 'modelSynced' && e.data.model === 'Post');
/** The Amplify warning printed when the server refuses a subscription's filter and DataStore falls back. */
const RTF_WARNING = 'Backend subscriptions filtering error';

const ELEVEN = [4, 7, 9, 11, 12, 13, 14, 15, 16, 17, 18];

// Each case: the sync expression (as client.mjs SyncCondition), the same
// predicate in JS, a post it rejects and one it accepts (created live).
const selective = [
  { name: 'rating > 3', where: { field: 'rating', op: 'gt', value: 3 }, want: (p) => p.rating > 3,
    low: { rating: 2 }, high: { rating: 8 } },
  { name: 'rating > 3 (syncPageSize 2)', pageSize: 2, where: { field: 'rating', op: 'gt', value: 3 }, want: (p) => p.rating > 3,
    low: { rating: 2 }, high: { rating: 8 } },
  { name: 'rating > 5 or status DRAFT',
    where: { or: [{ field: 'rating', op: 'gt', value: 5 }, { field: 'status', op: 'eq', value: 'DRAFT' }] },
    want: (p) => p.rating > 5 || p.status === 'DRAFT', low: { rating: 2, status: 'PUBLISHED' }, high: { rating: 1, status: 'DRAFT' } },
  { name: 'rating between 2 and 5 and title beginsWith "seed"',
    where: { and: [{ field: 'rating', op: 'between', value: [2, 5] }, { field: 'title', op: 'beginsWith', value: 'seed' }] },
    want: (p) => p.rating >= 2 && p.rating <= 5 && p.title.startsWith('seed'),
    low: { rating: 3, title: 'late 3' }, high: { rating: 3, title: 'seed late' } },
  // AppSync's subscription filter input has no "not": the server refuses the
  // filter in AppSync's words, DataStore warns and subscribes again without
  // it, and drops non-matching events itself. (The base sync's filter input
  // has "not"; a null rating is not <= 3, as in DynamoDB.)
  { name: 'not rating <= 3', where: { not: { field: 'rating', op: 'le', value: 3 } }, want: (p) => !(p.rating != null && p.rating <= 3),
    low: { rating: 1 }, high: { rating: 7 }, clientFilters: true },
  // Eleven alternatives are eleven AND groups, over AppSync's limit of ten
  // per subscription filter: the server refuses the filter in AppSync's
  // words ("Filters combination exceed maximum limit"), and DataStore falls
  // back as for "not".
  { name: 'rating is one of eleven values', where: { or: ELEVEN.map((value) => ({ field: 'rating', op: 'eq', value })) },
    want: (p) => ELEVEN.includes(p.rating), low: { rating: 2 }, high: { rating: 7 }, clientFilters: true },
];

for (const c of selective) {
  test(`selective sync (${c.name}): only matching posts are synced and received live`, async (t) => {
    const server = await startServer({ t });
    const seeded = await seed(server, [1, 4, null, 5, 3, 6, 2, 9], [null, 'DRAFT', 'DRAFT', 'PUBLISHED', null, 'PUBLISHED', 'PUBLISHED', null]);
    // A matching post that is deleted: its tombstone must not be held either.
    const gone = await createPost(server, { title: 'seed deleted', rating: 4, status: 'DRAFT' });
    await deletePost(server, gone.id, 1);
    assert.ok(c.want(gone));
    const want = seeded.filter(c.want);
    assert.ok(want.length > 0 && want.length < seeded.length, 'the case splits the seeded posts');

    const a = await startClient(server, { name: 'A', t, sync: { pageSize: c.pageSize, expressions: [{ model: 'Post', where: c.where }] } });
    await a.call('observe', { model: 'Post' });

    // The base sync brought the matching posts only: the server applied the
    // filter (DataStore merges every item of a sync page it is given).
    assert.deepEqual(ids(await a.call('list', { model: 'Post' })), ids(want), 'the client holds exactly the matching posts');
    const report = await a.call('report');
    assert.deepEqual(postSynced(report).map((e) => e.data), [{
      model: 'Post', isFullSync: true, isDeltaSync: false, counts: { new: want.length, updated: 0, deleted: 1 },
    }], 'one base sync of Post, which received the matching posts and the matching tombstone only');

    // Live: a non-matching create, then a matching one, on one subscription
    // in commit order; the first would arrive first were it delivered.
    const low = await createPost(server, { title: 'late', ...c.low });
    const high = await createPost(server, { title: 'late', ...c.high });
    assert.ok(!c.want(low) && c.want(high));
    await a.waitObserved(`INSERT of Post ${high.id} (${JSON.stringify(c.high)})`,
      (e) => e.model === 'Post' && e.opType === 'INSERT' && e.element.id === high.id);
    await a.call('waitRecord', { model: 'Post', id: high.id, match: { ...c.high, _version: 1 } });
    assert.ok(!a.observed.some((e) => e.element?.id === low.id), 'the non-matching post reached DataStore.observe');
    assert.equal(await a.call('get', { model: 'Post', id: low.id }), null, 'the non-matching post is not in the local store');
    // With a filter it can take, the server applied it (as AppSync does),
    // rather than DataStore dropping the event on arrival: the non-matching
    // post never crossed the socket. Otherwise DataStore fell back to an
    // unfiltered subscription and dropped it itself.
    const sent = (await a.call('report')).socketEvents;
    assert.ok(sent.some((e) => e.field === 'onCreatePost' && e.id === high.id), `socket events: ${JSON.stringify(sent)}`);
    assert.equal(sent.some((e) => e.id === low.id), !!c.clientFilters,
      `the non-matching post crossed the socket: ${JSON.stringify(sent)}`);

    // A post the client saves itself is sent and answered like any other.
    const { server: own } = await a.call('create', { model: 'Post', fields: { title: 'mine', ...c.high }, awaitServer: true });
    assert.equal(own._version, 1);
    // A matching post deleted on the server: its tombstone matches, so the
    // delete reaches the client through the filtered onDeletePost.
    await deletePost(server, high.id, 1);
    await a.waitObserved(`DELETE of Post ${high.id}`, (e) => e.model === 'Post' && e.opType === 'DELETE' && e.element.id === high.id);
    await a.call('waitRecord', { model: 'Post', id: high.id, absent: true });

    const end = await a.call('report');
    assert.deepEqual(end.errors, [], 'the client reported no errors');
    assert.equal(end.hubEvents.filter((e) => e.event === 'syncQueriesStarted').length, 1, 'the client synced once');
    assert.equal(a.stderr().includes(RTF_WARNING), !!c.clientFilters,
      `DataStore's warning that it filters subscriptions on the client:\n${a.stderr().slice(-2000)}`);
  });
}

test("selective sync by a belongsTo foreign key: one blog's posts, and a title that contains a word", async (t) => {
  const server = await startServer({ t });
  const blog = async (name) => (await server.gql('mutation ($i: CreateBlogInput!) { createBlog(input: $i) { id } }', { i: { name } })).createBlog.id;
  const [mine, other] = [await blog('mine'), await blog('other')];
  const seeded = [];
  for (const [title, b] of [['green tea', mine], ['black coffee', mine], ['green beans', other], ['sweet tea', null]]) {
    seeded.push(await createPost(server, { title, ...(b ? { blogPostsId: b } : {}) }));
  }
  // The app syncs only its blog's posts, and all posts whose title contains "tea".
  const where = { or: [{ field: 'blogPostsId', op: 'eq', value: mine }, { field: 'title', op: 'contains', value: 'tea' }] };
  const want = (p) => p.blogPostsId === mine || p.title.includes('tea');
  const a = await startClient(server, { name: 'A', t, sync: { expressions: [{ model: 'Post', where }] } });
  await a.call('observe', { model: 'Post' });
  assert.deepEqual(ids(await a.call('list', { model: 'Post' })), ids(seeded.filter(want)));
  assert.equal(await a.call('get', { model: 'Post', id: seeded[2].id }), null, "the other blog's post is not held");
  assert.equal((await a.call('relation', { model: 'Post', id: seeded[0].id, field: 'blog' }))?.name, 'mine');

  const low = await createPost(server, { title: 'espresso', blogPostsId: other });
  const high = await createPost(server, { title: 'toast', blogPostsId: mine });
  const tea = await createPost(server, { title: 'iced tea', blogPostsId: other });
  for (const p of [high, tea]) {
    await a.call('waitRecord', { model: 'Post', id: p.id, match: { title: p.title, blogPostsId: p.blogPostsId, _version: 1 } });
  }
  assert.equal(await a.call('get', { model: 'Post', id: low.id }), null);
  const end = await a.call('report');
  assert.ok(!end.socketEvents.some((e) => e.id === low.id), `the server sent the non-matching post: ${JSON.stringify(end.socketEvents)}`);
  assert.deepEqual(end.errors, []);
  assert.ok(!a.stderr().includes(RTF_WARNING), a.stderr().slice(-2000));
});

test('selective sync on a restart: the delta sync is filtered too', async (t) => {
  const server = await startServer({ t });
  const [low0, high0] = await seed(server, [1, 7]);
  const a = await startClient(server, {
    name: 'A', t, sync: { pageSize: 2, expressions: [{ model: 'Post', where: { field: 'rating', op: 'gt', value: 3 } }] },
  });
  assert.deepEqual(ids(await a.call('list', { model: 'Post' })), ids([high0]));

  await a.call('pause');
  // While it is stopped: non-matching and matching creates, a matching post
  // updated, and a non-matching one raised into the filter.
  const news = await seed(server, [2, 8, 0, 9, 1]);
  await server.gql(`mutation ($input: UpdatePostInput!) { updatePost(input: $input) { ${POST_FIELDS} } }`,
    { input: { id: high0.id, title: 'changed', _version: 1 } });
  await server.gql(`mutation ($input: UpdatePostInput!) { updatePost(input: $input) { ${POST_FIELDS} } }`,
    { input: { id: low0.id, rating: 5, _version: 1 } });
  await a.call('restart');

  const synced = postSynced(await a.call('report'));
  assert.deepEqual(synced.at(-1).data, {
    model: 'Post', isFullSync: false, isDeltaSync: true, counts: { new: 3, updated: 1, deleted: 0 },
  }, 'the delta sync brought the two matching creates, the raised post (new here) and the matching update only');
  assert.deepEqual(ids(await a.call('list', { model: 'Post' })), ids([high0, low0, ...news.filter((p) => p.rating > 3)]));
  await a.call('waitRecord', { model: 'Post', id: high0.id, match: { title: 'changed', _version: 2 } });
  await a.call('waitRecord', { model: 'Post', id: low0.id, match: { rating: 5, _version: 2 } });
  assert.deepEqual((await a.call('report')).errors, []);
});

test('syncPageSize 2 with maxRecordsToSync 5 of 9: the base sync stops after five records', async (t) => {
  const server = await startServer({ t });
  const seeded = await seed(server, [1, 2, 3, 4, 5, 6, 7, 8, 9]);

  // What AppSync semantics give a client asking for pages of 2, 2 and then 1
  // (min(maxRecordsToSync - received, syncPageSize)): read with the same
  // sync query from the server itself.
  const expected = [];
  let nextToken = null;
  for (const limit of [2, 2, 1]) {
    const { syncPosts } = await server.gql(
      'query ($limit: Int, $nextToken: String) { syncPosts(limit: $limit, nextToken: $nextToken) { items { id } nextToken } }',
      { limit, nextToken });
    expected.push(...syncPosts.items);
    nextToken = syncPosts.nextToken;
  }
  assert.equal(expected.length, 5, 'the server answered pages of the sizes asked for');

  const a = await startClient(server, { name: 'A', t, sync: { pageSize: 2, maxRecords: 5 } });
  const held = await a.call('list', { model: 'Post' });
  assert.deepEqual(ids(held), ids(expected), 'the client holds the first five records of the base sync');
  assert.ok(ids(held).every((id) => seeded.some((p) => p.id === id)));
  const report = await a.call('report');
  assert.deepEqual(postSynced(report).map((e) => e.data), [{
    model: 'Post', isFullSync: true, isDeltaSync: false, counts: { new: 5, updated: 0, deleted: 0 },
  }]);
  assert.deepEqual(report.errors, []);

  // Live changes still arrive beyond the cap.
  await a.call('observe', { model: 'Post' });
  const later = await createPost(server, { title: 'later', rating: 10 });
  await a.call('waitRecord', { model: 'Post', id: later.id, match: { title: 'later', _version: 1 } });
});

test('syncPageSize 2: nine posts and a tombstone arrive over several pages', async (t) => {
  const server = await startServer({ t });
  const seeded = await seed(server, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await deletePost(server, seeded[4].id, 1);
  const live = seeded.filter((_, i) => i !== 4);

  const a = await startClient(server, { name: 'A', t, sync: { pageSize: 2 } });
  assert.deepEqual(ids(await a.call('list', { model: 'Post' })), ids(live), 'the client holds every live post and not the tombstone');
  const report = await a.call('report');
  assert.deepEqual(postSynced(report).map((e) => e.data), [{
    model: 'Post', isFullSync: true, isDeltaSync: false, counts: { new: 8, updated: 0, deleted: 1 },
  }]);
  assert.deepEqual(report.errors, []);
});

test('DataStore.clear() then start(): a base sync repopulates the emptied store', async (t) => {
  const server = await startServer({ t });
  const seeded = await seed(server, [1, 2, 3]);
  const a = await startClient(server, { name: 'A', t });
  const { server: own } = await a.call('create', { model: 'Post', fields: { title: 'mine', rating: 4 }, awaitServer: true });
  assert.deepEqual(ids(await a.call('list', { model: 'Post' })), ids([...seeded, own]));

  await a.call('clear');
  // Changes while the client is cleared and stopped: one added, one changed.
  const added = await createPost(server, { title: 'added while cleared', rating: 5 });
  await server.gql(`mutation ($input: UpdatePostInput!) { updatePost(input: $input) { ${POST_FIELDS} } }`,
    { input: { id: seeded[0].id, title: 'changed while cleared', _version: 1 } });

  await a.call('restart');
  const held = await a.call('list', { model: 'Post' });
  assert.deepEqual(ids(held), ids([...seeded, own, added]), 'the store holds every post again');
  assert.equal(held.find((p) => p.id === seeded[0].id).title, 'changed while cleared');
  assert.equal(held.find((p) => p.id === seeded[0].id)._version, 2);
  assert.equal(held.find((p) => p.id === own.id)._version, 1, "the client's own post came back with the server's metadata");
  const synced = postSynced(await a.call('report'));
  assert.deepEqual(synced.at(-1).data, {
    model: 'Post', isFullSync: true, isDeltaSync: false, counts: { new: 5, updated: 0, deleted: 0 },
  }, 'after clear() the start ran a full (base) sync, not a delta from the cleared lastSync');

  // And the restarted client is live again.
  const later = await createPost(server, { title: 'later', rating: 6 });
  await a.call('waitRecord', { model: 'Post', id: later.id, match: { title: 'later', _version: 1 } });
  assert.deepEqual((await a.call('report')).errors, []);
});
