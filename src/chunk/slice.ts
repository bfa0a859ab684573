/**
 * slice: a file -> chunk files named by fresh v4 UUIDs + `index.json`, in one streaming pass that
 * computes every chunk's SHA-256 and the whole file's SHA-256, each on a worker thread of the ring
 * (splitRangeHash), so both cores hash while this thread only moves the bytes.
 *
 * Each chunk is written to a temp file and appears under its UUID only when complete and durable;
 * index.json is written last, atomically. On any failure every chunk file this run made is removed,
 * and so is the output folder if this run created it.
 */
import { rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AtomicFile, fsyncDir, writeFileAtomic } from '../durable/index.ts';
import { ArozError, isProgrammingError } from '../errors.ts';
import { encodeIndex, fileNameProblem } from '../index-file/index.ts';
import {
  DEFAULT_CHUNK_SIZE,
  INDEX_FORMAT,
  INDEX_MAX_CHUNKS,
  INDEX_VERSION,
  type IndexChunk,
  type IndexFile,
} from '../index-file/types.ts';
import { checkChunkSize } from '../size.ts';
import { newUuid } from '../uuid.ts';
import { copyRange, throwIfAborted } from './copy.ts';
import {
  assertUnchanged,
  exists,
  type OpenedFile,
  openRegularFile,
  prepareDir,
  RING_SLOT_SIZE,
  RING_SLOTS,
  removeCreatedDirs,
} from './files.ts';
import type { ChunkProgress } from './progress.ts';
import { BufferRing } from './ring.ts';
import { PieceWriter } from './writer.ts';

export const INDEX_NAME = 'index.json';
/** Chunk files whose commit (fsync, rename, fsync folder) may run while the next chunk streams. */
const COMMITS_IN_FLIGHT = 2;

export interface SliceOptions {
  /** Output folder (default `<file>.chunks`); created if missing; must not hold an index.json. */
  outDir?: string;
  /** Bytes per chunk (default 64 MiB), in [4 KiB, 4 GiB - 1]. */
  chunkSize?: number;
  signal?: AbortSignal;
  onProgress?: (event: ChunkProgress) => void;
  /** Write whole 4 KiB-aligned pieces with O_DIRECT where the file system allows (default true). */
  directIo?: boolean;
}

export interface SliceResult {
  index: IndexFile;
  /** Absolute path of the index.json written. */
  indexPath: string;
  /** Absolute path of the folder holding the chunks and the index. */
  outDir: string;
}

