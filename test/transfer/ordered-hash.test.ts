import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { PieceReader } from '../../src/chunk/reader.ts';
import { SLOT_SIZE } from '../../src/chunk/ring.ts';
import type { IndexChunk } from '../../src/index-file/types.ts';
import { dropLaneRing, laneRing } from '../../src/transfer/hash-lanes.ts';
import { OrderedHash } from '../../src/transfer/ordered-hash.ts';

const CHUNK = 2 * SLOT_SIZE;

/** Two chunks of 2 MiB in a fresh partial file, an OrderedHash over them, and every read reported. */
async function setup(t: TestContext) {
  const dir = await mkdtemp(join(tmpdir(), 'arozdfs-ordered-'));
  const path = join(dir, 'partial');
  const handle = await open(path, 'w+');
  const reader = await PieceReader.open(path, handle, '"partial"');
  const ring = laneRing(2, SLOT_SIZE);
  t.after(async () => {
    await reader.close();
    await handle.close();
    await dropLaneRing(ring);
    await rm(dir, { recursive: true, force: true });
  });
  const bytes = Buffer.alloc(2 * CHUNK);
  for (let k = 0; k < bytes.length; k++) bytes[k] = (k * 31 + (k >> 12)) & 0xff;
  const chunks: IndexChunk[] = [0, 1].map((i) => {
    const part = bytes.subarray(i * CHUNK, (i + 1) * CHUNK);
    const sha256 = createHash('sha256').update(part).digest('hex');
    return { i, offset: i * CHUNK, size: CHUNK, sha256, uuid: randomUUID() };
  });
  const reads: number[] = [];
  let waiter: { bytes: number; resolve: () => void } | undefined;
  const hash = new OrderedHash(ring, reader, chunks, (read) => {
    reads.push(read);
    if (waiter !== undefined && read >= waiter.bytes) waiter.resolve();
  });
  /** Until `bytes` bytes of the file were read back; fails after 20 s. */
  const readTo = async (bytes: number) => {
    if ((reads.at(-1) ?? 0) >= bytes) return;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    waiter = { bytes, resolve };
    const deadline = setTimeout(() => reject(new Error(`never read ${bytes} bytes; read ${reads}`)), 20_000);
    await promise.finally(() => clearTimeout(deadline));
  };
  const put = (data: Buffer, position: number) => handle.write(data, 0, data.length, position);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { bytes, hash, reads, readTo, put, sha256 };
}

test('the whole-file hash reads a chunk as far as it is written, before the chunk is verified', async (t: TestContext) => {
  const { bytes, hash, reads, readTo, put, sha256 } = await setup(t);
  const hashing = hash.run();
  await put(bytes.subarray(0, SLOT_SIZE), 0);
  hash.written(0, SLOT_SIZE);
  await readTo(SLOT_SIZE); // neither chunk is done yet
  await put(bytes.subarray(SLOT_SIZE), SLOT_SIZE);
  hash.written(0, CHUNK);
  hash.written(1, CHUNK);
  await readTo(CHUNK);
  t.assert.deepStrictEqual(reads, [SLOT_SIZE, CHUNK], 'chunk 1 waits until chunk 0 is verified');
  hash.done(0);
  hash.done(1);
  t.assert.strictEqual(await hashing, sha256);
  t.assert.deepStrictEqual(
    reads,
    [1, 2, 3, 4].map((k) => k * SLOT_SIZE),
  );
});

test('a chunk whose fetch fails after part of it was read back makes the hash start again', async (t: TestContext) => {
  const { bytes, hash, reads, readTo, put, sha256 } = await setup(t);
  const hashing = hash.run();
  await put(bytes.subarray(0, CHUNK), 0);
  hash.written(0, CHUNK);
  hash.done(0);
  await put(Buffer.alloc(SLOT_SIZE, 0xee), CHUNK); // a corrupt copy's first piece
  hash.written(1, SLOT_SIZE);
  await readTo(CHUNK + SLOT_SIZE);
  hash.restart(1);
  await put(bytes.subarray(CHUNK), CHUNK); // the next copy, intact
  hash.written(1, CHUNK);
  hash.done(1);
  t.assert.strictEqual(await hashing, sha256);
  t.assert.deepStrictEqual(
    reads,
    [1, 2, 3, 1, 2, 3, 4].map((k) => k * SLOT_SIZE),
  );
});

test('a chunk that restarts before any of it was read back costs no second pass', async (t: TestContext) => {
  const { bytes, hash, reads, readTo, put, sha256 } = await setup(t);
  const hashing = hash.run();
  await put(bytes.subarray(0, CHUNK), 0);
  hash.written(0, CHUNK);
  await put(Buffer.alloc(SLOT_SIZE, 0xee), CHUNK);
  hash.written(1, SLOT_SIZE); // written, but chunk 0 is not verified: chunk 1 is not begun
  await readTo(CHUNK);
  hash.restart(1);
  hash.done(0);
  await put(bytes.subarray(CHUNK), CHUNK);
  hash.written(1, CHUNK);
  hash.done(1);
  t.assert.strictEqual(await hashing, sha256);
  t.assert.deepStrictEqual(
    reads,
    [1, 2, 3, 4].map((k) => k * SLOT_SIZE),
  );
});

test('a download that stops while the hash waits for a chunk rejects the hash with its reason', async (t: TestContext) => {
  const { hash } = await setup(t);
  const hashing = hash.run();
  hash.stop(new Error('the download failed'));
  await t.assert.rejects(hashing, /the download failed/);
});
