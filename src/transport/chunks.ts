/**
 * The client side of the chunk API: a put to a peer is a ChunkWriter like a local store's (so an
 * upload treats local and remote targets alike), and a get yields the chunk's bytes. The SHA-256 of
 * a put travels in the HTTP/2 trailer after the last byte, so the sender hashes while it streams.
 * Every wait has a no-progress timeout.
 */
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import { ArozError } from '../errors.ts';
import { INDEX_HEADER, POSITION_HEADER, SHA256_TRAILER } from '../node/api.ts';
import type { ChunkWriter, PutResult } from '../store/types.ts';
import { readBody, request as sendRequest } from './client.ts';
import { LIMITS } from './limits.ts';
import { errorFromWire } from './wire.ts';

export interface RemotePutOptions {
  size: number;
  indexId?: string;
  i?: number;
  signal?: AbortSignal;
  /** Abort when a write makes no progress for this long (default LIMITS.requestTimeoutMs). */
  idleMs?: number;
}

type Answer = { status: number; body: string };

export class RemoteChunkWriter implements ChunkWriter {
  readonly uuid: string;
  readonly size: number;
  #received = 0;
  #peer: string;
  #stream: ClientHttp2Stream;
  #answer: Promise<Answer>;
  #settled: Answer | Error | undefined;
  #idleMs: number;
  #state: 'open' | 'finished' | 'aborted' = 'open';

  constructor(session: ClientHttp2Session, peer: string, uuid: string, options: RemotePutOptions) {
    this.uuid = uuid;
    this.size = options.size;
    this.#peer = peer;
    this.#idleMs = options.idleMs ?? LIMITS.requestTimeoutMs;
    this.#stream = session.request(
      {
        ':method': 'PUT',
        ':path': `/v1/chunks/${uuid}`,
        'content-length': options.size,
        ...(options.indexId !== undefined ? { [INDEX_HEADER]: options.indexId } : {}),
        ...(options.i !== undefined ? { [POSITION_HEADER]: options.i } : {}),
      },
      { waitForTrailers: true },
    );
    this.#answer = new Promise<Answer>((resolve, reject) => {
      this.#stream.once('response', (headers) => {
        readBody(this.#stream).then((body) => resolve({ status: Number(headers[':status']), body }), reject);
      });
      this.#stream.once('error', (err) =>
        reject(
          new ArozError(
            'ERR_PEER_UNREACHABLE',
            `Put of chunk "${uuid}" to node "${peer}" failed: ${err.message}`,
          ),
        ),
      );
      this.#stream.once('close', () =>
        reject(new ArozError('ERR_PEER_UNREACHABLE', `Node "${peer}" closed the put of chunk "${uuid}"`)),
      );
    });
    this.#answer.then(
      (a) => {
        this.#settled = a;
      },
      (err: Error) => {
        this.#settled = err;
      },
    );
    options.signal?.addEventListener('abort', () => void this.abort(options.signal?.reason), { once: true });
  }

  get received(): number {
    return this.#received;
  }

  /** Resolves once the piece has been handed to the connection (the caller may then reuse it). */
  async write(piece: Uint8Array): Promise<void> {
    this.#throwIfAnswered();
    if (this.#received + piece.length > this.size) {
      throw new ArozError(
        'ERR_CHUNK_SIZE',
        `Chunk "${this.uuid}" is longer than the ${this.size} bytes declared`,
      );
    }
    this.#received += piece.length;
    const written = new Promise<void>((resolve, reject) => {
      this.#stream.write(piece, (err) => (err ? reject(err) : resolve()));
    });
    await this.#withIdleTimeout(Promise.race([written, this.#early()]));
  }

  async finish(expectedSha256: string): Promise<PutResult> {
    if (this.#state === 'aborted')
      throw new ArozError('ERR_INTERRUPTED', `The put of chunk "${this.uuid}" was aborted`);
    if (this.#state === 'open') {
      this.#state = 'finished';
      this.#stream.once('wantTrailers', () =>
        this.#stream.sendTrailers({ [SHA256_TRAILER]: expectedSha256 }),
      );
      this.#stream.end();
    }
    const answer = await this.#withIdleTimeout(this.#answer);
    if (answer.status === 201) return 'created';
    if (answer.status === 200) return 'exists';
    throw errorFromWire(answer.status, answer.body, this.#peer);
  }

  async abort(_reason?: unknown): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    this.#answer.catch(() => {});
    if (!this.#stream.destroyed) this.#stream.close(0x8); // CANCEL
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.abort();
  }

  /** A peer that answered before the body ended refused the put (507, 409, …): say why. */
  #throwIfAnswered(): void {
    const settled = this.#settled;
    if (settled === undefined) {
      if (this.#state !== 'open')
        throw new ArozError('ERR_INTERRUPTED', `The put of chunk "${this.uuid}" is over`);
      return;
    }
    if (settled instanceof Error) throw settled;
    throw errorFromWire(settled.status, settled.body, this.#peer);
  }

  /** Rejects when the peer answers before the body is complete (it refused the put). */
  #early(): Promise<never> {
    return this.#answer.then((a) => {
      throw a.status >= 400
        ? errorFromWire(a.status, a.body, this.#peer)
        : new ArozError(
            'ERR_BAD_REQUEST',
            `Node "${this.#peer}" answered before chunk "${this.uuid}" was sent`,
          );
    });
  }

  async #withIdleTimeout<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void this.abort();
        reject(
          new ArozError(
            'ERR_TIMEOUT',
            `Node "${this.#peer}" made no progress on chunk "${this.uuid}" for ${this.#idleMs} ms`,
          ),
        );
      }, this.#idleMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface RemoteGetOptions {
  start?: number;
  end?: number;
  head?: boolean;
  signal?: AbortSignal;
}

export interface RemoteChunk {
  /** SHA-256 of the whole chunk, as the holder recorded it. */
  sha256: string;
  size: number;
  length: number;
  /** The body; empty for a head request. Read it with your own no-progress timeout. */
  stream: ClientHttp2Stream;
}

/** Asks a peer for a chunk (or a byte range of it). A non-2xx answer becomes the peer's ArozError. */
export async function getRemoteChunk(
  session: ClientHttp2Session,
  peer: string,
  uuid: string,
  options: RemoteGetOptions = {},
): Promise<RemoteChunk> {
  const ranged = options.start !== undefined || options.end !== undefined;
  const range = ranged
    ? `bytes=${options.start ?? 0}-${options.end === undefined ? '' : options.end - 1}`
    : undefined;
  const res = await sendRequest(
    session,
    {
      ':method': options.head ? 'HEAD' : 'GET',
      ':path': `/v1/chunks/${uuid}`,
      ...(range !== undefined ? { range } : {}),
    },
    options.signal ? { signal: options.signal } : {},
  );
  if (res.status !== 200 && res.status !== 206)
    throw errorFromWire(res.status, await readBody(res.stream), peer);
  return {
    sha256: String(res.headers[SHA256_TRAILER] ?? ''),
    size: Number(res.headers['x-arozdfs-chunk-size']),
    length: Number(res.headers['content-length']),
    stream: res.stream,
  };
}
