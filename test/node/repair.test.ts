/**
 * Repair on an in-process 4-node testnet (real daemons, TLS, sockets and disks; docs/repair.md): after
 * the uploader is stopped for good, its store wiped and the node removed by a person, a `repair` job
 * on the survivors brings every chunk back to its copies (seen by check through the catalog's
 * holdings statements), the bytes travelling holder → new holder only; then a second node stops and
 * every file still downloads bit-exact. A node without room for a chunk gets no copy: another does;
 * one that seemed to have room refuses the copy (ERR_NO_SPACE), and another node gets it. A copy the
 * scrub quarantined is replaced at once; an unreachable node's copies after the delay (periodic
 * pass); a node that comes back has its replaced copies collected.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { readNodeConfig, writeNodeConfig } from '../../src/home/node-config.ts';
import type { RepairResult } from '../../src/ops/jobs.ts';
import { askCopy } from '../../src/transport/tasks.ts';
import { randomFile, sha256 } from '../cli/transfer-cluster.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { pairAll, startTestnet, type TestNode, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { flipByte, type PutChunk, peerOf, putChunk } from './task-helpers.ts';

const exec = promisify(execFile);
const templates = testnetTemplates(4);
const CHUNK = 64 * 1024;
const OPTIONS = { catalogSyncMs: 200, heartbeatMs: 500, repair: { intervalMs: 0 } };

function signal(t: TestContext): AbortSignal {
  return t.signal ?? AbortSignal.timeout(120_000);
}

async function upload(t: TestContext, node: TestNode, size: number, extra: Record<string, unknown> = {}) {
  const file = join(await tmpDir(t), `f${size}.bin`);
  const bytes = await randomFile(file, size);
  const job = await node.daemon.jobs.submit('upload', { file, chunkSize: CHUNK, ...extra });
  const done = await node.daemon.jobs.wait(job.id, { signal: signal(t) });
  t.assert.strictEqual(done.state, 'done', JSON.stringify(done.error));
  return { id: (done.result as { id: string }).id, sha256: sha256(bytes), size };
}

async function repair(
  t: TestContext,
  node: TestNode,
  params: Record<string, unknown> = {},
): Promise<RepairResult> {
  const job = await node.daemon.ops.jobs.submit('repair', params);
  const done = await node.daemon.jobs.wait(job.id, { signal: signal(t) });
  t.assert.strictEqual(done.state, 'done', JSON.stringify(done.error));
  return done.result as unknown as RepairResult;
}

/** A node leaves for good: stopped, its stores wiped, removed by a person on every other node. */
async function lose(gone: TestNode, others: TestNode[]): Promise<void> {
  await gone.daemon.close(1_000);
  await rm(join(gone.home, 'stores'), { recursive: true, force: true });
  for (const node of others) await node.daemon.ops.peers.remove(gone.uuid, 'cli');
}

/** The chunk bytes each node served to its peers (chunk GETs) and received (chunk PUTs). */
function traffic(nodes: TestNode[]) {
  return nodes.map((n) => ({
    served: n.daemon.traffic.servedBytes,
    received: [...n.daemon.traffic.received.values()].reduce((a, b) => a + b, 0),
  }));
}

