// The unmodified Amplify DataStore client in AWS_IAM mode (default auth mode
// iam, its AWS credentials from Amplify v6's custom credentials provider,
// where a Cognito identity pool would supply them) against `dsgen serve
// --iam-credentials`: Amplify signs every GraphQL request, the real-time
// connection and each subscription with SigV4, and the server checks those
// signatures with the credentials the operator listed. Two devices of the
// authenticated role sync and see each other's writes live; a guest device
// (the unauthenticated role) syncs the notes without their secret; a request
// signed with a wrong secret is refused.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { generate } from '../gen-models.mjs';
import { iamCredentials, signedGql, startClient, startServer } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const IAM_SCHEMA = path.resolve(here, '..', 'schemas', 'iam.graphql');
const NOTE_FIELDS = 'id content secret _version _deleted _lastChangedAt';

const gateway = { accessKeyId: 'AKIDIOTGATEWAY', secretAccessKey: 'gateway/secret+key', role: 'authenticated' };
const tablet = { accessKeyId: 'ASIATABLET', secretAccessKey: 'tablet-secret', sessionToken: 'tablet-session-token', role: 'authenticated' };
const guest = { accessKeyId: 'ASIAGUEST', secretAccessKey: 'guest-secret', sessionToken: 'guest-session-token', role: 'unauthenticated' };

test('DataStore in AWS_IAM mode syncs with SigV4-signed requests and subscriptions', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-iam-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const schemaModule = path.join(dir, 'schema.js');
  await writeFile(schemaModule, await generate(IAM_SCHEMA));
  const credsFile = path.join(dir, 'iam-credentials.json');
  await writeFile(credsFile, JSON.stringify([gateway, tablet, guest]));

  const server = await startServer({ t, schema: IAM_SCHEMA, extraArgs: ['--iam-credentials', credsFile] });
  const phone = await startClient(server, { name: 'phone', schemaModule, iam: iamCredentials(gateway), t });
  const laptop = await startClient(server, { name: 'laptop', schemaModule, iam: iamCredentials(tablet), t });
  await laptop.call('observe', { model: 'Note' });

  const { local: note } = await phone.call('create', {
    model: 'Note', fields: { content: 'from the gateway', secret: 'psst' }, awaitServer: true,
  });
  const getNote = async (id) => {
    const r = await signedGql(server.endpoint, gateway, `query ($id: ID!) { getNote(id: $id) { ${NOTE_FIELDS} } }`, { id });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data.getNote;
  };
  assert.equal((await getNote(note.id))?.secret, 'psst');

  // The laptop synced before the note existed: its subscription, over the
  // real-time connection and start message Amplify signed, brings it.
  await laptop.waitObserved(`INSERT of Note ${note.id}`,
    (e) => e.model === 'Note' && e.opType === 'INSERT' && e.element.id === note.id);
  await laptop.call('waitRecord', { model: 'Note', id: note.id, match: { content: 'from the gateway', secret: 'psst', _version: 1 } });
  await laptop.call('update', { model: 'Note', id: note.id, fields: { content: 'edited on the tablet' }, awaitServer: true });
  await phone.call('waitRecord', { model: 'Note', id: note.id, match: { content: 'edited on the tablet', _version: 2 } });
  assert.equal((await getNote(note.id))?.content, 'edited on the tablet');

  // A guest (public iam, read only) syncs the note without its secret.
  const kiosk = await startClient(server, { name: 'kiosk', schemaModule, iam: iamCredentials(guest), t });
  await kiosk.call('waitRecord', { model: 'Note', id: note.id, match: { content: 'edited on the tablet', secret: null } });

  // Amplify's signer with the right secret passes; with a wrong one the
  // server answers AppSync's 401.
  assert.equal((await signedGql(server.endpoint, tablet, 'query { syncNotes { items { id } } }')).status, 200);
  const refused = await signedGql(server.endpoint, { ...tablet, secretAccessKey: 'not-the-secret' }, 'query { syncNotes { items { id } } }');
  assert.equal(refused.status, 401, JSON.stringify(refused.body));
  assert.equal(refused.body.errors[0].errorType, 'UnauthorizedException');
  assert.match(refused.body.errors[0].message, /The request signature we calculated does not match the signature you provided/);
  assert.ok(!server.logs().includes('tablet-secret') && !server.logs().includes('gateway/secret+key'), 'the server logged no secret');

  for (const [name, c] of [['phone', phone], ['laptop', laptop], ['kiosk', kiosk]]) {
    const report = await c.call('report');
    assert.deepEqual(report.errors, [], `${name} reported no sync errors`);
    assert.ok(report.hubEvents.some((e) => e.event === 'subscriptionsEstablished'), `${name} established its subscriptions`);
  }
});
