/**
 * Orphan collection (docs/repair.md "Orphans") on an in-process 4-node testnet (real daemons, TLS,
 * sockets and disks): at the end of a repair pass each node moves to its trash the copies no live file
 * references — once old enough and once the catalog has synced with their uploader since they were
 * stored, or at once when their file is tombstoned — and keeps the others: a referenced copy, a young
 * one, one whose uploader has not been heard from since or still keeps an index of its file (asked on
 * the cluster port), one of an uploader a person removed (counted).
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { readNodeConfig, writeNodeConfig } from '../../src/home/node-config.ts';
import { askKept } from '../../src/node/kept.ts';
import type { RepairResult } from '../../src/ops/jobs.ts';
import { newUuid } from '../../src/uuid.ts';
import { randomFile } from '../cli/transfer-cluster.ts';
import { tmpDir } from '../helpers/context.ts';
import { testBytes } from '../helpers/random.ts';
import { pairAll, startTestnet, type TestNode, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';

const templates = testnetTemplates(4);
const CHUNK = 64 * 1024;
const OPTIONS = { catalogSyncMs: 200, heartbeatMs: 500, repair: { intervalMs: 0 } };

function signal(t: TestContext): AbortSignal {
  return t.signal ?? AbortSignal.timeout(120_000);
}

async function upload(t: TestContext, node: TestNode, size: number): Promise<string> {
  const file = join(await tmpDir(t), `f${size}.bin`);
  await randomFile(file, size);
  const job = await node.daemon.jobs.submit('upload', { file, chunkSize: CHUNK });
  const done = await node.daemon.jobs.wait(job.id, { signal: signal(t) });
  t.assert.strictEqual(done.state, 'done', JSON.stringify(done.error));
  return (done.result as { id: string }).id;
}

async function repair(t: TestContext, node: TestNode): Promise<RepairResult> {
  const job = await node.daemon.ops.jobs.submit('repair', {});
  const done = await node.daemon.jobs.wait(job.id, { signal: signal(t) });
  t.assert.strictEqual(done.state, 'done', JSON.stringify(done.error));
  return done.result as unknown as RepairResult;
}

/** Puts a copy of seeded bytes as chunk `uuid` on `node`, its sidecar naming `uploader` and `indexId`. */
async function putCopy(node: TestNode, uuid: string, uploader: string, indexId: string) {
  const bytes = testBytes(4096);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await using writer = await node.daemon.stores.beginPut(uuid, {
    size: bytes.length,
    meta: { uploader, indexId, i: 0 },
  });
  await writer.write(bytes);
  await writer.finish(sha256);
  const info = await node.daemon.stores.head(uuid);
  return Date.parse(info?.storedAt ?? '');
}

async function setOrphanAge(home: string, seconds: number): Promise<void> {
  const path = join(home, 'ADDC', 'node.json');
  await writeNodeConfig(path, { ...(await readNodeConfig(path)), orphanAgeSeconds: seconds }, true);
}

