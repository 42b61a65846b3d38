// A transformer v1 schema (golden/v1-blog: @key primary key and index with a
// queryField, @connection with fields, with a name and implicit) synced by
// the unmodified Amplify DataStore client, with models from Amplify's own
// generator run as for a v1 project, against dsgen serve, beside dsgen's Go
// client over the package dsgen generated for the same schema (issue 15).
//
// The JS client is given every model but Author. Amplify's generator, for a
// v1 DataStore project, gives every model an id field (DataStore of the v1
// era keyed every record by id), also Author, whose v1 primary key is
// @key(fields: ["email"]) and which has no id in the v1 API: DataStore's
// queries ask for Author.id and are refused, by AppSync as by dsgen serve
// ("Cannot query field \"id\" on type \"Author\""). Blog's owner link to
// Author goes with it; the Go client covers that connection.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { generate } from '../gen-models.mjs';
import { startClient, startRecordClient, startServer } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const V1_SCHEMA = path.resolve(here, '..', '..', 'golden', 'v1-blog', 'schema.graphql');

test('a transformer v1 schema syncs between the JS DataStore client and a Go client through dsgen serve', async (t) => {
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-v1-models-'));
  t.after(() => rmSync(modelsDir, { recursive: true, force: true }));
  const schemaModule = path.join(modelsDir, 'schema.js');
  const generated = path.join(modelsDir, 'generated.js');
  await writeFile(generated, await generate(V1_SCHEMA));
  const { schema } = await import(pathToFileURL(generated).href);
  assert.ok(schema.models.Author.fields.id, "Amplify's generator gives Author an id field (if not, drop this workaround)");
  delete schema.models.Author;
  delete schema.models.Blog.fields.owner;
  await writeFile(schemaModule, `export const schema = ${JSON.stringify(schema, null, 2)};\n`);

  const server = await startServer({ t, schema: V1_SCHEMA });
  const js = await startClient(server, { name: 'js', schemaModule, t });
  const go = await startRecordClient(server, { schema: 'v1blog', name: 'go', t });

  // Go writes the blog's owner (implicit @connection to Author, keyed by
  // @key(fields: ["email"])); JS writes the blog, posts by blogID (a
  // connection with fields) and a comment on the named connection.
  const email = 'ada@example.com';
  await go.call('save', { model: 'Author', key: [email], record: { email, name: 'Ada' } });
  await go.waitRecord('Author', [email], { match: { name: 'Ada', _version: 1 } });
  const { local: blog } = await js.call('create', { model: 'Blog', fields: { name: 'Offline first' }, awaitServer: true });
  await go.waitRecord('Blog', [blog.id], { match: { name: 'Offline first' } });
  await go.call('save', { model: 'Blog', key: [blog.id], record: { blogOwnerId: email } });
  await js.call('waitRecord', { model: 'Blog', id: blog.id, match: { name: 'Offline first', _version: 2 } });
  const owned = await server.gql('query ($id: ID!) { getBlog(id: $id) { blogOwnerId owner { email name } } }', { id: blog.id });
  assert.deepEqual(owned.getBlog, { blogOwnerId: email, owner: { email, name: 'Ada' } }, "the server resolves the blog's owner");
  const { local: post } = await js.call('create', { model: 'Post', fields: { title: 'Hello', blogID: blog.id }, awaitServer: true });
  const { local: comment, server: commentOnServer } = await js.call('create', {
    model: 'Comment', fields: { content: 'First' }, links: { post: { model: 'Post', id: post.id } }, awaitServer: true,
  });
  assert.equal(commentOnServer.commentPostId ?? (await server.gql(
    'query ($id: ID!) { getComment(id: $id) { commentPostId } }', { id: comment.id })).getComment.commentPostId,
  post.id, "the server holds the comment's foreign key (commentPostId)");

  // The Go client receives each with its keys.
  await go.waitRecord('Post', [post.id], { match: { title: 'Hello', blogID: blog.id } });
  await go.waitRecord('Comment', [comment.id], { match: { content: 'First', commentPostId: post.id } });

  // Go writes a post and a comment on it; JS receives them and resolves
  // both sides of each connection locally.
  await go.call('save', { model: 'Post', key: ['p-go'], record: { id: 'p-go', title: 'From Go', blogID: blog.id } });
  await go.call('save', { model: 'Comment', key: ['c-go'], record: { id: 'c-go', content: 'Go says', commentPostId: 'p-go' } });
  await js.call('waitRecord', { model: 'Post', id: 'p-go', match: { title: 'From Go', blogID: blog.id, _version: 1 } });
  await js.call('waitRecord', { model: 'Comment', id: 'c-go', match: { content: 'Go says', _version: 1 } });
  const goComments = await js.call('relation', { model: 'Post', id: 'p-go', field: 'comments' });
  assert.deepEqual(goComments.map((c) => c.id), ['c-go'], "JS resolves the Go post's comments");
  assert.equal((await js.call('relation', { model: 'Comment', id: 'c-go', field: 'post' }))?.id, 'p-go', "JS resolves the Go comment's post");
  const blogPosts = await js.call('relation', { model: 'Blog', id: blog.id, field: 'posts' });
  assert.deepEqual(blogPosts.map((p) => p.id).sort(), [post.id, 'p-go'].sort(), "JS resolves the blog's posts by the byBlog key");

  // The v1 API's @key queryField answers both posts.
  const byBlog = await server.gql('query ($b: ID!) { postsByBlog(blogID: $b) { items { id } } }', { b: blog.id });
  assert.deepEqual(byBlog.postsByBlog.items.map((p) => p.id).sort(), [post.id, 'p-go'].sort());

  // Updates and deletes each way.
  await js.call('update', { model: 'Post', id: 'p-go', fields: { title: 'Edited in JS' }, awaitServer: true });
  await go.waitRecord('Post', ['p-go'], { match: { title: 'Edited in JS', _version: 2 } });
  await go.call('save', { model: 'Post', key: [post.id], record: { title: 'Edited in Go' } });
  await js.call('waitRecord', { model: 'Post', id: post.id, match: { title: 'Edited in Go', _version: 2 } });
  await go.call('delete', { model: 'Comment', key: ['c-go'] });
  await js.call('waitRecord', { model: 'Comment', id: 'c-go', absent: true });
  await js.call('delete', { model: 'Comment', id: comment.id, awaitServer: true });
  await go.waitRecord('Comment', [comment.id], { absent: true });

  assert.deepEqual((await go.call('report')).failed, [], 'the Go client had no refused mutation');
  assert.equal((await go.call('outbox')).deadLetters, 0);
  assert.deepEqual((await js.call('report')).errors, [], 'the JS client reported no sync errors');
});

