/**
 * A few reusable buffers of one size, given back once unused for a while.
 *
 * Fresh memory is slow to touch on these machines (every page faults in), so a transfer takes its
 * pieces from a pool instead of allocating them per read. But a pool that never lets go keeps a
 * transfer's buffers for the rest of the process: an idle node then sits megabytes above where it
 * started. So once no buffer was taken or given back for 10 s, the pool empties, and the settling
 * collection (young-gc.ts) frees what it held.
 */
import { alignedBuffers, PAGE_SIZE } from './chunk/aligned.ts';
import { collectNow, settleLater } from './young-gc.ts';

/**
 * A buffer of its own mapping where it can be (WebAssembly memory, page by page: chunk/aligned.ts),
 * so that letting it go gives its pages back. A malloc'd one of 1 MiB did not: after the first such
 * buffer is freed, glibc serves the next ones from its heap, and a pool's buffers freed there stayed
 * in the process (alpha's malloc heap grew by what its pools had let go).
 */
function fresh(size: number): Buffer {
  return size % PAGE_SIZE === 0 ? alignedBuffers(1, size)[0]! : Buffer.allocUnsafeSlow(size);
}

/** Unused time after which a pool lets its buffers go. */
export const POOL_IDLE_MS = 10_000;

/** The kinds of transfer that keep buffers idle for the next transfer of their kind. */
export type TransferKind = 'upload' | 'download';

const kept = new Set<{ kind: TransferKind; letGo: () => boolean | Promise<boolean> }>();

/**
 * Registers what keeps memory idle for the next transfer of `kind` (a pool's buffers, a download's
 * rings, idle bulk lanes). When a transfer of another kind starts (`transferStarts`), `letGo` gives it
 * up and says whether there was anything: an upload that starts 3 s after a download then peaks at
 * what the upload needs, not that plus the download's idle 10–20 MiB. Returns the function that
 * unregisters it.
 */
export function keptForNext(kind: TransferKind, letGo: () => boolean | Promise<boolean>): () => void {
  const entry = { kind, letGo };
  kept.add(entry);
  return () => kept.delete(entry);
}

/**
 * A transfer of `kind` starts: what transfers of other kinds keep idle is let go and collected before
 * it goes on (a plain full collection of the main thread, only when something was let go), so the
 * memory is back before the new transfer takes its own: a node's peak is measured to the page
 * (VmHWM), and an overlap of even a moment counts.
 */
export async function transferStarts(kind: TransferKind): Promise<void> {
  const freed = await Promise.all([...kept].filter((e) => e.kind !== kind).map((e) => e.letGo()));
  if (freed.includes(true)) collectNow();
}

/** Calls `onIdle` once `ms` pass without a `touch` (unref'd: it never keeps a process alive). */
export class IdleTimer {
  #ms: number;
  #onIdle: () => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number, onIdle: () => void) {
    this.#ms = ms;
    this.#onIdle = onIdle;
  }

  touch(): void {
    if (this.#timer !== undefined) {
      this.#timer.refresh();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#onIdle();
    }, this.#ms);
    this.#timer.unref();
  }
}

export class BufferPool {
  readonly size: number;
  readonly max: number;
  #free: Buffer[] = [];
  #idle: IdleTimer;

  /**
   * Keeps at most `max` idle buffers of `size` bytes, for `idleMs` after the last use; a pool `for` one
   * kind of transfer also lets them go when a transfer of another kind starts (`transferStarts`).
   */
  constructor(size: number, max: number, options: { idleMs?: number; for?: TransferKind } = {}) {
    this.size = size;
    this.max = max;
    this.#idle = new IdleTimer(options.idleMs ?? POOL_IDLE_MS, () => {
      if (this.letGo()) settleLater();
    });
    if (options.for !== undefined) keptForNext(options.for, () => this.letGo());
  }

  /** Drops the idle buffers (their memory is freed once collected); false when there were none. */
  letGo(): boolean {
    if (this.#free.length === 0) return false;
    this.#free = [];
    return true;
  }

  /** A pooled buffer, else a fresh one (its bytes are not cleared). */
  take(): Buffer {
    this.#idle.touch();
    return this.#free.pop() ?? fresh(this.size);
  }

  /** Keeps `buffer` for the next take, if it has the pool's size and the pool has room. */
  give(buffer: Buffer): void {
    if (buffer.length !== this.size || this.#free.length >= this.max) return;
    this.#free.push(buffer);
    this.#idle.touch();
  }

  /**
   * Iterates `reader` through one buffer of this pool: each piece is a view of it, valid until the
   * next one is asked for (the ChunkReader contract). The buffer comes back, and the reader is
   * closed, when the iteration ends, however it ends.
   */
  async *pieces(reader: {
    read(into: Uint8Array): Promise<number>;
    close(): Promise<void>;
  }): AsyncGenerator<Uint8Array, void, undefined> {
    const buffer = this.take();
    try {
      for (let n = await reader.read(buffer); n > 0; n = await reader.read(buffer))
        yield buffer.subarray(0, n);
    } finally {
      this.give(buffer);
      await reader.close();
    }
  }

  /** Idle buffers held now. */
  get idle(): number {
    return this.#free.length;
  }
}