test('after a node is lost for good, repair brings every chunk back to 2 good copies, bytes going holder → new holder; a second loss loses nothing', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const nodes = await startTestnet(t, homes, OPTIONS);
  const [lost, a, b, c] = nodes as [TestNode, TestNode, TestNode, TestNode];
  const files = [
    await upload(t, lost, 3 * CHUNK + 17),
    await upload(t, lost, 5 * CHUNK),
    await upload(t, a, 2 * CHUNK + 1),
    await upload(t, b, 7 * CHUNK + 3),
  ];
  for (const node of [a, b, c]) {
    await until(`node ${node.uuid} lists every file`, () =>
      files.every((f) => node.daemon.catalog.store.indexOf(f.id) !== undefined),
    );
  }
  const held = files.flatMap((f) =>
    a.daemon.catalog.store
      .indexOf(f.id)!
      .chunks.filter((ch) => (ch.holders ?? []).some((h) => h.node === lost.uuid)),
  );
  t.assert.ok(held.length > 0, 'the lost node held copies');
  await lose(lost, [a, b, c]);
  const before = traffic([a, b, c]);
  // The three survivors notice the loss at once: each repairs only the chunks it is the repairer of.
  const results = await Promise.all([a, b, c].map((node) => repair(t, node)));
  const after = traffic([a, b, c]);
  const copies = results.reduce((n, r) => n + r.copies, 0);
  const bytes = results.reduce((n, r) => n + r.bytes, 0);
  t.assert.strictEqual(copies, held.length, JSON.stringify(results));
  t.assert.strictEqual(
    bytes,
    held.reduce((n, ch) => n + ch.size, 0),
  );
  t.assert.ok(results.every((r) => r.failures.length === 0 && r.stillShort === 0 && r.gone.length === 0));
  // Every byte moved was served by a holder to a new holder (a GET); nothing was pushed (PUT).
  const served = after.reduce((n, x, k) => n + x.served - before[k]!.served, 0);
  t.assert.strictEqual(served, bytes);
  t.assert.deepStrictEqual(
    after.map((x, k) => x.received - before[k]!.received),
    [0, 0, 0],
  );
  // Check (deep: each holder hashes its own copy) sees 2 good copies of every chunk, from any node.
  for (const file of files) {
    await until(`check of ${file.id} on node b sees 2 good copies of every chunk`, async () => {
      const report = await b.daemon.ops.check.file(file.id, { deep: true, signal: signal(t) });
      return report.chunks.every((ch) => ch.good === 2) ? report : undefined;
    });
  }
  // A second pass finds nothing to do.
  const again = await repair(t, a);
  t.assert.strictEqual(again.copies, 0);
  t.assert.strictEqual(again.underReplicated, 0);
  // Now a second node stops: every file still downloads bit-exact.
  await a.daemon.close(1_000);
  const out = await tmpDir(t);
  for (const file of files) {
    const path = join(out, `${file.id}.out`);
    // The lost node's indexes were accepted while it was trusted: its retired key still reads them.
    const job = await c.daemon.jobs.submit('download', {
      file: file.id,
      out: path,
      force: false,
      allowUntrusted: false,
      idleMs: 5_000,
    });
    const done = await c.daemon.jobs.wait(job.id, { signal: signal(t) });
    t.assert.strictEqual(done.state, 'done', JSON.stringify(done.error));
    t.assert.strictEqual(sha256(await readFile(path)), file.sha256);
  }
});

test('a node without room for a chunk gets no copy: another node is chosen', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const small = join(homes[2]!, 'stores', 'default');
  await mkdir(small, { recursive: true });
  try {
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]);
  } catch (err) {
    t.skip(`mount -t tmpfs is not permitted here (${(err as Error).message.split('\n')[0]})`);
    return;
  }
  teardown(t).defer(async () => {
    await exec('umount', [small]);
  });
  const nodes = await startTestnet(t, homes, OPTIONS);
  const [lost, a, full, roomy] = nodes as [TestNode, TestNode, TestNode, TestNode];
  const file = await upload(t, lost, 4 * CHUNK, { nodes: [lost.uuid, a.uuid] });
  await until('node a lists the file', () => a.daemon.catalog.store.indexOf(file.id));
  await lose(lost, [a, full, roomy]);
  const result = await repair(t, a, { file: file.id });
  t.assert.strictEqual(result.copies, 4, JSON.stringify(result));
  t.assert.strictEqual((await full.daemon.stores.status()).chunks, 0);
  t.assert.strictEqual((await roomy.daemon.stores.status()).chunks, 4);
});

test('a copy the scrub quarantined counts no more at once: the good holder has a third node copy it', async (t: TestContext) => {
  const homes = (await templates.homes(t)).slice(0, 3);
  await pairAll(homes);
  const scrub = { startDelayMs: 0, passSeconds: 3600, maxBytesPerSecond: 256 * 1024 * 1024 };
  const [a, b, c] = (await startTestnet(t, homes, { ...OPTIONS, scrub })) as [TestNode, TestNode, TestNode];
  const file = await upload(t, a, 2 * CHUNK, { nodes: [a.uuid, b.uuid] });
  const index = await until('node a lists the file', () => a.daemon.catalog.store.indexOf(file.id));
  const rotten = index.chunks[0]!;
  await until('the first scrub pass on node b', () => b.daemon.scrub.passes >= 1);
  await flipByte(b, rotten.uuid, 100);
  b.daemon.scrub.wake();
  await until(
    'node b quarantines the rotten copy',
    async () => (await b.daemon.stores.head(rotten.uuid)) === undefined,
  );
  const result = await repair(t, a);
  t.assert.strictEqual(result.underReplicated, 1, JSON.stringify(result));
  t.assert.strictEqual(result.copies, 1);
  t.assert.strictEqual((await c.daemon.stores.head(rotten.uuid))?.sha256, rotten.sha256);
  t.assert.strictEqual(await c.daemon.stores.head(index.chunks[1]!.uuid), undefined);
});

