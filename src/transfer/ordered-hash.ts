/**
 * The whole-file SHA-256 of a download. Chunks arrive in any order, but the hash needs the bytes in
 * file order, so it is computed by reading the file back, in order, while the later chunks are still
 * being fetched. The read-back goes through the chunk ring (src/chunk/ring.ts): its worker thread
 * hashes on the second core. The chunks were written past the page cache where the file system allows
 * (fetch.ts), so they are read back the same way (src/chunk/reader.ts): from the disk, into the ring,
 * with no copy through fresh cache pages.
 *
 * It follows the front of the file: the chunk being read is read as far as its writes have landed
 * (`written`), not only once it is whole, so the read-back keeps up with the fetches and little is
 * left to read when the last byte lands (most of the time between a download's last byte and its end
 * used to be the read-back of the chunks that finished last: docs/transfer.md). The next chunk is
 * begun only once this one is verified (`done`); a chunk whose fetch fails after part of it was read
 * (`restart`: a corrupt copy, a holder that stopped) makes the hash start again from the first byte of
 * the file, so bytes of a copy that was refused never count.
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
  /** Bytes from the start of each chunk that are in the file (its fetch's writes landed). */
  #written: number[];
  /** The chunk being read and how many of its bytes were read (or are being read) so far. */
  #at = { i: -1, read: 0 };
  /** Bumped by every restart that makes the bytes read so far worthless. */
  #restarts = 0;
  #waiting: { i: number; need: number; resolve: () => void; reject: (err: unknown) => void } | undefined;
  #stopped: { err: unknown } | undefined;
  #onRead: ((bytes: number) => void) | undefined;

  /** `onRead`: told the bytes of the file read back so far, after each piece (for tests). */
  constructor(
    ring: BufferRing,
    file: PieceReader,
    chunks: readonly IndexChunk[],
    onRead?: (bytes: number) => void,
  ) {
    this.#ring = ring;
    this.#file = file;
    this.#chunks = chunks;
    this.#done = chunks.map(() => false);
    this.#written = chunks.map(() => 0);
    this.#onRead = onRead;
  }

  /** Chunk `i` is in the file and verified. */
  done(i: number): void {
    this.#done[i] = true;
    if (this.#waiting?.i === i) this.#waiting.resolve();
  }

  /** The first `bytes` bytes of chunk `i` are in the file (not verified yet). */
  written(i: number, bytes: number): void {
    this.#written[i] = Math.max(this.#written[i] ?? 0, bytes);
    if (this.#waiting?.i === i && bytes >= this.#waiting.need) this.#waiting.resolve();
  }

  /**
   * The fetch of chunk `i` failed and every write of it has landed: what it wrote does not count, and
   * the next attempt writes it again from its start.
   */
  restart(i: number): void {
    this.#written[i] = 0;
    if (this.#at.i !== i || this.#at.read === 0) return;
    this.#restarts++;
    this.#waiting?.resolve();
  }

  /** Makes `run` reject with `err` (the download failed). */
  stop(err: unknown): void {
    this.#stopped ??= { err };
    this.#waiting?.reject(err);
  }

  /** Hashes every chunk in order as it is written and verified; resolves with the file's hex SHA-256. */
  async run(): Promise<string> {
    for (;;) {
      if (await this.#pass(this.#restarts)) return this.#ring.digest();
      await this.#ring.settle(); // every piece of this pass is hashed: then it starts afresh
      this.#ring.restartHashes();
    }
  }

  /** One pass over the file; false when a restart made it worthless. */
  async #pass(restarts: number): Promise<boolean> {
    const ring = this.#ring;
    for (const chunk of this.#chunks) {
      this.#at = { i: chunk.i, read: 0 };
      for (let pos = 0; pos < chunk.size; pos += ring.slotSize) {
        const length = Math.min(ring.slotSize, chunk.size - pos);
        await this.#waitFor(chunk.i, pos + length);
        if (this.#restarts !== restarts) return false;
        this.#at.read = pos + length; // from here a restart of this chunk makes the pass worthless
        const slot = await ring.acquire();
        await this.#file.read(ring.view(slot, length), chunk.offset + pos, () => {
          return new ArozError('ERR_IO', `${this.#file.name} is shorter than it should be`);
        });
        if (this.#restarts !== restarts) return false;
        ring.hold(slot, ring.hashWhole(slot, length));
        this.#onRead?.(chunk.offset + pos + length);
      }
      await this.#waitFor(chunk.i, Number.POSITIVE_INFINITY); // verified, before the next is begun
      if (this.#restarts !== restarts) return false;
    }
    this.#at = { i: -1, read: 0 };
    return true;
  }

  /** Until chunk `i` is verified or its first `need` bytes are written (or a restart). */
  #waitFor(i: number, need: number): Promise<void> {
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped.err);
    if (this.#done[i] === true || (this.#written[i] ?? 0) >= need) return Promise.resolve();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#waiting = { i, need, resolve, reject };
    return promise.finally(() => {
      this.#waiting = undefined;
    });
  }
}
