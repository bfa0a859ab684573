/**
 * ChunkReader over any positional source (a FileHandle, a list of in-memory pieces). Iteration
 * yields views of one pooled 1 MiB buffer (see the contract on ChunkReader); `read(into)` fills the
 * caller's buffer. Fresh memory is slow to touch on these machines, so read buffers are pooled.
 */
import { BufferPool } from '../buffer-pool.ts';
import { ArozError } from '../errors.ts';
import { interrupted, PIECE_SIZE } from './checks.ts';
import type { ChunkInfo, ChunkReader } from './types.ts';

export interface PositionalSource {
  /** Reads up to `length` bytes at `position` into `into` (from 0); returns the count (0: no more). */
  read(into: Uint8Array, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

const pool = new BufferPool(PIECE_SIZE, 8);

export class RangeReader implements ChunkReader {
  readonly info: ChunkInfo;
  readonly start: number;
  readonly end: number;
  #source: PositionalSource;
  #position: number;
  #signal: AbortSignal | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    info: ChunkInfo,
    range: { start: number; end: number },
    source: PositionalSource,
    signal: AbortSignal | undefined,
  ) {
    this.info = info;
    this.start = range.start;
    this.end = range.end;
    this.#position = range.start;
    this.#source = source;
    this.#signal = signal;
  }

  get length(): number {
    return this.end - this.start;
  }

  async read(into: Uint8Array): Promise<number> {
    const left = this.end - this.#position;
    if (left === 0 || this.#closing !== undefined) {
      await this.close();
      return 0;
    }
    const wanted = Math.min(into.byteLength, left);
    if (wanted === 0) return 0;
    try {
      if (this.#signal?.aborted) throw interrupted(this.#signal, `The read of chunk "${this.info.uuid}"`);
      const n = await this.#source.read(into, wanted, this.#position);
      if (n === 0) {
        throw new ArozError(
          'ERR_CHUNK_SIZE',
          `Stored chunk "${this.info.uuid}" ends at byte ${this.#position}, before its recorded ${this.info.size} bytes`,
        );
      }
      this.#position += n;
      if (this.#position === this.end) await this.close();
      return n;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    return pool.pieces(this); // read() answers 0 at the end and once closed
  }

  close(): Promise<void> {
    this.#closing ??= this.#source.close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
