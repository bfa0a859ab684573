/**
 * HashThread: several buffer rings on one hash worker (a batch's pool, src/node/batch-jobs.ts), each
 * ring a lane with its own memory and its own whole-file hash.
 */
import { type TestContext, test } from 'node:test';
import { BufferRing, HashThread } from '../../src/chunk/ring.ts';
import { teardown } from '../helpers/context.ts';
import { testBytes } from '../helpers/random.ts';
import { KiB, sha256 } from './fixtures.ts';

/** Feeds `data` to the ring's whole-file hash piece by piece (slot-sized pieces). */
async function feed(ring: BufferRing, data: Buffer, from: number, to: number): Promise<void> {
  for (let at = from; at < to; at += ring.slotSize) {
    const slot = await ring.acquire();
    const piece = data.subarray(at, Math.min(to, at + ring.slotSize));
    piece.copy(ring.view(slot));
    ring.hold(slot, ring.hashWhole(slot, piece.length));
  }
}

test('rings of one HashThread share its worker and keep their whole-file hashes apart', async (t: TestContext) => {
  const thread = new HashThread();
  teardown(t).defer(() => thread.close());
  const rings = [0, 1, 2].map(() => new BufferRing(2, 4 * KiB, thread));
  for (const ring of rings) teardown(t).defer(() => ring.close());
  t.assert.strictEqual(new Set(rings.map((r) => r.threadId)).size, 1);
  const files = rings.map((_, k) => testBytes(40 * KiB + 17 * k));
  // Interleaved: a piece of each file in turn, all on the one worker.
  for (let at = 0; at < 48 * KiB; at += 8 * KiB) {
    await Promise.all(
      rings.map((ring, k) =>
        feed(ring, files[k]!, Math.min(at, files[k]!.length), Math.min(at + 8 * KiB, files[k]!.length)),
      ),
    );
  }
  t.assert.deepStrictEqual(
    await Promise.all(rings.map((r) => r.digest())),
    files.map((f) => sha256(f)),
  );
  // A ring used again after its digest starts a new hash; a closed ring's lane is dropped and the
  // others go on.
  await rings[0]!.close();
  await feed(rings[1]!, files[0]!, 0, files[0]!.length);
  t.assert.strictEqual(await rings[1]!.digest(), sha256(files[0]!));
  const late = new BufferRing(2, 4 * KiB, thread);
  teardown(t).defer(() => late.close());
  await feed(late, files[2]!, 0, files[2]!.length);
  t.assert.strictEqual(await late.digest(), sha256(files[2]!));
});

test('a ring whose HashThread was closed fails instead of waiting for a hash', async (t: TestContext) => {
  const thread = new HashThread();
  const ring = new BufferRing(2, 4 * KiB, thread);
  teardown(t).defer(() => ring.close());
  await thread.close();
  await t.assert.rejects(async () => {
    await feed(ring, testBytes(20 * KiB), 0, 20 * KiB);
    await ring.digest();
  });
  t.assert.throws(() => new BufferRing(2, 4 * KiB, thread), { code: 'ERR_INTERNAL' });
});
