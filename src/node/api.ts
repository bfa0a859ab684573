/**
 * The node API on the cluster port (DESIGN.md §7): put, get (byte ranges), head and delete a chunk
 * by UUID, and `GET /v1/node`. Every caller here is a verified, pinned peer; nothing on this port can
 * change keys or trust. A put reserves space before it reads a body byte (507 when full), streams
 * into the store while hashing, and checks the SHA-256 the sender puts in the trailer.
 */
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { ArozError } from '../errors.ts';
import { MAX_CHUNK_SIZE } from '../index-file/types.ts';
import type { ChunkReader, ChunkStore, StoreStatus } from '../store/types.ts';
import type { PeerRequest, RequestHandler } from '../transport/server.ts';
import { sendJson } from '../transport/wire.ts';
import { isUuid } from '../uuid.ts';

export const SHA256_TRAILER = 'x-arozdfs-sha256';
export const INDEX_HEADER = 'x-arozdfs-index';
export const POSITION_HEADER = 'x-arozdfs-i';
const POOL_SIZE = 4;
const PIECE = 1024 * 1024;

export interface NodeInfo {
  uuid: string;
  name: string;
  version: string;
  stores: StoreStatus[];
}

export interface NodeApiOptions {
  store: ChunkStore;
  info: () => Promise<NodeInfo>;
  /** A request body that makes no progress for this long is abandoned (its reservation released). */
  idleMs: number;
}

export function nodeApi(options: NodeApiOptions): RequestHandler {
  return async (request) => {
    const method = request.headers[':method'];
    const path = request.headers[':path'] ?? '';
    if (path === '/v1/node' && method === 'GET') {
      sendJson(request.stream, 200, await options.info());
      return;
    }
    const match = /^\/v1\/chunks\/([^/?]{1,64})$/.exec(path);
    if (match !== null) {
      const uuid = match[1] ?? '';
      if (!isUuid(uuid))
        throw new ArozError('ERR_INVALID_UUID', `Chunk UUID "${uuid}" is not a canonical v4 UUID`);
      request.stream.setTimeout(options.idleMs, () => request.stream.close(0x8));
      switch (method) {
        case 'PUT':
          return await putChunk(options.store, request, uuid);
        case 'GET':
        case 'HEAD':
          return await getChunk(options.store, request, uuid, method === 'HEAD');
        case 'DELETE':
          await options.store.delete(uuid, { by: request.peer });
          sendJson(request.stream, 200, { uuid, deleted: true });
          return;
      }
    }
    throw new ArozError('ERR_ROUTE_NOT_FOUND', `No endpoint "${method} ${path.slice(0, 100)}"`);
  };
}

function streamSignal(stream: ServerHttp2Stream): AbortSignal {
  const controller = new AbortController();
  stream.once('close', () => controller.abort(new ArozError('ERR_INTERRUPTED', 'The request was closed')));
  return controller.signal;
}

function contentLength(headers: IncomingHttpHeaders): number {
  const text = headers['content-length'];
  const size = Number(text);
  if (text === undefined || !/^\d{1,10}$/.test(text) || size > MAX_CHUNK_SIZE) {
    throw new ArozError(
      'ERR_BAD_REQUEST',
      `A chunk put needs a content-length of 0..${MAX_CHUNK_SIZE}, got "${text ?? ''}"`,
    );
  }
  return size;
}

function metaOf(request: PeerRequest): { uploader: string; indexId?: string; i?: number } {
  const indexId = request.headers[INDEX_HEADER];
  const position = request.headers[POSITION_HEADER];
  if (indexId !== undefined && !isUuid(indexId))
    throw new ArozError('ERR_BAD_REQUEST', `Bad ${INDEX_HEADER} header`);
  if (position !== undefined && !/^\d{1,7}$/.test(String(position))) {
    throw new ArozError('ERR_BAD_REQUEST', `Bad ${POSITION_HEADER} header`);
  }
  return {
    uploader: request.peer,
    ...(indexId !== undefined ? { indexId } : {}),
    ...(position !== undefined ? { i: Number(position) } : {}),
  };
}

async function putChunk(store: ChunkStore, request: PeerRequest, uuid: string): Promise<void> {
  const { stream } = request;
  const size = contentLength(request.headers);
  const signal = streamSignal(stream);
  const trailers = new Promise<string | undefined>((resolve) => {
    stream.once('trailers', (t: IncomingHttpHeaders) => resolve(String(t[SHA256_TRAILER] ?? '')));
    stream.once('close', () => resolve(undefined));
  });
  // Reserves space first: a full store answers 507 before a body byte is read.
  await using writer = await store.beginPut(uuid, { size, meta: metaOf(request), signal });
  for await (const piece of stream as AsyncIterable<Buffer>) await writer.write(piece);
  const sha256 = await trailers;
  if (sha256 === undefined || sha256 === '') {
    throw new ArozError(
      'ERR_BAD_REQUEST',
      `The put of chunk "${uuid}" ended without its ${SHA256_TRAILER} trailer`,
    );
  }
  const result = await writer.finish(sha256);
  sendJson(stream, result === 'created' ? 201 : 200, { uuid, size, sha256, result });
}

function parseRange(header: string | undefined): { start?: number; end?: number } {
  if (header === undefined) return {};
  const m = /^bytes=(\d{1,12})-(\d{0,12})$/.exec(header);
  if (m === null) throw new ArozError('ERR_INVALID_RANGE', `Unsupported range "${header.slice(0, 60)}"`);
  const start = Number(m[1]);
  return m[2] === '' ? { start } : { start, end: Number(m[2]) + 1 };
}

async function getChunk(
  store: ChunkStore,
  request: PeerRequest,
  uuid: string,
  headOnly: boolean,
): Promise<void> {
  const { stream } = request;
  const range = parseRange(request.headers.range);
  const signal = streamSignal(stream);
  await using reader = await store.get(uuid, { ...range, signal });
  const partial = request.headers.range !== undefined;
  stream.respond({
    ':status': partial ? 206 : 200,
    'content-type': 'application/octet-stream',
    'content-length': reader.length,
    [SHA256_TRAILER]: reader.info.sha256,
    'x-arozdfs-chunk-size': reader.info.size,
    ...(partial ? { 'content-range': `bytes ${reader.start}-${reader.end - 1}/${reader.info.size}` } : {}),
  });
  if (headOnly) {
    stream.end();
    return;
  }
  await pump(reader, stream, signal);
}

/** Streams a reader into an HTTP/2 stream through a small pool of reused buffers. */
async function pump(reader: ChunkReader, stream: ServerHttp2Stream, signal: AbortSignal): Promise<void> {
  const free: Buffer[] = Array.from({ length: POOL_SIZE }, () => Buffer.allocUnsafeSlow(PIECE));
  let waiting: (() => void) | undefined;
  const release = (buf: Buffer) => {
    free.push(buf);
    waiting?.();
    waiting = undefined;
  };
  for (;;) {
    signal.throwIfAborted();
    let buf = free.pop();
    while (buf === undefined) {
      await new Promise<void>((resolve) => {
        waiting = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      signal.throwIfAborted();
      buf = free.pop();
    }
    const n = await reader.read(buf);
    if (n === 0) break;
    const owned = buf;
    stream.write(owned.subarray(0, n), () => release(owned));
  }
  await new Promise<void>((resolve) => stream.end(resolve));
}