// A v1 model with @model(queries: null) still has its sync query on AppSync
// (the v1 transformer adds one to every model once conflict detection is
// on): the JS client syncs it through syncMembers. Before, dsgen serve left
// it out, and DataStore retried the refused sync query and never became
// ready.
test('a transformer v1 model with queries: null syncs through its sync query', async (t) => {
  const schemaPath = path.resolve(here, '..', 'schemas', 'v1-noqueries.graphql');
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-v1nq-models-'));
  t.after(() => rmSync(modelsDir, { recursive: true, force: true }));
  const schemaModule = path.join(modelsDir, 'schema.js');
  await writeFile(schemaModule, await generate(schemaPath));

  const server = await startServer({ t, schema: schemaPath });
  const club = (await server.gql('mutation ($i: CreateClubInput!) { createClub(input: $i) { id } }', { i: { name: 'chess' } })).createClub;
  const member = (await server.gql('mutation ($i: CreateMemberInput!) { createMember(input: $i) { id } }',
    { i: { clubID: club.id, name: 'Ada' } })).createMember;

  const js = await startClient(server, { name: 'js', schemaModule, t });
  await js.call('waitRecord', { model: 'Member', id: member.id, match: { name: 'Ada', clubID: club.id, _version: 1 } });
  const { local: own } = await js.call('create', { model: 'Member', fields: { name: 'Grace', clubID: club.id }, awaitServer: true });
  const synced = await server.gql('query { syncMembers { items { id name } } }');
  assert.deepEqual(synced.syncMembers.items.map((m) => m.name).sort(), ['Ada', 'Grace']);
  assert.ok(synced.syncMembers.items.some((m) => m.id === own.id));
  assert.deepEqual((await js.call('report')).errors, [], 'the client reported no errors');
});

