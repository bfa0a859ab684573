/**
 * A disk put's O_DIRECT path (src/store/disk-put.ts over src/chunk/writer.ts), on real files: whole
 * 4 KiB pieces of page-aligned memory go past the page cache; a short last piece, memory of unknown
 * alignment and a file system that refuses O_DIRECT go through it. Either way the committed chunk is
 * exactly the bytes written, and the reservation ends as before.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { alignedBuffers } from '../../src/chunk/aligned.ts';
import { CHUNKS_DIR, chunkPath } from '../../src/store/disk-layout.ts';
import { commitChunkFile, DiskPutTarget, ensureShard } from '../../src/store/disk-put.ts';
import { openChunkReader } from '../../src/store/disk-read.ts';
import { Reservations } from '../../src/store/space.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { directIoWorks, residentBytes } from '../helpers/direct-io.ts';
import { testBytes } from '../helpers/random.ts';
import { KiB, MiB, sha256, UPLOADER } from './helpers.ts';

const run = promisify(execFile);

/** A put target in store folder `root` for `size` bytes, with its reservation. */
async function target(t: TestContext, root: string, size: number) {
  const uuid = newUuid();
  const reservations = new Reservations();
  const reservation = reservations.reserve(size);
  await mkdir(join(root, CHUNKS_DIR), { recursive: true });
  const shard = await ensureShard(root, uuid);
  const put = await DiskPutTarget.create(shard, uuid, size, reservation, async (temp, info) => {
    await commitChunkFile(root, temp, info);
    return 'created';
  });
  teardown(t).defer(() => put.discard());
  return { uuid, put, reservation, reservations };
}

/** Writes `bytes` in 1 MiB pieces, each copied into the next of `buffers` (as a receiving node does). */
async function writeThrough(put: DiskPutTarget, bytes: Buffer, buffers: Buffer[]): Promise<void> {
  for (let offset = 0, k = 0; offset < bytes.length; offset += MiB, k++) {
    const buffer = buffers[k % buffers.length]!;
    const n = bytes.copy(buffer, 0, offset, offset + MiB);
    await put.write(buffer.subarray(0, n), offset);
  }
}

async function commit(put: DiskPutTarget, uuid: string, bytes: Buffer) {
  const info = { uuid, sha256: sha256(bytes), size: bytes.length, uploader: UPLOADER, storedAt: '' };
  return put.commit({ ...info, storedAt: new Date().toISOString() });
}

test('whole pieces of page-aligned buffers go past the page cache; the short last piece does not', async (t: TestContext) => {
  const root = await tmpDir(t);
  if (!(await directIoWorks(root))) return t.skip('the temp folder refuses O_DIRECT');
  const bytes = testBytes(3 * MiB + 5 * KiB + 3);
  const { uuid, put, reservation, reservations } = await target(t, root, bytes.length);
  await writeThrough(put, bytes, alignedBuffers(2, MiB));
  t.assert.strictEqual(put.directBytes, 3 * MiB, 'the three whole pieces went direct');
  t.assert.strictEqual(put.direct, true);
  t.assert.strictEqual(reservation.written, bytes.length);
  t.assert.strictEqual(await commit(put, uuid, bytes), 'created');
  t.assert.strictEqual(reservations.count, 0, 'the commit ended the reservation');
  const resident = await residentBytes(chunkPath(root, uuid));
  if (resident !== undefined) t.assert.ok(resident <= 8 * KiB, `${resident} bytes in the page cache`);
  t.assert.ok((await readFile(chunkPath(root, uuid))).equals(bytes));
});

/** Reads chunk `uuid` of the store at `root` as a get does, into one page-aligned 1 MiB buffer. */
async function readBack(root: string, uuid: string): Promise<Buffer> {
  const reader = await openChunkReader(root, uuid, 'the test store', {});
  const [buffer] = alignedBuffers(1, MiB);
  const pieces: Buffer[] = [];
  for (let n = await reader.read(buffer!); n > 0; n = await reader.read(buffer!)) {
    pieces.push(Buffer.from(buffer!.subarray(0, n)));
  }
  return Buffer.concat(pieces);
}

