import { execFile } from 'node:child_process';
import { appendFileSync, truncateSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { sliceFile } from '../../src/chunk/index.ts';
import { decodeIndex, EMPTY_SHA256, isLocalIndex } from '../../src/index-file/index.ts';
import { isUuid } from '../../src/uuid.ts';
import { tmpDir } from '../helpers/context.ts';
import { KiB, listTree, MiB, randomFile, rejectsWith, sha256 } from './fixtures.ts';

const run = promisify(execFile);

test('sliceFile() writes UUID-named chunks and a local index.json last; the last chunk is short', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'movie.mkv');
  const data = await randomFile(file, 3 * 64 * KiB + 1000);
  const { index, indexPath, outDir } = await sliceFile(file, { chunkSize: 64 * KiB });
  t.assert.strictEqual(outDir, `${file}.chunks`);
  t.assert.strictEqual(indexPath, join(outDir, 'index.json'));
  t.assert.deepStrictEqual(decodeIndex(await readFile(indexPath)), index, 'index.json holds the result');
  t.assert.ok(isLocalIndex(index));
  t.assert.ok(isUuid(index.id));
  t.assert.deepStrictEqual(index.file, { name: 'movie.mkv', size: data.length, sha256: sha256(data) });
  t.assert.strictEqual(index.chunkSize, 64 * KiB);
  t.assert.deepStrictEqual(index.redundancy, { scheme: 'replicas', copies: 1 });
  t.assert.deepStrictEqual(
    index.chunks.map((c) => [c.i, c.offset, c.size]),
    [
      [0, 0, 65536],
      [1, 65536, 65536],
      [2, 131072, 65536],
      [3, 196608, 1000],
    ],
  );
  for (const chunk of index.chunks) {
    t.assert.ok(isUuid(chunk.uuid), chunk.uuid);
    const bytes = await readFile(join(outDir, chunk.uuid));
    t.assert.ok(bytes.equals(data.subarray(chunk.offset, chunk.offset + chunk.size)), `chunk ${chunk.i}`);
    t.assert.strictEqual(chunk.sha256, sha256(bytes));
  }
  t.assert.deepStrictEqual(await listTree(outDir), [...index.chunks.map((c) => c.uuid), 'index.json'].sort());
});

test('sliceFile() of an empty file writes an index with zero chunks', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'empty');
  await writeFile(file, '');
  const { index, outDir } = await sliceFile(file);
  t.assert.deepStrictEqual(index.chunks, []);
  t.assert.deepStrictEqual(index.file, { name: 'empty', size: 0, sha256: EMPTY_SHA256 });
  t.assert.deepStrictEqual(await listTree(outDir), ['index.json']);
});

test('sliceFile() refuses a missing file, a folder and a FIFO, creating nothing', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await rejectsWith(t, sliceFile(join(dir, 'nope.bin')), 'ERR_FILE_NOT_FOUND');
  await mkdir(join(dir, 'folder'));
  await rejectsWith(t, sliceFile(join(dir, 'folder')), 'ERR_NOT_A_FILE');
  await run('mkfifo', [join(dir, 'fifo')]);
  await rejectsWith(t, sliceFile(join(dir, 'fifo')), 'ERR_NOT_A_FILE');
  t.assert.deepStrictEqual(await listTree(dir), ['fifo', 'folder/']);
});

test('sliceFile() refuses a chunk size that is 0, negative, not whole, below 4 KiB or above 4 GiB - 1', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  await randomFile(file, 10 * KiB);
  for (const chunkSize of [0, -4096, Number.NaN, 4096.5, 4095, 4 * 1024 * MiB]) {
    await rejectsWith(t, sliceFile(file, { chunkSize }), 'ERR_INVALID_SIZE');
  }
  t.assert.deepStrictEqual(await listTree(dir), ['a.bin']);
});

test('sliceFile() refuses an output folder that already holds an index.json, touching nothing', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  await randomFile(file, 10 * KiB);
  const out = join(dir, 'out');
  await mkdir(out);
  await writeFile(join(out, 'index.json'), 'an older index');
  await rejectsWith(t, sliceFile(file, { outDir: out, chunkSize: 4 * KiB }), 'ERR_OUTPUT_EXISTS');
  t.assert.deepStrictEqual(await listTree(out), ['index.json']);
  t.assert.strictEqual(await readFile(join(out, 'index.json'), 'utf8'), 'an older index');
});

