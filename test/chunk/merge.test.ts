import { truncateSync, writeFileSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { mergeFile, sliceFile } from '../../src/chunk/index.ts';
import type { IndexFile } from '../../src/index-file/types.ts';
import { tmpDir } from '../helpers/context.ts';
import { KiB, listTree, MiB, randomFile, rejectsWith, sha256 } from './fixtures.ts';

/** A sliced random file in a fresh folder. */
async function sliced(t: TestContext, size = 200 * KiB + 5, chunkSize = 64 * KiB) {
  const dir = await tmpDir(t);
  const file = join(dir, 'data.bin');
  const data = await randomFile(file, size);
  const result = await sliceFile(file, { chunkSize });
  const chunk = (k: number) => join(result.outDir, result.index.chunks[k]!.uuid);
  return { dir, file, data, ...result, chunk };
}

const ROUND_TRIPS: Array<[string, number, number]> = [
  ['an empty file', 0, 4 * KiB],
  ['one byte', 1, 4 * KiB],
  ['exactly one chunk', 4 * KiB, 4 * KiB],
  ['an exact multiple of the chunk size', 3 * 64 * KiB, 64 * KiB],
  ['a short last chunk', 3 * 64 * KiB + 1, 64 * KiB],
  ['a chunk size that is not a multiple of 4 KiB', MiB + 4097 * 3 + 11, 4097],
  ['chunks larger than one 1 MiB piece', 2 * MiB + 5, MiB + 4096],
  ['a chunk size larger than the file', 100 * KiB, MiB],
];

for (const [what, size, chunkSize] of ROUND_TRIPS) {
  test(`slice then merge gives back the same bytes: ${what}`, async (t: TestContext) => {
    const { dir, data, indexPath, index } = await sliced(t, size, chunkSize);
    t.assert.strictEqual(index.chunks.length, Math.ceil(size / chunkSize));
    const out = join(dir, 'copy.bin');
    const result = await mergeFile(indexPath, { out });
    t.assert.strictEqual(result.out, out);
    t.assert.ok((await readFile(out)).equals(data), 'byte-identical');
    t.assert.deepStrictEqual(
      (await listTree(dir)).filter((n) => !n.includes('/')),
      ['copy.bin', 'data.bin'],
    );
  });
}

test('mergeFile() reads chunks from --chunks DIR when the index lives elsewhere', async (t: TestContext) => {
  const { dir, data, indexPath, outDir } = await sliced(t);
  const moved = join(dir, 'index-copy.json');
  await rename(indexPath, moved);
  await rejectsWith(t, mergeFile(moved, { out: join(dir, 'copy.bin') }), 'ERR_CHUNK_MISSING');
  await mergeFile(moved, { out: join(dir, 'copy.bin'), chunksDir: outDir });
  t.assert.ok((await readFile(join(dir, 'copy.bin'))).equals(data));
});

/** Runs a failing merge and checks that nothing appeared in the output folder. */
async function failsCleanly(t: TestContext, dir: string, indexPath: string, code: string): Promise<void> {
  const outDir = join(dir, 'merged');
  await mkdir(outDir);
  await rejectsWith(t, mergeFile(indexPath, { out: join(outDir, 'copy.bin') }), code);
  t.assert.deepStrictEqual(await listTree(outDir), [], 'no output and no temp file left');
}

test('mergeFile() refuses a missing chunk (ERR_CHUNK_MISSING)', async (t: TestContext) => {
  const { dir, indexPath, chunk } = await sliced(t);
  await rm(chunk(2));
  await failsCleanly(t, dir, indexPath, 'ERR_CHUNK_MISSING');
});

test('mergeFile() refuses a chunk that is a folder (ERR_CHUNK_MISSING)', async (t: TestContext) => {
  const { dir, indexPath, chunk } = await sliced(t);
  await rm(chunk(1));
  await mkdir(chunk(1));
  await failsCleanly(t, dir, indexPath, 'ERR_CHUNK_MISSING');
});

test('mergeFile() refuses a truncated chunk (ERR_CHUNK_SIZE)', async (t: TestContext) => {
  const { dir, indexPath, chunk } = await sliced(t);
  await truncate(chunk(1), 64 * KiB - 1);
  await failsCleanly(t, dir, indexPath, 'ERR_CHUNK_SIZE');
});

test('mergeFile() refuses a chunk that shrinks after the first check (ERR_CHUNK_SIZE)', async (t: TestContext) => {
  const { dir, indexPath, chunk } = await sliced(t);
  const outDir = join(dir, 'merged');
  await mkdir(outDir);
  let cut = false;
  const merging = mergeFile(indexPath, {
    out: join(outDir, 'copy.bin'),
    onProgress: () => {
      if (cut) return;
      cut = true;
      truncateSync(chunk(3), 10);
    },
  });
  await rejectsWith(t, merging, 'ERR_CHUNK_SIZE');
  t.assert.deepStrictEqual(await listTree(outDir), []);
});

test('mergeFile() refuses an extended chunk (ERR_CHUNK_SIZE)', async (t: TestContext) => {
  const { dir, indexPath, chunk } = await sliced(t);
  await appendFile(chunk(3), 'x');
  await failsCleanly(t, dir, indexPath, 'ERR_CHUNK_SIZE');
});

test('mergeFile() refuses a chunk with one flipped bit (ERR_CHUNK_HASH)', async (t: TestContext) => {
  const { dir, indexPath, chunk } = await sliced(t);
  const bytes = await readFile(chunk(2));
  bytes[12345] = bytes[12345]! ^ 0x08;
  await writeFile(chunk(2), bytes);
  await failsCleanly(t, dir, indexPath, 'ERR_CHUNK_HASH');
});

test('mergeFile() refuses chunks that do not make the file of the index (ERR_FILE_HASH)', async (t: TestContext) => {
  const { dir, indexPath, index } = await sliced(t);
  const wrong = { ...index, file: { ...index.file, sha256: sha256(Buffer.from('another file')) } };
  await writeFile(indexPath, JSON.stringify(wrong));
  await failsCleanly(t, dir, indexPath, 'ERR_FILE_HASH');
});

test('mergeFile() refuses an existing output without force, and replaces it with force', async (t: TestContext) => {
  const { dir, data, indexPath } = await sliced(t);
  const out = join(dir, 'copy.bin');
  await writeFile(out, 'precious');
  await rejectsWith(t, mergeFile(indexPath, { out }), 'ERR_OUTPUT_EXISTS');
  t.assert.strictEqual(await readFile(out, 'utf8'), 'precious');
  await mergeFile(indexPath, { out, force: true });
  t.assert.ok((await readFile(out)).equals(data));
  await mkdir(join(dir, 'a-folder'));
  await rejectsWith(t, mergeFile(indexPath, { out: join(dir, 'a-folder'), force: true }), 'ERR_NOT_A_FILE');
});

test('mergeFile() never replaces an output that appeared while it was merging', async (t: TestContext) => {
  const { dir, indexPath } = await sliced(t);
  const out = join(dir, 'copy.bin');
  let made = false;
  const merging = mergeFile(indexPath, {
    out,
    onProgress: () => {
      if (made) return;
      made = true;
      writeFileSync(out, 'written by someone else');
    },
  });
  await rejectsWith(t, merging, 'ERR_OUTPUT_EXISTS');
  t.assert.strictEqual(await readFile(out, 'utf8'), 'written by someone else');
  t.assert.deepStrictEqual(
    (await listTree(dir)).filter((n) => n.startsWith('.')),
    [],
    'no temp file left',
  );
});

test('an aborted mergeFile() leaves no output and no temp file', async (t: TestContext) => {
  const { dir, indexPath } = await sliced(t, MiB, 64 * KiB);
  const outDir = join(dir, 'merged');
  await mkdir(outDir);
  const controller = new AbortController();
  const merging = mergeFile(indexPath, {
    out: join(outDir, 'copy.bin'),
    signal: controller.signal,
    onProgress: ({ done }) => {
      if (done >= 300 * KiB) controller.abort();
    },
  });
  await rejectsWith(t, merging, 'ERR_INTERRUPTED');
  t.assert.deepStrictEqual(await listTree(outDir), []);
});

test('mergeFile() never builds a path from a chunk UUID that is not canonical', async (t: TestContext) => {
  const { dir, indexPath, index, outDir } = await sliced(t);
  const hostile: IndexFile = {
    ...index,
    chunks: index.chunks.map((c, k) => (k === 1 ? { ...c, uuid: '../../../etc/passwd' } : c)),
  };
  await rejectsWith(t, mergeFile(hostile, { chunksDir: outDir, out: join(dir, 'x') }), 'ERR_INDEX_INVALID');
  await writeFile(indexPath, JSON.stringify(hostile));
  await failsCleanly(t, dir, indexPath, 'ERR_INDEX_INVALID');
});

test('slice and merge without O_DIRECT (the fallback path) give back the same bytes', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'data.bin');
  const data = await randomFile(file, MiB + 3 * 4096 + 7);
  const { indexPath } = await sliceFile(file, { chunkSize: 256 * KiB, directIo: false });
  await mergeFile(indexPath, { out: join(dir, 'copy.bin'), directIo: false });
  t.assert.ok((await readFile(join(dir, 'copy.bin'))).equals(data));
});
