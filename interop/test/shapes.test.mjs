// Null elements of nullable lists ([String], [Int], and [Color] of an enum)
// between the unmodified Amplify DataStore client and dsgen's Go client,
// through dsgen serve, both ways (issue 15): golden/data-shapes' Lists
// model, the JS models from Amplify's own generator, the Go client over the
// package dsgen generated for the same schema.
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
const SHAPES_SCHEMA = path.resolve(here, '..', '..', 'golden', 'data-shapes', 'schema.graphql');
const LIST_FIELDS = 'id colors colorsReq strings ints _version _deleted';

test('null list elements round-trip between a JS and a Go client through dsgen serve', async (t) => {
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-shapes-models-'));
  t.after(() => rmSync(modelsDir, { recursive: true, force: true }));
  const schemaModule = path.join(modelsDir, 'schema.js');
  await writeFile(schemaModule, await generate(SHAPES_SCHEMA));

  const server = await startServer({ t, schema: SHAPES_SCHEMA });
  const js = await startClient(server, { name: 'js', schemaModule, t });
  const go = await startRecordClient(server, { schema: 'shapes', name: 'go', t });
  const onServer = async (id) => (await server.gql(`query ($id: ID!) { getLists(id: $id) { ${LIST_FIELDS} } }`, { id })).getLists;

  // JS → server → Go.
  const fromJS = { colorsReq: ['BLUE'], colors: ['RED', null, 'GREEN'], strings: [null, 'a', ''], ints: [1, null, 0] };
  const { local } = await js.call('create', { model: 'Lists', fields: fromJS, awaitServer: true });
  const jsID = local.id;
  const stored = await onServer(jsID);
  for (const [k, v] of Object.entries(fromJS)) assert.deepEqual(stored[k], v, `the server holds JS's ${k}`);
  await go.waitRecord('Lists', [jsID], { match: { ...fromJS, _version: 1 } });

  // Go → server → JS.
  const fromGo = { colorsReq: ['RED'], colors: [null, 'BLUE'], strings: ['x', null], ints: [null, -7] };
  await go.call('save', { model: 'Lists', key: ['l-go'], record: { id: 'l-go', ...fromGo } });
  await js.call('waitRecord', { model: 'Lists', id: 'l-go', match: { ...fromGo, _version: 1 } });
  const storedGo = await onServer('l-go');
  for (const [k, v] of Object.entries(fromGo)) assert.deepEqual(storedGo[k], v, `the server holds Go's ${k}`);

  // Updates that move, add and keep nulls, each way.
  const goEdit = { colors: [null], ints: [null, null], strings: [null] };
  await go.call('save', { model: 'Lists', key: [jsID], record: goEdit });
  await js.call('waitRecord', { model: 'Lists', id: jsID, match: { ...goEdit, colorsReq: ['BLUE'], _version: 2 } });
  const jsEdit = { strings: [null, null, 'z'], colors: ['GREEN', null] };
  await js.call('update', { model: 'Lists', id: 'l-go', fields: jsEdit, awaitServer: true });
  await go.waitRecord('Lists', ['l-go'], { match: { ...jsEdit, ints: [null, -7], _version: 2 } });

  // Both end equal to the server, and nothing was refused anywhere.
  for (const id of [jsID, 'l-go']) {
    const s = await onServer(id);
    const g = await go.waitRecord('Lists', [id], { match: { _version: s._version } });
    const j = await js.call('get', { model: 'Lists', id });
    for (const k of ['colors', 'colorsReq', 'strings', 'ints']) {
      assert.deepEqual(g[k], s[k], `Go's ${k} of ${id} equals the server's`);
      assert.deepEqual(j[k], s[k], `JS's ${k} of ${id} equals the server's`);
    }
  }
  assert.deepEqual((await go.call('report')).failed, [], 'the Go client had no refused mutation');
  assert.deepEqual((await go.call('outbox')).deadLetters, 0);
  assert.deepEqual((await js.call('report')).errors, [], 'the JS client reported no sync errors');
});
