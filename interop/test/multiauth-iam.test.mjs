// The unmodified Amplify DataStore client in MULTI_AUTH mode
// (authModeStrategyType MULTI_AUTH) against `dsgen serve` with user pool JWTs
// (--jwt-hs256-secret) and AWS_IAM (--iam-credentials) at once, the common
// Amplify setup `@auth(rules: [{allow: owner}, {allow: public, provider: iam,
// operations: [read]}])`. A signed-in device has both the user's JWTs and the
// identity pool's authenticated credentials, as Amplify has after sign-in; a
// guest device has no JWTs and the unauthenticated role's credentials only.
// DataStore's multi-auth strategy picks userPool then iam for the owner's
// notes when signed in, iam alone for a guest: the guest base-syncs the
// owner's notes, receives the owner's writes live, and its own write is
// refused as AppSync refuses it (Unauthorized, reported to the errorHandler,
// dropped from the outbox). A private-iam model is written by the signed-in
// device with its authenticated credentials.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { generate } from '../gen-models.mjs';
import { cognitoTokens, iamCredentials, pick, signedGql, startClient, startServer } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SCHEMA = path.resolve(here, '..', 'schemas', 'multiauth-iam.graphql');
const SECRET = 'interop-multiauth-hs256-secret-0123456789';
const NOTE_FIELDS = 'id content owner _version _deleted _lastChangedAt';

// The identity pool's roles, as the operator lists them for dsgen serve.
const authRole = { accessKeyId: 'ASIAAUTHROLE', secretAccessKey: 'auth-role-secret', sessionToken: 'auth-session', role: 'authenticated' };
const unauthRole = { accessKeyId: 'ASIAUNAUTHROLE', secretAccessKey: 'unauth-role-secret', sessionToken: 'unauth-session', role: 'unauthenticated' };
const pool = { authenticated: iamCredentials(authRole), unauthenticated: iamCredentials(unauthRole) };

