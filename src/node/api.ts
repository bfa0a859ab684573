/**
 * The node API on the cluster port (docs/protocol.md): put, get (byte ranges), head and
 * delete a chunk by UUID, and `GET /v1/node`. Every caller here is a verified, pinned peer; nothing on
 * this port can change keys or trust. Paths are only built by the store, from a UUID that passed its
 * canonical check. A put reserves space before it reads a body byte (507 when full; with
 * `expect: 100-continue` the sender learns it before sending any), streams into the store while
 * hashing, and checks the SHA-256 the sender puts in the trailer. A request that makes no progress
 * for `idleMs` is closed, and a put's reservation released.
 */
import { type Http2Session, constants as h2, type ServerHttp2Stream } from 'node:http2';
import { debuglog } from 'node:util';
import { ArozError } from '../errors.ts';
import { checkChunkUuid } from '../store/checks.ts';
import type { ChunkReader, ChunkStore } from '../store/types.ts';
import { infoHeaders, parseRange, WIRE } from '../transport/chunk-headers.ts';
import type { NodeInfo } from '../transport/node-info.ts';
import type { PeerRequest, RequestHandler } from '../transport/server.ts';
import { sendJson } from '../transport/wire.ts';
import { closeSignal, PiecePool, putChunk, trailerOf } from './api-put.ts';
import type { ChunkTraffic } from './traffic.ts';

export type { NodeInfo } from '../transport/node-info.ts';
export const SHA256_TRAILER = WIRE.sha256;
/** Buffers a get keeps in flight on one stream (HTTP/2 write callbacks give them back). */
const GET_DEPTH = 4;
const CHUNKS = '/v1/chunks/';
const debug = debuglog('arozdfs');

export interface NodeApiOptions {
  store: ChunkStore;
  info: () => Promise<NodeInfo>;
  /** A request that makes no progress for this long is closed (a put's reservation is released). */
  idleMs: number;
  /** Counts chunk requests in flight and the bytes they move per peer. */
  traffic?: ChunkTraffic;
}

export function nodeApi(options: NodeApiOptions): RequestHandler {
  const pool = new PiecePool();
  /** Puts in progress per session: a peer's next request waits until its cancelled puts are cleaned up. */
  const puts = new WeakMap<Http2Session, Map<ServerHttp2Stream, Promise<void>>>();

  return async (request) => {
    const { stream, headers } = request;
    const method = headers[':method'] ?? '';
    const path = headers[':path'] ?? '';
    const session = stream.session;
    const trailer = method === 'PUT' ? trailerOf(stream) : () => undefined;
    if (session !== undefined) await settleCancelledPuts(puts.get(session));
    if (path === '/v1/node' && method === 'GET') {
      sendJson(stream, 200, await options.info());
      return;
    }
    if (!path.startsWith(CHUNKS) || !['PUT', 'GET', 'HEAD', 'DELETE'].includes(method)) {
      throw new ArozError(
        'ERR_ROUTE_NOT_FOUND',
        `No endpoint "${method.slice(0, 10)} ${path.slice(0, 100)}"`,
      );
    }
    if (method === 'HEAD') return await headChunk(options.store, request, path.slice(CHUNKS.length));
    const uuid = checkChunkUuid(path.slice(CHUNKS.length));
    stream.setTimeout(options.idleMs, () => stream.close(h2.NGHTTP2_CANCEL));
    const ended = method === 'DELETE' ? undefined : options.traffic?.begin();
    try {
      await answer();
    } finally {
      ended?.();
    }
    async function answer(): Promise<void> {
      switch (method) {
        case 'PUT': {
          const work = putChunk(options.store, request, uuid, pool, trailer);
          if (session === undefined) return await work;
          let inFlight = puts.get(session);
          if (inFlight === undefined) {
            inFlight = new Map();
            puts.set(session, inFlight);
          }
          inFlight.set(stream, work);
          try {
            await work;
            options.traffic?.got(request.peer, Number(headers['content-length']));
            return;
          } finally {
            inFlight.delete(stream);
          }
        }
        case 'GET':
          return await getChunk(options.store, request, uuid, pool, (n) =>
            options.traffic?.sent(request.peer, n),
          );
        default:
          await options.store.delete(uuid, { by: request.peer, signal: closeSignal(stream) });
          sendJson(stream, 200, { uuid, deleted: true });
      }
    }
  };
}

/**
 * Waits for the puts of this session that the peer has already cancelled: so that "abort, then
 * put again" or "abort, then status" sees the space released, not a spurious 507.
 */
async function settleCancelledPuts(
  inFlight: Map<ServerHttp2Stream, Promise<void>> | undefined,
): Promise<void> {
  if (inFlight === undefined) return;
  const cancelled = [...inFlight].filter(([s]) => s.destroyed || s.closed).map(([, work]) => work);
  if (cancelled.length > 0) await Promise.allSettled(cancelled);
}

