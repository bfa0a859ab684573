/**
 * Page-aligned memory (src/chunk/aligned.ts) and the O_DIRECT writes it allows (src/chunk/writer.ts):
 * only memory recorded as page-aligned goes direct, and copyRange's ring memory is such memory.
 */

import { execFile } from 'node:child_process';
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { alignedBuffers, isPageAligned, onLocalDisk } from '../../src/chunk/aligned.ts';
import { copyRange } from '../../src/chunk/copy.ts';
import { PieceReader } from '../../src/chunk/reader.ts';
import { BufferRing } from '../../src/chunk/ring.ts';
import { PieceWriter } from '../../src/chunk/writer.ts';
import { ArozError } from '../../src/errors.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { directIoWorks } from '../helpers/direct-io.ts';
import { testBytes } from '../helpers/random.ts';
import { KiB, MiB } from './fixtures.ts';

const run = promisify(execFile);

test('only views at 4 KiB steps of recorded aligned memory count as page-aligned', (t: TestContext) => {
  const [a, b] = alignedBuffers(2, 64 * KiB);
  t.assert.ok(a !== undefined && b !== undefined);
  t.assert.strictEqual(a.buffer, b.buffer, 'one block');
  t.assert.deepStrictEqual([a.length, b.byteOffset], [64 * KiB, 64 * KiB]);
  t.assert.ok(isPageAligned(a) && isPageAligned(b) && isPageAligned(b.subarray(8 * KiB)));
  t.assert.ok(!isPageAligned(a.subarray(1)));
  t.assert.ok(!isPageAligned(Buffer.allocUnsafeSlow(MiB)), 'malloc memory is of unknown alignment');
  t.assert.throws(() => alignedBuffers(1, 1000), RangeError);
  t.assert.deepStrictEqual(alignedBuffers(0, 64 * KiB), [], 'none asked, none made');
});

test('copyRange writes whole pieces of the ring with O_DIRECT, and the bytes arrive intact', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const bytes = testBytes(3 * MiB + 5);
  await writeFile(join(dir, 'src'), bytes);
  const src = await open(join(dir, 'src'), 'r');
  teardown(t).defer(() => src.close());
  const dstPath = join(dir, 'dst');
  const dst = await open(dstPath, 'w');
  teardown(t).defer(() => dst.close());
  const writer = await PieceWriter.open(dstPath, dst, 'dst');
  teardown(t).defer(() => writer.close());
  const ring = new BufferRing();
  teardown(t).defer(() => ring.close());
  const { written } = await copyRange(ring, {
    src,
    srcName: 'src',
    srcPos: 0,
    length: bytes.length,
    dst: writer,
    dstPos: 0,
    hash: 'none',
    short: () => new ArozError('ERR_FILE_CHANGED', 'short'),
    onBytes: () => {},
    signal: undefined,
    doing: 'Copying',
  });
  await written;
  t.assert.strictEqual(writer.directBytes, (await directIoWorks(dir)) ? 3 * MiB : 0);
  t.assert.ok((await readFile(dstPath)).equals(bytes));
});

test('PieceReader reads whole aligned pieces with O_DIRECT, the rest through the page cache, all intact', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const path = join(dir, 'file');
  const bytes = testBytes(2 * MiB + 5);
  await writeFile(path, bytes);
  const fh = await open(path, 'r');
  teardown(t).defer(() => fh.close());
  const reader = await PieceReader.open(path, fh, 'file');
  teardown(t).defer(() => reader.close());
  const short = () => new ArozError('ERR_IO', 'short');
  const [a, b] = alignedBuffers(2, MiB);
  const c = Buffer.allocUnsafeSlow(5); // memory of unknown alignment
  await reader.read(a!, 0, short);
  await reader.read(b!, MiB, short);
  await reader.read(c, 2 * MiB, short);
  t.assert.ok(Buffer.concat([a!, b!, c]).equals(bytes));
  t.assert.strictEqual(reader.directBytes, (await directIoWorks(dir)) ? 2 * MiB : 0);
  await t.assert.rejects(reader.read(a!, 2 * MiB, short), { code: 'ERR_IO' }, 'the file ends first');
  await t.assert.rejects(reader.read(a!, 4 * MiB, short), { code: 'ERR_IO' }, 'past the end');
  await reader.read(b!, MiB, short);
  t.assert.ok(b!.equals(bytes.subarray(MiB, 2 * MiB)));
  t.assert.strictEqual(reader.directBytes, (await directIoWorks(dir)) ? 3 * MiB : 0, 'still direct');
});

test('PieceReader reads nothing direct from a path that names another file by now', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const path = join(dir, 'file');
  const bytes = testBytes(MiB);
  await writeFile(path, bytes);
  const fh = await open(path, 'r');
  teardown(t).defer(() => fh.close());
  await writeFile(join(dir, 'other'), testBytes(MiB));
  await rename(join(dir, 'other'), path); // the open file is now unnamed; the path is another file
  const reader = await PieceReader.open(path, fh, 'file');
  teardown(t).defer(() => reader.close());
  const [into] = alignedBuffers(1, MiB);
  await reader.read(into!, 0, () => new ArozError('ERR_IO', 'short'));
  t.assert.ok(into!.equals(bytes), 'the bytes of the file the handle has open');
  t.assert.strictEqual(reader.directBytes, 0);
});

test('onLocalDisk() is true on the disk file systems only: not on /proc, tmpfs, or a path that does not exist', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const { stdout } = await run('stat', ['--file-system', '--format=%T', dir]);
  const local = ['ext2/ext3', 'ext4', 'xfs', 'btrfs', 'f2fs', 'zfs', 'bcachefs', 'jfs'].includes(
    stdout.trim(),
  );
  t.assert.strictEqual(await onLocalDisk(dir), local, `the temp folder is on ${stdout.trim()}`);
  t.assert.strictEqual(await onLocalDisk(join(dir, 'missing')), false);
  t.assert.strictEqual(await onLocalDisk('/proc/self'), false);
  const shm = await run('stat', ['--file-system', '--format=%T', '/dev/shm']).catch(() => undefined);
  if (shm?.stdout.trim() === 'tmpfs') t.assert.strictEqual(await onLocalDisk('/dev/shm'), false);
});
