// The unmodified Amplify DataStore client in user pool mode, signed in with
// JWTs handed out by a token provider function, against an owner-authorized
// model. dsgen serve stores owners as AppSync v2 does, "<sub>::<username>",
// while DataStore subscribes with owner: "<username>" (the id token's
// cognito:username): the subscription must still deliver the user's records,
// so a second device of the same user sees the first one's writes live.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { generate } from '../gen-models.mjs';
import { cognitoTokens, startClient, startServer } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const OWNER_SCHEMA = path.resolve(here, '..', 'schemas', 'owner.graphql');
const SECRET = 'interop-owner-hs256-secret-0123456789';
const NOTE_FIELDS = 'id content owner _version _deleted _lastChangedAt';

test("a user's second device receives the first one's writes live (owner auth, user pool JWTs)", async (t) => {
  // The JS models of the owner schema, from Amplify's own generator.
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-owner-models-'));
  t.after(() => rmSync(modelsDir, { recursive: true, force: true }));
  const schemaModule = path.join(modelsDir, 'schema.js');
  await writeFile(schemaModule, await generate(OWNER_SCHEMA));

  const server = await startServer({ t, schema: OWNER_SCHEMA, extraArgs: ['--jwt-hs256-secret', SECRET] });
  const alice = cognitoTokens(SECRET, 'alice');
  const bob = cognitoTokens(SECRET, 'bob');
  const asAlice = { authorization: alice.accessToken };

  const phone = await startClient(server, { name: 'alice-phone', schemaModule, userPool: alice, t });
  const laptop = await startClient(server, { name: 'alice-laptop', schemaModule, userPool: alice, t });
  const bobs = await startClient(server, { name: 'bob', schemaModule, userPool: bob, t });
  await laptop.call('observe', { model: 'Note' });

  // Bob writes first: were it delivered to alice's laptop, it would arrive
  // before her own note (events reach a subscription in commit order).
  const { local: bobNote } = await bobs.call('create', { model: 'Note', fields: { content: "bob's" }, awaitServer: true });

  const { local: note, server: answered } = await phone.call('create', {
    model: 'Note', fields: { content: 'from the phone' }, awaitServer: true,
  });
  assert.equal(answered.owner, 'alice-sub::alice', 'the server stored the owner as AppSync v2 does, <sub>::<username>');
  const getNote = async (id) => (await server.gql(`query ($id: ID!) { getNote(id: $id) { ${NOTE_FIELDS} } }`, { id }, asAlice)).getNote;
  assert.equal((await getNote(note.id))?.owner, 'alice-sub::alice');

  // The laptop synced before the note existed: only its subscription
  // (owner: "alice") can bring it.
  const inserted = await laptop.waitObserved(`INSERT of Note ${note.id}`,
    (e) => e.model === 'Note' && e.opType === 'INSERT' && e.element.id === note.id);
  assert.equal(inserted.element.content, 'from the phone');
  await laptop.call('waitRecord', { model: 'Note', id: note.id, match: { content: 'from the phone', _version: 1 } });

  await phone.call('update', { model: 'Note', id: note.id, fields: { content: 'edited on the phone' }, awaitServer: true });
  await laptop.waitObserved(`UPDATE of Note ${note.id}`,
    (e) => e.model === 'Note' && e.opType === 'UPDATE' && e.element.id === note.id && e.element.content === 'edited on the phone');
  await laptop.call('waitRecord', { model: 'Note', id: note.id, match: { content: 'edited on the phone', _version: 2 } });

  // And the other way round: the laptop deletes, the phone sees it.
  await phone.call('observe', { model: 'Note' });
  await laptop.call('delete', { model: 'Note', id: note.id, awaitServer: true });
  await phone.waitObserved(`DELETE of Note ${note.id}`,
    (e) => e.model === 'Note' && e.opType === 'DELETE' && e.element.id === note.id);
  await phone.call('waitRecord', { model: 'Note', id: note.id, absent: true });
  assert.equal((await getNote(note.id))?._deleted, true);

  // Nothing of bob's reached alice, and nothing of alice's reached bob.
  assert.ok(!laptop.observed.some((e) => e.element?.id === bobNote.id), "bob's note reached alice's laptop");
  assert.equal(await laptop.call('get', { model: 'Note', id: bobNote.id }), null);
  assert.equal(await bobs.call('get', { model: 'Note', id: note.id }), null, "alice's note reached bob");

  for (const [name, c] of [['alice-phone', phone], ['alice-laptop', laptop], ['bob', bobs]]) {
    const report = await c.call('report');
    assert.deepEqual(report.errors, [], `${name} reported no sync errors`);
    assert.ok(report.hubEvents.some((e) => e.event === 'subscriptionsEstablished'), `${name} established its subscriptions`);
  }
});
