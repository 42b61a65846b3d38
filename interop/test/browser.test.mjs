// An unmodified Amplify DataStore web app in a real browser (headless
// Chromium: its own IndexedDB, fetch and WebSocket) syncing against dsgen
// serve from another origin: the page is served by this test on one loopback
// port, the API by dsgen serve on another, so every call is a CORS request and
// the socket carries the page's Origin. The app (browser/app.mjs, bundled here
// with esbuild) reports what it sees by POSTing to its own origin.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { generate } from '../gen-models.mjs';
import { API_KEY, BLOG_FIELDS, BLOG_SCHEMA, POST_FIELDS, pick, startServer } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const interopDir = path.resolve(here, '..');
const repoRoot = path.resolve(interopDir, '..');

/** Bound of every wait on the browser; its first start and page load are slow on a busy machine. */
const BROWSER_WAIT_MS = 60_000;

/**
 * findChromium returns the Chromium scripts/chromium.sh finds (or, as root,
 * installs), or a skip message; like the Go browser tests, none is a failure
 * when CI is set.
 */
function findChromium() {
  let out = '';
  let why = '';
  try {
    out = execFileSync(path.join(repoRoot, 'scripts', 'chromium.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    why = String(err.stderr ?? err.message).trim();
  }
  if (out) return { bin: out };
  const msg = `no chromium (scripts/chromium.sh: ${why || 'found none'}); the browser interop test needs it`;
  if (process.env.CI) throw new Error(`CI needs chromium: ${msg}`);
  return { skip: msg };
}

/**
 * bundleApp generates the blog's DataStore models with Amplify's generator
 * and bundles browser/app.mjs with them, aws-amplify and
 * @aws-amplify/datastore into one browser ES module.
 */
async function bundleApp() {
  const dir = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-web-'));
  try {
    const schemaJS = path.join(dir, 'schema.js');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(schemaJS, await generate(BLOG_SCHEMA));
    const out = await build({
      entryPoints: [path.join(interopDir, 'browser', 'app.mjs')],
      absWorkingDir: interopDir,
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      target: 'es2020',
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'silent',
      plugins: [{
        name: 'dsgen-interop-models',
        setup(b) {
          b.onResolve({ filter: /^dsgen-interop-models$/ }, () => ({ path: schemaJS }));
        },
      }],
    });
    return out.outputFiles[0].text;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * startPage serves the app on a free loopback port (the page's origin):
 * index.html, app.js, and POST /report, which collects the app's reports.
 */
async function startPage(t, bundle) {
  const reports = [];
  const waiters = new Set();
  const srv = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/report') {
      let body = '';
      req.on('data', (b) => { body += b; });
      req.on('end', () => {
        try {
          reports.push(JSON.parse(body));
        } catch {
          reports.push({ type: 'bad-report', data: { body } });
        }
        for (const w of [...waiters]) w();
        res.writeHead(204).end();
      });
      return;
    }
    const path_ = req.url.split('?')[0];
    if (req.method === 'GET' && path_ === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end('<!doctype html><html><head><meta charset="utf-8"><title>dsgen interop</title>' +
          '<script type="module" src="/app.js"></script></head><body>dsgen interop</body></html>');
      return;
    }
    if (req.method === 'GET' && path_ === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(bundle);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => srv.close(resolve)));
  const origin = `http://127.0.0.1:${srv.address().port}`;
  return {
    origin,
    reports,
    url: (params) => `${origin}/?${new URLSearchParams(params)}`,
    /**
     * wait resolves with the first report satisfying pred, bounded by
     * BROWSER_WAIT_MS; its error lists what the page reported.
     */
    wait(what, pred, extra = () => '') {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = reports.find(pred);
          if (!hit) return;
          done();
          resolve(hit);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${BROWSER_WAIT_MS} ms waiting for the page to report ${what}; ` +
            `reports: ${JSON.stringify(reports.map(summary))}${extra()}`));
        }, BROWSER_WAIT_MS);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

function summary(r) {
  if (r.type === 'hub') return `hub:${r.data.event}${r.data.model ? `:${r.data.model}` : ''}`;
  if (r.type === 'observe') return `observe:${r.data.opType}:${r.data.element?.id}`;
  if (r.type === 'error' || r.type === 'dsError') return { [r.type]: r.data };
  return r.type;
}

/**
 * launchChromium opens url in headless Chromium (its own process group and
 * profile directory), killed and removed when t ends; stderr() returns its
 * log, console messages included.
 */
function launchChromium(t, bin, url) {
  const profile = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-chromium-'));
  const proc = spawn(bin, [
    '--headless', '--no-sandbox', // root on CI
    '--ignore-certificate-errors', // the dev TLS certificate of wss://…/graphql/realtime
    '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check',
    '--enable-logging=stderr', '--v=0', `--user-data-dir=${profile}`, url,
  ], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  proc.stderr.on('data', (b) => { stderr = (stderr + b).slice(-20_000); });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const kill = (sig) => {
    try {
      process.kill(-proc.pid, sig);
    } catch {
      // already gone
    }
  };
  const onExit = () => kill('SIGKILL');
  process.once('exit', onExit);
  t.after(async () => {
    if (process.env.INTEROP_DEBUG) process.stderr.write(`--- chromium stderr ---\n${stderr}\n`);
    kill('SIGTERM');
    const killer = setTimeout(() => kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
    process.removeListener('exit', onExit);
    rmSync(profile, { recursive: true, force: true });
  });
  return { stderr: () => `\n--- chromium stderr (tail) ---\n${stderr.slice(-4000)}` };
}

const chromium = findChromium();
let bundled;
const app = () => (bundled ??= bundleApp());

test('an Amplify DataStore web app in Chromium syncs with dsgen serve from another origin', { skip: chromium.skip }, async (t) => {
  const server = await startServer({ t });
  const { createBlog: blog } = await server.gql(
    `mutation ($input: CreateBlogInput!) { createBlog(input: $input) { ${BLOG_FIELDS} } }`,
    { input: { name: 'Seeded blog' } });
  const { createPost: seeded } = await server.gql(
    `mutation ($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`,
    { input: { title: 'Seeded post', rating: 3, status: 'PUBLISHED', blogPostsId: blog.id } });
  const { createPost: gone } = await server.gql(
    `mutation ($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`,
    { input: { title: 'Deleted before sync' } });
  await server.gql(
    `mutation ($input: DeletePostInput!) { deletePost(input: $input) { ${POST_FIELDS} } }`,
    { input: { id: gone.id, _version: gone._version } });

  const page = await startPage(t, await app());
  assert.notEqual(page.origin, new URL(server.endpoint).origin, 'the page and the API are different origins');
  const browser = launchChromium(t, chromium.bin,
    page.url({ endpoint: server.endpoint, apiKey: API_KEY, title: 'From the browser' }));
  const extra = () => `${browser.stderr()}\n--- dsgen serve log (tail) ---\n${server.logs().slice(-3000)}`;

  // Ready after the startup sync of what the server held.
  const { data: ready } = await page.wait('ready', (r) => r.type === 'ready', extra);
  const synced = page.reports.filter((r) => r.type === 'hub' && r.data.event === 'modelSynced').map((r) => r.data.model);
  assert.deepEqual(synced.sort(), ['Blog', 'Comment', 'Post', 'PostTags', 'Tag'], 'every model synced before ready');
  assert.ok(ready.databases.includes('amplify-datastore'),
    `DataStore keeps its data in the browser's IndexedDB (databases: ${JSON.stringify(ready.databases)})`);
  assert.deepEqual(ready.posts.map((p) => p.id), [seeded.id], 'the page holds the seeded post and not the tombstone');
  assert.deepEqual(
    pick(ready.posts[0], ['title', 'rating', 'status', 'blogPostsId', '_version', '_lastChangedAt', 'createdAt']),
    pick(seeded, ['title', 'rating', 'status', 'blogPostsId', '_version', '_lastChangedAt', 'createdAt']),
    'the synced post equals the server record');

  // The page's save reaches the server through its outbox.
  const { data: { post: saved } } = await page.wait('its save', (r) => r.type === 'saved', extra);
  await page.wait(`the server's answer to the create of ${saved.id}`,
    (r) => r.type === 'hub' && r.data.event === 'outboxMutationProcessed' && r.data.id === saved.id, extra);
  const { getPost: onServer } = await server.gql(`query ($id: ID!) { getPost(id: $id) { ${POST_FIELDS} } }`, { id: saved.id });
  assert.deepEqual(pick(onServer, ['id', 'title', 'rating', 'status', '_version', '_deleted']),
    { id: saved.id, title: 'From the browser', rating: 5, status: 'PUBLISHED', _version: 1, _deleted: null },
    "the page's post is on the server at version 1");

  // A post created on the server reaches the page through its subscription.
  const { createPost: later } = await server.gql(
    `mutation ($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`,
    { input: { title: 'Created on the server', rating: 1 } });
  const { data: got } = await page.wait(`the observe event of post ${later.id}`,
    (r) => r.type === 'observe' && r.data.element?.id === later.id, extra);
  assert.equal(got.opType, 'INSERT');
  assert.deepEqual(pick(got.element, ['title', 'rating', '_version']), { title: 'Created on the server', rating: 1, _version: 1 });

  assert.equal(page.reports.filter((r) => r.type === 'hub' && r.data.event === 'syncQueriesStarted').length, 1,
    'the page synced once, at start: the later post came through its subscription');
  assert.deepEqual(page.reports.filter((r) => r.type === 'error' || r.type === 'dsError').map((r) => r.data), [],
    'the page reported no errors');
});
