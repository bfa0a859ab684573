/**
 * Erasure-coded files on an in-process 4-node testnet (real daemons, TLS, sockets and disks): an
 * `upload` job with `ec: "2+1"` puts each chunk's 3 shards on 3 distinct nodes; a flipped byte in a
 * shard is found by the scrub (quarantined) and the repair has a node that holds none of the chunk's
 * shards rebuild it from the other two, the bytes going holders → new holder; when a holder is then
 * lost for good, all its shards are rebuilt the same way, and the file downloads bit-exact.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { RepairResult } from '../../src/ops/jobs.ts';
import { randomFile, sha256 } from '../cli/transfer-cluster.ts';
import { tmpDir } from '../helpers/context.ts';
import { pairAll, startTestnet, type TestNode, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { flipByte } from './task-helpers.ts';

const templates = testnetTemplates(4);
const CHUNK = 64 * 1024;
const OPTIONS = { catalogSyncMs: 200, heartbeatMs: 500, repair: { intervalMs: 0 } };

function signal(t: TestContext): AbortSignal {
  return t.signal ?? AbortSignal.timeout(120_000);
}

async function repair(t: TestContext, node: TestNode, params: Record<string, unknown> = {}) {
  const job = await node.daemon.ops.jobs.submit('repair', params);
  const done = await node.daemon.jobs.wait(job.id, { signal: signal(t) });
  t.assert.strictEqual(done.state, 'done', JSON.stringify(done.error));
  return done.result as unknown as RepairResult;
}

test("upload --ec 2+1: a rotten shard is quarantined by the scrub and rebuilt on a node holding none of its chunk; a lost holder's shards too; the file downloads bit-exact", async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const scrub = { startDelayMs: 0, passSeconds: 3600, maxBytesPerSecond: 256 * 1024 * 1024 };
  const [a, b, c, d] = (await startTestnet(t, homes, { ...OPTIONS, scrub })) as [
    TestNode,
    TestNode,
    TestNode,
    TestNode,
  ];
  const file = join(await tmpDir(t), 'film.bin');
  const bytes = await randomFile(file, 3 * CHUNK + 999);
  const job = await a.daemon.jobs.submit('upload', {
    file,
    chunkSize: CHUNK,
    ec: '2+1',
    nodes: [a.uuid, b.uuid, c.uuid],
  });
  const done = await a.daemon.jobs.wait(job.id, { signal: signal(t) });
  t.assert.strictEqual(done.state, 'done', JSON.stringify(done.error));
  const id = (done.result as { id: string }).id;
  const index = await until('node a lists the file', () => a.daemon.catalog.store.indexOf(id));
  // Every node judges from its own catalog: all of them know the file before any repair.
  for (const node of [b, c, d])
    await until(`node ${node.uuid} lists the file`, () => node.daemon.catalog.store.indexOf(id));
  t.assert.deepStrictEqual(index.redundancy, { scheme: 'rs', data: 2, parity: 1 });
  for (const chunk of index.chunks) {
    t.assert.deepStrictEqual(
      new Set(chunk.shards!.map((s) => s.holders[0]!.node)),
      new Set([a.uuid, b.uuid, c.uuid]),
    );
  }
  t.assert.strictEqual((await d.daemon.stores.status()).chunks, 0);
  const listed = a.daemon.ops.catalog.find(id);
  t.assert.deepStrictEqual([listed.redundancy, listed.copies, listed.encrypted], ['2+1', 3, false]);

  // A flipped byte in b's shard of chunk 1: the scrub quarantines it, the repair rebuilds it on d.
  const rotten = index.chunks[1]!.shards!.find((s) => s.holders[0]!.node === b.uuid)!;
  await until('the first scrub pass on node b', () => b.daemon.scrub.passes >= 1);
  await flipByte(b, rotten.uuid, 100);
  b.daemon.scrub.wake();
  await until(
    'node b quarantines the rotten shard',
    async () => (await b.daemon.stores.head(rotten.uuid)) === undefined,
  );
  const fixed = (await Promise.all([a, b, c].map((node) => repair(t, node)))).reduce(
    (sum, r) => ({ copies: sum.copies + r.copies, failures: [...sum.failures, ...r.failures] }),
    { copies: 0, failures: [] as RepairResult['failures'] },
  );
  t.assert.deepStrictEqual(fixed, { copies: 1, failures: [] });
  t.assert.strictEqual((await d.daemon.stores.head(rotten.uuid))?.sha256, rotten.sha256);
  t.assert.strictEqual((await d.daemon.stores.status()).chunks, 1);
  await until('check on node c sees every chunk healthy', async () => {
    const report = await c.daemon.ops.check.file(id, { deep: true, signal: signal(t) });
    return report.summary.healthy === index.chunks.length ? report : undefined;
  });

  for (const node of [a, c, d]) {
    await until(`node ${node.uuid} knows where the rebuilt shard is`, () =>
      node.daemon.catalog.store.holdersOf(rotten.uuid).includes(d.uuid),
    );
  }
  // b is lost for good: each of its shards is rebuilt on d, except chunk 1's (d holds one of it).
  await b.daemon.close(1_000);
  await rm(join(b.home, 'stores'), { recursive: true, force: true });
  for (const node of [a, c, d]) await node.daemon.ops.peers.remove(b.uuid, 'cli');
  const after = await Promise.all([a, c, d].map((node) => repair(t, node)));
  const rebuilt = after.reduce((n, r) => n + r.copies, 0);
  const bShards = index.chunks.filter(
    (ch) => ch.i !== 1 && ch.shards!.some((s) => s.holders[0]!.node === b.uuid),
  );
  t.assert.strictEqual(rebuilt, bShards.length, JSON.stringify(after));
  await c.daemon.close(1_000); // now any K = 2 of the 3 left must do: a and d
  const out = join(await tmpDir(t), 'film.out');
  const down = await d.daemon.jobs.submit('download', {
    file: id,
    out,
    force: false,
    allowUntrusted: false,
    idleMs: 5_000,
  });
  const got = await d.daemon.jobs.wait(down.id, { signal: signal(t) });
  t.assert.strictEqual(got.state, 'done', JSON.stringify(got.error));
  t.assert.strictEqual(sha256(await readFile(out)), sha256(bytes));
});

test('upload --encrypt --readers b: node b downloads the file, node c (trusted, not a reader) gets ERR_NOT_A_READER', async (t: TestContext) => {
  const homes = (await templates.homes(t)).slice(0, 3);
  await pairAll(homes);
  const [a, b, c] = (await startTestnet(t, homes, OPTIONS)) as [TestNode, TestNode, TestNode];
  const file = join(await tmpDir(t), 'letter.txt');
  const bytes = await randomFile(file, 2 * CHUNK + 5);
  const job = await a.daemon.jobs.submit('upload', {
    file,
    chunkSize: CHUNK,
    encrypt: true,
    readers: [b.uuid],
  });
  const done = await a.daemon.jobs.wait(job.id, { signal: signal(t) });
  t.assert.strictEqual(done.state, 'done', JSON.stringify(done.error));
  const id = (done.result as { id: string }).id;
  const index = await until('node c lists the file', () => c.daemon.catalog.store.indexOf(id));
  t.assert.deepStrictEqual(
    index.encryption?.keys.map((k) => k.node),
    [a.uuid, b.uuid],
  );
  const listed = c.daemon.ops.catalog.find(id);
  t.assert.deepStrictEqual([listed.redundancy, listed.encrypted], ['2', true]);
  const fetch = async (node: TestNode) => {
    const out = join(await tmpDir(t), 'letter.out');
    const down = await node.daemon.jobs.submit('download', {
      file: id,
      out,
      force: false,
      allowUntrusted: false,
    });
    return { out, job: await node.daemon.jobs.wait(down.id, { signal: signal(t) }) };
  };
  await until('node b lists the file', () => b.daemon.catalog.store.indexOf(id));
  const onB = await fetch(b);
  t.assert.strictEqual(onB.job.state, 'done', JSON.stringify(onB.job.error));
  t.assert.strictEqual(sha256(await readFile(onB.out)), sha256(bytes));
  const onC = await fetch(c);
  t.assert.strictEqual(onC.job.state, 'failed');
  t.assert.strictEqual(onC.job.error?.code, 'ERR_NOT_A_READER');
});

test('rm of an erasure-coded file: every node holding a shard moves it to its trash', async (t: TestContext) => {
  const homes = (await templates.homes(t)).slice(0, 3);
  await pairAll(homes);
  const nodes = (await startTestnet(t, homes, OPTIONS)) as [TestNode, TestNode, TestNode];
  const [a] = nodes;
  const file = join(await tmpDir(t), 'gone.bin');
  await randomFile(file, 2 * CHUNK + 3);
  const job = await a.daemon.jobs.submit('upload', { file, chunkSize: CHUNK, ec: '2+1' });
  const done = await a.daemon.jobs.wait(job.id, { signal: signal(t) });
  t.assert.strictEqual(done.state, 'done', JSON.stringify(done.error));
  const id = (done.result as { id: string }).id;
  const shards = a.daemon.catalog.store.indexOf(id)!.chunks.flatMap((ch) => ch.shards!.map((s) => s.uuid));
  for (const node of nodes)
    await until('every node lists the file', () => node.daemon.catalog.store.indexOf(id));
  await a.daemon.ops.catalog.remove(id, 'cli');
  for (const node of nodes) {
    await until(`node ${node.uuid} keeps no shard of the file`, async () => {
      for (const uuid of shards) if (await node.daemon.stores.has(uuid)) return false;
      return true;
    });
  }
});

test('a batch upload with ec 2+1 and encrypt seals each file with its own key; a download batch on a reader opens them bit-exact', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const [a, b] = (await startTestnet(t, homes, OPTIONS)) as [TestNode, TestNode, TestNode, TestNode];
  const dir = await tmpDir(t);
  const files = await Promise.all(
    ['one.bin', 'two.bin'].map(async (name, i) => {
      const path = join(dir, name);
      return { path, name: `album/${name}`, bytes: await randomFile(path, (i + 2) * CHUNK + 17) };
    }),
  );
  const up = await a.daemon.jobs.submit('upload-batch', {
    files: files.map(({ path, name }) => ({ path, name })),
    chunkSize: CHUNK,
    ec: '2+1',
    encrypt: true,
  });
  const stored = await a.daemon.jobs.wait(up.id, { signal: signal(t) });
  t.assert.strictEqual(stored.state, 'done', JSON.stringify(stored.error));
  const results = (stored.result as { files: Array<{ state: string; id: string }> }).files;
  t.assert.deepStrictEqual(
    results.map((r) => r.state),
    ['stored', 'stored'],
  );
  const indexes = await Promise.all(
    results.map((r) => until(`node b lists ${r.id}`, () => b.daemon.catalog.store.indexOf(r.id))),
  );
  for (const index of indexes) {
    t.assert.deepStrictEqual(index.redundancy, { scheme: 'rs', data: 2, parity: 1 });
    t.assert.ok(index.encryption !== undefined, 'the index carries wrapped keys');
  }
  t.assert.notDeepStrictEqual(
    indexes[0]?.encryption?.keys.map((k) => k.wrapped),
    indexes[1]?.encryption?.keys.map((k) => k.wrapped),
    'each file has its own key',
  );
  const out = await tmpDir(t);
  const down = await b.daemon.jobs.submit('download-batch', {
    files: results.map((r, i) => ({ file: r.id, out: join(out, `${i}.bin`) })),
  });
  const fetched = await b.daemon.jobs.wait(down.id, { signal: signal(t) });
  t.assert.strictEqual(fetched.state, 'done', JSON.stringify(fetched.error));
  for (const [i, file] of files.entries())
    t.assert.strictEqual(sha256(await readFile(join(out, `${i}.bin`))), sha256(file.bytes));
});
