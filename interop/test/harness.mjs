// harness.mjs starts the parts of an interop test as real processes: a
// `dsgen serve` on 127.0.0.1 and Amplify DataStore clients (client-proc.mjs),
// plus a direct GraphQL caller for seeding and checking the server.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { signRequest } from '@aws-amplify/core/internals/aws-client-utils';

const here = path.dirname(fileURLToPath(import.meta.url));
const interopDir = path.resolve(here, '..');
const repoRoot = path.resolve(interopDir, '..');

/** The blog schema the generated JS models describe. */
export const BLOG_SCHEMA = path.join(repoRoot, 'examples', 'blog', 'schema.graphql');
/** API key every test server accepts. */
export const API_KEY = 'da2-test';
/**
 * Bound of every wait in the tests, in milliseconds: a hang guard, minutes
 * long so that a loaded machine never fails a wait by being slow.
 */
export const WAIT_MS = 120_000;

/** GraphQL selection of every Post field the checks read. */
export const POST_FIELDS = 'id title rating status blogPostsId createdAt updatedAt _version _deleted _lastChangedAt';
/** GraphQL selection of every Blog field the checks read. */
export const BLOG_FIELDS = 'id name createdAt updatedAt _version _deleted _lastChangedAt';

let builtBin;

// Child processes still running when this test process exits (a crash, an
// aborted run) are killed, so no server or client outlives the suite.
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function track(proc) {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

/**
 * dsgenBin returns the dsgen binary: $DSGEN_BIN, else one built once per test
 * process with `go build` from the repository root.
 */
export function dsgenBin() {
  if (process.env.DSGEN_BIN) return process.env.DSGEN_BIN;
  if (builtBin) return builtBin;
  const dir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-bin-'));
  const bin = path.join(dir, 'dsgen');
  try {
    execFileSync('go', ['build', '-o', bin, './cmd/dsgen'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    throw new Error(`building dsgen (go build ./cmd/dsgen in ${repoRoot}) failed: ${err.message}`, { cause: err });
  }
  builtBin = bin;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return bin;
}

/**
 * Server is a running `dsgen serve` process.
 * @typedef {object} Server
 * @property {string} addr host:port bound
 * @property {string} endpoint plain-HTTP GraphQL URL the clients are configured with
 * @property {string} devCert path of the dev TLS certificate (PEM)
 * @property {() => string} logs everything the server wrote on stderr so far
 * @property {(query: string, variables?: object, auth?: object) => Promise<any>} gql
 * @property {() => Promise<void>} stop
 */

/**
 * startServer runs `dsgen serve` in memory (or on the data directory data,
 * or the PostgreSQL database store) on a free loopback port with dev TLS, and
 * resolves once its "listening" log line is out.
 * @param {{conflictDefault?: string, schema?: string, extraArgs?: string[], data?: string, store?: string, t?: import('node:test').TestContext}} opts
 *   store: a postgres:// URL served with --store instead of --in-memory
 * @returns {Promise<Server>}
 */
export async function startServer({ conflictDefault, schema = BLOG_SCHEMA, extraArgs = [], data, store, t } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-'));
  const args = [
    'serve', '--schema', schema, ...(store ? ['--store', store] : data ? ['--data', data] : ['--in-memory']), '--addr', '127.0.0.1:0',
    '--dev-tls', '--dev-tls-dir', dir, '--api-key', API_KEY,
    ...(conflictDefault ? ['--conflict-default', conflictDefault] : []),
    ...extraArgs,
  ];
  const bin = dsgenBin();
  const proc = track(spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));

  const listening = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`timed out after ${WAIT_MS} ms waiting for dsgen serve's "listening" log line; stderr:\n${stderr}`));
    }, WAIT_MS);
    const rl = createInterface({ input: proc.stderr });
    rl.on('line', (line) => {
      stderr += `${line}\n`;
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      if (rec.msg === 'listening') {
        clearTimeout(timer);
        resolve(rec);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${bin} ${args.join(' ')} exited (code ${code}, signal ${signal}) before listening; stderr:\n${stderr}`));
    });
  });
  for (const f of ['addr', 'devCert']) {
    if (!listening[f]) throw new Error(`dsgen serve's listening line lacks "${f}": ${JSON.stringify(listening)}`);
  }
  if (!existsSync(listening.devCert)) throw new Error(`dev certificate ${listening.devCert} does not exist`);

  // The client is configured with plain HTTP; Amplify derives
  // wss://addr/graphql/realtime from it, served on the same port via TLS.
  const endpoint = `http://${listening.addr}/graphql`;
  const server = {
    addr: listening.addr,
    endpoint,
    devCert: listening.devCert,
    listening,
    logs: () => stderr,
    gql: (query, variables, auth) => gql(endpoint, query, variables, auth),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  t?.after(() => server.stop());
  return server;
}

/**
 * GraphQLError is a GraphQL response that carried errors.
 */
export class GraphQLError extends Error {
  /** @param {string} query @param {any} body */
  constructor(query, body) {
    super(`GraphQL errors for ${query.replace(/\s+/g, ' ').slice(0, 120)}: ${JSON.stringify(body.errors)}`);
    this.name = 'GraphQLError';
    this.body = body;
  }
}

/**
 * gql POSTs one GraphQL operation with the API key (or the given auth
 * headers, e.g. {authorization: jwt}), the way the Amplify client does, and
 * returns `data`; a response with errors throws GraphQLError.
 */
export async function gql(endpoint, query, variables = {}, auth = { 'x-api-key': API_KEY }) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=UTF-8', ...auth },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`POST ${endpoint}: HTTP ${res.status}, not JSON: ${text.slice(0, 500)}`);
  }
  if (body.errors?.length) throw new GraphQLError(query, body);
  if (!res.ok) throw new Error(`POST ${endpoint}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  return body.data;
}

/**
 * iamCredentials turns an entry of dsgen serve's --iam-credentials file
 * into the credentials Amplify signs with.
 */
export function iamCredentials({ accessKeyId, secretAccessKey, sessionToken }) {
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/**
 * signedGql POSTs a GraphQL operation signed by Amplify's own SigV4 signer
 * (the one its GraphQL client uses) with the credentials of entry c,
 * returning the HTTP status and the parsed body.
 */
export async function signedGql(endpoint, c, query, variables = {}) {
  const body = JSON.stringify({ query, variables });
  const signed = signRequest(
    { url: new URL(endpoint), method: 'POST', headers: { 'content-type': 'application/json; charset=UTF-8' }, body },
    { credentials: iamCredentials(c), signingRegion: 'us-east-1', signingService: 'appsync' },
  );
  const res = await fetch(endpoint, { method: 'POST', headers: signed.headers, body, signal: AbortSignal.timeout(WAIT_MS) });
  return { status: res.status, body: await res.json() };
}

/**
 * ClientProc is an Amplify DataStore client running in its own process.
 */
export class ClientProc {
  /** @type {any[]} observe events streamed by the client */
  observed = [];
  #proc;
  #nextId = 1;
  #pending = new Map();
  #stderr = '';
  #eventWaiters = new Set();
  #exited;

  /** @param {string} name label used in error messages */
  constructor(name) {
    this.name = name;
    this.#proc = track(spawn(process.execPath, [path.join(interopDir, 'client-proc.mjs')], {
      cwd: interopDir,
      stdio: ['pipe', 'pipe', 'pipe'],
    }));
    this.#exited = new Promise((resolve) => this.#proc.once('exit', (code, signal) => {
      for (const { reject } of this.#pending.values()) {
        reject(new Error(`client ${name} exited (code ${code}, signal ${signal}); stderr:\n${this.#stderr}`));
      }
      this.#pending.clear();
      resolve();
    }));
    this.#proc.stderr.on('data', (b) => { this.#stderr += b; });
    createInterface({ input: this.#proc.stdout }).on('line', (line) => this.#onLine(line));
  }

  #onLine(line) {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      this.#stderr += `[stdout, not JSON] ${line}\n`;
      return;
    }
    if (msg.event) {
      this.observed.push(msg);
      for (const w of this.#eventWaiters) w();
      return;
    }
    const p = this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(`client ${this.name}: ${p.op}: ${msg.error.message}\n` +
      `--- client ${this.name} stderr (tail) ---\n${this.#stderr.slice(-3000)}`));
  }

  /**
   * call runs one client-proc op and resolves with its result.
   * @param {string} op @param {object} [args]
   */
  call(op, args = {}) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, op });
      this.#proc.stdin.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /**
   * waitObserved resolves with the first observe event satisfying pred,
   * bounded by WAIT_MS.
   * @param {string} what @param {(e: any) => boolean} pred
   */
  waitObserved(what, pred) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.observed.find(pred);
        if (!hit) return false;
        done();
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`client ${this.name}: timed out after ${WAIT_MS} ms waiting for observe event: ${what}; ` +
          `seen: ${JSON.stringify(this.observed.map((e) => [e.model, e.opType, e.element?.id]))}`));
      }, WAIT_MS);
      const done = () => {
        clearTimeout(timer);
        this.#eventWaiters.delete(check);
      };
      this.#eventWaiters.add(check);
      check();
    });
  }

  /** stderr returns what the client logged so far (Amplify's warnings, errors). */
  stderr() {
    return this.#stderr;
  }

  /** close stops DataStore and ends the process. */
  async close() {
    this.#proc.stdin.end();
    const killer = setTimeout(() => this.#proc.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(killer);
  }
}

