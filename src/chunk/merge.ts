/**
 * merge: index + chunk files -> the original file, verified. Every chunk's size and the whole file's
 * SHA-256 (in the ring's worker, on the second core) are checked while the bytes stream into a temp
 * file beside the output, which is renamed into place only when everything matched. A matching file
 * hash proves every byte, so the chunks' own hashes are computed only when it does not match: a second
 * pass over the chunk files then names the corrupted chunk (ERR_CHUNK_HASH), or, when every chunk
 * matches, the index whose file hash disagrees with its chunks (ERR_FILE_HASH). One SHA-256 pass
 * instead of two on the common path (docs/architecture.md, "Speed of slice and merge"). Chunk files are looked
 * up only by the canonical UUID of a validated index entry, never by a path taken from the index.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AtomicFile } from '../durable/index.ts';
import { ArozError, fromSystemError } from '../errors.ts';
import { readIndexFile } from '../index-file/index.ts';
import type { IndexChunk, IndexFile } from '../index-file/types.ts';
import { isUuid } from '../uuid.ts';
import { copyRange, readFully, throwIfAborted } from './copy.ts';
import { exists, openRegularFile, RING_SLOT_SIZE, RING_SLOTS } from './files.ts';
import type { ChunkProgress } from './progress.ts';
import { BufferRing } from './ring.ts';
import { PieceWriter } from './writer.ts';

export interface MergeOptions {
  /** Folder holding the chunk files (default: the index file's folder; required with an IndexFile). */
  chunksDir?: string;
  /** Output file (default: the index's file name in the current working directory). */
  out?: string;
  /** Replace an existing output file (default false: ERR_OUTPUT_EXISTS). */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: ChunkProgress) => void;
  /** Write whole 4 KiB-aligned pieces with O_DIRECT where the file system allows (default true). */
  directIo?: boolean;
}

export interface MergeResult {
  index: IndexFile;
  /** Absolute path of the rebuilt file. */
  out: string;
  /** Absolute path of the folder the chunks were read from. */
  chunksDir: string;
}

export async function mergeFile(
  source: string | IndexFile,
  options: MergeOptions = {},
): Promise<MergeResult> {
  const { signal } = options;
  let index: IndexFile;
  let chunksDir: string;
  if (typeof source === 'string') {
    index = await readIndexFile(source, { signal });
    chunksDir = resolve(options.chunksDir ?? dirname(resolve(source)));
  } else {
    if (options.chunksDir === undefined) throw new TypeError('mergeFile(index) needs options.chunksDir');
    index = source;
    chunksDir = resolve(options.chunksDir);
  }
  const name = index.file.name;
  const what = `Cannot merge "${name}"`;
  const out = resolve(options.out ?? name);
  const force = options.force === true;
  await checkOutput(out, force, what);
  checkLayout(index, what);
  for (const chunk of index.chunks) await checkChunkFile(chunksDir, chunk, what);

  const total = index.file.size;
  const chunkCount = index.chunks.length;
  let done = 0;
  if (total > 0) options.onProgress?.({ phase: 'merge', done, total, chunksDone: 0, chunks: chunkCount });
  const file = await AtomicFile.create(out, { overwrite: force });
  let writer: PieceWriter | undefined;
  try {
    writer = await PieceWriter.open(
      file.tempPath,
      file.handle,
      `"${file.tempPath}"`,
      options.directIo !== false,
    );
    await using ring = new BufferRing(RING_SLOTS, RING_SLOT_SIZE);
    try {
      for (const chunk of index.chunks) {
        throwIfAborted(signal, `Merging "${name}"`);
        const chunkWhat = `${what}: chunk ${chunk.i} ("${chunk.uuid}")`;
        const opened = await openChunk(chunksDir, chunk, chunkWhat);
        try {
          await copyRange(ring, {
            src: opened.fh,
            srcName: `chunk ${chunk.i} ("${chunk.uuid}")`,
            srcPos: 0,
            length: chunk.size,
            dst: writer,
            dstPos: chunk.offset,
            hash: 'none',
            short: () => sizeError(chunkWhat, 'became shorter while it was read'),
            onBytes: (bytes) => {
              done += bytes;
              const chunksDone = done === chunk.offset + chunk.size ? chunk.i + 1 : chunk.i;
              options.onProgress?.({ phase: 'merge', done, total, chunksDone, chunks: chunkCount });
            },
            signal,
            doing: `Merging "${name}"`,
          });
          if ((await opened.fh.stat()).size !== chunk.size) {
            throw sizeError(chunkWhat, 'changed size while it was read');
          }
        } finally {
          await opened.fh.close();
        }
      }
      const sha256 = await ring.digest(); // after every write and hash is over; throws a failed write
      if (sha256 !== index.file.sha256) {
        await findCorruptChunk(index, chunksDir, what);
        throw new ArozError(
          'ERR_FILE_HASH',
          `${what}: the rebuilt file's SHA-256 "${sha256}" differs from the index ("${index.file.sha256}"); it was not kept`,
        );
      }
    } finally {
      await ring.settle(); // nothing may still write into the temp file when it is committed or removed
    }
    await writer.close();
    throwIfAborted(signal, `Merging "${name}"`);
    await file.commit();
  } finally {
    await writer?.close();
    await file.abort();
  }
  return { index, out, chunksDir };
}