/** HEAD has no body: an error answer carries its code in the `x-arozdfs-error` header. */
async function headChunk(store: ChunkStore, request: PeerRequest, uuid: string): Promise<void> {
  const { stream } = request;
  try {
    checkChunkUuid(uuid);
    const info = await store.head(uuid, { signal: closeSignal(stream) });
    if (info === undefined) throw new ArozError('ERR_CHUNK_MISSING', `Chunk "${uuid}" is not on this node`);
    const range = parseRange(request.headers.range);
    const start = range.start ?? 0;
    const end = range.end ?? info.size;
    if (start > end || end > info.size) {
      throw new ArozError(
        'ERR_INVALID_RANGE',
        `Chunk "${uuid}" has ${info.size} bytes: range ${start}–${end}`,
      );
    }
    const partial = request.headers.range !== undefined;
    if (partial) checkSatisfiable(uuid, start, info.size);
    stream.respond(
      {
        ':status': partial ? 206 : 200,
        'content-length': end - start,
        'accept-ranges': 'bytes',
        ...infoHeaders(info),
        ...(partial ? { 'content-range': `bytes ${start}-${end - 1}/${info.size}` } : {}),
      },
      { endStream: true },
    );
  } catch (err) {
    if (stream.headersSent || stream.destroyed) throw err;
    if (!(err instanceof ArozError)) debug('cluster port: HEAD failed: %o', err);
    const known = err instanceof ArozError ? err : new ArozError('ERR_INTERNAL', 'Internal error');
    stream.respond({ ':status': known.status, [WIRE.error]: known.code }, { endStream: true });
  }
}

/**
 * A `Range` must name at least one byte of the chunk (RFC 9110 §14.1.2): `bytes=<size>-`, or any
 * range of an empty chunk, is 416 — a store would read zero bytes there, but HTTP has no empty range.
 */
function checkSatisfiable(uuid: string, start: number, size: number): void {
  if (start < size) return;
  throw new ArozError(
    'ERR_INVALID_RANGE',
    `Chunk "${uuid}" has ${size} bytes: a range from byte ${start} holds none of them`,
  );
}

async function getChunk(
  store: ChunkStore,
  request: PeerRequest,
  uuid: string,
  pool: PiecePool,
  onSent: (n: number) => void,
): Promise<void> {
  const { stream } = request;
  const range = parseRange(request.headers.range);
  const signal = closeSignal(stream);
  await using reader = await store.get(uuid, { ...range, signal });
  const partial = request.headers.range !== undefined;
  if (partial) checkSatisfiable(uuid, reader.start, reader.info.size);
  stream.respond({
    ':status': partial ? 206 : 200,
    'content-type': 'application/octet-stream',
    'content-length': reader.length,
    'accept-ranges': 'bytes',
    ...infoHeaders(reader.info),
    ...(partial ? { 'content-range': `bytes ${reader.start}-${reader.end - 1}/${reader.info.size}` } : {}),
  });
  await sendBody(reader, stream, signal, pool, onSent);
}

/** Where `sendPieces` writes: an HTTP/2 stream or a TLS socket. */
export interface PieceSink {
  write(chunk: Uint8Array, callback: (err?: Error | null) => void): boolean;
}

/**
 * Streams a reader into `out` through pooled 1 MiB buffers, at most `depth` in flight, and waits
 * until every write is done. A buffer goes back to the pool only in its write callback: HTTP/2 and
 * TLS send from the buffer itself until then.
 */
export async function sendPieces(
  reader: ChunkReader,
  out: PieceSink,
  signal: AbortSignal,
  pool: PiecePool,
  onSent: (n: number) => void,
  depth = GET_DEPTH,
): Promise<void> {
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const onAbort = () => wake?.();
  const pause = () => new Promise<void>((resolve) => (wake = resolve));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      while (inFlight >= depth && !signal.aborted) await pause();
      signal.throwIfAborted();
      const buffer = pool.take();
      let n: number;
      try {
        n = await reader.read(buffer);
      } catch (err) {
        pool.give(buffer);
        throw err;
      }
      if (n === 0) {
        pool.give(buffer);
        break;
      }
      inFlight++;
      onSent(n);
      out.write(buffer.subarray(0, n), () => {
        inFlight--;
        pool.give(buffer);
        wake?.();
      });
    }
    while (inFlight > 0 && !signal.aborted) await pause();
    signal.throwIfAborted();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Streams a reader into an HTTP/2 stream and ends it. */
async function sendBody(
  reader: ChunkReader,
  stream: ServerHttp2Stream,
  signal: AbortSignal,
  pool: PiecePool,
  onSent: (n: number) => void,
): Promise<void> {
  await sendPieces(reader, stream, signal, pool, onSent);
  await new Promise<void>((resolve) => {
    signal.addEventListener('abort', () => resolve(), { once: true });
    stream.end(resolve);
  });
}
