import { createHash } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { FetchBuffers } from '../../src/transfer/fetch.ts';

test('a download gives its buffers back: the next download reuses them, a retired ring never', (t: TestContext) => {
  const first = new FetchBuffers();
  const ring = first.ring;
  first.release();
  const second = new FetchBuffers();
  t.assert.ok(second.ring === ring);
  second.retire(); // a read that timed out may still fill the old ring
  second.release();
  const third = new FetchBuffers();
  t.assert.ok(third.ring !== ring);
  third.drop();
});

test('a fetch ring hashes each range on the hash thread, and a restart forgets a cut-off range', async (t: TestContext) => {
  const buffers = new FetchBuffers();
  t.after(() => buffers.drop());
  const { ring } = buffers;
  const feed = async (bytes: Buffer) => {
    for (let at = 0; at < bytes.length; ) {
      const slot = await ring.acquire();
      const n = Math.min(ring.slotSize, bytes.length - at);
      bytes.copy(ring.view(slot), 0, at, at + n);
      ring.hold(slot, ring.hashRange(slot, n));
      at += n;
    }
    await ring.settle();
  };
  const a = Buffer.alloc(ring.slotSize * 2 + 12345, 'a');
  const b = Buffer.alloc(ring.slotSize + 7, 'b');
  ring.restartHashes();
  await feed(b.subarray(0, 1000)); // an attempt cut off half-way
  ring.restartHashes();
  await feed(a);
  t.assert.strictEqual(await ring.rangeDigest(), createHash('sha256').update(a).digest('hex'));
  ring.restartHashes();
  await feed(b);
  t.assert.strictEqual(await ring.rangeDigest(), createHash('sha256').update(b).digest('hex'));
});
