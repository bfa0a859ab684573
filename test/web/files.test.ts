/**
 * Files through the web API on a real two-node cluster: a streamed upload staged on disk and run as
 * a job, the file list with health, a download job and the saved file, byte for byte; and the ways
 * an upload request can be wrong, each leaving nothing behind.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type TestContext, test } from 'node:test';
import type { Daemon } from '../../src/node/daemon.ts';
import { newUuid } from '../../src/uuid.ts';
import { currentBoot } from '../../src/web/staging.ts';
import { testBytes } from '../helpers/random.ts';
import { pairAll, startTestnet, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { PASSWORD, WebClient } from '../helpers/web.ts';

const templates = testnetTemplates(2);

async function cluster(t: TestContext) {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const nodes = await startTestnet(t, homes, { web: { address: '' } });
  const web = WebClient.of(nodes[0]!.daemon);
  await web.setup(nodes[0]!.daemon);
  return { nodes, web, daemon: nodes[0]!.daemon };
}

async function waitJob(web: WebClient, id: string) {
  return until(`job ${id} to finish`, async () => {
    const job = (await web.get('/api/jobs')).json.jobs.find((j: { id: string }) => j.id === id);
    return job.state !== 'queued' && job.state !== 'running' && job;
  });
}

async function staged(daemon: Daemon): Promise<string[]> {
  return readdir(join(daemon.home.paths.home, 'uploads')).catch(() => []);
}

/** A body sent in pieces, so the daemon stages it as it arrives. */
function pieces(data: Buffer, size = 100_000): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
    })(),
  );
}

test('a file uploaded through the web API comes back byte-identical; the staging copy is removed', async (t: TestContext) => {
  const { web, daemon, nodes } = await cluster(t);
  const data = testBytes(3 * 1024 * 1024 + 17);
  const name = 'holiday <b>photos<b> "2026" ü.bin';
  const put = await web.request('PUT', `/api/upload?name=${encodeURIComponent(name)}&copies=2&shift=1`, {
    raw: pieces(data),
    headers: { 'content-length': String(data.length), 'content-type': 'application/octet-stream' },
  });
  t.assert.strictEqual(put.status, 202, put.body.toString());
  const job = await waitJob(web, put.json.job.id);
  t.assert.strictEqual(job.state, 'done', JSON.stringify(job.error));
  // The daemon removes it once the job has ended (after the job says done).
  await until('the staging copy is removed', async () => (await staged(daemon)).length === 0);

  const files = (await web.get('/api/files')).json.files;
  t.assert.strictEqual(files.length, 1);
  const [file] = files;
  t.assert.deepStrictEqual(
    {
      name: file.name,
      size: file.size,
      sha256: file.sha256,
      copies: file.copies,
      downloaded: file.downloaded,
    },
    {
      name,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      copies: 2,
      downloaded: false,
    },
  );
  t.assert.deepStrictEqual(
    file.nodes.map((n: { nodeUuid: string }) => n.nodeUuid).sort(),
    nodes.map((n) => n.uuid).sort(),
  );

  const health = await web.post(`/api/files/${file.id}/check`);
  t.assert.deepStrictEqual(
    { health: health.json.health, trusted: health.json.trusted },
    { health: 'healthy', trusted: true },
  );

  // Streamed from the cluster at once (no download job first), chunk by chunk.
  const streamed = await web.get(`/api/files/${file.id}/content`);
  t.assert.strictEqual(streamed.status, 200);
  t.assert.ok(streamed.body.equals(data));
  t.assert.strictEqual(streamed.headers['content-length'], String(data.length));
  t.assert.deepStrictEqual(await readdir(join(daemon.home.paths.home, 'downloads')), []);
  t.assert.strictEqual(
    (await web.get('/api/files/00000000-0000-4000-8000-000000000000/content')).json.error.code,
    'ERR_NOT_FOUND',
  );
  // A download job (an earlier page's way) still saves it on the node.
  const download = await web.post(`/api/files/${file.id}/download`);
  t.assert.strictEqual(download.status, 202, download.body.toString());
  const downloaded = await waitJob(web, download.json.job.id);
  t.assert.strictEqual(downloaded.state, 'done', JSON.stringify(downloaded.error));
  t.assert.strictEqual((await web.get('/api/files')).json.files[0].downloaded, true);
  const content = await web.get(`/api/files/${file.id}/content`);
  t.assert.strictEqual(content.status, 200);
  t.assert.ok(content.body.equals(data));
  const disposition = /^attachment; filename="([^"]*)"; filename\*=UTF-8''([^;\s]+)$/.exec(
    String(content.headers['content-disposition']),
  );
  t.assert.strictEqual(disposition?.[1], 'holiday <b>photos<b> _2026_ _.bin');
  t.assert.strictEqual(decodeURIComponent(disposition?.[2] ?? ''), name);

  // The saved copy can be removed; the file stays in the cluster.
  const forget = await web.request('DELETE', `/api/files/${file.id}/content`);
  t.assert.deepStrictEqual(forget.json, { id: file.id, downloaded: false });
  t.assert.deepStrictEqual(await readdir(join(daemon.home.paths.home, 'downloads')), []);
  t.assert.strictEqual((await web.get('/api/files')).json.files[0].downloaded, false);
  t.assert.strictEqual((await web.post(`/api/files/${file.id}/check`)).json.health, 'healthy');
  const bad = await web.request('DELETE', '/api/files/not-a-uuid/content');
  t.assert.strictEqual(bad.json.error.code, 'ERR_INVALID_UUID');
});

