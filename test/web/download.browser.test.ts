/**
 * The Files page in real headless Chromium: one click streams a 256 MiB file from the cluster to the
 * browser (checked by hash; nothing of it left on the node's disk); a chunk no node can give cuts the
 * download, the browser marks it failed and the page says so; job progress and the finished file
 * arrive through the event stream, with no polling. The event stream's limits over plain HTTP.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import type { Daemon } from '../../src/node/daemon.ts';
import { MAX_STREAMS_PER_SESSION } from '../../src/web/events.ts';
import { NO_BROWSER, openBrowser, screenshot, watchErrors } from '../helpers/browser.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { testBytes } from '../helpers/random.ts';
import { pairAll, startTestnet, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { PASSWORD, WebClient } from '../helpers/web.ts';

const templates = testnetTemplates(2);
const TIMEOUT = 60_000;
const MiB = 1024 * 1024;
const sel = (name: string) => `[data-test="${name}"]`;
const text = async (locator: Locator) => (await locator.textContent()) ?? '';

/** Writes `size` seeded bytes (16 MiB repeated, each MiB with its own first 4 KiB); returns the SHA-256. */
async function writeTestFile(path: string, size: number): Promise<string> {
  const base = testBytes(16 * MiB);
  const hash = createHash('sha256');
  const fh = await open(path, 'w');
  try {
    for (let at = 0; at < size; at += MiB) {
      const from = at % (16 * MiB);
      const piece = Buffer.from(base.subarray(from, from + Math.min(MiB, size - at)));
      testBytes(4096).copy(piece);
      hash.update(piece);
      await fh.write(piece, 0, piece.length, at);
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path)) hash.update(piece as Buffer);
  return hash.digest('hex');
}

/** Uploads `file` as a job of `daemon` and waits for it; returns the file id. */
async function upload(daemon: Daemon, file: string, params: Record<string, unknown>): Promise<string> {
  const job = await daemon.ops.jobs.submit('upload', { file, ...params });
  const done = await daemon.ops.jobs.wait(job.id, { signal: AbortSignal.timeout(TIMEOUT) });
  if (done.state !== 'done') throw new Error(`the upload ended ${done.state}: ${JSON.stringify(done.error)}`);
  return (done.result as { id: string }).id;
}

async function logIn(page: Page, daemon: Daemon): Promise<void> {
  await page.goto(daemon.web!.url());
  await page.locator(sel('login-password')).fill(PASSWORD);
  await page.locator(sel('login-submit')).click();
  await page.locator(sel('own-pairing')).waitFor();
  // The event stream is up (the page polls only while it is down).
  await page.locator('html[data-live="yes"]').waitFor({ state: 'attached' });
}

test('one click streams a 256 MiB file from the cluster to the browser, checked by hash', {
  skip: NO_BROWSER,
  timeout: 180_000,
}, async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const [a, b] = await startTestnet(t, homes, { web: { address: '' } });
  const dir = await tmpDir(t);
  const source = join(dir, 'disk.img');
  const sha256 = await writeTestFile(source, 256 * MiB);
  // One copy of each chunk, spread over both nodes: half the file comes from the other node.
  const id = await upload(a!.daemon, source, { copies: 1, chunkSize: 16 * MiB });
  const index = a!.daemon.ops.catalog.index(id);
  const holders = new Set(index.chunks.flatMap((c) => (c.holders ?? []).map((h) => h.node)));
  t.assert.deepStrictEqual([...holders].sort(), [a!.uuid, b!.uuid].sort(), 'chunks on both nodes');
  await WebClient.of(a!.daemon).setup(a!.daemon);

  const browser = await openBrowser(t);
  browser.setDefaultTimeout(TIMEOUT);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await logIn(page, a!.daemon);
  await page.locator(sel('nav-files')).click();
  const row = page.locator(`${sel('file-row')}[data-id="${id}"]`);
  await row.waitFor();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    row.locator(sel('file-download')).click(),
  ]);
  t.assert.strictEqual(download.suggestedFilename(), 'disk.img');
  const saved = join(dir, 'saved.img');
  await download.saveAs(saved);
  t.assert.strictEqual(await download.failure(), null);
  t.assert.strictEqual(await sha256Of(saved), sha256, 'the browser got the file, byte for byte');
  await until('the page says it is done', async () =>
    /every piece was checked/.test(await text(row.locator(sel('file-download-status')))),
  );
  await screenshot(page, '13-files-downloaded');
  // Streamed, not staged: nothing of it is left in the node's downloads folder.
  t.assert.deepStrictEqual(await readdir(join(a!.home, 'downloads')), []);
  t.assert.deepStrictEqual(errors, []);
});