test('the periodic pass replaces the copies of a node unreachable for longer than the delay', async (t: TestContext) => {
  const homes = (await templates.homes(t)).slice(0, 3);
  await pairAll(homes);
  const [a, b, c] = (await startTestnet(t, homes, {
    ...OPTIONS,
    repair: { goneMs: 300, intervalMs: 100 },
  })) as [TestNode, TestNode, TestNode];
  const file = await upload(t, a, 3 * CHUNK, { nodes: [a.uuid, b.uuid] });
  await until('node a lists the file', () => a.daemon.catalog.store.indexOf(file.id));
  t.assert.strictEqual((await c.daemon.stores.status()).chunks, 0, 'nothing to repair while b is there');
  await b.daemon.close(1_000); // stopped, not removed: its copies count until the delay has passed
  await until(
    'node c holds a copy of every chunk',
    async () => (await c.daemon.stores.status()).chunks === 3,
  );
  await until('a pass of node a reports node b as gone', () => a.daemon.repair.last?.gone.includes(b.uuid));
  // c stores a copy before node a has its answer: wait for a to count all three, then no more.
  await until('node a counts the three copies', () => a.daemon.repair.counts.copies >= 3);
  t.assert.strictEqual(a.daemon.repair.counts.copies, 3);
});

test('a node that comes back after its copies were replaced: the extra copies are collected into the trash, not counted twice', async (t: TestContext) => {
  const homes = (await templates.homes(t)).slice(0, 3);
  await pairAll(homes);
  const [a, b, c] = (await startTestnet(t, homes, OPTIONS)) as [TestNode, TestNode, TestNode];
  const file = await upload(t, a, 3 * CHUNK, { nodes: [a.uuid, b.uuid] });
  await until('node c lists the file', () => c.daemon.catalog.store.indexOf(file.id));
  await b.daemon.close(1_000);
  // Stopped, not removed: without --now its copies still count (it is only away).
  t.assert.strictEqual((await repair(t, a)).copies, 0);
  const replaced = await repair(t, a, { now: true });
  t.assert.strictEqual(replaced.copies, 3, JSON.stringify(replaced));
  t.assert.deepStrictEqual(replaced.gone, [b.uuid]);
  const [back] = await startTestnet(t, [b.home], OPTIONS);
  for (const node of [a, c]) {
    node.daemon.addPeerAddress(back!.uuid, { host: back!.host, port: back!.daemon.server.address().port });
    back!.daemon.addPeerAddress(node.uuid, { host: node.host, port: node.daemon.server.address().port });
  }
  let collected = 0;
  await until('node c collects its 3 extra copies', async () => {
    collected += (await repair(t, c)).collected;
    return collected === 3;
  });
  t.assert.strictEqual((await c.daemon.stores.status()).chunks, 0);
  // GET /v1/node's figures are cached for a second.
  await until('node c shows 3 chunks in its trash', async () => (await c.daemon.info()).trash?.chunks === 3);
  const after = await repair(t, a);
  t.assert.strictEqual(after.copies, 0);
  t.assert.strictEqual(after.underReplicated, 0);
  t.assert.strictEqual(after.collected, 0);
  await until('check on node a sees exactly 2 good copies of every chunk', async () => {
    const report = await a.daemon.ops.check.file(file.id, { signal: signal(t) });
    return report.chunks.every((ch) => ch.good === 2 && ch.holders.length === 2) ? report : undefined;
  });
});

/** Tells every node where the others are (nodes started one by one all listen on 127.0.0.2). */
function introduce(nodes: TestNode[]): void {
  for (const node of nodes) {
    for (const other of nodes) {
      if (other !== node)
        node.daemon.addPeerAddress(other.uuid, {
          host: other.host,
          port: other.daemon.server.address().port,
        });
    }
  }
}

