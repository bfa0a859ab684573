import { createHash } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import { copyRange, type PieceSink } from '../../src/chunk/copy.ts';
import { BufferRing } from '../../src/chunk/ring.ts';
import { PieceWriter } from '../../src/chunk/writer.ts';
import { ArozError } from '../../src/errors.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { testBytes, testRandom } from '../helpers/random.ts';
import { KiB, MiB, sha256 } from './fixtures.ts';

/**
 * Copies `data` (already in `src`) range by range through `ring` and checks every byte and hash. A ring
 * that handed out a slot before its write and its worker hash were over would corrupt the copy or the
 * whole-file hash: with 2 slots and hundreds of pieces in flight, that shows at once.
 */
async function copyThrough(
  t: TestContext,
  ring: BufferRing,
  data: Buffer,
  ranges: number[],
  sink: 'direct' | 'buffered' | 'slow',
  rangeHash: 'here' | 'ring' = 'here',
) {
  const dir = await tmpDir(t);
  const srcPath = join(dir, 'src.bin');
  await writeFile(srcPath, data);
  const src = await open(srcPath, 'r');
  teardown(t).defer(() => src.close());
  const dstPath = join(dir, 'dst.bin');
  const dst = await open(dstPath, 'w');
  teardown(t).defer(() => dst.close());
  const writer = await PieceWriter.open(dstPath, dst, 'dst', sink === 'direct');
  teardown(t).defer(() => writer.close());
  // A slow disk: each write waits a little before it copies the bytes, as a busy device would.
  const slow: PieceSink = {
    write: async (piece, position) => {
      await setTimeout(testRandom() < 0.5 ? 0 : 2);
      await writer.write(piece, position);
    },
  };
  const writes: Array<Promise<void>> = [];
  // Range hashes from the worker are asked for at once and read only at the end, as an upload does:
  // pieces of the next ranges are fed meanwhile and must not leak into an earlier range's digest.
  const digests: Array<{ offset: number; length: number; hex: Promise<string> }> = [];
  let offset = 0;
  for (const length of ranges) {
    const hash = createHash('sha256');
    const { written } = await copyRange(ring, {
      src,
      srcName: 'src',
      srcPos: offset,
      length,
      dst: sink === 'slow' ? slow : writer,
      dstPos: offset,
      hash: rangeHash === 'ring' ? 'ring' : hash,
      short: () => new ArozError('ERR_FILE_CHANGED', 'short'),
      onBytes: () => {},
      signal: undefined,
      doing: 'Copying',
    });
    writes.push(written);
    const hex = rangeHash === 'ring' ? ring.rangeDigest() : Promise.resolve(hash.digest('hex'));
    digests.push({ offset, length, hex });
    offset += length;
  }
  await Promise.all(writes);
  for (const d of digests) {
    t.assert.strictEqual(
      await d.hex,
      sha256(data.subarray(d.offset, d.offset + d.length)),
      `range at ${d.offset}`,
    );
  }
  t.assert.strictEqual(await ring.digest(), sha256(data), 'whole-file hash from the worker');
  t.assert.ok((await readFile(dstPath)).equals(data), 'the copy is byte-identical');
}

test('a 2-slot ring of 4 KiB never hands out a slot still being written or hashed', async (t: TestContext) => {
  const ring = new BufferRing(2, 4 * KiB);
  teardown(t).defer(() => ring.close());
  const data = testBytes(MiB + 123);
  const ranges: number[] = [];
  for (let left = data.length; left > 0; ) {
    const length = Math.min(left, 1 + Math.floor(testRandom() * 40 * KiB));
    ranges.push(length);
    left -= length;
  }
  await copyThrough(t, ring, data, ranges, 'slow');
});

