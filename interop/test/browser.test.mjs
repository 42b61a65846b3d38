// An unmodified Amplify DataStore web app in a real browser (headless
// Chromium: its own IndexedDB, fetch and WebSocket) syncing against dsgen
// serve from another origin: the page is served by this test on one loopback
// port, the API by dsgen serve on another, so every call is a CORS request and
// the socket carries the page's Origin. The app (browser/app.mjs, bundled here
// with esbuild) reports what it sees by POSTing to its own origin.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
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

/** Bound of every wait on the browser (a hang guard); its first start and page load are slow on a busy machine. */
const BROWSER_WAIT_MS = 180_000;

/**
 * findChromium returns the Chromium scripts/chromium.sh finds (or, as root,
 * installs) as {bin}, else {skip: why}; like the Go browser tests, under CI
 * none is a failure: {fail: why}, which needChromium throws in the test.
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
  return process.env.CI ? { fail: `CI needs chromium: ${msg}` } : { skip: msg };
}

/** needChromium fails the test when CI has no chromium (findChromium). */
function needChromium() {
  if (chromium.fail) throw new Error(chromium.fail);
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
          reports.push({ ...JSON.parse(body), at: Date.now() });
        } catch {
          reports.push({ type: 'bad-report', data: { body } });
        }
        for (const w of [...waiters]) w();
        res.writeHead(204).end();
      });
      return;
    }
    const route = req.url.split('?')[0];
    if (req.method === 'GET' && route === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end('<!doctype html><html><head><meta charset="utf-8"><title>dsgen interop</title>' +
          '<script type="module" src="/app.js"></script></head><body>dsgen interop</body></html>');
      return;
    }
    if (req.method === 'GET' && route === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(bundle);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    if (process.env.INTEROP_DEBUG) {
      process.stderr.write(`--- page reports (ms) ---\n${reports.map((r) => `${r.at - reports[0].at} ${JSON.stringify(summary(r))}`).join('\n')}\n`);
    }
    const closed = new Promise((resolve) => srv.close(resolve));
    // A browser still running keeps its connections: close does not wait for them.
    srv.closeAllConnections();
    return closed;
  });
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
  if (r.type === 'console') return { console: r.data.text };
  return r.type;
}

/**
 * launchChromium opens url in headless Chromium (its own profile
 * directory), killed and removed when t ends; stderr() returns its
 * log, console messages included.
 */
function launchChromium(t, bin, url) {
  const profile = mkdtempSync(path.join(tmpdir(), 'dsgen-interop-chromium-'));
  const proc = spawn(bin, [
    '--headless', '--no-sandbox', // root on CI
    '--ignore-certificate-errors', // the dev TLS certificate of wss://…/graphql/realtime
    '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check',
    '--enable-logging=stderr', '--v=0', `--user-data-dir=${profile}`, url,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (b) => { stderr = (stderr + b).slice(-20_000); });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  // SIGTERM to the browser process ends its helpers (zygotes, renderers,
  // GPU, network) too. They stay in this process group: a run killed as a
  // group takes them with it.
  const kill = (sig) => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
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
    await removeProfile(profile);
  });
  return { stderr: () => `\n--- chromium stderr (tail) ---\n${stderr.slice(-4000)}` };
}

/**
 * removeProfile deletes a Chromium profile directory once the browser
 * has exited. Its helpers (network service, crash handler) may still be
 * flushing files into it for a moment after the browser process ends, so
 * the removal retries on ENOTEMPTY/EBUSY; a directory that still cannot
 * be removed is reported, not failed on: it is a temporary directory, not
 * a result of the test.
 */
async function removeProfile(dir) {
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 40, retryDelay: 50 });
  } catch (err) {
    process.stderr.write(`warning: could not remove Chromium profile ${dir}: ${err.message}\n`);
  }
}

const chromium = findChromium();
let bundled;
const app = () => (bundled ??= bundleApp());

// Configured with http://…/graphql (as the other interop tests) and with
// https://…/graphql (a server behind TLS): Amplify opens
// wss://…/graphql/realtime for both, which --dev-tls serves on the port.
for (const scheme of ['http', 'https']) {
  test(`an Amplify DataStore web app in Chromium syncs with dsgen serve from another origin (${scheme} endpoint)`, { skip: chromium.skip }, async (t) => {
    needChromium();
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
      page.url({ endpoint: server.endpoint.replace(/^http:/, `${scheme}:`), apiKey: API_KEY, title: 'From the browser' }));
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
}

/**
 * waitLog polls server's log (every 50 ms, bounded by BROWSER_WAIT_MS)
 * until pred holds of its JSON lines.
 */
async function waitLog(server, what, pred) {
  const deadline = Date.now() + BROWSER_WAIT_MS;
  while (true) {
    const lines = server.logs().split('\n').filter(Boolean).map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return {};
      }
    });
    if (pred(lines)) return lines;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${BROWSER_WAIT_MS} ms waiting for dsgen serve to log ${what}; log tail:\n${server.logs().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('--cors-origin: a page of an unlisted origin cannot sync, one of a listed origin can', { skip: chromium.skip }, async (t) => {
  needChromium();
  const page = await startPage(t, await app());

  // Not listed: the browser's preflight and its socket are refused, again
  // and again as DataStore retries, and the page never syncs.
  await t.test('unlisted', async (t) => {
    const server = await startServer({ t, extraArgs: ['--cors-origin', 'localhost:3000'] });
    launchChromium(t, chromium.bin, page.url({ endpoint: server.endpoint, apiKey: API_KEY }));
    const refused = (lines, msg) => lines.filter((l) => l.msg === msg && l.origin === page.origin).length;
    await waitLog(server, `3 refused preflights and a refused socket of origin ${page.origin}`,
      (lines) => refused(lines, 'CORS preflight refused') >= 3 && refused(lines, 'realtime: origin refused') >= 1);
    const got = page.reports.filter((r) => r.type === 'ready' || (r.type === 'hub' && ['modelSynced', 'ready'].includes(r.data.event)));
    assert.deepEqual(got, [], 'the page synced nothing');
  });

  // Listed (as scheme://host:port): the same page syncs and subscribes.
  await t.test('listed', async (t) => {
    page.reports.length = 0;
    const server = await startServer({ t, extraArgs: ['--cors-origin', 'localhost:3000', '--cors-origin', page.origin] });
    const { createPost: seeded } = await server.gql(
      `mutation ($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`,
      { input: { title: 'Seeded post' } });
    const browser = launchChromium(t, chromium.bin, page.url({ endpoint: server.endpoint, apiKey: API_KEY }));
    const extra = () => `${browser.stderr()}\n--- dsgen serve log (tail) ---\n${server.logs().slice(-3000)}`;
    const { data: ready } = await page.wait('ready', (r) => r.type === 'ready', extra);
    assert.deepEqual(ready.posts.map((p) => p.id), [seeded.id], 'the page synced the seeded post');
    const { createPost: later } = await server.gql(
      `mutation ($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`,
      { input: { title: 'Created on the server' } });
    await page.wait(`the observe event of post ${later.id}`,
      (r) => r.type === 'observe' && r.data.element?.id === later.id, extra);
    assert.ok(!/refused/.test(server.logs()), `the server refused nothing:\n${server.logs()}`);
  });
});
