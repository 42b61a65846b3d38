// app.mjs is the tiny web app test/browser.test.mjs bundles with esbuild and
// opens in headless Chromium: an ordinary Amplify DataStore app (aws-amplify
// and @aws-amplify/datastore, unmodified, the browser's own IndexedDB,
// fetch and WebSocket) configured against the dsgen serve endpoint named in
// the page's query string. It reports what happens by POSTing JSON lines to
// /report on its own origin, which the test serves.
import { Amplify } from 'aws-amplify';
import { Hub } from 'aws-amplify/utils';
import { DataStore, initSchema } from '@aws-amplify/datastore';
// Resolved by the test's esbuild plugin to the schema metadata it generated.
import { schema } from 'dsgen-interop-models';

const q = new URLSearchParams(location.search);
let seq = 0;
let sent = Promise.resolve();

/**
 * report sends one event to the page's origin. Reports go one at a time, so
 * the test receives them in the order they happened (concurrent fetches may
 * arrive in any order); a lost one fails the test's wait.
 */
function report(type, data = {}) {
  const body = JSON.stringify({ seq: seq++, type, data });
  sent = sent.then(() => fetch('/report', { method: 'POST', headers: { 'content-type': 'application/json' }, body }))
    .catch(() => {});
  return sent;
}

/** plain returns a model instance's own fields, metadata included. */
function plain(m) {
  return m ? JSON.parse(JSON.stringify(m)) : m;
}

// Amplify logs through the console: its warnings and errors go to the
// report too, for the test's failure messages.
for (const level of ['warn', 'error']) {
  const inner = console[level].bind(console);
  console[level] = (...args) => {
    inner(...args);
    report('console', { level, text: args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : safeJSON(a))).join(' ').slice(0, 2000) });
  };
}

function safeJSON(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

window.addEventListener('error', (e) => report('error', { message: String(e.message) }));
window.addEventListener('unhandledrejection', (e) => report('error', { message: String(e.reason?.stack ?? e.reason) }));

async function main() {
  const { Post } = initSchema(schema);
  Hub.listen('datastore', ({ payload }) => {
    const d = payload.data;
    report('hub', {
      event: payload.event,
      model: d?.model?.name,
      isDeltaSync: d?.isDeltaSync,
      counts: d?.counts,
      active: d?.active,
      isEmpty: d?.isEmpty,
      id: d?.element?.id,
    });
  });
  Amplify.configure({
    API: { GraphQL: { endpoint: q.get('endpoint'), region: 'us-east-1', defaultAuthMode: 'apiKey', apiKey: q.get('apiKey') } },
  });
  DataStore.configure({
    errorHandler: (e) => report('dsError', { message: e.message, errorType: e.errorType, process: e.process, operation: e.operation }),
  });

  const ready = new Promise((resolve) => {
    const stop = Hub.listen('datastore', ({ payload }) => {
      if (payload.event === 'ready') {
        stop();
        resolve();
      }
    });
  });
  // observe starts DataStore (IndexedDB, the startup sync, subscriptions).
  DataStore.observe(Post).subscribe((msg) => report('observe', { opType: msg.opType, element: plain(msg.element) }));
  await ready;

  const posts = (await DataStore.query(Post)).map(plain);
  const databases = indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [];
  await report('ready', { posts, databases });

  const saved = await DataStore.save(new Post({ title: q.get('title') ?? 'From the browser', rating: 5, status: 'PUBLISHED' }));
  await report('saved', { post: plain(saved) });
}

main().catch((err) => report('error', { message: String(err?.stack ?? err) }));
