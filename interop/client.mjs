// client.mjs runs the unmodified Amplify JS DataStore client in Node against an
// AppSync-compatible endpoint such as `dsgen serve`, and offers the waits the
// interop tests need (hub events, an empty outbox, a query matching a shape).
//
// Amplify is a process-wide singleton: one process holds one client. Tests that
// need two clients run each in its own process (see client-proc.mjs).
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
// Both packages through CommonJS: an ESM import of one and a CJS require of the
// other yield two Amplify singletons and the config never reaches DataStore.
const { Amplify } = require('aws-amplify');
const { Hub } = require('aws-amplify/utils');
const { DataStore, initSchema, DISCARD, syncExpression, AuthModeStrategyType } = require('@aws-amplify/datastore');
const { default: IndexedDBAdapter } = require('@aws-amplify/datastore/dist/cjs/storage/adapter/IndexedDBAdapter.js');
const { WebSocket: WS } = require('ws');

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Default bound of every wait, in milliseconds: a hang guard, minutes long so
 * that a loaded machine never fails a wait by being slow.
 */
export const DEFAULT_TIMEOUT_MS = 120_000;

/**
 * TimeoutError reports a bounded wait that ran out; its message names what was awaited.
 */
export class TimeoutError extends Error {
  /** @param {string} what @param {number} ms @param {string} [detail] */
  constructor(what, ms, detail = '') {
    super(`timed out after ${ms} ms waiting for ${what}${detail ? `: ${detail}` : ''}`);
    this.name = 'TimeoutError';
  }
}

/**
 * installWebSocket puts a WebSocket class on globalThis (Node 20 has none).
 * Amplify turns a custom `http://host:port/graphql` endpoint into
 * `wss://host:port/graphql/realtime`, so the socket must speak TLS to a server
 * with a self-signed certificate: trust exactly that certificate via `ca`.
 * With trace, every message sent and received is written to it; onData gets
 * the payload of every subscription event (`data` message) received.
 * @param {{ca?: string|Buffer, onOpen?: (url: string) => void, trace?: (line: string) => void,
 *   onData?: (data: Record<string, any>) => void}} opts
 */
export function installWebSocket({ ca, onOpen, trace, onData } = {}) {
  globalThis.WebSocket = class TrustingWebSocket extends WS {
    constructor(url, protocols) {
      super(url, protocols, ca ? { ca } : {});
      if (onOpen) this.addEventListener('open', () => onOpen(String(url)));
      if (trace) this.addEventListener('message', (e) => trace(`ws< ${e.data}`));
      if (onData) {
        this.addEventListener('message', (e) => {
          let msg;
          try {
            msg = JSON.parse(String(e.data));
          } catch {
            return;
          }
          if (msg?.type === 'data' && msg.payload?.data) onData(msg.payload.data);
        });
      }
    }

    send(data, ...rest) {
      if (trace) trace(`ws> ${data}`);
      return super.send(data, ...rest);
    }
  };
}

/**
 * traceHTTP wraps globalThis.fetch so every request body and response body is
 * written to log: the record to hand over when the server misbehaves.
 * @param {(line: string) => void} log
 */
export function traceHTTP(log) {
  const inner = globalThis.fetch;
  globalThis.fetch = async (input, init = {}) => {
    const url = String(input?.url ?? input);
    log(`http> ${init.method ?? 'GET'} ${url} ${typeof init.body === 'string' ? init.body : ''}`);
    const res = await inner(input, init);
    const text = await res.clone().text();
    log(`http< ${res.status} ${text}`);
    return res;
  };
}

/**
 * Connectivity is a network switch for DataStore. DataStore's own monitor
 * follows `window` online/offline events, which do not exist in Node (it
 * reports "online" forever); the sync engine accepts any object with this
 * shape in its `connectivityMonitor` slot. Offline, the engine closes its
 * subscriptions and holds the outbox; back online it resubscribes, runs a
 * delta sync and then drains the outbox, exactly as after a real outage.
 */
export class Connectivity {
  #online = true;
  /** @type {Set<(s: {online: boolean}) => void>} */
  #listeners = new Set();

