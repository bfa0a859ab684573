import { createHash } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { SLOT_SIZE } from '../../src/chunk/ring.ts';
import { dropLaneRing, laneRing } from '../../src/transfer/hash-lanes.ts';

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
