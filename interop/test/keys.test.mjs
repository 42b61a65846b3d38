// Composite primary keys (@primaryKey with sortKeyFields) and a secondary
// index with a queryField, synced between the unmodified Amplify DataStore
// client and dsgen's Go client (the record client over golden/composite-keys)
// through dsgen serve. Records that share a partition key and differ in their
// sort key are distinct records everywhere.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { generate } from '../gen-models.mjs';
import { startClient, startRecordClient, startServer } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const KEYS_SCHEMA = path.resolve(here, '..', 'schemas', 'keys.graphql');
const TASK_FIELDS = 'taskId dueOn priority title projectTasksProjectId projectTasksName _version _deleted';

test('composite primary keys and an @index queryField, JS and Go clients', async (t) => {
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-keys-models-'));
  t.after(() => rmSync(modelsDir, { recursive: true, force: true }));
  const schemaModule = path.join(modelsDir, 'schema.js');
  await writeFile(schemaModule, await generate(KEYS_SCHEMA));

  const server = await startServer({ t, schema: KEYS_SCHEMA });
  // Seeded before either client starts: both get it by their base sync.
  await server.gql('mutation ($i: CreateReadingInput!) { createReading(input: $i) { sensor } }',
    { i: { sensor: 's1', takenAt: '2026-01-01T00:00:00.000Z', value: 1.5 } });
  const js = await startClient(server, { name: 'js', schemaModule, t });
  const go = await startRecordClient(server, { schema: 'keys', name: 'go', t });
  await js.call('waitRecord', { model: 'Reading', id: { sensor: 's1', takenAt: '2026-01-01T00:00:00.000Z' }, match: { value: 1.5, _version: 1 } });
  await go.waitRecord('Reading', ['s1', '2026-01-01T00:00:00.000Z'], { match: { value: 1.5, _version: 1 } });

  // JS: a project and two tasks with the same taskId, told apart by their
  // sort key fields (dueOn, priority).
  const pKey = { projectId: 'p1', name: 'Apollo' };
  const { server: project } = await js.call('create', { model: 'Project', fields: pKey, awaitServer: true });
  assert.equal(project._version, 1);
  const link = { project: { model: 'Project', id: pKey } };
  const t1 = { taskId: 't', dueOn: '2026-03-01', priority: 1 };
  const t2 = { taskId: 't', dueOn: '2026-03-01', priority: 2 };
  const { server: s1 } = await js.call('create', { model: 'Task', fields: { ...t1, title: 'launch' }, links: link, awaitServer: true });
  const { server: s2 } = await js.call('create', { model: 'Task', fields: { ...t2, title: 'land' }, links: link, awaitServer: true });
  assert.deepEqual([s1._version, s2._version], [1, 1]);
  const getTask = async (k) => (await server.gql(
    `query ($t: ID!, $d: AWSDate!, $p: Int!) { getTask(taskId: $t, dueOn: $d, priority: $p) { ${TASK_FIELDS} } }`,
    { t: k.taskId, d: k.dueOn, p: k.priority })).getTask;
  assert.deepEqual(await getTask(t2), {
    ...t2, title: 'land', projectTasksProjectId: 'p1', projectTasksName: 'Apollo', _version: 1, _deleted: null,
  }, 'the server holds the second task under its own key, with the project foreign key');

  // Go receives both, each under its own key, with the project link.
  await go.waitRecord('Task', ['t', '2026-03-01', 1], { match: { title: 'launch', projectTasksProjectId: 'p1', projectTasksName: 'Apollo' } });
  await go.waitRecord('Task', ['t', '2026-03-01', 2], { match: { title: 'land', projectTasksProjectId: 'p1', projectTasksName: 'Apollo' } });
  await go.waitRecord('Project', ['p1', 'Apollo'], { match: { _version: 1 } });

  // Go: a project with the same projectId and another name (another record),
  // a team it links with a composite foreign key, and a third task.
  await go.call('save', { model: 'Team', key: ['tm', 'Blue'], record: { teamId: 'tm', name: 'Blue' } });
  await go.call('save', { model: 'Project', key: ['p1', 'Gemini'],
    record: { projectId: 'p1', name: 'Gemini', projectTeamTeamId: 'tm', projectTeamName: 'Blue' } });
  await go.call('save', { model: 'Task', key: ['t', '2026-03-02', 1],
    record: { taskId: 't', dueOn: '2026-03-02', priority: 1, title: 'launch', projectTasksProjectId: 'p1', projectTasksName: 'Gemini' } });
  const gemini = { projectId: 'p1', name: 'Gemini' };
  await js.call('waitRecord', { model: 'Project', id: gemini, match: { projectTeamTeamId: 'tm', projectTeamName: 'Blue', _version: 1 } });
  await js.call('waitRecord', { model: 'Task', id: { taskId: 't', dueOn: '2026-03-02', priority: 1 }, match: { title: 'launch', _version: 1 } });
  await js.call('waitRecord', { model: 'Project', id: pKey, match: { _version: 1 } });
  await js.call('waitRecord', { model: 'Team', id: { teamId: 'tm', name: 'Blue' }, match: { _version: 1 } });
  assert.equal((await js.call('relation', { model: 'Project', id: gemini, field: 'team' }))?.name, 'Blue',
    "JS resolves the Go project's team by its composite foreign key");
  const apolloTasks = await js.call('relation', { model: 'Project', id: pKey, field: 'tasks' });
  assert.deepEqual(apolloTasks.map((x) => x.priority).sort(), [1, 2], 'JS lists the Apollo tasks only, not the Gemini one');
  const geminiTasks = await js.call('relation', { model: 'Project', id: gemini, field: 'tasks' });
  assert.deepEqual(geminiTasks.map((x) => x.dueOn), ['2026-03-02']);

  // The index's query field answers tasks by title, sorted by dueOn, from
  // both clients' writes.
  const byTitle = await server.gql(
    'query ($t: String!) { tasksByTitle(title: $t, sortDirection: DESC) { items { taskId dueOn priority } } }', { t: 'launch' });
  assert.deepEqual(byTitle.tasksByTitle.items, [
    { taskId: 't', dueOn: '2026-03-02', priority: 1 }, { taskId: 't', dueOn: '2026-03-01', priority: 1 },
  ]);
  const ranged = await server.gql(
    'query ($t: String!) { tasksByTitle(title: $t, dueOn: { lt: "2026-03-02" }) { items { dueOn } } }', { t: 'launch' });
  assert.deepEqual(ranged.tasksByTitle.items, [{ dueOn: '2026-03-01' }]);

  // Updates and deletes each way, by composite key: only the addressed
  // record changes.
  await js.call('update', { model: 'Task', id: { taskId: 't', dueOn: '2026-03-02', priority: 1 }, fields: { title: 'scrubbed' }, awaitServer: true });
  await go.waitRecord('Task', ['t', '2026-03-02', 1], { match: { title: 'scrubbed', _version: 2 } });
  await go.call('save', { model: 'Task', key: ['t', '2026-03-01', 2], record: { title: 'splashdown' } });
  await js.call('waitRecord', { model: 'Task', id: t2, match: { title: 'splashdown', _version: 2 } });
  await go.call('delete', { model: 'Task', key: ['t', '2026-03-01', 1] });
  await js.call('waitRecord', { model: 'Task', id: t1, absent: true });
  await js.call('delete', { model: 'Project', id: gemini, awaitServer: true });
  await go.waitRecord('Project', ['p1', 'Gemini'], { absent: true });
  await go.waitRecord('Project', ['p1', 'Apollo'], { match: { _version: 1 } });
  assert.equal((await getTask(t1))._deleted, true);
  assert.deepEqual(await js.call('get', { model: 'Task', id: t2 }).then((x) => [x.title, x._version]), ['splashdown', 2],
    'the record sharing the partition key with the deleted one is intact');

  assert.deepEqual((await go.call('report')).failed, [], 'the Go client had no refused mutation');
  assert.equal((await go.call('outbox')).deadLetters, 0);
  assert.deepEqual((await js.call('report')).errors, [], 'the JS client reported no sync errors');
});
