/**
 * `npm start` (the hidden `arozdfs start`): the main job with embedded defaults. Until the daemon
 * exists it shows slice and merge end to end: it makes a file of random bytes a few chunks long in a
 * temp folder, slices it, merges it back, checks the copy is byte-identical, says what it did and
 * where, and removes the folder.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFully } from '../chunk/copy.ts';
import { mergeFile, sliceFile } from '../chunk/index.ts';
import { ArozError, fromSystemError } from '../errors.ts';
import { MiB } from '../index-file/types.ts';
import { formatRate, formatSize } from '../size.ts';
import type { Register } from './context.ts';

const CHUNK_SIZE = 4 * MiB;
/** Three whole chunks and a short last one. */
const FILE_SIZE = 3 * CHUNK_SIZE + 1536 * 1024;
const PIECE = MiB;

export const register: Register = (program, action) => {
  program
    .command('start', { hidden: true })
    .description('run the main job with embedded defaults (what `npm start` runs)')
    .action(
      action(async (ctx) => {
        const say = (text: string) => ctx.out.info(text);
        const progress = { signal: ctx.signal, onProgress: ctx.out.progress.bind(ctx.out) };
        const dir = await mkdtemp(join(tmpdir(), 'arozdfs-start-'));
        try {
          say(`Working in the temporary folder ${dir}`);
          const file = join(dir, 'sample.bin');
          const sha256 = await makeRandomFile(file, FILE_SIZE);
          say(`1. Made ${file}: ${formatSize(FILE_SIZE)} of random bytes.`);

          const started = performance.now();
          const sliced = await sliceFile(file, { chunkSize: CHUNK_SIZE, ...progress });
          const sliceSeconds = (performance.now() - started) / 1000;
          say(
            `2. Sliced it into ${sliced.index.chunks.length} chunks of ${formatSize(CHUNK_SIZE)} ` +
              `(the last one shorter) in ${sliceSeconds.toFixed(2)} s${formatRate(FILE_SIZE, sliceSeconds)}; ` +
              `each chunk file is named by a fresh UUID in ${sliced.outDir}, and the index is ${sliced.indexPath}.`,
          );

          const out = join(dir, 'sample.copy.bin');
          const mergeStarted = performance.now();
          await mergeFile(sliced.indexPath, { out, ...progress });
          const mergeSeconds = (performance.now() - mergeStarted) / 1000;
          say(
            `3. Merged the chunks back into ${out} in ${mergeSeconds.toFixed(2)} s${formatRate(FILE_SIZE, mergeSeconds)}, ` +
              'checking the size and SHA-256 of every chunk and of the whole file.',
          );

          if (!(await sameBytes(file, out))) {
            throw new ArozError('ERR_FILE_HASH', `The copy "${out}" differs from "${file}"`);
          }
          say(`4. Compared the copy with the original: byte-identical (SHA-256 ${sha256}).`);
          await rm(dir, { recursive: true, force: true });
          say(`5. Removed ${dir}.`);
          ctx.out.result(
            {
              command: 'start',
              dir,
              size: FILE_SIZE,
              chunkSize: CHUNK_SIZE,
              chunks: sliced.index.chunks.length,
              sha256,
              identical: true,
              sliceSeconds: Math.round(sliceSeconds * 1000) / 1000,
              mergeSeconds: Math.round(mergeSeconds * 1000) / 1000,
            },
            'Slice and merge work: the rebuilt file is identical to the original. ' +
              'Try it on your own file: npx arozdfs slice FILE, then npx arozdfs merge FILE.chunks/index.json --out COPY',
          );
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }),
    );
};

/** Writes `size` random bytes through one reused buffer; returns their SHA-256. */
async function makeRandomFile(path: string, size: number): Promise<string> {
  const buffer = Buffer.allocUnsafe(PIECE);
  const hash = createHash('sha256');
  try {
    await using fh = await open(path, 'wx');
    for (let done = 0; done < size; ) {
      const piece = buffer.subarray(0, Math.min(PIECE, size - done));
      randomFillSync(piece);
      hash.update(piece);
      await writeFully(fh, piece, done, `"${path}"`);
      done += piece.length;
    }
  } catch (err) {
    throw fromSystemError(err, `Cannot write "${path}"`);
  }
  return hash.digest('hex');
}

/** Compares two files byte by byte through two reused buffers. */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const bufA = Buffer.allocUnsafe(PIECE);
  const bufB = Buffer.allocUnsafe(PIECE);
  await using fa = await open(a, 'r');
  await using fb = await open(b, 'r');
  for (let position = 0; ; position += PIECE) {
    const [ra, rb] = await Promise.all([
      fa.read(bufA, 0, PIECE, position),
      fb.read(bufB, 0, PIECE, position),
    ]);
    if (ra.bytesRead !== rb.bytesRead) return false;
    if (ra.bytesRead === 0) return true;
    if (!bufA.subarray(0, ra.bytesRead).equals(bufB.subarray(0, rb.bytesRead))) return false;
  }
}