test('MULTI_AUTH: signed-in owners write with user pool JWTs, guests read through the unauthenticated IAM role', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-multiauth-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const schemaModule = path.join(dir, 'schema.js');
  await writeFile(schemaModule, await generate(SCHEMA));
  const credsFile = path.join(dir, 'iam-credentials.json');
  await writeFile(credsFile, JSON.stringify([authRole, unauthRole]));

  const server = await startServer({ t, schema: SCHEMA, extraArgs: ['--jwt-hs256-secret', SECRET, '--iam-credentials', credsFile] });
  const alice = cognitoTokens(SECRET, 'alice');
  const getNote = async (id) => (await server.gql(`query ($id: ID!) { getNote(id: $id) { ${NOTE_FIELDS} } }`, { id },
    { authorization: alice.accessToken })).getNote;

  const phone = await startClient(server, { name: 'alice-phone', schemaModule, userPool: alice, multiAuth: pool, t });
  const { local: first, server: firstAnswer } = await phone.call('create', {
    model: 'Note', fields: { content: 'written before the guest came' }, awaitServer: true,
  });
  // userPool is tried first for the owner rule: the server saw alice.
  assert.equal(firstAnswer.owner, 'alice-sub::alice', 'the owner device wrote with its user pool token');
  // The private-iam model goes out with the authenticated role's credentials.
  const { local: memo, server: memoAnswer } = await phone.call('create', {
    model: 'Memo', fields: { text: 'for signed-in users' }, awaitServer: true,
  });
  assert.equal(memoAnswer._version, 1);
  const signedMemo = await signedGql(server.endpoint, authRole, 'query ($id: ID!) { getMemo(id: $id) { id text } }', { id: memo.id });
  assert.equal(signedMemo.body.data?.getMemo?.text, 'for signed-in users', JSON.stringify(signedMemo.body));

  // A guest: no JWTs, the unauthenticated role only. Its base sync brings
  // the owner's note.
  const kiosk = await startClient(server, { name: 'guest-kiosk', schemaModule, multiAuth: pool, t });
  await kiosk.call('waitRecord', { model: 'Note', id: first.id, match: { content: 'written before the guest came', _version: 1 } });
  await kiosk.call('observe', { model: 'Note' });
  // Memo has no rule for guests: the strategy offers no mode, so DataStore
  // subscribes with the API's default (userPool) and no token; the server
  // refuses (Unauthorized), and Amplify's real-time provider answers any
  // Unauthorized start by closing the shared socket and reconnecting (as it
  // would on AppSync), after which DataStore syncs again. Wait for that to
  // settle so that what follows can only arrive through the subscription.
  await waitReport(kiosk, 'the guest\'s reconnection and second sync after its refused Memo subscriptions',
    (r) => r.socketsOpened.length >= 2 && r.hubEvents.filter((e) => e.event === 'syncQueriesReady').length >= 2);

  // The owner's writes reach the guest live, over its iam-signed subscription.
  const { local: second } = await phone.call('create', { model: 'Note', fields: { content: 'live to guests' }, awaitServer: true });
  await kiosk.waitObserved(`INSERT of Note ${second.id}`,
    (e) => e.model === 'Note' && e.opType === 'INSERT' && e.element.id === second.id);
  await phone.call('update', { model: 'Note', id: second.id, fields: { content: 'edited by the owner' }, awaitServer: true });
  await kiosk.waitObserved(`UPDATE of Note ${second.id}`,
    (e) => e.model === 'Note' && e.opType === 'UPDATE' && e.element.id === second.id && e.element.content === 'edited by the owner');
  await kiosk.call('waitRecord', { model: 'Note', id: second.id, match: { content: 'edited by the owner', _version: 2 } });
  await phone.call('delete', { model: 'Note', id: first.id, awaitServer: true });
  await kiosk.call('waitRecord', { model: 'Note', id: first.id, absent: true });
  const { socketEvents } = await kiosk.call('report');
  for (const [field, id] of [['onCreateNote', second.id], ['onUpdateNote', second.id], ['onDeleteNote', first.id]]) {
    assert.ok(socketEvents.some((e) => e.field === field && e.id === id), `${field} ${id} reached the guest over its socket: ${JSON.stringify(socketEvents)}`);
  }

  // The guest's own note is refused (public iam is read only): DataStore
  // tries iam, reports Unauthorized to its errorHandler (with no operation
  // name: it is only set on success) and drops the mutation from its
  // outbox; the server never stores it.
  const guestNote = await kiosk.call('create', { model: 'Note', fields: { content: 'from a guest' } });
  const refusal = (e) => e.errorType === 'Unauthorized' && e.process === 'sync' && e.model === 'Note';
  let kioskReport = await waitReport(kiosk, 'the guest\'s refused create reported to its errorHandler',
    (r) => r.errors.some(refusal));
  assert.equal(kioskReport.errors.filter(refusal).length, 1, `one refusal, not retried: ${JSON.stringify(kioskReport.errors)}`);
  // So is its edit of the owner's note; the server keeps the owner's copy.
  await kiosk.call('update', { model: 'Note', id: second.id, fields: { content: 'edited by a guest' } });
  kioskReport = await waitReport(kiosk, 'the guest\'s refused update reported to its errorHandler',
    (r) => r.errors.filter(refusal).length >= 2);
  const asGuest = await signedGql(server.endpoint, unauthRole, `query ($id: ID!) { getNote(id: $id) { ${NOTE_FIELDS} } }`, { id: guestNote.id });
  assert.equal(asGuest.status, 200, JSON.stringify(asGuest.body));
  assert.equal(asGuest.body.data.getNote, null, 'the server does not hold the guest\'s note');
  const seenByGuest = await signedGql(server.endpoint, unauthRole, `query ($id: ID!) { getNote(id: $id) { ${NOTE_FIELDS} } }`, { id: second.id });
  assert.equal(seenByGuest.body.data?.getNote?.content, 'edited by the owner', JSON.stringify(seenByGuest.body));
  assert.deepEqual(pick(await getNote(second.id), ['content', '_version']), { content: 'edited by the owner', _version: 2 });

  kioskReport = await kiosk.call('report');
  assert.equal(kioskReport.errors.filter(refusal).length, 2, 'the refused create and update were dropped, not retried');
  const phoneReport = await phone.call('report');
  assert.deepEqual(phoneReport.errors, [], 'the owner device reported no errors');
  assert.ok(phoneReport.hubEvents.some((e) => e.event === 'subscriptionsEstablished'), 'the owner device established its subscriptions');
  assert.ok(kioskReport.hubEvents.some((e) => e.event === 'subscriptionsEstablished'), 'the guest established its subscriptions');
  // Nor does the guest get any memo; its memo subscriptions were refused in
  // AppSync's words, naming the subscription field.
  assert.deepEqual(await kiosk.call('get', { model: 'Memo', id: memo.id }), null, 'the guest holds no memo');
  const memoRefusals = kioskReport.errors.filter((e) => e.process === 'subscribe' && e.model === 'Memo');
  assert.deepEqual(memoRefusals.map((e) => [e.operation, e.errorType]).sort(),
    [['Create', 'Unauthorized'], ['Delete', 'Unauthorized'], ['Update', 'Unauthorized']], JSON.stringify(kioskReport.errors));
  for (const e of memoRefusals) {
    assert.match(e.message, new RegExp(`Not Authorized to access on${e.operation}Memo on type Subscription`), e.message);
  }
  assert.deepEqual(kioskReport.errors.filter((e) => !refusal(e) && !(e.errorType === 'Unauthorized' && e.process === 'subscribe')), [],
    'the guest reported no other errors');
});

/**
 * waitReport re-reads client c's report until pred holds, every 100 ms,
 * bounded by two minutes (a hang guard): the errorHandler has no hub event.
 */
async function waitReport(c, what, pred) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await c.call('report');
    if (pred(r)) return r;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; errors: ${JSON.stringify(r.errors)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
