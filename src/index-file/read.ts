/**
 * The one I/O edge of the index-file module: reads an index file from disk and decodes it. It opens
 * without blocking (a FIFO cannot hang it), refuses anything but a regular file, and never reads more
 * than INDEX_MAX_BYTES + 1 bytes whatever the file claims or becomes (a file in /proc says size 0; a
 * file may grow while it is read). The whole index is held in memory: it is at most 64 MiB.
 */
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { ArozError, fromSystemError } from '../errors.ts';
import { decodeIndex } from './codec.ts';
import { count, quote } from './describe.ts';
import { INDEX_MAX_BYTES, type IndexFile, KiB, MiB } from './types.ts';

const PIECE = MiB;
const FIRST_BUFFER = 64 * KiB;
/** Paths are shown whole (PATH_MAX), only escaped. */
const PATH_SHOWN = 4096;

export interface ReadIndexOptions {
  signal?: AbortSignal | undefined;
}

/**
 * Reads and decodes the index file at `path`. Throws ERR_FILE_NOT_FOUND, ERR_NOT_A_FILE, other
 * system errors through fromSystemError, ERR_INDEX_TOO_LARGE, or a decodeIndex error whose message
 * names the file, then the place in it; an aborted signal throws its reason.
 */
export async function readIndexFile(path: string, options: ReadIndexOptions = {}): Promise<IndexFile> {
  const { signal } = options;
  signal?.throwIfAborted();
  const shown = `Index file ${quote(path, PATH_SHOWN)}`;
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw fromSystemError(err, shown);
  }
  let bytes: Buffer;
  try {
    const stats = await handle.stat();
    if (!stats.isFile())
      throw new ArozError('ERR_NOT_A_FILE', `${shown} is ${kindOf(stats)}, not a regular file`);
    if (stats.size > INDEX_MAX_BYTES) tooLarge(shown);
    bytes = await readBounded(handle, stats.size, shown, signal);
  } catch (err) {
    if (signal?.aborted && err === signal.reason) throw err;
    throw fromSystemError(err, shown);
  } finally {
    await handle.close();
  }
  try {
    return decodeIndex(bytes);
  } catch (err) {
    if (!(err instanceof ArozError)) throw err;
    throw new ArozError(err.code, inFile(shown, err.message), { cause: err });
  }
}

/**
 * A decodeIndex message (`Index "chunks[1].size" is …`, `Index is not valid JSON: …`) said of the
 * file: the file first, then the place in it (`Index file "a.json": "chunks[1].size" is …`).
 */
function inFile(shown: string, message: string): string {
  const rest = message.startsWith('Index ') ? message.slice('Index '.length) : message;
  return rest.startsWith('"') ? `${shown}: ${rest}` : `${shown} ${rest}`;
}

/** Reads until end of file or INDEX_MAX_BYTES + 1 bytes, in pieces of at most 1 MiB. */
async function readBounded(
  handle: FileHandle,
  size: number,
  shown: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  const limit = INDEX_MAX_BYTES + 1;
  let buffer = Buffer.allocUnsafe(Math.min(Math.max(size + 1, FIRST_BUFFER), limit));
  let length = 0;
  for (;;) {
    signal?.throwIfAborted();
    if (length === buffer.length) {
      if (length === limit) tooLarge(shown);
      const bigger = Buffer.allocUnsafe(Math.min(buffer.length * 2, limit));
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    const { bytesRead } = await handle.read(buffer, length, Math.min(PIECE, buffer.length - length), length);
    if (bytesRead === 0) return buffer.subarray(0, length);
    length += bytesRead;
  }
}

function tooLarge(shown: string): never {
  throw new ArozError(
    'ERR_INDEX_TOO_LARGE',
    `${shown} is larger than ${count(INDEX_MAX_BYTES)} bytes (64 MiB)`,
  );
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'a special file';
}