test('a repair pass trashes the copies no live file references once the uploader has synced, and keeps young, referenced and unheard-of ones', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  await setOrphanAge(homes[1]!, 0);
  const nodes = await startTestnet(t, homes, OPTIONS);
  const [a, b, c, d] = nodes as [TestNode, TestNode, TestNode, TestNode];
  t.assert.strictEqual(b.daemon.repair.settings.orphanAgeMs, 0);
  t.assert.strictEqual(c.daemon.repair.settings.orphanAgeMs, 86_400_000);

  const live = await upload(t, a, 3 * CHUNK + 5);
  const deleted = await upload(t, a, 2 * CHUNK);
  const liveChunks = a.daemon.catalog.store.indexOf(live)!.chunks.map((ch) => ch.uuid);
  const deletedChunks = a.daemon.catalog.store.indexOf(deleted)!.chunks.map((ch) => ch.uuid);
  for (const node of [b, c])
    await until('the file to delete reaches nodes b and c', () => node.daemon.catalog.store.indexOf(deleted));
  await a.daemon.ops.catalog.remove(deleted, 'cli');
  for (const node of [b, c]) {
    await until('the live file and the tombstone reach nodes b and c', () => {
      const store = node.daemon.catalog.store;
      return store.indexOf(live) !== undefined && store.tombstoneOf(deleted) !== undefined;
    });
    // The tombstone's own path (docs/catalog.md) trashes the copies of chunks its index listed.
    await until('the deleted file leaves no copy on b and c', async () => {
      for (const uuid of deletedChunks) if (await node.daemon.stores.has(uuid)) return false;
      return true;
    });
  }
  // Node d goes away and is not heard from again.
  await d.daemon.close(1_000);

  const heldBefore = async (node: TestNode) => {
    const out: string[] = [];
    for (const uuid of liveChunks) if (await node.daemon.stores.has(uuid)) out.push(uuid);
    return out;
  };
  const bLive = await heldBefore(b);
  const cLive = await heldBefore(c);

  const unreferenced = newUuid();
  const unheard = newUuid();
  const own = newUuid();
  const ofDeleted = newUuid();
  const keptFile = newUuid();
  const ofKept = newUuid();
  // The uploader keeps an index the catalog does not list (one over the catalog's size cap, say).
  await writeFile(join(a.home, 'indexes', `${keptFile}.json`), '{}\n');
  await putCopy(b, ofKept, a.uuid, keptFile);
  const storedAt = await putCopy(b, unreferenced, a.uuid, newUuid());
  await putCopy(b, unheard, d.uuid, newUuid());
  await putCopy(b, own, b.uuid, newUuid());
  await putCopy(c, unreferenced, a.uuid, newUuid()); // young on c: its safety age is a day
  await putCopy(c, ofDeleted, a.uuid, deleted); // a copy of the deleted file its index never listed

  await until("node b's catalog completes a sync with the uploader after the copy was stored", async () => {
    await b.daemon.catalog.sync(a.uuid);
    return (b.daemon.catalog.syncedAt(a.uuid) ?? 0) > storedAt;
  });
  const onB = await repair(t, b);
  t.assert.strictEqual(onB.orphans, 2, JSON.stringify(onB));
  t.assert.strictEqual(onB.orphansKept, 0);
  t.assert.strictEqual(await b.daemon.stores.has(unreferenced), false);
  t.assert.strictEqual(await b.daemon.stores.has(own), false);
  t.assert.strictEqual(await b.daemon.stores.has(unheard), true, 'its uploader has not been heard from');
  t.assert.strictEqual(await b.daemon.stores.has(ofKept), true, 'its uploader keeps that index');
  t.assert.deepStrictEqual(await heldBefore(b), bLive, 'referenced copies stay');

  const onC = await repair(t, c);
  t.assert.strictEqual(onC.orphans, 1, JSON.stringify(onC));
  t.assert.strictEqual(await c.daemon.stores.has(ofDeleted), false, 'a tombstoned file goes at once');
  t.assert.strictEqual(await c.daemon.stores.has(unreferenced), true, 'a young copy stays');
  t.assert.deepStrictEqual(await heldBefore(c), cLive, 'referenced copies stay');

  // A person removes node d: its unreferenced copy is kept, and counted.
  await b.daemon.ops.peers.remove(d.uuid, 'cli');
  const again = await repair(t, b);
  t.assert.strictEqual(again.orphans, 0);
  t.assert.strictEqual(again.orphansKept, 1);
  t.assert.strictEqual(await b.daemon.stores.has(unheard), true);
  t.assert.strictEqual((await b.daemon.stores.status()).trash.chunks >= 2, true);
  // GET /v1/node (and so `cluster nodes` on the peers) shows the last pass's figures.
  const info = await b.daemon.info();
  t.assert.deepStrictEqual({ ...info.orphans, at: undefined }, { collected: 0, kept: 1, at: undefined });
  const row = (await c.daemon.ops.peers.probe(signal(t))).find((p) => p.nodeUuid === b.uuid);
  t.assert.strictEqual(row?.state === 'online' ? row.orphans?.kept : undefined, 1);

  // The question of rule 7 on the cluster port: a file id that is not a canonical UUID is refused.
  const session = await b.daemon.pool.session(a.uuid, { signal: signal(t) });
  t.assert.strictEqual(await askKept(session, a.uuid, keptFile, signal(t)), true);
  await t.assert.rejects(askKept(session, a.uuid, '..%2F..%2Fx', signal(t)), { code: 'ERR_INVALID_UUID' });
});