export async function sliceFile(path: string, options: SliceOptions = {}): Promise<SliceResult> {
  const chunkSize = checkChunkSize(options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const what = `Cannot slice "${path}"`;
  const source = await openRegularFile(path, `${what}: the file`);
  try {
    // Checked before any work: the index could not hold this name, and all the work would be lost.
    const nameProblem = fileNameProblem(basename(path));
    if (nameProblem !== undefined) {
      throw new ArozError(
        'ERR_INDEX_INVALID',
        `${what}: its name ${nameProblem}, which an index cannot hold`,
      );
    }
    const chunkCount = Math.ceil(source.size / chunkSize);
    if (chunkCount > INDEX_MAX_CHUNKS) {
      throw new ArozError(
        'ERR_INVALID_SIZE',
        `${what}: chunk size ${chunkSize} would make ${chunkCount} chunks (at most ${INDEX_MAX_CHUNKS}); use a larger chunk size`,
      );
    }
    const outDir = resolve(options.outDir ?? `${path}.chunks`);
    const indexPath = join(outDir, INDEX_NAME);
    if (await exists(indexPath)) {
      throw new ArozError('ERR_OUTPUT_EXISTS', `${what}: "${indexPath}" already exists`);
    }
    const createdDirs = await prepareDir(outDir);
    const run = new SliceRun(source, path, outDir, chunkSize, options);
    try {
      const index = await run.run(chunkCount);
      for (const dir of createdDirs) await fsyncDir(dirname(dir)); // the new folders' own entries
      await writeFileAtomic(indexPath, encodeIndex(index));
      return { index, indexPath, outDir };
    } catch (err) {
      await run.removeChunks();
      await removeCreatedDirs(createdDirs);
      throw err;
    }
  } finally {
    await source.fh.close();
  }
}

/**
 * One slicing pass. It remembers what it created — the chunks listed so far and the files still being
 * written (at most a few) — so a failure can remove exactly those.
 */
class SliceRun {
  #source: OpenedFile;
  #path: string;
  #outDir: string;
  #chunkSize: number;
  #options: SliceOptions;
  #chunks: IndexChunk[] = [];
  #open = new Set<{ file: AtomicFile; writer: PieceWriter }>();

  constructor(source: OpenedFile, path: string, outDir: string, chunkSize: number, options: SliceOptions) {
    this.#source = source;
    this.#path = path;
    this.#outDir = outDir;
    this.#chunkSize = chunkSize;
    this.#options = options;
  }

  async run(chunkCount: number): Promise<IndexFile> {
    const { size } = this.#source;
    const { signal, onProgress } = this.#options;
    const doing = `Slicing "${this.#path}"`;
    const inFlight: Array<Promise<void>> = [];
    let done = 0;
    if (size > 0) onProgress?.({ phase: 'slice', done, total: size, chunksDone: 0, chunks: chunkCount });
    await using ring = new BufferRing(RING_SLOTS, RING_SLOT_SIZE);
    ring.splitRangeHash();
    const digests: Array<Promise<void>> = [];
    try {
      for (let i = 0; i < chunkCount; i++) {
        throwIfAborted(signal, doing);
        ring.throwIfFailed();
        const offset = i * this.#chunkSize;
        const length = Math.min(this.#chunkSize, size - offset);
        const uuid = newUuid();
        const file = await AtomicFile.create(join(this.#outDir, uuid));
        const open = { file, writer: await this.#writerFor(file) };
        this.#open.add(open);
        const { written } = await copyRange(ring, {
          src: this.#source.fh,
          srcName: `"${this.#path}"`,
          srcPos: offset,
          length,
          dst: open.writer,
          dstPos: 0,
          hash: 'ring',
          short: () => this.#changed(),
          onBytes: (bytes) => {
            done += bytes;
            const chunksDone = done === offset + length ? i + 1 : i;
            onProgress?.({ phase: 'slice', done, total: size, chunksDone, chunks: chunkCount });
          },
          signal,
          doing,
        });
        const chunk: IndexChunk = { i, offset, size: length, sha256: '', uuid };
        this.#chunks.push(chunk);
        // Asked right after the chunk's last piece, answered once the worker hashed it; the next
        // chunk streams meanwhile (its pieces come after this request, so they are not in it).
        const digest = ring.rangeDigest().then((sha256) => {
          chunk.sha256 = sha256;
        });
        digest.catch(() => {}); // awaited below; a failure before then must not go unhandled
        digests.push(digest);
        while (inFlight.length >= COMMITS_IN_FLIGHT) await inFlight.shift();
        const commit = written.then(async () => {
          await open.writer.close();
          await file.commit();
          this.#open.delete(open);
        });
        // A failure surfaces at the next acquire, or below; the queue only waits.
        inFlight.push(commit.catch((err: unknown) => ring.fail(err)));
      }
      await Promise.all(inFlight);
      ring.throwIfFailed();
      await Promise.all(digests);
      const sha256 = await ring.digest();
      await assertUnchanged(this.#source, `"${this.#path}"`);
      throwIfAborted(signal, doing);
      return {
        format: INDEX_FORMAT,
        version: INDEX_VERSION,
        id: newUuid(),
        file: { name: basename(this.#path), size, sha256 },
        chunkSize: this.#chunkSize,
        redundancy: { scheme: 'replicas', copies: 1 },
        chunks: this.#chunks,
        createdAt: new Date().toISOString(),
      };
    } finally {
      // Nothing may still be writing into a file when the caller cleans up.
      await ring.settle();
      await Promise.all(inFlight);
      for (const { writer } of this.#open) await writer.close();
    }
  }

  /** Removes every chunk file (temp or committed) this run created. Call after run() settled. */
  async removeChunks(): Promise<void> {
    for (const { file } of this.#open) {
      await file.abort();
      await rmQuiet(file.target); // a commit that failed after its rename
    }
    // Fresh random names: a missing one is simply not there yet; nothing else can have them.
    for (const chunk of this.#chunks) await rmQuiet(join(this.#outDir, chunk.uuid));
  }

  #writerFor(file: AtomicFile): Promise<PieceWriter> {
    return PieceWriter.open(
      file.tempPath,
      file.handle,
      `"${file.tempPath}"`,
      this.#options.directIo !== false,
    );
  }

  #changed(): ArozError {
    return new ArozError(
      'ERR_FILE_CHANGED',
      `"${this.#path}" became shorter while it was being sliced; nothing was kept`,
    );
  }
}

async function rmQuiet(path: string): Promise<void> {
  try {
    await rm(path, { force: true });
  } catch (err) {
    if (isProgrammingError(err)) throw err;
  }
}
