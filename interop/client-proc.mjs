// client-proc.mjs hosts one Amplify DataStore client in its own process, so a
// test can drive several (Amplify is a singleton per process). It reads JSON
// commands, one per line, on stdin, and writes one JSON answer per command on
// stdout: {id, ok:true, result} or {id, ok:false, error}. Observed changes are
// streamed as {event:"observe", ...} lines. Everything Amplify logs goes to
// stderr so stdout stays a clean protocol channel.
import { createInterface } from 'node:readline';
import { format } from 'node:util';
import { Client, DataStore, plain, traceHTTP, DEFAULT_TIMEOUT_MS } from './client.mjs';

for (const level of ['log', 'info', 'warn', 'debug', 'error', 'trace']) {
  console[level] = (...args) => process.stderr.write(`[${level}] ${format(...args)}\n`);
}

// INTEROP_TRACE=1 logs every GraphQL request and response, and every
// WebSocket message, on stderr.
const trace = process.env.INTEROP_TRACE ? (line) => process.stderr.write(`${line}\n`) : undefined;
if (trace) traceHTTP(trace);

const out = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const client = new Client({ trace });
/** @type {{unsubscribe(): void}[]} */
const observers = [];

/** matches reports whether every key of want equals the same key of got (deep, via JSON). */
function matches(got, want) {
  if (got == null) return false;
  return Object.entries(want).every(([k, v]) => JSON.stringify(got[k]) === JSON.stringify(v));
}

/**
 * keyOf returns a record's key as the ops take it: its id, or for a model
 * whose primary key is not id (@primaryKey with sort keys) an object of the
 * key fields, as DataStore.query(Model, {…}) takes it.
 */
function keyOf(model, rec) {
  const attrs = client.schema?.models?.[model]?.attributes ?? [];
  const fields = attrs.find((a) => a.type === 'key' && !a.properties?.name)?.properties?.fields ?? ['id'];
  if (fields.length === 1 && fields[0] === 'id') return rec.id;
  return Object.fromEntries(fields.map((f) => [f, rec[f]]));
}

/** sameKey reports whether rec has the key id (an id or an object of key fields). */
function sameKey(rec, id) {
  if (rec == null) return false;
  if (id !== null && typeof id === 'object') return Object.entries(id).every(([k, v]) => rec[k] === v);
  return rec.id === id;
}

async function find(model, id) {
  const rec = await DataStore.query(client.model(model), id);
  return rec ?? undefined;
}

async function withLinks(links = {}) {
  const out = {};
  for (const [field, { model, id }] of Object.entries(links)) {
    const rec = await find(model, id);
    if (!rec) throw new Error(`link ${field}: no local ${model} with key ${JSON.stringify(id)}`);
    out[field] = rec;
  }
  return out;
}

/** processed waits for the server's answer to a queued mutation of model id. */
function processed(model, id, timeoutMs) {
  return client.waitHub('outboxMutationProcessed',
    (d) => d?.model?.name === model && sameKey(d?.element, id), timeoutMs)
    .catch((err) => {
      err.message += ` for ${model} ${JSON.stringify(id)} (errors: ${JSON.stringify(client.errors)}, conflicts: ${client.conflicts.length})`;
      throw err;
    });
}

async function mutate(model, id, what, save, awaitServer, timeoutMs) {
  // Listen before saving: the answer can arrive before save() returns.
  const answered = awaitServer ? processed(model, id, timeoutMs) : null;
  answered?.catch(() => {});
  const local = plain(await save());
  if (!answered) return local;
  return { local, server: plain((await answered).element) };
}