test('the default ring copies many small, odd-sized ranges exactly, with and without O_DIRECT', async (t: TestContext) => {
  for (const sink of ['direct', 'buffered'] as const) {
    const ring = new BufferRing();
    teardown(t).defer(() => ring.close());
    const data = testBytes(3 * MiB + 5);
    const ranges = [
      4096,
      4097,
      1,
      MiB,
      MiB + 4096,
      8191,
      3 * MiB + 5 - (4096 + 4097 + 1 + MiB + MiB + 4096 + 8191),
    ];
    await copyThrough(t, ring, data, ranges, sink);
  }
});

test('with hash "ring", the worker hashes each range beside the whole file in one pass', async (t: TestContext) => {
  const ring = new BufferRing(2, 4 * KiB);
  teardown(t).defer(() => ring.close());
  const data = testBytes(MiB + 77);
  const ranges: number[] = [];
  for (let left = data.length; left > 0; ) {
    const length = Math.min(left, 1 + Math.floor(testRandom() * 40 * KiB));
    ranges.push(length);
    left -= length;
  }
  await copyThrough(t, ring, data, ranges, 'slow', 'ring');
});

test('a reused ring starts its range hash afresh too', async (t: TestContext) => {
  const first = new BufferRing(3, 4 * KiB);
  const slot = await first.acquire();
  first.view(slot).fill(7);
  await first.hashWhole(slot, 4 * KiB, true); // part of a chunk that is never digested (a cut job)
  await first.close();
  const second = new BufferRing(3, 4 * KiB);
  teardown(t).defer(() => second.close());
  const next = await second.acquire();
  second.view(next, 3).write('abc');
  await second.hashWhole(next, 3, true);
  t.assert.strictEqual(await second.rangeDigest(), sha256(Buffer.from('abc')));
  t.assert.strictEqual(await second.rangeDigest(), sha256(Buffer.alloc(0)));
});

test('digest() starts a new whole-file hash each time', async (t: TestContext) => {
  const ring = new BufferRing(2, 4 * KiB);
  teardown(t).defer(() => ring.close());
  t.assert.strictEqual(await ring.digest(), sha256(Buffer.alloc(0)));
  const slot = await ring.acquire();
  ring.view(slot, 3).set([1, 2, 3]);
  await ring.hashWhole(slot, 3);
  t.assert.strictEqual(await ring.digest(), sha256(Buffer.from([1, 2, 3])));
  t.assert.strictEqual(await ring.digest(), sha256(Buffer.alloc(0)));
});

test('a failed write is thrown by the next acquire()', async (t: TestContext) => {
  const ring = new BufferRing(2, 4 * KiB);
  teardown(t).defer(() => ring.close());
  const slot = await ring.acquire();
  ring.hold(slot, Promise.reject(new ArozError('ERR_NO_SPACE', 'full')));
  await ring.acquire().catch(() => {}); // the other slot, or the failure
  await t.assert.rejects(ring.acquire(), (err: unknown) => (err as ArozError).code === 'ERR_NO_SPACE');
});

test('a ring closed cleanly leaves its worker to the next ring, whose whole-file hash starts afresh', async (t: TestContext) => {
  const first = new BufferRing(3, 4 * KiB);
  const slot = await first.acquire();
  first.view(slot).fill(7);
  await first.hashWhole(slot, 4 * KiB); // part of a file that is never digested (a cut job)
  const thread = first.threadId;
  await first.close();
  const second = new BufferRing(3, 4 * KiB);
  teardown(t).defer(() => second.close());
  t.assert.strictEqual(second.threadId, thread);
  const next = await second.acquire();
  second.view(next, 3).write('abc');
  await second.hashWhole(next, 3);
  t.assert.strictEqual(await second.digest(), sha256(Buffer.from('abc')));
});

test('a ring that failed stops its worker: the next ring starts its own', async (t: TestContext) => {
  const failed = new BufferRing(3, 8 * KiB);
  failed.fail(new ArozError('ERR_IO', 'the disk went away'));
  const thread = failed.threadId;
  await failed.close();
  const next = new BufferRing(3, 8 * KiB);
  teardown(t).defer(() => next.close());
  t.assert.notStrictEqual(next.threadId, thread);
});