test('a get reads the whole pieces of a chunk past the page cache, and every byte arrives', async (t: TestContext) => {
  const root = await tmpDir(t);
  if (!(await directIoWorks(root))) return t.skip('the temp folder refuses O_DIRECT');
  const bytes = testBytes(3 * MiB + 5 * KiB + 3);
  const { uuid, put } = await target(t, root, bytes.length);
  await writeThrough(put, bytes, alignedBuffers(2, MiB));
  await commit(put, uuid, bytes);
  t.assert.ok((await readBack(root, uuid)).equals(bytes));
  const resident = await residentBytes(chunkPath(root, uuid));
  if (resident !== undefined) t.assert.ok(resident <= 8 * KiB, `${resident} bytes in the page cache`);
});

test('pieces from ordinary buffers go through the page cache and leave direct writes on', async (t: TestContext) => {
  const root = await tmpDir(t);
  const bytes = testBytes(2 * MiB);
  const { uuid, put } = await target(t, root, bytes.length);
  // Buffer.allocUnsafeSlow memory is not known to be page-aligned (malloc places it): never direct.
  await writeThrough(put, bytes, [Buffer.allocUnsafeSlow(MiB)]);
  t.assert.strictEqual(put.directBytes, 0);
  t.assert.strictEqual(put.direct, await directIoWorks(root), 'no refused write turned direct off');
  t.assert.strictEqual(await commit(put, uuid, bytes), 'created');
  t.assert.ok((await readFile(chunkPath(root, uuid))).equals(bytes));
});

test('a 4 KiB piece at an unaligned position goes through the page cache', async (t: TestContext) => {
  const root = await tmpDir(t);
  const bytes = testBytes(12 * KiB + 100);
  const { uuid, put } = await target(t, root, bytes.length);
  const [a, b] = alignedBuffers(2, 4 * KiB);
  bytes.copy(a!, 0, 0, 100);
  await put.write(a!.subarray(0, 100), 0);
  for (let offset = 100; offset < bytes.length; offset += 4 * KiB) {
    const n = bytes.copy(b!, 0, offset, offset + 4 * KiB);
    await put.write(b!.subarray(0, n), offset);
  }
  t.assert.strictEqual(put.directBytes, 0);
  t.assert.strictEqual(await commit(put, uuid, bytes), 'created');
  t.assert.ok((await readFile(chunkPath(root, uuid))).equals(bytes));
});

test('a discarded put removes its temp file and ends its reservation', async (t: TestContext) => {
  const root = await tmpDir(t);
  const { put, reservations } = await target(t, root, 2 * MiB);
  await writeThrough(put, testBytes(MiB), alignedBuffers(1, MiB));
  await put.discard();
  await put.discard();
  t.assert.strictEqual(reservations.count, 0);
  await t.assert.rejects(readFile(put.tempPath), { code: 'ENOENT' });
});

test('on a file system that refuses O_DIRECT (ramfs) the same pieces are written through the page cache', async (t: TestContext) => {
  const dir = await tmpDir(t);
  try {
    await run('mount', ['-t', 'ramfs', 'ramfs', dir]);
  } catch (err) {
    return t.skip(`mount -t ramfs is not permitted here (${(err as Error).message.split('\n')[0]})`);
  }
  teardown(t).defer(async () => {
    await run('umount', [dir]);
  });
  const root = join(dir, 'store');
  const bytes = testBytes(2 * MiB + 4 * KiB);
  const { uuid, put } = await target(t, root, bytes.length);
  t.assert.strictEqual(put.direct, false);
  await writeThrough(put, bytes, alignedBuffers(2, MiB));
  t.assert.strictEqual(put.directBytes, 0);
  t.assert.strictEqual(await commit(put, uuid, bytes), 'created');
  t.assert.ok((await readFile(chunkPath(root, uuid))).equals(bytes));
  t.assert.ok((await readBack(root, uuid)).equals(bytes), 'a get reads it through the page cache');
});
