// The unmodified Amplify DataStore client in AWS_LAMBDA mode (default auth
// mode lambda, its token from DataStore's functionAuthProvider) against
// `dsgen serve --auth-webhook`: the Lambda authorizer is a small HTTP
// service of the test's own, answering as the Lambda would. Two devices
// with an accepted token sync a model open to `allow: custom` and see each
// other's writes live; a device whose token the authorizer answers with
// deniedFields syncs the records with those fields null.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { generate } from '../gen-models.mjs';
import { startClient, startServer } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CUSTOM_SCHEMA = path.resolve(here, '..', 'schemas', 'custom.graphql');
const NOTE_FIELDS = 'id content secret _version _deleted _lastChangedAt';

/** startAuthorizer runs the Lambda authorizer webhook on loopback, recording the events it gets. */
async function startAuthorizer(t) {
  const events = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const ev = JSON.parse(body);
      events.push(ev);
      let answer = { isAuthorized: false };
      if (ev.authorizationToken === 'device-token') answer = { isAuthorized: true, resolverContext: { tenant: 't1' } };
      if (ev.authorizationToken === 'redacted-token') answer = { isAuthorized: true, deniedFields: ['Note.secret'] };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => srv.close(resolve)));
  return { url: `http://127.0.0.1:${srv.address().port}/authorize`, events };
}

test('DataStore in AWS_LAMBDA mode syncs through the Lambda authorizer webhook', async (t) => {
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-lambda-models-'));
  t.after(() => rmSync(modelsDir, { recursive: true, force: true }));
  const schemaModule = path.join(modelsDir, 'schema.js');
  await writeFile(schemaModule, await generate(CUSTOM_SCHEMA));

  const hook = await startAuthorizer(t);
  const server = await startServer({ t, schema: CUSTOM_SCHEMA, extraArgs: ['--auth-webhook', hook.url] });
  const asDevice = { authorization: 'device-token' };

  const phone = await startClient(server, { name: 'phone', schemaModule, lambdaToken: 'device-token', t });
  const laptop = await startClient(server, { name: 'laptop', schemaModule, lambdaToken: 'device-token', t });
  await laptop.call('observe', { model: 'Note' });

  const { local: note } = await phone.call('create', {
    model: 'Note', fields: { content: 'from the phone', secret: 'psst' }, awaitServer: true,
  });
  const getNote = async (id) => (await server.gql(`query ($id: ID!) { getNote(id: $id) { ${NOTE_FIELDS} } }`, { id }, asDevice)).getNote;
  assert.equal((await getNote(note.id))?.secret, 'psst');

  // The laptop synced before the note existed: its subscription, over the
  // real-time connection the authorizer accepted, brings it.
  await laptop.waitObserved(`INSERT of Note ${note.id}`,
    (e) => e.model === 'Note' && e.opType === 'INSERT' && e.element.id === note.id);
  await laptop.call('waitRecord', { model: 'Note', id: note.id, match: { content: 'from the phone', secret: 'psst', _version: 1 } });
  await laptop.call('update', { model: 'Note', id: note.id, fields: { content: 'edited on the laptop' }, awaitServer: true });
  await phone.call('waitRecord', { model: 'Note', id: note.id, match: { content: 'edited on the laptop', _version: 2 } });

  // deniedFields: a device whose token denies Note.secret syncs the note
  // without it.
  const kiosk = await startClient(server, { name: 'kiosk', schemaModule, lambdaToken: 'redacted-token', t });
  await kiosk.call('waitRecord', { model: 'Note', id: note.id, match: { content: 'edited on the laptop', secret: null } });

  // A token the authorizer refuses: 401 UnauthorizedException.
  await assert.rejects(server.gql('query { syncNotes { items { id } } }', {}, { authorization: 'stolen' }),
    (e) => JSON.stringify(e.body ?? e.message).includes('UnauthorizedException'));

  // Every event is AppSync's shape; the queries DataStore sent came with
  // their document.
  for (const ev of hook.events) {
    assert.equal(typeof ev.requestContext?.apiId, 'string');
    assert.equal(typeof ev.requestContext?.requestId, 'string');
    assert.ok('queryString' in ev.requestContext && 'variables' in ev.requestContext);
  }
  assert.ok(hook.events.some((ev) => ev.requestContext.queryString.includes('syncNotes')), 'a sync query reached the authorizer');
  // Decisions are cached per token (5 min): one call per token.
  const perToken = {};
  for (const ev of hook.events) perToken[ev.authorizationToken] = (perToken[ev.authorizationToken] ?? 0) + 1;
  assert.deepEqual(perToken, { 'device-token': 1, 'redacted-token': 1, stolen: 1 });

  for (const [name, c] of [['phone', phone], ['laptop', laptop], ['kiosk', kiosk]]) {
    const report = await c.call('report');
    assert.deepEqual(report.errors, [], `${name} reported no sync errors`);
    assert.ok(report.hubEvents.some((e) => e.event === 'subscriptionsEstablished'), `${name} established its subscriptions`);
  }
});
