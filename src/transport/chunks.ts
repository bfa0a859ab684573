/**
 * The client side of a chunk put (docs/protocol.md, "Put"): a put to a peer is a ChunkWriter like a
 * local store's, so an upload treats local and remote targets alike. The request carries
 * `expect: 100-continue`: the peer checks the UUID, reserves space and answers "100 Continue" before
 * a body byte is sent, so a full store (507), a conflict (409) or an offline store (503) fails
 * `RemoteChunkWriter.open` itself — the same point where a local `beginPut` fails. The SHA-256 follows
 * the last byte as the HTTP/2 trailer. Sizes and hashes are checked here too, so a body that
 * disagrees with its content-length never reaches the wire (HTTP/2 would reset it as a protocol
 * error). Every wait has a no-progress timeout.
 */
import { type ClientHttp2Session, type ClientHttp2Stream, constants as h2 } from 'node:http2';
import { ArozError } from '../errors.ts';
import { checkChunkUuid, checkMeta, checkSha256, checkSize, interrupted } from '../store/checks.ts';
import type { ChunkWriter, PutResult } from '../store/types.ts';
import { WIRE } from './chunk-headers.ts';
import { readBody } from './client.ts';
import { LIMITS } from './limits.ts';
import { errorFromWire } from './wire.ts';

export interface RemotePutOptions {
  size: number;
  indexId?: string;
  i?: number;
  signal?: AbortSignal;
  /** Fail when the peer makes no progress for this long (default LIMITS.requestTimeoutMs). */
  idleMs?: number;
  /** Called once when the put is over (done, failed or aborted). */
  onSettled?: () => void;
}

type Answer = { status: number; body: string };

/**
 * Bytes of a put handed to HTTP/2 and not sent yet. HTTP/2 hands TLS everything its windows let go at
 * once, and Node's TLS socket keeps an output buffer as large as the largest such write for as long
 * as it lives; so a put lets at most this much (one ring piece) wait in HTTP/2, and the rest waits in
 * the caller's ring. 1 MiB sent as fast as 4 MiB did, with 3–4 MiB less at the uploader's peak
 * (docs/transfer.md, "Smaller queues and rings").
 */
export const PUT_QUEUE_BYTES = 1024 * 1024;
type State = 'open' | 'finishing' | 'done' | 'failed';

export class RemoteChunkWriter implements ChunkWriter {
  readonly uuid: string;
  readonly size: number;
  #peer: string;
  #stream: ClientHttp2Stream;
  #answer: Promise<Answer>;
  /** Rejects as soon as the peer answers or drops the stream: before `finish`, that is a refusal. */
  #early: Promise<never>;
  #idleMs: number;
  #state: State = 'open';
  #error: unknown;
  #received = 0;
  /** Bytes handed to the stream and not sent yet, and the writes waiting for room (PUT_QUEUE_BYTES). */
  #queued = 0;
  #waiting: Array<{ bytes: number; go: () => void }> = [];
  /** Resolves once the latest write was handed to the stream: `finish` ends the stream after it. */
  #handed: Promise<void> = Promise.resolve();
  #finishing: Promise<PutResult> | undefined;
  #signal: AbortSignal | undefined;
  #onSettled: (() => void) | undefined;
  #onAbort = (): void => void this.abort(this.#signal?.reason);

  /** Resolves at "100 Continue": the peer reserved the space. Rejects (and fails the put) if refused. */
  #ready: Promise<void>;

