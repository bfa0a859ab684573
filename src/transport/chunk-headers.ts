/**
 * The chunk API's headers, in one place for both ends (docs/protocol.md): what a get or head answer
 * says about a chunk (its sidecar: hash, size, uploader, index, position, when stored), byte ranges,
 * and the error code of a HEAD answer (which has no body to carry it). A value a peer sends that does
 * not parse is refused as ERR_BAD_REQUEST; nothing here trusts a peer's header beyond its shape.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { ArozError } from '../errors.ts';
import { MAX_CHUNK_SIZE } from '../index-file/types.ts';
import { isSha256Hex } from '../store/checks.ts';
import type { ChunkInfo } from '../store/types.ts';
import { isUuid } from '../uuid.ts';

export const WIRE = {
  /** Put trailer: SHA-256 of the body. Get/head answer: SHA-256 of the whole chunk as stored. */
  sha256: 'x-arozdfs-sha256',
  chunkSize: 'x-arozdfs-chunk-size',
  /** Put request and get/head answer: the index the chunk belongs to, and its position there. */
  index: 'x-arozdfs-index',
  position: 'x-arozdfs-i',
  uploader: 'x-arozdfs-uploader',
  storedAt: 'x-arozdfs-stored-at',
  /** The ERR_* code of an error answer to a HEAD request. */
  error: 'x-arozdfs-error',
} as const;

const POSITION = /^\d{1,9}$/;

/** The headers of a get or head answer that describe the stored chunk. */
export function infoHeaders(info: ChunkInfo): OutgoingHttpHeaders {
  return {
    [WIRE.sha256]: info.sha256,
    [WIRE.chunkSize]: info.size,
    [WIRE.uploader]: info.uploader,
    [WIRE.storedAt]: info.storedAt,
    ...(info.indexId !== undefined ? { [WIRE.index]: info.indexId } : {}),
    ...(info.i !== undefined ? { [WIRE.position]: info.i } : {}),
  };
}

function one(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? undefined : value;
}

/** Reads the chunk's info back from a get or head answer of node `peer`. */
export function infoFromHeaders(headers: IncomingHttpHeaders, uuid: string, peer: string): ChunkInfo {
  const bad = (what: string) =>
    new ArozError('ERR_BAD_REQUEST', `Node "${peer}" described chunk "${uuid}" with a malformed ${what}`);
  const sha256 = one(headers, WIRE.sha256);
  if (!isSha256Hex(sha256)) throw bad(WIRE.sha256);
  const size = byteCount(one(headers, WIRE.chunkSize));
  if (size === undefined) throw bad(WIRE.chunkSize);
  const uploader = one(headers, WIRE.uploader);
  if (!isUuid(uploader)) throw bad(WIRE.uploader);
  const storedAt = one(headers, WIRE.storedAt);
  if (storedAt === undefined || storedAt.length > 40 || Number.isNaN(Date.parse(storedAt))) {
    throw bad(WIRE.storedAt);
  }
  const indexId = one(headers, WIRE.index);
  if (indexId !== undefined && !isUuid(indexId)) throw bad(WIRE.index);
  const position = one(headers, WIRE.position);
  if (position !== undefined && !POSITION.test(position)) throw bad(WIRE.position);
  // The key order of a store's ChunkInfo, so a remote head() deep-equals a local one.
  return {
    uuid,
    sha256,
    size,
    uploader,
    ...(indexId !== undefined ? { indexId } : {}),
    ...(position !== undefined ? { i: Number(position) } : {}),
    storedAt,
  };
}

/** A byte count from 0 to MAX_CHUNK_SIZE written in plain decimal, else undefined. */
export function byteCount(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_CHUNK_SIZE ? n : undefined;
}

/** `{start, end}` (end exclusive) as an HTTP `Range` header; undefined for the whole chunk. */
export function rangeHeader(range: { start?: number; end?: number }): string | undefined {
  if (range.start === undefined && range.end === undefined) return undefined;
  const start = range.start ?? 0;
  return `bytes=${start}-${range.end === undefined ? '' : range.end - 1}`;
}

/**
 * Parses a `Range` header into `{start, end}` (end exclusive). Only one range `bytes=a-b` or
 * `bytes=a-` is served; anything else (suffix ranges, several ranges, other units) is
 * ERR_INVALID_RANGE. Whether the range fits the chunk is the store's check.
 */
export function parseRange(header: string | undefined): { start?: number; end?: number } {
  if (header === undefined) return {};
  const m = /^bytes=(\d{1,10})-(\d{0,10})$/.exec(header);
  if (m === null) {
    throw new ArozError(
      'ERR_INVALID_RANGE',
      `Range ${JSON.stringify(header.slice(0, 60))} is not one "bytes=a-b" or "bytes=a-" range`,
    );
  }
  const start = Number(m[1]);
  if (m[2] === '') return { start };
  const last = Number(m[2]);
  if (last < start) {
    throw new ArozError('ERR_INVALID_RANGE', `Range ${JSON.stringify(header)} ends before it starts`);
  }
  return { start, end: last + 1 };
}

/** Parses `content-range: bytes a-b/size` into `{start, end}` (end exclusive). */
export function parseContentRange(
  header: string | undefined,
): { start: number; end: number; size: number } | undefined {
  const m = /^bytes (\d{1,10})-(\d{1,10})\/(\d{1,10})$/.exec(header ?? '');
  if (m === null) return undefined;
  return { start: Number(m[1]), end: Number(m[2]) + 1, size: Number(m[3]) };
}