test('a chunk no node can give cuts the download: the browser marks it failed and the page says so', {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async (t: TestContext) => {
  const [home] = await templates.homes(t);
  const [a] = await startTestnet(t, [home!], { web: { address: '' } });
  const dir = await tmpDir(t);
  const source = join(dir, 'three.bin');
  await writeTestFile(source, 3 * MiB);
  const id = await upload(a!.daemon, source, { copies: 1, chunkSize: MiB });
  const index = a!.daemon.ops.catalog.index(id);
  // The middle chunk's only copy goes: the first chunk is sent, then the download must fail.
  await a!.daemon.stores.delete(index.chunks[1]!.uuid, { by: a!.uuid });
  await WebClient.of(a!.daemon).setup(a!.daemon);

  const browser = await openBrowser(t);
  browser.setDefaultTimeout(TIMEOUT);
  const page = await browser.newPage();
  await logIn(page, a!.daemon);
  await page.locator(sel('nav-files')).click();
  const row = page.locator(`${sel('file-row')}[data-id="${id}"]`);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    row.locator(sel('file-download')).click(),
  ]);
  t.assert.notStrictEqual(await download.failure(), null, 'the browser marks the download failed');
  await page.locator(sel('error')).waitFor();
  t.assert.match(await text(page.locator(sel('error'))), /download of “three\.bin” failed/);
  t.assert.match(await text(row.locator(sel('file-download-status'))), /Download failed/);
  await screenshot(page, '13b-files-download-failed');
  t.assert.deepStrictEqual(await readdir(join(a!.home, 'downloads')), []);
});

test('job progress and the finished file reach the Files page through the event stream, without polling', {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async (t: TestContext) => {
  const [home] = await templates.homes(t);
  const [a] = await startTestnet(t, [home!], { web: { address: '' } });
  const web = WebClient.of(a!.daemon);
  await web.setup(a!.daemon);
  const browser = await openBrowser(t);
  browser.setDefaultTimeout(TIMEOUT);
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await logIn(page, a!.daemon);
  await page.locator(sel('nav-files')).click();
  await page.getByText('No jobs yet.').waitFor();
  await page.getByText('No file is in the cluster yet.').waitFor();
  const polled: string[] = [];
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path === '/api/jobs' || path === '/api/files') polled.push(path);
  });
  // An upload started elsewhere (another tab, the API): the page learns of it by itself.
  const data = testBytes(2 * MiB);
  const put = await web.request('PUT', '/api/upload?name=pushed.bin&copies=1', { raw: data });
  t.assert.strictEqual(put.status, 202);
  const job = page.locator(`${sel('job-row')}[data-id="${put.json.job.id}"]`);
  let shown: string | null = null;
  await until('the job is done on the page', async () => {
    shown = await job.locator(sel('job-state')).getAttribute('data-state');
    return shown === 'done';
  }).catch((err: unknown) => {
    // Say what the node saw, so a failure tells a stuck job from a page that missed an event.
    const record = a!.daemon.ops.jobs.get(put.json.job.id);
    throw new Error(`the page shows "${shown}"; the node's job: ${JSON.stringify(record)}`, { cause: err });
  });
  await page.locator(sel('file-row')).filter({ hasText: 'pushed.bin' }).waitFor();
  await screenshot(page, '14-files-pushed');
  // The jobs list was never asked again: the job came as events; the files list once, when it ended.
  t.assert.deepStrictEqual(
    polled.filter((p) => p === '/api/jobs'),
    [],
  );
  t.assert.ok(polled.filter((p) => p === '/api/files').length <= 2, polled.join(' '));
  t.assert.deepStrictEqual(errors, []);
});

/** Opens GET /api/events with `client`'s cookie; resolves with the response once its first event came. */
function openStream(t: TestContext, client: WebClient, cookie: string | null = client.cookie ?? null) {
  return new Promise<{ status: number; ended: Promise<void>; body: () => string }>((resolve, reject) => {
    let body = '';
    const req = request(
      {
        host: client.url.hostname,
        port: client.url.port,
        path: '/api/events',
        headers: cookie ? { cookie } : {},
      },
      (res) => {
        const ended = new Promise<void>((done) => res.once('close', () => done()));
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
          if (body.includes('event: cluster'))
            resolve({ status: res.statusCode ?? 0, ended, body: () => body });
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ended, body: () => body }));
      },
    );
    req.on('error', reject);
    req.end();
    teardown(t).defer(() => {
      req.destroy();
    });
  });
}

test('the event stream: login needed; at most a few per session, the oldest closed; logout ends them', async (t: TestContext) => {
  const [home] = await templates.homes(t);
  const [a] = await startTestnet(t, [home!], { web: { address: '' } });
  const web = WebClient.of(a!.daemon);
  await web.setup(a!.daemon);
  const anonymous = await openStream(t, web, null);
  t.assert.strictEqual(anonymous.status, 401);
  t.assert.match(anonymous.body(), /ERR_WEB_LOGIN_REQUIRED/);
  const first = await openStream(t, web);
  t.assert.strictEqual(first.status, 200);
  const more = [];
  for (let i = 1; i < MAX_STREAMS_PER_SESSION; i++) more.push(await openStream(t, web));
  const extra = await openStream(t, web);
  await first.ended; // the oldest made room
  t.assert.strictEqual(extra.status, 200);
  t.assert.strictEqual((await web.post('/api/logout')).status, 200);
  await Promise.all([...more, extra].map((s) => s.ended));
});
