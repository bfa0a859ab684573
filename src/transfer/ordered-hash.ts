/**
 * The whole-file SHA-256 of a download. Chunks arrive in any order, but the hash needs the bytes in
 * file order, so it is computed by reading back, in order, each chunk once it is written and verified
 * — while the later chunks are still being fetched. The read-back goes through the chunk ring
 * (src/chunk/ring.ts): its worker thread hashes on the second core. The chunks were written past the
 * page cache where the file system allows (fetch.ts), so they are read back the same way
 * (src/chunk/reader.ts): from the disk, into the ring, with no copy through fresh cache pages. At the
 * end only the chunks that finished last remain to be read.
 */
import type { PieceReader } from '../chunk/reader.ts';
import type { BufferRing } from '../chunk/ring.ts';
import { ArozError } from '../errors.ts';
import type { IndexChunk } from '../index-file/types.ts';

export class OrderedHash {
  #ring: BufferRing;
  #file: PieceReader;
  #chunks: readonly IndexChunk[];
  #done: boolean[];
  #waiting: { i: number; resolve: () => void; reject: (err: unknown) => void } | undefined;
  #stopped: { err: unknown } | undefined;

  constructor(ring: BufferRing, file: PieceReader, chunks: readonly IndexChunk[]) {
    this.#ring = ring;
    this.#file = file;
    this.#chunks = chunks;
    this.#done = chunks.map(() => false);
  }

  /** Chunk `i` is in the file and verified. */
  done(i: number): void {
    this.#done[i] = true;
    if (this.#waiting?.i === i) this.#waiting.resolve();
  }

  /** Makes `run` reject with `err` (the download failed). */
  stop(err: unknown): void {
    this.#stopped ??= { err };
    this.#waiting?.reject(err);
  }

  /** Hashes every chunk in order as it becomes done; resolves with the hex SHA-256 of the file. */
  async run(): Promise<string> {
    const ring = this.#ring;
    for (const chunk of this.#chunks) {
      await this.#waitFor(chunk.i);
      for (let pos = 0; pos < chunk.size; pos += ring.slotSize) {
        const slot = await ring.acquire();
        const length = Math.min(ring.slotSize, chunk.size - pos);
        await this.#file.read(ring.view(slot, length), chunk.offset + pos, () => {
          return new ArozError('ERR_IO', `${this.#file.name} is shorter than it should be`);
        });
        ring.hold(slot, ring.hashWhole(slot, length));
      }
    }
    return ring.digest();
  }

  #waitFor(i: number): Promise<void> {
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped.err);
    if (this.#done[i] === true) return Promise.resolve();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#waiting = { i, resolve, reject };
    return promise.finally(() => {
      this.#waiting = undefined;
    });
  }
}
