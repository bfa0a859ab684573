/**
 * A file's ordinary handle and, while direct transfers are in use, a second O_DIRECT handle of the
 * same file: what PieceWriter (writer.ts) and PieceReader (reader.ts) share. A piece goes through the
 * O_DIRECT handle only when its position and length are multiples of 4 KiB and its memory is known to
 * start on a page boundary (aligned.ts); the first EINVAL there means this file system takes O_DIRECT
 * at open but not for transfers, and from then on every piece goes through the ordinary handle.
 */
import type { promises as fsp } from 'node:fs';
import { isPageAligned, PAGE_SIZE } from './aligned.ts';

/** Covers the logical block size of every common device (512 B or 4 KiB). */
export const DIRECT_ALIGN = PAGE_SIZE;

export abstract class DirectHandles {
  readonly name: string;
  /** The ordinary handle; it belongs to the caller. */
  protected readonly handle: fsp.FileHandle;
  /** The O_DIRECT handle while direct transfers are in use; `#opened` keeps it for close(). */
  #direct: fsp.FileHandle | undefined;
  #opened: fsp.FileHandle | undefined;
  #directBytes = 0;

  protected constructor(name: string, handle: fsp.FileHandle, direct: fsp.FileHandle | undefined) {
    this.name = name;
    this.handle = handle;
    this.#direct = direct;
    this.#opened = direct;
  }

  /** True while pieces may go through O_DIRECT. */
  get direct(): boolean {
    return this.#direct !== undefined;
  }

  /** Bytes moved through O_DIRECT so far. */
  get directBytes(): number {
    return this.#directBytes;
  }

  /** The O_DIRECT handle when `data` at `position` may go through it; else undefined. */
  protected directFor(data: Uint8Array, position: number): fsp.FileHandle | undefined {
    const direct = this.#direct;
    if (direct === undefined || position % DIRECT_ALIGN !== 0 || data.byteLength % DIRECT_ALIGN !== 0) {
      return undefined;
    }
    return isPageAligned(data) ? direct : undefined;
  }

  /** `bytes` went through the O_DIRECT handle. */
  protected wentDirect(bytes: number): void {
    this.#directBytes += bytes;
  }

  /** The file system refused a direct transfer (EINVAL): the ordinary handle from now on. */
  protected stopDirect(): void {
    this.#direct = undefined;
  }

  /** Closes the O_DIRECT handle (the ordinary one belongs to the caller). Idempotent. */
  async close(): Promise<void> {
    const opened = this.#opened;
    this.#direct = undefined;
    this.#opened = undefined;
    await opened?.close();
  }
}
