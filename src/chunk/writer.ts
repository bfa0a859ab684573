/**
 * Where copyRange and a disk store's put (store/disk-put.ts) put their pieces. A file is written
 * through its ordinary handle and, where the file system allows it, through a second O_DIRECT handle
 * for every piece whose position and length are multiples of 4 KiB and whose memory is known to start
 * on a page boundary (aligned.ts: the ring's slots, the buffers of alignedBuffers). Direct writes skip
 * the page cache: no copy into freshly allocated cache pages (slow on these VMs), no later write-back,
 * and the CPU stays free for hashing. Anything else — the short last piece of a chunk, an unaligned
 * offset, memory of unknown alignment, a file system that refuses O_DIRECT — goes through the ordinary
 * handle. The durability step (fsync of the ordinary handle: the same inode) covers both.
 */
import { constants, type promises as fsp } from 'node:fs';
import { open } from 'node:fs/promises';
import { isProgrammingError } from '../errors.ts';
import { onLocalDisk } from './aligned.ts';
import { type PieceSink, writeFully } from './copy.ts';
import { DirectHandles } from './direct-handles.ts';

export class PieceWriter extends DirectHandles implements PieceSink {
  private constructor(name: string, handle: fsp.FileHandle, direct: fsp.FileHandle | undefined) {
    super(name, handle, direct);
  }

  /**
   * Wraps `handle`, the open file at `path`. With `direct` (the default) it also opens `path` with
   * O_DIRECT where that is on a local disk (aligned.ts, `onLocalDisk`), silently doing without where
   * the system or file system does not support it.
   */
  static async open(path: string, handle: fsp.FileHandle, name: string, direct = true): Promise<PieceWriter> {
    if (!direct || constants.O_DIRECT === undefined || !(await onLocalDisk(path))) {
      return new PieceWriter(name, handle, undefined);
    }
    try {
      return new PieceWriter(name, handle, await open(path, constants.O_WRONLY | constants.O_DIRECT));
    } catch (err) {
      if (isProgrammingError(err)) throw err;
      return new PieceWriter(name, handle, undefined);
    }
  }

  /** Writes all of `data` at `position`. */
  async write(data: Uint8Array, position: number): Promise<void> {
    const direct = this.directFor(data, position);
    if (direct !== undefined) {
      try {
        await writeFully(direct, data, position, this.name);
        this.wentDirect(data.byteLength);
        return;
      } catch (err) {
        if ((err as { cause?: { code?: unknown } }).cause?.code !== 'EINVAL') throw err;
        this.stopDirect();
      }
    }
    await writeFully(this.handle, data, position, this.name);
  }
}