test('a node that seemed to have room but refuses the copy (ERR_NO_SPACE) is reported, and another node gets the copy', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const small = join(homes[2]!, 'stores', 'default');
  await mkdir(small, { recursive: true });
  try {
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=1792k', 'tmpfs', small]);
  } catch (err) {
    t.skip(`mount -t tmpfs is not permitted here (${(err as Error).message.split('\n')[0]})`);
    return;
  }
  teardown(t).defer(async () => {
    await exec('umount', [small]);
  });
  const start = async (home: string, options: Record<string, unknown> = {}) =>
    (await startTestnet(t, [home], { ...OPTIONS, ...options }))[0]!;
  const lost = await start(homes[0]!);
  const a = await start(homes[1]!);
  // Node x takes one task at a time, slowly: a copy running there holds its space in the store, one
  // waiting holds it only as a promise, which its free space (what a peer's probe sees) does not show.
  // Sizes leave wide margins both ways (a store's own files take some of the 1792 KiB): the probe sees
  // about 1.6 MiB for the 1 MiB chunk, the promise leaves under 0.9 MiB. With 1536 KiB and a 512 KiB
  // promise the probe's margin was thin.
  const x = await start(homes[2]!, { tasks: { concurrency: 1, copyBytesPerSecond: 1024 } });
  introduce([lost, a, x]);
  const file = await upload(t, lost, 1024 * 1024, { nodes: [lost.uuid, a.uuid], chunkSize: 1024 * 1024 });
  await until('node a lists the file', () => a.daemon.catalog.store.indexOf(file.id));
  const running = await putChunk(a, 128 * 1024);
  const waiting = await putChunk(a, 768 * 1024);
  const stop = new AbortController();
  teardown(t).defer(() => stop.abort(new Error('the test is over')));
  // The two copies hold x until the test is over (the small one alone takes 128 s at 1 KiB/s): the
  // asker's default deadline (60 s) would cancel them on a slow machine, and x, with room again, would
  // take the 1 MiB copy at 1 KiB/s, holding that pass until its own deadline. They are asked one after
  // the other: two asked at once reach x's queue in the order their first disk reads end (1 run in 10
  // under load, the large one ran: the probe saw 0.96 MiB and no pass asked x).
  const ask = (chunk: PutChunk) =>
    askCopy(
      peerOf(a, x),
      { ...chunk, chunk: chunk.uuid, from: [a.uuid] },
      { signal: stop.signal, timeoutMs: 10 * 60_000 },
    ).catch(() => {});
  ask(running);
  await until(
    'node x runs the small copy (its put holds the space)',
    async () => (await x.daemon.stores.status()).reserved === running.size,
  );
  ask(waiting);
  await until('node x runs one copy and has one waiting', () => x.daemon.tasks.active === 2);
  const seen = await x.daemon.stores.status();
  t.assert.ok(seen.free >= file.size, `node x seems to have room: ${JSON.stringify(seen)}`);
  await lose(lost, [a, x]);
  // A pass asks only the nodes its probe reached (5 s each): on a busy machine a pass may miss x, so
  // passes run until one has asked it.
  const refused = await until(
    'a pass of node a asks node x for the copy',
    async () => {
      const result = await repair(t, a);
      return result.failures.length > 0 || result.copies > 0 ? result : undefined;
    },
    { timeoutMs: 80_000 },
  );
  t.assert.strictEqual(refused.copies, 0, JSON.stringify(refused));
  t.assert.strictEqual(refused.stillShort, 1);
  t.assert.deepStrictEqual(
    refused.failures.map((f) => [f.node, f.code]),
    [[x.uuid, 'ERR_NO_SPACE']],
  );
  // Another node with room comes: the next pass has it copy the chunk.
  const y = await start(homes[3]!);
  introduce([a, x, y]);
  await y.daemon.ops.peers.remove(lost.uuid, 'cli');
  const repaired = await until('a pass of node a makes the copy on node y', async () => {
    const result = await repair(t, a);
    return result.copies === 1 ? result : undefined;
  });
  t.assert.strictEqual(repaired.stillShort, 0);
  const chunk = a.daemon.catalog.store.indexOf(file.id)!.chunks[0]!;
  t.assert.strictEqual((await y.daemon.stores.head(chunk.uuid))?.sha256, chunk.sha256);
  t.assert.strictEqual(await x.daemon.stores.head(chunk.uuid), undefined);
});

test("node.json's repairGoneSeconds, repairIntervalSeconds and orphanAgeSeconds are read by the daemon (defaults 15 and 10 minutes, a day)", async (t: TestContext) => {
  const homes = (await templates.homes(t)).slice(0, 2);
  const path = join(homes[0]!, 'ADDC', 'node.json');
  const config = await readNodeConfig(path);
  await writeNodeConfig(
    path,
    { ...config, repairGoneSeconds: 60, repairIntervalSeconds: 0, orphanAgeSeconds: 120 },
    true,
  );
  const [a, b] = (await startTestnet(t, homes)) as [TestNode, TestNode];
  t.assert.deepStrictEqual(a.daemon.repair.settings, { goneMs: 60_000, intervalMs: 0, orphanAgeMs: 120_000 });
  t.assert.deepStrictEqual(b.daemon.repair.settings, {
    goneMs: 900_000,
    intervalMs: 600_000,
    orphanAgeMs: 86_400_000,
  });
});
