/**
 * Input checks shared by every store, run before anything is touched: canonical chunk UUIDs (the
 * only thing a chunk path is ever built from), sizes, metadata, hashes and byte ranges.
 */
import { ArozError } from '../errors.ts';
import { MAX_CHUNK_SIZE } from '../index-file/types.ts';
import { assertUuid } from '../uuid.ts';
import type { ChunkInfo, ChunkMeta, GetOptions, PutResult } from './types.ts';

/** Largest piece a reader yields; pooled read buffers have this size. */
export const PIECE_SIZE = 1024 * 1024;

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

export function checkChunkUuid(uuid: unknown): string {
  return assertUuid(uuid, 'Chunk UUID');
}

/** A chunk size: an integer from 0 to MAX_CHUNK_SIZE (4 GiB − 1, FAT32). */
export function checkSize(size: unknown, uuid: string): number {
  if (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 && size <= MAX_CHUNK_SIZE) {
    return size;
  }
  throw new ArozError(
    'ERR_INVALID_SIZE',
    `Chunk "${uuid}": size ${JSON.stringify(size)} is not an integer from 0 to ${MAX_CHUNK_SIZE}`,
  );
}

/** Validates put metadata and returns a clean copy (unknown fields dropped). */
export function checkMeta(meta: ChunkMeta): ChunkMeta {
  const clean: ChunkMeta = { uploader: assertUuid(meta.uploader, 'Uploader node UUID') };
  if (meta.indexId !== undefined) clean.indexId = assertUuid(meta.indexId, 'Index UUID');
  if (meta.i !== undefined) {
    if (!Number.isSafeInteger(meta.i) || meta.i < 0) {
      throw new ArozError('ERR_USAGE', `Chunk position ${JSON.stringify(meta.i)} is not an integer ≥ 0`);
    }
    clean.i = meta.i;
  }
  return clean;
}

export function checkSha256(value: unknown, uuid: string): string {
  if (isSha256Hex(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
  throw new ArozError(
    'ERR_CHUNK_HASH',
    `Chunk "${uuid}": the declared SHA-256 ${shown} is not 64 lower-case hex digits`,
  );
}

/** Resolves `{start, end}` against a chunk of `size` bytes; ERR_INVALID_RANGE when outside. */
export function checkRange(options: GetOptions, size: number, uuid: string): { start: number; end: number } {
  const start = options.start ?? 0;
  const end = options.end ?? size;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end > size) {
    throw new ArozError(
      'ERR_INVALID_RANGE',
      `Chunk "${uuid}" has ${size} bytes: range ${JSON.stringify(start)}–${JSON.stringify(end)} is outside it`,
    );
  }
  return { start, end };
}

export function interrupted(signal: AbortSignal, what: string): ArozError {
  return new ArozError('ERR_INTERRUPTED', `${what} was cancelled`, { cause: signal.reason });
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw interrupted(signal, what);
}

/** A put of a UUID that exists: 'exists' for the same bytes; never a replacement. */
export function compareExisting(existing: ChunkInfo, sha256: string, size: number): PutResult {
  if (existing.sha256 === sha256 && existing.size === size) return 'exists';
  throw new ArozError(
    'ERR_CHUNK_CONFLICT',
    `Chunk "${existing.uuid}" already exists with other content (SHA-256 "${existing.sha256.slice(0, 12)}…", ${existing.size} bytes); it is never replaced`,
  );
}

export function offlineError(id: string, message: string): ArozError {
  return new ArozError('ERR_STORE_OFFLINE', `Store "${id}" is offline: ${message}`);
}

export function missingError(uuid: string, where: string): ArozError {
  return new ArozError('ERR_CHUNK_MISSING', `Chunk "${uuid}" is not in ${where}`);
}
