/**
 * The client side of a chunk get and head (docs/protocol.md, "Get"): the answer's headers give the
 * chunk's recorded info and the byte range served; `RemoteChunkReader` reads the body under the
 * ChunkReader contract (iteration in pieces of ≤ 1 MiB from one reused buffer, or `read(into)`),
 * with a no-progress timeout, the caller's signal, and HTTP/2 flow control as back-pressure: at most
 * about 1 MiB waits here, the rest stays in the peer's window. It does not re-hash: the caller checks
 * the bytes against the index, as with a local store.
 */
import { type ClientHttp2Session, type ClientHttp2Stream, constants as h2 } from 'node:http2';
import { BufferPool } from '../buffer-pool.ts';
import { ArozError } from '../errors.ts';
import { checkChunkUuid, interrupted, PIECE_SIZE } from '../store/checks.ts';
import type { ChunkInfo, ChunkReader } from '../store/types.ts';
import { noteReceived } from '../young-gc.ts';
import { byteCount, infoFromHeaders, parseContentRange, rangeHeader, WIRE } from './chunk-headers.ts';
import { type PeerResponse, readBody, request } from './client.ts';
import { LIMITS } from './limits.ts';
import { errorFromWire } from './wire.ts';

export interface RemoteGetOptions {
  start?: number;
  end?: number;
  head?: boolean;
  signal?: AbortSignal;
  /** Wait for the answer's headers at most this long (default LIMITS.requestTimeoutMs). */
  timeoutMs?: number;
}

export interface RemoteChunk {
  /** The chunk as the holder recorded it (SHA-256 of the whole chunk, uploader, …). */
  info: ChunkInfo;
  /** The byte range served, end exclusive. */
  start: number;
  end: number;
  /** The body; already closed for a head request. */
  stream: ClientHttp2Stream;
}

/** Asks a peer for a chunk, a byte range of it, or only its info (`head`). Errors keep their code. */
export async function getRemoteChunk(
  session: ClientHttp2Session,
  peer: string,
  uuid: string,
  options: RemoteGetOptions = {},
): Promise<RemoteChunk> {
  checkChunkUuid(uuid);
  const range = rangeHeader(options);
  let res: PeerResponse;
  try {
    res = await request(
      session,
      {
        ':method': options.head ? 'HEAD' : 'GET',
        ':path': `/v1/chunks/${uuid}`,
        ...(range !== undefined ? { range } : {}),
      },
      {
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      },
    );
  } catch (err) {
    if (options.signal?.aborted) throw interrupted(options.signal, `The read of chunk "${uuid}"`);
    if (err instanceof ArozError) throw err;
    throw new ArozError('ERR_PEER_UNREACHABLE', `Cannot ask node "${peer}" for chunk "${uuid}"`, {
      cause: err,
    });
  }
  if (res.status !== 200 && res.status !== 206) {
    if (!options.head) throw errorFromWire(res.status, await readBody(res.stream), peer);
    res.stream.close();
    const code = res.headers[WIRE.error];
    const message = `HEAD of chunk "${uuid}" answered HTTP ${res.status}`;
    throw errorFromWire(res.status, JSON.stringify({ code, message }), peer);
  }
  const bad = (what: string) => {
    res.stream.close(h2.NGHTTP2_CANCEL);
    return new ArozError('ERR_BAD_REQUEST', `Node "${peer}" answered chunk "${uuid}" with ${what}`);
  };
  let info: ChunkInfo;
  try {
    info = infoFromHeaders(res.headers, uuid, peer);
  } catch (err) {
    res.stream.close(h2.NGHTTP2_CANCEL);
    throw err;
  }
  let served = { start: 0, end: info.size };
  if (res.status === 206) {
    const parsed = parseContentRange(String(res.headers['content-range'] ?? ''));
    if (parsed === undefined || parsed.size !== info.size || parsed.end > info.size) {
      throw bad('a malformed content-range');
    }
    served = parsed;
  }
  const wanted = { start: options.start ?? 0, end: options.end ?? info.size };
  if (served.start !== wanted.start || served.end !== wanted.end) throw bad('another byte range');
  if (byteCount(String(res.headers['content-length'] ?? '')) !== served.end - served.start) {
    throw bad('a content-length that is not the length of the range');
  }
  if (options.head) res.stream.close();
  return { info, start: served.start, end: served.end, stream: res.stream };
}

/** Largest number of received bytes kept here before the stream is paused. */
const HIGH_WATER = PIECE_SIZE;
const pool = new BufferPool(PIECE_SIZE, 8);