test('an upload request that is wrong is refused, and leaves nothing behind', async (t: TestContext) => {
  const { web, daemon } = await cluster(t);
  const data = testBytes(300_000);
  const put = (query: string, headers: Record<string, string | undefined>, raw: Buffer | Readable = data) =>
    web.request('PUT', `/api/upload${query}`, { raw, headers });
  const length = { 'content-length': String(data.length) };

  t.assert.strictEqual((await put('', length)).json.error.code, 'ERR_BAD_REQUEST', 'no name');
  t.assert.strictEqual((await put('?name=..', length)).json.error.code, 'ERR_BAD_REQUEST');
  t.assert.strictEqual((await put('?name=a%2Fb', length)).json.error.code, 'ERR_BAD_REQUEST');
  t.assert.strictEqual((await put('?name=x&copies=0', length)).json.error.code, 'ERR_BAD_REQUEST');
  t.assert.strictEqual((await put('?name=x&shift=-1', length)).json.error.code, 'ERR_BAD_REQUEST');
  const chunked = await put(
    '?name=x',
    { 'content-length': undefined, 'transfer-encoding': 'chunked' },
    pieces(data),
  );
  t.assert.strictEqual(chunked.json.error.code, 'ERR_BAD_REQUEST', 'no Content-Length');
  const huge = await put('?name=x', { 'content-length': String(2 ** 50) }, Buffer.alloc(0));
  t.assert.strictEqual(huge.status, 507);
  t.assert.strictEqual(huge.json.error.code, 'ERR_NO_SPACE');
  const noCsrf = await web.request('PUT', '/api/upload?name=x', { raw: data, headers: length, noCsrf: true });
  t.assert.strictEqual(noCsrf.json.error.code, 'ERR_WEB_FORBIDDEN');

  // A body cut halfway: the daemon drops the staging file.
  const { port, hostname } = web.url;
  const req = request({
    host: hostname,
    port,
    method: 'PUT',
    path: '/api/upload?name=cut.bin',
    headers: { ...length, origin: web.origin, cookie: web.cookie, 'x-csrf-token': web.csrf },
  });
  const closed = new Promise<void>((resolve) => {
    req.on('error', () => resolve());
    req.on('close', () => resolve());
  });
  req.write(data.subarray(0, 100_000));
  await until('the daemon stages the upload', async () => (await staged(daemon)).length > 0);
  req.destroy();
  await closed;
  await until('the staging copy is removed', async () => (await staged(daemon)).length === 0);
  t.assert.deepStrictEqual(await staged(daemon), []);
  // Its job started with the request (staging and sending overlap): the cut cancels it.
  const states = async () =>
    ((await web.get('/api/jobs')).json.jobs as Array<{ state: string }>).map((j) => j.state);
  await until('the job is cancelled', async () => (await states()).every((s) => s === 'cancelled'));
  t.assert.deepStrictEqual(await states(), ['cancelled']);
});

test('an upload job starts with the request and sends what is staged while the rest still arrives', async (t: TestContext) => {
  const { web, daemon } = await cluster(t);
  const data = testBytes(6 * 1024 * 1024 + 5);
  const { port, hostname } = web.url;
  const req = request({
    host: hostname,
    port,
    method: 'PUT',
    path: '/api/upload?name=early.bin&copies=2',
    headers: {
      'content-length': String(data.length),
      origin: web.origin,
      cookie: web.cookie,
      'x-csrf-token': web.csrf,
    },
  });
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  req.write(data.subarray(0, 3 * 1024 * 1024));
  // Half the body is here: the job already runs and has sent some of it.
  const running = await until('the job sends before the body is complete', () => {
    const job = daemon.jobs.list().find((j) => j.kind === 'upload');
    return job !== undefined && (job.progress?.done ?? 0) > 0 ? job : undefined;
  });
  t.assert.strictEqual(running.state, 'running');
  t.assert.ok((running.progress?.done ?? 0) <= 3 * 1024 * 1024, 'it never reads past what is staged');
  req.end(data.subarray(3 * 1024 * 1024));
  const answer = await answered;
  t.assert.strictEqual(answer.status, 202, answer.body);
  const job = await waitJob(web, JSON.parse(answer.body).job.id);
  t.assert.strictEqual(job.state, 'done', JSON.stringify(job.error));
  t.assert.strictEqual(job.result.file.sha256, createHash('sha256').update(data).digest('hex'));
  const back = await web.get(`/api/files/${job.result.id}/content`);
  t.assert.ok(back.body.equals(data), 'the file comes back byte-identical');
});

