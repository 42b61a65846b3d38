// The unmodified Amplify DataStore client syncing the blog schema against
// dsgen serve: the startup sync of seeded data, and changes made by one
// client reaching the server and a second client's subscription.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BLOG_FIELDS, POST_FIELDS, pick, startClient, startServer } from './harness.mjs';

test('a fresh client syncs the records seeded on the server, relations included', async (t) => {
  const server = await startServer({ t });
  const { createBlog: blog } = await server.gql(
    `mutation ($input: CreateBlogInput!) { createBlog(input: $input) { ${BLOG_FIELDS} } }`,
    { input: { name: 'Seeded blog' } });
  const { createPost: post } = await server.gql(
    `mutation ($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`,
    { input: { title: 'Seeded post', rating: 3, status: 'PUBLISHED', blogPostsId: blog.id } });
  const { createPost: gone } = await server.gql(
    `mutation ($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`,
    { input: { title: 'Deleted before sync', blogPostsId: blog.id } });
  await server.gql(
    `mutation ($input: DeletePostInput!) { deletePost(input: $input) { ${POST_FIELDS} } }`,
    { input: { id: gone.id, _version: gone._version } });

  const a = await startClient(server, { name: 'A', t });

  const gotBlog = await a.call('get', { model: 'Blog', id: blog.id });
  assert.equal(gotBlog?.name, 'Seeded blog', 'the seeded blog is in the client after the startup sync');
  assert.equal(gotBlog._version, 1);

  const gotPost = await a.call('get', { model: 'Post', id: post.id });
  assert.deepEqual(
    pick(gotPost, ['title', 'rating', 'status', 'blogPostsId', '_version', '_lastChangedAt', 'createdAt']),
    pick(post, ['title', 'rating', 'status', 'blogPostsId', '_version', '_lastChangedAt', 'createdAt']),
    'the synced post equals the server record');

  const postBlog = await a.call('relation', { model: 'Post', id: post.id, field: 'blog' });
  assert.equal(postBlog?.id, blog.id, "the post's blog resolves locally");
  assert.equal(postBlog.name, 'Seeded blog');

  const blogPosts = await a.call('relation', { model: 'Blog', id: blog.id, field: 'posts' });
  assert.deepEqual(blogPosts.map((p) => p.id), [post.id], "the blog's posts hold the live post only");

  assert.equal(await a.call('get', { model: 'Post', id: gone.id }), null,
    'a record deleted on the server before the sync (a tombstone) is not in the client');

  const report = await a.call('report');
  const synced = report.hubEvents.filter((e) => e.event === 'modelSynced').map((e) => e.data.model);
  assert.deepEqual(synced.sort(), ['Blog', 'Comment', 'Post', 'PostTags', 'Tag']);
  assert.deepEqual(report.errors, [], 'the client reported no sync errors');
});

test("client A's create, update and delete reach the server and client B's subscription", async (t) => {
  const server = await startServer({ t });
  const a = await startClient(server, { name: 'A', t });
  const b = await startClient(server, { name: 'B', t });
  await b.call('observe', { model: 'Post' });
  await b.call('observe', { model: 'Blog' });

  const getPost = async (id) => (await server.gql(`query ($id: ID!) { getPost(id: $id) { ${POST_FIELDS} } }`, { id })).getPost;

  // create
  const { server: blog } = await a.call('create', { model: 'Blog', fields: { name: 'From A' }, awaitServer: true });
  assert.equal(blog._version, 1, 'the server answered the create with version 1');
  const created = await a.call('create', {
    model: 'Post',
    fields: { title: 'Hello', rating: 4, status: 'DRAFT' },
    links: { blog: { model: 'Blog', id: blog.id } },
    awaitServer: true,
  });
  const id = created.local.id;
  let onServer = await getPost(id);
  assert.deepEqual(pick(onServer, ['id', 'title', 'rating', 'status', 'blogPostsId', '_version', '_deleted']),
    { id, title: 'Hello', rating: 4, status: 'DRAFT', blogPostsId: blog.id, _version: 1, _deleted: null });

  await b.waitObserved(`INSERT of Blog ${blog.id}`, (e) => e.model === 'Blog' && e.opType === 'INSERT' && e.element.id === blog.id);
  await b.waitObserved(`INSERT of Post ${id}`, (e) => e.model === 'Post' && e.opType === 'INSERT' && e.element.id === id);
  await b.call('waitRecord', { model: 'Post', id, match: { title: 'Hello', rating: 4, blogPostsId: blog.id, _version: 1 } });
  const bBlog = await b.call('relation', { model: 'Post', id, field: 'blog' });
  assert.equal(bBlog?.name, 'From A', "B resolves the post's blog, which also came through its subscription");

  // update
  const updated = await a.call('update', { model: 'Post', id, fields: { title: 'Hello again', status: 'PUBLISHED' }, awaitServer: true });
  assert.equal(updated.server._version, 2);
  onServer = await getPost(id);
  assert.deepEqual(pick(onServer, ['title', 'rating', 'status', '_version', '_deleted']),
    { title: 'Hello again', rating: 4, status: 'PUBLISHED', _version: 2, _deleted: null });
  assert.ok(onServer._lastChangedAt >= created.server._lastChangedAt, '_lastChangedAt does not go back');
  await b.waitObserved(`UPDATE of Post ${id} to "Hello again"`,
    (e) => e.model === 'Post' && e.opType === 'UPDATE' && e.element.id === id && e.element.title === 'Hello again');
  await b.call('waitRecord', { model: 'Post', id, match: { title: 'Hello again', status: 'PUBLISHED', _version: 2 } });

  // delete
  const since = await a.call('mark');
  await a.call('delete', { model: 'Post', id });
  await a.call('waitOutboxEmpty', { since });
  onServer = await getPost(id);
  assert.deepEqual(pick(onServer, ['title', '_version', '_deleted']), { title: 'Hello again', _version: 3, _deleted: true },
    'the server keeps a tombstone at version 3');
  await b.waitObserved(`DELETE of Post ${id}`, (e) => e.model === 'Post' && e.opType === 'DELETE' && e.element.id === id);
  await b.call('waitRecord', { model: 'Post', id, absent: true });
  assert.equal(await a.call('get', { model: 'Post', id }), null);

  for (const [name, c] of [['A', a], ['B', b]]) {
    const { errors, conflicts, hubEvents } = await c.call('report');
    assert.equal(hubEvents.filter((e) => e.event === 'syncQueriesStarted').length, 1,
      `client ${name} synced once, at start: later changes came through its subscription`);
    assert.deepEqual(errors, [], `client ${name} reported no errors`);
    assert.deepEqual(conflicts, [], `client ${name} saw no conflicts`);
  }
});