  /**
   * Sends the put's headers at once; `write` and `finish` wait for the peer's "100 Continue". Prefer
   * `RemoteChunkWriter.open`, which resolves only once the peer has reserved the space.
   */
  constructor(session: ClientHttp2Session, peer: string, uuid: string, options: RemotePutOptions) {
    checkChunkUuid(uuid);
    this.uuid = uuid;
    this.size = checkSize(options.size, uuid);
    checkMeta({
      uploader: peer,
      ...(options.indexId !== undefined ? { indexId: options.indexId } : {}),
      ...(options.i !== undefined ? { i: options.i } : {}),
    });
    this.#peer = peer;
    this.#idleMs = options.idleMs ?? LIMITS.requestTimeoutMs;
    this.#signal = options.signal;
    this.#onSettled = options.onSettled;
    try {
      this.#stream = session.request(
        {
          ':method': 'PUT',
          ':path': `/v1/chunks/${uuid}`,
          'content-length': this.size,
          expect: '100-continue',
          ...(options.indexId !== undefined ? { [WIRE.index]: options.indexId } : {}),
          ...(options.i !== undefined ? { [WIRE.position]: options.i } : {}),
        },
        { waitForTrailers: true },
      );
    } catch (err) {
      throw unreachable(peer, `Cannot put chunk "${uuid}"`, err);
    }
    const stream = this.#stream;
    this.#answer = answerOf(stream, `Node "${peer}" closed the put of chunk "${uuid}"`);
    this.#early = this.#answer.then((answer) => {
      throw this.#refusedBy(answer);
    });
    this.#early.catch(() => {});
    // The peer dropped the stream (idle timeout, restart): the put is over, whatever comes next.
    this.#answer.catch((err: unknown) => {
      if (this.#state === 'open') void this.#fail(err).catch(() => {});
    });
    this.#ready = this.#wait(new Promise<void>((resolve) => stream.once('continue', resolve))).catch(
      (err: unknown) => this.#fail(err),
    );
    this.#ready.catch(() => {});
    if (this.#signal?.aborted) this.#onAbort();
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /**
   * Starts a put of `uuid` on the peer and resolves once it reserved the space (100 Continue).
   * Fails like a local `beginPut`: ERR_INVALID_UUID, ERR_INVALID_SIZE, ERR_NO_SPACE,
   * ERR_CHUNK_CONFLICT, ERR_STORE_OFFLINE — plus ERR_PEER_UNREACHABLE, ERR_TIMEOUT, ERR_INTERRUPTED.
   */
  static async open(
    session: ClientHttp2Session,
    peer: string,
    uuid: string,
    options: RemotePutOptions,
  ): Promise<RemoteChunkWriter> {
    if (options.signal?.aborted) throw interrupted(options.signal, `The put of chunk "${uuid}"`);
    const writer = new RemoteChunkWriter(session, peer, uuid, options);
    await writer.#ready;
    return writer;
  }

  get received(): number {
    return this.#received;
  }

  /** Bytes handed to HTTP/2 and not sent yet: at most PUT_QUEUE_BYTES (or one larger piece). */
  get queued(): number {
    return this.#queued;
  }

  /** Resolves once the connection is done with `piece` (the caller may then reuse it). Queued. */
  write(piece: Uint8Array): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(this.#refusal('write to'));
    if (this.#received + piece.byteLength > this.size) {
      return this.#fail(
        new ArozError(
          'ERR_CHUNK_SIZE',
          `Chunk "${this.uuid}" is longer than its declared ${this.size} bytes`,
        ),
      );
    }
    this.#received += piece.byteLength;
    const bytes = piece.byteLength;
    const room = this.#ready.then(() => this.#room(bytes));
    this.#handed = room.catch(() => {});
    const written = room.then(
      () =>
        new Promise<void>((resolve, reject) => {
          this.#stream.write(piece, (err) => {
            this.#sent(bytes);
            if (err) reject(err);
            else resolve();
          });
        }),
    );
    return this.#wait(written).catch((err: unknown) => this.#fail(err));
  }

  /** Resolves once `bytes` more may wait in HTTP/2 (in the order asked); counts them as waiting. */
  #room(bytes: number): Promise<void> {
    if (this.#waiting.length === 0 && (this.#queued === 0 || this.#queued + bytes <= PUT_QUEUE_BYTES)) {
      this.#queued += bytes;
      return Promise.resolve();
    }
    return new Promise((go) => this.#waiting.push({ bytes, go }));
  }

  /** `bytes` left HTTP/2: the next writes that fit go. */
  #sent(bytes: number): void {
    this.#queued -= bytes;
    for (let next = this.#waiting[0]; next !== undefined; next = this.#waiting[0]) {
      if (this.#queued > 0 && this.#queued + next.bytes > PUT_QUEUE_BYTES) return;
      this.#waiting.shift();
      this.#queued += next.bytes;
      next.go();
    }
  }

  finish(expectedSha256: string): Promise<PutResult> {
    if (this.#finishing !== undefined) return this.#finishing;
    if (this.#state !== 'open') return Promise.reject(this.#refusal('finish'));
    this.#state = 'finishing';
    this.#finishing = this.#finish(expectedSha256);
    return this.#finishing;
  }

  async #finish(expectedSha256: string): Promise<PutResult> {
    let answer: Answer;
    try {
      const sha256 = checkSha256(expectedSha256, this.uuid);
      if (this.#received !== this.size) {
        throw new ArozError(
          'ERR_CHUNK_SIZE',
          `Chunk "${this.uuid}" ended after ${this.#received} of its declared ${this.size} bytes`,
        );
      }
      await this.#ready;
      await this.#wait(this.#handed);
      this.#stream.once('wantTrailers', () => {
        if (!this.#stream.destroyed) this.#stream.sendTrailers({ [WIRE.sha256]: sha256 });
      });
      this.#stream.end();
      answer = await this.#wait(this.#answer, false);
    } catch (err) {
      return this.#fail(err);
    }
    if (answer.status === 201 || answer.status === 200) {
      this.#state = 'done';
      this.#settle();
      return answer.status === 201 ? 'created' : 'exists';
    }
    return this.#fail(errorFromWire(answer.status, answer.body, this.#peer));
  }

  /** Cancels the stream; the peer removes what it wrote and releases the space. Idempotent. */
  async abort(reason?: unknown): Promise<void> {
    if (this.#state === 'finishing') {
      await this.#finishing?.catch(() => {});
      return;
    }
    if (this.#state !== 'open') return;
    const error =
      this.#signal?.aborted && reason === this.#signal.reason
        ? interrupted(this.#signal, `The put of chunk "${this.uuid}"`)
        : new ArozError('ERR_INTERRUPTED', `The put of chunk "${this.uuid}" was aborted`, { cause: reason });
    await this.#fail(error).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.abort();
  }

  /** Moves to 'failed' once (the first error wins), cancels the stream, rejects with that error. */
  async #fail(err: unknown): Promise<never> {
    if (this.#state === 'open' || this.#state === 'finishing') {
      this.#state = 'failed';
      this.#error =
        err instanceof ArozError ? err : unreachable(this.#peer, `The put of chunk "${this.uuid}"`, err);
      if (!this.#stream.destroyed) this.#stream.close(h2.NGHTTP2_CANCEL);
      this.#settle();
    }
    // Node sends the reset a moment later: wait for it, so that the caller's next request on this
    // session reaches the peer after it (the peer then sees the space released).
    await this.#closed(this.#idleMs);
    throw this.#error;
  }

  #closed(ms: number): Promise<void> {
    const stream = this.#stream;
    if (stream.closed && stream.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      stream.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #settle(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    const settled = this.#onSettled;
    this.#onSettled = undefined;
    settled?.();
  }

  #refusal(what: string): unknown {
    if (this.#state === 'failed') return this.#error;
    return new ArozError('ERR_INTERNAL', `Cannot ${what} chunk "${this.uuid}": the put is already finishing`);
  }

  #refusedBy(answer: Answer): ArozError {
    if (answer.status >= 400) return errorFromWire(answer.status, answer.body, this.#peer);
    return new ArozError(
      'ERR_BAD_REQUEST',
      `Node "${this.#peer}" answered HTTP ${answer.status} before chunk "${this.uuid}" was sent`,
    );
  }

  /** Waits for `work`; fails after idleMs without it, or (`early`) when the peer answers first. */
  async #wait<T>(work: Promise<T>, early = true): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      const message = `Node "${this.#peer}" made no progress on chunk "${this.uuid}" for ${this.#idleMs} ms`;
      timer = setTimeout(() => reject(new ArozError('ERR_TIMEOUT', message)), this.#idleMs);
    });
    try {
      return await Promise.race([work, timeout, ...(early ? [this.#early] : [])]);
    } catch (err) {
      if (this.#state === 'failed') throw this.#error;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The final answer to a request: status and (small) body; rejects if the stream closes first. */
function answerOf(stream: ClientHttp2Stream, closedMessage: string): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    let answered = false;
    let streamError: Error | undefined;
    stream.on('error', (err) => {
      streamError = err;
    });
    stream.once('response', (headers) => {
      answered = true;
      readBody(stream).then(
        (body) => resolve({ status: Number(headers[':status']), body }),
        (err: unknown) =>
          reject(
            err instanceof ArozError
              ? err
              : new ArozError('ERR_PEER_UNREACHABLE', `${closedMessage}: ${(err as Error).message}`, {
                  cause: err,
                }),
          ),
      );
    });
    stream.once('close', () => {
      if (answered) return;
      const why = streamError !== undefined ? `: ${streamError.message}` : ` (code ${stream.rstCode ?? '?'})`;
      reject(new ArozError('ERR_PEER_UNREACHABLE', `${closedMessage}${why}`, { cause: streamError }));
    });
  });
}

function unreachable(peer: string, what: string, err: unknown): ArozError {
  if (err instanceof ArozError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ArozError('ERR_PEER_UNREACHABLE', `${what} to node "${peer}" failed: ${message}`, {
    cause: err,
  });
}
