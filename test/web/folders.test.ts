/**
 * Folders through the web API on a real two-node cluster: a folder upload staged file by file into a
 * batch and stored by one upload-batch job, the folder listing, deleting a folder; what a browser may
 * send is bounded (files, bytes, names), a cut file request cancels its batch, and the staging folder
 * goes when the job ends. Uploads take erasure coding and encryption.
 */
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Daemon } from '../../src/node/daemon.ts';
import { MAX_WEB_BATCH_FILES } from '../../src/web/batch.ts';
import { testBytes } from '../helpers/random.ts';
import { pairAll, startTestnet, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { type WebClient as Client, PASSWORD, WebClient } from '../helpers/web.ts';

const templates = testnetTemplates(2);

async function cluster(t: TestContext) {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const nodes = await startTestnet(t, homes, { web: { address: '' } });
  const web = WebClient.of(nodes[0]!.daemon);
  await web.setup(nodes[0]!.daemon);
  return { web, daemon: nodes[0]!.daemon };
}

async function waitJob(web: Client, id: string) {
  return until(`job ${id} to finish`, async () => {
    const job = (await web.get('/api/jobs')).json.jobs.find((j: { id: string }) => j.id === id);
    return job.state !== 'queued' && job.state !== 'running' && job;
  });
}

const staged = (daemon: Daemon): Promise<string[]> =>
  readdir(join(daemon.home.paths.home, 'uploads')).catch(() => []);

const putFile = (web: Client, batch: string, name: string, data: Buffer) =>
  web.request('PUT', `/api/batches/${batch}/files?name=${encodeURIComponent(name)}`, {
    raw: data,
    headers: { 'content-type': 'application/octet-stream' },
  });

test('a folder sent file by file is stored by one upload-batch job, listed as a folder and deleted whole', async (t: TestContext) => {
  const { web, daemon } = await cluster(t);
  const files: Array<[string, Buffer]> = [
    ['photos/2024/img 1.jpg', testBytes(150_000)],
    ['photos/2024/ü.jpg', testBytes(20_000)],
    ['photos/empty.txt', Buffer.alloc(0)],
  ];
  const bytes = files.reduce((n, [, d]) => n + d.length, 0);
  const open = await web.post('/api/batches', { files: files.length, bytes });
  t.assert.strictEqual(open.status, 201, open.body.toString());
  const batch = open.json.batch as string;
  for (const [name, data] of files) {
    const put = await putFile(web, batch, name, data);
    t.assert.strictEqual(put.status, 200, put.body.toString());
  }
  const commit = await web.post(`/api/batches/${batch}/commit`, { copies: 2 });
  t.assert.strictEqual(commit.status, 202, commit.body.toString());
  t.assert.strictEqual(commit.json.job.kind, 'upload-batch');
  const job = await waitJob(web, commit.json.job.id);
  t.assert.strictEqual(job.state, 'done', JSON.stringify(job));
  t.assert.strictEqual(job.result.stored, 3);
  await until('the staging folder is removed', async () => (await staged(daemon)).length === 0);

  const top = (await web.get('/api/folder')).json;
  t.assert.deepStrictEqual(top.folders, [{ name: 'photos', path: 'photos', files: 3, bytes }]);
  t.assert.deepStrictEqual(top.files, []);
  const inner = (await web.get('/api/folder?path=photos')).json;
  t.assert.deepStrictEqual(
    inner.folders.map((f: { path: string; files: number }) => [f.path, f.files]),
    [['photos/2024', 2]],
  );
  t.assert.deepStrictEqual(
    inner.files.map((f: { name: string; copies: number }) => [f.name, f.copies]),
    [['photos/empty.txt', 2]],
  );
  for (const bad of ['a//b', '..', 'a/../b', `x/${'y'.repeat(256)}`]) {
    const answer = await web.get(`/api/folder?path=${encodeURIComponent(bad)}`);
    t.assert.deepStrictEqual([answer.status, answer.json.error.code], [400, 'ERR_BAD_REQUEST'], bad);
  }
  const missing = await web.get('/api/folder?path=nothing');
  t.assert.deepStrictEqual([missing.status, missing.json.error.code], [404, 'ERR_NOT_FOUND']);

  const wrong = await web.request('DELETE', '/api/folder?path=photos/2024', {
    body: { password: 'nope nope nope' },
  });
  t.assert.deepStrictEqual([wrong.status, wrong.json.error.code], [403, 'ERR_WEB_PASSWORD']);
  const gone = await web.request('DELETE', '/api/folder?path=photos/2024', { body: { password: PASSWORD } });
  t.assert.strictEqual(gone.status, 200, gone.body.toString());
  t.assert.strictEqual(gone.json.removed.length, 2);
  t.assert.strictEqual((await web.get('/api/folder?path=photos/2024')).json.error.code, 'ERR_NOT_FOUND');
  t.assert.deepStrictEqual((await web.get('/api/folder')).json.folders[0].files, 1);
});

test('a folder upload is bounded before staging, refuses bad names, and a cut file request cancels it', async (t: TestContext) => {
  const { web, daemon } = await cluster(t);
  const tooMany = await web.post('/api/batches', { files: MAX_WEB_BATCH_FILES + 1, bytes: 10 });
  t.assert.deepStrictEqual([tooMany.status, tooMany.json.error.code], [413, 'ERR_TOO_LARGE']);
  const tooBig = await web.post('/api/batches', { files: 2, bytes: 2 ** 50 });
  t.assert.deepStrictEqual([tooBig.status, tooBig.json.error.code], [507, 'ERR_NO_SPACE']);
  const nonsense = await web.post('/api/batches', { files: -1, bytes: 'x' });
  t.assert.strictEqual(nonsense.json.error.code, 'ERR_BAD_REQUEST');
  const anonymous = await web.post('/api/batches', { files: 1, bytes: 1 }, { noCookie: true });
  t.assert.strictEqual(anonymous.json.error.code, 'ERR_WEB_LOGIN_REQUIRED');

  const data = testBytes(200_000);
  const batch = (await web.post('/api/batches', { files: 3, bytes: 250_000 })).json.batch as string;
  for (const bad of ['../x', 'a//b', '/abs', 'a\\b']) {
    const put = await putFile(web, batch, bad, Buffer.from('x'));
    t.assert.deepStrictEqual([put.status, put.json.error.code], [400, 'ERR_BAD_REQUEST'], bad);
  }
  t.assert.strictEqual((await putFile(web, batch, 'd/ok.bin', data)).status, 200);
  const twice = await putFile(web, batch, 'd/ok.bin', Buffer.from('x'));
  t.assert.strictEqual(twice.json.error.code, 'ERR_BAD_REQUEST');
  const over = await putFile(web, batch, 'd/big.bin', data);
  t.assert.deepStrictEqual([over.status, over.json.error.code], [413, 'ERR_TOO_LARGE']);
  // Another session cannot touch it.
  const other = WebClient.of(daemon);
  await other.post('/api/login', { password: PASSWORD }).then((a) => {
    other.csrf = a.json.csrf;
  });
  t.assert.strictEqual(
    (await putFile(other, batch, 'd/x', Buffer.from('x'))).json.error.code,
    'ERR_NOT_FOUND',
  );

  // A file request cut halfway: the whole batch goes, staged files and all.
  const { port, hostname } = web.url;
  const req = request({
    host: hostname,
    port,
    method: 'PUT',
    path: `/api/batches/${batch}/files?name=d%2Fcut.bin`,
    headers: { 'content-length': '40000', origin: web.origin, cookie: web.cookie, 'x-csrf-token': web.csrf },
  });
  const closed = new Promise<void>((resolve) => {
    req.on('error', () => resolve());
    req.on('close', () => resolve());
  });
  req.write(Buffer.alloc(10_000));
  await until(
    'the file is being staged',
    async () => (await readdir(join(daemon.home.paths.home, 'uploads', batch))).length >= 2,
  );
  req.destroy();
  await closed;
  await until('the batch is cancelled', async () => (await staged(daemon)).length === 0);
  const after = await web.post(`/api/batches/${batch}/commit`, {});
  t.assert.deepStrictEqual([after.status, after.json.error.code], [404, 'ERR_NOT_FOUND']);

  // Cancelled by the browser: its staging folder goes at once.
  const second = (await web.post('/api/batches', { files: 1, bytes: 10 })).json.batch as string;
  t.assert.deepStrictEqual(await staged(daemon), [second]);
  t.assert.strictEqual((await web.request('DELETE', `/api/batches/${second}`)).status, 200);
  t.assert.deepStrictEqual(await staged(daemon), []);
  t.assert.deepStrictEqual((await web.get('/api/jobs')).json.jobs, [], 'no job was started');
});

test('a web upload takes erasure coding K+M and encryption, for one file and for a folder', async (t: TestContext) => {
  const { web, daemon } = await cluster(t);
  const data = testBytes(100_000);
  const one = await web.request('PUT', '/api/upload?name=sealed.bin&ec=1%2B1&encrypt=1', {
    raw: data,
    headers: { 'content-type': 'application/octet-stream' },
  });
  t.assert.strictEqual(one.status, 202, one.body.toString());
  t.assert.strictEqual((await waitJob(web, one.json.job.id)).state, 'done');
  const batch = (await web.post('/api/batches', { files: 1, bytes: data.length })).json.batch as string;
  await putFile(web, batch, 'box/sealed.bin', data);
  const commit = await web.post(`/api/batches/${batch}/commit`, { ec: '1+1', encrypt: true });
  t.assert.strictEqual(commit.status, 202, commit.body.toString());
  t.assert.deepStrictEqual([commit.json.job.params.ec, commit.json.job.params.encrypt], ['1+1', true]);
  t.assert.strictEqual((await waitJob(web, commit.json.job.id)).state, 'done');
  const kept = daemon.ops.catalog.list().map((f) => [f.name, f.redundancy, f.encrypted]);
  t.assert.deepStrictEqual(kept.sort(), [
    ['box/sealed.bin', '1+1', true],
    ['sealed.bin', '1+1', true],
  ]);
  const both = await web.request('PUT', '/api/upload?name=x.bin&ec=1%2B1&copies=2', {
    raw: data,
    headers: { 'content-type': 'application/octet-stream' },
  });
  t.assert.strictEqual(both.json?.error?.code, 'ERR_BAD_REQUEST', `${both.status} ${both.body.toString()}`);
  // The staging folders go as their jobs end (and the refused request staged nothing).
  await until('nothing is staged', async () => (await staged(daemon)).length === 0);
});