  /**
   * status is what the sync engine subscribes to: the current state at once,
   * then every change. It returns the minimal Observable shape the engine uses.
   */
  status() {
    return {
      subscribe: (observer) => {
        const next = typeof observer === 'function' ? observer : (s) => observer.next?.(s);
        this.#listeners.add(next);
        next({ online: this.#online });
        return { unsubscribe: () => this.#listeners.delete(next), closed: false };
      },
    };
  }

  /** set switches the network on or off for DataStore. @param {boolean} online */
  set(online) {
    if (online === this.#online) return;
    this.#online = online;
    for (const l of [...this.#listeners]) l({ online });
  }

  /** @returns {boolean} */
  get online() {
    return this.#online;
  }

  /** socketDisconnected is called by the engine when the websocket drops. */
  socketDisconnected() {}

  /** unsubscribe and stop end the engine's use of the monitor. */
  unsubscribe() {}

  async stop() {}
}

/**
 * loadModels generates nothing: it loads the schema metadata written by
 * gen-models.mjs and builds the model classes with DataStore's initSchema.
 * @param {string} [schemaModule] path of schema.js
 */
export async function loadModels(schemaModule = path.join(here, 'models', 'schema.js')) {
  let mod;
  try {
    mod = await import(pathToFileURL(schemaModule).href);
  } catch (err) {
    throw new Error(`loading ${schemaModule} (run "npm run gen" first): ${err.message}`, { cause: err });
  }
  return { schema: mod.schema, models: initSchema(mod.schema) };
}

/**
 * Client is one started DataStore plus the record of what it went through
 * (hub events, conflicts, errors) for the tests to inspect.
 */
export class Client {
  /** @type {Record<string, any>} */ models = {};
  /** @type {any} the generated schema metadata (schema.js) */ schema = null;
  /** @type {{event: string, data: any}[]} */ hubEvents = [];
  /** @type {any[]} */ conflicts = [];
  /** @type {any[]} */ errors = [];
  /** @type {string[]} */ socketsOpened = [];
  /** @type {{field: string, id: string}[]} every subscription event the server sent, in order */
  socketEvents = [];
  connectivity = new Connectivity();
  #hubWaiters = new Set();
  #stopHub = () => {};
  #trace;

  /** @param {{trace?: (line: string) => void}} [opts] trace: log every WebSocket message */
  constructor({ trace } = {}) {
    this.#trace = trace;
  }

  /**
   * start configures Amplify for endpoint and starts DataStore, resolving when
   * its hub reports `ready` (subscriptions up and the startup sync done).
   * @param {object} opts
   * @param {string} opts.endpoint plain-HTTP GraphQL URL, e.g. http://127.0.0.1:PORT/graphql
   * @param {string} opts.apiKey
   * @param {string} [opts.caFile] PEM of the server's (dev) certificate for the wss socket
   * @param {'default'|'discard'} [opts.conflict] conflict handler: Amplify's default
   *   (local fields with the remote _version, i.e. client wins) or DISCARD (server wins)
   * @param {string} [opts.schemaModule]
   * @param {{accessToken: string, idToken: string}} [opts.userPool] signed-in user: the API's
   *   default auth mode becomes userPool and Amplify gets these JWTs from a token provider
   *   function, as from Cognito (the access token is sent, DataStore reads the id token's claims)
   * @param {string} [opts.lambdaToken] AWS_LAMBDA mode: the API's default auth mode becomes lambda
   *   and DataStore gets this token from its functionAuthProvider (dsgen serve --auth-webhook)
   * @param {{accessKeyId: string, secretAccessKey: string, sessionToken?: string}} [opts.iam] AWS_IAM
   *   mode: the API's default auth mode becomes iam and Amplify gets these credentials from a custom
   *   credentials provider (libraryOptions.Auth.credentialsProvider), as from a Cognito identity pool
   *   (dsgen serve --iam-credentials)
   * @param {{authenticated?: object, unauthenticated?: object}} [opts.multiAuth] MULTI_AUTH mode
   *   (authModeStrategyType MULTI_AUTH, the API's default auth mode userPool): DataStore picks the
   *   auth modes per model from its rules; Amplify gets userPool's JWTs (none when signed out)
   *   and, standing in for a Cognito identity pool, the authenticated role's AWS credentials when
   *   signed in and the unauthenticated role's otherwise
   * @param {{pageSize?: number, maxRecords?: number, expressions?: {model: string, where: SyncCondition}[]}} [opts.sync]
   *   DataStore's syncPageSize, maxRecordsToSync and syncExpressions (selective sync), the
   *   latter given as data since a test drives the client over JSON lines
   * @param {number} [opts.timeoutMs]
   */
  async start({ endpoint, apiKey, caFile, conflict = 'default', schemaModule, userPool, lambdaToken, iam, multiAuth, sync = {}, timeoutMs = DEFAULT_TIMEOUT_MS }) {
    installWebSocket({
      ca: caFile ? readFileSync(caFile) : undefined,
      onOpen: (url) => this.socketsOpened.push(url),
      trace: this.#trace,
      onData: (data) => {
        for (const [field, rec] of Object.entries(data)) this.socketEvents.push({ field, id: rec?.id });
      },
    });
    const { schema, models } = await loadModels(schemaModule);
    this.models = models;
    this.schema = schema;
    this.#stopHub = Hub.listen('datastore', ({ payload }) => {
      this.hubEvents.push({ event: payload.event, data: summarize(payload.data) });
      for (const w of this.#hubWaiters) w(payload);
    });
    const defaultAuthMode = multiAuth ? 'userPool' : iam ? 'iam' : lambdaToken ? 'lambda' : userPool ? 'userPool' : 'apiKey';
    Amplify.configure({
      API: { GraphQL: { endpoint, region: 'us-east-1', defaultAuthMode, apiKey } },
    }, multiAuth ? { Auth: { tokenProvider: tokenProvider(userPool), credentialsProvider: identityPool(multiAuth) } }
      : iam ? { Auth: { credentialsProvider: credentialsProvider(iam) } }
        : userPool ? { Auth: { tokenProvider: tokenProvider(userPool) } } : undefined);
    DataStore.configure({
      storageAdapter: IndexedDBAdapter,
      ...(multiAuth ? { authModeStrategyType: AuthModeStrategyType.MULTI_AUTH } : {}),
      ...(lambdaToken ? { authProviders: { functionAuthProvider: async () => ({ token: lambdaToken }) } } : {}),
      ...(sync.pageSize !== undefined ? { syncPageSize: sync.pageSize } : {}),
      ...(sync.maxRecords !== undefined ? { maxRecordsToSync: sync.maxRecords } : {}),
      ...(sync.expressions?.length ? { syncExpressions: syncExpressions(models, sync.expressions) } : {}),
      errorHandler: (e) => {
        this.errors.push({ message: e.message, errorType: e.errorType, process: e.process, operation: e.operation, model: e.model });
      },
    });
    // Record every conflict the engine hands over, then decide as configured:
    // Amplify's own default handler (local fields on the remote _version, i.e.
    // the client wins) or DISCARD (the server's copy wins).
    const builtin = DataStore.conflictHandler;
    DataStore.conflictHandler = async (c) => {
      this.conflicts.push({
        operation: c.operation,
        attempts: c.attempts,
        local: plain(c.localModel),
        remote: plain(c.remoteModel),
      });
      return conflict === 'discard' ? DISCARD : builtin(c);
    };
    // The engine reads this slot when DataStore.start builds it.
    DataStore.connectivityMonitor = this.connectivity;
    // In Node, start itself waits for the startup sync; bound both.
    await Promise.all([DataStore.start(), this.waitHub('ready', () => true, timeoutMs)]);
  }

  /**
   * waitHub resolves with the first datastore hub payload named event for which
   * pred(data) holds, or rejects after timeoutMs.
   * @param {string} event @param {(data: any) => boolean} pred @param {number} [timeoutMs]
   */
  waitHub(event, pred = () => true, timeoutMs = DEFAULT_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      const w = (payload) => {
        if (payload.event !== event || !pred(payload.data)) return;
        done();
        resolve(payload.data);
      };
      const timer = setTimeout(() => {
        done();
        reject(new TimeoutError(`datastore hub event "${event}"`, timeoutMs,
          `events seen: ${this.hubEvents.map((e) => e.event).join(', ')}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#hubWaiters.delete(w);
      };
      this.#hubWaiters.add(w);
    });
  }

  /**
   * mark returns the current position in the hub event record, to pass to
   * waitOutboxEmpty before making local changes.
   */
  mark() {
    return this.hubEvents.length;
  }

  /**
   * waitOutboxEmpty resolves once DataStore has reported an empty outbox
   * (outboxStatus {isEmpty:true}) at or after position since of the hub event
   * record. Take since with mark() before saving: a save resolves before its
   * mutation is even queued, so "empty now" right after it proves nothing.
   * @param {number} since @param {number} [timeoutMs]
   */
  async waitOutboxEmpty(since, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const empty = (e) => e.event === 'outboxStatus' && e.data?.isEmpty === true;
    const seen = () => this.hubEvents.slice(since).some(empty);
    if (seen()) return;
    try {
      await this.waitHub('outboxStatus', (d) => d?.isEmpty === true, timeoutMs);
    } catch (err) {
      if (err instanceof TimeoutError) {
        err.message = `timed out after ${timeoutMs} ms waiting for an empty outbox (hub outboxStatus isEmpty:true); ` +
          `errors: ${JSON.stringify(this.errors)}`;
      }
      throw err;
    }
  }

  /**
   * waitFor re-runs fn until it returns a value other than undefined, waking on
   * every local change (DataStore.observe) and at least every 100 ms.
   * @template T
   * @param {string} what description used in the timeout message
   * @param {() => Promise<T|undefined>} fn
   * @param {number} [timeoutMs]
   * @returns {Promise<T>}
   */
  async waitFor(what, fn, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    let wake = () => {};
    const sub = DataStore.observe().subscribe(() => wake());
    try {
      while (true) {
        const v = await fn();
        if (v !== undefined) return v;
        const left = deadline - Date.now();
        if (left <= 0) throw new TimeoutError(what, timeoutMs);
        await new Promise((r) => {
          const t = setTimeout(r, Math.min(left, 100));
          wake = () => { clearTimeout(t); r(); };
        });
      }
    } finally {
      sub.unsubscribe();
    }
  }

  /** model returns the class of a model by name, or throws naming the known ones. */
  model(name) {
    const m = this.models[name];
    if (!m) throw new Error(`unknown model "${name}" (known: ${Object.keys(this.models).join(', ')})`);
    return m;
  }

  /**
   * restart starts a stopped DataStore again (same configuration and local
   * data), resolving on the next `ready`.
   * @param {number} [timeoutMs]
   */
  async restart(timeoutMs = DEFAULT_TIMEOUT_MS) {
    await Promise.all([DataStore.start(), this.waitHub('ready', () => true, timeoutMs)]);
  }

  /**
   * clear stops DataStore and deletes its local database (DataStore.clear);
   * restart starts it again with an empty store, which runs a base sync.
   */
  async clear() {
    await DataStore.clear();
  }

  /** pause stops DataStore's sync and subscriptions; local data is kept. */
  async pause() {
    await DataStore.stop();
  }

  /** stop ends the hub listener and DataStore's sync; local data is kept. */
  async stop() {
    await DataStore.stop();
    this.#stopHub();
  }
}

/**
 * SyncCondition is a selective-sync predicate as data (a test drives the
 * client over JSON lines): {field, op, value} tests one field with a DataStore
 * predicate operator (eq, ne, gt, ge, lt, le, beginsWith, contains, between
 * with a [lo, hi] value…); {and: [...]}, {or: [...]} and {not: {...}} group.
 * @typedef {{field: string, op: string, value: any} | {and: SyncCondition[]} | {or: SyncCondition[]} | {not: SyncCondition}} SyncCondition
 */

/**
 * syncExpressions turns {model, where: SyncCondition} pairs into DataStore's
 * syncExpressions: syncExpression(Model, () => (m) => <where on m>).
 * @param {Record<string, any>} models @param {{model: string, where: SyncCondition}[]} exprs
 */
export function syncExpressions(models, exprs) {
  const build = (m, c) => {
    if (c.and) return m.and((g) => c.and.map((x) => build(g, x)));
    if (c.or) return m.or((g) => c.or.map((x) => build(g, x)));
    if (c.not) return m.not((g) => build(g, c.not));
    const f = m[c.field];
    if (!f || typeof f[c.op] !== 'function') throw new Error(`sync expression: no operator ${c.op} on field ${c.field}`);
    return Array.isArray(c.value) ? f[c.op](...c.value) : f[c.op](c.value);
  };
  return exprs.map(({ model, where }) => {
    if (!models[model]) throw new Error(`sync expression: unknown model "${model}"`);
    return syncExpression(models[model], () => (m) => build(m, where));
  });
}

/**
 * tokenProvider is Amplify's token provider slot (libraryOptions.Auth.tokenProvider)
 * filled by a function instead of Cognito: it hands out the given JWTs, decoded
 * the way Amplify's own provider does ({toString(), payload}); without tokens
 * it answers null, as Cognito's provider does for a signed-out user.
 * @param {{accessToken: string, idToken: string}} [tokens]
 */
export function tokenProvider(tokens) {
  if (!tokens) return { getTokens: async () => null };
  const { accessToken, idToken } = tokens;
  return {
    getTokens: async () => ({ accessToken: decodeJWT(accessToken), idToken: decodeJWT(idToken) }),
  };
}

/**
 * identityPool is a custom credentials provider standing in for a Cognito
 * identity pool: Amplify asks it with authenticated true when the token
 * provider has a signed-in user and false otherwise, and it answers with the
 * authenticated or the unauthenticated role's credentials (throwing, as a pool
 * without guest access would, when it has none for that state).
 * @param {{authenticated?: object, unauthenticated?: object}} roles
 */
export function identityPool(roles) {
  return {
    getCredentialsAndIdentityId: async ({ authenticated }) => {
      const c = authenticated ? roles.authenticated : roles.unauthenticated;
      if (!c) throw new Error(`identity pool stand-in: no ${authenticated ? 'authenticated' : 'unauthenticated'} credentials`);
      return { credentials: { ...c }, identityId: `us-east-1:${c.accessKeyId}` };
    },
    clearCredentialsAndIdentityId: () => {},
  };
}

/**
 * credentialsProvider is Amplify v6's custom credentials provider
 * (libraryOptions.Auth.credentialsProvider) handing out fixed AWS credentials,
 * where a Cognito identity pool would hand out temporary ones.
 * @param {{accessKeyId: string, secretAccessKey: string, sessionToken?: string}} credentials
 */
export function credentialsProvider(credentials) {
  return {
    getCredentialsAndIdentityId: async () => ({ credentials: { ...credentials }, identityId: `us-east-1:${credentials.accessKeyId}` }),
    clearCredentialsAndIdentityId: () => {},
  };
}

/** decodeJWT returns a JWT as Amplify holds one: its text and its decoded payload. @param {string} token */
function decodeJWT(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw new Error(`not a JWT (want three dot-separated parts): ${String(token).slice(0, 40)}`);
  return { toString: () => token, payload: JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) };
}

/** plain turns a model instance into its JSON fields (metadata included). */
export function plain(m) {
  if (m == null || typeof m !== 'object') return m;
  return JSON.parse(JSON.stringify(m));
}

function summarize(data) {
  if (data == null || typeof data !== 'object') return data;
  const out = {};
  for (const [k, v] of Object.entries(data)) {
    if (k === 'model' && typeof v === 'function') out.model = v.name;
    else if (k === 'element') out.element = plain(v);
    else if (typeof v !== 'function') out[k] = v;
  }
  return out;
}

export { DataStore };
