import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { transferStarts } from '../../src/buffer-pool.ts';
import { PieceWriter } from '../../src/chunk/writer.ts';
import { FetchBuffers, type FetchContext, writeLocal } from '../../src/transfer/fetch.ts';

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

test('an upload that starts lets the idle fetch rings go; a download that starts keeps them', async (t: TestContext) => {
  const first = new FetchBuffers();
  const ring = first.ring;
  first.release();
  await transferStarts('download');
  const second = new FetchBuffers();
  t.assert.ok(second.ring === ring, 'kept for the next download');
  second.release();
  await transferStarts('upload');
  const third = new FetchBuffers();
  t.assert.ok(third.ring !== ring, 'a fresh ring after an upload started');
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

test('pieces written to a partial file at once go one at a time, each to its place; a failed write fails only itself', async (t: TestContext) => {
  const dir = await mkdtemp(join(tmpdir(), 'arozdfs-fetch-write-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const fh = await open(join(dir, 'partial'), 'w+');
  t.after(() => fh.close());
  // The real handle, watched: how many of its writes run at once.
  let running = 0;
  let most = 0;
  const write = fh.write.bind(fh) as (...args: unknown[]) => Promise<{ bytesWritten: number }>;
  const watched = new Proxy(fh, {
    get(target, key) {
      if (key !== 'write') return Reflect.get(target, key, target);
      return async (...args: unknown[]) => {
        most = Math.max(most, ++running);
        try {
          return await write(...args);
        } finally {
          running--;
        }
      };
    },
  });
  const file = await PieceWriter.open(join(dir, 'partial'), watched, 'partial', false);
  const ctx = { file } as unknown as FetchContext;
  const piece = 256 * 1024;
  const pieces = [3, 0, 2, 1].map((k) => ({ k, bytes: Buffer.alloc(piece, 0x61 + k) }));
  await Promise.all(pieces.map(({ k, bytes }) => writeLocal(ctx, bytes, k * piece)));
  t.assert.strictEqual(most, 1);
  const expected = Buffer.concat([0, 1, 2, 3].map((k) => Buffer.alloc(piece, 0x61 + k)));
  t.assert.ok((await readFile(join(dir, 'partial'))).equals(expected));
  // A write that fails (a position the file cannot take) fails alone; the next one still lands.
  const bad = writeLocal(ctx, Buffer.alloc(1), Number.MAX_SAFE_INTEGER);
  const good = writeLocal(ctx, Buffer.from('z'), 0);
  await t.assert.rejects(bad);
  await good;
  t.assert.strictEqual((await readFile(join(dir, 'partial')))[0], 0x7a);
});