const ops = {
  async start(a) {
    await client.start(a);
    return { socketsOpened: client.socketsOpened };
  },
  // create, update and delete save locally and resolve with the local record;
  // with awaitServer they also wait until the server has answered the
  // mutation and resolve with {local, server} (server = the record the
  // server returned, which DataStore merges into its store).
  async create({ model, fields, links, awaitServer = false, timeoutMs }) {
    const M = client.model(model);
    const rec = new M({ ...fields, ...(await withLinks(links)) });
    return mutate(model, keyOf(model, rec), 'create', () => DataStore.save(rec), awaitServer, timeoutMs);
  },
  async update({ model, id, fields, links, awaitServer = false, timeoutMs }) {
    const M = client.model(model);
    const cur = await find(model, id);
    if (!cur) throw new Error(`update: no local ${model} with key ${JSON.stringify(id)}`);
    const extra = await withLinks(links);
    return mutate(model, id, 'update', () => DataStore.save(M.copyOf(cur, (d) => { Object.assign(d, fields, extra); })),
      awaitServer, timeoutMs);
  },
  async delete({ model, id, awaitServer = false, timeoutMs }) {
    const cur = await find(model, id);
    if (!cur) throw new Error(`delete: no local ${model} with key ${JSON.stringify(id)}`);
    return mutate(model, id, 'delete', () => DataStore.delete(cur), awaitServer, timeoutMs);
  },
  async waitProcessed({ model, id, timeoutMs }) {
    return { server: plain((await processed(model, id, timeoutMs)).element) };
  },
  async get({ model, id }) {
    return plain(await find(model, id)) ?? null;
  },
  async list({ model }) {
    return (await DataStore.query(client.model(model))).map(plain);
  },
  async relation({ model, id, field }) {
    const rec = await find(model, id);
    if (!rec) throw new Error(`relation: no local ${model} with key ${JSON.stringify(id)}`);
    const v = rec[field];
    if (v && typeof v.toArray === 'function') return (await v.toArray()).map(plain);
    return plain(await v) ?? null;
  },
  async waitRecord({ model, id, match = {}, absent = false, timeoutMs = DEFAULT_TIMEOUT_MS }) {
    const what = absent
      ? `${model} ${JSON.stringify(id)} to be absent from the local store`
      : `local ${model} ${JSON.stringify(id)} to match ${JSON.stringify(match)}`;
    let last;
    try {
      return await client.waitFor(what, async () => {
        const rec = await find(model, id);
        last = plain(rec);
        if (absent) return rec ? undefined : null;
        return rec && matches(last, match) ? last : undefined;
      }, timeoutMs);
    } catch (err) {
      err.message += ` (last seen: ${JSON.stringify(last ?? null)})`;
      throw err;
    }
  },
  async mark() {
    return client.mark();
  },
  async waitOutboxEmpty({ since, timeoutMs }) {
    if (typeof since !== 'number') throw new Error('waitOutboxEmpty: "since" (from the mark op) is required');
    await client.waitOutboxEmpty(since, timeoutMs);
    return null;
  },
  async waitHub({ event, match = {}, timeoutMs }) {
    return client.waitHub(event, (d) => matches(d ?? {}, match), timeoutMs);
  },
  // network switches DataStore's connectivity and resolves once the sync
  // engine has reported the new network status on its hub.
  async network({ online, timeoutMs }) {
    const seen = client.waitHub('networkStatus', (d) => d.active === online, timeoutMs);
    client.connectivity.set(online);
    await seen;
    return null;
  },
  async observe({ model }) {
    const sub = DataStore.observe(client.model(model)).subscribe((msg) => {
      out({ event: 'observe', model, opType: msg.opType, element: plain(msg.element) });
    });
    observers.push(sub);
    return null;
  },
  async report() {
    return {
      hubEvents: client.hubEvents,
      conflicts: client.conflicts,
      errors: client.errors,
      socketsOpened: client.socketsOpened,
      socketEvents: client.socketEvents,
    };
  },
  async clear() {
    await client.clear();
    return null;
  },
  async pause() {
    await client.pause();
    return null;
  },
  async restart({ timeoutMs } = {}) {
    await client.restart(timeoutMs);
    return null;
  },
  async stop() {
    for (const s of observers.splice(0)) s.unsubscribe();
    await client.stop();
    return null;
  },
};

const rl = createInterface({ input: process.stdin });
// Commands run concurrently, so a test can wait for something (waitProcessed)
// while it makes it happen (network); a test orders them by awaiting answers.
const running = new Set();
rl.on('line', (line) => {
  if (!line.trim()) return;
  const done = (async () => {
    let req;
    try {
      req = JSON.parse(line);
    } catch (err) {
      out({ id: null, ok: false, error: { message: `bad command line ${JSON.stringify(line)}: ${err.message}` } });
      return;
    }
    const op = ops[req.op];
    if (!op) {
      out({ id: req.id, ok: false, error: { message: `unknown op "${req.op}" (known: ${Object.keys(ops).join(', ')})` } });
      return;
    }
    try {
      out({ id: req.id, ok: true, result: (await op(req.args ?? {})) ?? null });
    } catch (err) {
      out({ id: req.id, ok: false, error: { message: err?.message ?? String(err), stack: err?.stack } });
    }
  })();
  running.add(done);
  done.finally(() => running.delete(done));
});
rl.on('close', () => {
  // A DataStore stuck mid-start may never stop; do not outlive the test.
  setTimeout(() => process.exit(0), 5_000).unref();
  Promise.allSettled([...running]).then(() => DataStore.stop()).finally(() => process.exit(0));
});