test('a staged upload is not fsynced but marked with the boot id; a job refuses one staged before a reboot', async (t: TestContext) => {
  const { web, daemon } = await cluster(t);
  const boot = await currentBoot();
  if (boot === undefined) {
    t.skip('no boot id on this system: staged files are fsynced instead');
    return;
  }
  // As the web UI leaves them: one staged before this boot, one in this boot.
  const data = testBytes(100_000);
  const jobOf = async (bootId: string) => {
    const folder = join(daemon.home.paths.uploads, newUuid());
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, '.boot'), `${bootId}\n`);
    await writeFile(join(folder, 'staged.bin'), data);
    const job = await daemon.ops.jobs.submit('upload', {
      file: join(folder, 'staged.bin'),
      staged: true,
      copies: 1,
    });
    return waitJob(web, job.id);
  };
  const before = await jobOf('00000000-0000-4000-8000-000000000000');
  t.assert.strictEqual(before.state, 'failed');
  t.assert.strictEqual(before.error.code, 'ERR_INTERRUPTED');
  const now = await jobOf(boot);
  t.assert.strictEqual(now.state, 'done', JSON.stringify(now.error));
  await until('the staging copies are removed', async () => (await staged(daemon)).length === 0);
});

test('a cancelled upload job removes its staging copy', async (t: TestContext) => {
  const { web, daemon } = await cluster(t);
  const data = testBytes(200_000);
  const jobs = [];
  for (const name of ['one.bin', 'two.bin']) {
    const put = await web.request('PUT', `/api/upload?name=${name}`, {
      raw: data,
      headers: { 'content-length': String(data.length) },
    });
    jobs.push(put.json.job.id);
  }
  const cancelled = await web.post(`/api/jobs/${jobs[1]}/cancel`);
  t.assert.strictEqual(cancelled.json.state, 'cancelled');
  await waitJob(web, jobs[0]);
  await until('the staging copies are removed', async () => (await staged(daemon)).length === 0);
  t.assert.deepStrictEqual(await staged(daemon), []);
});

test('a staging folder no job refers to (a request cut by a crash) is removed at start', async (t: TestContext) => {
  const [home] = await templates.homes(t);
  const orphan = join(home!, 'uploads', '0d6c1a4e-27a8-4d43-9d6a-3f7b0a5c1e2f');
  await mkdir(orphan, { recursive: true });
  await writeFile(join(orphan, '.part'), testBytes(1000));
  const [node] = await startTestnet(t, [home!], { web: { address: '' } });
  t.assert.deepStrictEqual(await staged(node!.daemon), []);
});

test('Delete through the web API: the password is asked again, only the uploader may, and the other node stops listing the file', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const nodes = await startTestnet(t, homes, { web: { address: '' }, catalogSyncMs: 200 });
  const [a, b] = [nodes[0]!.daemon, nodes[1]!.daemon];
  const webA = WebClient.of(a);
  await webA.setup(a);
  const webB = WebClient.of(b);
  await webB.setup(b);
  const data = testBytes(200_000);
  const put = await webA.request('PUT', '/api/upload?name=doomed.bin', {
    raw: data,
    headers: { 'content-type': 'application/octet-stream' },
  });
  t.assert.strictEqual(put.status, 202, put.body.toString());
  t.assert.strictEqual((await waitJob(webA, put.json.job.id)).state, 'done');
  const listed = await until('node b to list the file', async () =>
    (await webB.get('/api/files')).json.files.find((f: { name: string }) => f.name === 'doomed.bin'),
  );
  t.assert.strictEqual(listed.mine, false);
  t.assert.strictEqual(listed.uploader, a.nodeUuid);
  const fromB = await webB.request('DELETE', `/api/files/${listed.id}`, { body: { password: PASSWORD } });
  t.assert.deepStrictEqual([fromB.status, fromB.json.error.code], [403, 'ERR_NOT_UPLOADER']);
  const wrong = await webA.request('DELETE', `/api/files/${listed.id}`, {
    body: { password: 'not it at all' },
  });
  t.assert.deepStrictEqual([wrong.status, wrong.json.error.code], [403, 'ERR_WEB_PASSWORD']);
  t.assert.strictEqual((await webA.get('/api/files')).json.files.length, 1);
  const gone = await webA.request('DELETE', `/api/files/${listed.id}`, { body: { password: PASSWORD } });
  t.assert.strictEqual(gone.status, 200, gone.body.toString());
  t.assert.strictEqual(gone.json.id, listed.id);
  t.assert.deepStrictEqual((await webA.get('/api/files')).json.files, []);
  await until('node b to drop the file', async () => (await webB.get('/api/files')).json.files.length === 0);
});
