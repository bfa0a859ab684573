/**
 * Node-to-node tasks against real daemons (in-process testnet: real TLS, sockets and disks): verify
 * answers ok / corrupt / missing and moves no chunk byte; copy moves the bytes holder → new holder
 * (counted per node by the holders' node API), refuses a wrong hash and keeps nothing, refuses a node
 * without room (ERR_NO_SPACE) and a full queue (ERR_BUSY), and the asker's abort cancels it; an
 * untrusted node's task request is refused before it is read.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { isArozError } from '../../src/errors.ts';
import { dialPeer } from '../../src/transport/client.ts';
import { askCopy, askVerify } from '../../src/transport/tasks.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown } from '../helpers/context.ts';
import { pairAll, startTestnet, type TestNode, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { member } from './api-testnet.ts';
import { flipByte, peerOf, putChunk } from './task-helpers.ts';

const exec = promisify(execFile);
const templates = testnetTemplates(3);
const KiB = 1024;

async function testnet(
  t: TestContext,
  options: Parameters<typeof startTestnet>[2] = {},
): Promise<TestNode[]> {
  const homes = await templates.homes(t);
  await pairAll(homes);
  return startTestnet(t, homes, options);
}

async function rejects(t: TestContext, work: Promise<unknown>, code: string): Promise<void> {
  await t.assert.rejects(work, (err: unknown) => isArozError(err) && err.code === code);
}

test("verify answers ok, corrupt (against the record or the asker's SHA-256) and missing, moving no chunk byte", async (t: TestContext) => {
  const [a, b] = await testnet(t);
  const chunk = await putChunk(b!, 200 * KiB);
  const peer = peerOf(a!, b!);
  const ok = await askVerify(peer, { chunk: chunk.uuid, sha256: chunk.sha256, size: chunk.size });
  t.assert.deepStrictEqual(ok, {
    chunk: chunk.uuid,
    state: 'ok',
    recorded: { sha256: chunk.sha256, size: chunk.size },
    actual: chunk.sha256,
  });
  const other = 'ab'.repeat(32);
  const wrong = await askVerify(peer, { chunk: chunk.uuid, sha256: other });
  t.assert.strictEqual(wrong.state, 'corrupt');
  t.assert.strictEqual(wrong.actual, chunk.sha256);
  const missing = await askVerify(peer, { chunk: newUuid() });
  t.assert.strictEqual(missing.state, 'missing');
  t.assert.strictEqual(missing.recorded, null);
  await flipByte(b!, chunk.uuid, 12345);
  const rotten = await askVerify(peer, { chunk: chunk.uuid, sha256: chunk.sha256 });
  t.assert.strictEqual(rotten.state, 'corrupt');
  t.assert.notStrictEqual(rotten.actual, chunk.sha256);
  t.assert.strictEqual(rotten.recorded?.sha256, chunk.sha256);
  t.assert.strictEqual(b!.daemon.traffic.servedBytes, 0);
  t.assert.strictEqual(b!.daemon.tasks.counts.verify, 4);
});

test('copy moves the bytes holder → new holder, never through the asker, and a second copy is a no-op', async (t: TestContext) => {
  const [a, b, c] = await testnet(t);
  const chunk = await putChunk(b!, 3 * 1024 * KiB + 17);
  const answer = await askCopy(peerOf(a!, c!), { ...chunk, chunk: chunk.uuid, from: [a!.uuid, b!.uuid] });
  t.assert.deepStrictEqual(answer, {
    chunk: chunk.uuid,
    result: 'created',
    source: b!.uuid,
    bytes: chunk.size,
  });
  const held = await c!.daemon.stores.head(chunk.uuid);
  t.assert.strictEqual(held?.sha256, chunk.sha256);
  t.assert.strictEqual(held?.uploader, b!.uuid); // the uploader may still delete it
  // Bytes per node, as each node's API served them: b → c only; nothing to or from a.
  t.assert.strictEqual(b!.daemon.traffic.served.get(c!.uuid), chunk.size);
  t.assert.strictEqual(b!.daemon.traffic.served.get(a!.uuid) ?? 0, 0);
  t.assert.strictEqual(a!.daemon.traffic.servedBytes, 0); // a listed itself first: it has no copy
  t.assert.strictEqual(c!.daemon.traffic.servedBytes, 0);
  t.assert.strictEqual(a!.daemon.traffic.received.size, 0);
  const again = await askCopy(peerOf(a!, c!), { ...chunk, chunk: chunk.uuid, from: [b!.uuid] });
  t.assert.deepStrictEqual(again, { chunk: chunk.uuid, result: 'exists', source: null, bytes: 0 });
  t.assert.strictEqual(b!.daemon.traffic.served.get(c!.uuid), chunk.size);
});

test('copy of a wrong SHA-256 is refused with ERR_CHUNK_HASH and nothing is kept', async (t: TestContext) => {
  const [a, b, c] = await testnet(t);
  const chunk = await putChunk(b!, 300 * KiB);
  const task = { chunk: chunk.uuid, sha256: 'cd'.repeat(32), size: chunk.size, from: [b!.uuid] };
  await rejects(t, askCopy(peerOf(a!, c!), task), 'ERR_CHUNK_HASH');
  t.assert.strictEqual(await c!.daemon.stores.head(chunk.uuid), undefined);
  const status = await c!.daemon.stores.status();
  t.assert.strictEqual(status.chunks, 0);
  t.assert.strictEqual(status.reserved, 0);
});

test('copy passes over a holder whose copy rotted for the next holder', async (t: TestContext) => {
  const [a, b, c] = await testnet(t);
  const chunk = await putChunk(b!, 300 * KiB, [a!]);
  await flipByte(b!, chunk.uuid, 777);
  const good = await askCopy(peerOf(a!, c!), { ...chunk, chunk: chunk.uuid, from: [b!.uuid, a!.uuid] });
  t.assert.strictEqual(good.source, a!.uuid);
  t.assert.strictEqual((await c!.daemon.stores.head(chunk.uuid))?.sha256, chunk.sha256);
});

test('copy onto a node without room is refused with ERR_NO_SPACE before a byte moves', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const store = join(homes[2]!, 'stores', 'default');
  await mkdir(store, { recursive: true });
  try {
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', store]);
  } catch (err) {
    t.skip(`mount -t tmpfs is not permitted here (${(err as Error).message.split('\n')[0]})`);
    return;
  }
  teardown(t).defer(async () => {
    await exec('umount', [store]);
  });
  const [a, b, c] = await startTestnet(t, homes);
  const chunk = await putChunk(b!, 2 * 1024 * KiB);
  await rejects(t, askCopy(peerOf(a!, c!), { ...chunk, chunk: chunk.uuid, from: [b!.uuid] }), 'ERR_NO_SPACE');
  t.assert.strictEqual(b!.daemon.traffic.servedBytes, 0);
  t.assert.strictEqual(c!.daemon.tasks.counts.refused, 1);
});

test("a full task queue is refused with ERR_BUSY, and the asker's abort cancels a running copy", async (t: TestContext) => {
  // One task at a time, one waiting; copies crawl at 1 KiB/s so the first one stays running.
  const [a, b, c] = await testnet(t, { tasks: { concurrency: 1, queue: 1, copyBytesPerSecond: 1024 } });
  const chunks = [await putChunk(b!, 64 * KiB), await putChunk(b!, 64 * KiB)];
  const peer = peerOf(a!, c!);
  const first = new AbortController();
  const running = askCopy(
    peer,
    { ...chunks[0]!, chunk: chunks[0]!.uuid, from: [b!.uuid] },
    { signal: first.signal },
  );
  running.catch(() => {});
  await until('the first copy runs', () => c!.daemon.tasks.active === 1);
  const second = new AbortController();
  const waiting = askCopy(
    peer,
    { ...chunks[1]!, chunk: chunks[1]!.uuid, from: [b!.uuid] },
    { signal: second.signal },
  );
  waiting.catch(() => {});
  await until('the second copy waits', () => c!.daemon.tasks.active === 2);
  await rejects(t, askVerify(peer, { chunk: chunks[0]!.uuid }), 'ERR_BUSY');
  first.abort(new Error('the asker gave up'));
  await t.assert.rejects(running);
  second.abort(new Error('the asker gave up'));
  await t.assert.rejects(waiting);
  await until('both tasks are gone', () => c!.daemon.tasks.active === 0);
  const status = await c!.daemon.stores.status();
  t.assert.strictEqual(status.chunks, 0);
  await until('no space stays reserved', async () => (await c!.daemon.stores.status()).reserved === 0);
  t.assert.strictEqual(await c!.daemon.stores.head(chunks[0]!.uuid), undefined);
});

test("a task that outlives the node's task timeout is cut with ERR_TIMEOUT and leaves nothing", async (t: TestContext) => {
  const [a, b, c] = await testnet(t, { tasks: { timeoutMs: 300, copyBytesPerSecond: 1024 } });
  const chunk = await putChunk(b!, 64 * KiB);
  await rejects(t, askCopy(peerOf(a!, c!), { ...chunk, chunk: chunk.uuid, from: [b!.uuid] }), 'ERR_TIMEOUT');
  await until('the task is gone', () => c!.daemon.tasks.active === 0);
  t.assert.strictEqual(await c!.daemon.stores.head(chunk.uuid), undefined);
  await until('no space stays reserved', async () => (await c!.daemon.stores.status()).reserved === 0);
});

test('a task request from a node that is not paired is refused before it is read', async (t: TestContext) => {
  const [a] = await testnet(t);
  const stranger = await member(0);
  const before = a!.daemon.server.refusals.length;
  await t.assert.rejects(
    (async () => {
      const session = await dialPeer({
        uuid: a!.uuid,
        host: a!.host,
        port: a!.daemon.server.address().port,
        identity: stranger.identity,
        pins: { isPinned: () => true },
      });
      session.destroy();
    })(),
  );
  t.assert.ok(a!.daemon.server.refusals.length > before);
  t.assert.strictEqual(a!.daemon.tasks.counts.verify + a!.daemon.tasks.counts.copy, 0);
});
