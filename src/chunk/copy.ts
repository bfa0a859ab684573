/**
 * The one hot loop of slice and merge: moves a byte range from one file to another through the
 * buffer ring, in pieces of at most one slot. The range's own hash (the chunk hash) is updated here,
 * on this thread, in order, or in the ring's worker beside the whole-file hash (an upload, whose main
 * thread is busy with TLS); the whole-file hash runs in the ring's worker; the write of each piece is
 * left in flight. One read runs ahead of the piece being hashed, so reading, hashing on two cores and
 * writing all overlap.
 */
import type { Hash } from 'node:crypto';
import type { promises as fsp } from 'node:fs';
import { ArozError, fromSystemError } from '../errors.ts';
import type { BufferRing } from './ring.ts';

/** Where pieces go (writer.ts; tests use a deliberately slow one). */
export interface PieceSink {
  /** Writes all of `data` at `position`; `data` must not be touched after the promise settles. */
  write(data: Buffer, position: number): Promise<void>;
}

export interface CopyRange {
  src: fsp.FileHandle;
  /** Quoted name of the source for error messages. */
  srcName: string;
  srcPos: number;
  length: number;
  dst: PieceSink;
  dstPos: number;
  /**
   * Updated with every byte of the range, in order: on this thread, or `'ring'` for the ring's
   * worker (read it with `ring.rangeDigest()` once copyRange returns); `'none'` when the range needs
   * no hash of its own (merge: the whole-file hash covers every byte).
   */
  hash: Hash | 'ring' | 'none';
  /** The error to throw when the source ends before `length` bytes. */
  short: () => ArozError;
  /** Called after each piece with its length. */
  onBytes: (bytes: number) => void;
  signal: AbortSignal | undefined;
  /** What is being done, for the ERR_INTERRUPTED message ("Slicing \"a.bin\""). */
  doing: string;
}

/**
 * Copies the range. Resolves once every byte was read and hashed here; `written` resolves when the
 * writes are on their way out of the ring too (they may still be in flight when this returns).
 */
export async function copyRange(ring: BufferRing, r: CopyRange): Promise<{ written: Promise<void> }> {
  const writes: Array<Promise<void>> = [];
  const pieces = Math.ceil(r.length / ring.slotSize);
  const read = async (k: number): Promise<{ slot: number; length: number }> => {
    const slot = await ring.acquire();
    const length = Math.min(ring.slotSize, r.length - k * ring.slotSize);
    await readFully(r.src, ring.view(slot, length), r.srcPos + k * ring.slotSize, r.srcName, r.short);
    return { slot, length };
  };
  let next: Promise<{ slot: number; length: number }> | undefined = pieces > 0 ? read(0) : undefined;
  try {
    for (let k = 0; k < pieces; k++) {
      throwIfAborted(r.signal, r.doing);
      const { slot, length } = await next!;
      next = k + 1 < pieces ? read(k + 1) : undefined;
      const view = ring.view(slot, length);
      const hashed = ring.hashWhole(slot, length, r.hash === 'ring');
      if (typeof r.hash !== 'string') r.hash.update(view);
      const written = r.dst.write(view, r.dstPos + k * ring.slotSize);
      ring.hold(slot, hashed, written);
      writes.push(written);
      r.onBytes(length);
    }
  } finally {
    // A read still running ahead when we leave early must not become an unhandled rejection.
    next?.catch(() => {});
  }
  const written = Promise.all(writes).then(() => {});
  // The ring already keeps the first failure for the next acquire(); a caller that awaits `written`
  // later must not turn a failure in between into an unhandled rejection.
  written.catch(() => {});
  return { written };
}

/** Reads exactly `into.length` bytes at `position`; a source that ends sooner throws `short()`. */
export async function readFully(
  fh: fsp.FileHandle,
  into: Uint8Array,
  position: number,
  name: string,
  short: () => ArozError,
): Promise<void> {
  let done = 0;
  while (done < into.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(into, done, into.length - done, position + done));
    } catch (err) {
      throw fromSystemError(err, `Cannot read ${name}`);
    }
    if (bytesRead === 0) throw short();
    done += bytesRead;
  }
}

/** Writes all of `data` at `position` (a short write is continued, never ignored). */
export async function writeFully(
  fh: fsp.FileHandle,
  data: Uint8Array,
  position: number,
  name: string,
): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    try {
      const { bytesWritten } = await fh.write(data, done, data.byteLength - done, position + done);
      done += bytesWritten;
    } catch (err) {
      throw fromSystemError(err, `Cannot write ${name}`);
    }
  }
}

/** Throws the abort reason if it is an ArozError, else ERR_INTERRUPTED naming what was being done. */
export function throwIfAborted(signal: AbortSignal | undefined, doing: string): void {
  if (signal?.aborted !== true) return;
  if (signal.reason instanceof ArozError) throw signal.reason;
  throw new ArozError('ERR_INTERRUPTED', `${doing} was cancelled`, { cause: signal.reason });
}
