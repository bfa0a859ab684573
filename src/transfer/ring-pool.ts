/**
 * Rings kept for the next transfer instead of made afresh (src/transfer/hash-lanes.ts makes them): a
 * batch's pool (RingPool, src/node/batch-jobs.ts) and the idle rings of single-file transfers
 * (IdleRings). Fresh ring memory is slow to touch here, and a dropped ring's memory is freed only by
 * full collections on both threads.
 */
import { IdleTimer, keptForNext, type TransferKind } from '../buffer-pool.ts';
import { type BufferRing, SLOT_SIZE } from '../chunk/ring.ts';
import { settleLater } from '../young-gc.ts';
import { collectLanes, dropLaneRing, laneRing } from './hash-lanes.ts';
import type { RingLender } from './types.ts';

/**
 * Rings by shape (slots × slot size), lent and given back. A ring given back unclean (a failure, or a
 * read that may still land in it), or past `max` of its shape, is dropped, never lent again.
 *
 * A batch's pool has no `max`: it holds, of each shape, as many rings as the batch had in use at once
 * (an upload batch: one per file in flight, BATCH_PARALLEL; a download batch: a read-back ring per
 * file and a ring per fetch worker), all on the node's one hashing thread (a thread costs tens of ms to
 * start and 12–20 MiB resident: six of them were most of what a batch added to the uploader's RSS).
 * A download batch whose fetch rings came from elsewhere made a fresh one for about one file in ten
 * and let the others go: the downloader's RSS rose by about 100 MiB over 1,000 files
 * (docs/transfer.md, "Batches").
 */
export class RingPool implements RingLender {
  #free = new Map<string, BufferRing[]>();
  #max: number;

  constructor(max = Number.POSITIVE_INFINITY) {
    this.#max = max;
  }

  borrow(slots: number, slotSize = SLOT_SIZE): BufferRing {
    return this.#free.get(`${slots}x${slotSize}`)?.pop() ?? laneRing(slots, slotSize);
  }

  async giveBack(ring: BufferRing, clean: boolean): Promise<void> {
    const shape = `${ring.slotCount}x${ring.slotSize}`;
    const list = this.#free.get(shape) ?? [];
    if (!clean || ring.failed || list.length >= this.#max) return await dropLaneRing(ring);
    list.push(ring);
    this.#free.set(shape, list);
  }

  /** Drops every ring held; how many there were. `idle`: see dropLaneRing. */
  async clear(idle = false): Promise<number> {
    const rings = [...this.#free.values()].flat();
    this.#free.clear();
    await Promise.all(rings.map((ring) => dropLaneRing(ring, idle).catch(() => {})));
    return rings.length;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.clear();
  }
}

/**
 * Rings that single-file transfers of one kind gave back clean, kept for the next transfer of that
 * kind: at most `max` of each shape, all dropped once 10 s pass unused (the hashing thread then stops
 * with them) or when a transfer of the other kind starts (src/buffer-pool.ts). A job then reuses its
 * predecessor's memory instead of mapping fresh memory.
 */
export class IdleRings extends RingPool {
  #idle = new IdleTimer(10_000, () => void this.#letGo(true));

  constructor(kind: TransferKind, max: number) {
    super(max);
    keptForNext(kind, () => this.#letGo(false));
  }

  override async giveBack(ring: BufferRing, clean: boolean): Promise<void> {
    await super.giveBack(ring, clean);
    this.#idle.touch();
  }

  /** Drops every idle ring; true when there was one (its memory is freed once collected). */
  async #letGo(expired: boolean): Promise<boolean> {
    if ((await this.clear(expired)) === 0) return false;
    await collectLanes();
    settleLater();
    return true;
  }
}

/** Idle rings of single-file uploads (one per job running at once) and downloads (with their fetch workers'). */
export const uploadRings = new IdleRings('upload', 4);
export const downloadRings = new IdleRings('download', 4);