test('sliceFile() refuses an output path that is a file', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  await randomFile(file, 10 * KiB);
  await writeFile(join(dir, 'out'), 'x');
  await rejectsWith(t, sliceFile(file, { outDir: join(dir, 'out') }), 'ERR_NOT_A_DIRECTORY');
});

test('sliceFile() refuses a file name an index cannot hold, before any work', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'a\\b.bin');
  await randomFile(file, 10 * KiB);
  await rejectsWith(t, sliceFile(file), 'ERR_INDEX_INVALID');
  t.assert.deepStrictEqual(await listTree(dir), ['a\\b.bin']);
});

test('sliceFile() into an existing folder without index.json adds its files and leaves the others', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  await randomFile(file, 10 * KiB);
  const out = join(dir, 'out');
  await mkdir(out);
  await writeFile(join(out, 'notes.txt'), 'mine');
  const { index } = await sliceFile(file, { outDir: out, chunkSize: 4 * KiB });
  t.assert.deepStrictEqual(
    await listTree(out),
    [...index.chunks.map((c) => c.uuid), 'index.json', 'notes.txt'].sort(),
  );
  t.assert.strictEqual(await readFile(join(out, 'notes.txt'), 'utf8'), 'mine');
});

test('an aborted sliceFile() removes its chunks and the folders it created', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  await randomFile(file, MiB);
  const controller = new AbortController();
  const slicing = sliceFile(file, {
    outDir: join(dir, 'new', 'nested', 'out'),
    chunkSize: 64 * KiB,
    signal: controller.signal,
    onProgress: ({ done }) => {
      if (done >= 600 * KiB) controller.abort();
    },
  });
  await rejectsWith(t, slicing, 'ERR_INTERRUPTED');
  t.assert.deepStrictEqual(await listTree(dir), ['a.bin']);
});

test('an aborted sliceFile() into an existing folder leaves only what was there', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  await randomFile(file, MiB);
  const out = join(dir, 'out');
  await mkdir(out);
  await writeFile(join(out, 'notes.txt'), 'mine');
  const controller = new AbortController();
  const slicing = sliceFile(file, {
    outDir: out,
    chunkSize: 64 * KiB,
    signal: controller.signal,
    onProgress: ({ done }) => {
      if (done >= 600 * KiB) controller.abort();
    },
  });
  await rejectsWith(t, slicing, 'ERR_INTERRUPTED');
  t.assert.deepStrictEqual(await listTree(out), ['notes.txt']);
});

test('sliceFile() notices a file that grows while it is read (ERR_FILE_CHANGED) and keeps nothing', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  await randomFile(file, MiB);
  let grown = false;
  const slicing = sliceFile(file, {
    chunkSize: 64 * KiB,
    onProgress: ({ done }) => {
      if (!grown && done > 0) {
        grown = true;
        appendFileSync(file, 'more');
      }
    },
  });
  await rejectsWith(t, slicing, 'ERR_FILE_CHANGED');
  t.assert.deepStrictEqual(await listTree(dir), ['a.bin']);
});

test('sliceFile() notices a file that shrinks while it is read (ERR_FILE_CHANGED) and keeps nothing', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  await randomFile(file, MiB);
  let shrunk = false;
  const slicing = sliceFile(file, {
    chunkSize: 64 * KiB,
    onProgress: ({ done }) => {
      if (!shrunk && done > 0) {
        shrunk = true;
        truncateSync(file, 300 * KiB);
      }
    },
  });
  await rejectsWith(t, slicing, 'ERR_FILE_CHANGED');
  t.assert.deepStrictEqual(await listTree(dir), ['a.bin']);
});

test('sliceFile() with many 4 KiB chunks of random data gets every byte and hash right', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'a.bin');
  const data = await randomFile(file, 2 * MiB + 777);
  const { index, outDir } = await sliceFile(file, { chunkSize: 4 * KiB });
  t.assert.strictEqual(index.chunks.length, 513);
  t.assert.strictEqual(index.file.sha256, sha256(data));
  const parts = await Promise.all(index.chunks.map((c) => readFile(join(outDir, c.uuid))));
  for (const [k, part] of parts.entries()) t.assert.strictEqual(index.chunks[k]?.sha256, sha256(part));
  t.assert.ok(Buffer.concat(parts).equals(data));
});