// Partial @model arguments under v1 replace the defaults (v2 merges them):
// Note (queries: {get: "fetchNote"}) has no listNotes but keeps its sync
// query, so the JS client syncs it, writes it and gets its changes live.
test('a transformer v1 model with a partial queries argument syncs through its sync query', async (t) => {
  const schemaPath = path.resolve(here, '..', 'schemas', 'v1-partial.graphql');
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-v1p-models-'));
  t.after(() => rmSync(modelsDir, { recursive: true, force: true }));
  const schemaModule = path.join(modelsDir, 'schema.js');
  await writeFile(schemaModule, await generate(schemaPath));

  const server = await startServer({ t, schema: schemaPath });
  const note = (await server.gql('mutation ($i: CreateNoteInput!) { createNote(input: $i) { id } }', { i: { title: 'first' } })).createNote;
  await assert.rejects(server.gql('query { listNotes { items { id } } }'), /listNotes/, 'listNotes is not in the v1 API');
  assert.equal((await server.gql('query ($id: ID!) { fetchNote(id: $id) { title } }', { id: note.id })).fetchNote.title, 'first');

  const js = await startClient(server, { name: 'js', schemaModule, t });
  await js.call('waitRecord', { model: 'Note', id: note.id, match: { title: 'first', _version: 1 } });
  const { local: own } = await js.call('create', { model: 'Note', fields: { title: 'from js' }, awaitServer: true });
  assert.equal((await server.gql('query ($id: ID!) { fetchNote(id: $id) { title } }', { id: own.id })).fetchNote.title, 'from js');
  await server.gql('mutation ($i: UpdateNoteInput!) { updateNote(input: $i) { id } }', { i: { id: note.id, title: 'edited', _version: 1 } });
  await js.call('waitRecord', { model: 'Note', id: note.id, match: { title: 'edited', _version: 2 } });
  assert.deepEqual((await js.call('report')).errors, [], 'the client reported no errors');
});

// A v1 model whose partial subscriptions argument leaves out the default
// names (Tag: subscriptions: {onCreate: ["tagAdded"]}) has no onCreateTag,
// onUpdateTag or onDeleteTag, which DataStore subscribes to whatever the
// schema says. The real client, as it would against AppSync (the same
// ValidationError): reports the refusal to its errorHandler (process
// "subscribe"), becomes ready, syncs and writes every model, but its
// subscription processor ends on the error (amplify-js ends it on any
// subscription error but Unauthorized and OperationDisabled) and DataStore
// closes its real-time connection: no model, Note included, gets changes
// live; they arrive with the next sync.
test('a transformer v1 model without its default subscriptions syncs, but DataStore then has no live changes for any model', async (t) => {
  const schemaPath = path.resolve(here, '..', 'schemas', 'v1-partial-subscriptions.graphql');
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-v1ps-models-'));
  t.after(() => rmSync(modelsDir, { recursive: true, force: true }));
  const schemaModule = path.join(modelsDir, 'schema.js');
  await writeFile(schemaModule, await generate(schemaPath));

  const server = await startServer({ t, schema: schemaPath });
  const tag = (await server.gql('mutation ($i: CreateTagInput!) { createTag(input: $i) { id } }', { i: { label: 'red' } })).createTag;
  const note = (await server.gql('mutation ($i: CreateNoteInput!) { createNote(input: $i) { id } }', { i: { title: 'first' } })).createNote;
  await assert.rejects(server.gql('subscription { onCreateTag { id } }'), /onCreateTag/);

  const js = await startClient(server, { name: 'js', schemaModule, t });
  await js.call('waitRecord', { model: 'Tag', id: tag.id, match: { label: 'red', _version: 1 } });
  await js.call('waitRecord', { model: 'Note', id: note.id, match: { title: 'first', _version: 1 } });
  const { errors } = await js.call('report');
  assert.ok(errors.length > 0, 'DataStore reports the refused Tag subscription');
  for (const e of errors) {
    assert.equal(e.process, 'subscribe', `only a subscription failed: ${JSON.stringify(e)}`);
    assert.match(e.message, /on(Create|Update|Delete)Tag/, `only Tag's subscriptions failed: ${e.message}`);
  }

  // DataStore closes its real-time connection and subscribes to nothing.
  const metricsURL = server.endpoint.replace(/\/graphql$/, '/metrics');
  const realtime = async () => {
    const text = await (await fetch(metricsURL)).text();
    const value = (name) => Number(text.match(new RegExp(`^${name} (\\d+)$`, 'm'))?.[1]);
    return { connections: value('dsgen_realtime_connections'), subscriptions: value('dsgen_realtime_subscriptions') };
  };
  const deadline = Date.now() + 120_000; // hang guard
  let rt = await realtime();
  while (rt.connections !== 0 || rt.subscriptions !== 0) {
    assert.ok(Date.now() < deadline, `DataStore kept a real-time connection: ${JSON.stringify(rt)}`);
    await new Promise((r) => setTimeout(r, 100));
    rt = await realtime();
  }
  assert.equal((await js.call('report')).socketsOpened.length, 1, 'DataStore did not reconnect');

  // Writes still reach the server.
  const { local: own } = await js.call('create', { model: 'Tag', fields: { label: 'blue' }, awaitServer: true });
  const synced = await server.gql('query { syncTags { items { id label } } }');
  assert.equal(synced.syncTags.items.find((x) => x.id === own.id)?.label, 'blue');
});
