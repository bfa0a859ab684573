import { createHash } from 'node:crypto';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { type TestContext, test } from 'node:test';
import { SLOT_SIZE } from '../../src/chunk/ring.ts';
import { dropLaneRing, laneRing } from '../../src/transfer/hash-lanes.ts';
import { uploadFile } from '../../src/transfer/index.ts';
import { on, randomFile, testCluster } from './helpers.ts';

test('transfers share one hashing thread, kept for the next one after the last lane closes', async (t: TestContext) => {
  const upload = laneRing(8, SLOT_SIZE);
  const download = laneRing(4, SLOT_SIZE);
  t.assert.strictEqual(upload.threadId, download.threadId);
  await dropLaneRing(upload);
  await dropLaneRing(download);
  const next = laneRing(2, SLOT_SIZE);
  t.after(() => dropLaneRing(next));
  t.assert.strictEqual(next.threadId, download.threadId, 'no new thread for the next job');
});

test('lanes of the shared thread keep their hashes apart', async (t: TestContext) => {
  const a = laneRing(2, SLOT_SIZE);
  const b = laneRing(2, SLOT_SIZE);
  t.after(async () => {
    await dropLaneRing(a);
    await dropLaneRing(b);
  });
  const feed = async (ring: typeof a, bytes: Buffer, range: boolean) => {
    const slot = await ring.acquire();
    bytes.copy(ring.view(slot));
    ring.hold(slot, ring.hashWhole(slot, bytes.length, range));
    await ring.settle();
  };
  const x = Buffer.alloc(1000, 'x');
  const y = Buffer.alloc(3000, 'y');
  await Promise.all([feed(a, x, true), feed(b, y, false)]);
  const sha = (d: Buffer) => createHash('sha256').update(d).digest('hex');
  t.assert.strictEqual(await a.rangeDigest(), sha(x));
  t.assert.strictEqual(await a.digest(), sha(x));
  t.assert.strictEqual(await b.digest(), sha(y));
});

test('single-file uploads one after another reuse one ring instead of mapping fresh memory', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  const { path } = await randomFile(t, 3 * SLOT_SIZE + 5);
  const Memory = WebAssembly.Memory;
  let mapped = 0;
  // Counts the rings' shared memories (src/chunk/ring.ts) made while the uploads run.
  WebAssembly.Memory = class extends Memory {
    constructor(descriptor: WebAssembly.MemoryDescriptor) {
      super(descriptor);
      if (descriptor.shared === true) mapped++;
    }
  };
  t.after(() => {
    WebAssembly.Memory = Memory;
  });
  for (let k = 0; k < 5; k++) await uploadFile(path, { ...on(cluster), chunkSize: 2 * SLOT_SIZE });
  t.assert.ok(mapped <= 1, `${mapped} rings mapped for 5 uploads`);
});

test('dropping 32 MiB of rings runs a full collection, which frees their shared memory', async (t: TestContext) => {
  const { promise: collected, resolve } = Promise.withResolvers<void>();
  const observer = new PerformanceObserver((list) => {
    const major = list
      .getEntries()
      .some(
        (e) => (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR,
      );
    if (major) resolve();
  });
  observer.observe({ entryTypes: ['gc'] });
  t.after(() => observer.disconnect());
  for (let k = 0; k < 9; k++) await dropLaneRing(laneRing(4, SLOT_SIZE)); // 36 MiB
  const deadline = AbortSignal.timeout(30_000);
  await Promise.race([
    collected,
    new Promise((_, reject) =>
      deadline.addEventListener('abort', () => reject(new Error('no full collection within 30 s'))),
    ),
  ]);
});