/**
 * After a file hash mismatch: hashes each chunk file against its index entry and throws
 * ERR_CHUNK_HASH for the first that differs; returns when every chunk matches.
 */
async function findCorruptChunk(index: IndexFile, chunksDir: string, what: string): Promise<void> {
  const buffer = Buffer.allocUnsafe(RING_SLOT_SIZE);
  for (const chunk of index.chunks) {
    const chunkWhat = `${what}: chunk ${chunk.i} ("${chunk.uuid}")`;
    const opened = await openChunk(chunksDir, chunk, chunkWhat);
    const hash = createHash('sha256');
    try {
      for (let at = 0; at < chunk.size; at += buffer.length) {
        const piece = buffer.subarray(0, Math.min(buffer.length, chunk.size - at));
        await readFully(opened.fh, piece, at, `chunk ${chunk.i} ("${chunk.uuid}")`, () =>
          sizeError(chunkWhat, 'became shorter while it was read'),
        );
        hash.update(piece);
      }
    } finally {
      await opened.fh.close();
    }
    if (hash.digest('hex') !== chunk.sha256) {
      throw new ArozError('ERR_CHUNK_HASH', `${chunkWhat} does not match its SHA-256: it is corrupted`);
    }
  }
}

export async function checkOutput(out: string, force: boolean, what: string): Promise<void> {
  if (!(await exists(out))) return;
  if (!force) {
    throw new ArozError('ERR_OUTPUT_EXISTS', `${what}: "${out}" already exists (use --force to replace it)`);
  }
  const st = await stat(out).catch(() => undefined);
  if (st?.isDirectory() === true) {
    throw new ArozError('ERR_NOT_A_FILE', `${what}: "${out}" is a folder; it cannot be replaced by a file`);
  }
}

/** The decoder checks this too; an IndexFile built in memory is checked here before any path is made. */
function checkLayout(index: IndexFile, what: string): void {
  let offset = 0;
  for (const [position, chunk] of index.chunks.entries()) {
    if (chunk.i !== position || chunk.offset !== offset || !isUuid(chunk.uuid)) {
      throw new ArozError('ERR_INDEX_INVALID', `${what}: chunk entry ${position} of the index is malformed`);
    }
    offset += chunk.size;
  }
  if (offset !== index.file.size) {
    throw new ArozError(
      'ERR_INDEX_INVALID',
      `${what}: the chunks of the index add up to ${offset} bytes, not ${index.file.size}`,
    );
  }
}

/** A cheap first pass, so a missing or wrong-sized chunk is reported before any byte is written. */
async function checkChunkFile(chunksDir: string, chunk: IndexChunk, what: string): Promise<void> {
  const chunkWhat = `${what}: chunk ${chunk.i} ("${chunk.uuid}")`;
  let size: number;
  try {
    const st = await stat(join(chunksDir, chunk.uuid));
    if (!st.isFile())
      throw new ArozError('ERR_CHUNK_MISSING', `${chunkWhat} in "${chunksDir}" is not a file`);
    size = st.size;
  } catch (err) {
    throw chunkOpenError(err, chunkWhat, chunksDir);
  }
  if (size !== chunk.size) throw sizeError(chunkWhat, `is ${size} bytes, the index says ${chunk.size}`);
}

async function openChunk(chunksDir: string, chunk: IndexChunk, chunkWhat: string) {
  try {
    const opened = await openRegularFile(join(chunksDir, chunk.uuid), chunkWhat);
    if (opened.size !== chunk.size) {
      await opened.fh.close();
      throw sizeError(chunkWhat, `is ${opened.size} bytes, the index says ${chunk.size}`);
    }
    return opened;
  } catch (err) {
    throw chunkOpenError(err, chunkWhat, chunksDir);
  }
}

function chunkOpenError(err: unknown, chunkWhat: string, chunksDir: string): unknown {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'ENOENT' || code === 'ERR_FILE_NOT_FOUND') {
    return new ArozError('ERR_CHUNK_MISSING', `${chunkWhat} is missing from "${chunksDir}"`, { cause: err });
  }
  if (code === 'ERR_NOT_A_FILE') {
    return new ArozError('ERR_CHUNK_MISSING', `${chunkWhat} in "${chunksDir}" is not a file`, { cause: err });
  }
  return fromSystemError(err, chunkWhat);
}

function sizeError(chunkWhat: string, how: string): ArozError {
  return new ArozError('ERR_CHUNK_SIZE', `${chunkWhat} ${how}`);
}