test('a restarted client catches up with a delta sync from its last sync', async (t) => {
  const server = await startServer({ t });
  const a = await startClient(server, { name: 'A', t });
  const { server: post } = await a.call('create', { model: 'Post', fields: { title: 'Before' }, awaitServer: true });

  await a.call('pause');
  const { createPost: added } = await server.gql(
    `mutation ($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`,
    { input: { title: 'Added while stopped' } });
  await server.gql(
    `mutation ($input: UpdatePostInput!) { updatePost(input: $input) { ${POST_FIELDS} } }`,
    { input: { id: post.id, title: 'Changed while stopped', _version: 1 } });
  await a.call('restart');

  const synced = (await a.call('report')).hubEvents.filter((e) => e.event === 'modelSynced' && e.data.model === 'Post');
  assert.deepEqual(synced.at(-1).data, {
    model: 'Post', isFullSync: false, isDeltaSync: true, counts: { new: 1, updated: 1, deleted: 0 },
  }, 'the restart ran a delta sync that brought exactly the two changes');
  await a.call('waitRecord', { model: 'Post', id: added.id, match: { title: 'Added while stopped', _version: 1 } });
  await a.call('waitRecord', { model: 'Post', id: post.id, match: { title: 'Changed while stopped', _version: 2 } });
});

test('a many-to-many link made by client A reaches client B', async (t) => {
  const server = await startServer({ t });
  const a = await startClient(server, { name: 'A', t });
  const b = await startClient(server, { name: 'B', t });

  const { server: post } = await a.call('create', { model: 'Post', fields: { title: 'Tagged' }, awaitServer: true });
  const { server: tag } = await a.call('create', { model: 'Tag', fields: { label: 'go' }, awaitServer: true });
  const { server: link } = await a.call('create', {
    model: 'PostTags',
    links: { post: { model: 'Post', id: post.id }, tag: { model: 'Tag', id: tag.id } },
    awaitServer: true,
  });
  assert.equal(link._version, 1);

  const { getPostTags: onServer } = await server.gql(
    'query ($id: ID!) { getPostTags(id: $id) { id postId tagId _version post { title } tag { label } } }', { id: link.id });
  assert.deepEqual(onServer, { id: link.id, postId: post.id, tagId: tag.id, _version: 1, post: { title: 'Tagged' }, tag: { label: 'go' } });

  await b.call('waitRecord', { model: 'PostTags', id: link.id, match: { postId: post.id, tagId: tag.id } });
  const tags = await b.call('relation', { model: 'Post', id: post.id, field: 'tags' });
  assert.deepEqual(tags.map((l) => l.tagId), [tag.id], "B lists the post's tag link");
  const linkedTag = await b.call('relation', { model: 'PostTags', id: link.id, field: 'tag' });
  assert.equal(linkedTag?.label, 'go', 'B resolves the link to the tag');
});
