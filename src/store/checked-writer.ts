/**
 * The part of a put every store shares: the lifecycle, the size limit as bytes arrive, the
 * incremental SHA-256, and the checks at `finish`. Where the bytes go is a PutTarget (a temp file,
 * a list of pieces, or nowhere when the UUID already exists).
 */
import { createHash, type Hash } from 'node:crypto';
import { ArozError, fromSystemError } from '../errors.ts';
import { checkSha256, compareExisting, interrupted, missingError } from './checks.ts';
import type { ChunkInfo, ChunkMeta, ChunkWriter, PutResult } from './types.ts';

export interface PutTarget {
  /**
   * Starts writing `piece` at `position` before returning (the hash runs while the I/O does) and
   * resolves when `piece` may be reused.
   */
  write(piece: Uint8Array, position: number): Promise<void>;
  /** Makes the checked chunk durable and visible unless the UUID exists; releases the reservation. */
  commit(info: ChunkInfo): Promise<PutResult>;
  /** Removes whatever was written and releases the reservation. Idempotent. */
  discard(): Promise<void>;
}

type State = 'open' | 'finishing' | 'done' | 'failed';

export class CheckedWriter implements ChunkWriter {
  readonly uuid: string;
  readonly size: number;
  #meta: ChunkMeta;
  #target: PutTarget;
  #hash: Hash = createHash('sha256');
  #received = 0;
  #state: State = 'open';
  #error: unknown;
  #queue: Promise<void> = Promise.resolve();
  #finishing: Promise<PutResult> | undefined;
  #failing: Promise<void> | undefined;
  #signal: AbortSignal | undefined;
  #onAbort = (): void => {
    void this.abort(this.#signal?.reason);
  };
  #onSettled: (() => void) | undefined;

  constructor(
    uuid: string,
    size: number,
    meta: ChunkMeta,
    target: PutTarget,
    options: { signal?: AbortSignal | undefined; onSettled?: () => void } = {},
  ) {
    this.uuid = uuid;
    this.size = size;
    this.#meta = meta;
    this.#target = target;
    this.#onSettled = options.onSettled;
    this.#signal = options.signal;
    if (this.#signal?.aborted) queueMicrotask(this.#onAbort);
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get received(): number {
    return this.#received;
  }

  write(piece: Uint8Array): Promise<void> {
    if (this.#state !== 'open') return this.#refuse('write to');
    const position = this.#received;
    if (position + piece.byteLength > this.size) {
      return this.#fail(
        new ArozError(
          'ERR_CHUNK_SIZE',
          `Chunk "${this.uuid}" is longer than its declared ${this.size} bytes`,
        ),
      );
    }
    this.#received += piece.byteLength;
    const run = this.#queue.then(() => this.#writeNow(piece, position));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #writeNow(piece: Uint8Array, position: number): Promise<void> {
    if (this.#failed()) throw this.#error;
    try {
      const done = this.#target.write(piece, position);
      this.#hash.update(piece);
      await done;
    } catch (err) {
      if (this.#failed()) throw this.#error;
      return this.#fail(fromSystemError(err, `Cannot write chunk "${this.uuid}"`));
    }
    // Aborted while the piece was being written: the temp file is already gone.
    if (this.#failed()) throw this.#error;
  }

  #failed(): boolean {
    return this.#state === 'failed';
  }

  finish(expectedSha256: string): Promise<PutResult> {
    if (this.#finishing !== undefined) return this.#finishing;
    if (this.#state !== 'open') return this.#refuse('finish');
    this.#state = 'finishing';
    this.#finishing = this.#finish(expectedSha256);
    return this.#finishing;
  }

  async #finish(expectedSha256: string): Promise<PutResult> {
    await this.#queue;
    if (this.#error !== undefined) throw this.#error;
    let result: PutResult;
    try {
      const sha256 = checkSha256(expectedSha256, this.uuid);
      if (this.#received !== this.size) {
        throw new ArozError(
          'ERR_CHUNK_SIZE',
          `Chunk "${this.uuid}" ended after ${this.#received} of its declared ${this.size} bytes`,
        );
      }
      const actual = this.#hash.digest('hex');
      if (actual !== sha256) {
        throw new ArozError(
          'ERR_CHUNK_HASH',
          `Chunk "${this.uuid}" does not match its SHA-256: declared "${sha256.slice(0, 12)}…", received "${actual.slice(0, 12)}…"`,
        );
      }
      const storedAt = new Date().toISOString();
      const info: ChunkInfo = { uuid: this.uuid, sha256, size: this.size, ...this.#meta, storedAt };
      result = await this.#target.commit(info);
    } catch (err) {
      await this.#fail(fromSystemError(err, `Cannot store chunk "${this.uuid}"`)).catch(() => {});
      throw this.#error;
    }
    this.#state = 'done';
    this.#settle();
    return result;
  }

  async abort(reason?: unknown): Promise<void> {
    if (this.#state === 'finishing') {
      await this.#finishing?.catch(() => {});
      return;
    }
    if (this.#state !== 'open') {
      await this.#failing;
      return;
    }
    const error =
      this.#signal?.aborted && reason === this.#signal.reason
        ? interrupted(this.#signal, `The put of chunk "${this.uuid}"`)
        : new ArozError('ERR_INTERRUPTED', `The put of chunk "${this.uuid}" was aborted`, { cause: reason });
    await this.#fail(error).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.abort();
  }

  /** Moves to 'failed' once, discards the target, and rejects with the first error. */
  #fail(error: unknown): Promise<never> {
    if (this.#state !== 'failed') {
      this.#state = 'failed';
      this.#error = error;
      // The first error is the one to report; a failing cleanup must not hide it.
      this.#failing = this.#target
        .discard()
        .catch(() => {})
        .finally(() => this.#settle());
    }
    const first = this.#error;
    return (this.#failing ?? Promise.resolve()).then(() => {
      throw first;
    });
  }

  #settle(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    const settled = this.#onSettled;
    this.#onSettled = undefined;
    settled?.();
  }

  /**
   * Refuses a call after the put ended. After a failure (an abort, a signal) it rejects only once the
   * cleanup is over, so a caller that sees the refusal also sees the bytes and the reservation gone.
   */
  #refuse(what: string): Promise<never> {
    if (this.#state === 'failed') {
      const error = this.#error;
      return (this.#failing ?? Promise.resolve()).then(() => {
        throw error;
      });
    }
    return Promise.reject(
      new ArozError('ERR_INTERNAL', `Cannot ${what} chunk "${this.uuid}": the put is already finishing`),
    );
  }
}

/**
 * The target of a put whose UUID already exists with the same size: nothing is written or
 * reserved; at commit the checked hash is compared with the stored chunk ('exists' or conflict).
 */
export class ExistingTarget implements PutTarget {
  #lookup: () => Promise<ChunkInfo | undefined>;
  #where: string;

  constructor(lookup: () => Promise<ChunkInfo | undefined>, where: string) {
    this.#lookup = lookup;
    this.#where = where;
  }

  write(): Promise<void> {
    return Promise.resolve();
  }

  async commit(info: ChunkInfo): Promise<PutResult> {
    const existing = await this.#lookup();
    // Deleted while its duplicate was arriving: the bytes were not kept, so the sender must retry.
    if (existing === undefined) throw missingError(info.uuid, this.#where);
    return compareExisting(existing, info.sha256, info.size);
  }

  discard(): Promise<void> {
    return Promise.resolve();
  }
}