/**
 * startClient runs a client process and starts its DataStore against server,
 * resolving when DataStore's hub reports `ready`.
 * @param {Server} server
 * @param {{name?: string, conflict?: 'default'|'discard', schemaModule?: string,
 *   userPool?: {accessToken: string, idToken: string}, lambdaToken?: string, iam?: object, multiAuth?: object, sync?: object, t?: import('node:test').TestContext}} [opts]
 *   schemaModule: generated models other than the blog's; userPool: sign the client in with these JWTs;
 *   lambdaToken: run in AWS_LAMBDA mode with this token from DataStore's functionAuthProvider;
 *   iam: run in AWS_IAM mode with these AWS credentials ({accessKeyId, secretAccessKey, sessionToken?})
 *   from Amplify's custom credentials provider;
 *   multiAuth: run in MULTI_AUTH mode ({authenticated?, unauthenticated?} AWS credentials of the
 *   identity pool's roles; with userPool the client is signed in, without it a guest);
 *   sync: DataStore's sync options, sync.pageSize (syncPageSize), sync.maxRecords (maxRecordsToSync)
 *   and sync.expressions (syncExpressions, each a model and a client.mjs SyncCondition, e.g.
 *   [{model: 'Post', where: {field: 'rating', op: 'gt', value: 3}}])
 */