export class RemoteChunkReader implements ChunkReader {
  readonly info: ChunkInfo;
  readonly start: number;
  readonly end: number;
  #stream: ClientHttp2Stream;
  #peer: string;
  #idleMs: number;
  #signal: AbortSignal | undefined;
  #queue: Buffer[] = [];
  #queued = 0;
  #arrived = 0;
  #given = 0;
  #ended = false;
  #closed = false;
  #error: ArozError | undefined;
  #wake: (() => void) | undefined;
  /** One no-progress timer for all the waits of this read, started again at each (see #nextEvent). */
  #idleTimer: NodeJS.Timeout | undefined;
  #onAbort = (): void => {
    if (this.#signal) this.#failWith(interrupted(this.#signal, `The read of chunk "${this.info.uuid}"`));
  };

  constructor(chunk: RemoteChunk, peer: string, options: { idleMs?: number; signal?: AbortSignal } = {}) {
    this.info = chunk.info;
    this.start = chunk.start;
    this.end = chunk.end;
    this.#stream = chunk.stream;
    this.#peer = peer;
    this.#idleMs = options.idleMs ?? LIMITS.requestTimeoutMs;
    this.#signal = options.signal;
    const stream = this.#stream;
    stream.on('data', (data: Buffer) => this.#onData(data));
    stream.on('end', () => {
      this.#ended = true;
      this.#notify();
    });
    stream.on('error', (err) => this.#failWith(this.#brokeOff(err)));
    stream.on('close', () => {
      if (this.#arrived < this.length) this.#failWith(this.#brokeOff());
      this.#notify();
    });
    if (this.#signal?.aborted) this.#onAbort();
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get length(): number {
    return this.end - this.start;
  }

  async read(into: Uint8Array): Promise<number> {
    if (this.#error !== undefined) throw this.#error;
    if (this.#closed) return 0;
    const want = Math.min(into.byteLength, this.length - this.#given);
    if (want === 0) {
      if (this.#given === this.length) await this.close();
      return 0;
    }
    while (this.#queued === 0) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#closed) return 0;
      if (this.#ended) this.#failWith(this.#brokeOff());
      else await this.#nextEvent();
    }
    let n = 0;
    while (n < want) {
      const head = this.#queue[0];
      if (head === undefined) break;
      const take = Math.min(head.length, want - n);
      head.copy(into, n, 0, take);
      if (take === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(take);
      n += take;
    }
    this.#queued -= n;
    this.#given += n;
    if (this.#queued < HIGH_WATER / 2 && this.#stream.isPaused()) this.#stream.resume();
    if (this.#given === this.length) await this.close();
    return n;
  }

  [Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    return pool.pieces(this);
  }

  /** Stops reading; cancels the stream if the peer is still sending. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.#queue = [];
    this.#queued = 0;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (this.#arrived < this.length && !this.#stream.destroyed) this.#stream.close(h2.NGHTTP2_CANCEL);
    else this.#stream.resume(); // let the end of the stream arrive
    this.#notify();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #onData(data: Buffer): void {
    noteReceived(data.length);
    if (this.#closed) return;
    this.#arrived += data.length;
    if (this.#arrived > this.length) {
      this.#failWith(
        new ArozError(
          'ERR_BAD_REQUEST',
          `Node "${this.#peer}" sent more than the ${this.length} bytes it announced`,
        ),
      );
      return;
    }
    this.#queue.push(data);
    this.#queued += data.length;
    if (this.#queued >= HIGH_WATER) this.#stream.pause();
    this.#notify();
  }

  #brokeOff(cause?: unknown): ArozError {
    return new ArozError(
      'ERR_PEER_UNREACHABLE',
      `Node "${this.#peer}" broke off chunk "${this.info.uuid}" after ${this.#arrived} of ${this.length} bytes`,
      { cause },
    );
  }

  #failWith(error: ArozError): void {
    if (this.#error !== undefined || this.#closed) return;
    this.#error = error;
    clearTimeout(this.#idleTimer);
    this.#queue = [];
    this.#queued = 0;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (!this.#stream.destroyed) this.#stream.close(h2.NGHTTP2_CANCEL);
    this.#notify();
  }

  #notify(): void {
    this.#wake?.();
  }

  /**
   * Resolves at the next thing that happens to the stream; fails the read after idleMs of nothing.
   * A wait comes every frame or so (16 KiB), so they share one timer: time between waits (the
   * caller's own work) does not count.
   */
  #nextEvent(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve();
      };
      if (this.#idleTimer === undefined) {
        this.#idleTimer = setTimeout(() => {
          if (this.#wake === undefined) return; // not waiting: the next wait starts it again
          this.#failWith(
            new ArozError(
              'ERR_TIMEOUT',
              `Node "${this.#peer}" sent nothing of chunk "${this.info.uuid}" for ${this.#idleMs} ms`,
            ),
          );
        }, this.#idleMs);
      } else this.#idleTimer.refresh();
    });
  }
}
