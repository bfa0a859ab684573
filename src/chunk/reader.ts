/**
 * Reading a file back past the page cache: the counterpart of writer.ts. A file whose pieces went to
 * the disk with O_DIRECT is not in the page cache; reading it through the ordinary handle would copy
 * every byte into freshly allocated cache pages (slow on these VMs) only to read each once. So every
 * piece whose position and length are multiples of 4 KiB and whose memory starts on a page boundary
 * (aligned.ts) is read through a second, O_DIRECT handle, where the file system allows it; anything
 * else — the short last piece, an unaligned position, memory of unknown alignment, a file system that
 * refuses O_DIRECT — through the ordinary one. The kernel writes back a range's dirty cache pages
 * before it reads that range direct, so a piece written through the page cache reads the same.
 */
import { constants, type promises as fsp } from 'node:fs';
import { open } from 'node:fs/promises';
import { type ArozError, fromSystemError, isProgrammingError } from '../errors.ts';
import { onLocalDisk } from './aligned.ts';
import { readFully } from './copy.ts';
import { DIRECT_ALIGN, DirectHandles } from './direct-handles.ts';

export class PieceReader extends DirectHandles {
  private constructor(name: string, handle: fsp.FileHandle, direct: fsp.FileHandle | undefined) {
    super(name, handle, direct);
  }

  /**
   * Wraps `handle`, the open file at `path`, and opens `path` again with O_DIRECT (never through a
   * symbolic link) where that is on a local disk (aligned.ts, `onLocalDisk`), silently doing without
   * where the system or file system does not support it, or where `path` no longer names the file
   * `handle` has open.
   */
  static async open(path: string, handle: fsp.FileHandle, name: string): Promise<PieceReader> {
    if (constants.O_DIRECT === undefined || !(await onLocalDisk(path))) {
      return new PieceReader(name, handle, undefined);
    }
    let direct: fsp.FileHandle | undefined;
    try {
      direct = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_DIRECT);
      const [a, b] = await Promise.all([handle.stat({ bigint: true }), direct.stat({ bigint: true })]);
      if (a.dev === b.dev && a.ino === b.ino) return new PieceReader(name, handle, direct);
    } catch (err) {
      if (isProgrammingError(err)) throw err;
    }
    await direct?.close();
    return new PieceReader(name, handle, undefined);
  }

  /** Fills `into` from `position`; `short()` is thrown where the file ends first. */
  async read(into: Uint8Array, position: number, short: () => ArozError): Promise<void> {
    const direct = this.directFor(into, position);
    if (direct !== undefined) {
      let bytesRead = 0;
      for (let done = 0; done < into.length; done += bytesRead) {
        try {
          ({ bytesRead } = await direct.read(into, done, into.length - done, position + done));
        } catch (err) {
          if ((err as { code?: unknown }).code !== 'EINVAL' || done > 0) {
            throw fromSystemError(err, `Cannot read ${this.name}`);
          }
          this.stopDirect();
          break;
        }
        // Direct reads come in whole blocks; a part of one is the end of the file.
        if (bytesRead === 0 || bytesRead % DIRECT_ALIGN !== 0) throw short();
      }
      if (this.direct) {
        this.wentDirect(into.byteLength);
        return;
      }
    }
    await readFully(this.handle, into, position, this.name, short);
  }
}
