/**
 * `PUT /v1/chunks/<uuid>` (docs/protocol.md, "Put"): reserve, then receive, then check. The store's
 * `beginPut` runs before a body byte is read, so a full store answers 507 without reading; a sender
 * that asked `expect: 100-continue` gets "100 Continue" only once the space is reserved. The body
 * arrives in HTTP/2 DATA pieces of at most 16 KiB; they are gathered into pooled 1 MiB buffers (at
 * most PUT_DEPTH written at once, the stream paused beyond that), so the store sees few large writes.
 * An error answer is followed by a reset without error (RFC 9113 §8.1), so the sender stops sending.
 */
import { constants as h2, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { IdleTimer, POOL_IDLE_MS } from '../buffer-pool.ts';
import { alignedBuffers } from '../chunk/aligned.ts';
import { ArozError } from '../errors.ts';
import { PIECE_SIZE } from '../store/checks.ts';
import type { ChunkMeta, ChunkStore, ChunkWriter } from '../store/types.ts';
import { byteCount, WIRE } from '../transport/chunk-headers.ts';
import type { PeerRequest } from '../transport/server.ts';
import { sendJson } from '../transport/wire.ts';
import { assertUuid } from '../uuid.ts';
import { noteReceived, settleLater } from '../young-gc.ts';

/** Filled buffers a put hands to the store at once before it pauses the stream. */
const PUT_DEPTH = 4;

/**
 * Reused 1 MiB buffers (fresh memory is slow to touch on these machines). The first `max` are one
 * block of page-aligned memory (chunk/aligned.ts), so the store can write whole pieces of them with
 * O_DIRECT; they always come back to the pool, so at most `max` are kept idle. When all of them are in
 * use, a take gets an ordinary buffer (written through the page cache), dropped when given back.
 * Once every buffer of the block is back and none was taken for 10 s, the block is let go (the
 * settling collection unmaps it): an idle node does not keep the pages its last transfer touched.
 */
export class PiecePool {
  #free: Buffer[] = [];
  #max: number;
  /** The aligned block, made at the first take; its pages are touched only as buffers are used. */
  #block: ArrayBufferLike | undefined;
  #idle: IdleTimer;

  constructor(max = 16, idleMs = POOL_IDLE_MS) {
    this.#max = max;
    this.#idle = new IdleTimer(idleMs, () => {
      // A buffer still out (a write in flight) keeps the block: the next give comes back here.
      if (this.#block === undefined || this.#free.length < this.#max) return;
      this.#block = undefined;
      this.#free = [];
      settleLater();
    });
  }

  take(): Buffer {
    this.#idle.touch();
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#block === undefined && this.#max > 0) {
      const buffers = alignedBuffers(this.#max, PIECE_SIZE);
      this.#block = buffers[0]!.buffer;
      // Handed out from the start of the block, so a light load touches only its first pages.
      this.#free = buffers.reverse();
      return this.#free.pop()!;
    }
    return Buffer.allocUnsafeSlow(PIECE_SIZE);
  }

  give(buffer: Buffer): void {
    if (buffer.buffer !== this.#block) return;
    this.#free.push(buffer);
    this.#idle.touch();
  }

  /** True while the pool holds its block of memory. */
  get holding(): boolean {
    return this.#block !== undefined;
  }
}

/** Aborts when the stream (or a bulk connection's socket) closes: the peer cancelled, timed out, or went away. */
export function closeSignal(stream: {
  destroyed: boolean;
  closed: boolean;
  once(event: 'close', listener: () => void): unknown;
}): AbortSignal {
  const controller = new AbortController();
  const abort = () => controller.abort(new ArozError('ERR_INTERRUPTED', 'The request was closed'));
  if (stream.destroyed || stream.closed) abort();
  else stream.once('close', abort);
  return controller.signal;
}

/**
 * Catches the SHA-256 trailer whenever it arrives. Call it before the first `await` of a request:
 * HTTP/2 emits trailers as they come, whether or not anyone reads the body yet.
 */
export function trailerOf(stream: ServerHttp2Stream): () => string | undefined {
  let sha256: string | undefined;
  stream.once('trailers', (trailers: IncomingHttpHeaders) => {
    const value = trailers[WIRE.sha256];
    sha256 = typeof value === 'string' ? value : '';
  });
  return () => sha256;
}

export async function putChunk(
  store: ChunkStore,
  request: PeerRequest,
  uuid: string,
  pool: PiecePool,
  trailer: () => string | undefined,
): Promise<void> {
  const { stream, headers } = request;
  try {
    const size = contentLength(headers);
    const meta = metaOf(request);
    const signal = closeSignal(stream);
    await using writer = await store.beginPut(uuid, { size, meta, signal });
    if (headers.expect?.toLowerCase() === '100-continue' && !stream.destroyed && !stream.headersSent) {
      stream.additionalHeaders({ ':status': 100 });
    }
    await receiveBody(stream, writer, pool, signal);
    const sha256 = trailer();
    if (sha256 === undefined || sha256 === '') {
      throw new ArozError(
        'ERR_BAD_REQUEST',
        `The put of chunk "${uuid}" ended without its ${WIRE.sha256} trailer`,
      );
    }
    stream.setTimeout(0); // the node works now (hash check, fdatasync): not the sender's idle time
    const result = await writer.finish(sha256);
    sendJson(stream, result === 'created' ? 201 : 200, { uuid, size, sha256, result });
  } catch (err) {
    // The server answers the error; once that answer is out, the rest of the body is refused.
    stream.once('finish', () => setImmediate(() => stream.closed || stream.close(h2.NGHTTP2_NO_ERROR)));
    throw err;
  }
}

function contentLength(headers: IncomingHttpHeaders): number {
  const text = headers['content-length'];
  if (text === undefined) throw new ArozError('ERR_BAD_REQUEST', 'A chunk put needs a content-length');
  const size = byteCount(text);
  if (size === undefined) {
    throw new ArozError(
      'ERR_INVALID_SIZE',
      `A chunk's content-length ${JSON.stringify(text.slice(0, 20))} is not a chunk size (0 to 4 GiB − 1)`,
    );
  }
  return size;
}

/** The uploader is always the verified caller, never a header. */
function metaOf(request: PeerRequest): ChunkMeta {
  const indexId = request.headers[WIRE.index];
  const position = request.headers[WIRE.position];
  if (position !== undefined && !(typeof position === 'string' && /^\d{1,9}$/.test(position))) {
    throw new ArozError(
      'ERR_BAD_REQUEST',
      `Header ${WIRE.position} must be a chunk position, not a list or text`,
    );
  }
  return {
    uploader: request.peer,
    ...(indexId !== undefined ? { indexId: assertUuid(indexId, `Header ${WIRE.index}`) } : {}),
    ...(position !== undefined ? { i: Number(position) } : {}),
  };
}

/** Copies the body into pooled buffers and writes them to the store; resolves at the body's end. */
function receiveBody(
  stream: ServerHttp2Stream,
  writer: ChunkWriter,
  pool: PiecePool,
  signal: AbortSignal,
): Promise<void> {
  // Closed while the store was reserving: the 'close' event is already gone.
  if (signal.aborted) return Promise.reject(new ArozError('ERR_INTERRUPTED', 'The sender closed the put'));
  return new Promise<void>((resolve, reject) => {
    let buffer = pool.take();
    let filled = 0;
    let inFlight = 0;
    let ended = false;
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onClose);
      pool.give(buffer);
      if (err === undefined) resolve();
      else reject(err);
    };
    const flush = () => {
      const full = buffer;
      const piece = full.subarray(0, filled);
      buffer = pool.take();
      filled = 0;
      inFlight++;
      if (inFlight >= PUT_DEPTH) stream.pause();
      writer.write(piece).then(
        () => {
          inFlight--;
          pool.give(full);
          if (settled) return;
          if (stream.isPaused()) stream.resume();
          if (ended && inFlight === 0) finish();
        },
        (err: unknown) => {
          inFlight--;
          pool.give(full);
          finish(err);
        },
      );
    };
    const onData = (data: Buffer) => {
      noteReceived(data.length);
      for (let at = 0; at < data.length; ) {
        const n = data.copy(buffer, filled, at);
        filled += n;
        at += n;
        if (filled === buffer.length) flush();
      }
    };
    const onEnd = () => {
      ended = true;
      if (filled > 0) flush();
      if (inFlight === 0) finish();
    };
    const onClose = () =>
      finish(new ArozError('ERR_INTERRUPTED', 'The sender closed the put before its end'));
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onClose);
  });
}