export async function startClient(server, { name = 'A', conflict = 'default', schemaModule, userPool, lambdaToken, iam, multiAuth, sync = {}, t } = {}) {
  const c = new ClientProc(name);
  t?.after(async () => {
    if (process.env.INTEROP_DEBUG) {
      process.stderr.write(`--- client ${name} stderr ---\n${c.stderr()}\n`);
    }
    await c.close();
  });
  await c.call('start', {
    endpoint: server.endpoint,
    apiKey: API_KEY,
    caFile: server.devCert,
    conflict,
    schemaModule,
    userPool,
    lambdaToken,
    iam,
    multiAuth,
    sync,
    timeoutMs: WAIT_MS,
  });
  return c;
}

/**
 * signHS256 mints a JWT signed with HMAC-SHA256, as `dsgen serve --jwt-hs256-secret` accepts.
 * @param {string} secret @param {object} claims
 */
export function signHS256(secret, claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const signed = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}

/**
 * cognitoTokens mints the access and id tokens Cognito would issue to user
 * (sub "<user>-sub"), valid for an hour: the access token carries
 * `username`, the id token `cognito:username`.
 * @param {string} secret @param {string} user
 */
export function cognitoTokens(secret, user) {
  const now = Math.floor(Date.now() / 1000);
  const common = { sub: `${user}-sub`, iat: now, exp: now + 3600, iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_dsgen' };
  return {
    accessToken: signHS256(secret, { ...common, token_use: 'access', client_id: 'dsgen-interop', username: user }),
    idToken: signHS256(secret, { ...common, token_use: 'id', aud: 'dsgen-interop', 'cognito:username': user, email: `${user}@example.test` }),
  };
}

/** pick returns the listed keys of o (missing ones as undefined). */
export function pick(o, keys) {
  return Object.fromEntries(keys.map((k) => [k, o?.[k]]));
}

let builtGoClient;

/**
 * goClientBin returns the Go sync client program
 * (runtime/syncengine/testdata/client): $GOCLIENT_BIN, else one built once
 * per test process with `go build` from the repository root.
 */
export function goClientBin() {
  if (process.env.GOCLIENT_BIN) return process.env.GOCLIENT_BIN;
  if (builtGoClient) return builtGoClient;
  const dir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-goclient-'));
  const bin = path.join(dir, 'goclient');
  try {
    execFileSync('go', ['build', '-o', bin, './runtime/syncengine/testdata/client'],
      { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    throw new Error(`building the Go client (go build ./runtime/syncengine/testdata/client in ${repoRoot}) failed: ${err.message}`,
      { cause: err });
  }
  builtGoClient = bin;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return bin;
}

/**
 * GoClientProc is dsgen's Go sync engine over a blog store on disk, running
 * as its own process (the Go client program) and driven by JSON lines: each
 * command carries a `req` number that its one-line answer echoes.
 */
export class GoClientProc {
  #proc;
  #dir;
  #nextReq = 1;
  #pending = new Map();
  #stderr = '';
  #exited;
  #ready;
  #resolveReady = () => {};
  #rejectReady = () => {};

  /**
   * @param {string} name label used in error messages
   * @param {Server} server the server to sync with, over plain HTTP and ws://
   */
  constructor(name, server, { bin = goClientBin(), extraArgs = [] } = {}) {
    this.name = name;
    this.#dir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-go-'));
    // -v: the engine's log goes to stderr, which failure messages quote.
    const args = [...extraArgs, '-dir', this.#dir, '-url', server.endpoint, '-key', API_KEY, '-v'];
    this.#proc = track(spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    this.#proc.stdin.on('error', () => {}); // a dead process is reported through exit
    let readyTimer;
    this.#ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
      readyTimer = setTimeout(() => reject(new Error(
        `Go client ${name}: timed out after ${WAIT_MS} ms waiting for {"ready":true} (its first sync); stderr:\n${this.#stderr}`)), WAIT_MS);
    }).finally(() => clearTimeout(readyTimer));
    this.#ready.catch(() => {}); // awaited by ready()
    this.#exited = new Promise((resolve) => this.#proc.once('exit', (code, signal) => {
      const err = new Error(`Go client ${name} exited (code ${code}, signal ${signal}); stderr:\n${this.#stderr}`);
      for (const { reject } of this.#pending.values()) reject(err);
      this.#pending.clear();
      this.#rejectReady(err);
      resolve();
    }));
    this.#proc.stderr.on('data', (b) => { this.#stderr += b; });
    createInterface({ input: this.#proc.stdout }).on('line', (line) => this.#onLine(line));
  }

  #onLine(line) {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      this.#stderr += `[stdout, not JSON] ${line}\n`;
      return;
    }
    if (msg.ready === true && msg.req === undefined) {
      this.#resolveReady();
      return;
    }
    const p = this.#pending.get(msg.req);
    if (!p) {
      this.#stderr += `[stdout, unexpected] ${line}\n`;
      return;
    }
    this.#pending.delete(msg.req);
    clearTimeout(p.timer);
    if (msg.error !== undefined) p.reject(new Error(`Go client ${this.name}: ${p.op}: ${msg.error}`));
    else p.resolve(msg);
  }

  /** ready resolves when the engine's first sync is done. */
  ready() {
    return this.#ready;
  }

  /**
   * call sends one command ({op, ...args}) and resolves with its answer,
   * rejecting on an {"error"} answer, an exit, or after WAIT_MS.
   * @param {string} op @param {object} [args]
   */
  call(op, args = {}) {
    const req = this.#nextReq++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(req);
        reject(new Error(`Go client ${this.name}: timed out after ${WAIT_MS} ms waiting for the answer to ${op} ` +
          `${JSON.stringify(args)}; stderr:\n${this.#stderr.slice(-3000)}`));
      }, WAIT_MS);
      this.#pending.set(req, { resolve, reject, op, timer });
      this.#proc.stdin.write(`${JSON.stringify({ ...args, op, req })}\n`);
    });
  }

  /** save creates or updates post id with fields (title, rating, status, blogPostsId). */
  async save(id, fields) {
    await this.call('save', { id, ...fields });
  }

  /** delete deletes post id locally. */
  async delete(id) {
    await this.call('delete', { id });
  }

  /** get returns the local post id with its sync metadata, or null. */
  async get(id) {
    return (await this.call('get', { id })).post;
  }

  /** list returns the local posts, ordered by id. */
  async list() {
    return (await this.call('list')).posts;
  }

  /** outbox returns {outbox, deadLetters}: mutations waiting and refused for good. */
  async outbox() {
    const { outbox, deadLetters } = await this.call('outbox');
    return { outbox, deadLetters };
  }

  /**
   * report returns what the engine reported so far: {syncsStarted, synced:
   * [{model, full, delta, items}], conflicts: [{model, op, resolution}],
   * failed: [{model, op, error}]}.
   */
  async report() {
    const { req, ...rep } = await this.call('report');
    return rep;
  }

  /**
   * waitReport polls report() (bounded by WAIT_MS) until pred holds of it:
   * events reach the record a moment after the work they report.
   * @param {string} what @param {(r: any) => boolean} pred
   */
  async waitReport(what, pred) {
    return this.#poll(what, () => this.report(), pred);
  }

  /** offline stops the engine: the socket closes, local writes queue. */
  async offline() {
    await this.call('stop');
  }

  /** online starts the engine again and resolves once its start sequence is done. */
  async online() {
    await this.call('start');
  }

  /**
   * waitPost polls the local post id (every 50 ms, bounded by WAIT_MS) until
   * every key of match equals it, or until it is absent; resolves with it.
   * @param {string} id @param {{match?: object, absent?: boolean}} want
   */
  async waitPost(id, { match = {}, absent = false } = {}) {
    const what = absent ? `post ${id} to be absent` : `post ${id} to match ${JSON.stringify(match)}`;
    return this.#poll(what, () => this.get(id), (p) => (absent ? p === null
      : p !== null && Object.entries(match).every(([k, v]) => JSON.stringify(p[k]) === JSON.stringify(v))));
  }

  /** waitOutboxEmpty polls until the outbox holds no mutation (bounded by WAIT_MS). */
  async waitOutboxEmpty() {
    return this.#poll('an empty outbox', () => this.outbox(), (o) => o.outbox === 0);
  }

  async #poll(what, get, ok) {
    const deadline = Date.now() + WAIT_MS;
    let last;
    while (true) {
      last = await get();
      if (ok(last)) return last;
      if (Date.now() >= deadline) {
        throw new Error(`Go client ${this.name}: timed out after ${WAIT_MS} ms waiting for ${what}; ` +
          `last seen: ${JSON.stringify(last)}; stderr:\n${this.#stderr.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * waitRecord (record client only) polls the local record of model with
   * the given key until every key of match equals it (compared as JSON), or
   * until it is absent; resolves with it.
   * @param {string} model @param {any[]} key @param {{match?: object, absent?: boolean}} want
   */
  async waitRecord(model, key, { match = {}, absent = false } = {}) {
    const what = absent ? `${model} ${key} to be absent` : `${model} ${key} to match ${JSON.stringify(match)}`;
    return this.#poll(what, async () => (await this.call('get', { model, key })).record,
      (r) => (absent ? r === null
        : r !== null && Object.entries(match).every(([k, v]) => JSON.stringify(r[k]) === JSON.stringify(v))));
  }

  /** stderr returns what the Go client logged so far. */
  stderr() {
    return this.#stderr;
  }

  /** close ends the program (stdin closed: it stops its engine) and removes its store. */
  async close() {
    this.#proc.stdin.end();
    const killer = setTimeout(() => this.#proc.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(killer);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

let builtRecordClient;

/**
 * recordClientBin returns the Go record client program
 * (runtime/syncengine/testdata/recordclient: a generated package other than
 * the blog's, chosen with -schema), built once per test process.
 */
export function recordClientBin() {
  if (builtRecordClient) return builtRecordClient;
  const dir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-recordclient-'));
  const bin = path.join(dir, 'recordclient');
  try {
    execFileSync('go', ['build', '-o', bin, './runtime/syncengine/testdata/recordclient'],
      { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    throw new Error(`building the Go record client (go build ./runtime/syncengine/testdata/recordclient in ${repoRoot}) failed: ${err.message}`,
      { cause: err });
  }
  builtRecordClient = bin;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return bin;
}

/**
 * startRecordClient runs the Go record client over the generated package
 * named by schema ("shapes": golden/data-shapes, "v1blog": golden/v1-blog)
 * and resolves once its first sync is done. Drive it with call('save' |
 * 'get' | 'delete' | 'outbox' | 'report', ...) and waitRecord.
 * @param {Server} server
 * @param {{schema: string, name?: string, t?: import('node:test').TestContext}} opts
 */
export async function startRecordClient(server, { schema, name = 'Go', t }) {
  const c = new GoClientProc(name, server, { bin: recordClientBin(), extraArgs: ['-schema', schema] });
  t?.after(async () => {
    if (process.env.INTEROP_DEBUG) process.stderr.write(`--- Go client ${name} stderr ---\n${c.stderr()}\n`);
    await c.close();
  });
  await c.ready();
  return c;
}

/**
 * startGoClient runs the Go client against server and resolves once its
 * first sync is done.
 * @param {Server} server
 * @param {{name?: string, t?: import('node:test').TestContext}} [opts]
 */
export async function startGoClient(server, { name = 'Go', t } = {}) {
  const c = new GoClientProc(name, server);
  t?.after(async () => {
    if (process.env.INTEROP_DEBUG) process.stderr.write(`--- Go client ${name} stderr ---\n${c.stderr()}\n`);
    await c.close();
  });
  await c.ready();
  return c;
}
